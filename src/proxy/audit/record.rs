//! One audit record as a JSON line.
//!
//! Owns the record format: [`Record`] (named fields, absent ones left out,
//! always in the same order), written by hand with serde_json's string
//! escaping; [`canonical`], which re-encodes client-supplied JSON (ids,
//! arguments) with every string decoded and written with the fewest escapes,
//! so no escaped spelling of a value reaches the file; and [`Clock`], the
//! RFC 3339 timestamp formatted once per millisecond. It must not redact or
//! write the file (the worker does both).

use std::time::SystemTime;

/// One audit record. Fields that do not apply are `None` and left out.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Record<'a> {
    pub ts: &'a str,
    pub kind: &'a str,
    pub server: &'a str,
    pub session: &'a str,
    pub version: Option<&'a str>,
    pub argv0: Option<&'a str>,
    pub pid: Option<u32>,
    pub from: Option<&'a str>,
    pub method: Option<&'a str>,
    /// An egress request's destination host, port and path (no query).
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    pub path: Option<&'a str>,
    /// Variables an egress request carried (swapped in, or blocked for).
    pub vars: Option<&'a [&'a str]>,
    /// Raw JSON, written canonically.
    pub id: Option<&'a [u8]>,
    pub tool: Option<&'a str>,
    pub args_sha256: Option<&'a str>,
    /// Raw JSON, written canonically.
    pub arguments: Option<&'a [u8]>,
    pub duration_ms: Option<f64>,
    pub outcome: Option<&'a str>,
    pub error_code: Option<i64>,
    pub result_type: Option<&'a str>,
    pub request_bytes: Option<u64>,
    pub response_bytes: Option<u64>,
    /// The HTTP status of the request (`connect` only).
    pub http_status: Option<u16>,
    pub bytes: Option<u64>,
    pub detail: Option<&'a str>,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub overrides: Option<&'a [&'a str]>,
    /// Short-lived credentials (raw JSON array): kind, scope, expiry; never a value.
    pub credentials: Option<&'a [u8]>,
}

struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl Obj<'_> {
    fn key(&mut self, k: &str) {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(k.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    fn str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.key(k);
            write_str(v, self.out);
        }
    }

    fn int(&mut self, k: &str, v: Option<impl itoa::Integer>) {
        if let Some(v) = v {
            self.key(k);
            self.out
                .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        }
    }

    fn list(&mut self, k: &str, v: Option<&[&str]>) {
        if let Some(list) = v {
            self.key(k);
            self.out.push(b'[');
            for (i, f) in list.iter().enumerate() {
                if i > 0 {
                    self.out.push(b',');
                }
                write_str(f, self.out);
            }
            self.out.push(b']');
        }
    }

    fn json(&mut self, k: &str, v: Option<&[u8]>) {
        if let Some(v) = v {
            self.key(k);
            canonical(v, self.out);
        }
    }
}

impl Record<'_> {
    /// Appends the record (no newline) to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut o = Obj { out, first: true };
        o.str("ts", Some(self.ts));
        o.str("type", Some(self.kind));
        o.str("server", Some(self.server));
        o.str("session", Some(self.session));
        o.str("version", self.version);
        o.str("argv0", self.argv0);
        o.int("pid", self.pid);
        o.str("from", self.from);
        o.str("method", self.method);
        o.str("host", self.host);
        o.int("port", self.port);
        o.str("path", self.path);
        o.list("vars", self.vars);
        o.json("id", self.id);
        o.str("tool", self.tool);
        o.str("args_sha256", self.args_sha256);
        o.json("arguments", self.arguments);
        if let Some(ms) = self.duration_ms.filter(|m| m.is_finite()) {
            o.key("duration_ms");
            o.out
                .extend_from_slice(ryu::Buffer::new().format_finite(ms).as_bytes());
        }
        o.str("outcome", self.outcome);
        o.int("error_code", self.error_code);
        o.str("result_type", self.result_type);
        o.int("request_bytes", self.request_bytes);
        o.int("response_bytes", self.response_bytes);
        o.int("http_status", self.http_status);
        o.int("bytes", self.bytes);
        o.str("detail", self.detail);
        o.int("exit_code", self.exit_code);
        o.int("signal", self.signal);
        o.list("overrides", self.overrides);
        o.json("credentials", self.credentials);
        out.push(b'}');
    }
}

/// Appends `s` as a JSON string, escaped as serde_json escapes it.
pub(crate) fn write_str(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else if serde_json::to_writer(&mut *out, s).is_err() {
        out.extend_from_slice(b"\"\"");
    }
}

/// Appends the JSON value `raw` with every string decoded and re-encoded with
/// the fewest escapes and whitespace outside strings dropped. Text that is not
/// valid JSON is written as a JSON string of its bytes (lossy UTF-8), so the
/// record stays valid.
pub(crate) fn canonical(raw: &[u8], out: &mut Vec<u8>) {
    if is_plain(raw) {
        out.extend_from_slice(raw);
        return;
    }
    if serde_json::from_slice::<serde::de::IgnoredAny>(raw).is_err() {
        write_str(&String::from_utf8_lossy(raw), out);
        return;
    }
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'"' => {
                let end = string_end(raw, i);
                let tok = &raw[i..end];
                match serde_json::from_slice::<String>(tok) {
                    Ok(s) => write_str(&s, out),
                    // a lone surrogate: keep the escape (still valid JSON)
                    Err(_) => out.extend_from_slice(tok),
                }
                i = end;
            }
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
}

/// Already canonical: an integer, or a string with nothing escaped or to escape
/// (most ids).
fn is_plain(raw: &[u8]) -> bool {
    let digits = raw.strip_prefix(b"-").unwrap_or(raw);
    if !digits.is_empty()
        && digits.iter().all(u8::is_ascii_digit)
        && (digits == b"0" || digits[0] != b'0')
    {
        return true;
    }
    match raw.strip_prefix(b"\"").and_then(|r| r.strip_suffix(b"\"")) {
        Some(inner) => {
            inner.iter().all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
                && std::str::from_utf8(inner).is_ok()
        }
        None => false,
    }
}

/// The end (after the closing quote) of the string token starting at `i`.
fn string_end(s: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() {
        match s[j] {
            b'"' => return j + 1,
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    s.len()
}

/// A formatted timestamp, copied out of the [`Clock`] without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ts {
    buf: [u8; 40],
    len: usize,
}

impl Ts {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

/// RFC 3339 UTC with milliseconds, formatted once per millisecond.
#[derive(Debug)]
pub(crate) struct Clock {
    ms: Option<u128>,
    ts: Ts,
}

impl Default for Clock {
    fn default() -> Self {
        Self {
            ms: None,
            ts: Ts {
                buf: [0; 40],
                len: 0,
            },
        }
    }
}

impl Clock {
    pub fn format(&mut self, t: SystemTime) -> Ts {
        let ms = t
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        if self.ms != Some(ms) {
            let text = timestamp(t);
            let len = text.len().min(self.ts.buf.len());
            self.ts.buf[..len].copy_from_slice(&text.as_bytes()[..len]);
            self.ts.len = len;
            self.ms = Some(ms);
        }
        self.ts
    }
}

/// RFC 3339 UTC with milliseconds.
pub(crate) fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_valid_json_in_a_fixed_order() {
        let mut out = Vec::new();
        Record {
            ts: "2026-01-01T00:00:00.000Z",
            kind: "request",
            server: "gh \"x\"",
            session: "s",
            method: Some("tools/call"),
            id: Some(br#" "a\u0062" "#),
            arguments: Some(br#"{ "k" : "\u00e9\/" , "n": 1.50 }"#),
            duration_ms: Some(2.0),
            error_code: Some(-32602),
            overrides: Some(&["--insecure-no-audit"]),
            ..Default::default()
        }
        .write(&mut out);
        let text = String::from_utf8(out).expect("utf8");
        assert_eq!(
            text,
            r#"{"ts":"2026-01-01T00:00:00.000Z","type":"request","server":"gh \"x\"","session":"s","method":"tools/call","id":"ab","arguments":{"k":"é/","n":1.50},"duration_ms":2.0,"error_code":-32602,"overrides":["--insecure-no-audit"]}"#
        );
        serde_json::from_str::<serde_json::Value>(&text).expect("valid");
    }

    #[test]
    fn invalid_raw_json_becomes_a_string() {
        let mut out = Vec::new();
        canonical(b"{\"a\":tru", &mut out);
        assert_eq!(out, br#""{\"a\":tru""#);
        let mut out = Vec::new();
        canonical(br#"["\ud800x"]"#, &mut out);
        assert_eq!(out, br#"["\ud800x"]"#);
    }

    #[test]
    fn clock_reuses_the_millisecond() {
        let mut c = Clock::default();
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_123);
        assert_eq!(c.format(t).as_str(), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            c.format(t + std::time::Duration::from_micros(200)).as_str(),
            "2023-11-14T22:13:20.123Z"
        );
        assert_eq!(
            c.format(t + std::time::Duration::from_millis(1)).as_str(),
            "2023-11-14T22:13:20.124Z"
        );
    }
}
