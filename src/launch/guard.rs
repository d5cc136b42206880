//! The stdio proxy as supervise's relay: where launch and the proxy meet.
//!
//! Owns deciding whether a proxy sits between client and server, building it
//! from a [`GuardPlan`], and adapting it to [`StdioRelay`]. The proxy knows
//! nothing of launch, and supervise knows only [`StdioRelay`]; this adapter
//! depends on both. Must not parse command lines or resolve anything.

use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::unix::pipe;

use super::LaunchError;
use super::supervise::{Piped, RelayFactory, StdioRelay};
use crate::exit::ExitStatus;
use crate::proxy::{self, AuditConfig, Guard, GuardConfig, RelayHandle};
use crate::resolve::Resolved;

/// What the proxy does for one run.
#[derive(Debug, Clone)]
pub struct GuardPlan {
    /// The server's label in the audit log.
    pub label: String,
    /// Redact the injected values from what the server sends.
    pub redact: bool,
    /// The audit log, or `None` for no log.
    pub audit: Option<AuditPlan>,
    /// Only these tools (globs); `None` allows all, an empty list none.
    pub allow_tools: Option<Vec<String>>,
    /// Never these tools (globs); wins over the allow list.
    pub deny_tools: Vec<String>,
}

/// Where the audit log goes and what it records.
#[derive(Debug, Clone)]
pub struct AuditPlan {
    pub path: PathBuf,
    /// Tool-call arguments (redacted), not only their SHA-256.
    pub arguments: bool,
}

struct ProxyRelay(RelayHandle);

impl StdioRelay for ProxyRelay {
    fn client_eof(&mut self) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(self.0.client_eof())
    }

    fn finish(self: Box<Self>, drain: Duration) -> Pin<Box<dyn Future<Output = ()>>> {
        Box::pin(self.0.finish(drain))
    }
}

/// Builds the guard, or `None` when nothing needs to sit on the child's stdio
/// (no redaction, no audit, no policy, no credential that expires
/// unrefreshed): then the child inherits ours.
pub fn build(
    plan: &GuardPlan,
    resolved: &[Resolved],
    credentials: Vec<proxy::Credential>,
) -> Result<Option<Arc<Guard>>, LaunchError> {
    let redact = plan.redact && !resolved.is_empty();
    let policy = plan.allow_tools.is_some() || !plan.deny_tools.is_empty();
    let expires = credentials.iter().any(|c| !c.refreshed);
    if !redact && plan.audit.is_none() && !policy && !expires {
        tracing::info!(
            "proxy: not needed (nothing to redact, audit or police); the server gets our stdio"
        );
        return Ok(None);
    }
    tracing::info!(
        "proxy: starting on the server's stdio: redaction {}, audit log {}, tools allowed {:?}, denied {:?}",
        if redact { "on" } else { "off" },
        plan.audit
            .as_ref()
            .map_or("off".to_string(), |a| a.path.display().to_string()),
        plan.allow_tools.as_deref().unwrap_or(&["*".to_string()]),
        plan.deny_tools
    );
    let audit = plan.audit.as_ref().map(|a| {
        let mut cfg = AuditConfig::new(a.path.clone(), plan.label.clone());
        cfg.record_arguments = a.arguments;
        cfg
    });
    let mut deny_tools = plan.deny_tools.clone();
    let allow_tools = match &plan.allow_tools {
        None => Vec::new(),
        // The proxy reads an empty allow list as "all": deny everything instead.
        Some(v) if v.is_empty() => {
            deny_tools.push("*".into());
            Vec::new()
        }
        Some(v) => v.clone(),
    };
    let guard = Guard::new(GuardConfig {
        secrets: resolved
            .iter()
            .map(|r| (r.var.clone(), r.value.clone()))
            .collect(),
        redact: plan.redact,
        allow_tools,
        deny_tools,
        audit,
        credentials,
    })
    .map_err(|e| match e.exit_code() {
        crate::exit::Code::Usage => LaunchError::GuardUsage(e.to_string()),
        _ => LaunchError::GuardIo(e.to_string()),
    })?;
    Ok(Some(Arc::new(guard)))
}

pub type ClientIn = Box<dyn AsyncRead + Unpin + Send>;
pub type ClientOut = Box<dyn AsyncWrite + Unpin + Send>;

/// Our stdin and stdout for the relay. Pipes (as most MCP clients connect
/// them) and sockets (Node-based clients use socket pairs) are driven by the
/// event loop directly; anything else (a terminal, a file) goes through
/// tokio's blocking-thread wrappers.
pub fn client_stdio() -> (ClientIn, ClientOut) {
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
            proxy::ServerOut::stream(p.stdout),
            p.stderr,
            tokio::io::stderr(),
        );
        Box::new(ProxyRelay(handle)) as Box<dyn StdioRelay>
    })
}

/// The egress proxy's reports, into this run's audit log.
struct AuditRecorder(Arc<Guard>);

impl crate::egress::Recorder for AuditRecorder {
    fn exchange(&self, e: &crate::egress::Exchange<'_>) {
        self.0.audit_egress(proxy::EgressSeen {
            kind: match e.outcome {
                crate::egress::Outcome::Forwarded => "egress",
                crate::egress::Outcome::Blocked => "egress_blocked",
                crate::egress::Outcome::Direct => "egress_direct",
            },
            host: e.host.to_string(),
            port: e.port,
            method: e.method.to_string(),
            path: e.path.to_string(),
            status: e.status,
            request_bytes: e.request_bytes,
            response_bytes: e.response_bytes,
            vars: e.vars.iter().map(|v| v.to_string()).collect(),
            detail: e.detail.map(str::to_string),
            at: std::time::SystemTime::now(),
        });
    }
}

/// Where the egress proxy's reports go: the guard's audit log, else nowhere.
pub fn egress_recorder(guard: Option<&Arc<Guard>>) -> Arc<dyn crate::egress::Recorder> {
    match guard {
        Some(g) => Arc::new(AuditRecorder(g.clone())),
        None => Arc::new(crate::egress::Discard),
    }
}
