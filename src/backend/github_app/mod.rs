//! GitHub App installation tokens (`github-app://APP_ID/INSTALLATION_ID?key=REF
//! [&repositories=a,b][&permissions=contents:read,issues:write][&api=URL]`):
//! every fetch mints a new token, valid for an hour, that acts as the App's
//! installation on the listed repositories with the listed permissions.
//!
//! Owns the flow: read the App's private key through a credential fetcher
//! that refuses minting schemes ([`target::MINTING`]), sign the App's JWT
//! ([`jwt`]), ask GitHub for the token ([`api`]), and record what was granted
//! and when it expires in the [`MintLog`]. Must not cache a token (the run
//! verb re-fetches to refresh), print, or put the key, the JWT or the token
//! into an error or a log line.

mod api;
mod jwt;
mod target;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use self::target::Target;
use crate::backend::mint::{MintLog, MintSpec, Minted};
use crate::backend::rest::{self, Fail, Http};
use crate::backend::vault::Credentials;
use crate::backend::{Backend, BackendError, BoxFuture, ErrorKind, Settings};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

/// What GitHub mints.
const WHAT: &str = "GitHub App installation token";
/// GitHub's installation tokens live one hour; the answer's `expires_at` rules.
const LIFETIME: Duration = Duration::from_secs(3600);

pub struct GithubAppBackend {
    settings: Settings,
    http: OnceLock<Result<Http, Fail>>,
    /// Fetches the App's private key; refuses the minting schemes.
    keys: Arc<dyn Credentials>,
    log: MintLog,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

impl GithubAppBackend {
    /// Reads nothing and touches no network until first use.
    pub fn new(settings: &Settings) -> Self {
        Self {
            settings: settings.clone(),
            http: OnceLock::new(),
            keys: crate::backend::registry::credential_fetcher(settings, target::MINTING),
            log: MintLog::default(),
        }
    }

    fn http(&self) -> Result<&Http, Fail> {
        self.http
            .get_or_init(|| Http::new(rest::call_timeout(self.settings.timeout)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Mints one token for `r`, recording it.
    async fn mint(&self, r: &SecretRef) -> Result<SecretValue, BackendError> {
        let deadline = Instant::now() + rest::call_timeout(self.settings.timeout);
        let t = checked(r)?;
        tracing::debug!(
            "{r}: GitHub App {} installation {} at {}",
            t.app_id,
            t.installation_id,
            rest::host_of(&t.api)
        );
        let pem = self.key(r, &t, deadline).await?;
        let jwt = jwt::sign(&pem, &t.app_id).map_err(|f| f.at(r))?;
        drop(pem);
        let http = self.http().map_err(|f| f.at(r))?;
        let granted = api::mint(http, &t, &jwt, deadline)
            .await
            .map_err(|f| f.at(r))?;
        self.log.record(Minted {
            reference: r.without_selector(),
            spec: MintSpec {
                what: WHAT,
                scope: granted_scope(&t, &granted),
                lifetime: LIFETIME,
            },
            expires: granted.expires,
        });
        Ok(granted.token)
    }

    /// The App's private key, read within the call's deadline.
    async fn key(
        &self,
        r: &SecretRef,
        t: &Target,
        deadline: Instant,
    ) -> Result<SecretValue, BackendError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let read = tokio::time::timeout(left, self.keys.fetch(&t.key)).await;
        match read {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(BackendError::new(
                e.kind,
                r,
                format!("reading the App's private key from {e}"),
            )),
            Err(_) => Err(BackendError::new(
                ErrorKind::TimedOut,
                r,
                format!(
                    "reading the App's private key from {} took too long; check that backend, \
                     or raise --timeout",
                    t.key
                ),
            )),
        }
    }
}

/// The reference read and checked (no network).
fn checked(r: &SecretRef) -> Result<Target, BackendError> {
    BackendError::check_params(r, target::PARAMS)?;
    target::parse(r, &env).map_err(|m| BackendError::new(ErrorKind::Config, r, m))
}

/// What `r` asks for: checked with no network.
pub fn spec(r: &SecretRef) -> Result<MintSpec, BackendError> {
    let t = checked(r)?;
    Ok(MintSpec {
        what: WHAT,
        scope: asked_scope(&t),
        lifetime: LIFETIME,
    })
}

/// `contents:read, issues:write`
pub(crate) fn permission_list(p: &BTreeMap<String, String>) -> String {
    p.iter()
        .map(|(k, v)| format!("{k}:{v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// "repositories a, b; contents:read" or "all repositories of the
/// installation; the App's permissions", plus the host when not github.com.
fn asked_scope(t: &Target) -> String {
    let repos = if t.repositories.is_empty() {
        "all repositories of the installation".to_string()
    } else {
        format!("repositories {}", t.repositories.join(", "))
    };
    let perms = if t.permissions.is_empty() {
        "the App's permissions".to_string()
    } else {
        permission_list(&t.permissions)
    };
    // Names come from the server's answer: no control characters reach a terminal.
    let scope: String = format!("{repos}; {perms}")
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    with_host(t, scope)
}

/// The scope GitHub says it granted; what was asked where the answer is silent.
fn granted_scope(t: &Target, g: &api::Granted) -> String {
    let repos = if !g.repositories.is_empty() {
        format!("repositories {}", g.repositories.join(", "))
    } else if g.selection.as_deref() == Some("all") || t.repositories.is_empty() {
        "all repositories of the installation".to_string()
    } else {
        format!("repositories {}", t.repositories.join(", "))
    };
    let perms = if g.permissions.is_empty() {
        if t.permissions.is_empty() {
            "the App's permissions".to_string()
        } else {
            permission_list(&t.permissions)
        }
    } else {
        permission_list(&g.permissions)
    };
    with_host(t, format!("{repos}; {perms}"))
}

fn with_host(t: &Target, scope: String) -> String {
    if t.public_api() {
        scope
    } else {
        format!("{scope} (at {})", rest::host_of(&t.api))
    }
}

impl Backend for GithubAppBackend {
    fn scheme(&self) -> Scheme {
        Scheme::GithubApp
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(async move { rest::join_all(refs.iter().map(|r| self.mint(r)).collect()).await })
    }

    fn minted(&self) -> Vec<Minted> {
        self.log.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_of(text: &str) -> Result<MintSpec, BackendError> {
        spec(&SecretRef::parse(text).unwrap())
    }

    #[test]
    fn the_spec_says_what_is_asked() {
        let s = spec_of(
            "github-app://1/2?key=local://k&repositories=a,b&permissions=issues:write,contents:read",
        )
        .unwrap();
        assert_eq!(s.what, WHAT);
        assert_eq!(s.scope, "repositories a, b; contents:read, issues:write");
        assert_eq!(s.lifetime, LIFETIME);
        let s = spec_of("github-app://1/2?key=local://k").unwrap();
        assert_eq!(
            s.scope,
            "all repositories of the installation; the App's permissions"
        );
        let s =
            spec_of("github-app://1/2?key=local://k&api=https://api.corp.ghe.com/api/v3").unwrap();
        assert!(s.scope.ends_with("(at api.corp.ghe.com)"), "{}", s.scope);
    }

    #[test]
    fn the_spec_refuses_bad_references() {
        for bad in [
            "github-app://1/2?key=local://k&repos=a",
            "github-app://1/2",
            "github-app://x/2?key=local://k",
            "github-app://1/2?key=github-app://3/4",
        ] {
            let e = spec_of(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{bad}");
        }
    }

    #[test]
    fn the_granted_scope_follows_the_answer() {
        let t = target::parse(
            &SecretRef::parse("github-app://1/2?key=local://k&repositories=a").unwrap(),
            &|_| None,
        )
        .unwrap();
        let g = api::Granted {
            token: SecretValue::from_slice(b"x"),
            expires: std::time::SystemTime::now(),
            permissions: BTreeMap::from([("metadata".into(), "read".into())]),
            repositories: vec!["a".into()],
            selection: Some("selected".into()),
        };
        assert_eq!(granted_scope(&t, &g), "repositories a; metadata:read");
    }
}
