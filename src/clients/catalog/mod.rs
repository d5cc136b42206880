//! Where every known MCP client keeps its config files on Linux, macOS and
//! Windows ([`machine_locations`]), which files in a walked tree are client
//! configs ([`classify_project_file`]) and which project folder such a file
//! belongs to ([`project_root`]), which config files sit at a project's root
//! ([`project_files`]), and where clients record the project folders
//! they were used in ([`project_records`]), and the file a new entry of a
//! client goes to ([`user_config`], [`project_config`]).
//!
//! Paths are built from an injected home and environment, so tests and
//! `scan --home DIR` can point at a fixture home and any OS's path set. Only
//! checks whether files exist; never reads or writes one.

mod paths;
mod project;
mod records;
mod walk;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

pub use project::{classify_project_file, project_root};
pub use records::{RecordFile, RecordKind, project_records};
use walk::Limits;

use super::model::{Format, Location, OsFamily, Scope};

/// Looks up an environment variable (`APPDATA`, `XDG_CONFIG_HOME`, `CODEX_HOME`,
/// `CLAUDE_CONFIG_DIR`, ...). Injected so tests and `--home` control it.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Plugin trees: deep enough for `<marketplace>/<plugin>/<version>/.claude-plugin/plugin.json`.
const PLUGIN_WALK: Limits = Limits {
    depth: 8,
    entries: 20_000,
};
/// Token caches and block folders: a few levels.
const SHALLOW_WALK: Limits = Limits {
    depth: 3,
    entries: 5_000,
};
/// One folder's own entries.
const FLAT: Limits = Limits {
    depth: 1,
    entries: 5_000,
};

/// The format a file name implies (`.toml`, `.yaml`/`.yml`, else JSON).
pub(crate) fn format_of(name: &str) -> Format {
    if name.ends_with(".toml") {
        Format::Toml
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        Format::Yaml
    } else {
        Format::Json
    }
}

/// The base directories of one OS's path set, rooted at `home`.
struct Roots {
    os: OsFamily,
    home: PathBuf,
    /// Linux `$XDG_CONFIG_HOME` or `~/.config`; elsewhere `~/.config` (the
    /// folder cross-platform CLIs such as Zed, Goose, opencode use).
    config: PathBuf,
    /// Where Electron apps keep user data: Linux `config`, macOS
    /// `~/Library/Application Support`, Windows `%APPDATA%`.
    app_data: PathBuf,
    /// `$XDG_DATA_HOME` or `~/.local/share`, on every OS.
    data: PathBuf,
    /// `$XDG_CONFIG_HOME` or `~/.config`, on every OS.
    xdg_config: PathBuf,
}

impl Roots {
    fn new(home: &Path, os: OsFamily, env: EnvLookup<'_>) -> Self {
        let config = match os {
            OsFamily::Linux => {
                dir_var(env, "XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"))
            }
            _ => home.join(".config"),
        };
        let app_data = match os {
            OsFamily::Linux => config.clone(),
            OsFamily::MacOs => home.join("Library").join("Application Support"),
            OsFamily::Windows => {
                dir_var(env, "APPDATA").unwrap_or_else(|| home.join("AppData").join("Roaming"))
            }
        };
        // opencode follows the XDG variables on every OS (xdg-basedir).
        let data =
            dir_var(env, "XDG_DATA_HOME").unwrap_or_else(|| home.join(".local").join("share"));
        let xdg_config = dir_var(env, "XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
        Self {
            os,
            home: home.to_path_buf(),
            config,
            app_data,
            data,
            xdg_config,
        }
    }
}

/// An environment variable holding an absolute path (relative ones are
/// ignored, as the XDG specification says).
fn dir_var(env: EnvLookup<'_>, name: &str) -> Option<PathBuf> {
    env(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// Collects candidates; keeps the existing ones (every named one when
/// `keep_missing`), each path once.
struct Found {
    locations: Vec<Location>,
    seen: HashSet<PathBuf>,
    keep_missing: bool,
}

impl Found {
    fn new() -> Self {
        Self {
            locations: Vec::new(),
            seen: HashSet::new(),
            keep_missing: false,
        }
    }

    fn file(&mut self, client: &'static str, scope: Scope, path: PathBuf) {
        let format = format_of(
            &path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
        );
        self.push(Location {
            client,
            scope,
            path,
            format,
        });
    }

    fn push(&mut self, location: Location) {
        if (self.keep_missing || location.path.is_file()) && self.seen.insert(location.path.clone())
        {
            self.locations.push(location);
        }
    }

    fn walk(
        &mut self,
        client: &'static str,
        scope: Scope,
        dir: &Path,
        limits: Limits,
        wanted: &dyn Fn(&Path) -> bool,
    ) {
        if dir.is_dir() {
            for path in walk::files(dir, limits, wanted) {
                self.file(client, scope, path);
            }
        }
    }
}

fn name_of(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Every existing config file of every known client under `home` (plus the
/// system-wide managed files for `os` when `include_system`), for `os`'s path set.
pub fn machine_locations(
    home: &Path,
    os: OsFamily,
    env: EnvLookup<'_>,
    include_system: bool,
) -> Vec<Location> {
    let r = Roots::new(home, os, env);
    let mut f = Found::new();
    paths::anthropic(&r, env, &mut f);
    paths::editors(&r, env, &mut f);
    paths::google(&r, &mut f);
    paths::codex(&r, env, &mut f);
    paths::copilot(&r, env, &mut f);
    paths::other_clients(&r, env, &mut f);
    paths::token_stores(&r, &mut f);
    if include_system {
        paths::system(&r, env, &mut f);
    }
    f.locations
}

/// VS Code's legacy place for servers (`settings.json` `mcp.servers`): a
/// new entry goes to its `mcp.json` instead.
fn legacy_settings(l: &Location) -> bool {
    l.client.starts_with("vscode") && name_of(&l.path) == "settings.json"
}

/// The user-level config file a new entry of `client` goes to under `home`:
/// the first of the client's user files that exists, else the first one it
/// reads (to be created). `None` for a client this catalog does not know.
pub fn user_config(
    home: &Path,
    os: OsFamily,
    env: EnvLookup<'_>,
    client: &str,
) -> Option<Location> {
    let r = Roots::new(home, os, env);
    let mut f = Found::new();
    f.keep_missing = true;
    paths::anthropic(&r, env, &mut f);
    paths::editors(&r, env, &mut f);
    paths::google(&r, &mut f);
    paths::codex(&r, env, &mut f);
    paths::copilot(&r, env, &mut f);
    paths::other_clients(&r, env, &mut f);
    let mine: Vec<Location> = f
        .locations
        .into_iter()
        .filter(|l| l.client == client && l.scope == Scope::User && !legacy_settings(l))
        .collect();
    mine.iter()
        .find(|l| l.path.is_file())
        .or(mine.first())
        .cloned()
}

/// The project-level config file of `client` at the project `root`
/// (`.mcp.json`, `.vscode/mcp.json`, `.cursor/mcp.json`, ...), existing or
/// not. `None` when the client keeps no project file.
pub fn project_config(root: &Path, client: &str) -> Option<Location> {
    project::root_files().find_map(|suffix| {
        let rel: PathBuf = suffix.iter().collect();
        let (c, scope, format) = classify_project_file(&rel)?;
        let location = Location {
            client: c,
            scope,
            path: root.join(rel),
            format,
        };
        (c == client && scope == Scope::Project && !legacy_settings(&location)).then_some(location)
    })
}

/// Continue's block folder inside a project: its own entries only.
const CONTINUE_BLOCKS: Limits = Limits {
    depth: 1,
    entries: 500,
};

/// The project-level config files of the project at `root`, as tree mode
/// recognises them, looked for only where clients keep them: at the
/// [`classify_project_file`] paths of project scope relative to `root` (at
/// most three levels down, e.g. `.kiro/settings/mcp.json`) and in
/// `.continue/mcpServers/` (its own entries, at most 500). Never walks the
/// rest of the project.
pub fn project_files(root: &Path) -> Vec<Location> {
    let mut f = Found::new();
    for suffix in project::root_files() {
        let rel: PathBuf = suffix.iter().collect();
        if let Some((client, scope, format)) = classify_project_file(&rel) {
            f.push(Location {
                client,
                scope,
                path: root.join(rel),
                format,
            });
        }
    }
    let blocks = Path::new(".continue").join("mcpServers");
    let dir = root.join(&blocks);
    if dir.is_dir() {
        let wanted = |p: &Path| classify_project_file(&blocks.join(p)).is_some();
        for path in walk::files(&dir, CONTINUE_BLOCKS, &wanted) {
            if let Some((client, scope, format)) =
                path.strip_prefix(root).ok().and_then(classify_project_file)
            {
                f.push(Location {
                    client,
                    scope,
                    path,
                    format,
                });
            }
        }
    }
    f.locations
}

#[cfg(test)]
mod tests;
