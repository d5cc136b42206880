//! The per-line decisions: what to forward, rewrite, drop, answer and record.
//!
//! Owns [`Guard`], which holds the redactor, the tool policy, the request
//! tables and the audit log, and decides for each whole line (synchronously,
//! with no I/O but audit appends). It must not read or write streams or know
//! about processes: `relay.rs` moves the bytes, the caller owns the child.
//!
//! Per direction:
//! - client → server: parsed only when the audit log or a tool policy needs it.
//!   A `tools/call` whose tool the policy denies is dropped and answered with a
//!   JSON-RPC error (code [`DENIED_CODE`](super::message::DENIED_CODE)) carrying the
//!   request's id. In a batch each element is judged alone: denied elements are
//!   removed (the rest is forwarded as a smaller batch, or nothing if none is
//!   left) and answered together in one array. With a policy active, a line that
//!   cannot be read as a JSON-RPC message (invalid JSON, duplicate keys, a
//!   non-string `method`) is dropped (fail-closed) and recorded; without a
//!   policy it is forwarded and recorded. Nothing client-bound is redacted.
//! - server → client: parsed only when the audit log is on or a `tools/list`
//!   answer is awaited under a policy; responses are paired with their request
//!   and `tools/list` results filtered. Then, if any form of a value appears,
//!   the (possibly rewritten) line is redacted. A line that is not a JSON-RPC
//!   message is forwarded (redacted if needed) and recorded as a violation.
//! - server stderr: redacted as text, never parsed.
//!
//! The fast path of every direction is: no form of a value in the line
//! (one aho-corasick scan) and nothing to parse → forward the original bytes,
//! with no allocation.

use std::sync::{Mutex, MutexGuard};
use std::time::SystemTime;

use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::audit::{AuditConfig, AuditLog, Record, timestamp};
use super::message::{self, CallParams, CancelParams, Envelope, IdKey, ResultProbe};
use super::policy::ToolPolicy;
use super::redact::{Mode, Redactor};
use super::track::{Entry, Pending};
use super::{GuardConfig, ProxyError};

/// What to do with a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the original bytes.
    Original,
    /// Forward [`Scratch::out`] instead.
    Rewritten,
    /// Forward nothing.
    Drop,
}

/// Reusable buffers of one relay (so the slow path allocates rarely).
#[derive(Debug, Default)]
pub struct Scratch {
    /// The rewritten line when the verdict is [`Verdict::Rewritten`].
    pub out: Vec<u8>,
    /// A reply for the client (denials), complete with newline, when non-empty.
    pub reply: Vec<u8>,
    tmp: Vec<u8>,
}

impl Scratch {
    /// Frees buffers that grew past `limit` bytes (after a huge line).
    pub fn release_if_larger_than(&mut self, limit: usize) {
        for b in [&mut self.out, &mut self.reply, &mut self.tmp] {
            if b.capacity() > limit {
                *b = Vec::new();
            }
        }
    }
}

struct AuditState {
    log: AuditLog,
    buf: Vec<u8>,
    redacted: Vec<u8>,
}

/// Shared state of one supervised server. `Send + Sync`; share it with `Arc`.
pub struct Guard {
    /// Redacts what reaches the client and our stderr; disabled by `--no-redact`.
    redactor: Redactor,
    /// Redacts audit records when `redactor` is disabled: `--no-redact` never
    /// lets a value into the audit log.
    audit_redactor: Option<Redactor>,
    policy: ToolPolicy,
    audit: Option<Mutex<AuditState>>,
    server_label: String,
    record_arguments: bool,
    session: String,
    /// Requests sent by the client, awaiting the server.
    client_reqs: Mutex<Pending>,
    /// Requests sent by the server, awaiting the client.
    server_reqs: Mutex<Pending>,
    warnings: Vec<String>,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard")
            .field("redactor", &self.redactor)
            .field("policy", &self.policy)
            .field("audit", &self.audit.is_some())
            .field("session", &self.session)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The message body without surrounding whitespace (and the newline).
fn trim(line: &[u8]) -> &[u8] {
    let start = line
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(line.len());
    let end = line
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &line[start..end.max(start)]
}

/// The line terminator of `line` (`\n`, `\r\n` or nothing).
fn terminator(line: &[u8]) -> &'static [u8] {
    if line.ends_with(b"\r\n") {
        b"\r\n"
    } else if line.ends_with(b"\n") {
        b"\n"
    } else {
        b""
    }
}

fn session_id() -> String {
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

/// How a request/response pair ended.
struct Outcome<'a> {
    outcome: &'a str,
    error_code: Option<i64>,
    result_type: Option<&'a str>,
    response_bytes: Option<u64>,
}

impl Guard {
    /// Builds the redactor, compiles the policy and opens the audit log.
    pub fn new(config: GuardConfig) -> Result<Self, ProxyError> {
        let (redactor, warnings) = if config.redact {
            Redactor::new(&config.secrets)
        } else {
            (Redactor::disabled(), Vec::new())
        };
        let audit_redactor =
            (!config.redact && config.audit.is_some()).then(|| Redactor::new(&config.secrets).0);
        let policy = ToolPolicy::new(&config.allow_tools, &config.deny_tools)?;
        let (audit, server_label, record_arguments) = match config.audit {
            Some(AuditConfig {
                path,
                server_label,
                record_arguments,
                max_bytes,
                keep_files,
            }) => {
                let log = AuditLog::open(&path, max_bytes, keep_files)?;
                let st = AuditState {
                    log,
                    buf: Vec::with_capacity(512),
                    redacted: Vec::with_capacity(512),
                };
                (Some(Mutex::new(st)), server_label, record_arguments)
            }
            None => (None, String::new(), false),
        };
        Ok(Self {
            redactor,
            audit_redactor,
            policy,
            audit,
            server_label,
            record_arguments,
            session: session_id(),
            client_reqs: Mutex::new(Pending::default()),
            server_reqs: Mutex::new(Pending::default()),
            warnings,
        })
    }

    /// Start-up warnings (names only, never values), e.g. values too short to redact.
    pub fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }

    /// This run's random session id (also in every audit record).
    pub fn session_id(&self) -> &str {
        &self.session
    }

    /// Audit records that could not be written (0 without an audit log).
    pub fn audit_failures(&self) -> u64 {
        self.audit.as_ref().map_or(0, |a| lock(a).log.failures)
    }

    /// Records the child's start.
    pub fn audit_start(&self, argv0: &str, pid: u32) {
        let ts = timestamp(SystemTime::now());
        self.record(&Record {
            ts: &ts,
            kind: "start",
            argv0: Some(argv0),
            pid: Some(pid),
            version: Some(env!("CARGO_PKG_VERSION")),
            ..self.base()
        });
        self.flush_audit();
    }

    /// Records the child's exit (code, or the signal that killed it) and flushes.
    pub fn audit_exit(&self, code: Option<i32>, signal: Option<i32>) {
        self.finish_pending();
        let ts = timestamp(SystemTime::now());
        self.record(&Record {
            ts: &ts,
            kind: "exit",
            exit_code: code,
            signal,
            ..self.base()
        });
        self.flush_audit();
    }

    /// Writes buffered audit records to the file.
    pub fn flush_audit(&self) {
        if let Some(a) = &self.audit {
            lock(a).log.flush();
        }
    }

    /// Records every request still waiting as `unanswered`.
    pub(crate) fn finish_pending(&self) {
        if self.audit.is_none() {
            return;
        }
        for (from, table) in [("client", &self.client_reqs), ("server", &self.server_reqs)] {
            let left = lock(table).drain();
            for e in left {
                self.record_pair(from, &e, &unanswered());
            }
        }
    }

    fn base(&self) -> Record<'_> {
        Record {
            server: &self.server_label,
            session: &self.session,
            ..Default::default()
        }
    }

    /// Serializes, redacts and buffers one record.
    fn record(&self, rec: &Record<'_>) {
        let Some(a) = &self.audit else { return };
        let mut st = lock(a);
        let st = &mut *st;
        st.buf.clear();
        if serde_json::to_writer(&mut st.buf, rec).is_err() {
            return;
        }
        let redactor = self.audit_redactor.as_ref().unwrap_or(&self.redactor);
        if redactor.redact(&st.buf, Mode::Json, &mut st.redacted) {
            st.log.append(&st.redacted);
        } else {
            st.log.append(&st.buf);
        }
    }

    fn record_pair(&self, from: &str, e: &Entry, o: &Outcome<'_>) {
        let ts = timestamp(e.ts);
        let id = RawValue::from_string(e.id_raw.to_string()).ok();
        let args = e
            .arguments
            .as_deref()
            .and_then(|a| RawValue::from_string(a.to_string()).ok());
        let ms = (e.start.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
        self.record(&Record {
            ts: &ts,
            kind: "request",
            from: Some(from),
            method: Some(&e.method),
            id: id.as_deref(),
            tool: e.tool.as_deref(),
            args_sha256: e.args_sha256.as_deref(),
            arguments: args.as_deref(),
            duration_ms: Some(ms),
            outcome: Some(o.outcome),
            error_code: o.error_code,
            result_type: o.result_type,
            request_bytes: Some(e.request_bytes),
            response_bytes: o.response_bytes,
            ..self.base()
        });
    }

    fn violation(&self, from: &str, detail: &str, bytes: usize) {
        let ts = timestamp(SystemTime::now());
        self.record(&Record {
            ts: &ts,
            kind: "violation",
            from: Some(from),
            detail: Some(detail),
            bytes: Some(bytes as u64),
            ..self.base()
        });
    }

    fn inspects_client(&self) -> bool {
        self.audit.is_some() || self.policy.is_active()
    }

    fn inspects_server(&self) -> bool {
        self.audit.is_some() || (self.policy.is_active() && !lock(&self.client_reqs).is_empty())
    }

    // ---------------------------------------------------------------- client → server

    /// Decides a line from the client. A reply for the client may be left in `s.reply`.
    pub fn client_line(&self, line: &[u8], s: &mut Scratch) -> Verdict {
        s.reply.clear();
        if !self.inspects_client() {
            return Verdict::Original;
        }
        let body = trim(line);
        if body.is_empty() {
            return Verdict::Original;
        }
        let fail = if self.policy.is_active() {
            Verdict::Drop
        } else {
            Verdict::Original
        };
        match body[0] {
            b'{' => match self.client_message(body, line.len(), &mut s.reply) {
                ClientAction::Keep => Verdict::Original,
                ClientAction::Deny => {
                    if !s.reply.is_empty() {
                        s.reply.extend_from_slice(b"\n");
                    }
                    Verdict::Drop
                }
                ClientAction::Malformed => {
                    self.violation("client", self.malformed_detail(), line.len());
                    fail
                }
            },
            b'[' => {
                let Some(elems) = message::split_batch(body) else {
                    self.violation("client", self.malformed_detail(), line.len());
                    return fail;
                };
                let mut keep = Vec::with_capacity(elems.len());
                let mut denials = Vec::new();
                let mut changed = false;
                for e in &elems {
                    let mut one = Vec::new();
                    let bytes = e.get().as_bytes();
                    let action = if bytes.first() == Some(&b'{') {
                        self.client_message(bytes, bytes.len(), &mut one)
                    } else {
                        ClientAction::Malformed
                    };
                    match action {
                        ClientAction::Keep => keep.push(bytes),
                        ClientAction::Deny => {
                            changed = true;
                            if !one.is_empty() {
                                denials.push(one);
                            }
                        }
                        ClientAction::Malformed => {
                            self.violation("client", self.malformed_detail(), bytes.len());
                            if self.policy.is_active() {
                                changed = true;
                            } else {
                                keep.push(bytes);
                            }
                        }
                    }
                }
                if !denials.is_empty() {
                    message::join_batch(denials.iter().map(|d| d.as_slice()), &mut s.reply);
                    s.reply.extend_from_slice(b"\n");
                }
                if !changed {
                    Verdict::Original
                } else if keep.is_empty() {
                    Verdict::Drop
                } else {
                    s.out.clear();
                    message::join_batch(keep, &mut s.out);
                    s.out.extend_from_slice(terminator(line));
                    Verdict::Rewritten
                }
            }
            _ => {
                let detail = if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
                    "not a JSON-RPC message (not an object or array)"
                } else {
                    "not JSON"
                };
                self.violation("client", detail, line.len());
                // cannot be a tools/call for any JSON-RPC server; forwarding is safe
                Verdict::Original
            }
        }
    }

    fn malformed_detail(&self) -> &'static str {
        if self.policy.is_active() {
            "not a well-formed JSON-RPC message; dropped because a tool policy is active"
        } else {
            "not a well-formed JSON-RPC message"
        }
    }

    fn client_message(&self, msg: &[u8], bytes: usize, reply: &mut Vec<u8>) -> ClientAction {
        let Some(env) = message::parse::<IgnoredAny>(msg) else {
            return ClientAction::Malformed;
        };
        let track = self.audit.is_some();
        match (env.method.as_deref(), env.id) {
            (Some(method), id) => {
                let key = id.and_then(IdKey::of);
                if method == "tools/call" {
                    let Some(params) = env
                        .params
                        .and_then(|p| serde_json::from_str::<CallParams<'_>>(p.get()).ok())
                    else {
                        return ClientAction::Malformed;
                    };
                    let mut entry = key
                        .as_ref()
                        .map(|_| Entry::new(method, id.map_or("null", |i| i.get()), bytes as u64));
                    let tool: &str = &params.name;
                    if let Some(e) = entry.as_mut() {
                        e.tool = Some(tool.into());
                        if let Some(a) = params.arguments {
                            e.args_sha256 =
                                Some(hex::encode(Sha256::digest(a.get().as_bytes())).into());
                            if self.record_arguments {
                                e.arguments = Some(a.get().into());
                            }
                        }
                    }
                    if !self.policy.allows(tool) {
                        let start = reply.len();
                        if let Some(id) = id.filter(|_| key.is_some()) {
                            message::write_denial(id, tool, reply);
                            // the tool name came from the client, but keep the rule: nothing
                            // leaves the proxy holding a value
                            let mut red = Vec::new();
                            if self.redactor.redact(&reply[start..], Mode::Json, &mut red) {
                                reply.truncate(start);
                                reply.extend_from_slice(&red);
                            }
                        }
                        let response_bytes = (reply.len() - start) as u64;
                        let e = entry.unwrap_or_else(|| {
                            let mut e = Entry::new(method, "null", bytes as u64);
                            e.tool = Some(tool.into());
                            e
                        });
                        self.record_pair(
                            "client",
                            &e,
                            &Outcome {
                                outcome: "denied",
                                error_code: Some(message::DENIED_CODE),
                                result_type: None,
                                response_bytes: Some(response_bytes),
                            },
                        );
                        return ClientAction::Deny;
                    }
                    if track && let (Some(k), Some(e)) = (key, entry) {
                        self.track_client(k, e);
                    }
                } else if method == "notifications/cancelled" {
                    self.cancel(&self.client_reqs, "client", env.params);
                } else if let Some(k) = key {
                    let filter = method == "tools/list" && self.policy.is_active();
                    if track || filter {
                        let mut e =
                            Entry::new(method, id.map_or("null", |i| i.get()), bytes as u64);
                        e.filter_tools = filter;
                        self.track_client(k, e);
                    }
                }
                ClientAction::Keep
            }
            (None, Some(id)) => {
                // the client answers a request of the server
                if let Some(k) = IdKey::of(id) {
                    let e = lock(&self.server_reqs).remove(&k);
                    if let Some(e) = e {
                        let code = env.error.as_ref().map(|e| e.code().unwrap_or(0));
                        let o = outcome_of(false, code, None, bytes);
                        self.record_pair("server", &e, &o);
                    }
                }
                ClientAction::Keep
            }
            // an error response with a null id (the client could not read a request)
            (None, None) if env.error.is_some() => ClientAction::Keep,
            (None, None) => ClientAction::Malformed,
        }
    }

    fn track_client(&self, k: IdKey, e: Entry) {
        let old = lock(&self.client_reqs).insert(k, e);
        if let Some(old) = old {
            self.record_pair("client", &old, &unanswered());
        }
    }

    fn cancel(&self, table: &Mutex<Pending>, from: &str, params: Option<&RawValue>) {
        let Some(k) = params
            .and_then(|p| serde_json::from_str::<CancelParams<'_>>(p.get()).ok())
            .and_then(|c| c.request_id)
            .and_then(IdKey::of)
        else {
            return;
        };
        let e = lock(table).remove(&k);
        if let Some(e) = e {
            self.record_pair(
                from,
                &e,
                &Outcome {
                    outcome: "cancelled",
                    error_code: None,
                    result_type: None,
                    response_bytes: None,
                },
            );
        }
    }

    // ---------------------------------------------------------------- server → client

    /// Decides a line from the server's stdout (pairing, `tools/list` filter, redaction).
    pub fn server_line(&self, line: &[u8], s: &mut Scratch) -> Verdict {
        let mut rewritten = false;
        let mut known_json = false;
        let mut done: Option<(Entry, bool, Option<i64>, Option<String>)> = None;
        if self.inspects_server() {
            let body = trim(line);
            if !body.is_empty() {
                match body[0] {
                    b'{' => match self.server_message(body, &mut s.tmp) {
                        Some((rw, d)) => {
                            known_json = true;
                            if rw {
                                s.tmp.extend_from_slice(terminator(line));
                                rewritten = true;
                            }
                            done = d;
                        }
                        None => self.violation(
                            "server",
                            "not a well-formed JSON-RPC message",
                            line.len(),
                        ),
                    },
                    b'[' => match message::split_batch(body) {
                        Some(elems) => {
                            known_json = true;
                            let mut changed = false;
                            let mut outs: Vec<Vec<u8>> = Vec::with_capacity(elems.len());
                            for e in &elems {
                                let b = e.get().as_bytes();
                                let mut one = Vec::new();
                                match self.server_message(b, &mut one) {
                                    Some((rw, d)) => {
                                        if let Some((entry, tool_err, code, rt)) = d {
                                            self.record_pair(
                                                "client",
                                                &entry,
                                                &outcome_of(tool_err, code, rt.as_deref(), b.len()),
                                            );
                                        }
                                        if rw {
                                            changed = true;
                                            outs.push(one);
                                        } else {
                                            outs.push(b.to_vec());
                                        }
                                    }
                                    None => {
                                        self.violation(
                                            "server",
                                            "not a well-formed JSON-RPC message (in a batch)",
                                            b.len(),
                                        );
                                        outs.push(b.to_vec());
                                    }
                                }
                            }
                            if changed {
                                s.tmp.clear();
                                message::join_batch(outs.iter().map(|o| o.as_slice()), &mut s.tmp);
                                s.tmp.extend_from_slice(terminator(line));
                                rewritten = true;
                            }
                        }
                        None => self.violation(
                            "server",
                            "not a well-formed JSON-RPC message",
                            line.len(),
                        ),
                    },
                    _ => {
                        let detail = if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
                            "not a JSON-RPC message (not an object or array)"
                        } else {
                            "not JSON"
                        };
                        self.violation("server", detail, line.len());
                    }
                }
            }
        }
        let mut verdict = if rewritten {
            Verdict::Rewritten
        } else {
            Verdict::Original
        };
        {
            let current: &[u8] = if rewritten { &s.tmp } else { line };
            let mode = if known_json { Mode::Json } else { Mode::Auto };
            if self.redactor.redact(current, mode, &mut s.out) {
                verdict = Verdict::Rewritten;
            } else if rewritten {
                std::mem::swap(&mut s.out, &mut s.tmp);
            }
        }
        if let Some((entry, tool_err, code, rt)) = done {
            let n = if verdict == Verdict::Rewritten {
                s.out.len()
            } else {
                line.len()
            };
            self.record_pair(
                "client",
                &entry,
                &outcome_of(tool_err, code, rt.as_deref(), n),
            );
        }
        verdict
    }

    /// Handles one server message. `None` if it is not a readable JSON-RPC message.
    /// Else whether it was rewritten into `out`, and the request it completes
    /// (recorded by the caller once the bytes sent are known).
    #[allow(clippy::type_complexity)]
    fn server_message(
        &self,
        msg: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<(bool, Option<(Entry, bool, Option<i64>, Option<String>)>)> {
        let env: Envelope<'_, ResultProbe<'_>> = message::parse(msg)?;
        match (env.method.as_deref(), env.id) {
            (Some(method), id) => {
                let key = id.and_then(IdKey::of);
                if method == "notifications/cancelled" {
                    self.cancel(&self.server_reqs, "server", env.params);
                } else if let (Some(k), Some(id)) = (key, id)
                    && self.audit.is_some()
                {
                    let e = Entry::new(method, id.get(), msg.len() as u64);
                    let old = lock(&self.server_reqs).insert(k, e);
                    if let Some(old) = old {
                        self.record_pair("server", &old, &unanswered());
                    }
                }
                Some((false, None))
            }
            (None, Some(id)) => {
                let Some(k) = IdKey::of(id) else {
                    return Some((false, None));
                };
                let Some(entry) = lock(&self.client_reqs).remove(&k) else {
                    return Some((false, None));
                };
                let mut rewritten = false;
                if entry.filter_tools && env.result.is_some() {
                    let policy = &self.policy;
                    rewritten =
                        message::filter_tools_list(msg, &|name| policy.allows(name), out) > 0;
                }
                let (tool_err, rt) = match &env.result {
                    Some(r) => (
                        &*entry.method == "tools/call" && r.is_error,
                        r.result_type.as_ref().map(|t| t.0.to_string()),
                    ),
                    None => (false, None),
                };
                let code = env.error.as_ref().map(|e| e.code().unwrap_or(0));
                if self.audit.is_none() {
                    return Some((rewritten, None));
                }
                Some((rewritten, Some((entry, tool_err, code, rt))))
            }
            (None, None) if env.error.is_some() => Some((false, None)),
            (None, None) => None,
        }
    }

    // ---------------------------------------------------------------- server stderr

    /// Decides a line of the server's stderr (redaction only).
    pub fn stderr_line(&self, line: &[u8], s: &mut Scratch) -> Verdict {
        if self.redactor.redact(line, Mode::Plain, &mut s.out) {
            Verdict::Rewritten
        } else {
            Verdict::Original
        }
    }

    /// Whether the redactor is active (for tests and diagnostics).
    pub fn redacts(&self) -> bool {
        self.redactor.is_active()
    }
}

enum ClientAction {
    Keep,
    Deny,
    Malformed,
}

fn unanswered() -> Outcome<'static> {
    Outcome {
        outcome: "unanswered",
        error_code: None,
        result_type: None,
        response_bytes: None,
    }
}

fn outcome_of<'a>(
    tool_error: bool,
    code: Option<i64>,
    rt: Option<&'a str>,
    bytes: usize,
) -> Outcome<'a> {
    Outcome {
        outcome: if code.is_some() {
            "error"
        } else if tool_error {
            "tool_error"
        } else {
            "ok"
        },
        error_code: code,
        result_type: rt,
        response_bytes: Some(bytes as u64),
    }
}

#[cfg(test)]
#[test]
fn guard_is_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Guard>();
}
