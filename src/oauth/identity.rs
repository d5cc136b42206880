//! Which client we are to an authorization server, in the MCP spec's
//! order: pre-registered (`--client-id`, its secret or key from a
//! reference), a Client ID Metadata Document URL when the server says it
//! supports them (`--client-metadata-url`), a registration kept from before,
//! else dynamic client registration (RFC 7591) as a native application.
//!
//! Owns choosing among these, the registration request (`application_type:
//! native`, the loopback redirect URI, `authorization_code` and
//! `refresh_token`, the token endpoint authentication method chosen from
//! what the server supports) and reading its answer. Must not store: the
//! caller keeps a new registration.

use serde::Deserialize;
use zeroize::Zeroizing;

use super::discovery::ServerMetadata;
use super::http as oh;
use super::token::Method;
use super::{Kind, OAuthError};
use crate::remote::Http;
use crate::secret::SecretValue;

/// The name we register under.
pub const CLIENT_NAME: &str = "mcp-warden";

/// A client registered by RFC 7591. `Debug` hides the secrets.
pub struct Registered {
    pub client_id: String,
    pub client_secret: Option<SecretValue>,
    pub client_secret_expires_at: Option<u64>,
    pub method: Method,
    pub redirect_uris: Vec<String>,
    pub registration_access_token: Option<SecretValue>,
    pub registration_client_uri: Option<String>,
}

impl std::fmt::Debug for Registered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registered")
            .field("client_id", &self.client_id)
            .field("method", &self.method)
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

/// The method a client with (or without) a secret uses, among those the
/// server supports (RFC 8414: absent means `client_secret_basic`).
pub fn choose_method(m: &ServerMetadata, has_secret: bool, has_key: bool) -> Method {
    let supported = m
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let offers = |x: Method| supported.iter().any(|s| s == x.as_str());
    if has_key {
        return Method::PrivateKeyJwt;
    }
    if has_secret {
        if offers(Method::Basic) || !offers(Method::Post) {
            return Method::Basic;
        }
        return Method::Post;
    }
    Method::None
}

/// The method to ask for at registration: a public client (`none`) when the
/// server allows one, else what it supports.
fn wanted_method(m: &ServerMetadata) -> Method {
    let supported = m
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    [Method::None, Method::Basic, Method::Post]
        .into_iter()
        .find(|x| supported.iter().any(|s| s == x.as_str()))
        .unwrap_or(Method::Basic)
}

/// Registers a native client for `redirect_uri` (RFC 7591). No `scope` is
/// sent: a server may limit the client to the scopes registered, and the
/// client must stay free to ask for more later (step-up on
/// `insufficient_scope`); each authorization request names its scopes.
pub async fn register(
    http: &Http,
    m: &ServerMetadata,
    redirect_uri: &str,
) -> Result<Registered, OAuthError> {
    let endpoint = m.registration_endpoint.as_deref().ok_or_else(|| {
        OAuthError::new(
            Kind::Config,
            format!(
                "{} offers no dynamic client registration: register a client there and give --client-id (and --client-secret REF)",
                super::shown(&m.issuer)
            ),
        )
    })?;
    let url = oh::url(endpoint, "the registration endpoint")?;
    let method = wanted_method(m);
    tracing::info!(
        "oauth: registering mcp-warden as a client at {} ({})",
        oh::bare(&url),
        method.as_str()
    );
    let doc = serde_json::json!({
        "client_name": CLIENT_NAME,
        "application_type": "native",
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": method.as_str(),
    });
    let body = Zeroizing::new(serde_json::to_vec(&doc).unwrap_or_default());
    let a = oh::post(
        http,
        &url,
        body,
        "application/json",
        &http::HeaderMap::new(),
    )
    .await?;
    if !a.status.is_success() {
        return Err(super::token::error_answer(&a, "client registration"));
    }
    let supported = m
        .token_endpoint_auth_methods_supported
        .clone()
        .unwrap_or_else(|| vec!["client_secret_basic".into()]);
    let mut reg = read_registration(&a.body, method, redirect_uri, &a.origin)?;
    if reg.method == Method::Basic && !supported.iter().any(|s| s == "client_secret_basic") {
        // the answer named no method and the server takes no Basic: what it does take
        if supported.iter().any(|s| s == "client_secret_post") && reg.client_secret.is_some() {
            reg.method = Method::Post;
        } else if supported.iter().any(|s| s == "none") {
            reg.method = Method::None;
        }
    }
    Ok(reg)
}

#[derive(Deserialize)]
struct Raw {
    client_id: String,
    #[serde(default)]
    client_secret: Option<oh::Zstr>,
    #[serde(default)]
    client_secret_expires_at: Option<u64>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    registration_access_token: Option<oh::Zstr>,
    #[serde(default)]
    registration_client_uri: Option<String>,
}

/// A registration answer (RFC 7591 §3.2.1): the method the server decided
/// wins over the one asked for.
pub fn read_registration(
    body: &[u8],
    asked: Method,
    redirect_uri: &str,
    origin: &str,
) -> Result<Registered, OAuthError> {
    let raw: Raw = serde_json::from_slice(body).map_err(|_| {
        OAuthError::new(
            Kind::BadData,
            format!("{origin}'s registration answer is not a client information response"),
        )
    })?;
    if raw.client_id.is_empty() {
        return Err(OAuthError::new(
            Kind::BadData,
            format!("{origin} registered a client without a client_id"),
        ));
    }
    let secret = raw
        .client_secret
        .filter(|s| !s.0.is_empty())
        .map(|s| SecretValue::from_string(s.0.to_string()));
    let method = match raw
        .token_endpoint_auth_method
        .as_deref()
        .and_then(Method::parse)
    {
        Some(m) => m,
        None if secret.is_some() && asked == Method::None => Method::Basic,
        None => asked,
    };
    Ok(Registered {
        client_id: raw.client_id,
        client_secret: secret,
        client_secret_expires_at: raw.client_secret_expires_at.filter(|e| *e > 0),
        method,
        redirect_uris: raw
            .redirect_uris
            .unwrap_or_else(|| vec![redirect_uri.to_string()]),
        registration_access_token: raw
            .registration_access_token
            .map(|t| SecretValue::from_string(t.0.to_string())),
        registration_client_uri: raw.registration_client_uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(methods: Option<&[&str]>) -> ServerMetadata {
        ServerMetadata {
            token_endpoint_auth_methods_supported: methods
                .map(|m| m.iter().map(|s| s.to_string()).collect()),
            ..ServerMetadata::default()
        }
    }

    #[test]
    fn methods_follow_the_server() {
        assert_eq!(
            wanted_method(&meta(Some(&["client_secret_post", "none"]))),
            Method::None
        );
        assert_eq!(
            wanted_method(&meta(Some(&["client_secret_post"]))),
            Method::Post
        );
        assert_eq!(wanted_method(&meta(None)), Method::Basic);
        assert_eq!(
            choose_method(&meta(Some(&["client_secret_post"])), true, false),
            Method::Post
        );
        assert_eq!(choose_method(&meta(None), true, false), Method::Basic);
        assert_eq!(
            choose_method(&meta(Some(&["none"])), false, false),
            Method::None
        );
        assert_eq!(
            choose_method(&meta(None), false, true),
            Method::PrivateKeyJwt
        );
    }

    #[test]
    fn registration_answers() {
        let r = read_registration(
            br#"{"client_id":"c1","client_secret":"canary-sec","token_endpoint_auth_method":"client_secret_post"}"#,
            Method::None,
            "http://127.0.0.1:1/callback",
            "o",
        )
        .expect("registered");
        assert_eq!(r.method, Method::Post);
        assert_eq!(r.redirect_uris, ["http://127.0.0.1:1/callback"]);
        assert!(!format!("{r:?}").contains("canary"));
        let r = read_registration(
            br#"{"client_id":"c2","client_secret":"s"}"#,
            Method::None,
            "u",
            "o",
        )
        .expect("registered");
        assert_eq!(r.method, Method::Basic);
        assert!(read_registration(br#"{"client_secret":"s"}"#, Method::None, "u", "o").is_err());
    }
}
