//! `scan`: this machine's MCP client configs, or the trees given, through the
//! detectors, rendered as a table, JSON or SARIF on stdout.
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
use crate::scan::{self, Report, report};

/// The config files `discover` selects, and how they were found.
pub struct Found {
    pub mode: &'static str,
    pub roots: Vec<PathBuf>,
    pub locations: Vec<Location>,
    /// Entries the walk could not read.
    pub problems: Vec<FileResult>,
    /// The home used (machine mode), or the user's home (to shorten paths).
    pub home: Option<PathBuf>,
}

/// Finds the config files for `scan` and `protect`.
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
    Ok(Found {
        mode: "machine",
        roots: vec![home.clone()],
        locations: machine(&home, d.os, overridden, include_system),
        problems: Vec::new(),
        home: Some(home),
    })
}

pub fn run(args: ScanArgs) -> Result<i32, Error> {
    let found = discover(&args.discover)?;
    let mut files = scan::scan_locations(found.locations);
    files.extend(found.problems);
    let report = Report {
        mode: found.mode,
        roots: found.roots,
        files,
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

fn machine(home: &Path, os: ScanOs, overridden: bool, include_system: bool) -> Vec<Location> {
    let families: &[OsFamily] = match os {
        ScanOs::Current => &[OsFamily::current()],
        ScanOs::Linux => &[OsFamily::Linux],
        ScanOs::Macos => &[OsFamily::MacOs],
        ScanOs::Windows => &[OsFamily::Windows],
        ScanOs::All => &[OsFamily::Linux, OsFamily::MacOs, OsFamily::Windows],
    };
    let real_env = |k: &str| std::env::var(k).ok();
    let no_env = |_: &str| None;
    let env: catalog::EnvLookup<'_> = if overridden { &no_env } else { &real_env };
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
    })
}
