//! Secretless mode: the server gets a placeholder; a loopback egress proxy,
//! for that one child, puts the real value only into requests to the hosts
//! the user bound it to.
//!
//! Owns starting and stopping that proxy ([`Egress`]): placeholders
//! ([`placeholder`]), the ephemeral CA and leaf certificates ([`ca`]), the
//! CA bundle file the child trusts ([`bundle`]), the swap in both directions
//! ([`swap`]), routing ([`plan`]), the listener, interception, forwarding and
//! tunnels, and the variables that point the child at all of it. Reports go
//! to a [`Recorder`] (launch plugs the audit log in). Must not resolve
//! references, start the child or write the audit file.

pub mod body;
pub mod bundle;
pub mod ca;
mod forward;
pub mod host;
mod intercept;
mod listener;
pub mod placeholder;
pub mod plan;
pub mod record;
pub mod swap;
mod tunnel;
mod upstream;
#[cfg(target_os = "linux")]
mod watch;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};

pub use plan::{EgressPlan, Mode, Route, Secretless};
pub use record::{Discard, Exchange, Outcome, Recorder};

use crate::resolve::Resolved;
use crate::secret::SecretValue;
use ca::Authority;
use record::Said;
use swap::{Binding, SwapCell, Swapper};
use upstream::{Body, BoxError, Upstream};

/// What every proxy task shares.
pub(crate) struct Ctx {
    plan: EgressPlan,
    swap: Arc<SwapCell>,
    authority: Authority,
    upstream: Upstream,
    recorder: Arc<dyn Recorder>,
    said: Said,
}

impl Ctx {
    /// The substitutions as they are now (a refresh replaces them whole).
    fn swapper(&self) -> Arc<Swapper> {
        self.swap.current()
    }

    /// The names of secretless variables `indices`.
    fn names(&self, indices: &[usize]) -> Vec<&str> {
        indices
            .iter()
            .filter_map(|i| self.plan.secretless.get(*i))
            .map(|s| s.var.as_str())
            .collect()
    }

    /// Where the values of `indices` may go, for messages.
    fn hosts_of(&self, indices: &[usize]) -> String {
        let mut hosts: Vec<String> = indices
            .iter()
            .filter_map(|i| self.plan.secretless.get(*i))
            .flat_map(|s| s.hosts.iter().map(ToString::to_string))
            .collect();
        hosts.dedup();
        hosts.join(", ")
    }
}

fn empty() -> Body {
    Empty::<Bytes>::new()
        .map_err(|never| -> BoxError { match never {} })
        .boxed()
}

/// Why secretless mode could not start. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    #[error("--secretless {var}: {source}")]
    Placeholder {
        var: String,
        source: placeholder::PlaceholderError,
    },
    #[error("--secretless {0}: {0} is not injected; give {0}=REF as well")]
    NotInjected(String),
    #[error("secretless mode: {0}")]
    Swap(String),
    #[error("secretless mode: cannot make the interception CA: {0}")]
    Ca(String),
    #[error("secretless mode: cannot write the CA bundle: {0}")]
    Bundle(String),
    #[error("secretless mode: {0}")]
    Roots(String),
    #[error("secretless mode: cannot listen on 127.0.0.1: {0}")]
    Listen(std::io::Error),
}

impl crate::exit::ExitStatus for EgressError {
    fn exit_code(&self) -> crate::exit::Code {
        use crate::exit::Code;
        match self {
            EgressError::Placeholder { .. } | EgressError::NotInjected(_) => Code::Usage,
            EgressError::Roots(_) => Code::Config,
            EgressError::Ca(_) | EgressError::Swap(_) => Code::Software,
            EgressError::Bundle(_) | EgressError::Listen(_) => Code::IoErr,
        }
    }
}

/// The running proxy. Dropping it stops the listener and removes the bundle.
pub struct Egress {
    addr: SocketAddr,
    /// What [`Egress::refresh`] replaces.
    swap: Arc<SwapCell>,
    bundle: bundle::Bundle,
    task: tokio::task::JoinHandle<()>,
    /// The scan for connections around the proxy (Linux).
    watcher: Option<tokio::task::JoinHandle<()>>,
}

/// What [`start`] gives the launcher.
pub struct Started {
    pub egress: Egress,
    /// The child's values: secretless variables hold their placeholders.
    pub child_values: Vec<Resolved>,
}

/// Starts the proxy for `plan`: `resolved` are every injected value; the
/// secretless ones are kept here and replaced by placeholders in
/// [`Started::child_values`]. Needs a Tokio runtime.
pub async fn start(
    plan: EgressPlan,
    resolved: Vec<Resolved>,
    recorder: Arc<dyn Recorder>,
    bundle_parent: &Path,
) -> Result<Started, EgressError> {
    let (bindings, child_values) = placeholders(&plan, resolved)?;
    let authority =
        Authority::new(&plan.intercepted_hosts()).map_err(|e| EgressError::Ca(e.to_string()))?;
    let roots = bundle::system_roots();
    let upstream = Upstream::new(&roots).map_err(EgressError::Roots)?;
    bundle::Bundle::sweep_stale(bundle_parent);
    let bundle = bundle::Bundle::write(bundle_parent, &roots, &authority.cert_pem())
        .map_err(|e| EgressError::Bundle(e.to_string()))?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(EgressError::Listen)?;
    let addr = listener.local_addr().map_err(EgressError::Listen)?;
    tracing::info!(
        "secretless: egress proxy on {addr} ({} mode), CA bundle {}",
        plan.mode.as_str(),
        bundle.path().display()
    );
    let swap = Arc::new(SwapCell::new(
        Swapper::new(bindings).map_err(|e| EgressError::Swap(e.to_string()))?,
    ));
    let ctx = Arc::new(Ctx {
        plan,
        swap: swap.clone(),
        authority,
        upstream,
        recorder,
        said: Said::default(),
    });
    #[cfg(target_os = "linux")]
    let watcher = Some(tokio::spawn(watch::watch(ctx.clone(), addr)));
    #[cfg(not(target_os = "linux"))]
    let watcher = None;
    let task = tokio::spawn(listener::serve(ctx, listener));
    Ok(Started {
        egress: Egress {
            addr,
            swap,
            bundle,
            task,
            watcher,
        },
        child_values,
    })
}

/// Pairs each secretless variable's real value with a new placeholder.
fn placeholders(
    plan: &EgressPlan,
    resolved: Vec<Resolved>,
) -> Result<(Vec<Binding>, Vec<Resolved>), EgressError> {
    let mut bindings: Vec<Binding> = Vec::new();
    for s in &plan.secretless {
        let real = resolved
            .iter()
            .find(|r| r.var == s.var)
            .ok_or_else(|| EgressError::NotInjected(s.var.clone()))?;
        let taken: Vec<&[u8]> = resolved
            .iter()
            .map(|r| r.value.expose())
            .chain(bindings.iter().map(|b| b.placeholder.expose()))
            .collect();
        let placeholder = placeholder::make(real.value.expose(), &taken).map_err(|source| {
            EgressError::Placeholder {
                var: s.var.clone(),
                source,
            }
        })?;
        bindings.push(Binding {
            var: s.var.clone(),
            placeholder,
            real: real.value.clone(),
        });
    }
    let child_values = resolved
        .into_iter()
        .map(|r| match bindings.iter().find(|b| b.var == r.var) {
            Some(b) => Resolved {
                var: r.var,
                value: b.placeholder.clone(),
            },
            None => r,
        })
        .collect();
    Ok((bindings, child_values))
}

/// Variables that send the child's HTTP(S) through the proxy.
const PROXY_VARS: [&str; 6] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// Variables that make the child trust the bundle (OpenSSL and Go,
/// Python requests/httpx/pip/httplib2, curl, Node, git, Deno, gRPC, Nix).
const CA_VARS: [&str; 10] = [
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "GIT_SSL_CAINFO",
    "DENO_CERT",
    "PIP_CERT",
    "HTTPLIB2_CA_CERTS",
    "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
    "NIX_SSL_CERT_FILE",
];

impl Egress {
    /// From now on requests carry `value` for secretless variable `var` (a
    /// credential minted anew); the value it replaces stays masked in
    /// answers. It must be as long as the placeholder the child holds.
    pub fn refresh(&self, var: &str, value: &SecretValue) -> Result<(), EgressError> {
        self.swap.refresh(var, value).map_err(|e| match e {
            swap::SwapError::LengthMismatch { .. } => EgressError::Swap(format!(
                "the new value for {var} is not as long as the placeholder the server holds \
                 ({} bytes); it cannot be swapped in",
                value.len()
            )),
            other => EgressError::Swap(other.to_string()),
        })
    }

    /// The variables the child needs (they win over inherited ones).
    pub fn child_env(&self) -> Vec<(OsString, OsString)> {
        let url = OsString::from(format!("http://{}", self.addr));
        let bundle = self.bundle.path().as_os_str().to_os_string();
        let mut env: Vec<(OsString, OsString)> = PROXY_VARS
            .iter()
            .map(|v| (OsString::from(v), url.clone()))
            .chain(CA_VARS.iter().map(|v| (OsString::from(v), bundle.clone())))
            .collect();
        // Nothing bypasses the proxy; recent Node (24, late 22) honours the proxy
        // variables in fetch and http(s) only when told to.
        env.push(("NO_PROXY".into(), "".into()));
        env.push(("no_proxy".into(), "".into()));
        env.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
        env
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn bundle_path(&self) -> &Path {
        self.bundle.path()
    }
}

/// Stops the listener; the bundle (a field) is removed right after.
impl Drop for Egress {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(w) = &self.watcher {
            w.abort();
        }
    }
}
