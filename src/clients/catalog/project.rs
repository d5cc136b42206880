//! Recognising client config files inside a walked tree (a repository, or a
//! dotfiles repository that mirrors a home) by their path alone.
//!
//! Pure: no I/O. Conservative: a bare `mcp.json` or `mcp_config.json` is only
//! recognised inside a directory that names its client (`.cursor/`,
//! `.kiro/settings/`, `.codeium/windsurf/`, ...), because the same names are
//! used by unrelated tools (server manifests, registries, test data).

use std::path::{Component, Path};

use crate::clients::model::{Format, Scope};

/// Path suffixes (as components) and what they are. First match wins, so
/// longer, more specific suffixes come first.
const KNOWN: &[(&[&str], &str, Scope)] = &[
    // Project files meant to be committed.
    (&[".vscode", "mcp.json"], "vscode", Scope::Project),
    (&[".vscode", "settings.json"], "vscode", Scope::Project),
    (&[".cursor", "mcp.json"], "cursor", Scope::Project),
    (
        &[".gemini", "antigravity", "mcp_config.json"],
        "antigravity",
        Scope::User,
    ),
    (&[".gemini", "settings.json"], "gemini-cli", Scope::Project),
    (&[".codex", "config.toml"], "codex", Scope::Project),
    (&[".kiro", "settings", "mcp.json"], "kiro", Scope::Project),
    (&[".roo", "mcp.json"], "roo-code", Scope::Project),
    (&[".kilocode", "mcp.json"], "kilo-code", Scope::Project),
    (&[".amazonq", "mcp.json"], "amazon-q", Scope::Project),
    (&[".zed", "settings.json"], "zed", Scope::Project),
    (&[".junie", "mcp", "mcp.json"], "junie", Scope::Project),
    (&[".qwen", "settings.json"], "qwen-code", Scope::Project),
    (&[".config", "crush", "crush.json"], "crush", Scope::User),
    (&[".opencode", "opencode.json"], "opencode", Scope::Project),
    (&[".opencode", "opencode.jsonc"], "opencode", Scope::Project),
    // Home-relative files, as a dotfiles repository keeps them.
    (
        &[".config", "opencode", "opencode.json"],
        "opencode",
        Scope::User,
    ),
    (
        &[".config", "opencode", "opencode.jsonc"],
        "opencode",
        Scope::User,
    ),
    (&[".config", "zed", "settings.json"], "zed", Scope::User),
    (&[".config", "goose", "config.yaml"], "goose", Scope::User),
    (&[".config", "amp", "settings.json"], "amp", Scope::User),
    (
        &[".codeium", "windsurf", "mcp_config.json"],
        "windsurf",
        Scope::User,
    ),
    (
        &[".codeium", "mcp_config.json"],
        "windsurf-jetbrains",
        Scope::User,
    ),
    (&[".copilot", "mcp-config.json"], "copilot-cli", Scope::User),
    (&[".lmstudio", "mcp.json"], "lm-studio", Scope::User),
    (&[".factory", "mcp.json"], "factory", Scope::User),
    (&[".kimi", "mcp.json"], "kimi", Scope::User),
    (&[".vibe", "config.toml"], "mistral-vibe", Scope::User),
    (&[".continue", "config.yaml"], "continue", Scope::User),
    (&[".continue", "config.json"], "continue", Scope::User),
    (&[".aws", "amazonq", "mcp.json"], "amazon-q", Scope::User),
    (
        &[
            "saoudrizwan.claude-dev",
            "settings",
            "cline_mcp_settings.json",
        ],
        "cline",
        Scope::User,
    ),
    (
        &[".cline", "data", "settings", "cline_mcp_settings.json"],
        "cline",
        Scope::User,
    ),
    (&[".claude.json"], "claude-code", Scope::User),
    // Names that are unambiguous wherever they sit.
    (&[".mcp.json"], "claude-code", Scope::Project),
    (&["opencode.json"], "opencode", Scope::Project),
    (&["opencode.jsonc"], "opencode", Scope::Project),
    (
        &["claude_desktop_config.json"],
        "claude-desktop",
        Scope::Project,
    ),
    (&["crush.json"], "crush", Scope::Project),
    (&[".crush.json"], "crush", Scope::Project),
];

/// The relative paths of the project-level files a project keeps at its root
/// (`.mcp.json`, `.vscode/mcp.json`, `.kiro/settings/mcp.json`, ...): every
/// [`Scope::Project`] entry of the table. Continue's `.continue/mcpServers/*`
/// is a folder, listed by the caller.
pub(super) fn root_files() -> impl Iterator<Item = &'static [&'static str]> {
    KNOWN
        .iter()
        .filter(|(_, _, scope)| *scope == Scope::Project)
        .map(|(suffix, _, _)| *suffix)
}

/// A recognised file: its client, scope and format, and how many trailing
/// path components name it (`.vscode/mcp.json`: 2).
struct Classified {
    client: &'static str,
    scope: Scope,
    format: Format,
    depth: usize,
}

fn classify(path: &Path) -> Option<Classified> {
    let parts: Vec<&str> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    if let [.., ".continue", "mcpServers", file] = parts.as_slice() {
        let format = match file.rsplit_once('.').map(|(_, ext)| ext) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("json") => Format::Json,
            _ => return None,
        };
        return Some(Classified {
            client: "continue",
            scope: Scope::Project,
            format,
            depth: 3,
        });
    }
    KNOWN
        .iter()
        .find(|(suffix, _, _)| parts.ends_with(suffix))
        .map(|(suffix, client, scope)| Classified {
            client,
            scope: *scope,
            format: super::format_of(suffix.last().copied().unwrap_or("")),
            depth: suffix.len(),
        })
}

/// Recognises a project-level config file by its path relative to the walked
/// root (`.mcp.json`, `.vscode/mcp.json`, `.cursor/mcp.json`, ...).
pub fn classify_project_file(relative: &Path) -> Option<(&'static str, Scope, Format)> {
    classify(relative).map(|c| (c.client, c.scope, c.format))
}

/// The project folder a project-level config file belongs to: `path`
/// without the components that name the file (`.mcp.json`,
/// `.vscode/mcp.json`, `.continue/mcpServers/NAME.yaml`, ...). `None` when
/// `path` is not a project-level file.
pub fn project_root(path: &Path) -> Option<&Path> {
    let c = classify(path).filter(|c| c.scope == Scope::Project)?;
    let mut root = path;
    for _ in 0..c.depth {
        root = root.parent()?;
    }
    Some(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(p: &str) -> Option<(&'static str, Scope, Format)> {
        classify_project_file(Path::new(p))
    }

    #[test]
    fn project_roots() {
        let root = |p: &str| project_root(Path::new(p)).map(|r| r.display().to_string());
        assert_eq!(root("/src/app/.mcp.json").as_deref(), Some("/src/app"));
        assert_eq!(
            root("/src/app/.vscode/mcp.json").as_deref(),
            Some("/src/app")
        );
        assert_eq!(
            root("/w/mono/.kiro/settings/mcp.json").as_deref(),
            Some("/w/mono")
        );
        assert_eq!(
            root("/src/app/.continue/mcpServers/db.yaml").as_deref(),
            Some("/src/app")
        );
        assert_eq!(root("/home/u/.codeium/windsurf/mcp_config.json"), None);
        assert_eq!(root("/home/u/notes.json"), None);
    }

    #[test]
    fn project_files() {
        assert_eq!(
            c(".mcp.json"),
            Some(("claude-code", Scope::Project, Format::Json))
        );
        assert_eq!(
            c("sub/dir/.mcp.json"),
            Some(("claude-code", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".vscode/mcp.json"),
            Some(("vscode", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".vscode/settings.json"),
            Some(("vscode", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".cursor/mcp.json"),
            Some(("cursor", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".gemini/settings.json"),
            Some(("gemini-cli", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".codex/config.toml"),
            Some(("codex", Scope::Project, Format::Toml))
        );
        assert_eq!(
            c(".kiro/settings/mcp.json"),
            Some(("kiro", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".continue/mcpServers/db.yaml"),
            Some(("continue", Scope::Project, Format::Yaml))
        );
        assert_eq!(
            c(".continue/mcpServers/db.yml"),
            Some(("continue", Scope::Project, Format::Yaml))
        );
        assert_eq!(
            c(".continue/mcpServers/db.json"),
            Some(("continue", Scope::Project, Format::Json))
        );
        assert_eq!(
            c("opencode.json"),
            Some(("opencode", Scope::Project, Format::Json))
        );
        assert_eq!(
            c("opencode.jsonc"),
            Some(("opencode", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".roo/mcp.json"),
            Some(("roo-code", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".amazonq/mcp.json"),
            Some(("amazon-q", Scope::Project, Format::Json))
        );
        assert_eq!(
            c("claude_desktop_config.json"),
            Some(("claude-desktop", Scope::Project, Format::Json))
        );
    }

    #[test]
    fn dotfiles_and_ambiguous_names() {
        assert_eq!(
            c(".codeium/windsurf/mcp_config.json"),
            Some(("windsurf", Scope::User, Format::Json))
        );
        assert_eq!(
            c(".config/goose/config.yaml"),
            Some(("goose", Scope::User, Format::Yaml))
        );
        assert_eq!(
            c(".gemini/antigravity/mcp_config.json"),
            Some(("antigravity", Scope::User, Format::Json))
        );
        assert_eq!(
            c(".config/opencode/opencode.json"),
            Some(("opencode", Scope::User, Format::Json))
        );
        assert_eq!(c("mcp.json"), None);
        assert_eq!(c("config/mcp_config.json"), None);
        assert_eq!(c("settings.json"), None);
        assert_eq!(c("package.json"), None);
        assert_eq!(c(".continue/mcpServers/notes.md"), None);
        assert_eq!(c("x.mcp.json"), None);
        assert_eq!(
            c(".junie/mcp/mcp.json"),
            Some(("junie", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".qwen/settings.json"),
            Some(("qwen-code", Scope::Project, Format::Json))
        );
        assert_eq!(
            c("crush.json"),
            Some(("crush", Scope::Project, Format::Json))
        );
        assert_eq!(
            c(".config/crush/crush.json"),
            Some(("crush", Scope::User, Format::Json))
        );
    }
}
