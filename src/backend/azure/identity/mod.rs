//! Azure credentials: the `DefaultAzureCredential` chain as Azure's own
//! libraries resolve it, and one token per scope per run.
//!
//! Order, first that applies: environment (`AZURE_TENANT_ID` +
//! `AZURE_CLIENT_ID` with `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH`),
//! workload identity (`AZURE_FEDERATED_TOKEN_FILE`), managed identity (App
//! Service / Container Apps `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, the older
//! `MSI_ENDPOINT`, else the instance metadata service, whose host
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST` overrides), the Azure CLI.
//! `AZURE_TOKEN_CREDENTIALS` narrows the chain as in Azure's SDKs (`dev`,
//! `prod`, or one credential's name). `AZURE_AUTHORITY_HOST` names the Entra
//! authority. The tenant and client id the caller passes (mcp-secret-wrapper's
//! `--vault-tenantId`, `--vault-clientId`) win over the environment.
//!
//! Owns choosing the credential once, getting each scope's token once
//! (concurrent callers wait for one request), one fresh token when a vault
//! refuses the first, and a description of the identity for messages (a
//! client id, never a secret or token). Must not call Key Vault.

mod assertion;
mod cli;
mod entra;
mod managed;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use reqwest::Url;

use crate::backend::rest::{self, Fail, Http};
use crate::backend::{CloudSettings, ErrorKind};
use crate::secret::SecretValue;

pub(crate) use entra::Token;

/// The Entra authority of Azure's public cloud.
const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com/";

/// One way to get a token.
#[derive(Debug)]
pub(crate) enum Credential {
    ClientSecret {
        tenant: String,
        client_id: String,
        secret: SecretValue,
    },
    ClientCertificate {
        tenant: String,
        client_id: String,
        path: PathBuf,
    },
    Workload {
        tenant: String,
        client_id: String,
        token_file: PathBuf,
    },
    Managed {
        endpoint: managed::Endpoint,
        client_id: Option<String>,
    },
    Cli {
        tenant: Option<String>,
    },
}

impl Credential {
    /// The identity, for messages.
    pub fn describe(&self) -> String {
        match self {
            Credential::ClientSecret {
                tenant, client_id, ..
            } => format!("client {client_id} (client secret, tenant {tenant})"),
            Credential::ClientCertificate {
                tenant,
                client_id,
                path,
            } => format!(
                "client {client_id} (certificate {}, tenant {tenant})",
                path.display()
            ),
            Credential::Workload {
                tenant, client_id, ..
            } => format!("client {client_id} (workload identity, tenant {tenant})"),
            Credential::Managed {
                endpoint,
                client_id,
            } => match client_id {
                Some(id) => format!("managed identity {id} ({})", endpoint.describe()),
                None => format!(
                    "the system-assigned managed identity ({})",
                    endpoint.describe()
                ),
            },
            Credential::Cli { .. } => "the account signed in to the Azure CLI".to_string(),
        }
    }

    /// The tenant the credential is bound to, where it is.
    fn tenant(&self) -> Option<&str> {
        match self {
            Credential::ClientSecret { tenant, .. }
            | Credential::ClientCertificate { tenant, .. }
            | Credential::Workload { tenant, .. } => Some(tenant),
            Credential::Cli { tenant } => tenant.as_deref(),
            Credential::Managed { .. } => None,
        }
    }
}

/// Why a credential in the chain did not produce a token.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Not set up here; the chain moves on. The text says what was missing.
    Unavailable(String),
    /// Set up, and failed: the chain stops with this.
    Failed(Fail),
}

impl From<Fail> for Attempt {
    fn from(f: Fail) -> Self {
        Attempt::Failed(f)
    }
}

/// What acquiring a token needs besides the credential.
pub(crate) struct Ctx<'a> {
    pub http: &'a Http,
    /// For the instance metadata service: a short connect timeout, no proxy.
    pub probe: &'a Http,
    pub authority: &'a Url,
    pub deadline: Instant,
}

/// A bearer token and which generation it is.
#[derive(Clone)]
pub(crate) struct Bearer {
    pub token: SecretValue,
    pub generation: u32,
}

/// The credential of a run and its tokens.
pub(crate) struct Auth {
    cloud: CloudSettings,
    /// Fetches a stored client secret (`--vault-clientSecretRef`).
    stored: Arc<dyn crate::backend::vault::Credentials>,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    credential: Option<Credential>,
    tokens: BTreeMap<String, Bearer>,
    refreshed: BTreeSet<String>,
    generation: u32,
}

type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

impl Auth {
    pub fn new(cloud: &CloudSettings, stored: Arc<dyn crate::backend::vault::Credentials>) -> Auth {
        Auth {
            cloud: cloud.clone(),
            stored,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// The identity in use, once a token was obtained, for messages.
    pub async fn identity(&self) -> String {
        let st = self.state.lock().await;
        st.credential
            .as_ref()
            .map(Credential::describe)
            .unwrap_or_else(|| "the Azure credential".to_string())
    }

    /// The tenant the credential is bound to, if any.
    pub async fn tenant(&self) -> Option<String> {
        let st = self.state.lock().await;
        st.credential
            .as_ref()
            .and_then(|c| c.tenant().map(str::to_string))
    }

    /// The token for `scope`, choosing the credential on first use.
    pub async fn token(&self, scope: &str, ctx: &Ctx<'_>) -> Result<Bearer, Fail> {
        let mut st = self.state.lock().await;
        if let Some(b) = st.tokens.get(scope) {
            return Ok(b.clone());
        }
        self.acquire(&mut st, scope, ctx).await
    }

    /// A new token for `scope` after a vault refused generation `seen`; at
    /// most one per scope per run.
    pub async fn refresh(
        &self,
        scope: &str,
        seen: u32,
        ctx: &Ctx<'_>,
    ) -> Result<Option<Bearer>, Fail> {
        let mut st = self.state.lock().await;
        if let Some(b) = st.tokens.get(scope)
            && b.generation != seen
        {
            return Ok(Some(b.clone()));
        }
        if !st.refreshed.insert(scope.to_string()) {
            return Ok(None);
        }
        st.tokens.remove(scope);
        self.acquire(&mut st, scope, ctx).await.map(Some)
    }

    /// A new token for `scope`, never from or into the cache (for
    /// `azure-token://`, which mints at every fetch); the credential is
    /// chosen once as for every other token.
    pub async fn mint(&self, scope: &str, ctx: &Ctx<'_>) -> Result<Token, Fail> {
        let mut st = self.state.lock().await;
        self.fresh(&mut st, scope, ctx).await
    }

    /// A token for `scope` from the chosen credential, choosing it first.
    async fn fresh(&self, st: &mut State, scope: &str, ctx: &Ctx<'_>) -> Result<Token, Fail> {
        match &st.credential {
            Some(c) => match get(c, scope, ctx).await {
                Ok(t) => Ok(t),
                Err(Attempt::Failed(f)) => Err(f),
                Err(Attempt::Unavailable(why)) => Err(Fail::new(ErrorKind::Config, why)),
            },
            None => {
                let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
                let (c, t) = match &self.cloud.azure_client_secret {
                    Some(r) => self.stored_secret(r, &env, scope, ctx).await?,
                    None => choose(&self.cloud, &env, scope, ctx).await?,
                };
                st.credential = Some(c);
                Ok(t)
            }
        }
    }

    async fn acquire(&self, st: &mut State, scope: &str, ctx: &Ctx<'_>) -> Result<Bearer, Fail> {
        let token = self.fresh(st, scope, ctx).await?.value;
        st.generation += 1;
        let b = Bearer {
            token,
            generation: st.generation,
        };
        st.tokens.insert(scope.to_string(), b.clone());
        Ok(b)
    }
}

impl Auth {
    /// The client secret stored at `r` (`--vault-clientSecretRef`): the
    /// credential of the run, no chain.
    async fn stored_secret(
        &self,
        r: &crate::reference::SecretRef,
        env: Env<'_>,
        scope: &str,
        ctx: &Ctx<'_>,
    ) -> Result<(Credential, Token), Fail> {
        let tenant = self
            .cloud
            .azure_tenant_id
            .clone()
            .or_else(|| env("AZURE_TENANT_ID"));
        let client_id = self
            .cloud
            .azure_client_id
            .clone()
            .or_else(|| env("AZURE_CLIENT_ID"));
        let (Some(tenant), Some(client_id)) = (tenant, client_id) else {
            return Err(Fail::new(
                ErrorKind::Config,
                "a stored client secret needs the tenant and client id too: --vault-tenantId and \
                 --vault-clientId (or AZURE_TENANT_ID and AZURE_CLIENT_ID)",
            ));
        };
        let secret =
            self.stored.fetch(r).await.map_err(|e| {
                Fail::new(e.kind, format!("reading the Azure client secret from {e}"))
            })?;
        let c = Credential::ClientSecret {
            tenant,
            client_id,
            secret,
        };
        match get(&c, scope, ctx).await {
            Ok(t) => Ok((c, t)),
            Err(Attempt::Failed(f)) => Err(f),
            Err(Attempt::Unavailable(why)) => Err(Fail::new(ErrorKind::Config, why)),
        }
    }
}

/// The Entra authority: `AZURE_AUTHORITY_HOST`, else the public cloud's.
pub(crate) fn authority(env: Env<'_>) -> Result<Url, Fail> {
    let text = env("AZURE_AUTHORITY_HOST").unwrap_or_else(|| DEFAULT_AUTHORITY.to_string());
    rest::base_url(&text, "AZURE_AUTHORITY_HOST").map_err(|m| Fail::new(ErrorKind::Config, m))
}

/// One token from `c`.
async fn get(c: &Credential, scope: &str, ctx: &Ctx<'_>) -> Result<Token, Attempt> {
    let resource = scope.trim_end_matches("/.default");
    match c {
        Credential::ClientSecret {
            tenant,
            client_id,
            secret,
        } => {
            let grant = entra::Grant::Secret(secret);
            Ok(entra::token(ctx, tenant, client_id, scope, grant, &c.describe()).await?)
        }
        Credential::ClientCertificate {
            tenant,
            client_id,
            path,
        } => {
            let aud = entra::token_url(ctx.authority, tenant)?;
            let jwt = assertion::sign(path, client_id, aud.as_str())?;
            let grant = entra::Grant::Assertion(jwt);
            Ok(entra::token(ctx, tenant, client_id, scope, grant, &c.describe()).await?)
        }
        Credential::Workload {
            tenant,
            client_id,
            token_file,
        } => {
            let jwt = assertion::federated(token_file)?;
            let grant = entra::Grant::Assertion(jwt);
            Ok(entra::token(ctx, tenant, client_id, scope, grant, &c.describe()).await?)
        }
        Credential::Managed {
            endpoint,
            client_id,
        } => managed::token(ctx, endpoint, client_id.as_deref(), resource, &c.describe()).await,
        Credential::Cli { tenant } => cli::token(resource, tenant.as_deref(), ctx.deadline).await,
    }
}

/// Which credentials `AZURE_TOKEN_CREDENTIALS` allows, in chain order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Environment,
    Workload,
    Managed,
    Cli,
}

fn allowed(env: Env<'_>) -> Result<Vec<Kind>, Fail> {
    use Kind::*;
    let Some(v) = env("AZURE_TOKEN_CREDENTIALS") else {
        return Ok(vec![Environment, Workload, Managed, Cli]);
    };
    Ok(match v.trim().to_ascii_lowercase().as_str() {
        "dev" => vec![Cli],
        "prod" => vec![Environment, Workload, Managed],
        "environmentcredential" => vec![Environment],
        "workloadidentitycredential" => vec![Workload],
        "managedidentitycredential" => vec![Managed],
        "azureclicredential" => vec![Cli],
        other => {
            return Err(Fail::new(
                ErrorKind::Config,
                format!(
                    "AZURE_TOKEN_CREDENTIALS={other:?} is not understood; use dev, prod, \
                     EnvironmentCredential, WorkloadIdentityCredential, ManagedIdentityCredential \
                     or AzureCliCredential"
                ),
            ));
        }
    })
}

/// The candidate of one kind, or why there is none.
fn candidate(kind: Kind, cloud: &CloudSettings, env: Env<'_>) -> Result<Credential, String> {
    let tenant = cloud
        .azure_tenant_id
        .clone()
        .or_else(|| env("AZURE_TENANT_ID"));
    let client_id = cloud
        .azure_client_id
        .clone()
        .or_else(|| env("AZURE_CLIENT_ID"));
    let ids = || match (&tenant, &client_id) {
        (Some(t), Some(c)) => Ok((t.clone(), c.clone())),
        (None, _) => Err("AZURE_TENANT_ID is not set"),
        (_, None) => Err("AZURE_CLIENT_ID is not set"),
    };
    match kind {
        Kind::Environment => {
            if let Some(secret) = env("AZURE_CLIENT_SECRET") {
                let (tenant, client_id) = ids()
                    .map_err(|m| format!("environment: AZURE_CLIENT_SECRET is set but {m}"))?;
                return Ok(Credential::ClientSecret {
                    tenant,
                    client_id,
                    secret: SecretValue::from_string(secret),
                });
            }
            if let Some(path) = env("AZURE_CLIENT_CERTIFICATE_PATH") {
                let (tenant, client_id) = ids().map_err(|m| {
                    format!("environment: AZURE_CLIENT_CERTIFICATE_PATH is set but {m}")
                })?;
                return Ok(Credential::ClientCertificate {
                    tenant,
                    client_id,
                    path: PathBuf::from(path),
                });
            }
            Err(
                "environment: neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set"
                    .into(),
            )
        }
        Kind::Workload => {
            let file = env("AZURE_FEDERATED_TOKEN_FILE")
                .ok_or("workload identity: AZURE_FEDERATED_TOKEN_FILE is not set")?;
            let (tenant, client_id) = ids().map_err(|m| format!("workload identity: {m}"))?;
            Ok(Credential::Workload {
                tenant,
                client_id,
                token_file: PathBuf::from(file),
            })
        }
        Kind::Managed => Ok(Credential::Managed {
            endpoint: managed::Endpoint::from_env(env)
                .map_err(|m| format!("managed identity: {m}"))?,
            client_id,
        }),
        Kind::Cli => Ok(Credential::Cli { tenant }),
    }
}

/// Walks the chain: the first credential that is set up gives the token.
async fn choose(
    cloud: &CloudSettings,
    env: Env<'_>,
    scope: &str,
    ctx: &Ctx<'_>,
) -> Result<(Credential, Token), Fail> {
    let mut tried = Vec::new();
    for kind in allowed(env)? {
        let c = match candidate(kind, cloud, env) {
            Ok(c) => c,
            Err(why) => {
                tried.push(why);
                continue;
            }
        };
        match get(&c, scope, ctx).await {
            Ok(t) => return Ok((c, t)),
            Err(Attempt::Unavailable(why)) => tried.push(why),
            Err(Attempt::Failed(f)) => return Err(f),
        }
    }
    Err(Fail::new(
        ErrorKind::Config,
        format!(
            "no Azure credential found ({}); set AZURE_TENANT_ID, AZURE_CLIENT_ID and \
             AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH), or run `az login`",
            tried.join("; ")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_environment_decides_the_credential() {
        let cloud = CloudSettings::default();
        let env = env_of(&[
            ("AZURE_TENANT_ID", "t"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_CLIENT_SECRET", "s"),
        ]);
        let c = candidate(Kind::Environment, &cloud, &env).unwrap();
        assert_eq!(c.describe(), "client c (client secret, tenant t)");
        assert!(
            !format!("{c:?}").contains("\"s\""),
            "the secret shows in Debug"
        );
        let env = env_of(&[("AZURE_CLIENT_SECRET", "s")]);
        let e = candidate(Kind::Environment, &cloud, &env).unwrap_err();
        assert!(e.contains("AZURE_TENANT_ID"), "{e}");
        let cloud = CloudSettings {
            azure_tenant_id: Some("t2".into()),
            azure_client_id: Some("c2".into()),
            ..Default::default()
        };
        let env = env_of(&[
            ("AZURE_FEDERATED_TOKEN_FILE", "/f"),
            ("AZURE_CLIENT_ID", "c"),
        ]);
        let c = candidate(Kind::Workload, &cloud, &env).unwrap();
        assert_eq!(c.describe(), "client c2 (workload identity, tenant t2)");
    }

    #[test]
    fn token_credentials_narrow_the_chain() {
        assert_eq!(
            allowed(&env_of(&[("AZURE_TOKEN_CREDENTIALS", "dev")])).unwrap(),
            vec![Kind::Cli]
        );
        assert_eq!(
            allowed(&env_of(&[(
                "AZURE_TOKEN_CREDENTIALS",
                "ManagedIdentityCredential"
            )]))
            .unwrap(),
            vec![Kind::Managed]
        );
        assert_eq!(allowed(&env_of(&[])).unwrap().len(), 4);
        assert!(allowed(&env_of(&[("AZURE_TOKEN_CREDENTIALS", "x")])).is_err());
    }
}
