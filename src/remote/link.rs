//! The state one bridge shares between its tasks.
//!
//! Owns the requests awaiting an answer (and which were cancelled), the
//! session (id, negotiated protocol version, the client's `initialize` kept
//! to start a new session), delivering server messages to the client side as
//! single lines, and answering a request the bridge could not carry with a
//! JSON-RPC error (plus the same line on stderr). Must not send HTTP.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use http::HeaderValue;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

use super::endpoint::Endpoint;
use super::http::Http;
use super::rpc;

/// How the ids the bridge gives its own requests (a replayed `initialize`)
/// begin. They are told apart by value (a set of the ids in use), not by
/// this prefix, so a client id that happens to look alike stays the client's.
const INTERNAL_PREFIX: &str = "\"mcp-warden-internal-";

#[derive(Debug, Default)]
struct Entry {
    cancelled: bool,
    /// The task carrying the request (aborted when the client cancels it).
    task: Option<AbortHandle>,
}

/// The session of the initialize era (none in the stateless era).
#[derive(Debug, Default, Clone)]
pub struct Session {
    pub id: Option<HeaderValue>,
    /// The protocol version the server chose in its `initialize` answer.
    pub protocol: Option<HeaderValue>,
    /// The client's `initialize` request, replayed to start a new session.
    pub init: Option<Vec<u8>>,
    pub init_id: Option<String>,
    /// Counts new sessions, so concurrent losses start only one.
    pub generation: u64,
}

/// Shared by every task of one bridge.
pub struct Link {
    pub http: Http,
    pub ep: Endpoint,
    out: mpsc::Sender<Vec<u8>>,
    diag: mpsc::UnboundedSender<String>,
    pending: Mutex<HashMap<String, Entry>>,
    session: Mutex<Session>,
    internal: AtomicU64,
    /// Held while a new session is started: requests wait for it rather
    /// than go out without a session.
    pub renewal: tokio::sync::Mutex<()>,
    /// The internal ids whose answers are still to come (never delivered).
    internal_ids: Mutex<HashSet<String>>,
    /// Turns true when the bridge ends: background streams stop.
    quit: watch::Sender<bool>,
    background: Mutex<Vec<AbortHandle>>,
    on_status: Option<super::bridge::StatusHook>,
    /// Credentials asked for on each request (OAuth), if any.
    auth: Option<std::sync::Arc<dyn super::auth::Authorize>>,
    /// The last failure said on stderr (the same one is not said again in a row).
    last_failure: Mutex<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Link {
    pub fn new(
        http: Http,
        ep: Endpoint,
        out: mpsc::Sender<Vec<u8>>,
        diag: mpsc::UnboundedSender<String>,
        on_status: Option<super::bridge::StatusHook>,
        auth: Option<std::sync::Arc<dyn super::auth::Authorize>>,
    ) -> Self {
        Self {
            http,
            ep,
            out,
            diag,
            pending: Mutex::new(HashMap::new()),
            session: Mutex::new(Session::default()),
            internal: AtomicU64::new(0),
            internal_ids: Mutex::new(HashSet::new()),
            renewal: tokio::sync::Mutex::new(()),
            quit: watch::channel(false).0,
            background: Mutex::new(Vec::new()),
            on_status,
            auth,
            last_failure: Mutex::new(String::new()),
        }
    }

    /// Sends a request to the server (the URL given, on the endpoint's
    /// origin) with the filled headers and the credentials of the hook,
    /// retried once after a refusal the hook answered with new ones.
    pub async fn send(
        &self,
        url: &reqwest::Url,
        verb: super::http::Verb,
        transport: http::HeaderMap,
    ) -> Result<reqwest::Response, super::http::Failure> {
        super::auth::send(
            &self.http,
            self.auth.as_deref(),
            url,
            verb,
            &self.ep.headers,
            transport,
        )
        .await
    }

    /// Tells the status hook what HTTP status the requests `ids` got.
    pub fn note_status(&self, ids: &[String], status: u16) {
        if let Some(h) = &self.on_status {
            for id in ids.iter().filter(|i| !self.is_internal(i)) {
                (h.0)(id, status);
            }
        }
    }

    /// Tells background streams when the bridge ends.
    pub fn quit_signal(&self) -> watch::Receiver<bool> {
        self.quit.subscribe()
    }

    /// Keeps a background task (a GET stream) to stop at the end.
    pub fn background(&self, task: tokio::task::JoinHandle<()>) {
        lock(&self.background).push(task.abort_handle());
    }

    /// Stops every background task.
    pub fn stop_background(&self) {
        let _ = self.quit.send(true);
        for t in lock(&self.background).drain(..) {
            t.abort();
        }
    }

    /// One line for stderr (the bridge's stderr passes the guard's redaction).
    pub fn say(&self, line: &str) {
        let _ = self.diag.send(format!("mcp-warden: {line}\n"));
    }

    pub fn session(&self) -> Session {
        lock(&self.session).clone()
    }

    pub fn with_session<R>(&self, f: impl FnOnce(&mut Session) -> R) -> R {
        f(&mut lock(&self.session))
    }

    /// A fresh internal request id (JSON, quoted), one no client request
    /// is waiting under.
    pub fn internal_id(&self) -> String {
        loop {
            let n = self.internal.fetch_add(1, Ordering::Relaxed);
            let id = format!("{INTERNAL_PREFIX}{n}\"");
            if !lock(&self.pending).contains_key(&id) {
                lock(&self.internal_ids).insert(id.clone());
                return id;
            }
        }
    }

    /// Whether `id` is one of the bridge's own requests.
    fn is_internal(&self, id: &str) -> bool {
        lock(&self.internal_ids).contains(id)
    }

    /// Forgets the cancelled requests among `ids` once their message was
    /// carried: their answers are no longer awaited.
    pub fn settle(&self, ids: &[String]) {
        let mut p = lock(&self.pending);
        for id in ids {
            if p.get(id).is_some_and(|e| e.cancelled) {
                p.remove(id);
            }
        }
    }

    /// Registers the requests of a client message (before it is sent).
    pub fn await_ids(&self, ids: &[String]) {
        let mut p = lock(&self.pending);
        for id in ids {
            p.insert(id.clone(), Entry::default());
        }
    }

    /// Whether any of `ids` still waits for its answer.
    pub fn any_waiting(&self, ids: &[String]) -> bool {
        let p = lock(&self.pending);
        ids.iter().any(|i| p.get(i).is_some_and(|e| !e.cancelled))
    }

    /// Notes the task carrying the request `id` (which it carries alone).
    pub fn set_task(&self, ids: &[String], task: AbortHandle) {
        let mut p = lock(&self.pending);
        for id in ids {
            if let Some(e) = p.get_mut(id) {
                e.task = Some(task.clone());
            }
        }
    }

    /// The client cancelled `id`: no error will be sent for it, and the task
    /// carrying it alone is stopped (closing its answer stream).
    pub fn cancel(&self, id: &str) {
        let task = {
            let mut p = lock(&self.pending);
            let Some(e) = p.get_mut(id) else { return };
            e.cancelled = true;
            e.task.take()
        };
        if let Some(t) = task {
            t.abort();
            lock(&self.pending).remove(id);
        }
    }

    /// Answers each of `ids` still waiting with a JSON-RPC error saying
    /// `reason`; stderr gets the same line once (not again when the last
    /// failure said it already).
    pub async fn fail(&self, ids: &[String], reason: &str) {
        let waiting: Vec<String> = {
            let mut p = lock(&self.pending);
            ids.iter()
                .filter(|i| p.remove(*i).is_some_and(|e| !e.cancelled))
                .cloned()
                .collect()
        };
        let repeated = {
            let mut last = lock(&self.last_failure);
            let same = *last == reason;
            if !same {
                reason.clone_into(&mut last);
            }
            same
        };
        if !repeated {
            self.say(reason);
        }
        for id in waiting {
            if lock(&self.internal_ids).remove(&id) {
                continue;
            }
            let _ = self
                .out
                .send(rpc::error_reply(&id, &format!("mcp-warden: {reason}")))
                .await;
        }
    }

    /// Every request still waiting (at shutdown or when a stream is lost).
    pub fn all_waiting(&self) -> Vec<String> {
        lock(&self.pending).keys().cloned().collect()
    }

    /// Delivers one server message (JSON, possibly pretty) to the client as
    /// one line; answers to internal requests are kept back. Records the
    /// protocol version of the `initialize` answer.
    pub async fn deliver(&self, json: Vec<u8>) {
        let mut line = rpc::into_one_line(json);
        if line.is_empty() {
            return;
        }
        let msgs = rpc::read(&line);
        let mut internal = false;
        for m in msgs.iter().filter(|m| m.is_response()) {
            let id = m.id.as_deref().unwrap_or_default();
            self.note_init_answer(id, &line);
            lock(&self.pending).remove(id);
            internal |= lock(&self.internal_ids).remove(id);
        }
        if internal && msgs.len() == 1 {
            return;
        }
        line.push(b'\n');
        let _ = self.out.send(line).await;
    }

    fn note_init_answer(&self, id: &str, line: &[u8]) {
        let mut s = lock(&self.session);
        if s.init_id.as_deref() != Some(id) && !self.is_internal(id) {
            return;
        }
        #[derive(serde::Deserialize)]
        struct R {
            result: Option<V>,
        }
        #[derive(serde::Deserialize)]
        struct V {
            #[serde(rename = "protocolVersion")]
            protocol_version: Option<String>,
        }
        if let Ok(R {
            result: Some(V {
                protocol_version: Some(v),
            }),
        }) = serde_json::from_slice::<R>(line)
        {
            s.protocol = super::http::value(&v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::{Limits, fill};
    use std::time::Duration;

    fn link() -> Link {
        let limits = Limits {
            connect: Duration::from_secs(1),
            read: Duration::from_secs(1),
            max_message: 1024,
        };
        let http = Http::new(limits).expect("http");
        let ep = fill("https://mcp.example.com/mcp", &[], &[]).expect("endpoint");
        let (out, _) = mpsc::channel(4);
        let (diag, _) = mpsc::unbounded_channel();
        Link::new(http, ep, out, diag, None, None)
    }

    #[test]
    fn a_cancelled_request_of_a_batch_is_forgotten_once_carried() {
        let l = link();
        let ids = ["1".to_string(), "2".to_string()];
        l.await_ids(&ids);
        l.cancel("1");
        l.settle(&ids);
        assert_eq!(l.all_waiting(), vec!["2".to_string()]);
    }

    #[test]
    fn internal_ids_are_known_by_value_not_by_prefix() {
        let l = link();
        let ours = l.internal_id();
        assert!(l.is_internal(&ours));
        assert!(!l.is_internal("\"mcp-warden-internal-7\""));
        // an id a client request waits under is never handed out
        l.await_ids(&["\"mcp-warden-internal-1\"".to_string()]);
        assert_ne!(l.internal_id(), "\"mcp-warden-internal-1\"");
    }
}
