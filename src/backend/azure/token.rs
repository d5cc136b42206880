//! `azure-token://SCOPE` (e.g. `azure-token://https://management.azure.com/.default`):
//! an Entra access token for one resource scope.
//!
//! Owns reading the reference (the scope; no parameters: the tenant and
//! client come from the same settings and environment as for `azure-kv://`)
//! and recording what was minted. The token comes from exactly the credential
//! chain `azure-kv://` uses ([`identity`](super::identity), through an
//! [`AzureBackend`]'s clients and authority), never from its cache: every
//! fetch mints anew. Must not put a token into an error or a log line.

use std::time::{Duration, Instant, SystemTime};

use super::AzureBackend;
use super::identity::Ctx;
use crate::backend::mint::{MintLog, MintSpec, Minted};
use crate::backend::rest;
use crate::backend::{Backend, BackendError, BoxFuture, ErrorKind, Settings};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

const WHAT: &str = "Entra access token";
/// Entra decides a token's lifetime (60 to 90 minutes by default).
const TYPICAL_LIFETIME: Duration = Duration::from_secs(3600);
/// What an answer without a readable expiry is taken to live.
const UNKNOWN_LIFETIME: Duration = Duration::from_secs(300);

pub struct TokenBackend {
    /// The credential chain, HTTP clients and authority of `azure-kv://`.
    azure: AzureBackend,
    log: MintLog,
}

impl TokenBackend {
    pub fn new(settings: &Settings) -> Self {
        Self {
            azure: AzureBackend::new(settings),
            log: MintLog::default(),
        }
    }
}

/// What `r` asks for, checked without the network: an `https://` or
/// `api://` resource scope ending in `/.default`, no parameters.
pub fn spec(r: &SecretRef) -> Result<MintSpec, BackendError> {
    BackendError::check_params(r, &[])?;
    let s = &r.location;
    let resource = s.strip_suffix("/.default").unwrap_or("");
    let scheme_ok = ["https://", "api://"]
        .iter()
        .any(|p| resource.len() > p.len() && resource.starts_with(p));
    if !scheme_ok || s.len() > 1000 || s.contains(char::is_whitespace) {
        return Err(BackendError::new(
            ErrorKind::Config,
            r,
            "expected a resource scope such as azure-token://https://management.azure.com/.default \
             (https:// or api://, ending in /.default)",
        ));
    }
    Ok(MintSpec {
        what: WHAT,
        scope: s.clone(),
        lifetime: TYPICAL_LIFETIME,
    })
}

impl Backend for TokenBackend {
    fn scheme(&self) -> Scheme {
        Scheme::AzureToken
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(async move {
            let jobs = refs.iter().map(|r| self.mint(r)).collect();
            rest::join_all(jobs).await
        })
    }

    fn minted(&self) -> Vec<Minted> {
        self.log.take()
    }
}

impl TokenBackend {
    async fn mint(&self, r: &SecretRef) -> Result<SecretValue, BackendError> {
        let r = &r.without_selector();
        let spec = spec(r)?;
        let c = self.azure.clients().map_err(|f| f.at(r))?;
        let ctx = Ctx {
            http: &c.http,
            probe: &c.probe,
            authority: &c.authority,
            deadline: Instant::now() + rest::call_timeout(self.azure.settings.timeout),
        };
        let token = self
            .azure
            .auth
            .mint(&r.location, &ctx)
            .await
            .map_err(|f| f.at(r))?;
        // An answer without a readable expiry (an old Azure CLI, a cached token):
        // take it as short-lived, so a refresh or the expired-call answer comes early
        // rather than late.
        let expires = token
            .expires
            .unwrap_or_else(|| SystemTime::now() + UNKNOWN_LIFETIME);
        tracing::debug!(
            "azure-token: minted for {} ({}); expires in {}s",
            r.location,
            self.azure.auth.identity().await,
            expires
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs()
        );
        self.log.record(Minted {
            reference: r.clone(),
            spec,
            expires,
        });
        Ok(token.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_without_the_network() {
        let ok = SecretRef::parse("azure-token://https://management.azure.com/.default").unwrap();
        let s = spec(&ok).unwrap();
        assert_eq!(s.scope, "https://management.azure.com/.default");
        assert!(spec(&SecretRef::parse("azure-token://api://my-app/.default").unwrap()).is_ok());
        for bad in [
            "azure-token://https://management.azure.com",
            "azure-token://management.azure.com/.default",
            "azure-token://https:///.default",
            "azure-token://https://management.azure.com/.default?tenant=x",
        ] {
            let e = spec(&SecretRef::parse(bad).unwrap()).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{bad}: {e}");
        }
    }
}
