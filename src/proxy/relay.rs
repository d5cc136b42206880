//! The three relay tasks and their handle.
//!
//! Owns moving bytes: client stdin → server stdin, server stdout → client
//! stdout, server stderr → our stderr. Each relay reads into a
//! [`LineReader`], hands every whole line to the [`Guard`] and writes what it
//! says; server messages may instead arrive as whole lines in memory
//! ([`ServerOut::Lines`], the remote bridge), split at their newlines alike.
//! Output is queued and written when the reader would block (so a burst of
//! small messages costs one write, and a lone message is flushed at once);
//! lines of 16 KiB or more are written straight from the read buffer. Reads
//! stop while a write waits, so a slow reader slows the writer (backpressure)
//! and memory stays bounded by the longest line.
//!
//! It must not touch processes or signals: the caller spawns the child, decides
//! when to stop it and waits for it, using [`RelayHandle`]. Client stdout is
//! shared between the server relay and the proxy's own replies (denials) behind
//! an async mutex; each write is whole lines, so they never interleave.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use super::framing::{LineReader, find_newline};
use super::guard::{Guard, Scratch, Verdict};

type BoxWrite = Box<dyn AsyncWrite + Unpin + Send>;

/// Lines at least this long bypass the output queue.
const DIRECT: usize = 16 * 1024;
/// The output queue is written once it holds this much.
const QUEUE_MAX: usize = 64 * 1024;
/// Initial read buffer.
const READ_BUF: usize = 64 * 1024;
/// Scratch buffers bigger than this are released after use.
const SCRATCH_KEEP: usize = 2 * 1024 * 1024 + 64 * 1024;

/// One output stream. After a write error it discards (the peer is gone), so
/// the reading side keeps draining and pairing.
struct Out {
    w: BoxWrite,
    broken: bool,
}

impl Out {
    fn new(w: BoxWrite) -> Self {
        Self { w, broken: false }
    }

    async fn write(&mut self, data: &[u8]) {
        if self.broken || data.is_empty() {
            return;
        }
        if self.w.write_all(data).await.is_err() {
            self.broken = true;
        }
    }

    async fn flush(&mut self) {
        if !self.broken && self.w.flush().await.is_err() {
            self.broken = true;
        }
    }
}

enum Dest {
    Own(Out),
    Shared(Arc<Mutex<Out>>),
}

/// A relay's output: a queue in front of its stream, and (client → server
/// only) the shared client stream for the proxy's replies.
struct Sink {
    dest: Dest,
    queue: Vec<u8>,
    replies: Option<Arc<Mutex<Out>>>,
}

impl Sink {
    fn new(dest: Dest) -> Self {
        Self {
            dest,
            queue: Vec::with_capacity(QUEUE_MAX),
            replies: None,
        }
    }

    async fn write_queue_then(&mut self, extra: &[u8], flush: bool) {
        match &mut self.dest {
            Dest::Own(out) => {
                out.write(&self.queue).await;
                out.write(extra).await;
                if flush {
                    out.flush().await;
                }
            }
            Dest::Shared(m) => {
                if self.queue.is_empty() && extra.is_empty() && !flush {
                    return;
                }
                let mut out = m.lock().await;
                out.write(&self.queue).await;
                out.write(extra).await;
                if flush {
                    out.flush().await;
                }
            }
        }
        self.queue.clear();
    }

    async fn emit(&mut self, line: &[u8]) {
        if line.len() >= DIRECT {
            self.write_queue_then(line, false).await;
        } else {
            self.queue.extend_from_slice(line);
            if self.queue.len() >= QUEUE_MAX {
                self.write_queue_then(&[], false).await;
            }
        }
    }

    async fn flush(&mut self) {
        self.write_queue_then(&[], true).await;
    }

    async fn reply(&mut self, data: &[u8]) {
        if let Some(r) = &self.replies {
            let mut out = r.lock().await;
            out.write(data).await;
            out.flush().await;
        }
    }

    async fn shutdown(&mut self) {
        self.flush().await;
        if let Dest::Own(out) = &mut self.dest {
            let _ = out.w.shutdown().await;
            out.broken = true;
        }
    }
}

#[derive(Clone, Copy)]
enum Dir {
    ClientToServer,
    ServerToClient,
    Stderr,
}

/// Reads without waiting: `None` if the reader has nothing ready.
async fn read_now<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut [u8]) -> Option<io::Result<usize>> {
    std::future::poll_fn(|cx| {
        let mut rb = ReadBuf::new(&mut *buf);
        match Pin::new(&mut *rd).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(rb.filled().len()))),
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Pending => Poll::Ready(None),
        }
    })
    .await
}

/// Hands one whole line to the guard and writes what it says.
async fn carry(guard: &Guard, line: &[u8], sink: &mut Sink, dir: Dir, s: &mut Scratch) {
    let verdict = match dir {
        Dir::ClientToServer => guard.client_line(line, s),
        Dir::ServerToClient => guard.server_line(line, s),
        Dir::Stderr => guard.stderr_line(line, s),
    };
    if !s.reply.is_empty() {
        sink.reply(&s.reply).await;
        s.reply.clear();
    }
    match verdict {
        Verdict::Original => sink.emit(line).await,
        Verdict::Rewritten => sink.emit(&s.out).await,
        Verdict::Drop => {}
    }
    s.release_if_larger_than(SCRATCH_KEEP);
}

async fn pump<R: AsyncRead + Unpin>(guard: &Guard, mut rd: R, sink: &mut Sink, dir: Dir) {
    let mut lr = LineReader::new(READ_BUF);
    let mut s = Scratch::default();
    loop {
        while let Some(r) = lr.next_line() {
            carry(guard, &lr.bytes()[r], sink, dir, &mut s).await;
        }
        if lr.is_eof() {
            break;
        }
        let got = read_now(&mut rd, lr.spare()).await;
        let got = match got {
            Some(r) => r,
            None => {
                // nothing more buffered upstream: deliver what we have, then wait
                sink.flush().await;
                if !matches!(dir, Dir::Stderr) {
                    guard.flush_audit();
                }
                rd.read(lr.spare()).await
            }
        };
        match got {
            Ok(0) => lr.set_eof(),
            Ok(n) => lr.commit(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => lr.set_eof(),
        }
    }
    sink.flush().await;
}

/// The server's messages as whole lines in memory: each buffer is split at
/// its newlines (as [`LineReader`] would split a stream) and carried without
/// another copy. Ends when every sender is gone.
async fn pump_lines(guard: &Guard, mut rx: mpsc::Receiver<Vec<u8>>, sink: &mut Sink) {
    let mut s = Scratch::default();
    loop {
        let buf = match rx.try_recv() {
            Ok(buf) => buf,
            Err(TryRecvError::Empty) => {
                // nothing more queued: deliver what we have, then wait
                sink.flush().await;
                guard.flush_audit();
                match rx.recv().await {
                    Some(buf) => buf,
                    None => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        let mut rest = &buf[..];
        while !rest.is_empty() {
            let end = find_newline(rest).map_or(rest.len(), |i| i + 1);
            carry(guard, &rest[..end], sink, Dir::ServerToClient, &mut s).await;
            rest = &rest[end..];
        }
    }
    sink.flush().await;
}

/// Where the server's messages come from.
pub enum ServerOut {
    /// A byte stream (a child's stdout), split into lines here.
    Stream(Box<dyn AsyncRead + Unpin + Send>),
    /// Lines handed over in memory (the remote bridge): a megabyte answer is
    /// not copied into a pipe and read back.
    Lines(mpsc::Receiver<Vec<u8>>),
}

impl ServerOut {
    pub fn stream(r: impl AsyncRead + Unpin + Send + 'static) -> Self {
        ServerOut::Stream(Box::new(r))
    }
}

/// Controls the running relays. Dropping it leaves the tasks running.
#[derive(Debug)]
pub struct RelayHandle {
    eof: watch::Receiver<bool>,
    client_to_server: JoinHandle<()>,
    server_to_client: JoinHandle<()>,
    stderr: JoinHandle<()>,
    guard: Arc<Guard>,
}

/// Starts the three relays as tokio tasks on the current runtime (any flavour).
///
/// `client_in`/`client_out` are the proxy's own stdin/stdout, `server_in`,
/// `server_out` and `server_err` the child's pipes, `err_out` the proxy's
/// stderr. The tasks end by themselves at end of input: the client relay
/// closes `server_in` when `client_in` ends (see [`RelayHandle::client_eof`]).
pub fn start(
    guard: Arc<Guard>,
    client_in: impl AsyncRead + Unpin + Send + 'static,
    client_out: impl AsyncWrite + Unpin + Send + 'static,
    server_in: impl AsyncWrite + Unpin + Send + 'static,
    server_out: ServerOut,
    server_err: impl AsyncRead + Unpin + Send + 'static,
    err_out: impl AsyncWrite + Unpin + Send + 'static,
) -> RelayHandle {
    let client_out = Arc::new(Mutex::new(Out::new(Box::new(client_out))));
    let (eof_tx, eof_rx) = watch::channel(false);

    let g = guard.clone();
    let replies = client_out.clone();
    let client_to_server = tokio::spawn(async move {
        let mut sink = Sink::new(Dest::Own(Out::new(Box::new(server_in))));
        sink.replies = Some(replies);
        pump(&g, client_in, &mut sink, Dir::ClientToServer).await;
        sink.shutdown().await;
        drop(sink);
        g.flush_audit();
        let _ = eof_tx.send(true);
    });

    let g = guard.clone();
    let server_to_client = tokio::spawn(async move {
        let mut sink = Sink::new(Dest::Shared(client_out));
        match server_out {
            ServerOut::Stream(rd) => pump(&g, rd, &mut sink, Dir::ServerToClient).await,
            ServerOut::Lines(rx) => pump_lines(&g, rx, &mut sink).await,
        }
        g.flush_audit();
    });

    let g = guard.clone();
    let stderr = tokio::spawn(async move {
        let mut sink = Sink::new(Dest::Own(Out::new(Box::new(err_out))));
        pump(&g, server_err, &mut sink, Dir::Stderr).await;
    });

    RelayHandle {
        eof: eof_rx,
        client_to_server,
        server_to_client,
        stderr,
        guard,
    }
}

impl RelayHandle {
    /// Resolves once the client closed our stdin and the proxy has forwarded
    /// everything before it and closed the server's stdin (also if that relay
    /// died). Cancel-safe; resolves at once when called again.
    pub async fn client_eof(&mut self) {
        let _ = self.eof.wait_for(|done| *done).await;
    }

    /// Waits, at most `grace`, until server stdout and stderr reached end of
    /// stream and everything was written to the client and to `err_out`; then
    /// abandons what is left, stops the client relay, records requests still
    /// waiting as `unanswered` and waits until the audit log holds every record.
    ///
    /// A relay blocked reading a blocking stream (tokio's `Stdin` reads on a
    /// blocking thread) cannot be interrupted: shut the runtime down with
    /// `shutdown_timeout`/`shutdown_background` or exit the process afterwards.
    pub async fn finish(self, grace: Duration) {
        let RelayHandle {
            client_to_server,
            mut server_to_client,
            mut stderr,
            guard,
            ..
        } = self;
        let outputs = async {
            let _ = (&mut server_to_client).await;
            let _ = (&mut stderr).await;
        };
        if tokio::time::timeout(grace, outputs).await.is_err() {
            server_to_client.abort();
            stderr.abort();
        }
        client_to_server.abort();
        guard.finish_pending();
        guard.sync_audit();
    }
}
