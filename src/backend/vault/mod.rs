//! HashiCorp Vault and OpenBao (`vault://`, alias `bao://`, `openbao://`).
//!
//! Owns reading `vault://MOUNT/PATH` references (`?addr=`, `?namespace=`,
//! `?version=`, `?arg.K=V` for dynamic engines that take a write, `?field=` for
//! `secret set`), one token per Vault address (the user's, or one from a login
//! in [`auth`]), fetching references concurrently, and handing the leases and
//! login tokens it obtained to the caller through [`Backend::held`].
//!
//! Must not: apply selectors (the resolver does), renew or revoke on its own
//! schedule (the keeper in [`crate::backend::lease`] does), know about
//! processes or MCP, print anything, or put a token, credential or value into an
//! error. Values go from the HTTP answer into [`SecretValue`]; the answer's
//! buffers are not zeroized (as with every HTTP-based backend).
//!
//! Settings come from the environment ([`config`]): `VAULT_ADDR`, `VAULT_TOKEN`,
//! `VAULT_NAMESPACE`, `VAULT_CACERT`, `VAULT_CAPATH`, `VAULT_CLIENT_CERT`,
//! `VAULT_CLIENT_KEY` (or their `BAO_*` names) and `MCP_WARDEN_VAULT_*` for login.

mod auth;
mod client;
mod config;
mod kv;
mod lease;
mod tls;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::task::JoinSet;

use self::auth::Session;
use self::client::{Client, Fail};
use self::config::Config;
use super::{Backend, BackendError, BoxFuture, ErrorKind, Lease, SecretInfo, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

/// Fetches the references that hold login credentials (a secret id, a JWT, a
/// password) from another backend. Supplied by the registry.
pub trait Credentials: Send + Sync {
    fn fetch<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretValue, BackendError>>;
}

type SessionCell = Arc<OnceCell<Result<Arc<Session>, BackendError>>>;

/// Address, namespace and first path segment: references sharing them usually
/// share a mount, detected once.
type MountKey = (String, Option<String>, String);

pub struct VaultBackend {
    inner: Arc<Inner>,
}

struct Inner {
    config: Result<Config, String>,
    timeout: Duration,
    creds: Arc<dyn Credentials>,
    /// One token per address, obtained once even when many references ask at once.
    sessions: Mutex<HashMap<String, SessionCell>>,
    /// Mounts found so far. Vault refuses a mount inside another, so a location
    /// under a known mount's path belongs to it.
    mounts: Mutex<HashMap<MountKey, Arc<OnceCell<kv::Mount>>>>,
    /// Leases and login tokens obtained and not yet handed over.
    held: Mutex<Vec<Arc<dyn Lease>>>,
}

/// The reference parameters this backend knows (`arg.*` is a family).
const PARAMS: &str = "addr, namespace, version, field (secret set only), arg.NAME";

/// A checked reference.
struct Target<'a> {
    addr: String,
    namespace: Option<String>,
    version: Option<u64>,
    field: Option<String>,
    args: Vec<(String, String)>,
    location: &'a str,
}

impl VaultBackend {
    /// Reads the environment; problems surface on first use, as an error naming the variable.
    pub fn new(timeout: Duration, creds: Arc<dyn Credentials>) -> Self {
        let env = |k: &str| std::env::var(k).ok();
        Self {
            inner: Arc::new(Inner {
                config: Config::from_env(&env),
                timeout,
                creds,
                sessions: Mutex::new(HashMap::new()),
                mounts: Mutex::new(HashMap::new()),
                held: Mutex::new(Vec::new()),
            }),
        }
    }
}

impl Inner {
    fn config(&self) -> Result<&Config, BackendError> {
        self.config
            .as_ref()
            .map_err(|m| BackendError::new(ErrorKind::Config, "vault://", m.clone()))
    }

    fn target<'a>(&self, r: &'a SecretRef) -> Result<Target<'a>, BackendError> {
        let cfg = self.config()?;
        let err = |m: String| BackendError::new(ErrorKind::Config, r, m);
        let mut t = Target {
            addr: String::new(),
            namespace: cfg.namespace.clone(),
            version: None,
            field: None,
            args: Vec::new(),
            location: r.location.trim_matches('/'),
        };
        let mut addr = cfg.addr.clone();
        for (k, v) in &r.params {
            match k.as_str() {
                "addr" => {
                    config::check_addr(v).map_err(|m| err(format!("?addr=: {m}")))?;
                    config::addr_allowed(cfg, v).map_err(|m| err(format!("?addr= {m}")))?;
                    addr = Some(v.clone());
                }
                "namespace" => t.namespace = Some(v.trim_matches('/').to_string()),
                "version" => {
                    t.version = Some(v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                        err("?version= takes a version number (1, 2, ...)".into())
                    })?);
                }
                "field" => t.field = Some(v.clone()),
                _ => match k.strip_prefix("arg.").filter(|a| !a.is_empty()) {
                    Some(a) => t.args.push((a.to_string(), v.clone())),
                    None => {
                        return Err(err(format!(
                            "unknown parameter {k:?} for vault:// (allowed: {PARAMS})"
                        )));
                    }
                },
            }
        }
        t.addr = addr.ok_or_else(|| {
            err(
                "no Vault address: set VAULT_ADDR (or BAO_ADDR), or add ?addr=https://HOST:8200"
                    .into(),
            )
        })?;
        if t.location.is_empty() {
            return Err(err("empty path; write vault://MOUNT/PATH".into()));
        }
        Ok(t)
    }

    /// The token for `addr`, logging in on first use.
    async fn session(&self, addr: &str) -> Result<Arc<Session>, BackendError> {
        let cell = {
            let mut map = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(addr.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let cfg = self.config()?;
            let client = Client::new(addr, &cfg.tls, self.timeout)
                .map_err(|m| BackendError::new(ErrorKind::Config, format!("vault {addr}"), m))?;
            let s = Arc::new(auth::session(cfg, Arc::new(client), self.creds.as_ref()).await?);
            if s.login.is_some() {
                self.hold(Arc::new(lease::LoginToken { session: s.clone() }));
            }
            tracing::debug!(
                "vault at {addr}: session ready ({})",
                if s.login.is_some() {
                    "logged in"
                } else {
                    "with a token"
                }
            );
            Ok(s)
        })
        .await
        .clone()
    }

    /// The mount serving `t`: one detection per first path segment when many
    /// references are fetched at once. Only successes are shared: a token may be
    /// allowed one path of a mount and not another.
    async fn mount(&self, s: &Session, t: &Target<'_>) -> Result<kv::Mount, Fail> {
        let first = t.location.split('/').next().unwrap_or("").to_string();
        let cell = {
            let mut map = self.mounts.lock().unwrap_or_else(|p| p.into_inner());
            map.entry((t.addr.clone(), t.namespace.clone(), first))
                .or_default()
                .clone()
        };
        let ns = t.namespace.as_deref();
        let m = cell
            .get_or_try_init(|| kv::mount(s, t.location, ns))
            .await?;
        if t.location.starts_with(&m.path) || format!("{}/", t.location) == m.path {
            Ok(m.clone())
        } else {
            // A deeper mount under the same first segment (`team/a/` vs `team/b/`).
            kv::mount(s, t.location, ns).await
        }
    }

    fn hold(&self, l: Arc<dyn Lease>) {
        self.held.lock().unwrap_or_else(|p| p.into_inner()).push(l);
    }

    async fn fetch_one(&self, r: &SecretRef) -> Result<SecretValue, BackendError> {
        let t = self.target(r)?;
        if t.field.is_some() {
            return Err(BackendError::new(
                ErrorKind::Config,
                r,
                "?field= is for `secret set`; to read one field write #FIELD",
            ));
        }
        let s = self.session(&t.addr).await?;
        let req = kv::Request {
            location: t.location,
            namespace: t.namespace.as_deref(),
            version: t.version,
            args: &t.args,
        };
        let m = self.mount(&s, &t).await.map_err(|f| at(r, f))?;
        tracing::debug!(
            "{r}: vault at {}{}, mount {} ({:?})",
            t.addr,
            t.namespace
                .as_deref()
                .map_or(String::new(), |n| format!(", namespace {n}")),
            m.path,
            m.engine
        );
        let (value, lease) = kv::read(&s, &m, &req).await.map_err(|f| at(r, f))?;
        if let Some(l) = lease {
            self.hold(Arc::new(lease::VaultLease {
                session: s,
                namespace: t.namespace.clone(),
                lease_id: l.id,
                ttl: l.ttl,
                renewable: l.renewable,
                obtained: l.obtained,
            }));
        }
        Ok(value)
    }
}

fn at(r: &SecretRef, f: Fail) -> BackendError {
    BackendError::new(f.kind, r, f.message)
}

impl Backend for VaultBackend {
    fn scheme(&self) -> Scheme {
        Scheme::Vault
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(async move {
            let mut set = JoinSet::new();
            for (i, r) in refs.iter().enumerate() {
                let inner = self.inner.clone();
                let r = r.clone();
                set.spawn(async move { (i, inner.fetch_one(&r).await) });
            }
            let mut out: Vec<Option<Result<SecretValue, BackendError>>> =
                (0..refs.len()).map(|_| None).collect();
            while let Some(joined) = set.join_next().await {
                if let Ok((i, res)) = joined {
                    out[i] = Some(res);
                }
            }
            out.into_iter()
                .zip(refs)
                .map(|(o, r)| {
                    o.unwrap_or_else(|| {
                        Err(BackendError::new(
                            ErrorKind::Io,
                            r,
                            "internal error: the fetch task failed",
                        ))
                    })
                })
                .collect()
        })
    }

    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let t = self.inner.target(r)?;
            if t.version.is_some() || !t.args.is_empty() {
                return Err(BackendError::new(
                    ErrorKind::Config,
                    r,
                    "writes take no ?version= or ?arg.*: KV v2 adds a new version",
                ));
            }
            let s = self.inner.session(&t.addr).await?;
            let created = kv::write(
                &s,
                t.location,
                t.namespace.as_deref(),
                t.field.as_deref(),
                value,
            )
            .await
            .map_err(|f| at(r, f))?;
            Ok(if created {
                WriteOutcome::Created
            } else {
                WriteOutcome::Updated
            })
        })
    }

    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let t = self.inner.target(r)?;
            let s = self.inner.session(&t.addr).await?;
            kv::delete(&s, t.location, t.namespace.as_deref())
                .await
                .map_err(|f| at(r, f))
        })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let r = SecretRef {
                scheme: Scheme::Vault,
                location: prefix.to_string(),
                params: params.to_vec(),
                selector: None,
            };
            if prefix.trim_matches('/').is_empty() {
                return Err(BackendError::new(
                    ErrorKind::Config,
                    "vault://",
                    "name a KV mount to list, e.g. `secret ls vault://secret/`",
                ));
            }
            let t = self.inner.target(&r)?;
            let s = self.inner.session(&t.addr).await?;
            let found = kv::list(&s, prefix, t.namespace.as_deref())
                .await
                .map_err(|f| at(&r, f))?;
            Ok(found
                .into_iter()
                .map(|(name, meta)| SecretInfo {
                    name,
                    created: meta.as_ref().and_then(|m| m.created),
                    updated: meta.as_ref().and_then(|m| m.updated),
                    rotated: None,
                    version: meta.and_then(|m| m.version),
                })
                .collect())
        })
    }

    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let t = self.inner.target(r)?;
            let s = self.inner.session(&t.addr).await?;
            let m = kv::metadata(&s, t.location, t.namespace.as_deref())
                .await
                .map_err(|f| at(r, f))?;
            Ok(SecretInfo {
                name: t.location.to_string(),
                created: m.created,
                updated: m.updated,
                rotated: None,
                version: m.version,
            })
        })
    }

    fn held(&self) -> Vec<Arc<dyn Lease>> {
        std::mem::take(&mut *self.inner.held.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
