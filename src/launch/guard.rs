//! Composes the stdio proxy with the supervise launcher.
//!
//! Owns deciding whether a proxy sits between client and server, building it
//! from `run`'s guard options, and adapting it to launch's [`StdioRelay`]. The
//! proxy and launch know nothing of each other; this is where they meet.

use std::ffi::OsString;
use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

use super::Error;
use crate::cli::GuardArgs;
use crate::exit::ExitStatus;
use crate::launch::supervise::{Piped, RelayFactory, StdioRelay};
use crate::paths::Paths;
use crate::proxy::{self, AuditConfig, Guard, GuardConfig, RelayHandle};
use crate::resolve::Resolved;

struct ProxyRelay(RelayHandle);

impl StdioRelay for ProxyRelay {
    fn client_eof(&mut self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(self.0.client_eof())
    }

    fn finish(self: Box<Self>, drain: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(self.0.finish(drain))
    }
}

/// The server label: `--name`, else the command's basename.
fn label(args: &GuardArgs, command: &[OsString]) -> String {
    args.name.clone().unwrap_or_else(|| {
        command
            .first()
            .map(|c| {
                Path::new(c)
                    .file_name()
                    .unwrap_or(c)
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default()
    })
}

/// Builds the guard, or `None` when nothing needs to sit on the child's stdio
/// (no redaction, no audit, no policy): then the child inherits ours.
pub fn build(
    args: &GuardArgs,
    command: &[OsString],
    resolved: &[Resolved],
    paths: &Paths,
) -> Result<Option<Arc<Guard>>, Error> {
    let redact = !args.no_redact && !resolved.is_empty();
    let policy = !args.allow_tool.is_empty() || !args.deny_tool.is_empty();
    if !redact && args.no_audit && !policy {
        return Ok(None);
    }
    let audit = (!args.no_audit).then(|| {
        let path = args
            .audit_log
            .clone()
            .unwrap_or_else(|| proxy::audit::default_path(paths.data_dir()));
        let mut cfg = AuditConfig::new(path, label(args, command));
        cfg.record_arguments = args.audit_arguments;
        cfg
    });
    let guard = Guard::new(GuardConfig {
        secrets: resolved
            .iter()
            .map(|r| (r.var.clone(), r.value.clone()))
            .collect(),
        redact: !args.no_redact,
        allow_tools: args.allow_tool.clone(),
        deny_tools: args.deny_tool.clone(),
        audit,
    })
    .map_err(|e| match e.exit_code() {
        crate::exit::Code::Usage => Error::Usage(e.to_string()),
        _ => Error::Io(e.to_string()),
    })?;
    for w in guard.warnings() {
        eprintln!("mcp-warden: warning: {w}");
    }
    Ok(Some(Arc::new(guard)))
}

type ClientIn = Box<dyn AsyncRead + Unpin + Send>;
type ClientOut = Box<dyn AsyncWrite + Unpin + Send>;

/// Our stdin and stdout for the relay. Pipes (as most MCP clients connect
/// them) and sockets (Node-based clients use socket pairs) are driven by the
/// event loop directly; anything else (a terminal, a file) goes through
/// tokio's blocking-thread wrappers.
fn client_stdio() -> (ClientIn, ClientOut) {
    let stdin = std::io::stdin();
    let input: ClientIn = match event_loop_stream(stdin.as_fd()) {
        Some(Stream::Pipe(fd)) => match pipe::Receiver::from_owned_fd(fd) {
            Ok(r) => Box::new(r),
            Err(_) => Box::new(tokio::io::stdin()),
        },
        Some(Stream::Socket(s)) => Box::new(s),
        None => Box::new(tokio::io::stdin()),
    };
    let stdout = std::io::stdout();
    let output: ClientOut = match event_loop_stream(stdout.as_fd()) {
        Some(Stream::Pipe(fd)) => match pipe::Sender::from_owned_fd(fd) {
            Ok(w) => Box::new(w),
            Err(_) => Box::new(tokio::io::stdout()),
        },
        Some(Stream::Socket(s)) => Box::new(s),
        None => Box::new(tokio::io::stdout()),
    };
    (input, output)
}

enum Stream {
    Pipe(OwnedFd),
    Socket(tokio::net::UnixStream),
}

/// A duplicate of `fd` the event loop can drive, if it is a pipe or a socket.
fn event_loop_stream(fd: BorrowedFd<'_>) -> Option<Stream> {
    let kind = rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(fd).ok()?.st_mode);
    let dup = fd.try_clone_to_owned().ok()?;
    match kind {
        rustix::fs::FileType::Fifo => Some(Stream::Pipe(dup)),
        rustix::fs::FileType::Socket => {
            let std = std::os::unix::net::UnixStream::from(dup);
            std.set_nonblocking(true).ok()?;
            tokio::net::UnixStream::from_std(std)
                .ok()
                .map(Stream::Socket)
        }
        _ => None,
    }
}

/// The relay factory launch calls once the child's pipes exist.
pub fn relay(guard: Arc<Guard>, argv0: String) -> RelayFactory {
    Box::new(move |p: Piped| {
        guard.audit_start(&argv0, p.pid);
        let (client_in, client_out) = client_stdio();
        let handle = proxy::start(
            guard,
            client_in,
            client_out,
            p.stdin,
            p.stdout,
            p.stderr,
            tokio::io::stderr(),
        );
        Box::new(ProxyRelay(handle)) as Box<dyn StdioRelay>
    })
}
