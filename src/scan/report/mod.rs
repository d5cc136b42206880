//! Renders a scan [`Report`](super::Report): a table for people, JSON for
//! tools, SARIF for code scanning. Renders only what findings carry (masked
//! values), so no format can print a secret.

pub mod json;
pub mod sarif;
pub mod table;

use std::path::{Path, PathBuf};

/// Shows `path` relative to `home` as `~/...` when it is under it.
pub fn display_path(path: &Path, home: Option<&Path>) -> String {
    if let Some(h) = home
        && let Ok(rel) = path.strip_prefix(h)
    {
        return format!("~/{}", rel.display());
    }
    path.display().to_string()
}

/// `path` relative to the first root that contains it, for SARIF artifact URIs.
pub fn relative_to_roots<'a>(path: &'a Path, roots: &[PathBuf]) -> Option<(&'a Path, usize)> {
    roots
        .iter()
        .enumerate()
        .find_map(|(i, r)| path.strip_prefix(r).ok().map(|rel| (rel, i)))
}
