//! `scan`: this machine's MCP client configs (and those at the project roots
//! its clients remember), or the trees given, through the detectors,
//! rendered as a table, JSON or SARIF on stdout. The files are those
//! `scan::discover` selects, as for `protect`, `inventory` and `doctor`.
//!
//! Reads only. Exit 1 when a finding reaches `--fail-on`.

use std::io::{IsTerminal, Write};

use super::{Error, discover};
use crate::cli::{ScanArgs, ScanFormat, SeverityArg};
use crate::scan::detect::Severity;
use crate::scan::projects;
use crate::scan::{self, ProjectsFollowed, Report, report};

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
