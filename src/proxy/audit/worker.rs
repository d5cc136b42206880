//! The audit worker: pairing requests with responses and writing records, on
//! a thread of its own.
//!
//! Owns [`Auditor`], the relay's side: what the relay read from a message's
//! top level becomes an [`Event`], events are batched until the relay waits
//! for input (or a batch is full), and batches travel over a bounded channel,
//! so a worker that falls behind makes the relay wait rather than lose a
//! record. The worker thread owns the tables of requests awaiting responses,
//! hashes `tools/call` arguments, builds each record, redacts it and appends
//! it to the file once the relay waits for input (at most one write per
//! [`FLUSH_EVERY`] under load). [`Auditor::close`] drains everything and joins the thread:
//! no record is lost on exit.
//!
//! It must not decide what is recorded (the guard does) or touch the relay's
//! streams; the only secret material it holds is what the guard hands over
//! (arguments to hash), and every record passes the redactor before the file.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime};

use sha2::{Digest, Sha256};

use super::log::AuditLog;
use super::record::{Clock, Record};
use super::{AuditConfig, AuditError};
use crate::proxy::message::IdKey;
use crate::proxy::redact::{Mode, Shared};
use crate::proxy::track::{Entry, Pending};

/// Events per batch before it is sent without waiting for the relay to idle.
const BATCH_EVENTS: usize = 512;
/// Payload bytes (arguments) per batch before it is sent: with [`QUEUE`]
/// batches in flight, what waits for the worker stays small.
const BATCH_BYTES: usize = 64 * 1024;
/// Batches in flight between the relay and the worker.
const QUEUE: usize = 4;
/// Records reach the file at most this long after the relay goes idle.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(5);
/// The worker's stack: it only formats records.
const STACK: usize = 256 * 1024;

/// Who sent a request (and so which table awaits its response).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Client,
    Server,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Server => "server",
        }
    }
}

/// Short bytes (an id, a method or tool name) kept inline, so the relay
/// allocates nothing for them in the common case.
#[derive(Clone)]
pub(crate) enum Short {
    Inline { len: u8, buf: [u8; 38] },
    Heap(Box<[u8]>),
}

impl Short {
    pub fn new(b: &[u8]) -> Self {
        let mut buf = [0u8; 38];
        match buf.get_mut(..b.len()) {
            Some(head) => {
                head.copy_from_slice(b);
                Short::Inline {
                    len: b.len() as u8,
                    buf,
                }
            }
            None => Short::Heap(b.into()),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Short::Inline { len, buf } => &buf[..usize::from(*len)],
            Short::Heap(b) => b,
        }
    }

    /// The bytes as text (they came from a decoded JSON string or raw JSON).
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.as_bytes())
    }
}

impl std::fmt::Debug for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // ids and names only, but keep the rule: no content in Debug
        write!(f, "Short({} bytes)", self.as_bytes().len())
    }
}

/// A request as the relay saw it.
#[derive(Debug)]
pub(crate) struct RequestSeen {
    pub from: Side,
    pub method: Short,
    /// The id as raw JSON (`None`: a request without one).
    pub id: Option<Short>,
    pub tool: Option<Short>,
    /// `tools/call` arguments, raw, to hash (and record with `--audit-arguments`).
    pub args: Option<Vec<u8>>,
    pub bytes: u64,
    /// When it was seen (the worker derives the wall time: one clock read on the relay).
    pub at: Instant,
}

/// A response as the relay saw it.
#[derive(Debug)]
pub(crate) struct ResponseSeen {
    /// Who sent the request it answers.
    pub to: Side,
    pub id: Short,
    /// `error.code` (0 when the error has none); `None` for a result.
    pub error_code: Option<i64>,
    /// `result.isError` is `true`.
    pub is_error: bool,
    pub result_type: Option<Box<str>>,
    pub bytes: u64,
    pub at: Instant,
}

/// A request through the egress proxy (`egress`), or one it refused
/// (`egress_blocked`). Names variables, never values.
#[derive(Debug)]
pub struct EgressSeen {
    /// `egress`, `egress_blocked` or `egress_direct`.
    pub kind: &'static str,
    pub host: String,
    pub port: u16,
    pub method: String,
    pub path: String,
    pub status: Option<u16>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub vars: Vec<String>,
    pub detail: Option<String>,
    pub at: SystemTime,
}

/// What the relay hands the worker.
#[derive(Debug)]
pub(crate) enum Event {
    Request(RequestSeen),
    Response(ResponseSeen),
    /// `notifications/cancelled` for a request `from` sent.
    Cancel {
        from: Side,
        id: Short,
    },
    /// A `tools/call` the policy denied, answered by the proxy with `reply_bytes`.
    Denied {
        req: RequestSeen,
        reply_bytes: u64,
        /// "denied" (policy) or "credential_expired".
        outcome: &'static str,
        code: i64,
    },
    Violation {
        from: Side,
        detail: &'static str,
        bytes: u64,
        at: SystemTime,
    },
    Start {
        argv0: String,
        pid: u32,
        at: SystemTime,
        /// The short-lived credentials the server holds (JSON array).
        credentials: Option<Vec<u8>>,
    },
    /// A credential minted anew while the server runs (JSON array of one).
    Refreshed {
        credentials: Vec<u8>,
        at: SystemTime,
    },
    /// The HTTP status a client request got from a remote server.
    HttpStatus {
        id: Short,
        status: u16,
    },
    /// Every request still waiting is recorded as `unanswered`.
    Unanswered,
    /// A request of the child's through the secretless egress proxy.
    Egress(EgressSeen),
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
        at: SystemTime,
    },
}

impl Event {
    fn payload(&self) -> usize {
        match self {
            Event::Request(r) | Event::Denied { req: r, .. } => {
                r.args.as_ref().map_or(0, |a| a.len())
            }
            _ => 0,
        }
    }
}

enum Msg {
    Events { events: Vec<Event>, flush: bool },
    Sync(mpsc::Sender<()>),
}

#[derive(Default)]
struct Batch {
    events: Vec<Event>,
    bytes: usize,
    /// Sent events not yet followed by a flush.
    dirty: bool,
}

/// The relay's handle on the audit worker. `Send + Sync`.
pub(crate) struct Auditor {
    batch: Mutex<Batch>,
    tx: Mutex<Option<SyncSender<Msg>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    failures: Arc<AtomicU64>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Auditor {
    /// Opens the file (errors surface here, on the caller's thread) and starts
    /// the worker.
    pub fn start(
        config: AuditConfig,
        session: String,
        redactor: Arc<Shared>,
    ) -> Result<Self, AuditError> {
        let log = AuditLog::open(&config.path, config.max_bytes, config.keep_files)?;
        let failures = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let worker = Worker {
            log,
            redactor,
            server: config.server_label,
            session,
            record_arguments: config.record_arguments,
            client: Pending::default(),
            from_server: Pending::default(),
            clock: Clock::default(),
            now: (SystemTime::now(), Instant::now()),
            flushed: Instant::now(),
            buf: Vec::with_capacity(512),
            redacted: Vec::with_capacity(512),
            failures: failures.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("mcp-warden-audit".into())
            .stack_size(STACK)
            .spawn(move || worker.run(rx))
            .map_err(|source| AuditError::Io {
                path: config.path.clone(),
                source,
            })?;
        Ok(Self {
            batch: Mutex::new(Batch::default()),
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
            failures,
        })
    }

    /// Queues one event; sends the batch when it is full (waiting if the
    /// worker is behind).
    pub fn push(&self, e: Event) {
        let mut b = lock(&self.batch);
        b.bytes += e.payload();
        b.events.push(e);
        if b.events.len() >= BATCH_EVENTS || b.bytes >= BATCH_BYTES {
            self.send(&mut b, false);
        }
    }

    /// Hands what is queued to the worker and asks it to write the file
    /// (the relay is about to wait for input). Does not wait for the write.
    pub fn nudge(&self) {
        let mut b = lock(&self.batch);
        if !b.events.is_empty() || b.dirty {
            self.send(&mut b, true);
        }
    }

    /// Like [`nudge`](Self::nudge), then waits until the worker has written
    /// everything sent so far.
    pub fn sync(&self) {
        self.nudge();
        let (ack, done) = mpsc::channel();
        let sent = lock(&self.tx)
            .as_ref()
            .is_some_and(|tx| tx.send(Msg::Sync(ack)).is_ok());
        if sent {
            let _ = done.recv();
        }
    }

    /// Sends what is left, stops the worker and waits for it. Later events are dropped.
    pub fn close(&self) {
        self.nudge();
        drop(lock(&self.tx).take());
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }

    /// Records that could not be written (complete once closed or synced).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn send(&self, b: &mut Batch, flush: bool) {
        let events = std::mem::take(&mut b.events);
        let n = events.len() as u64;
        b.bytes = 0;
        b.dirty = !flush;
        let tx = lock(&self.tx).clone();
        match tx {
            Some(tx) if tx.send(Msg::Events { events, flush }).is_ok() => {}
            // the worker is gone (closed, or it panicked): count what is lost
            _ => {
                self.failures.fetch_add(n, Ordering::Relaxed);
            }
        }
    }
}

impl Drop for Auditor {
    fn drop(&mut self) {
        self.close();
    }
}

/// Outcome fields of a request/response pair.
struct Outcome<'a> {
    outcome: &'a str,
    error_code: Option<i64>,
    result_type: Option<&'a str>,
    response_bytes: Option<u64>,
    /// When the pair ended (`None`: now).
    end: Option<Instant>,
}

impl Outcome<'static> {
    fn unanswered() -> Self {
        Self {
            outcome: "unanswered",
            error_code: None,
            result_type: None,
            response_bytes: None,
            end: None,
        }
    }
}

struct Worker {
    log: AuditLog,
    redactor: Arc<Shared>,
    server: String,
    session: String,
    record_arguments: bool,
    /// Requests the client sent, awaiting the server.
    client: Pending,
    /// Requests the server sent, awaiting the client.
    from_server: Pending,
    clock: Clock,
    /// Wall and monotonic time read together when the current batch arrived.
    now: (SystemTime, Instant),
    /// When the file was last written.
    flushed: Instant,
    buf: Vec<u8>,
    redacted: Vec<u8>,
    failures: Arc<AtomicU64>,
}

/// Lower-case hex of a digest.
fn hex_of(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// When the worker writes its buffer after a batch.
#[derive(Debug, PartialEq, Eq)]
enum Write {
    Now,
    At(Instant),
    NotAsked,
}

/// A write asked for within [`FLUSH_EVERY`] of the last one waits until the
/// interval has passed; a deadline already set is checked after every batch,
/// so a queue that never empties cannot postpone it.
fn schedule(due: Option<Instant>, asked: bool, flushed: Instant, now: Instant) -> Write {
    match due {
        Some(at) if now >= at => Write::Now,
        Some(at) => Write::At(at),
        None if !asked => Write::NotAsked,
        None if now.saturating_duration_since(flushed) >= FLUSH_EVERY => Write::Now,
        None => Write::At(flushed + FLUSH_EVERY),
    }
}

impl Worker {
    fn run(mut self, rx: Receiver<Msg>) {
        // A flush asked for while the last one is recent waits until
        // FLUSH_EVERY has passed (or the next request for one): under load,
        // one write per interval instead of one per relay wake-up.
        let mut due: Option<Instant> = None;
        loop {
            let msg = match due {
                Some(at) => match rx.recv_timeout(at.saturating_duration_since(Instant::now())) {
                    Ok(m) => m,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.flush();
                        due = None;
                        continue;
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(m) => m,
                    Err(_) => break,
                },
            };
            match msg {
                Msg::Events { events, flush } => {
                    self.now = (SystemTime::now(), Instant::now());
                    for e in events {
                        self.handle(e);
                    }
                    match schedule(due, flush, self.flushed, self.now.1) {
                        Write::Now => {
                            self.flush();
                            due = None;
                        }
                        Write::At(at) => due = Some(at),
                        Write::NotAsked => {}
                    }
                }
                Msg::Sync(ack) => {
                    self.flush();
                    due = None;
                    let _ = ack.send(());
                }
            }
        }
        self.flush();
    }

    fn flush(&mut self) {
        self.flushed = Instant::now();
        self.log.flush();
        self.failures.store(self.log.failures, Ordering::Relaxed);
    }

    fn table(&mut self, side: Side) -> &mut Pending {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.from_server,
        }
    }

    fn handle(&mut self, e: Event) {
        match e {
            Event::Request(r) => self.request(r),
            Event::Response(r) => self.response(r),
            Event::Cancel { from, id } => self.cancel(from, id.as_bytes()),
            Event::Denied {
                req,
                reply_bytes,
                outcome,
                code,
            } => self.denied(req, reply_bytes, outcome, code),
            Event::Violation {
                from,
                detail,
                bytes,
                at,
            } => self.violation(from, detail, bytes, at),
            Event::Start {
                argv0,
                pid,
                at,
                credentials,
            } => self.start(&argv0, pid, at, credentials.as_deref()),
            Event::Refreshed { credentials, at } => self.refreshed(&credentials, at),
            Event::Unanswered => self.unanswered(),
            Event::Egress(e) => self.egress(&e),
            Event::HttpStatus { id, status } => {
                if let Some(k) = IdKey::of(id.as_bytes())
                    && let Some(e) = self.table(Side::Client).get_mut(&k)
                {
                    e.http_status = Some(status);
                }
            }
            Event::Exit { code, signal, at } => {
                self.unanswered();
                self.exit(code, signal, at);
            }
        }
    }

    /// The wall-clock time of `at`, from the pair read when the batch arrived.
    fn wall(&self, at: Instant) -> SystemTime {
        let (wall, mono) = self.now;
        match mono.checked_duration_since(at) {
            Some(ago) => wall.checked_sub(ago).unwrap_or(wall),
            None => wall + at.duration_since(mono),
        }
    }

    fn entry(&self, r: RequestSeen) -> Entry {
        let id = r.id.as_ref().map_or("null".into(), Short::text);
        let mut e = Entry::at(&r.method.text(), &id, r.bytes, self.wall(r.at), r.at);
        e.tool = r.tool.map(|t| t.text().into());
        if let Some(args) = r.args {
            e.args_sha256 = Some(hex_of(&Sha256::digest(&args)).into());
            if self.record_arguments {
                e.arguments = Some(String::from_utf8_lossy(&args).into());
            }
        }
        e
    }

    fn request(&mut self, r: RequestSeen) {
        let (from, key) = (r.from, r.id.as_ref().and_then(|i| IdKey::of(i.as_bytes())));
        let Some(key) = key else { return };
        let e = self.entry(r);
        if let Some(old) = self.table(from).insert(key, e) {
            self.pair(from, &old, &Outcome::unanswered());
        }
    }

    fn response(&mut self, r: ResponseSeen) {
        let Some(key) = IdKey::of(r.id.as_bytes()) else {
            return;
        };
        let Some(e) = self.table(r.to).remove(&key) else {
            return;
        };
        let tool_error = &*e.method == "tools/call" && r.is_error && r.error_code.is_none();
        let outcome = if r.error_code.is_some() {
            "error"
        } else if tool_error {
            "tool_error"
        } else {
            "ok"
        };
        self.pair(
            r.to,
            &e,
            &Outcome {
                outcome,
                error_code: r.error_code,
                result_type: r.result_type.as_deref(),
                response_bytes: Some(r.bytes),
                end: Some(r.at),
            },
        );
    }

    fn cancel(&mut self, from: Side, id: &[u8]) {
        let Some(key) = IdKey::of(id) else { return };
        if let Some(e) = self.table(from).remove(&key) {
            let o = Outcome {
                outcome: "cancelled",
                ..Outcome::unanswered()
            };
            self.pair(from, &e, &o);
        }
    }

    fn denied(&mut self, req: RequestSeen, reply_bytes: u64, outcome: &'static str, code: i64) {
        let e = self.entry(req);
        let o = Outcome {
            outcome,
            error_code: Some(code),
            result_type: None,
            response_bytes: Some(reply_bytes),
            end: Some(e.start),
        };
        self.pair(Side::Client, &e, &o);
    }

    fn unanswered(&mut self) {
        for side in [Side::Client, Side::Server] {
            for e in self.table(side).drain() {
                self.pair(side, &e, &Outcome::unanswered());
            }
        }
    }

    fn pair(&mut self, from: Side, e: &Entry, o: &Outcome<'_>) {
        let end = o.end.unwrap_or_else(Instant::now);
        let micros = end.saturating_duration_since(e.start).as_micros();
        let ms = micros as f64 / 1000.0;
        let ts = self.clock.format(e.ts);
        let rec = Record {
            ts: ts.as_str(),
            kind: "request",
            from: Some(from.name()),
            method: Some(&e.method),
            id: Some(e.id_raw.as_bytes()),
            tool: e.tool.as_deref(),
            args_sha256: e.args_sha256.as_deref(),
            arguments: e.arguments.as_deref().map(str::as_bytes),
            duration_ms: Some(ms),
            outcome: Some(o.outcome),
            error_code: o.error_code,
            result_type: o.result_type,
            request_bytes: Some(e.request_bytes),
            response_bytes: o.response_bytes,
            http_status: e.http_status,
            ..Default::default()
        };
        self.write(&rec);
    }

    fn violation(&mut self, from: Side, detail: &str, bytes: u64, at: SystemTime) {
        let ts = self.clock.format(at);
        let rec = Record {
            ts: ts.as_str(),
            kind: "violation",
            from: Some(from.name()),
            detail: Some(detail),
            bytes: Some(bytes),
            ..Default::default()
        };
        self.write(&rec);
    }

    fn egress(&mut self, e: &EgressSeen) {
        let ts = self.clock.format(e.at);
        let vars: Vec<&str> = e.vars.iter().map(String::as_str).collect();
        let rec = Record {
            ts: ts.as_str(),
            kind: e.kind,
            method: Some(e.method.as_str()).filter(|m| !m.is_empty()),
            host: Some(&e.host),
            port: Some(e.port),
            path: Some(e.path.as_str()).filter(|p| !p.is_empty()),
            vars: Some(&vars),
            http_status: e.status,
            request_bytes: Some(e.request_bytes),
            response_bytes: Some(e.response_bytes),
            detail: e.detail.as_deref(),
            ..Default::default()
        };
        self.write(&rec);
    }

    fn start(&mut self, argv0: &str, pid: u32, at: SystemTime, credentials: Option<&[u8]>) {
        let ts = self.clock.format(at);
        let rec = Record {
            ts: ts.as_str(),
            kind: "start",
            argv0: Some(argv0),
            pid: Some(pid),
            version: Some(env!("CARGO_PKG_VERSION")),
            credentials,
            ..Default::default()
        };
        self.write(&rec);
        self.flush();
    }

    fn refreshed(&mut self, credentials: &[u8], at: SystemTime) {
        let ts = self.clock.format(at);
        let rec = Record {
            ts: ts.as_str(),
            kind: "credential_refreshed",
            credentials: Some(credentials),
            ..Default::default()
        };
        self.write(&rec);
        self.flush();
    }

    fn exit(&mut self, code: Option<i32>, signal: Option<i32>, at: SystemTime) {
        let ts = self.clock.format(at);
        let rec = Record {
            ts: ts.as_str(),
            kind: "exit",
            exit_code: code,
            signal,
            ..Default::default()
        };
        self.write(&rec);
        self.flush();
    }

    /// Builds, redacts and buffers one record (server and session filled in here).
    fn write(&mut self, rec: &Record<'_>) {
        let rec = Record {
            server: &self.server,
            session: &self.session,
            ..*rec
        };
        self.buf.clear();
        rec.write(&mut self.buf);
        if self
            .redactor
            .get()
            .redact(&self.buf, Mode::Json, &mut self.redacted)
        {
            self.log.append(&self.redacted);
        } else {
            self.log.append(&self.buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_due_write_happens_after_the_next_batch_even_if_the_queue_never_empties() {
        let t0 = Instant::now();
        let due = Some(t0 + FLUSH_EVERY);
        let later = t0 + FLUSH_EVERY + Duration::from_millis(1);
        // Neither this batch nor the ones before it asked again: still written.
        assert_eq!(schedule(due, false, t0, later), Write::Now);
        assert_eq!(schedule(due, true, t0, later), Write::Now);
        assert_eq!(schedule(due, true, t0, t0), Write::At(t0 + FLUSH_EVERY));
    }

    #[test]
    fn a_write_waits_out_the_interval_since_the_last_one() {
        let t0 = Instant::now();
        assert_eq!(schedule(None, false, t0, t0), Write::NotAsked);
        assert_eq!(
            schedule(None, true, t0, t0 + Duration::from_millis(1)),
            Write::At(t0 + FLUSH_EVERY)
        );
        assert_eq!(schedule(None, true, t0, t0 + FLUSH_EVERY), Write::Now);
    }
}
