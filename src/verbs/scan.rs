//! `scan`: this machine's MCP client configs (and those at the project roots
//! its clients remember), or the trees given, through the detectors,
//! rendered as a table, JSON or SARIF on stdout. [`discover`] is the one
//! place that lists the config files for `scan`, `protect`, `inventory` and
//! `doctor`.
//!
//! Reads only. Exit 1 when a finding reaches `--fail-on`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use super::Error;
use crate::cli::{Discover, ScanArgs, ScanFormat, ScanOs, SeverityArg};
use crate::clients::catalog;
use crate::clients::{Location, OsFamily};
use crate::scan::detect::Severity;
use crate::scan::finding::FileResult;
use crate::scan::projects::{self, Discovered};
use crate::scan::{self, ProjectsFollowed, Report, report};

/// The config files `discover` selects, and how they were found.
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
    /// with `--no-projects`.
    pub projects: Option<Discovered>,
}

/// Finds the config files for `scan`, `protect`, `inventory` and `doctor`.
pub fn discover(d: &Discover) -> Result<Found, Error> {
    if !d.paths.is_empty() {
        return paths(&d.paths);
    }
    let (home, overridden) = match &d.home {
        Some(h) => (h.clone(), true),
        None => (
            std::env::home_dir().ok_or_else(|| {
                Error::Config("cannot tell your home directory; pass --home DIR".to_string())
            })?,
            false,
        ),
    };
    if !home.is_dir() {
        return Err(Error::Usage(format!(
            "--home {}: not a directory",
            home.display()
        )));
    }
    let include_system = !overridden && !d.no_system;
    let real_env = |k: &str| std::env::var(k).ok();
    let no_env = |_: &str| None;
    let env: catalog::EnvLookup<'_> = if overridden { &no_env } else { &real_env };
    let families = families(d.os);
    let mut locations = machine(&home, families, env, include_system);
    let projects = (!d.no_projects).then(|| {
        let opts = projects::Options {
            home: &home,
            families,
            env,
            overridden,
        };
        follow_projects(&opts, &mut locations)
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

/// Adds the config files at the project roots the clients remember to
/// `locations`; says on stderr when the bound left roots out.
fn follow_projects(opts: &projects::Options<'_>, locations: &mut Vec<Location>) -> Discovered {
    let found = projects::discover(opts, locations);
    if found.over_limit > 0 {
        eprintln!(
            "mcp-warden: {} more project folders are known than the {} followed; \
             scan them with `mcp-warden scan PATH`",
            found.over_limit,
            projects::MAX_ROOTS
        );
    }
    locations.extend(found.files.iter().map(|f| f.location.clone()));
    found
}

pub fn run(args: ScanArgs) -> Result<i32, Error> {
    let found = discover(&args.discover)?;
    let mut files = scan::scan_locations(found.locations);
    files.extend(found.problems);
    if let Some(p) = &found.projects {
        projects::attach(&mut files, p);
    }
    let report = Report {
        mode: found.mode,
        roots: found.roots,
        files,
        projects: found.projects.map(|p| ProjectsFollowed {
            roots: p.roots,
            over_limit: p.over_limit,
        }),
    };
    let home = found.home;

    let text = match args.format {
        ScanFormat::Table => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            report::table::render(&report, home.as_deref(), color)
        }
        ScanFormat::Json => report::json::render(&report),
        ScanFormat::Sarif => report::sarif::render(&report),
    };
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Io(format!("cannot write the report: {e}")));
    }

    let threshold = args.fail_on.map(|s| match s {
        SeverityArg::Low => Severity::Low,
        SeverityArg::Medium => Severity::Medium,
        SeverityArg::High => Severity::High,
        SeverityArg::Critical => Severity::Critical,
    });
    Ok(match (threshold, report.worst()) {
        (Some(t), Some(w)) if w >= t => 1,
        _ => 0,
    })
}

fn families(os: ScanOs) -> &'static [OsFamily] {
    match os {
        ScanOs::Current => match OsFamily::current() {
            OsFamily::Linux => &[OsFamily::Linux],
            OsFamily::MacOs => &[OsFamily::MacOs],
            OsFamily::Windows => &[OsFamily::Windows],
        },
        ScanOs::Linux => &[OsFamily::Linux],
        ScanOs::Macos => &[OsFamily::MacOs],
        ScanOs::Windows => &[OsFamily::Windows],
        ScanOs::All => &[OsFamily::Linux, OsFamily::MacOs, OsFamily::Windows],
    }
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

fn paths(roots: &[PathBuf]) -> Result<Found, Error> {
    let mut locations = Vec::new();
    let mut problems: Vec<FileResult> = Vec::new();
    let mut abs_roots = Vec::new();
    for root in roots {
        let abs = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        if !abs.exists() {
            return Err(Error::Usage(format!(
                "{}: no such file or directory",
                root.display()
            )));
        }
        let (found, errs) = scan::walk::configs_under(&abs);
        locations.extend(found);
        for (path, message) in errs {
            let loc = scan::walk::explicit_file(&path);
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
