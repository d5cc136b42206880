//! PLACEHOLDER (interface only; the clients helper replaces this file).

use std::path::Path;

use super::model::{Format, Location, OsFamily, Scope};

/// Looks up an environment variable (`APPDATA`, `XDG_CONFIG_HOME`, `CODEX_HOME`,
/// `CLAUDE_CONFIG_DIR`, ...). Injected so tests and `--home` control it.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Every existing config file of every known client under `home` (plus the
/// system-wide managed files for `os` when `include_system`), for `os`'s path set.
pub fn machine_locations(
    _home: &Path,
    _os: OsFamily,
    _env: EnvLookup<'_>,
    _include_system: bool,
) -> Vec<Location> {
    unimplemented!()
}

/// Recognises a project-level config file by its path relative to the walked
/// root (`.mcp.json`, `.vscode/mcp.json`, `.cursor/mcp.json`, ...).
pub fn classify_project_file(_relative: &Path) -> Option<(&'static str, Scope, Format)> {
    unimplemented!()
}
