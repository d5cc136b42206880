//! The Key Vault secrets REST API (`api-version=7.5`), as documented: get a
//! secret (version), set (a new version), delete (soft delete), list, and the
//! bearer-challenge handshake every call goes through.
//!
//! Owns the requests, the token each vault needs (the scope its host implies,
//! or the one its `401` challenge names after the domain check), one fresh
//! token when the vault refuses the first, the attribute checks (disabled,
//! `exp`, `nbf`) and the mapping of Key Vault's error answers to
//! [`ErrorKind`]s. Must not put a token, a value or a body into an error:
//! only Key Vault's own one-line `error.message`.

use std::time::SystemTime;

use bytes::Bytes;
use reqwest::{Method, Url};
use serde_json::Value;
use zeroize::Zeroizing;

use super::challenge;
use super::identity::{Auth, Bearer, Ctx};
use crate::backend::ErrorKind;
use crate::backend::rest::{Answer, Fail, Peer, Repeat, host_of, one_line, secret_body, unix_time};
use crate::secret::SecretValue;

pub(crate) const API_VERSION: &str = "7.5";
/// List pages are bounded: 100 × 25 secrets.
const MAX_PAGES: usize = 100;

/// What a call does, for messages: the Key Vault permission it needs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Action {
    pub permission: &'static str,
}

pub(crate) const GET: Action = Action { permission: "get" };
const SET: Action = Action { permission: "set" };
const DELETE: Action = Action {
    permission: "delete",
};
const LIST: Action = Action { permission: "list" };

/// A secret as read: the value (when asked for) and its attributes.
pub(crate) struct Secret {
    pub value: Option<SecretValue>,
    pub version: Option<String>,
    pub created: Option<SystemTime>,
    pub updated: Option<SystemTime>,
}

/// One vault and the credential: every call of a group.
pub(crate) struct Vault<'a> {
    pub base: &'a Url,
    pub auth: &'a Auth,
    pub ctx: Ctx<'a>,
    /// The scope this vault wants, once known.
    pub scope: &'a tokio::sync::OnceCell<String>,
}

impl Vault<'_> {
    fn peer(&self) -> Peer {
        Peer {
            service: "Azure Key Vault",
            host: host_of(self.base),
        }
    }

    fn url(&self, path: &str) -> Result<Url, Fail> {
        let mut u = self
            .base
            .join(path)
            .map_err(|e| Fail::new(ErrorKind::Config, format!("bad vault path {path}: {e}")))?;
        u.query_pairs_mut().append_pair("api-version", API_VERSION);
        Ok(u)
    }

    /// The scope to ask a token for: the host's, else the challenge of one
    /// unauthenticated request without a body.
    async fn scope(&self) -> Result<String, Fail> {
        self.scope
            .get_or_try_init(|| async {
                let host = host_of(self.base);
                if let Some(s) = challenge::known_scope(&host) {
                    return Ok(s);
                }
                let url = self.url("secrets")?;
                let probe = |c: &reqwest::Client| c.get(url.clone()).query(&[("maxresults", "1")]);
                let a = self.ctx.http.send(probe, self.ctx.deadline, &self.peer()).await?;
                let ch = www_authenticate(&a).ok_or_else(|| {
                    Fail::new(
                        ErrorKind::Config,
                        format!(
                            "{} did not answer with a bearer challenge (HTTP {}); check it is a Key Vault",
                            self.peer(),
                            a.status
                        ),
                    )
                })?;
                challenge::check(&host, &ch.scope).map_err(|m| Fail::new(ErrorKind::Denied, m))?;
                Ok(ch.scope)
            })
            .await
            .cloned()
    }

    /// Calls `METHOD {vault}/{path}?api-version=…`; follows the vault's bearer
    /// challenge. Returns the 2xx answer or the failure the answer means.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        action: Action,
        name: &str,
    ) -> Result<Answer, Fail> {
        let peer = self.peer();
        // A PUT adds a version: never sent twice.
        let repeat = if method == Method::PUT {
            Repeat::Never
        } else {
            Repeat::Safe
        };
        let host = host_of(self.base);
        let mut scope = self.scope().await?;
        let mut bearer: Bearer = self.auth.token(&scope, &self.ctx).await?;
        for _ in 0..3 {
            let authorization = bearer_header(&bearer)?;
            let send = |c: &reqwest::Client| {
                let mut r = c
                    .request(method.clone(), url.clone())
                    .header(reqwest::header::AUTHORIZATION, authorization.clone());
                if let Some(b) = &body {
                    r = r
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b.clone());
                }
                r
            };
            let a = self
                .ctx
                .http
                .send_with(send, repeat, self.ctx.deadline, &peer)
                .await?;
            if a.ok() {
                return Ok(a);
            }
            if a.status != 401 {
                return Err(status_fail(
                    &a,
                    action,
                    name,
                    &self.auth.identity().await,
                    &peer,
                ));
            }
            let Some(ch) = www_authenticate(&a) else {
                return Err(refused(&a, &self.auth.identity().await, &peer));
            };
            challenge::check(&host, &ch.scope).map_err(|m| Fail::new(ErrorKind::Denied, m))?;
            if let (Some(want), Some(have)) = (ch.tenant.as_deref(), self.auth.tenant().await)
                && !want.eq_ignore_ascii_case(&have)
                && !matches!(want, "common" | "organizations")
            {
                return Err(Fail::new(
                    ErrorKind::Denied,
                    format!(
                        "{peer} belongs to tenant {want}, but {} is for tenant {have}; set \
                         AZURE_TENANT_ID={want}",
                        self.auth.identity().await
                    ),
                ));
            }
            if ch.scope != scope {
                scope = ch.scope;
                bearer = self.auth.token(&scope, &self.ctx).await?;
                continue;
            }
            match self
                .auth
                .refresh(&scope, bearer.generation, &self.ctx)
                .await?
            {
                Some(b) => bearer = b,
                None => return Err(refused(&a, &self.auth.identity().await, &peer)),
            }
        }
        Err(Fail::new(
            ErrorKind::Denied,
            format!(
                "{peer} kept refusing the token of {}",
                self.auth.identity().await
            ),
        ))
    }

    /// `GET secrets/{name}/{version}`: the value and attributes, checked.
    pub async fn get(
        &self,
        name: &str,
        version: Option<&str>,
        want_value: bool,
    ) -> Result<Secret, Fail> {
        let path = format!("secrets/{name}/{}", version.unwrap_or(""));
        let a = self
            .call(Method::GET, self.url(&path)?, None, GET, name)
            .await?;
        let v: Zeroizing<Vec<u8>> = a.body;
        read_secret(&v, name, want_value)
    }

    /// Whether the secret exists (any version), without reading a value.
    pub async fn exists(&self, name: &str) -> Result<bool, Fail> {
        let mut url = self.url(&format!("secrets/{name}/versions"))?;
        url.query_pairs_mut().append_pair("maxresults", "1");
        match self.call(Method::GET, url, None, GET, name).await {
            Ok(_) => Ok(true),
            Err(f) if f.kind == ErrorKind::NotFound => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// `PUT secrets/{name}`: a new version (the secret is created when missing).
    pub async fn set(&self, name: &str, value: &str) -> Result<(), Fail> {
        let mut body = Zeroizing::new(Vec::with_capacity(value.len() * 6 + 16));
        body.extend_from_slice(b"{\"value\":");
        serde_json::to_writer(&mut *body, value)
            .map_err(|_| Fail::new(ErrorKind::BadData, "the value cannot be encoded"))?;
        body.push(b'}');
        self.call(
            Method::PUT,
            self.url(&format!("secrets/{name}"))?,
            Some(secret_body(body)),
            SET,
            name,
        )
        .await
        .map(|_| ())
    }

    /// `DELETE secrets/{name}`: soft delete where the vault keeps deleted secrets.
    pub async fn delete(&self, name: &str) -> Result<(), Fail> {
        self.call(
            Method::DELETE,
            self.url(&format!("secrets/{name}"))?,
            None,
            DELETE,
            name,
        )
        .await
        .map(|_| ())
    }

    /// Every secret whose name starts with `prefix`.
    pub async fn list(&self, prefix: &str) -> Result<Vec<(String, Secret)>, Fail> {
        let mut url = self.url("secrets")?;
        url.query_pairs_mut().append_pair("maxresults", "25");
        let mut out = Vec::new();
        for _ in 0..MAX_PAGES {
            let a = self
                .call(Method::GET, url.clone(), None, LIST, "secrets")
                .await?;
            let v: Value = serde_json::from_slice(&a.body).map_err(|_| not_json(&self.peer()))?;
            for item in v
                .get("value")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(name) = item
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|id| id.rsplit('/').next())
                else {
                    continue;
                };
                if name.starts_with(prefix) {
                    let (created, updated) = times(item.get("attributes"));
                    out.push((
                        name.to_string(),
                        Secret {
                            value: None,
                            version: None,
                            created,
                            updated,
                        },
                    ));
                }
            }
            let Some(next) = v
                .get("nextLink")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            else {
                break;
            };
            // The token goes only to the vault itself.
            let next = Url::parse(next)
                .ok()
                .filter(|n| n.origin() == self.base.origin());
            match next {
                Some(n) => url = n,
                None => {
                    return Err(Fail::new(
                        ErrorKind::Denied,
                        format!(
                            "{} sent a next page on another host; not following it",
                            self.peer()
                        ),
                    ));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// `Authorization: Bearer TOKEN`, marked sensitive, built without a plain copy.
fn bearer_header(b: &Bearer) -> Result<reqwest::header::HeaderValue, Fail> {
    let mut v = Zeroizing::new(Vec::with_capacity(b.token.len() + 7));
    v.extend_from_slice(b"Bearer ");
    v.extend_from_slice(b.token.expose());
    let mut h = reqwest::header::HeaderValue::from_bytes(&v).map_err(|_| {
        Fail::new(
            ErrorKind::Denied,
            "the access token cannot be sent as a header",
        )
    })?;
    h.set_sensitive(true);
    Ok(h)
}

fn www_authenticate(a: &Answer) -> Option<challenge::Challenge> {
    a.headers
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(challenge::parse)
}

fn not_json(peer: &Peer) -> Fail {
    Fail::new(
        ErrorKind::Unreachable,
        format!("{peer} answered with something that is not JSON; check it is a Key Vault"),
    )
}

fn times(attrs: Option<&Value>) -> (Option<SystemTime>, Option<SystemTime>) {
    let t = |k: &str| {
        attrs
            .and_then(|a| a.get(k))
            .and_then(Value::as_i64)
            .and_then(unix_time)
    };
    (t("created"), t("updated"))
}

/// A secret bundle, with the checks every use needs: enabled, `nbf`, `exp`.
fn read_secret(body: &[u8], name: &str, want_value: bool) -> Result<Secret, Fail> {
    #[derive(serde::Deserialize)]
    struct Bundle {
        value: Option<String>,
        id: Option<String>,
        attributes: Option<Value>,
    }
    let b: Bundle = serde_json::from_slice(body).map_err(|_| {
        Fail::new(
            ErrorKind::Unreachable,
            "the vault answered with something that is not a secret",
        )
    })?;
    let value = b.value.map(Zeroizing::new);
    let attrs = b.attributes.as_ref();
    check_validity(attrs, name, SystemTime::now())?;
    let (created, updated) = times(attrs);
    let value = match (want_value, value) {
        (false, _) => None,
        (true, Some(v)) => Some(SecretValue::from_slice(v.as_bytes())),
        (true, None) => {
            return Err(Fail::new(
                ErrorKind::BadData,
                "the vault's answer carries no value; check the host is a Key Vault",
            ));
        }
    };
    Ok(Secret {
        value,
        version: b
            .id
            .as_deref()
            .and_then(|id| id.rsplit('/').next())
            .map(str::to_string),
        created,
        updated,
    })
}

/// Disabled, expired (`exp`) or not yet valid (`nbf`) secrets are errors naming the date.
pub(crate) fn check_validity(
    attrs: Option<&Value>,
    name: &str,
    now: SystemTime,
) -> Result<(), Fail> {
    let get = |k: &str| attrs.and_then(|a| a.get(k));
    if get("enabled").and_then(Value::as_bool) == Some(false) {
        return Err(Fail::new(
            ErrorKind::Config,
            format!("secret {name} is disabled in the vault; enable it or name another version"),
        ));
    }
    let date = |k: &str| get(k).and_then(Value::as_i64).and_then(unix_time);
    if let Some(exp) = date("exp")
        && exp <= now
    {
        return Err(Fail::new(
            ErrorKind::Config,
            format!(
                "secret {name} expired on {} (its exp attribute); store a new version or extend it",
                humantime::format_rfc3339_seconds(exp)
            ),
        ));
    }
    if let Some(nbf) = date("nbf")
        && nbf > now
    {
        return Err(Fail::new(
            ErrorKind::Config,
            format!(
                "secret {name} is not valid before {} (its nbf attribute)",
                humantime::format_rfc3339_seconds(nbf)
            ),
        ));
    }
    Ok(())
}

/// Key Vault's `error.code`, inner code and `error.message`.
fn vault_error(body: &[u8]) -> (String, String, Option<String>) {
    let v: Value = serde_json::from_slice(body).unwrap_or_default();
    let e = v.get("error");
    let s = |x: Option<&Value>, k: &str| {
        x.and_then(|x| x.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let inner = e.and_then(|e| e.get("innererror"));
    let msg = e
        .and_then(|e| e.get("message"))
        .and_then(Value::as_str)
        .map(|m| one_line(m, 200))
        .filter(|m| !m.is_empty());
    (s(e, "code"), s(inner, "code"), msg)
}

fn refused(a: &Answer, identity: &str, peer: &Peer) -> Fail {
    let (_, _, msg) = vault_error(&a.body);
    let said = msg
        .map(|m| format!(" (Key Vault said: {m})"))
        .unwrap_or_default();
    Fail::new(
        ErrorKind::Denied,
        format!("{peer} refused the token of {identity}{said}"),
    )
}

/// An error answer as a one-line failure.
pub(crate) fn status_fail(
    a: &Answer,
    action: Action,
    name: &str,
    identity: &str,
    peer: &Peer,
) -> Fail {
    let (code, inner, msg) = vault_error(&a.body);
    let said = msg
        .map(|m| format!(" (Key Vault said: {m})"))
        .unwrap_or_default();
    match a.status {
        404 => Fail::new(
            ErrorKind::NotFound,
            format!("no secret {name} in {peer}{said}"),
        ),
        403 if inner == "SecretDisabled" || code == "SecretDisabled" => Fail::new(
            ErrorKind::Config,
            format!("secret {name} is disabled in the vault{said}"),
        ),
        403 => Fail::new(
            ErrorKind::Denied,
            format!(
                "{identity} may not {} secrets in {peer}: it needs the Key Vault Secrets {} role \
                 or an access policy granting secret {}{said}",
                action.permission,
                if action.permission == "get" || action.permission == "list" {
                    "User"
                } else {
                    "Officer"
                },
                action.permission
            ),
        ),
        409 => Fail::new(
            ErrorKind::Config,
            format!(
                "{name} conflicts with a deleted secret of that name{said}; recover it \
                 (`az keyvault secret recover`) or purge it first"
            ),
        ),
        s if crate::backend::rest::retryable(s) => Fail::new(
            ErrorKind::Unreachable,
            format!("{peer} is unavailable (HTTP {s}){said}; retry later"),
        ),
        s => Fail::new(
            ErrorKind::Config,
            format!("{peer} rejected the request for {name} (HTTP {s}){said}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn validity_dates_are_checked_and_named() {
        let now = std::time::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ok = serde_json::json!({"enabled": true, "exp": 1_800_000_000, "nbf": 1_600_000_000});
        assert!(check_validity(Some(&ok), "n", now).is_ok());
        let expired = serde_json::json!({"exp": 1_600_000_000});
        let e = check_validity(Some(&expired), "n", now).unwrap_err();
        assert!(
            e.message.contains("expired on 2020-09-13T12:26:40Z"),
            "{}",
            e.message
        );
        let early = serde_json::json!({"nbf": 1_800_000_000});
        let e = check_validity(Some(&early), "n", now).unwrap_err();
        assert!(
            e.message.contains("not valid before 2027-01-15"),
            "{}",
            e.message
        );
        let off = serde_json::json!({"enabled": false});
        assert!(
            check_validity(Some(&off), "n", now)
                .unwrap_err()
                .message
                .contains("disabled")
        );
        assert!(check_validity(None, "n", now).is_ok());
    }

    #[test]
    fn a_bundle_without_a_value_is_bad_data() {
        let e = read_secret(
            br#"{"id":"https://v/secrets/n/1","attributes":{}}"#,
            "n",
            true,
        )
        .err()
        .expect("no value must fail");
        assert_eq!(e.kind, ErrorKind::BadData);
        let s = read_secret(br#"{"id":"https://v/secrets/n/1"}"#, "n", false).unwrap();
        assert!(s.value.is_none());
        let s = read_secret(br#"{"value":""}"#, "n", true).unwrap();
        assert_eq!(s.value.unwrap().expose(), b"");
    }

    #[test]
    fn errors_map_to_kinds() {
        let peer = Peer {
            service: "Azure Key Vault",
            host: "v.vault.azure.net".into(),
        };
        let a = |status: u16, body: &str| Answer {
            status,
            headers: reqwest::header::HeaderMap::new(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        };
        let f = status_fail(
            &a(
                403,
                r#"{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}"#,
            ),
            GET,
            "db",
            "client c",
            &peer,
        );
        assert_eq!(f.kind, ErrorKind::Denied);
        assert!(
            f.message.contains("client c") && f.message.contains("Secrets User"),
            "{}",
            f.message
        );
        let f = status_fail(
            &a(
                403,
                r#"{"error":{"code":"Forbidden","innererror":{"code":"SecretDisabled"}}}"#,
            ),
            GET,
            "db",
            "c",
            &peer,
        );
        assert_eq!(f.kind, ErrorKind::Config);
        assert_eq!(
            status_fail(&a(404, "{}"), GET, "db", "c", &peer).kind,
            ErrorKind::NotFound
        );
        assert_eq!(
            status_fail(&a(429, ""), GET, "db", "c", &peer).kind,
            ErrorKind::Unreachable
        );
        assert_eq!(
            status_fail(&a(409, ""), SET, "db", "c", &peer).kind,
            ErrorKind::Config
        );
    }
}
