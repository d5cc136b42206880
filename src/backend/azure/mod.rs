//! Azure Key Vault (`azure-kv://VAULT/NAME[?version=V]`, and
//! `azure-kv://HOST[:PORT]/NAME` for any vault host).
//!
//! Owns: grouping references per vault with one HTTP client and one
//! credential for the run (one token per scope), fetching every secret
//! concurrently within the reference's deadline, and the writable side
//! (`secret set` adds a version, `rm` soft-deletes, `ls`, metadata for
//! `inventory`). Credentials are the `DefaultAzureCredential` chain
//! ([`identity`]); the calls are the documented REST API ([`api`]) with its
//! bearer challenge ([`challenge`]). `azure-token://` ([`token`]) mints with
//! the same chain. Must not apply selectors, print, or put a token or value
//! into an error.

mod api;
mod challenge;
mod identity;
mod target;
pub mod token;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::Url;

use self::api::Vault;
use self::identity::{Auth, Ctx};
use self::target::Target;
use super::rest::{self, Fail, Http};
use super::{Backend, BackendError, BoxFuture, ErrorKind, SecretInfo, Settings, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub(crate) use target::host_of_url;

/// How long the instance metadata service may take to accept a connection
/// before the chain decides this is not an Azure machine.
const IMDS_CONNECT: Duration = Duration::from_secs(1);

/// (vault URL, name, version): what one request fetches.
type SecretKey = (String, String, Option<String>);

pub struct AzureBackend {
    settings: Settings,
    clients: OnceLock<Result<Clients, Fail>>,
    auth: Arc<Auth>,
    /// The token scope each vault wants, once learned.
    scopes: Mutex<BTreeMap<String, Arc<tokio::sync::OnceCell<String>>>>,
}

struct Clients {
    http: Http,
    probe: Http,
    authority: Url,
}

impl AzureBackend {
    /// Reads nothing and touches no network until first use.
    pub fn new(settings: &Settings) -> Self {
        Self {
            settings: settings.clone(),
            clients: OnceLock::new(),
            auth: Arc::new(Auth::new(
                &settings.cloud,
                super::registry::credential_fetcher(
                    settings,
                    &[Scheme::AzureKv, Scheme::AzureToken],
                ),
            )),
            scopes: Mutex::new(BTreeMap::new()),
        }
    }

    fn clients(&self) -> Result<&Clients, Fail> {
        self.clients
            .get_or_init(|| {
                let timeout = rest::call_timeout(self.settings.timeout);
                let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
                Ok(Clients {
                    http: Http::new(timeout)?,
                    probe: Http::with_connect_timeout(IMDS_CONNECT.min(timeout), timeout)?,
                    authority: identity::authority(&env)?,
                })
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    fn target(&self, r: &SecretRef) -> Result<Target, BackendError> {
        BackendError::check_params(r, target::PARAMS)?;
        target::parse(&r.location, &r.params)
            .map_err(|m| BackendError::new(ErrorKind::Config, r, m))
    }

    fn scope_cell(&self, vault: &Url) -> Arc<tokio::sync::OnceCell<String>> {
        let mut map = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(vault.to_string()).or_default().clone()
    }

    /// Runs `work` against the vault of `url` within one deadline.
    async fn with_vault<T>(
        &self,
        url: &Url,
        work: impl AsyncFnOnce(&Vault<'_>) -> Result<T, Fail>,
    ) -> Result<T, Fail> {
        let c = self.clients()?;
        let cell = self.scope_cell(url);
        let vault = Vault {
            base: url,
            auth: &self.auth,
            ctx: Ctx {
                http: &c.http,
                probe: &c.probe,
                authority: &c.authority,
                deadline: Instant::now() + rest::call_timeout(self.settings.timeout),
            },
            scope: &cell,
        };
        work(&vault).await
    }

    async fn fetch_all(&self, refs: &[SecretRef]) -> Vec<Result<SecretValue, BackendError>> {
        let mut results: Vec<Option<Result<SecretValue, BackendError>>> =
            refs.iter().map(|_| None).collect();
        // (vault, name, version) -> the references asking for it.
        let mut wanted: BTreeMap<SecretKey, (Target, Vec<usize>)> = BTreeMap::new();
        for (i, r) in refs.iter().enumerate() {
            match self.target(r) {
                Ok(t) => {
                    tracing::debug!("{r}: azure key vault {}", t.vault);
                    let key = (t.vault.to_string(), t.name.clone(), t.version.clone());
                    wanted
                        .entry(key)
                        .or_insert_with(|| (t, Vec::new()))
                        .1
                        .push(i);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let jobs: Vec<_> = wanted
            .into_values()
            .map(|(t, members)| async move {
                let got = self
                    .with_vault(&t.vault, async |v| {
                        let s = v.get(&t.name, t.version.as_deref(), true).await?;
                        s.value
                            .ok_or_else(|| Fail::new(ErrorKind::BadData, "the vault sent no value"))
                    })
                    .await;
                (members, got)
            })
            .collect();
        for (members, got) in rest::join_all(jobs).await {
            for i in members {
                results[i] = Some(got.clone().map_err(|f| f.at(&refs[i])));
            }
        }
        results
            .into_iter()
            .zip(refs)
            .map(|(v, r)| {
                v.unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::Io,
                        r,
                        "internal error: not fetched",
                    ))
                })
            })
            .collect()
    }

    fn whole_secret(&self, r: &SecretRef, verb: &str) -> Result<Target, BackendError> {
        let t = self.target(r)?;
        if t.version.is_some() {
            return Err(BackendError::new(
                ErrorKind::Config,
                r,
                format!("{verb} works on the whole secret: drop ?version="),
            ));
        }
        Ok(t)
    }
}

impl Backend for AzureBackend {
    fn scheme(&self) -> Scheme {
        Scheme::AzureKv
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(self.fetch_all(refs))
    }

    /// A new version; the secret is created when missing. Key Vault holds text only.
    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let t = self.whole_secret(r, "writing")?;
            let Some(text) = value.as_str() else {
                return Err(BackendError::new(
                    ErrorKind::BadData,
                    r,
                    "Key Vault stores text only and this value is not UTF-8; store it base64-encoded",
                ));
            };
            self.with_vault(&t.vault, async |v| {
                // Telling "created" from "updated" needs list permission; a
                // principal allowed only to set still writes (and says "updated").
                let existed = match v.exists(&t.name).await {
                    Ok(e) => e,
                    Err(f) if f.kind == ErrorKind::Denied => true,
                    Err(f) => return Err(f),
                };
                v.set(&t.name, text).await?;
                Ok(if existed {
                    WriteOutcome::Updated
                } else {
                    WriteOutcome::Created
                })
            })
            .await
            .map_err(|f| f.at(r))
        })
    }

    /// Deletes the secret; a vault with soft delete (the default) keeps it
    /// recoverable for its retention period, and its name stays taken.
    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let t = self.whole_secret(r, "deleting")?;
            self.with_vault(&t.vault, async |v| v.delete(&t.name).await)
                .await
                .map_err(|f| f.at(r))
        })
    }

    /// `azure-kv://VAULT/[PREFIX]`: the vault's secrets whose names start with PREFIX.
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let subject = format!("azure-kv://{prefix}");
            let fail = |m: String| BackendError::new(ErrorKind::Config, &subject, m);
            if let Some((k, _)) = params.first() {
                return Err(fail(format!("unknown parameter {k:?} here (none allowed)")));
            }
            let (vault, name_prefix) = prefix.split_once('/').unwrap_or((prefix, ""));
            if vault.is_empty() {
                return Err(fail(
                    "name the vault to list: azure-kv://VAULT/[PREFIX]".into(),
                ));
            }
            let url = target::vault_url(vault).map_err(fail)?;
            let found = self
                .with_vault(&url, async |v| v.list(name_prefix).await)
                .await
                .map_err(|f| f.at(&subject))?;
            Ok(found
                .into_iter()
                .map(|(name, s)| SecretInfo {
                    name: format!("{vault}/{name}"),
                    created: s.created,
                    updated: s.updated,
                    ..SecretInfo::default()
                })
                .collect())
        })
    }

    /// Created, last updated and version; an expired or not-yet-valid secret is an error.
    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let t = self.target(r)?;
            let s = self
                .with_vault(&t.vault, async |v| {
                    v.get(&t.name, t.version.as_deref(), false).await
                })
                .await
                .map_err(|f| f.at(r))?;
            Ok(SecretInfo {
                name: t.name.clone(),
                created: s.created,
                updated: s.updated,
                rotated: None,
                version: s.version,
            })
        })
    }
}
