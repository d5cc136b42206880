//! `gcp-token://SERVICE_ACCOUNT_EMAIL[?scopes=A,B&lifetime=1h&delegates=X,Y]`:
//! a Google OAuth access token for an impersonated service account, minted by
//! IAM Credentials `generateAccessToken`.
//!
//! Owns reading the reference (account, scopes, lifetime, delegation chain),
//! the request body and the answer (`accessToken`, `expireTime`). The call is
//! authenticated with exactly the credentials `gcp-sm://` uses (its [`Auth`]
//! chain, HTTP clients and deadline, through [`GcpBackend`]); the endpoint is
//! `CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS` or the public one. Every
//! fetch mints anew and records a [`Minted`].
//!
//! Must not: cache tokens, put a token or an answer body into an error or a
//! log line.

use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::json;
use zeroize::Zeroizing;

use super::GcpBackend;
use super::api::{Api, GET_ACCESS_TOKEN, IAM_CREDENTIALS};
use super::target;
use crate::backend::mint::{MintLog, MintSpec, Minted, lifetime_param};
use crate::backend::rest::{Fail, rfc3339};
use crate::backend::{Backend, BackendError, BoxFuture, ErrorKind, Settings};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

const PARAMS: &[&str] = &["scopes", "lifetime", "delegates"];
const DEFAULT_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
const MIN_LIFETIME: Duration = Duration::from_secs(1);
/// More than 1h needs the organisation policy
/// `constraints/iam.allowServiceAccountCredentialLifetimeExtension`.
const MAX_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const WHAT: &str = "Google access token (service account impersonation)";

pub struct TokenBackend {
    /// Credentials, HTTP clients and deadlines shared with `gcp-sm://`'s code.
    gcp: GcpBackend,
    log: MintLog,
}

impl TokenBackend {
    pub fn new(settings: &Settings) -> Self {
        Self {
            gcp: GcpBackend::new(settings),
            log: MintLog::default(),
        }
    }
}

/// What one reference asks for.
struct Ask {
    email: String,
    scopes: Vec<String>,
    delegates: Vec<String>,
    lifetime: Duration,
}

/// What `r` asks for, checked without the network.
pub fn spec(r: &SecretRef) -> Result<MintSpec, BackendError> {
    let ask = ask(r)?;
    Ok(MintSpec {
        what: WHAT,
        scope: scope_text(&ask),
        lifetime: ask.lifetime,
    })
}

fn scope_text(a: &Ask) -> String {
    let mut s = format!(
        "service account {}; scopes {}",
        a.email,
        a.scopes.join(", ")
    );
    if !a.delegates.is_empty() {
        s.push_str(&format!("; through {}", a.delegates.join(" > ")));
    }
    s
}

fn ask(r: &SecretRef) -> Result<Ask, BackendError> {
    BackendError::check_params(r, PARAMS)?;
    let bad = |m: String| BackendError::new(ErrorKind::Config, r, m);
    if !is_email(&r.location) {
        return Err(bad(
            "expected a service account email: gcp-token://NAME@PROJECT.iam.gserviceaccount.com"
                .into(),
        ));
    }
    let list = |k: &str| -> Vec<String> {
        r.param(k)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut scopes = list("scopes");
    if scopes.is_empty() {
        scopes.push(DEFAULT_SCOPE.to_string());
    }
    if let Some(s) = scopes.iter().find(|s| !is_scope(s)) {
        return Err(bad(format!(
            "?scopes= {s:?} is not an OAuth scope URL; write full URLs such as {DEFAULT_SCOPE}"
        )));
    }
    let delegates = list("delegates");
    if delegates.iter().any(|d| !is_email(d)) {
        return Err(bad(
            "?delegates= takes service account emails, comma-separated".into(),
        ));
    }
    let lifetime = lifetime_param(r, "lifetime", DEFAULT_LIFETIME, MIN_LIFETIME, MAX_LIFETIME)?;
    Ok(Ask {
        email: r.location.clone(),
        scopes,
        delegates,
        lifetime,
    })
}

fn is_email(s: &str) -> bool {
    let Some((user, domain)) = s.split_once('@') else {
        return false;
    };
    let ok = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.+".contains(&b))
    };
    s.len() <= 254 && ok(user) && ok(domain) && domain.contains('.')
}

fn is_scope(s: &str) -> bool {
    s.starts_with("https://") && s.len() > "https://".len() && !s.contains(char::is_whitespace)
}

impl Backend for TokenBackend {
    fn scheme(&self) -> Scheme {
        Scheme::GcpToken
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(async move {
            let jobs = refs.iter().map(|r| self.mint(r)).collect();
            crate::backend::rest::join_all(jobs).await
        })
    }

    fn minted(&self) -> Vec<Minted> {
        self.log.take()
    }
}

impl TokenBackend {
    async fn mint(&self, r: &SecretRef) -> Result<SecretValue, BackendError> {
        let r = &r.without_selector();
        let ask = ask(r)?;
        let endpoint = target::iam_endpoint(&super::env)
            .map_err(|m| BackendError::new(ErrorKind::Config, r, m))?;
        let http = self.gcp.http().map_err(|f| f.at(r))?;
        let auth = self.gcp.auth();
        let api = Api {
            service: IAM_CREDENTIALS,
            http,
            endpoint: &endpoint,
            auth: &auth,
            deadline: self.gcp.deadline(),
        };
        let (token, expires) = generate(&api, &ask).await.map_err(|f| f.at(r))?;
        tracing::debug!(
            "gcp-token: minted for {} at {} ({}); expires in {}s",
            ask.email,
            crate::backend::rest::host_of(&endpoint),
            auth.identity(),
            expires
                .duration_since(SystemTime::now())
                .unwrap_or_default()
                .as_secs()
        );
        self.log.record(Minted {
            reference: r.clone(),
            spec: MintSpec {
                what: WHAT,
                scope: scope_text(&ask),
                lifetime: ask.lifetime,
            },
            expires,
        });
        Ok(token)
    }
}

/// `POST v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`.
async fn generate(api: &Api<'_>, ask: &Ask) -> Result<(SecretValue, SystemTime), Fail> {
    let mut body = json!({
        "scope": ask.scopes,
        "lifetime": format!("{}s", ask.lifetime.as_secs()),
    });
    if !ask.delegates.is_empty() {
        body["delegates"] = ask
            .delegates
            .iter()
            .map(|d| format!("projects/-/serviceAccounts/{d}"))
            .collect();
    }
    let path = format!(
        "projects/-/serviceAccounts/{}:generateAccessToken",
        ask.email
    );
    let name = ask.email.as_str();
    let answer = api
        .call(
            Method::POST,
            &path,
            &[],
            Some(bytes::Bytes::from(body.to_string().into_bytes())),
            GET_ACCESS_TOKEN,
            name,
        )
        .await?;
    read_answer(&answer.body)
}

/// `{"accessToken": T, "expireTime": RFC3339}` -> the token and its expiry.
fn read_answer(body: &[u8]) -> Result<(SecretValue, SystemTime), Fail> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Generated {
        access_token: Option<String>,
        expire_time: Option<String>,
    }
    let not_it = || {
        Fail::new(
            ErrorKind::Unreachable,
            "the endpoint answered with something that is not a generateAccessToken response; \
             check it is IAM Credentials",
        )
    };
    let parsed: Generated = serde_json::from_slice(body).map_err(|_| not_it())?;
    let token = Zeroizing::new(parsed.access_token.ok_or_else(not_it)?);
    if token.is_empty() {
        return Err(not_it());
    }
    let expires = parsed
        .expire_time
        .as_deref()
        .and_then(rfc3339)
        .ok_or_else(|| {
            Fail::new(
                ErrorKind::BadData,
                "the answer's expireTime is missing or not an RFC 3339 time",
            )
        })?;
    Ok((SecretValue::from_slice(token.as_bytes()), expires))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SecretRef {
        SecretRef::parse(s).unwrap()
    }

    const SA: &str = "ci@proj-1.iam.gserviceaccount.com";

    #[test]
    fn spec_has_defaults_and_reads_params() {
        let s = spec(&parse(&format!("gcp-token://{SA}"))).unwrap();
        assert_eq!(s.lifetime, Duration::from_secs(3600));
        assert!(s.scope.contains(DEFAULT_SCOPE), "{}", s.scope);
        let s = spec(&parse(&format!(
            "gcp-token://{SA}?scopes=https://www.googleapis.com/auth/devstorage.read_only,\
             https://www.googleapis.com/auth/userinfo.email&lifetime=10m&delegates=a@p.iam.gserviceaccount.com"
        )))
        .unwrap();
        assert_eq!(s.lifetime, Duration::from_secs(600));
        assert!(
            s.scope.contains("devstorage.read_only, https://"),
            "{}",
            s.scope
        );
        assert!(s.scope.contains("through a@p"), "{}", s.scope);
    }

    #[test]
    fn spec_refuses_bad_references() {
        for c in [
            "gcp-token://not-an-email".to_string(),
            format!("gcp-token://{SA}?scopes=cloud-platform"),
            format!("gcp-token://{SA}?lifetime=13h"),
            format!("gcp-token://{SA}?lifetime=0s"),
            format!("gcp-token://{SA}?delegates=nobody"),
            format!("gcp-token://{SA}?region=x"),
            "gcp-token://a/b@c.d".to_string(),
        ] {
            let e = spec(&parse(&c)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{c}: {e}");
        }
    }

    #[test]
    fn answers_are_read_and_never_quoted() {
        let (t, exp) =
            read_answer(br#"{"accessToken":"ya29.x","expireTime":"2030-01-01T00:00:00Z"}"#)
                .unwrap();
        assert_eq!(t.expose(), b"ya29.x");
        assert!(exp > SystemTime::now());
        let e = read_answer(br#"{"accessToken":"ya29.secret"}"#).unwrap_err();
        assert!(!e.message.contains("ya29"));
        let e = read_answer(b"ya29.secret").unwrap_err();
        assert!(!e.message.contains("ya29"));
    }
}
