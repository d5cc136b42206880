//! The audit log: writing it (for the proxy) and reading it (for `mcp-warden audit`).
//!
//! Owns the JSONL file format, the file (mode 0600, parent directory created
//! 0700), size-capped rotation (`audit.jsonl` → `audit.jsonl.1` → ... up to
//! `keep_files`), and [`show`] with its [`Query`]. It must never see a secret value:
//! the guard passes every record through the redactor before [`AuditLog::append`],
//! and records carry only names, ids, hashes and counts (arguments only when
//! `--audit-arguments` asks, and then redacted). It must not decide what is
//! recorded; the guard does.
//!
//! Record types (`"type"`):
//! - `start`: `argv0`, `pid`, `version`;
//! - `request`: one per request/response pair: `from` (`client` or `server`, who
//!   sent the request), `method`, `id` (as sent), `tool` and `args_sha256` (sha256
//!   of the exact argument bytes) for `tools/call`, `arguments` (opt-in),
//!   `duration_ms`, `outcome` (`ok`, `error` + `error_code`, `tool_error`,
//!   `denied`, `cancelled`, `unanswered`), `result_type` when a 2026-era result
//!   says one, `request_bytes`, `response_bytes`;
//! - `violation`: `from`, `detail`, `bytes` (a line that is not a JSON-RPC message);
//! - `exit`: `exit_code` or `signal`;
//! - `override`: an explicit `--insecure-*` flag weakened a profile's policy
//!   for one run: `overrides` (the flags), `detail`. Written by `run` before
//!   anything else happens, in its own session, even when the override turns
//!   the audit log off.
//!
//! Every record has `ts` (RFC 3339, UTC, milliseconds), `server` and `session`.
//!
//! Several mcp-warden processes may share one file: each record is written with
//! one `write` on an `O_APPEND` descriptor, and rotation is done under an
//! exclusive `flock` after checking that nobody rotated first.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use serde_json::value::RawValue;

use crate::exit::{Code, ExitStatus};

/// Where records go and how the file is bounded.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// The live file; rotated files are `<path>.1`, `<path>.2`, ...
    pub path: PathBuf,
    /// `--name`, default the command's basename.
    pub server_label: String,
    /// `--audit-arguments`: record `tools/call` arguments (redacted).
    pub record_arguments: bool,
    /// Rotate once the live file would pass this size.
    pub max_bytes: u64,
    /// Rotated files kept.
    pub keep_files: usize,
}

impl AuditConfig {
    /// Default rotation size: 10 MiB.
    pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
    /// Default number of rotated files kept.
    pub const DEFAULT_KEEP_FILES: usize = 5;

    /// A configuration with the default limits and no argument recording.
    pub fn new(path: PathBuf, server_label: impl Into<String>) -> Self {
        Self {
            path,
            server_label: server_label.into(),
            record_arguments: false,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            keep_files: Self::DEFAULT_KEEP_FILES,
        }
    }
}

/// `<data_dir>/audit/audit.jsonl`.
pub fn default_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit").join("audit.jsonl")
}

/// Errors of the audit log and of `mcp-warden audit`.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "invalid --since {0:?}: expected an RFC 3339 time (2026-11-02T10:00:00Z), a date (2026-11-02) or a duration ago (2h, 3days)"
    )]
    BadSince(String),
    #[error("invalid filter glob {0:?}")]
    BadGlob(String),
    #[error("writing output: {0}")]
    Output(#[source] io::Error),
}

impl ExitStatus for AuditError {
    fn exit_code(&self) -> Code {
        match self {
            AuditError::Io { .. } | AuditError::Output(_) => Code::IoErr,
            AuditError::BadSince(_) | AuditError::BadGlob(_) => Code::Usage,
        }
    }
}

/// One audit record. Fields that do not apply are left out.
#[derive(Debug, Default, Serialize)]
pub(crate) struct Record<'a> {
    pub ts: &'a str,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub server: &'a str,
    pub session: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv0: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overrides: Option<&'a [&'a str]>,
}

/// RFC 3339 UTC with milliseconds.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// A fresh random session id (32 hex digits), for records written outside a guard.
fn fresh_session() -> String {
    use sha2::{Digest, Sha256};
    use std::hash::{BuildHasher, Hasher};
    let mut h = Sha256::new();
    for i in 0..4u64 {
        let mut x = std::collections::hash_map::RandomState::new().build_hasher();
        x.write_u64(i);
        h.update(x.finish().to_le_bytes());
    }
    if let Ok(d) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
        h.update(d.as_nanos().to_le_bytes());
    }
    h.update(std::process::id().to_le_bytes());
    hex::encode(&h.finalize()[..16])
}

/// Appends one `override` record to the log at `path` and flushes it; returns
/// its session id. `overrides` are flag names and `detail` a sentence: neither
/// may carry a value.
pub fn record_override(
    path: &Path,
    server_label: &str,
    overrides: &[&str],
    detail: &str,
) -> Result<String, AuditError> {
    let mut log = AuditLog::open(
        path,
        AuditConfig::DEFAULT_MAX_BYTES,
        AuditConfig::DEFAULT_KEEP_FILES,
    )?;
    let session = fresh_session();
    let ts = timestamp(SystemTime::now());
    let rec = Record {
        ts: &ts,
        kind: "override",
        server: server_label,
        session: &session,
        version: Some(env!("CARGO_PKG_VERSION")),
        overrides: Some(overrides),
        detail: Some(detail),
        ..Record::default()
    };
    let line = serde_json::to_vec(&rec).map_err(|e| AuditError::Io {
        path: path.to_path_buf(),
        source: io::Error::other(e),
    })?;
    log.append(&line);
    log.flush();
    if log.failures > 0 {
        return Err(AuditError::Io {
            path: path.to_path_buf(),
            source: io::Error::other("the override record could not be written"),
        });
    }
    Ok(session)
}

/// Bytes buffered before a write is forced.
const BUF_LIMIT: usize = 64 * 1024;
/// How often the live file is checked for rotation by another process.
const RECHECK: Duration = Duration::from_secs(1);

/// The open, appending audit file.
#[derive(Debug)]
pub(crate) struct AuditLog {
    path: PathBuf,
    file: File,
    size: u64,
    buf: Vec<u8>,
    max_bytes: u64,
    keep: usize,
    checked: Instant,
    /// Records that could not be written.
    pub failures: u64,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn open_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(path)?;
        let meta = file.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        opts.open(path)
    }
}

impl AuditLog {
    /// Creates the parent directory (0700) and opens the file (0600) for appending.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> Result<Self, AuditError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            let mut b = fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(parent).map_err(io_err(parent))?;
        }
        let file = open_file(path).map_err(io_err(path))?;
        let size = file.metadata().map_err(io_err(path))?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            buf: Vec::with_capacity(BUF_LIMIT),
            max_bytes: max_bytes.max(1),
            keep,
            checked: Instant::now(),
            failures: 0,
        })
    }

    /// Buffers one record (a JSON object; the newline is added here).
    pub fn append(&mut self, record: &[u8]) {
        if self.buf.len() + record.len() + 1 > BUF_LIMIT {
            self.flush();
        }
        self.buf.extend_from_slice(record);
        self.buf.push(b'\n');
    }

    /// Writes what is buffered (whole records, one `write`), rotating first if needed.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if self.checked.elapsed() >= RECHECK {
            self.checked = Instant::now();
            self.follow_rotation();
        }
        if self.size > 0 && self.size + self.buf.len() as u64 > self.max_bytes {
            // on failure keep appending to the current file rather than lose records
            let _ = self.rotate();
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => self.size += self.buf.len() as u64,
            Err(_) => {
                self.failures += self.buf.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        self.buf.clear();
    }

    /// Whether the path still names our file; if another process rotated it, reopen.
    fn follow_rotation(&mut self) {
        if !self.same_file()
            && let Ok(f) = open_file(&self.path)
        {
            self.file = f;
        }
        if let Ok(m) = self.file.metadata() {
            self.size = m.len();
        }
    }

    #[cfg(unix)]
    fn same_file(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(&self.path), self.file.metadata()) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn same_file(&self) -> bool {
        self.path.exists()
    }

    fn rotate(&mut self) -> io::Result<()> {
        #[cfg(unix)]
        rustix::fs::flock(&self.file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(io::Error::from)?;
        let result = self.rotate_locked();
        // Released on every path: closing a replaced descriptor already released
        // it; a kept one (no rotation needed, or an error) must not stay locked,
        // or every other mcp-warden writing this log would wait forever.
        #[cfg(unix)]
        let _ = rustix::fs::flock(&self.file, rustix::fs::FlockOperation::Unlock);
        result
    }

    fn rotate_locked(&mut self) -> io::Result<()> {
        if !self.same_file() {
            // someone else rotated while we waited
            self.file = open_file(&self.path)?;
            self.size = self.file.metadata()?.len();
            return Ok(());
        }
        let size = self.file.metadata()?.len();
        if size + self.buf.len() as u64 <= self.max_bytes {
            self.size = size;
            return Ok(());
        }
        let rotated = |n: usize| {
            let mut s = self.path.as_os_str().to_owned();
            s.push(format!(".{n}"));
            PathBuf::from(s)
        };
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                match fs::rename(rotated(n), rotated(n + 1)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            fs::rename(&self.path, rotated(1))?;
        }
        self.file = open_file(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Filters for [`show`]. `server`, `method` and `tool` are globs; `outcome` is exact.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub server: Option<String>,
    pub method: Option<String>,
    pub tool: Option<String>,
    pub outcome: Option<String>,
    pub session: Option<String>,
    /// Records at or after this time.
    pub since: Option<SystemTime>,
}

/// Parses `--since`: an RFC 3339 time, a date, or a duration meaning "that long ago".
pub fn parse_since(s: &str) -> Result<SystemTime, AuditError> {
    let s = s.trim();
    if let Ok(t) = humantime::parse_rfc3339_weak(s) {
        return Ok(t);
    }
    if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{s}T00:00:00Z")) {
        return Ok(t);
    }
    if let Ok(d) = humantime::parse_duration(s) {
        return SystemTime::now()
            .checked_sub(d)
            .ok_or_else(|| AuditError::BadSince(s.into()));
    }
    Err(AuditError::BadSince(s.into()))
}

/// The live file and its rotated siblings, oldest first.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in 1..10_000 {
        let mut s = path.as_os_str().to_owned();
        s.push(format!(".{n}"));
        let p = PathBuf::from(s);
        if !p.exists() {
            break;
        }
        files.push(p);
    }
    files.reverse();
    if path.exists() {
        files.push(path.to_path_buf());
    }
    files
}

struct Compiled {
    server: Option<glob::Pattern>,
    method: Option<glob::Pattern>,
    tool: Option<glob::Pattern>,
}

fn compile(g: &Option<String>) -> Result<Option<glob::Pattern>, AuditError> {
    g.as_deref()
        .map(|g| glob::Pattern::new(g).map_err(|_| AuditError::BadGlob(g.into())))
        .transpose()
}

fn field<'a>(v: &'a serde_json::Value, k: &str) -> &'a str {
    v.get(k).and_then(|x| x.as_str()).unwrap_or("")
}

impl Query {
    fn matches(&self, c: &Compiled, v: &serde_json::Value) -> bool {
        let glob_ok = |p: &Option<glob::Pattern>, k: &str| match p {
            None => true,
            Some(p) => v
                .get(k)
                .and_then(|x| x.as_str())
                .is_some_and(|s| p.matches(s)),
        };
        if !glob_ok(&c.server, "server")
            || !glob_ok(&c.method, "method")
            || !glob_ok(&c.tool, "tool")
        {
            return false;
        }
        if let Some(o) = &self.outcome
            && field(v, "outcome") != o
        {
            return false;
        }
        if let Some(s) = &self.session
            && !field(v, "session").starts_with(s.as_str())
        {
            return false;
        }
        if let Some(since) = self.since {
            match humantime::parse_rfc3339_weak(field(v, "ts")) {
                Ok(t) if t >= since => {}
                _ => return false,
            }
        }
        true
    }
}

/// Prints the records at `path` (and its rotated files, oldest first) that match
/// `query`: as JSONL (the stored lines, unchanged) when `json`, else as a table.
/// Lines that are not JSON objects are skipped. Returns how many records matched.
/// A missing log is not an error (nothing matches).
pub fn show(
    path: &Path,
    query: &Query,
    json: bool,
    out: &mut dyn Write,
) -> Result<usize, AuditError> {
    let compiled = Compiled {
        server: compile(&query.server)?,
        method: compile(&query.method)?,
        tool: compile(&query.tool)?,
    };
    let mut rows: Vec<[String; 8]> = Vec::new();
    let mut count = 0;
    for file in log_files(path) {
        let f = match File::open(&file) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_err(&file)(e)),
        };
        let mut reader = BufReader::new(f);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(io_err(&file)(e)),
            }
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(&line) else {
                continue;
            };
            if !v.is_object() || !query.matches(&compiled, &v) {
                continue;
            }
            count += 1;
            if json {
                let trimmed = line.strip_suffix(b"\n").unwrap_or(&line);
                out.write_all(trimmed).map_err(AuditError::Output)?;
                out.write_all(b"\n").map_err(AuditError::Output)?;
            } else {
                rows.push(table_row(&v));
            }
        }
    }
    if !json {
        write_table(&rows, out).map_err(AuditError::Output)?;
    }
    Ok(count)
}

fn table_row(v: &serde_json::Value) -> [String; 8] {
    let kind = field(v, "type");
    let num = |k: &str| v.get(k).map(|x| x.to_string()).unwrap_or_default();
    let (what, detail) = match kind {
        "start" => (
            format!("start {}", field(v, "argv0")),
            format!("pid {}", num("pid")),
        ),
        "exit" => (
            "exit".to_string(),
            match (v.get("exit_code"), v.get("signal")) {
                (Some(c), _) => format!("code {c}"),
                (_, Some(s)) => format!("signal {s}"),
                _ => String::new(),
            },
        ),
        "override" => (
            format!(
                "override {}",
                v.get("overrides")
                    .and_then(|o| o.as_array())
                    .map(|a| a
                        .iter()
                        .filter_map(|f| f.as_str())
                        .collect::<Vec<_>>()
                        .join(" "))
                    .unwrap_or_default()
            ),
            field(v, "detail").to_string(),
        ),
        "violation" => (
            format!("violation from {}", field(v, "from")),
            field(v, "detail").to_string(),
        ),
        _ => {
            let mut m = field(v, "method").to_string();
            if let Some(t) = v.get("tool").and_then(|t| t.as_str()) {
                m = format!("{m} {t}");
            }
            if field(v, "from") == "server" {
                m = format!("{m} (from server)");
            }
            let mut outcome = field(v, "outcome").to_string();
            if let Some(c) = v.get("error_code") {
                outcome = format!("{outcome} {c}");
            }
            (m, outcome)
        }
    };
    let ms = v
        .get("duration_ms")
        .and_then(|d| d.as_f64())
        .map(|d| format!("{d:.1}"))
        .unwrap_or_default();
    let bytes = match (v.get("request_bytes"), v.get("response_bytes")) {
        (Some(a), Some(b)) => format!("{a}/{b}"),
        (Some(a), None) => format!("{a}/-"),
        _ => String::new(),
    };
    [
        field(v, "ts").to_string(),
        field(v, "server").to_string(),
        field(v, "session").chars().take(8).collect(),
        v.get("id").map(|i| i.to_string()).unwrap_or_default(),
        what,
        detail,
        ms,
        bytes,
    ]
}

fn write_table(rows: &[[String; 8]], out: &mut dyn Write) -> io::Result<()> {
    const HEAD: [&str; 8] = [
        "TIME", "SERVER", "SESSION", "ID", "WHAT", "OUTCOME", "MS", "BYTES",
    ];
    let mut width = HEAD.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in width.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[&str], out: &mut dyn Write| -> io::Result<()> {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            // every printed field comes from our own file; strip control characters anyway
            let c: String = c
                .chars()
                .map(|ch| if ch.is_control() { '?' } else { ch })
                .collect();
            if i + 1 == cells.len() {
                s.push_str(&c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        writeln!(out, "{}", s.trim_end())
    };
    line(&HEAD, out)?;
    for r in rows {
        let cells: Vec<&str> = r.iter().map(|s| s.as_str()).collect();
        line(&cells, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(ts: &str, method: &str, tool: Option<&str>, outcome: &str) -> Vec<u8> {
        serde_json::to_vec(&Record {
            ts,
            kind: "request",
            server: "github",
            session: "0123456789abcdef",
            from: Some("client"),
            method: Some(method),
            tool,
            outcome: Some(outcome),
            duration_ms: Some(1.5),
            request_bytes: Some(10),
            response_bytes: Some(20),
            ..Default::default()
        })
        .expect("json")
    }

    #[test]
    fn file_and_dir_modes_and_default_path() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = default_path(dir.path());
        assert!(p.ends_with("audit/audit.jsonl"));
        let mut log = AuditLog::open(&p, 1 << 20, 2).expect("open");
        log.append(&rec("2026-01-01T00:00:00.000Z", "tools/list", None, "ok"));
        log.flush();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let fm = fs::metadata(&p).expect("file").permissions().mode() & 0o777;
            let dm = fs::metadata(p.parent().expect("parent"))
                .expect("dir")
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(fm, 0o600);
            assert_eq!(dm, 0o700);
        }
        let text = fs::read_to_string(&p).expect("read");
        assert_eq!(text.lines().count(), 1);
    }

    #[test]
    fn rotation_keeps_n_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("audit.jsonl");
        let mut log = AuditLog::open(&p, 300, 2).expect("open");
        for i in 0..20 {
            log.append(&rec(
                "2026-01-01T00:00:00.000Z",
                &format!("m{i}"),
                None,
                "ok",
            ));
            log.flush();
        }
        drop(log);
        assert!(p.exists());
        assert!(dir.path().join("audit.jsonl.1").exists());
        assert!(dir.path().join("audit.jsonl.2").exists());
        assert!(!dir.path().join("audit.jsonl.3").exists());
        for f in log_files(&p) {
            assert!(fs::metadata(&f).expect("m").len() <= 300, "{f:?}");
        }
        // the newest record is last when shown
        let mut out = Vec::new();
        let n = show(&p, &Query::default(), true, &mut out).expect("show");
        assert!(n >= 3);
        let last = String::from_utf8(out).expect("utf8");
        assert!(last.trim_end().ends_with("}"));
        assert!(last.lines().last().expect("line").contains("\"m19\""));
    }

    #[test]
    fn show_filters_and_prints() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("a.jsonl");
        let mut content = Vec::new();
        for (ts, m, t, o) in [
            ("2026-01-01T00:00:00.000Z", "tools/call", Some("echo"), "ok"),
            (
                "2026-02-01T00:00:00.000Z",
                "tools/call",
                Some("delete_repo"),
                "denied",
            ),
            ("2026-03-01T00:00:00.000Z", "tools/list", None, "ok"),
        ] {
            content.extend(rec(ts, m, t, o));
            content.push(b'\n');
        }
        content.extend_from_slice(b"not json\n{\"torn\":\n");
        fs::write(&p, content).expect("write");
        let count = |q: Query| show(&p, &q, true, &mut Vec::new()).expect("show");
        assert_eq!(count(Query::default()), 3);
        assert_eq!(
            count(Query {
                tool: Some("delete_*".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            count(Query {
                outcome: Some("ok".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            count(Query {
                method: Some("tools/*".into()),
                ..Default::default()
            }),
            3
        );
        assert_eq!(
            count(Query {
                server: Some("other".into()),
                ..Default::default()
            }),
            0
        );
        let since = parse_since("2026-01-15").expect("date");
        assert_eq!(
            count(Query {
                since: Some(since),
                ..Default::default()
            }),
            2
        );
        assert!(parse_since("2h").is_ok());
        assert!(parse_since("2026-02-01T00:00:00Z").is_ok());
        assert!(parse_since("yesterday-ish").is_err());
        let mut table = Vec::new();
        show(&p, &Query::default(), false, &mut table).expect("table");
        let table = String::from_utf8(table).expect("utf8");
        assert!(table.starts_with("TIME"));
        assert!(table.contains("tools/call delete_repo"));
        assert!(table.contains("denied"));
        assert_eq!(
            show(
                &dir.path().join("missing"),
                &Query::default(),
                false,
                &mut Vec::new()
            )
            .expect("ok"),
            0
        );
    }
}
