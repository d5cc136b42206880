//! The per-line decisions: what to forward, rewrite, drop, answer and record.
//!
//! Owns [`Guard`], which holds the redactor, the tool policy, the table of
//! `tools/list` requests whose answers the policy filters, and the handle of
//! the audit worker, and decides for each whole line synchronously. It must
//! not read or write streams or know about processes: `relay.rs` moves the
//! bytes, the caller owns the child. It does no audit I/O: what it read from a
//! message's top level goes to the worker as an event.
//!
//! Per direction:
//! - client → server: read only when the audit log or a tool policy needs it,
//!   at the top level (`message::scan`); with a policy active the whole line is
//!   also validated. A `tools/call` whose tool the policy denies is dropped
//!   and answered with a JSON-RPC error (code
//!   [`DENIED_CODE`](super::message::DENIED_CODE)) carrying the request's id.
//!   In a batch each element is judged alone: denied elements are removed (the
//!   rest is forwarded as a smaller batch, or nothing if none is left) and
//!   answered together in one array. With a policy active, a line that cannot
//!   be read as a JSON-RPC message (invalid JSON, a repeated `id`/`method`/
//!   `params`/`result`/`error`, a non-string `method`) is dropped (fail-closed)
//!   and recorded; without a policy it is forwarded and recorded. Nothing
//!   client-bound is redacted.
//! - server → client: read when the audit log is on or a `tools/list` answer
//!   is awaited under a policy; responses go to the worker for pairing and
//!   `tools/list` results are filtered. Then, if any spelling of a value
//!   appears, the (possibly rewritten) line is redacted. A line that is not a
//!   JSON-RPC message is forwarded (redacted if needed) and recorded as a
//!   violation.
//! - server stderr: redacted as text (JSON-aware when the line is JSON), never read.
//!
//! The fast path of every direction is: nothing to read and no spelling of a
//! value in the line → forward the original bytes, with no allocation.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use serde::de::IgnoredAny;
use sha2::{Digest, Sha256};

use super::audit::worker::{Auditor, Event, RequestSeen, ResponseSeen, Short, Side};
use super::expiry::{Credential, EXPIRED_CODE, Expiry};
use super::message::{self, IdKey, scan};
use super::policy::ToolPolicy;
use super::redact::{Mode, Shared};
use super::track::{Entry, Pending};
use super::{GuardConfig, ProxyError};
use crate::secret::SecretValue;

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

/// Shared state of one supervised server. `Send + Sync`; share it with `Arc`.
pub struct Guard {
    /// Redacts what reaches the client and our stderr; disabled by `--no-redact`.
    redactor: Arc<Shared>,
    /// The audit log's own redactor when it differs (`--no-redact`).
    audit_redactor: Option<Arc<Shared>>,
    policy: ToolPolicy,
    audit: Option<Auditor>,
    session: String,
    /// `tools/list` requests whose answers the policy filters.
    lists: Mutex<Pending>,
    warnings: Vec<String>,
    /// Short-lived credentials the server holds (for the start record).
    credentials: Vec<Credential>,
    /// When the first of them that nothing refreshes expires.
    expiry: Option<Expiry>,
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

/// Why a line that is not a JSON-RPC message is one.
fn not_rpc_detail(body: &[u8]) -> &'static str {
    if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
        "not a JSON-RPC message (not an object or array)"
    } else {
        "not JSON"
    }
}

/// What one server message asked of the guard.
#[derive(Debug, Default)]
struct ServerRead {
    /// The message was rewritten (a filtered `tools/list`) into the caller's buffer.
    rewritten: bool,
    /// The response it is, for the audit log, once its byte count is known.
    response: Option<ResponseSeen>,
}

enum ClientAction {
    Keep,
    Deny,
    Malformed,
}

impl Guard {
    /// Builds the redactor, compiles the policy and opens the audit log.
    pub fn new(config: GuardConfig) -> Result<Self, ProxyError> {
        let (redactor, warnings) = if config.redact {
            Shared::new(&config.secrets)
        } else {
            (Shared::disabled(), Vec::new())
        };
        let redactor = Arc::new(redactor);
        let mut audit_redactor = None;
        let policy = ToolPolicy::new(&config.allow_tools, &config.deny_tools)?;
        let session = session_id();
        let audit = match config.audit {
            Some(a) => {
                // `--no-redact` never lets a value into the audit log
                let for_audit = if config.redact {
                    redactor.clone()
                } else {
                    let own = Arc::new(Shared::new(&config.secrets).0);
                    audit_redactor = Some(own.clone());
                    own
                };
                Some(Auditor::start(a, session.clone(), for_audit)?)
            }
            None => None,
        };
        Ok(Self {
            redactor,
            audit_redactor,
            policy,
            audit,
            session,
            lists: Mutex::new(Pending::default()),
            warnings,
            expiry: Expiry::of(&config.credentials),
            credentials: config.credentials,
        })
    }

    /// Redacts `value` (labelled `name`) from now on, in what reaches the
    /// client, our stderr and the audit log: a value learned while running
    /// (an OAuth token).
    pub fn add_secret(&self, name: &str, value: &SecretValue) {
        self.redactor.add(name, value);
        if let Some(a) = &self.audit_redactor {
            a.add(name, value);
        }
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
    /// Complete after [`audit_exit`](Self::audit_exit) or [`sync_audit`](Self::sync_audit).
    pub fn audit_failures(&self) -> u64 {
        self.audit.as_ref().map_or(0, Auditor::failures)
    }

    /// Records the child's start.
    pub fn audit_start(&self, argv0: &str, pid: u32) {
        self.event(|| Event::Start {
            argv0: argv0.into(),
            pid,
            at: SystemTime::now(),
            credentials: (!self.credentials.is_empty())
                .then(|| super::expiry::to_json(&self.credentials)),
        });
        self.flush_audit();
    }

    /// Records that mcp-warden minted `c` anew (secretless refresh).
    pub fn audit_refreshed(&self, c: &Credential) {
        self.event(|| Event::Refreshed {
            credentials: super::expiry::to_json(std::slice::from_ref(c)),
            at: SystemTime::now(),
        });
        self.flush_audit();
    }

    /// Records the child's exit (code, or the signal that killed it) after
    /// every request still waiting, writes everything and stops the audit
    /// worker. Nothing is recorded after it.
    pub fn audit_exit(&self, code: Option<i32>, signal: Option<i32>) {
        self.event(|| Event::Exit {
            code,
            signal,
            at: SystemTime::now(),
        });
        if let Some(a) = &self.audit {
            a.close();
        }
    }

    /// Hands queued records to the audit worker to write (does not wait).
    pub fn flush_audit(&self) {
        if let Some(a) = &self.audit {
            a.nudge();
        }
    }

    /// Waits until every record so far is in the file.
    pub fn sync_audit(&self) {
        if let Some(a) = &self.audit {
            a.sync();
        }
    }

    /// Notes the HTTP status the client request `id` (raw JSON) got from a
    /// remote server; its audit record carries it.
    pub fn audit_http_status(&self, id: &[u8], status: u16) {
        self.event(|| Event::HttpStatus {
            id: Short::new(id),
            status,
        });
    }

    /// Records a request through the secretless egress proxy.
    pub fn audit_egress(&self, e: crate::proxy::EgressSeen) {
        self.event(|| Event::Egress(e));
    }

    /// Records every request still waiting as `unanswered`.
    pub(crate) fn finish_pending(&self) {
        self.event(|| Event::Unanswered);
    }

    fn event(&self, e: impl FnOnce() -> Event) {
        if let Some(a) = &self.audit {
            a.push(e());
        }
    }

    fn violation(&self, from: Side, detail: &'static str, bytes: usize) {
        self.event(|| Event::Violation {
            from,
            detail,
            bytes: bytes as u64,
            at: SystemTime::now(),
        });
    }

    fn inspects_client(&self) -> bool {
        self.audit.is_some() || self.policy.is_active()
    }

    fn inspects_server(&self) -> bool {
        self.audit.is_some() || (self.policy.is_active() && !lock(&self.lists).is_empty())
    }

    /// Whether the redactor is active (for tests and diagnostics).
    pub fn redacts(&self) -> bool {
        self.redactor.get().is_active()
    }
}

// ---------------------------------------------------------------- client → server

impl Guard {
    /// Decides a line from the client. A reply for the client may be left in `s.reply`.
    pub fn client_line(&self, line: &[u8], s: &mut Scratch) -> Verdict {
        s.reply.clear();
        if !self.inspects_client() {
            return Verdict::Original;
        }
        let body = trim(line);
        match body.first() {
            None => Verdict::Original,
            Some(b'{') => match self.client_message(body, line.len(), &mut s.reply) {
                ClientAction::Keep => Verdict::Original,
                ClientAction::Deny => {
                    if !s.reply.is_empty() {
                        s.reply.extend_from_slice(b"\n");
                    }
                    Verdict::Drop
                }
                ClientAction::Malformed => {
                    self.violation(Side::Client, self.malformed_detail(), line.len());
                    self.fail_verdict()
                }
            },
            Some(b'[') => self.client_batch(line, body, s),
            Some(_) => {
                self.violation(Side::Client, not_rpc_detail(body), line.len());
                // cannot be a tools/call for any JSON-RPC server; forwarding is safe
                Verdict::Original
            }
        }
    }

    fn fail_verdict(&self) -> Verdict {
        if self.policy.is_active() {
            Verdict::Drop
        } else {
            Verdict::Original
        }
    }

    fn malformed_detail(&self) -> &'static str {
        if self.policy.is_active() {
            "not a well-formed JSON-RPC message; dropped because a tool policy is active"
        } else {
            "not a well-formed JSON-RPC message"
        }
    }

    /// A batch from the client: each element judged alone.
    fn client_batch(&self, line: &[u8], body: &[u8], s: &mut Scratch) -> Verdict {
        let Some(elems) = message::split_batch(body) else {
            self.violation(Side::Client, self.malformed_detail(), line.len());
            return self.fail_verdict();
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
                    self.violation(Side::Client, self.malformed_detail(), bytes.len());
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

    /// Reads a client message: the top level, and with a policy active the
    /// whole message validated (fail-closed).
    fn read_client<'a>(&self, msg: &'a [u8]) -> Option<scan::Top<'a>> {
        let top = scan::top(msg)?;
        if self.policy.is_active() && serde_json::from_slice::<IgnoredAny>(msg).is_err() {
            return None;
        }
        Some(top)
    }

    fn client_message(&self, msg: &[u8], bytes: usize, reply: &mut Vec<u8>) -> ClientAction {
        let Some(top) = self.read_client(msg) else {
            return ClientAction::Malformed;
        };
        match (top.method.as_deref(), top.id) {
            (Some("tools/call"), id) => self.client_call(&top, id, bytes, reply),
            (Some("notifications/cancelled"), _) => {
                self.cancel(Side::Client, top.params);
                ClientAction::Keep
            }
            (Some(method), Some(id)) => {
                if method == "tools/list"
                    && self.policy.is_active()
                    && let Some(k) = IdKey::of(id)
                {
                    lock(&self.lists).insert(k, Entry::new(method, "", 0));
                }
                self.event(|| Event::Request(seen(Side::Client, method, Some(id), bytes)));
                ClientAction::Keep
            }
            (Some(_), None) => ClientAction::Keep,
            (None, Some(id)) => {
                // the client answers a request of the server
                self.event(|| Event::Response(response(Side::Server, &top, id, bytes)));
                ClientAction::Keep
            }
            // an error response with a null id (the client could not read a request)
            (None, None) if top.error.is_some() => ClientAction::Keep,
            (None, None) => ClientAction::Malformed,
        }
    }

    /// A `tools/call`: judged by the policy, recorded with its argument hash.
    fn client_call(
        &self,
        top: &scan::Top<'_>,
        id: Option<&[u8]>,
        bytes: usize,
        reply: &mut Vec<u8>,
    ) -> ClientAction {
        let Some(call) = top.params.and_then(scan::call) else {
            return ClientAction::Malformed;
        };
        let tool: &str = &call.name;
        let keyed = id.is_some_and(|i| IdKey::of(i).is_some());
        let request = |id: Option<&[u8]>| {
            let mut r = seen(Side::Client, "tools/call", id, bytes);
            r.tool = Some(Short::new(tool.as_bytes()));
            r.args = call.arguments.map(<[u8]>::to_vec);
            r
        };
        let expired = self.expiry.as_ref().filter(|e| e.passed(SystemTime::now()));
        if expired.is_none() && self.policy.allows(tool) {
            self.event(|| Event::Request(request(id)));
            return ClientAction::Keep;
        }
        let start = reply.len();
        if let (Some(id), true) = (id, keyed) {
            match expired {
                Some(e) => e.write_error(id, reply),
                None => message::write_denial(id, tool, reply),
            }
            // the tool name came from the client, but keep the rule: nothing
            // leaves the proxy holding a value
            let mut red = Vec::new();
            if self
                .redactor
                .get()
                .redact(&reply[start..], Mode::Json, &mut red)
            {
                reply.truncate(start);
                reply.extend_from_slice(&red);
            }
        }
        let reply_bytes = (reply.len() - start) as u64;
        let (outcome, code) = match expired {
            Some(_) => ("credential_expired", EXPIRED_CODE),
            None => ("denied", message::DENIED_CODE),
        };
        self.event(|| Event::Denied {
            req: request(id.filter(|_| keyed)),
            reply_bytes,
            outcome,
            code,
        });
        ClientAction::Deny
    }

    /// `notifications/cancelled` from `from`: the request it names is no
    /// longer awaited (not filtered, recorded as cancelled).
    fn cancel(&self, from: Side, params: Option<&[u8]>) {
        let Some(id) = params.and_then(|p| scan::member(p, "requestId")) else {
            return;
        };
        if from == Side::Client
            && let Some(k) = IdKey::of(id)
        {
            lock(&self.lists).remove(&k);
        }
        self.event(|| Event::Cancel {
            from,
            id: Short::new(id),
        });
    }
}

/// A request as seen now.
fn seen(from: Side, method: &str, id: Option<&[u8]>, bytes: usize) -> RequestSeen {
    RequestSeen {
        from,
        method: Short::new(method.as_bytes()),
        id: id.map(Short::new),
        tool: None,
        args: None,
        bytes: bytes as u64,
        at: Instant::now(),
    }
}

/// A response as seen now (its byte count may be set later).
fn response(to: Side, top: &scan::Top<'_>, id: &[u8], bytes: usize) -> ResponseSeen {
    let error_code = top.error.map(|e| {
        scan::member(e, "code")
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    });
    // one walk over the result's members (it may be megabytes long)
    let (mut is_error, mut result_type) = (false, None);
    if let Some(r) = top.result {
        let _ = scan::members(r, |key, value| {
            match key {
                b"isError" => is_error = value == b"true",
                b"resultType" => result_type = scan::string(value).map(|t| t.into()),
                _ => {}
            }
            true
        });
    }
    ResponseSeen {
        to,
        id: Short::new(id),
        error_code,
        is_error,
        result_type,
        bytes: bytes as u64,
        at: Instant::now(),
    }
}

// ---------------------------------------------------------------- server → client

impl Guard {
    /// Decides a line from the server's stdout (pairing, `tools/list` filter, redaction).
    pub fn server_line(&self, line: &[u8], s: &mut Scratch) -> Verdict {
        let mut read = ServerRead::default();
        let mut known_json = false;
        if self.inspects_server() {
            let body = trim(line);
            match body.first() {
                None => {}
                Some(b'{') => match self.server_message(body, &mut s.tmp) {
                    Some(r) => {
                        known_json = true;
                        if r.rewritten {
                            s.tmp.extend_from_slice(terminator(line));
                        }
                        read = r;
                    }
                    None => self.violation(
                        Side::Server,
                        "not a well-formed JSON-RPC message",
                        line.len(),
                    ),
                },
                Some(b'[') => match self.server_batch(line, body, &mut s.tmp) {
                    Some(rewritten) => {
                        known_json = true;
                        read.rewritten = rewritten;
                    }
                    None => self.violation(
                        Side::Server,
                        "not a well-formed JSON-RPC message",
                        line.len(),
                    ),
                },
                Some(_) => self.violation(Side::Server, not_rpc_detail(body), line.len()),
            }
        }
        let verdict = self.redact_server(line, read.rewritten, known_json, s);
        if let Some(mut r) = read.response {
            r.bytes = match verdict {
                Verdict::Rewritten => s.out.len(),
                _ => line.len(),
            } as u64;
            self.event(|| Event::Response(r));
        }
        verdict
    }

    /// Redacts the line as it now stands (the original, or the rewrite in `s.tmp`).
    fn redact_server(
        &self,
        line: &[u8],
        rewritten: bool,
        known_json: bool,
        s: &mut Scratch,
    ) -> Verdict {
        let current: &[u8] = if rewritten { &s.tmp } else { line };
        let mode = if known_json { Mode::Json } else { Mode::Auto };
        if self.redactor.get().redact(current, mode, &mut s.out) {
            Verdict::Rewritten
        } else if rewritten {
            std::mem::swap(&mut s.out, &mut s.tmp);
            Verdict::Rewritten
        } else {
            Verdict::Original
        }
    }

    /// A batch from the server: each element read alone. `Some(rewritten)`
    /// when it is a JSON array (the rewrite, if any, in `out`).
    fn server_batch(&self, line: &[u8], body: &[u8], out: &mut Vec<u8>) -> Option<bool> {
        let elems = message::split_batch(body)?;
        let mut changed = false;
        let mut outs: Vec<Vec<u8>> = Vec::with_capacity(elems.len());
        for e in &elems {
            let b = e.get().as_bytes();
            let mut one = Vec::new();
            match self.server_message(b, &mut one) {
                Some(r) => {
                    if let Some(resp) = r.response {
                        self.event(|| Event::Response(resp));
                    }
                    changed |= r.rewritten;
                    outs.push(if r.rewritten { one } else { b.to_vec() });
                }
                None => {
                    self.violation(
                        Side::Server,
                        "not a well-formed JSON-RPC message (in a batch)",
                        b.len(),
                    );
                    outs.push(b.to_vec());
                }
            }
        }
        if changed {
            out.clear();
            message::join_batch(outs.iter().map(|o| o.as_slice()), out);
            out.extend_from_slice(terminator(line));
        }
        Some(changed)
    }

    /// Reads one server message. `None` if it is not a readable JSON-RPC
    /// message; a filtered `tools/list` answer is written to `out`.
    fn server_message(&self, msg: &[u8], out: &mut Vec<u8>) -> Option<ServerRead> {
        let top = scan::top(msg)?;
        match (top.method.as_deref(), top.id) {
            (Some("notifications/cancelled"), _) => {
                self.cancel(Side::Server, top.params);
                Some(ServerRead::default())
            }
            (Some(method), id) => {
                if id.is_some() {
                    self.event(|| Event::Request(seen(Side::Server, method, id, msg.len())));
                }
                Some(ServerRead::default())
            }
            (None, Some(id)) => {
                let rewritten = self.filter_list(msg, id, top.result.is_some(), out);
                let response = self
                    .audit
                    .is_some()
                    .then(|| response(Side::Client, &top, id, msg.len()));
                Some(ServerRead {
                    rewritten,
                    response,
                })
            }
            (None, None) if top.error.is_some() => Some(ServerRead::default()),
            (None, None) => None,
        }
    }

    /// Filters the answer to a `tools/list` the policy awaits; whether it was rewritten.
    fn filter_list(&self, msg: &[u8], id: &[u8], has_result: bool, out: &mut Vec<u8>) -> bool {
        if !self.policy.is_active() {
            return false;
        }
        let Some(k) = IdKey::of(id) else { return false };
        if lock(&self.lists).remove(&k).is_none() || !has_result {
            return false;
        }
        let policy = &self.policy;
        message::filter_tools_list(msg, &|name| policy.allows(name), out) > 0
    }

    // ---------------------------------------------------------------- server stderr

    /// Decides a line of the server's stderr (redaction only; a JSON line stays JSON).
    pub fn stderr_line(&self, line: &[u8], s: &mut Scratch) -> Verdict {
        if self.redactor.get().redact(line, Mode::Auto, &mut s.out) {
            Verdict::Rewritten
        } else {
            Verdict::Original
        }
    }
}

#[cfg(test)]
#[test]
fn guard_is_send_and_sync() {
    fn is<T: Send + Sync>() {}
    is::<Guard>();
}
