//! The bridge: client lines in, remote server messages out.
//!
//! Owns the order of work for one connection: reading the client's lines,
//! choosing the transport on the first message (`--transport auto` falls
//! back to HTTP+SSE when the server refuses a Streamable HTTP `initialize`
//! with 400, 404 or 405), carrying `initialize` and the first message before
//! anything else (giving way to a stop and to the end of input) and every
//! later message concurrently, cancellation, the GET
//! stream once the session is initialized, and the end: in-flight work gets
//! `grace`, then the session is ended on the server and the output closed.
//! Must not know about the guard: it reads and writes plain lines.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::endpoint::Endpoint;
use super::http::{Failure, Http};
use super::legacy::{self, Channel};
use super::link::Link;
use super::rpc::{self, Msg};
use super::streamable::{self, Outcome};

/// `--transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// Streamable HTTP, falling back to HTTP+SSE.
    Auto,
    /// Streamable HTTP only.
    Http,
    /// HTTP+SSE only.
    Sse,
}

/// How the bridge runs.
#[derive(Debug, Clone)]
pub struct Options {
    pub transport: Transport,
    /// After the client's input ends: how long in-flight requests may take.
    pub grace: Duration,
    /// Told the HTTP status each client request got (for the audit log).
    pub on_status: Option<StatusHook>,
    /// Asked for credentials on each request and told about refusals.
    pub auth: Option<AuthHook>,
}

/// The credentials hook of a bridge (OAuth).
#[derive(Clone)]
pub struct AuthHook(pub Arc<dyn super::auth::Authorize>);

impl std::fmt::Debug for AuthHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthHook")
    }
}

/// What the status hook is called with: a request's id (raw JSON) and its HTTP status.
pub type StatusFn = dyn Fn(&str, u16) + Send + Sync;

/// A callback told the HTTP status each client request got.
#[derive(Clone)]
pub struct StatusHook(pub Arc<StatusFn>);

impl std::fmt::Debug for StatusHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusHook")
    }
}

#[derive(Clone)]
enum Mode {
    Streamable,
    Legacy(Arc<Channel>),
}

struct Bridge {
    link: Arc<Link>,
    opts: Options,
    mode: Option<Mode>,
    tasks: JoinSet<()>,
    listening: Option<u64>,
}

/// Runs the bridge until `input` ends or `stop` turns true. Server messages
/// go to `output` as whole lines, each ending in a newline (the channel
/// closes when the bridge is done), diagnostics to `diag`.
pub async fn serve(
    http: Http,
    ep: Endpoint,
    opts: Options,
    input: impl AsyncRead + Unpin + Send + 'static,
    output: mpsc::Sender<Vec<u8>>,
    diag: impl AsyncWrite + Unpin + Send + 'static,
    mut stop: watch::Receiver<bool>,
) {
    let (diag_tx, diag_rx) = mpsc::unbounded_channel::<String>();
    let diag_writer = tokio::spawn(write_diag(diag_rx, diag));
    let mut b = Bridge {
        link: Arc::new(Link::new(
            http,
            ep,
            output,
            diag_tx,
            opts.on_status.clone(),
            opts.auth.as_ref().map(|a| a.0.clone()),
        )),
        opts,
        mode: None,
        tasks: JoinSet::new(),
        listening: None,
    };
    let max = b.link.http.limits.max_message;
    let mut input = Input {
        lines: BufReader::with_capacity(64 * 1024, input),
        buf: Vec::new(),
        ahead: None,
        max,
    };
    let too_large = format!("a client message is larger than {max} bytes; stopping");
    loop {
        let read = tokio::select! {
            r = input.next() => r,
            Ok(_) = stop.wait_for(|s| *s) => break,
        };
        let line = match read {
            Read::Line(l) => l,
            Read::End => break,
            Read::TooLarge => {
                b.link.say(&too_large);
                break;
            }
        };
        let grace = b.opts.grace;
        if !input.alongside(b.on_line(line), &mut stop, grace).await {
            if matches!(input.ahead, Some(Read::TooLarge)) {
                b.link.say(&too_large);
            }
            break;
        }
        while b.tasks.try_join_next().is_some() {}
    }
    b.finish().await;
    let Bridge { link, .. } = b;
    drop(link);
    let _ = tokio::time::timeout(Duration::from_secs(2), diag_writer).await;
}

/// The client's input: lines of at most `max` bytes, one read ahead while
/// in-order work runs.
struct Input<R> {
    lines: BufReader<R>,
    /// What a read cut short got so far (reads are resumed, never lost).
    buf: Vec<u8>,
    ahead: Option<Read>,
    max: usize,
}

impl<R: AsyncRead + Unpin> Input<R> {
    /// The next read (cancel safe).
    async fn next(&mut self) -> Read {
        match self.ahead.take() {
            Some(r) => r,
            None => read_line(&mut self.lines, &mut self.buf, self.max).await,
        }
    }

    /// Runs `work` (done in order: initialize, the first message,
    /// cancellations) while reading one line ahead. False when `stop` came
    /// or the input ended first (the work then gets `grace`).
    async fn alongside(
        &mut self,
        work: impl Future<Output = ()>,
        stop: &mut watch::Receiver<bool>,
        grace: Duration,
    ) -> bool {
        tokio::pin!(work);
        loop {
            let r = tokio::select! {
                () = &mut work => return true,
                Ok(_) = stop.wait_for(|s| *s) => return false,
                r = read_line(&mut self.lines, &mut self.buf, self.max), if self.ahead.is_none() => r,
            };
            let last = !matches!(r, Read::Line(_));
            self.ahead = Some(r);
            if last {
                tokio::select! {
                    _ = tokio::time::timeout(grace, &mut work) => {}
                    Ok(_) = stop.wait_for(|s| *s) => {}
                }
                return false;
            }
        }
    }
}

/// One read of the client's input.
enum Read {
    Line(Vec<u8>),
    /// End of input, or it cannot be read.
    End,
    TooLarge,
}

/// Reads one line of at most `max` bytes into `buf` (cancel safe: what a
/// cut-short read got stays in `buf` for the next call).
async fn read_line(
    lines: &mut (impl AsyncBufReadExt + Unpin),
    buf: &mut Vec<u8>,
    max: usize,
) -> Read {
    let room = (max as u64 + 1).saturating_sub(buf.len() as u64);
    let mut limited = lines.take(room);
    match limited.read_until(b'\n', buf).await {
        Err(_) => Read::End,
        Ok(0) if buf.is_empty() => Read::End,
        Ok(_) if buf.len() > max && !buf.ends_with(b"\n") => Read::TooLarge,
        Ok(_) => Read::Line(std::mem::take(buf)),
    }
}

async fn write_diag(mut rx: mpsc::UnboundedReceiver<String>, mut out: impl AsyncWrite + Unpin) {
    while let Some(l) = rx.recv().await {
        if out.write_all(l.as_bytes()).await.is_err() || out.flush().await.is_err() {
            break;
        }
    }
    let _ = out.shutdown().await;
}

/// The ids of the requests in `msgs`.
fn request_ids(msgs: &[Msg]) -> Vec<String> {
    msgs.iter()
        .filter(|m| m.is_request())
        .filter_map(|m| m.id.clone())
        .collect()
}

impl Bridge {
    async fn on_line(&mut self, line: Vec<u8>) {
        if line.trim_ascii().is_empty() {
            return;
        }
        let msgs = rpc::read(&line);
        let ids = request_ids(&msgs);
        let method = |name: &str| msgs.iter().any(|m| m.method.as_deref() == Some(name));
        if method("initialize") {
            self.end_old_session();
            self.link.with_session(|s| {
                s.init = Some(line.clone());
                s.init_id = ids.first().cloned();
                s.id = None;
                s.protocol = None;
                s.generation += 1;
            });
        }
        self.link.await_ids(&ids);
        let cancels: Vec<String> = msgs.iter().filter_map(|m| m.cancels.clone()).collect();
        if self.mode.is_none() {
            self.first(&line, &msgs, &ids).await;
        } else if method("initialize") || method("notifications/initialized") || !cancels.is_empty()
        {
            // in order: the session must exist before what follows; a
            // cancellation reaches the server before its request's stream closes
            self.carry_now(&line, &msgs, &ids).await;
        } else {
            let (link, mode, task_ids) = (self.link.clone(), self.mode.clone(), ids.clone());
            let handle = self.tasks.spawn(async move {
                if let Some(mode) = mode {
                    carry(&link, &mode, &line, &msgs, &task_ids).await;
                }
            });
            if ids.len() == 1 {
                self.link.set_task(&ids, handle);
            }
            return;
        }
        for id in &cancels {
            self.link.cancel(id);
        }
        self.maybe_listen(&msgs);
    }

    /// A new `initialize` in a session: the old session is ended on the
    /// server (DELETE, in the background) before the new one starts.
    fn end_old_session(&mut self) {
        let old = self.link.session();
        if old.id.is_none() || !matches!(self.mode, Some(Mode::Streamable)) {
            return;
        }
        let link = self.link.clone();
        let limit = link.http.limits.read.min(Duration::from_secs(2));
        self.tasks
            .spawn(async move { streamable::end_session_of(&link, &old, limit).await });
    }

    /// The first message decides the transport.
    async fn first(&mut self, line: &[u8], msgs: &[Msg], ids: &[String]) {
        let link = self.link.clone();
        let chosen = match self.opts.transport {
            Transport::Sse => open_legacy(&link).await,
            Transport::Http => Ok(Mode::Streamable),
            Transport::Auto => match streamable::exchange(&link, line, msgs, ids).await {
                Ok(Outcome::Refused(status)) => {
                    link.say(&format!(
                        "{} refused Streamable HTTP (HTTP {}); trying HTTP+SSE",
                        link.ep.origin,
                        status.as_u16()
                    ));
                    open_legacy(&link).await
                }
                Ok(_) => {
                    link.settle(ids);
                    self.mode = Some(Mode::Streamable);
                    return;
                }
                Err(f) => {
                    link.fail(ids, &f.0).await;
                    return;
                }
            },
        };
        match chosen {
            Ok(mode) => {
                self.mode = Some(mode);
                self.carry_now(line, msgs, ids).await;
            }
            Err(f) => link.fail(ids, &f.0).await,
        }
    }

    async fn carry_now(&mut self, line: &[u8], msgs: &[Msg], ids: &[String]) {
        if let Some(mode) = self.mode.clone() {
            carry(&self.link, &mode, line, msgs, ids).await;
        }
    }

    /// Opens the GET stream once the session is initialized (initialize era,
    /// Streamable HTTP), and again for each new session.
    fn maybe_listen(&mut self, msgs: &[Msg]) {
        let initialized = msgs
            .iter()
            .any(|m| m.method.as_deref() == Some("notifications/initialized"));
        if !initialized || !matches!(self.mode, Some(Mode::Streamable)) {
            return;
        }
        let generation = self.link.session().generation;
        if self.listening == Some(generation) {
            return;
        }
        self.listening = Some(generation);
        let quit = self.link.quit_signal();
        self.link.background(tokio::spawn(streamable::listen(
            self.link.clone(),
            generation,
            quit,
        )));
    }

    /// In-flight work gets the grace period; then the session is ended.
    async fn finish(&mut self) {
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        let _ = tokio::time::timeout(self.opts.grace, drain).await;
        self.tasks.shutdown().await;
        self.link.stop_background();
        match &self.mode {
            Some(Mode::Streamable) => {
                let limit = self.link.http.limits.read.min(Duration::from_secs(2));
                streamable::end_session(&self.link, limit).await;
            }
            Some(Mode::Legacy(ch)) => ch.close(),
            None => {}
        }
    }
}

async fn open_legacy(link: &Arc<Link>) -> Result<Mode, Failure> {
    let ch = Arc::new(Channel::default());
    legacy::open(link, &ch).await?;
    Ok(Mode::Legacy(ch))
}

/// Carries one client message; a request that cannot be carried gets an error.
async fn carry(link: &Arc<Link>, mode: &Mode, line: &[u8], msgs: &[Msg], ids: &[String]) {
    let result = match mode {
        Mode::Legacy(ch) => legacy::post(link, ch, line, ids).await,
        Mode::Streamable => carry_streamable(link, line, msgs, ids).await,
    };
    match result {
        Ok(()) => link.settle(ids),
        Err(f) => link.fail(ids, &f.0).await,
    }
}

/// A message the server refused (404) because it forgot the session was
/// never processed: the kept `initialize` is replayed and the message is
/// sent once more, in the new session. Messages that meet a session being
/// started wait for it.
async fn carry_streamable(
    link: &Arc<Link>,
    line: &[u8],
    msgs: &[Msg],
    ids: &[String],
) -> Result<(), Failure> {
    for attempt in 0..2 {
        // a new session being started: wait for it, then send in it
        drop(link.renewal.lock().await);
        match streamable::exchange(link, line, msgs, ids).await? {
            Outcome::Done => return Ok(()),
            Outcome::SessionLost(generation) if attempt == 0 => {
                if let Some(g) = streamable::renew(link, generation).await? {
                    let quit = link.quit_signal();
                    link.background(tokio::spawn(streamable::listen(link.clone(), g, quit)));
                }
            }
            Outcome::SessionLost(_) => break,
            Outcome::Refused(status) => {
                return Err(streamable::status_failure(status, &link.ep.origin));
            }
        }
    }
    Err(Failure(format!(
        "{} lost the new session at once",
        link.ep.origin
    )))
}
