//! What `connect` and `run @NAME` of a remote profile share: the
//! [`ConnectPlan`], a remote profile turned into one, and running it (not a
//! command of its own: verbs never call verbs).
//!
//! Owns the order of work once planned: every reference resolves
//! (concurrently, all or nothing) before anything is sent; the endpoint is
//! filled and checked; then the guard's relay sits between our stdio and the
//! bridge's lines, exactly where it sits on a child's pipes in `run`. Prints
//! nothing on stdout itself; diagnostics of the bridge pass the guard's
//! redaction on their way to stderr.

use std::sync::Arc;
use std::time::Duration;

use super::{Error, block_on};
use crate::backend::Registry;
use crate::backend::lease::{Keeper, Report};
use crate::govern::assign::pair_requests;
use crate::govern::policy::Policy;
use crate::govern::profile::Profile;
use crate::launch::guard::{self as guard_launch, AuditPlan, GuardPlan};
use crate::oauth::authorizer::{Authorizer, Settings};
use crate::oauth::store::TokenStore;
use crate::paths::Paths;
use crate::proxy::{self, Guard, GuardConfig};
use crate::reference::Scheme;
use crate::reference::SecretRef;
use crate::remote::{self, HeaderTemplate, Http, Limits, Options, Transport};
use crate::resolve::{Request, Resolved, resolve};

/// The largest message (a JSON body or one SSE event) the bridge carries.
pub const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Server messages waiting for the guard (each at most [`MAX_MESSAGE`]):
/// while the client does not read, the bridge stops reading the server.
const BRIDGE_QUEUE: usize = 64;
/// How long the guard may take to pass on what the bridge wrote last.
const DRAIN: Duration = Duration::from_secs(2);

/// Everything one bridge does, decided before anything is fetched.
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
    /// OAuth on a 401 (None: the user sends their own Authorization header).
    pub oauth: Option<OAuthPlan>,
}

/// How `connect`, `login` and `logout` get OAuth credentials, decided from
/// the command line before anything is fetched.
#[derive(Debug, Clone)]
pub struct OAuthPlan {
    /// The URL as the user wrote it (shown in the login hint).
    pub shown: String,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretRef>,
    pub private_key: Option<SecretRef>,
    pub client_metadata_url: Option<String>,
    pub client_credentials: bool,
    pub scopes: Vec<String>,
    pub send_resource: bool,
    pub token_store: Option<String>,
    pub no_browser: bool,
    pub login_timeout: Duration,
    pub eager: bool,
}

/// A `--client-secret` / `--private-key` reference (a value given there is
/// refused without being echoed).
pub(super) fn reference(flag: &str, text: &str) -> Result<SecretRef, Error> {
    SecretRef::parse(text).map_err(|_| {
        Error::Usage(format!(
            "{flag} takes a reference (SCHEME://LOCATION, e.g. local://my-client-secret), never the value itself (what was given is not shown)"
        ))
    })
}

/// Whether the path of the URL template `url` holds `%{NAME}`: filled, it
/// would name the grant (kept in the index, listed, sent as `resource`),
/// so such a server gets no OAuth.
pub fn placeholder_in_path(url: &str) -> bool {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].contains("%{")
}

/// The URL the login hint names: the template without a query that holds
/// `%{NAME}` (`login` fills nothing; grants are kept without the query).
pub fn hint_url(url: &str) -> String {
    match url.split_once('?') {
        Some((base, query)) if query.contains("%{") => base.to_string(),
        _ => url.to_string(),
    }
}

/// The OAuth options as a plan for the server at `shown`.
pub fn oauth_plan(a: &crate::cli::OAuthArgs, shown: &str) -> Result<OAuthPlan, Error> {
    if a.client_credentials && a.client_secret.is_none() && a.private_key.is_none() {
        return Err(Error::Usage(
            "--client-credentials needs --client-secret REF or --private-key REF".into(),
        ));
    }
    if let Some(u) = &a.client_metadata_url {
        let ok = reqwest::Url::parse(u).is_ok_and(|x| x.scheme() == "https" && x.path() != "/");
        if !ok {
            return Err(Error::Usage(
                "--client-metadata-url takes an https URL with a path (the Client ID Metadata Document)".into(),
            ));
        }
    }
    let login_timeout = super::parse_duration("--login-timeout", &a.login_timeout)?;
    if login_timeout.is_zero() {
        return Err(Error::Usage(
            "--login-timeout must be greater than zero".into(),
        ));
    }
    Ok(OAuthPlan {
        shown: hint_url(shown),
        client_id: a.client_id.clone(),
        client_secret: a
            .client_secret
            .as_deref()
            .map(|t| reference("--client-secret", t))
            .transpose()?,
        private_key: a
            .private_key
            .as_deref()
            .map(|t| reference("--private-key", t))
            .transpose()?,
        client_metadata_url: a.client_metadata_url.clone(),
        client_credentials: a.client_credentials,
        scopes: a.scopes.clone(),
        send_resource: !a.no_resource,
        token_store: a.token_store.clone(),
        no_browser: a.no_browser,
        login_timeout,
        eager: a.oauth,
    })
}

/// Whether `a` asks for anything OAuth-specific.
pub fn oauth_asked(a: &crate::cli::OAuthArgs) -> bool {
    a.oauth
        || a.client_id.is_some()
        || a.client_metadata_url.is_some()
        || a.client_credentials
        || !a.scopes.is_empty()
        || a.token_store.is_some()
}

/// Prints an OAuth line on stderr.
pub fn oauth_report() -> crate::oauth::Report {
    Arc::new(|line: &str| eprintln!("mcp-warden: {line}"))
}

/// The authorizer of a plan: its secrets fetched, its store opened.
/// `interactive`: a user can complete an authorization here.
pub async fn authorizer(
    plan: &OAuthPlan,
    server: reqwest::Url,
    http: Http,
    registry: Arc<Registry>,
    paths: &Paths,
    interactive: bool,
) -> Result<Authorizer, Error> {
    let fetch = |r: Option<SecretRef>| {
        let registry = registry.clone();
        async move {
            match r {
                Some(r) => crate::resolve::fetch_one(&registry, &r).await.map(Some),
                None => Ok(None),
            }
        }
    };
    let client_secret = fetch(plan.client_secret.clone()).await?;
    let private_key = fetch(plan.private_key.clone()).await?;
    let store = TokenStore::open(paths, registry.clone(), plan.token_store.as_deref())
        .map_err(|e| store_error(&e))?;
    let open_browser = !plan.no_browser && crate::oauth::browser::available();
    Ok(Authorizer::new(
        http,
        store,
        Settings {
            server,
            shown: plan.shown.clone(),
            client_id: plan.client_id.clone(),
            client_secret,
            client_secret_ref: plan.client_secret.as_ref().map(|r| r.to_string()),
            private_key_ref: plan.private_key.as_ref().map(|r| r.to_string()),
            private_key,
            client_metadata_url: plan.client_metadata_url.clone(),
            client_credentials: plan.client_credentials,
            scopes: plan.scopes.clone(),
            send_resource: plan.send_resource,
            interactive: interactive || open_browser,
            open_browser,
            login_timeout: plan.login_timeout,
            eager: plan.eager,
            report: oauth_report(),
        },
    ))
}

/// A store failure at the edge.
pub fn store_error(e: &crate::oauth::store::StoreError) -> Error {
    use crate::exit::{Code, ExitStatus};
    match e.exit_code() {
        Code::Usage => Error::Usage(e.to_string()),
        Code::IoErr => Error::Io(e.to_string()),
        Code::DataErr => Error::Data(e.to_string()),
        _ => Error::Config(e.to_string()),
    }
}

/// What the command line adds to a remote profile.
pub struct ProfileRun {
    pub label: String,
    pub audit_path: std::path::PathBuf,
    pub audit_arguments: bool,
    pub paths: Paths,
}

/// A remote profile (`url`, `headers`, `env`) and its settled policy as a plan,
/// with the default timeouts and transport.
pub fn from_profile(p: &Profile, policy: Policy, run: ProfileRun) -> Result<ConnectPlan, Error> {
    let url = p.url.clone().unwrap_or_default();
    let headers = p
        .headers
        .iter()
        .enumerate()
        .map(|(i, (k, v))| remote::parse_header(i + 1, &format!("{k}: {v}")))
        .collect::<Result<Vec<_>, _>>()?;
    let requests = pair_requests(
        p.env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        Scheme::Local,
    )?;
    let names: Vec<&str> = requests.iter().map(|r| r.var.as_str()).collect();
    remote::endpoint::precheck(&url, &headers, &names)?;
    if policy.timeout.is_zero() {
        return Err(Error::Usage(
            "the profile's timeout must be greater than zero".into(),
        ));
    }
    Ok(ConnectPlan {
        url: url.clone(),
        headers,
        requests,
        timeout: policy.timeout,
        limits: Limits {
            connect: Duration::from_secs(10),
            read: Duration::from_secs(120),
            max_message: MAX_MESSAGE,
        },
        options: Options {
            transport: Transport::Auto,
            grace: Duration::from_secs(2),
            on_status: None,
            auth: None,
        },
        guard: GuardPlan {
            label: run.label,
            redact: policy.redact,
            audit: policy.audit.then_some(AuditPlan {
                path: run.audit_path,
                arguments: run.audit_arguments || p.audit_arguments,
            }),
            allow_tools: policy.allow_tools,
            deny_tools: policy.deny_tools,
        },
        paths: run.paths,
        oauth: (!p
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            && !placeholder_in_path(&url))
        .then(|| OAuthPlan {
            shown: hint_url(&url),
            client_id: None,
            client_secret: None,
            private_key: None,
            client_metadata_url: None,
            client_credentials: false,
            scopes: Vec::new(),
            send_resource: true,
            token_store: None,
            no_browser: false,
            login_timeout: Duration::from_secs(300),
            eager: false,
        }),
    })
}

/// Resolves every reference, then bridges; leases are released at the end.
pub fn execute(plan: ConnectPlan) -> Result<i32, Error> {
    let registry = Arc::new(Registry::new(crate::backend::Settings {
        paths: plan.paths.clone(),
        aws_region: None,
        aws_profile: None,
        timeout: plan.timeout,
        cloud: Default::default(),
    }));
    block_on(async move {
        let resolved = if plan.requests.is_empty() {
            Ok(Vec::new())
        } else {
            resolve(&*registry, &plan.requests, plan.timeout).await
        };
        let report: Report = Arc::new(|line| eprintln!("mcp-warden: {line}"));
        let keeper = Keeper::start(registry.held(), plan.timeout, report);
        let outcome = match resolved {
            Ok(r) => bridge(plan, r, registry.clone()).await,
            Err(e) => Err(e.into()),
        };
        keeper.release().await;
        outcome
    })?
}

/// The guard `run` would put on a child, built for this connection (always
/// present: the bridge's lines always pass it).
fn build_guard(
    plan: &GuardPlan,
    resolved: &[Resolved],
    credentials: Vec<proxy::Credential>,
) -> Result<Arc<Guard>, Error> {
    match guard_launch::build(plan, resolved, credentials)? {
        Some(g) => Ok(g),
        None => Guard::new(GuardConfig::default())
            .map(Arc::new)
            .map_err(|e| Error::Internal(e.to_string())),
    }
}

/// Fills the endpoint, starts the guard's relay on our stdio and the bridge
/// behind it, and waits until the client is gone or a signal stops us.
async fn bridge(
    plan: ConnectPlan,
    resolved: Vec<Resolved>,
    registry: Arc<Registry>,
) -> Result<i32, Error> {
    let ep = remote::fill(&plan.url, &plan.headers, &resolved)?;
    let http = Http::new(plan.limits)?;
    // Minted credentials in headers or the URL: nothing replaces them in a
    // connection, so a tool call after one expired is answered with an error.
    let held = super::minted::held(registry.minted(), &plan.requests, &|_| false);
    let guard = build_guard(&plan.guard, &resolved, super::minted::credentials(&held))?;
    super::minted::report_start(&held, true, std::time::SystemTime::now());
    drop(resolved);
    let auth = match &plan.oauth {
        Some(o) => {
            let a = authorizer(
                o,
                ep.url.clone(),
                http.clone(),
                registry,
                &plan.paths,
                false,
            )
            .await?;
            let g = guard.clone();
            let a = a.with_learn(Arc::new(move |name, v| g.add_secret(name, v)));
            Some(remote::AuthHook(Arc::new(a)))
        }
        None => None,
    };
    for w in guard.warnings() {
        eprintln!("mcp-warden: warning: {w}");
    }
    guard.audit_start(&ep.origin, std::process::id());
    // The bridge's stdin and stderr, as the relay sees a child's pipes; its
    // messages reach the relay as whole lines in memory (no copy through a pipe).
    let (to_bridge, bridge_in) = tokio::io::duplex(256 * 1024);
    let (bridge_out, from_bridge) = tokio::sync::mpsc::channel::<Vec<u8>>(BRIDGE_QUEUE);
    let (bridge_err, from_bridge_err) = tokio::io::duplex(16 * 1024);
    let (client_in, client_out) = guard_launch::client_stdio();
    let relay = proxy::start(
        guard.clone(),
        client_in,
        client_out,
        to_bridge,
        proxy::ServerOut::Lines(from_bridge),
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
    let mut options = plan.options;
    options.auth = auth;
    let g = guard.clone();
    options.on_status = Some(remote::StatusHook(Arc::new(move |id: &str, status| {
        g.audit_http_status(id.as_bytes(), status)
    })));
    remote::serve(
        http, ep, options, bridge_in, bridge_out, bridge_err, stop_rx,
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
