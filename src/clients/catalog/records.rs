//! Where clients record the folders they were used in: Claude Code's
//! `projects` in `~/.claude.json`, Codex's `[projects."<path>"]` trust
//! entries, Gemini CLI's `trustedFolders.json`, and the VS Code family's
//! `User/workspaceStorage/<hash>/workspace.json`. Project-root discovery
//! reads these to find the project-level config files machine mode would
//! otherwise miss.
//!
//! Names existing files only; never reads one (their formats are read in
//! [`crate::clients::projects`]).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::paths::{claude_user_files, codex_home, editor_user_dirs};
use super::{EnvLookup, FLAT, Roots, dir_var, walk};
use crate::clients::model::OsFamily;

/// What a state file records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// `~/.claude.json`: the `projects` object, keyed by absolute path.
    ClaudeProjects,
    /// Codex `config.toml`: `[projects."<path>"]` with a `trust_level`.
    CodexTrust,
    /// Gemini CLI `trustedFolders.json`: path -> `TRUST_FOLDER`,
    /// `TRUST_PARENT` or `DO_NOT_TRUST`.
    GeminiTrustedFolders,
    /// A VS Code family `workspace.json`: `folder` or `workspace` file URI.
    WorkspaceStorage,
}

impl RecordKind {
    fn label(self) -> &'static str {
        match self {
            Self::ClaudeProjects => "projects",
            Self::CodexTrust => "trust",
            Self::GeminiTrustedFolders => "trustedFolders",
            Self::WorkspaceStorage => "workspaceStorage",
        }
    }
}

/// One existing state file that names project folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordFile {
    /// The client that keeps it.
    pub client: &'static str,
    pub kind: RecordKind,
    pub path: PathBuf,
}

impl RecordFile {
    /// How reports name this source: `claude-code projects`, `codex trust`,
    /// `gemini-cli trustedFolders`, `cursor workspaceStorage`, ...
    pub fn source(&self) -> String {
        format!("{} {}", self.client, self.kind.label())
    }
}

/// Every existing state file under `home` that names project folders, for
/// `os`'s path set.
pub fn project_records(home: &Path, os: OsFamily, env: EnvLookup<'_>) -> Vec<RecordFile> {
    let r = Roots::new(home, os, env);
    let mut out = Records::default();
    for path in claude_user_files(&r, env) {
        out.add("claude-code", RecordKind::ClaudeProjects, path);
    }
    out.add(
        "codex",
        RecordKind::CodexTrust,
        codex_home(&r, env).join("config.toml"),
    );
    let trusted = dir_var(env, "GEMINI_CLI_TRUSTED_FOLDERS_PATH")
        .unwrap_or_else(|| r.home.join(".gemini").join("trustedFolders.json"));
    out.add("gemini-cli", RecordKind::GeminiTrustedFolders, trusted);
    // Profiles share their user folder's workspaceStorage: one per user folder.
    for user in editor_user_dirs(&r) {
        let storage = user.dir.join("workspaceStorage");
        for dir in walk::subdirs(&storage, FLAT.entries, &|_| true) {
            out.add(
                user.client,
                RecordKind::WorkspaceStorage,
                dir.join("workspace.json"),
            );
        }
    }
    out.files
}

#[derive(Default)]
struct Records {
    files: Vec<RecordFile>,
    seen: HashSet<PathBuf>,
}

impl Records {
    fn add(&mut self, client: &'static str, kind: RecordKind, path: PathBuf) {
        if path.is_file() && self.seen.insert(path.clone()) {
            self.files.push(RecordFile { client, kind, path });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(root: &Path, rel: &str) {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            assert!(fs::create_dir_all(parent).is_ok());
        }
        assert!(fs::write(&path, "{}").is_ok());
    }

    #[test]
    fn names_each_clients_state_files_per_path_set() {
        let Ok(tmp) = tempfile::tempdir() else {
            panic!("tempdir")
        };
        let home = tmp.path();
        for rel in [
            ".claude.json",
            ".codex/config.toml",
            ".gemini/trustedFolders.json",
            ".config/Code/User/workspaceStorage/a1/workspace.json",
            ".config/Code - Insiders/User/workspaceStorage/b2/workspace.json",
            ".config/Cursor/User/workspaceStorage/c3/workspace.json",
            "Library/Application Support/Windsurf/User/workspaceStorage/d4/workspace.json",
            "AppData/Roaming/VSCodium/User/workspaceStorage/e5/workspace.json",
        ] {
            touch(home, rel);
        }
        // A storage folder without workspace.json (an empty window) names nothing.
        assert!(fs::create_dir_all(home.join(".config/Code/User/workspaceStorage/empty")).is_ok());
        let no_env = |_: &str| None;
        let sources = |os| -> Vec<(String, String)> {
            project_records(home, os, &no_env)
                .into_iter()
                .map(|r| {
                    let rel = r.path.strip_prefix(home).map(|p| p.display().to_string());
                    (r.source(), rel.unwrap_or_default())
                })
                .collect()
        };
        let linux = sources(OsFamily::Linux);
        let want = |s: &str, p: &str| (s.to_string(), p.to_string());
        assert_eq!(
            linux,
            vec![
                want("claude-code projects", ".claude.json"),
                want("codex trust", ".codex/config.toml"),
                want("gemini-cli trustedFolders", ".gemini/trustedFolders.json"),
                want(
                    "vscode workspaceStorage",
                    ".config/Code/User/workspaceStorage/a1/workspace.json"
                ),
                want(
                    "vscode-insiders workspaceStorage",
                    ".config/Code - Insiders/User/workspaceStorage/b2/workspace.json"
                ),
                want(
                    "cursor workspaceStorage",
                    ".config/Cursor/User/workspaceStorage/c3/workspace.json"
                ),
            ]
        );
        let mac = sources(OsFamily::MacOs);
        assert!(mac.contains(&want(
            "windsurf workspaceStorage",
            "Library/Application Support/Windsurf/User/workspaceStorage/d4/workspace.json"
        )));
        let windows = sources(OsFamily::Windows);
        assert!(windows.contains(&want(
            "vscodium workspaceStorage",
            "AppData/Roaming/VSCodium/User/workspaceStorage/e5/workspace.json"
        )));
    }

    #[test]
    fn environment_overrides_move_the_state_files() {
        let Ok(tmp) = tempfile::tempdir() else {
            panic!("tempdir")
        };
        let home = tmp.path();
        touch(home, "alt-codex/config.toml");
        touch(home, "alt/trusted.json");
        touch(home, "claude-dir/.claude.json");
        let codex = home.join("alt-codex").display().to_string();
        let trusted = home.join("alt/trusted.json").display().to_string();
        let claude = home.join("claude-dir").display().to_string();
        let env = move |k: &str| match k {
            "CODEX_HOME" => Some(codex.clone()),
            "GEMINI_CLI_TRUSTED_FOLDERS_PATH" => Some(trusted.clone()),
            "CLAUDE_CONFIG_DIR" => Some(claude.clone()),
            _ => None,
        };
        let paths: Vec<PathBuf> = project_records(home, OsFamily::Linux, &env)
            .into_iter()
            .map(|r| r.path)
            .collect();
        assert_eq!(
            paths,
            vec![
                home.join("claude-dir/.claude.json"),
                home.join("alt-codex/config.toml"),
                home.join("alt/trusted.json"),
            ]
        );
    }
}
