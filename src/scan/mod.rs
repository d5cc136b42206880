//! Scan: find plaintext secrets in MCP client configs and report them.
//!
//! Owns detectors, findings, posture, reports, which config files a run
//! reads ([`discover`]), and machine mode's project roots ([`projects`]). Reads files; never writes one, never starts a
//! server, never prints a secret (values are masked to at most their first
//! four characters and their length).

pub mod detect;
pub mod discover;
pub mod finding;
pub mod posture;
pub mod projects;
pub mod report;
pub mod runner;
pub mod walk;

use std::io::Read;
use std::path::PathBuf;

use crate::clients::read::{max_bytes, parse};
use crate::clients::{ConfigFile, Location, ReadError, Server};
use detect::Field;
use finding::{FileResult, Finding, Posture, ServerResult, Site, format_name};

/// Everything one scan saw.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// `machine` or `paths`.
    pub mode: &'static str,
    /// The home or the trees scanned.
    pub roots: Vec<PathBuf>,
    pub files: Vec<FileResult>,
    /// Machine mode: the project roots followed (`None` in tree mode and
    /// with `--no-projects`).
    pub projects: Option<ProjectsFollowed>,
}

/// The project roots a machine-mode scan followed.
#[derive(Debug, Clone, Default)]
pub struct ProjectsFollowed {
    pub roots: Vec<projects::ProjectRoot>,
    /// Existing roots left out by [`projects::MAX_ROOTS`].
    pub over_limit: usize,
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub configs: usize,
    pub unreadable: usize,
    pub servers: usize,
    pub findings: usize,
    /// Servers per posture, in [`Posture::ALL`] order.
    pub postures: [usize; 5],
    pub unpinned: usize,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.files {
            s.configs += 1;
            if f.error.is_some() {
                s.unreadable += 1;
            }
            s.findings += f.all_findings().count();
            for srv in &f.servers {
                s.servers += 1;
                if let Some(i) = Posture::ALL.iter().position(|p| *p == srv.posture) {
                    s.postures[i] += 1;
                }
                if srv.unpinned.is_some() {
                    s.unpinned += 1;
                }
            }
        }
        s
    }

    /// The highest severity of any finding.
    pub fn worst(&self) -> Option<detect::Severity> {
        self.files
            .iter()
            .flat_map(|f| f.all_findings())
            .map(|f| f.severity)
            .max()
    }
}

/// Reads and scans one config file; any problem becomes the file's `error`.
pub fn scan_location(location: Location) -> FileResult {
    match read_limited(&location.path, max_bytes(&location)) {
        Ok(bytes) => match parse(location.clone(), &bytes) {
            Ok(cfg) => scan_config(&cfg),
            Err(e) => FileResult::unread(&location, e.to_string()),
        },
        Err(e) => FileResult::unread(&location, e.to_string()),
    }
}

/// Reads a regular file of at most `limit` bytes: never blocks on a FIFO or
/// device, never reads a huge file into memory.
pub fn read_limited(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    // Opened without blocking and checked on the descriptor: a FIFO swapped in
    // after a path check can never hang the scan.
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)?
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::Shape("not a regular file".to_string()));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { limit });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Scans a parsed config.
pub fn scan_config(cfg: &ConfigFile) -> FileResult {
    let loc = &cfg.location;
    let servers = cfg.servers.iter().map(scan_server).collect();
    let findings = cfg
        .credentials
        .iter()
        .flat_map(|(key, at)| {
            detect::scan_value(Field::Credential { key }, &at.value)
                .into_iter()
                .map(move |h| Finding::new(&h, Site::Credential(key.clone()), at))
        })
        .collect();
    FileResult {
        client: loc.client,
        scope: loc.scope.as_str(),
        path: loc.path.clone(),
        format: format_name(loc.format),
        error: None,
        servers,
        findings,
        project_root: None,
    }
}

/// The plaintext secrets in one server entry.
pub fn server_findings(server: &Server) -> Vec<Finding> {
    located_findings(server)
        .into_iter()
        .map(|(f, _)| f)
        .collect()
}

/// The text of every plaintext secret in a parsed file (servers and token
/// stores), each with its masked form: for masking output that shows file
/// text (diffs), never for printing.
pub fn secret_texts(cfg: &ConfigFile) -> Vec<(String, finding::Masked)> {
    let mut out = Vec::new();
    for server in &cfg.servers {
        for (f, at) in located_findings(server) {
            if let Some(text) = at.value.get(f.range.clone()) {
                out.push((text.to_string(), f.masked.clone()));
            }
        }
    }
    for (key, at) in &cfg.credentials {
        for h in detect::scan_value(Field::Credential { key }, &at.value) {
            if let Some(text) = at.value.get(h.range.clone()) {
                out.push((text.to_string(), finding::Masked::of(text)));
            }
        }
    }
    out
}

/// Findings of one entry with the string each was found in.
fn located_findings(server: &Server) -> Vec<(Finding, &crate::clients::Located)> {
    let mut out = Vec::new();
    for (name, at) in &server.env {
        for h in detect::scan_value(Field::Env { name }, &at.value) {
            out.push((Finding::new(&h, Site::Env(name.clone()), at), at));
        }
    }
    let args: Vec<&str> = server.args.iter().map(|a| a.value.as_str()).collect();
    for ah in detect::scan_args(&args) {
        if let Some(at) = server.args.get(ah.index) {
            out.push((Finding::new(&ah.hit, Site::Arg(ah.index), at), at));
        }
    }
    if let Some(at) = &server.command {
        // Some clients take a whole command line in `command`.
        for ah in detect::scan_args(&[at.value.as_str()]) {
            out.push((Finding::new(&ah.hit, Site::Arg(0), at), at));
        }
    }
    if let Some(at) = &server.url {
        for h in detect::scan_value(Field::Url, &at.value) {
            out.push((Finding::new(&h, Site::Url, at), at));
        }
    }
    for (name, at) in &server.headers {
        for h in detect::scan_value(Field::Header { name }, &at.value) {
            out.push((Finding::new(&h, Site::Header(name.clone()), at), at));
        }
    }
    for (key, at) in &server.credentials {
        for h in detect::scan_value(Field::Credential { key }, &at.value) {
            out.push((Finding::new(&h, Site::Credential(key.clone()), at), at));
        }
    }
    out
}

fn scan_server(server: &Server) -> ServerResult {
    let findings = server_findings(server);
    let posture = posture::posture(server, &findings);
    let unpinned = runner::unpinned(&posture::argv(server));
    ServerResult {
        name: server.name.clone(),
        pointer: server.pointer.clone(),
        line: server.line,
        transport: server.transport.as_str(),
        disabled: server.disabled,
        posture,
        unpinned,
        findings,
    }
}

/// Scans many files, two at a time per core, in a stable order.
pub fn scan_locations(mut locations: Vec<Location>) -> Vec<FileResult> {
    locations.sort_by(|a, b| (a.client, &a.path).cmp(&(b.client, &b.path)));
    locations.dedup_by(|a, b| a.path == b.path && a.client == b.client);
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8);
    if locations.len() < 16 || threads == 1 {
        return locations.into_iter().map(scan_location).collect();
    }
    let chunk = locations.len().div_ceil(threads);
    let chunks: Vec<Vec<Location>> = locations.chunks(chunk).map(<[_]>::to_vec).collect();
    std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| s.spawn(move || c.into_iter().map(scan_location).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(results) => results,
                // A bug, not a finding: never drop files silently.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}
