//! Reading the audit log back: `mcp-warden audit`.
//!
//! Owns [`Query`] (filters), [`parse_since`], and [`show`]: the live file and
//! its rotated siblings, oldest first, printed as the stored JSONL lines or
//! as a table. It must not write the log.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::AuditError;
use super::log::io_err;

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
pub(super) fn log_files(path: &Path) -> Vec<PathBuf> {
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
