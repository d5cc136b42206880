//! The audit log: writing it (for the proxy) and reading it (for `mcp-warden audit`).
//!
//! Owns the JSONL format and its parts: the file and its rotation
//! ([`log`](self::log)), one record ([`record`]), the worker thread that pairs
//! requests with responses and writes records off the relay path
//! ([`worker`]), and reading the log back ([`show`], [`Query`]). It must never
//! see a secret value it could write: every record passes the redactor before
//! the file, records carry only names, ids, hashes and counts (arguments only
//! when `--audit-arguments` asks, and then redacted), and client-supplied JSON
//! (ids, arguments) is re-encoded with every string decoded first, so an
//! escaped spelling cannot slip past. It must not decide what is recorded; the
//! guard does.
//!
//! Record types (`"type"`):
//! - `start`: `argv0`, `pid`, `version`;
//! - `request`: one per request/response pair: `from` (`client` or `server`, who
//!   sent the request), `method`, `id` (as sent, strings re-encoded), `tool` and
//!   `args_sha256` (sha256 of the exact argument bytes) for `tools/call`,
//!   `arguments` (opt-in), `duration_ms`, `outcome` (`ok`, `error` +
//!   `error_code`, `tool_error`, `denied`, `cancelled`, `unanswered`),
//!   `result_type` when a 2026-era result says one, `request_bytes`,
//!   `response_bytes`;
//! - `violation`: `from`, `detail`, `bytes` (a line that is not a JSON-RPC message);
//! - `exit`: `exit_code` or `signal`;
//! - `override`: an explicit `--insecure-*` flag weakened a profile's policy
//!   for one run: `overrides` (the flags), `detail`. Written by `run` before
//!   anything else happens, in its own session, even when the override turns
//!   the audit log off.
//!
//! Every record has `ts` (RFC 3339, UTC, milliseconds), `server` and `session`.
//!
//! Several mcp-warden processes may share one file: each flush is one `write`
//! on an `O_APPEND` descriptor, and rotation is done under an exclusive
//! `flock` after checking that nobody rotated first.

mod log;
pub(crate) mod record;
mod show;
pub(crate) mod worker;

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::exit::{Code, ExitStatus};

pub(crate) use log::AuditLog;
use record::Record;
pub use show::{Query, parse_since, show};

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
    let ts = record::timestamp(SystemTime::now());
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
    let mut line = Vec::new();
    rec.write(&mut line);
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

#[cfg(test)]
mod tests {
    use super::*;

    use std::fs;

    use super::show::log_files;

    fn rec(ts: &str, method: &str, tool: Option<&str>, outcome: &str) -> Vec<u8> {
        let mut out = Vec::new();
        Record {
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
        }
        .write(&mut out);
        out
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
