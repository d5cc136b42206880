//! Tree mode: walk directories (honouring `.gitignore`) and pick out the
//! project-level MCP config files by path.
//!
//! Reads directory entries only; file contents are read by the caller.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::clients::catalog;
use crate::clients::{Format, Location, Scope};

/// Walks `root` (a directory or a file) and returns the config files in it.
/// Problems with single entries (permission denied, loops) are returned as
/// `(path, message)` and the walk goes on.
pub fn configs_under(root: &Path) -> (Vec<Location>, Vec<(PathBuf, String)>) {
    if root.is_file() {
        return (vec![explicit_file(root)], Vec::new());
    }
    let found = Mutex::new(Vec::new());
    let problems = Mutex::new(Vec::new());
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .ignore(true)
        .parents(true)
        .follow_links(false)
        .filter_entry(|e| e.file_name() != ".git")
        .threads(std::thread::available_parallelism().map_or(2, |n| n.get().min(8)))
        .build_parallel();
    walker.run(|| {
        let found = &found;
        let problems = &problems;
        Box::new(move |entry| {
            match entry {
                Ok(e) => {
                    // Anything but a directory: a FIFO or socket under a config's name is
                    // reported as unreadable by the reader, never opened.
                    if e.file_type().is_some_and(|t| !t.is_dir()) {
                        let rel = e.path().strip_prefix(root).unwrap_or(e.path());
                        if let Some((client, scope, format)) = catalog::classify_project_file(rel)
                            && let Ok(mut f) = found.lock()
                        {
                            f.push(Location {
                                client,
                                scope,
                                path: e.path().to_path_buf(),
                                format,
                            });
                        }
                    }
                }
                Err(err) => {
                    if let Ok(mut p) = problems.lock() {
                        let path = error_path(&err).unwrap_or_else(|| root.to_path_buf());
                        p.push((path, walk_error_text(&err)));
                    }
                }
            }
            ignore::WalkState::Continue
        })
    });
    let mut found = found.into_inner().unwrap_or_default();
    found.sort_by(|a, b| a.path.cmp(&b.path));
    let mut problems = problems.into_inner().unwrap_or_default();
    problems.sort();
    (found, problems)
}

/// A file named on the command line: its client when its path says so, else
/// read as a generic `mcpServers` file in the format its extension says.
pub fn explicit_file(path: &Path) -> Location {
    let name = path.file_name().map(Path::new).unwrap_or(path);
    // Try the longest trailing sub-path the catalog knows (`.vscode/mcp.json`).
    let comps: Vec<_> = path.components().collect();
    for take in (1..=comps.len().min(4)).rev() {
        let rel: PathBuf = comps[comps.len() - take..].iter().collect();
        if let Some((client, scope, format)) = catalog::classify_project_file(&rel) {
            return Location {
                client,
                scope,
                path: path.to_path_buf(),
                format,
            };
        }
    }
    let format = match name.extension().and_then(|e| e.to_str()) {
        Some("toml") => Format::Toml,
        Some("yaml" | "yml") => Format::Yaml,
        _ => Format::Json,
    };
    Location {
        client: "generic",
        scope: Scope::Project,
        path: path.to_path_buf(),
        format,
    }
}

fn error_path(err: &ignore::Error) -> Option<PathBuf> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child.clone()),
        _ => None,
    }
}

fn walk_error_text(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => walk_error_text(err),
        ignore::Error::Loop { .. } => "symbolic link loop; not followed".to_string(),
        ignore::Error::Io(e) => e.to_string(),
        other => other.to_string(),
    }
}
