//! The folders each client's state file names, read from its bytes:
//! Claude Code's `projects` keys, Codex's `[projects."<path>"]` tables,
//! Gemini CLI's trusted folders, a VS Code `workspace.json` and the
//! `.code-workspace` file it may point at.
//!
//! Pure and lenient: a file that does not parse, or an entry of an
//! unexpected shape, names nothing (these are hints, not configs). At most
//! [`MAX_ENTRIES`] entries are taken from one file.

use std::collections::BTreeMap;

use jsonc_parser::{JsonValue, ParseOptions, parse_to_value};
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::path::RecordedPath;

/// Entries read from one state file, at most.
pub const MAX_ENTRIES: usize = 10_000;

/// What a VS Code `workspace.json` opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// A single folder.
    Folder(RecordedPath),
    /// A multi-root workspace file, whose `folders` are the roots.
    Workspace(RecordedPath),
}

fn jsonc(bytes: &[u8]) -> Option<JsonValue<'_>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    parse_to_value(text, &ParseOptions::default())
        .ok()
        .flatten()
}

/// `~/.claude.json`: the keys of `projects`. The file holds history and
/// grows large, so it is read with everything else skipped, not kept.
pub fn claude_projects(bytes: &[u8]) -> Vec<RecordedPath> {
    #[derive(Deserialize)]
    struct File {
        #[serde(default)]
        projects: BTreeMap<String, IgnoredAny>,
    }
    let keys: Vec<String> = match serde_json::from_slice::<File>(bytes) {
        Ok(f) => f.projects.into_keys().collect(),
        // Not strict JSON (hand-edited): the lenient parser, keys sorted the same way.
        Err(_) => match jsonc(bytes) {
            Some(JsonValue::Object(mut o)) => match o.take_object("projects") {
                Some(p) => {
                    let mut keys: Vec<String> =
                        p.into_iter().map(|(k, _)| k.into_owned()).collect();
                    keys.sort();
                    keys
                }
                None => Vec::new(),
            },
            _ => Vec::new(),
        },
    };
    keys.iter()
        .take(MAX_ENTRIES)
        .filter_map(|k| RecordedPath::parse(k))
        .collect()
}

/// Codex `config.toml`: the `[projects."<path>"]` tables, except those the
/// user marked `trust_level = "untrusted"`.
pub fn codex_projects(bytes: &[u8]) -> Vec<RecordedPath> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Vec::new();
    };
    let Ok(doc) = toml_edit::Document::parse(text) else {
        return Vec::new();
    };
    let Some(projects) = doc.get("projects").and_then(|p| p.as_table_like()) else {
        return Vec::new();
    };
    projects
        .iter()
        .take(MAX_ENTRIES)
        .filter(|(_, item)| {
            let trust = item
                .as_table_like()
                .and_then(|t| t.get("trust_level"))
                .and_then(|v| v.as_str());
            trust != Some("untrusted")
        })
        .filter_map(|(key, _)| RecordedPath::parse(key))
        .collect()
}

/// Gemini CLI `trustedFolders.json`: a `TRUST_FOLDER` path; a `TRUST_PARENT`
/// path and its parent (the folder trusted); never a `DO_NOT_TRUST` one.
pub fn gemini_trusted(bytes: &[u8]) -> Vec<RecordedPath> {
    let Some(JsonValue::Object(o)) = jsonc(bytes) else {
        return Vec::new();
    };
    let mut entries: Vec<(String, String)> = o
        .into_iter()
        .filter_map(|(k, v)| match v {
            JsonValue::String(s) => Some((k.into_owned(), s.into_owned())),
            _ => None,
        })
        .collect();
    entries.sort();
    let mut out = Vec::new();
    for (key, level) in entries.into_iter().take(MAX_ENTRIES) {
        let Some(path) = RecordedPath::parse(&key) else {
            continue;
        };
        match level.as_str() {
            "TRUST_FOLDER" => out.push(path),
            "TRUST_PARENT" => {
                let parent = path.parent();
                out.push(path);
                out.extend(parent);
            }
            _ => {}
        }
    }
    out
}

/// A VS Code family `workspaceStorage/<hash>/workspace.json`: the local
/// folder or workspace file it opened (remote URIs name nothing here).
pub fn workspace_json(bytes: &[u8]) -> Option<Opened> {
    let Some(JsonValue::Object(o)) = jsonc(bytes) else {
        return None;
    };
    if let Some(folder) = o.get_string("folder") {
        return RecordedPath::from_file_uri(folder).map(Opened::Folder);
    }
    o.get_string("workspace")
        .and_then(|w| RecordedPath::from_file_uri(w))
        .map(Opened::Workspace)
}

/// A multi-root `.code-workspace` file at `file`: its `folders[].path`
/// (relative to the file's folder, or absolute) and local `folders[].uri`.
pub fn workspace_folders(bytes: &[u8], file: &RecordedPath) -> Vec<RecordedPath> {
    let Some(JsonValue::Object(mut o)) = jsonc(bytes) else {
        return Vec::new();
    };
    let Some(folders) = o.take_array("folders") else {
        return Vec::new();
    };
    let Some(base) = file.parent() else {
        return Vec::new();
    };
    folders
        .into_iter()
        .take(MAX_ENTRIES)
        .filter_map(|f| match f {
            JsonValue::Object(f) => {
                if let Some(path) = f.get_string("path") {
                    base.resolve(path)
                } else {
                    f.get_string("uri")
                        .and_then(|u| RecordedPath::from_file_uri(u))
                }
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> RecordedPath {
        RecordedPath::parse(s).unwrap()
    }

    #[test]
    fn claude_projects_are_the_keys_of_projects() {
        let text = br#"{"numStartups": 3, "history": [{"display": "x"}],
            "projects": {"/home/a/web": {"mcpServers": {}}, "/home/a/api": {}, "relative": {},
                         "C:/Users/a/win": {}},
            "mcpServers": {}}"#;
        assert_eq!(
            claude_projects(text),
            [rp("/home/a/api"), rp("/home/a/web"), rp(r"C:\Users\a\win")]
        );
        // Lenient when hand-edited (a comment, a trailing comma).
        let loose = b"{ // edited\n \"projects\": {\"/home/a/x\": {},}, }";
        assert_eq!(claude_projects(loose), [rp("/home/a/x")]);
        assert!(claude_projects(b"{\"projects\": []}").is_empty());
        assert!(claude_projects(b"not json").is_empty());
    }

    #[test]
    fn codex_trust_entries_except_untrusted() {
        let text = br#"
model = "gpt-5"
[projects."/home/a/app"]
trust_level = "trusted"
[projects.'/home/a/other']
trust_level = "untrusted"
[projects."/home/a/plain"]
[mcp_servers.x]
command = "y"
"#;
        assert_eq!(
            codex_projects(text),
            [rp("/home/a/app"), rp("/home/a/plain")]
        );
        let inline = br#"projects = { "C:\\Users\\a\\w" = { trust_level = "trusted" } }"#;
        assert_eq!(codex_projects(inline), [rp(r"C:\Users\a\w")]);
        assert!(codex_projects(b"projects = 3").is_empty());
        assert!(codex_projects(b"[[[").is_empty());
    }

    #[test]
    fn gemini_trust_levels() {
        let text = br#"{
            "/home/a/app": "TRUST_FOLDER",
            "/home/a/work/mono/pkg": "TRUST_PARENT",
            "/home/a/evil": "DO_NOT_TRUST",
            "/home/a/odd": 3
        }"#;
        assert_eq!(
            gemini_trusted(text),
            [
                rp("/home/a/app"),
                rp("/home/a/work/mono/pkg"),
                rp("/home/a/work/mono")
            ]
        );
    }

    #[test]
    fn workspace_json_folder_workspace_and_remote() {
        assert_eq!(
            workspace_json(br#"{"folder": "file:///home/a/my%20app"}"#),
            Some(Opened::Folder(rp("/home/a/my app")))
        );
        assert_eq!(
            workspace_json(br#"{"workspace": "file:///home/a/ws/team.code-workspace"}"#),
            Some(Opened::Workspace(rp("/home/a/ws/team.code-workspace")))
        );
        assert_eq!(
            workspace_json(br#"{"folder": "vscode-remote://ssh-remote%2Bbox/home/a/app"}"#),
            None
        );
        assert_eq!(workspace_json(br#"{"configuration": {}}"#), None);
    }

    #[test]
    fn code_workspace_folders_resolve_against_the_file() {
        let file = rp("/home/a/ws/team.code-workspace");
        let text = br#"{
            // a comment
            "folders": [
                {"path": "../src/app"},
                {"name": "api", "path": "/home/a/src/api"},
                {"path": "."},
                {"uri": "vscode-remote://ssh-remote+box/srv/x"},
                {"uri": "file:///home/a/src/lib"},
                "junk",
            ],
            "settings": {}
        }"#;
        assert_eq!(
            workspace_folders(text, &file),
            [
                rp("/home/a/src/app"),
                rp("/home/a/src/api"),
                rp("/home/a/ws"),
                rp("/home/a/src/lib")
            ]
        );
    }
}
