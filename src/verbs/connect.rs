//! `connect`: a stdio MCP server for the client that speaks MCP over HTTP
//! to a remote server, its URL and headers filled from secret references,
//! with the guard of `run` between the client and the remote traffic.
//!
//! Owns the order of work: the command line becomes one [`ConnectPlan`];
//! every reference resolves (concurrently, all or nothing) before anything
//! is sent; the endpoint is filled and checked; then the guard's relay sits
//! between our stdio and the bridge's lines, exactly where it sits on a
//! child's pipes in `run`. Prints nothing on stdout itself; diagnostics of
//! the bridge pass the guard's redaction on their way to stderr.

use std::sync::Arc;
use std::time::Duration;

use super::{Error, block_on, data_paths, parse_duration};
use crate::backend::lease::{Keeper, Report};
use crate::backend::{Registry, Settings};
use crate::cli::{ConnectArgs, TransportArg};
use crate::govern::assign::requests;
use crate::launch::guard::{self as guard_launch, AuditPlan, GuardPlan};
use crate::paths::Paths;
use crate::proxy::{self, Guard, GuardConfig};
use crate::reference::Scheme;
use crate::remote::{self, HeaderTemplate, Http, Limits, Options, Transport};
use crate::resolve::{Request, Resolved, resolve};

/// The largest message (a JSON body or one SSE event) the bridge carries.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// How long the guard may take to pass on what the bridge wrote last.
const DRAIN: Duration = Duration::from_secs(2);

/// Everything one `connect` does, decided before anything is fetched.
pub struct ConnectPlan {
    /// The URL as given (`%{NAME}` not yet filled).
    pub url: String,
    pub headers: Vec<HeaderTemplate>,
    pub requests: Vec<Request>,
    /// Per reference.
    pub timeout: Duration,
    pub limits: Limits,
    pub options: Options,
    pub guard: GuardPlan,
    pub paths: Paths,
}

pub fn run(args: ConnectArgs) -> Result<i32, Error> {
    execute(plan(args)?)
}

fn positive(flag: &str, text: &str) -> Result<Duration, Error> {
    let d = parse_duration(flag, text)?;
    if d.is_zero() {
        return Err(Error::Usage(format!("{flag} must be greater than zero")));
    }
    Ok(d)
}

/// The label of the audit log: `--name`, else the URL's host (no placeholder).
fn label(args: &ConnectArgs) -> String {
    if let Some(n) = &args.name {
        return n.clone();
    }
    let after = args
        .url
        .split_once("://")
        .map_or(args.url.as_str(), |(_, r)| r);
    let authority = after.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("remote").to_string()
}

/// The command line as a plan.
pub fn plan(args: ConnectArgs) -> Result<ConnectPlan, Error> {
    if args.url.starts_with('@') {
        return Err(Error::Usage(
            "connect takes a URL (profiles are started with run @NAME or connect @NAME once defined with a url)"
                .into(),
        ));
    }
    let headers = args
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| remote::parse_header(i + 1, h))
        .collect::<Result<Vec<_>, _>>()?;
    let requests = requests(&args.assignments, Scheme::Local)?;
    let names: Vec<&str> = requests.iter().map(|r| r.var.as_str()).collect();
    remote::endpoint::precheck(&args.url, &headers, &names)?;
    let paths = data_paths()?;
    let audit_path = args
        .audit_log
        .clone()
        .unwrap_or_else(|| proxy::audit::default_path(paths.data_dir()));
    Ok(ConnectPlan {
        headers,
        requests,
        timeout: positive("--timeout", &args.timeout)?,
        limits: Limits {
            connect: positive("--connect-timeout", &args.connect_timeout)?,
            read: positive("--read-timeout", &args.read_timeout)?,
            max_message: MAX_MESSAGE,
        },
        options: Options {
            transport: match args.transport {
                TransportArg::Auto => Transport::Auto,
                TransportArg::Http => Transport::Http,
                TransportArg::Sse => Transport::Sse,
            },
            grace: parse_duration("--stdin-grace", &args.stdin_grace)?,
        },
        guard: GuardPlan {
            label: label(&args),
            redact: true,
            audit: (!args.no_audit).then_some(AuditPlan {
                path: audit_path,
                arguments: args.audit_arguments,
            }),
            allow_tools: (!args.allow_tool.is_empty()).then(|| args.allow_tool.clone()),
            deny_tools: args.deny_tool.clone(),
        },
        paths,
        url: args.url,
    })
}

/// Resolves every reference, then bridges; leases are released at the end.
pub fn execute(plan: ConnectPlan) -> Result<i32, Error> {
    let registry = Registry::new(Settings {
        paths: plan.paths.clone(),
        aws_region: None,
        aws_profile: None,
        timeout: plan.timeout,
        cloud: Default::default(),
    });
    block_on(async move {
        let resolved = if plan.requests.is_empty() {
            Ok(Vec::new())
        } else {
            resolve(&registry, &plan.requests, plan.timeout).await
        };
        let report: Report = Arc::new(|line| eprintln!("mcp-warden: {line}"));
        let keeper = Keeper::start(registry.held(), plan.timeout, report);
        let outcome = match resolved {
            Ok(r) => bridge(plan, r).await,
            Err(e) => Err(e.into()),
        };
        keeper.release().await;
        outcome
    })?
}

/// The guard `run` would put on a child, built for this connection (always
/// present: the bridge's lines always pass it).
fn build_guard(plan: &GuardPlan, resolved: &[Resolved]) -> Result<Arc<Guard>, Error> {
    match guard_launch::build(plan, resolved)? {
        Some(g) => Ok(g),
        None => Guard::new(GuardConfig::default())
            .map(Arc::new)
            .map_err(|e| Error::Internal(e.to_string())),
    }
}

/// Fills the endpoint, starts the guard's relay on our stdio and the bridge
/// behind it, and waits until the client is gone or a signal stops us.
async fn bridge(plan: ConnectPlan, resolved: Vec<Resolved>) -> Result<i32, Error> {
    let ep = remote::fill(&plan.url, &plan.headers, &resolved)?;
    let http = Http::new(plan.limits)?;
    let guard = build_guard(&plan.guard, &resolved)?;
    drop(resolved);
    for w in guard.warnings() {
        eprintln!("mcp-warden: warning: {w}");
    }
    guard.audit_start(&ep.origin, std::process::id());
    // The bridge's stdin, stdout and stderr, as the relay sees a child's pipes.
    let (to_bridge, bridge_in) = tokio::io::duplex(256 * 1024);
    let (bridge_out, from_bridge) = tokio::io::duplex(256 * 1024);
    let (bridge_err, from_bridge_err) = tokio::io::duplex(16 * 1024);
    let (client_in, client_out) = guard_launch::client_stdio();
    let relay = proxy::start(
        guard.clone(),
        client_in,
        client_out,
        to_bridge,
        from_bridge,
        from_bridge_err,
        tokio::io::stderr(),
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        match first_signal().await {
            Some(sig) => {
                let _ = stop_tx.send(true);
                Some(sig)
            }
            // signals cannot be watched: only the client's EOF ends the bridge
            None => std::future::pending().await,
        }
    });
    remote::serve(
        http,
        ep,
        plan.options,
        bridge_in,
        bridge_out,
        bridge_err,
        stop_rx,
    )
    .await;
    relay.finish(DRAIN).await;
    let signal = if signals.is_finished() {
        signals.await.ok().flatten()
    } else {
        signals.abort();
        None
    };
    guard.audit_exit(signal.is_none().then_some(0), signal);
    Ok(signal.map_or(0, |s| 128 + s))
}

/// The number of the first SIGINT, SIGTERM or SIGHUP (`None` if they cannot be watched).
async fn first_signal() -> Option<i32> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut int, mut term, mut hup) = (
        signal(SignalKind::interrupt()).ok()?,
        signal(SignalKind::terminate()).ok()?,
        signal(SignalKind::hangup()).ok()?,
    );
    Some(tokio::select! {
        _ = int.recv() => rustix::process::Signal::INT.as_raw(),
        _ = term.recv() => rustix::process::Signal::TERM.as_raw(),
        _ = hup.recv() => rustix::process::Signal::HUP.as_raw(),
    })
}
