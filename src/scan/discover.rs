//! Which client config files a run reads: this machine's (or a given
//! home's) for the chosen OS path sets, plus the project-level files at the
//! roots its clients remember; or the config files under given trees.
//!
//! Owns that selection for `scan`, `protect`, `inventory` and `doctor`, so
//! the four always read the same files. Lists and walks; reads only the
//! clients' records of project roots; prints nothing (the caller says when
//! the bound on project roots left some out).

use std::path::{Path, PathBuf};

use super::finding::FileResult;
use super::projects::{self, Discovered};
use super::walk;
use crate::clients::catalog;
use crate::clients::{Location, OsFamily};

/// What to look at.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    /// Files or trees to read instead of a home's client configs.
    pub paths: &'a [PathBuf],
    /// A home to read instead of the user's (its environment overrides,
    /// such as `XDG_CONFIG_HOME`, are then ignored).
    pub home: Option<PathBuf>,
    /// Whose config locations to look in.
    pub families: &'static [OsFamily],
    /// Leave out administrator-managed files.
    pub no_system: bool,
    /// Do not follow the project roots clients remember.
    pub no_projects: bool,
}

/// The config files selected, and how they were found.
pub struct Found {
    pub mode: &'static str,
    pub roots: Vec<PathBuf>,
    pub locations: Vec<Location>,
    /// Entries the walk could not read.
    pub problems: Vec<FileResult>,
    /// The home used (machine mode), or the user's home (to shorten paths).
    pub home: Option<PathBuf>,
    /// Machine mode: the project roots followed and the files found at them
    /// (their locations are also in `locations`); `None` in tree mode and
    /// with `no_projects`.
    pub projects: Option<Discovered>,
}

/// Why nothing could be selected.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    /// No home was given and the user's cannot be told (a configuration problem).
    #[error("cannot tell your home directory; pass --home DIR")]
    NoHome,
    /// The home given is not a directory (a usage problem).
    #[error("--home {}: not a directory", .0.display())]
    HomeNotADirectory(PathBuf),
    /// A path given does not exist (a usage problem).
    #[error("{}: no such file or directory", .0.display())]
    NoSuchPath(PathBuf),
}

/// Selects the config files `o` asks for.
pub fn discover(o: &Options<'_>) -> Result<Found, DiscoverError> {
    if !o.paths.is_empty() {
        return paths(o.paths);
    }
    let (home, overridden) = match &o.home {
        Some(h) => (h.clone(), true),
        None => (std::env::home_dir().ok_or(DiscoverError::NoHome)?, false),
    };
    if !home.is_dir() {
        return Err(DiscoverError::HomeNotADirectory(home));
    }
    let include_system = !overridden && !o.no_system;
    let real_env = |k: &str| std::env::var(k).ok();
    let no_env = |_: &str| None;
    let env: catalog::EnvLookup<'_> = if overridden { &no_env } else { &real_env };
    let mut locations = machine(&home, o.families, env, include_system);
    let projects = (!o.no_projects).then(|| {
        let opts = projects::Options {
            home: &home,
            families: o.families,
            env,
            overridden,
        };
        let found = projects::discover(&opts, &locations);
        locations.extend(found.files.iter().map(|f| f.location.clone()));
        found
    });
    Ok(Found {
        mode: "machine",
        roots: vec![home.clone()],
        locations,
        problems: Vec::new(),
        home: Some(home),
        projects,
    })
}

fn machine(
    home: &Path,
    families: &[OsFamily],
    env: catalog::EnvLookup<'_>,
    include_system: bool,
) -> Vec<Location> {
    let mut locations = Vec::new();
    for os in families {
        locations.extend(catalog::machine_locations(home, *os, env, include_system));
    }
    locations
}

fn paths(roots: &[PathBuf]) -> Result<Found, DiscoverError> {
    let mut locations = Vec::new();
    let mut problems: Vec<FileResult> = Vec::new();
    let mut abs_roots = Vec::new();
    for root in roots {
        let abs = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        if !abs.exists() {
            return Err(DiscoverError::NoSuchPath(root.clone()));
        }
        let (found, errs) = walk::configs_under(&abs);
        locations.extend(found);
        for (path, message) in errs {
            let loc = walk::explicit_file(&path);
            problems.push(FileResult::unread(&loc, message));
        }
        abs_roots.push(if abs.is_file() {
            abs.parent().map(Path::to_path_buf).unwrap_or(abs)
        } else {
            abs
        });
    }
    Ok(Found {
        mode: "paths",
        roots: abs_roots,
        locations,
        problems,
        home: std::env::home_dir(),
        projects: None,
    })
}
