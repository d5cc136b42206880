//! The token endpoint: the authorization code exchange (with the PKCE
//! verifier), refresh, and the client-credentials grant (the MCP
//! `oauth-client-credentials` extension), with the client authenticated as
//! its registration says: `client_secret_basic`, `client_secret_post`,
//! `none`, or `private_key_jwt`.
//!
//! Owns building those requests (RFC 8707 `resource` on each unless turned
//! off), reading the answer into a [`Granted`] (zeroized, `Debug` redacted;
//! only `Bearer` tokens are accepted), and an OAuth error answer into an
//! [`OAuthError`] carrying the error code (`invalid_grant` tells the caller
//! a refresh failed for good). Must not store anything or print.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::http::{self as oh, form_encode};
use super::{Kind, OAuthError};
use crate::remote::Http;
use crate::secret::SecretValue;

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    None,
    Basic,
    Post,
    PrivateKeyJwt,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::Basic => "client_secret_basic",
            Method::Post => "client_secret_post",
            Method::PrivateKeyJwt => "private_key_jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Method> {
        Some(match s {
            "none" => Method::None,
            "client_secret_basic" => Method::Basic,
            "client_secret_post" => Method::Post,
            "private_key_jwt" => Method::PrivateKeyJwt,
            _ => return None,
        })
    }
}

/// The client as the token endpoint sees it. `Debug` hides the credential.
#[derive(Clone)]
pub struct ClientAuth {
    pub client_id: String,
    pub method: Method,
    /// The client secret, or the PEM private key for `private_key_jwt`.
    pub credential: Option<SecretValue>,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .field(
                "credential",
                &self.credential.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// Where the token endpoint is, and who issued it (the audience of an assertion).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub token_endpoint: String,
    pub issuer: String,
}

/// What the token endpoint granted. `Debug` shows no token.
pub struct Granted {
    pub access_token: Zeroizing<String>,
    pub token_type: String,
    pub refresh_token: Option<Zeroizing<String>>,
    /// Unix seconds.
    pub expires_at: Option<u64>,
    pub scope: Option<String>,
}

impl std::fmt::Debug for Granted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Granted")
            .field("token_type", &self.token_type)
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "[REDACTED]"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// One grant's parameters (values zeroized).
pub type Params = Vec<(&'static str, Zeroizing<String>)>;

fn p(k: &'static str, v: &str) -> (&'static str, Zeroizing<String>) {
    (k, Zeroizing::new(v.to_string()))
}

/// `grant_type=authorization_code`.
pub fn code_params(
    code: &str,
    verifier: &str,
    redirect_uri: &str,
    resource: Option<&str>,
) -> Params {
    let mut v = vec![
        p("grant_type", "authorization_code"),
        p("code", code),
        p("code_verifier", verifier),
        p("redirect_uri", redirect_uri),
    ];
    if let Some(r) = resource {
        v.push(p("resource", r));
    }
    v
}

/// `grant_type=refresh_token`.
pub fn refresh_params(refresh_token: &str, resource: Option<&str>) -> Params {
    let mut v = vec![
        p("grant_type", "refresh_token"),
        p("refresh_token", refresh_token),
    ];
    if let Some(r) = resource {
        v.push(p("resource", r));
    }
    v
}

/// `grant_type=client_credentials`.
pub fn client_credentials_params(scope: Option<&str>, resource: Option<&str>) -> Params {
    let mut v = vec![p("grant_type", "client_credentials")];
    if let Some(s) = scope.filter(|s| !s.is_empty()) {
        v.push(p("scope", s));
    }
    if let Some(r) = resource {
        v.push(p("resource", r));
    }
    v
}

/// Adds the client's authentication to `params`; the header (Basic) if any.
pub fn authenticate(
    client: &ClientAuth,
    aud: &str,
    params: &mut Params,
) -> Result<HeaderMap, OAuthError> {
    let mut headers = HeaderMap::new();
    let secret = || -> Result<Zeroizing<String>, OAuthError> {
        let s = client.credential.as_ref().and_then(|s| s.as_str()).ok_or_else(|| {
            OAuthError::new(
                Kind::Config,
                format!(
                    "client {} authenticates with {} and has no client secret (--client-secret REF)",
                    client.client_id,
                    client.method.as_str()
                ),
            )
        })?;
        Ok(Zeroizing::new(s.to_string()))
    };
    match client.method {
        Method::None => params.push(p("client_id", &client.client_id)),
        Method::Post => {
            params.push(p("client_id", &client.client_id));
            params.push(("client_secret", secret()?));
        }
        Method::Basic => {
            // RFC 6749 §2.3.1: both form-encoded before base64
            let pair = Zeroizing::new(format!(
                "{}:{}",
                form_encode(&client.client_id),
                Zeroizing::new(form_encode(&secret()?)).as_str()
            ));
            let b64 =
                Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(pair.as_bytes()));
            let mut v =
                HeaderValue::from_str(&format!("Basic {}", b64.as_str())).map_err(|_| {
                    OAuthError::new(Kind::BadData, "the client secret cannot go in a header")
                })?;
            v.set_sensitive(true);
            headers.insert(header::AUTHORIZATION, v);
        }
        Method::PrivateKeyJwt => {
            let pem = client.credential.as_ref().ok_or_else(|| {
                OAuthError::new(
                    Kind::Config,
                    format!(
                        "client {} authenticates with private_key_jwt and has no key (--private-key REF)",
                        client.client_id
                    ),
                )
            })?;
            let jwt = super::jwt::sign(pem.expose(), &client.client_id, aud)?;
            params.push(p("client_id", &client.client_id));
            params.push(p("client_assertion_type", super::jwt::ASSERTION_TYPE));
            params.push(("client_assertion", jwt));
        }
    }
    Ok(headers)
}

/// Sends one grant to the token endpoint.
pub async fn request(
    http: &Http,
    ep: &Endpoint,
    client: &ClientAuth,
    mut params: Params,
) -> Result<Granted, OAuthError> {
    let url = oh::url(&ep.token_endpoint, "the token endpoint")?;
    // The grant type names the step; no other parameter is shown (codes, verifiers, tokens).
    let grant = params
        .iter()
        .find(|(k, _)| *k == "grant_type")
        .map_or("?", |(_, v)| v.as_str());
    tracing::info!("oauth: token request ({grant}) to {}", oh::bare(&url));
    let headers = authenticate(client, &ep.issuer, &mut params)?;
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let body = oh::form(&pairs);
    drop(pairs);
    let a = oh::post(
        http,
        &url,
        body,
        "application/x-www-form-urlencoded",
        &headers,
    )
    .await?;
    if !a.status.is_success() {
        return Err(error_answer(&a, "token"));
    }
    granted(&a)
}

#[derive(Deserialize)]
struct Raw {
    access_token: oh::Zstr,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    refresh_token: Option<oh::Zstr>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    scope: Option<String>,
}

/// A successful token answer.
fn granted(a: &oh::Answer) -> Result<Granted, OAuthError> {
    let raw: Raw = serde_json::from_slice(&a.body).map_err(|_| {
        OAuthError::new(
            Kind::BadData,
            format!("{}'s token answer is not a token response", a.origin),
        )
    })?;
    if !raw.token_type.eq_ignore_ascii_case("bearer") {
        return Err(OAuthError::new(
            Kind::BadData,
            format!(
                "{} issued a token of type {:?}; only Bearer tokens are supported",
                a.origin,
                raw.token_type.chars().take(32).collect::<String>()
            ),
        ));
    }
    let access_token = raw.access_token.0;
    if access_token.is_empty() || access_token.bytes().any(|b| !(0x21..=0x7e).contains(&b)) {
        return Err(OAuthError::new(
            Kind::BadData,
            format!(
                "{} issued an access token that cannot go in a header",
                a.origin
            ),
        ));
    }
    let expires_in = match &raw.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Ok(Granted {
        access_token,
        token_type: "Bearer".into(),
        refresh_token: raw.refresh_token.map(|r| r.0).filter(|r| !r.is_empty()),
        expires_at: expires_in.map(|s| now().saturating_add(s)),
        scope: raw.scope.filter(|s| !s.trim().is_empty()),
    })
}

/// What a refusal of a refresh says is gone for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The refresh token, or the resource it was granted for
    /// (`invalid_grant`, `invalid_target`): authorize anew.
    Grant,
    /// The client (`invalid_client`, `unauthorized_client`: a forgotten
    /// registration): register anew, then authorize.
    Client,
}

/// Whether a token endpoint's refusal of a refresh is final, and what it
/// says is gone; None: a passing failure (try again later).
pub fn gone(e: &OAuthError) -> Option<Gone> {
    match e.code.as_deref()? {
        "invalid_grant" | "invalid_target" => Some(Gone::Grant),
        "invalid_client" | "unauthorized_client" => Some(Gone::Client),
        _ => None,
    }
}

/// An OAuth error answer (RFC 6749 §5.2) as an error naming its code.
pub fn error_answer(a: &oh::Answer, what: &str) -> OAuthError {
    #[derive(Deserialize)]
    struct E {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    let status = a.status.as_u16();
    let clean = |s: &str| -> String { s.chars().filter(|c| !c.is_control()).take(200).collect() };
    match serde_json::from_slice::<E>(&a.body) {
        Ok(e) => {
            let code = clean(&e.error);
            let desc = e
                .error_description
                .map(|d| format!(" ({})", clean(&d)))
                .unwrap_or_default();
            let kind = match code.as_str() {
                "invalid_client"
                | "invalid_grant"
                | "invalid_target"
                | "unauthorized_client"
                | "access_denied"
                | "invalid_scope" => Kind::Denied,
                _ => Kind::BadData,
            };
            let mut err = OAuthError::new(
                kind,
                format!(
                    "{} refused the {what} request (HTTP {status}): {code}{desc}",
                    a.origin
                ),
            );
            err.code = Some(code);
            err
        }
        Err(_) => OAuthError::new(
            if a.status.is_server_error() {
                Kind::Unreachable
            } else {
                Kind::Denied
            },
            format!(
                "{} answered the {what} request with HTTP {status}",
                a.origin
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> oh::Answer {
        oh::Answer {
            status: http::StatusCode::from_u16(status).expect("status"),
            body: Zeroizing::new(body.as_bytes().to_vec()),
            origin: "https://as.example.com".into(),
        }
    }

    #[test]
    fn token_answers() {
        let g = granted(&answer(
            200,
            r#"{"access_token":"at-canary-1","token_type":"bearer","expires_in":3600,"refresh_token":"rt-canary-2","scope":"a b"}"#,
        ))
        .expect("granted");
        assert_eq!(g.access_token.as_str(), "at-canary-1");
        assert!(g.expires_at.is_some_and(|e| e >= now() + 3590));
        let shown = format!("{g:?}");
        assert!(!shown.contains("canary"), "{shown}");
        assert!(granted(&answer(200, r#"{"access_token":"x","token_type":"DPoP"}"#)).is_err());
        assert!(
            granted(&answer(
                200,
                r#"{"access_token":"x y","token_type":"Bearer"}"#
            ))
            .is_err()
        );
        let e = error_answer(
            &answer(
                400,
                r#"{"error":"invalid_grant","error_description":"revoked"}"#,
            ),
            "refresh",
        );
        assert_eq!(e.code.as_deref(), Some("invalid_grant"));
        assert!(e.message.contains("revoked"));
    }

    #[test]
    fn refusals_of_a_refresh_that_are_final() {
        let refusal =
            |code: &str| error_answer(&answer(400, &format!(r#"{{"error":"{code}"}}"#)), "refresh");
        assert_eq!(gone(&refusal("invalid_grant")), Some(Gone::Grant));
        // oidc-provider: a refresh for a resource the grant does not hold
        assert_eq!(gone(&refusal("invalid_target")), Some(Gone::Grant));
        assert_eq!(gone(&refusal("invalid_client")), Some(Gone::Client));
        assert_eq!(gone(&refusal("unauthorized_client")), Some(Gone::Client));
        assert_eq!(gone(&refusal("temporarily_unavailable")), None);
        assert_eq!(gone(&OAuthError::new(Kind::Unreachable, "down")), None);
    }

    #[test]
    fn client_authentication_forms() {
        let client = |m, c: Option<&str>| ClientAuth {
            client_id: "id:1".into(),
            method: m,
            credential: c.map(|c| SecretValue::from_string(c.to_string())),
        };
        let mut ps = Params::new();
        let h =
            authenticate(&client(Method::Basic, Some("s3cr&t")), "aud", &mut ps).expect("basic");
        let v = h.get(header::AUTHORIZATION).expect("header");
        assert!(v.is_sensitive());
        let b64 = v.to_str().expect("ascii").trim_start_matches("Basic ");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("b64");
        assert_eq!(decoded, b"id%3A1:s3cr%26t");
        assert!(ps.is_empty());
        let mut ps = Params::new();
        authenticate(&client(Method::Post, Some("s")), "aud", &mut ps).expect("post");
        assert_eq!(
            ps.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            ["client_id", "client_secret"]
        );
        let mut ps = Params::new();
        assert!(authenticate(&client(Method::Post, None), "aud", &mut ps).is_err());
        let shown = format!("{:?}", client(Method::Post, Some("canary-secret")));
        assert!(!shown.contains("canary"));
    }
}
