//! Finding the authorization server of an MCP server, as the MCP
//! authorization spec (2025-11-25) orders it.
//!
//! Owns: protected resource metadata (RFC 9728) from the challenge's
//! `resource_metadata`, else `/.well-known/oauth-protected-resource/<path>`
//! then `/.well-known/oauth-protected-resource` on the server's origin, with
//! its `resource` checked against the server's URL (same origin, and the
//! server's path at or below the resource's); authorization server metadata
//! (RFC 8414) and OpenID Connect discovery in the spec's order for an issuer
//! with and without a path, with the `issuer` checked and S256 PKCE
//! required; and the 2025-03-26 back-compat when a server has no resource
//! metadata: metadata at the server's origin, else `/authorize`, `/token`,
//! `/register` there. Must not register clients or ask for tokens.

use reqwest::Url;
use serde::Deserialize;

use super::http::{self as oh, Answer};
use super::{Kind, OAuthError};
use crate::remote::Http;
use crate::remote::endpoint::origin_of;

/// Protected resource metadata (the fields used).
#[derive(Debug, Clone, Deserialize)]
pub struct ResourceMetadata {
    pub resource: String,
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (the fields used).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerMetadata {
    pub issuer: String,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub revocation_endpoint: Option<String>,
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    #[serde(default)]
    pub client_id_metadata_document_supported: bool,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

/// Everything discovery found for one MCP server.
#[derive(Debug, Clone)]
pub struct Found {
    /// The RFC 8707 `resource` to ask for (the metadata's, else the server URL).
    pub resource: String,
    /// Scopes the resource metadata lists.
    pub resource_scopes: Option<Vec<String>>,
    pub server: ServerMetadata,
    /// Found by the 2025-03-26 rules (no resource metadata).
    pub legacy: bool,
}

/// The server URL as a resource identifier: no fragment, no query, the
/// scheme and host lower case (the `url` crate's serialization).
pub fn canonical_resource(server: &Url) -> String {
    let mut u = server.clone();
    u.set_fragment(None);
    u.set_query(None);
    let s = u.to_string();
    if u.path() == "/" {
        s.trim_end_matches('/').to_string()
    } else {
        s
    }
}

/// The store's key for `server`'s grants: its canonical resource, plus
/// (when `query_counts`) a hash of its query, so a gateway that routes by
/// query (`/mcp?server=a`, `?server=b`) keeps one grant per server. The
/// query itself is never kept.
pub fn grant_resource(server: &Url, query_counts: bool) -> String {
    use sha2::{Digest, Sha256};
    let base = canonical_resource(server);
    match server.query().filter(|q| query_counts && !q.is_empty()) {
        Some(q) => {
            let h = Sha256::digest(q.as_bytes());
            format!("{base}#query-{}", &hex::encode(h)[..16])
        }
        None => base,
    }
}

/// Discovery from a refusal's `resource_metadata` (if any) for `server`.
/// `refused`: the server answered 401 (without one, a server with no
/// resource metadata is not taken for a 2025-03-26 one).
pub async fn discover(
    http: &Http,
    server: &Url,
    resource_metadata: Option<&str>,
    refused: bool,
) -> Result<Found, OAuthError> {
    tracing::info!(
        "oauth: discovering how {} authorizes ({})",
        origin_of(server),
        if refused {
            "it answered 401"
        } else {
            "ahead of time"
        }
    );
    let Some(prm) = resource_metadata_of(http, server, resource_metadata).await? else {
        if !refused {
            return Err(OAuthError::new(
                Kind::NotFound,
                format!(
                    "{} did not ask for authorization: it answered without a 401 and publishes no protected resource metadata",
                    origin_of(server)
                ),
            ));
        }
        tracing::info!(
            "oauth: {} publishes no protected resource metadata; trying the 2025-03-26 fallbacks",
            origin_of(server)
        );
        return legacy(http, server).await;
    };
    check_resource(server, &prm.resource)?;
    let issuer = prm.authorization_servers.first().ok_or_else(|| {
        OAuthError::new(
            Kind::BadData,
            format!(
                "{}'s protected resource metadata names no authorization server",
                origin_of(server)
            ),
        )
    })?;
    let issuer_url = oh::named(
        issuer,
        "the authorization server in the resource metadata",
        server,
    )?;
    tracing::info!(
        "oauth: the resource metadata names the authorization server {}",
        oh::bare(&issuer_url)
    );
    let meta = server_metadata(http, &issuer_url, server)
        .await?
        .ok_or_else(|| {
            OAuthError::new(
                Kind::NotFound,
                format!(
                    "{} publishes no OAuth or OpenID Connect metadata",
                    origin_of(&issuer_url)
                ),
            )
        })?;
    Ok(Found {
        resource: prm.resource.clone(),
        resource_scopes: prm.scopes_supported.clone(),
        server: meta,
        legacy: false,
    })
}

/// The resource metadata: from the challenge's URL, else the well-known
/// locations (path-based first). None when the server has none.
async fn resource_metadata_of(
    http: &Http,
    server: &Url,
    from_challenge: Option<&str>,
) -> Result<Option<ResourceMetadata>, OAuthError> {
    let candidates: Vec<Url> = match from_challenge {
        Some(u) => vec![oh::named(
            u,
            "the resource_metadata URL of the challenge",
            server,
        )?],
        None => well_known(server, "oauth-protected-resource", true),
    };
    let how = if from_challenge.is_some() {
        "the URL in its 401 challenge"
    } else {
        "a /.well-known/oauth-protected-resource URL"
    };
    for u in candidates {
        // The path is not shown: it may hold the MCP server's own path.
        tracing::debug!(
            "oauth: protected resource metadata: GET {} ({how})",
            origin_of(&u)
        );
        let a = oh::get(http, &u).await?;
        if let Some(m) = json::<ResourceMetadata>(&a, "protected resource metadata")? {
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// `/.well-known/NAME/<path>` (when the URL has a path and `with_path`),
/// then `/.well-known/NAME`, on `u`'s origin.
fn well_known(u: &Url, name: &str, with_path: bool) -> Vec<Url> {
    let mut out = Vec::new();
    let path = u.path().trim_end_matches('/');
    let mut at = |p: &str| {
        let mut x = u.clone();
        x.set_query(None);
        x.set_fragment(None);
        x.set_path(p);
        out.push(x);
    };
    if with_path && !path.is_empty() {
        at(&format!("/.well-known/{name}{path}"));
    }
    at(&format!("/.well-known/{name}"));
    out
}

/// A JSON document from a 200 answer; None for 4xx (not there); an error
/// for 5xx or a body that is not the document.
fn json<T: for<'de> Deserialize<'de>>(a: &Answer, what: &str) -> Result<Option<T>, OAuthError> {
    if a.status.is_client_error() {
        return Ok(None);
    }
    if !a.status.is_success() {
        return Err(OAuthError::new(
            Kind::Unreachable,
            format!(
                "{} answered HTTP {} for its {what}",
                a.origin,
                a.status.as_u16()
            ),
        ));
    }
    serde_json::from_slice(&a.body).map(Some).map_err(|_| {
        OAuthError::new(
            Kind::BadData,
            format!("{}'s {what} is not a valid JSON document", a.origin),
        )
    })
}

/// RFC 9728 §3.3 / MCP: the metadata's `resource` must name this server:
/// the same origin, and the server's path at or below the resource's path.
pub fn check_resource(server: &Url, resource: &str) -> Result<(), OAuthError> {
    let bad = || {
        OAuthError::new(
            Kind::Denied,
            format!(
                "{}'s protected resource metadata is for another resource ({}); refusing to authorize",
                origin_of(server),
                resource
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
            ),
        )
    };
    let r = Url::parse(resource).map_err(|_| bad())?;
    if origin_of(&r) != origin_of(server) || r.fragment().is_some() {
        return Err(bad());
    }
    let rp = r.path().trim_end_matches('/');
    let sp = server.path().trim_end_matches('/');
    let below = sp == rp || sp.starts_with(&format!("{rp}/"));
    if below { Ok(()) } else { Err(bad()) }
}

/// RFC 8414 / OIDC discovery URLs for `issuer`, in the spec's order.
pub fn metadata_urls(issuer: &Url) -> Vec<Url> {
    let path = issuer.path().trim_end_matches('/').to_string();
    let at = |p: String| {
        let mut x = issuer.clone();
        x.set_query(None);
        x.set_fragment(None);
        x.set_path(&p);
        x
    };
    if path.is_empty() {
        vec![
            at("/.well-known/oauth-authorization-server".into()),
            at("/.well-known/openid-configuration".into()),
        ]
    } else {
        vec![
            at(format!("/.well-known/oauth-authorization-server{path}")),
            at(format!("/.well-known/openid-configuration{path}")),
            at(format!("{path}/.well-known/openid-configuration")),
        ]
    }
}

/// The authorization server's metadata, its issuer checked (None: none
/// found); its endpoints must be usable from the MCP server `server`.
pub async fn server_metadata(
    http: &Http,
    issuer: &Url,
    server: &Url,
) -> Result<Option<ServerMetadata>, OAuthError> {
    for u in metadata_urls(issuer) {
        tracing::debug!("oauth: authorization server metadata: GET {}", oh::bare(&u));
        let a = oh::get(http, &u).await?;
        if let Some(m) = json::<ServerMetadata>(&a, "authorization server metadata")? {
            if !same_issuer(&m.issuer, issuer.as_str()) {
                return Err(OAuthError::new(
                    Kind::Denied,
                    format!(
                        "{}'s metadata names another issuer; refused (RFC 8414 §3.3)",
                        origin_of(issuer)
                    ),
                ));
            }
            check_server(&m, &a.origin, server)?;
            report_endpoints(&m);
            return Ok(Some(m));
        }
    }
    Ok(None)
}

/// `-v`: the endpoints the authorization server published (URLs without a query).
fn report_endpoints(m: &ServerMetadata) {
    let show = |e: Option<&String>| {
        e.and_then(|t| Url::parse(t).ok())
            .map_or("none".to_string(), |u| oh::bare(&u))
    };
    tracing::info!(
        "oauth: authorization server {}: authorization endpoint {}, token endpoint {}, registration endpoint {}",
        super::shown(&m.issuer),
        show(m.authorization_endpoint.as_ref()),
        show(Some(&m.token_endpoint)),
        show(m.registration_endpoint.as_ref())
    );
}

fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

/// The endpoints are URLs we may use for the MCP server `server` ([`oh::named`]);
/// PKCE S256 is offered (an authorization endpoint without it is refused,
/// as the spec asks).
fn check_server(m: &ServerMetadata, origin: &str, server: &Url) -> Result<(), OAuthError> {
    oh::named(&m.token_endpoint, "the token endpoint", server)?;
    for (e, what) in [
        (&m.authorization_endpoint, "the authorization endpoint"),
        (&m.registration_endpoint, "the registration endpoint"),
        (&m.revocation_endpoint, "the revocation endpoint"),
    ] {
        if let Some(e) = e {
            oh::named(e, what, server)?;
        }
    }
    let s256 = m
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|v| v.iter().any(|x| x == "S256"));
    if m.authorization_endpoint.is_some() && !s256 {
        return Err(OAuthError::new(
            Kind::Denied,
            format!(
                "{origin} does not offer PKCE with S256 (code_challenge_methods_supported); refusing the authorization code flow"
            ),
        ));
    }
    Ok(())
}

/// 2025-03-26: the server's origin is the authorization server: its
/// metadata there, else the default endpoints.
async fn legacy(http: &Http, server: &Url) -> Result<Found, OAuthError> {
    let mut base = server.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    let origin = origin_of(server);
    let mut found = None;
    for u in well_known(&base, "oauth-authorization-server", false) {
        let a = oh::get(http, &u).await?;
        if let Some(m) = json::<ServerMetadata>(&a, "authorization server metadata")? {
            // the issuer of this era's metadata is not the URL it came from
            check_server(&m, &a.origin, server)?;
            found = Some(m);
            break;
        }
    }
    let server_meta = found.unwrap_or_else(|| ServerMetadata {
        issuer: origin.clone(),
        authorization_endpoint: Some(format!("{origin}/authorize")),
        token_endpoint: format!("{origin}/token"),
        registration_endpoint: Some(format!("{origin}/register")),
        code_challenge_methods_supported: Some(vec!["S256".into()]),
        ..ServerMetadata::default()
    });
    Ok(Found {
        resource: canonical_resource(server),
        resource_scopes: None,
        server: server_meta,
        legacy: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    fn strs(v: &[Url]) -> Vec<String> {
        v.iter().map(Url::to_string).collect()
    }

    #[test]
    fn metadata_urls_in_the_spec_order() {
        assert_eq!(
            strs(&metadata_urls(&u("https://auth.example.com"))),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server",
                "https://auth.example.com/.well-known/openid-configuration"
            ]
        );
        assert_eq!(
            strs(&metadata_urls(&u("https://auth.example.com/tenant1/"))),
            [
                "https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                "https://auth.example.com/.well-known/openid-configuration/tenant1",
                "https://auth.example.com/tenant1/.well-known/openid-configuration"
            ]
        );
    }

    #[test]
    fn resource_metadata_locations() {
        assert_eq!(
            strs(&well_known(
                &u("https://mcp.example.com/public/mcp?x=1"),
                "oauth-protected-resource",
                true
            )),
            [
                "https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
                "https://mcp.example.com/.well-known/oauth-protected-resource"
            ]
        );
        assert_eq!(
            strs(&well_known(
                &u("https://mcp.example.com/"),
                "oauth-protected-resource",
                true
            )),
            ["https://mcp.example.com/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn the_resource_must_name_this_server() {
        let s = u("http://localhost:3000/mcp");
        assert!(check_resource(&s, "http://localhost:3000/mcp").is_ok());
        assert!(check_resource(&s, "http://localhost:3000").is_ok());
        assert!(check_resource(&s, "http://localhost:3000/").is_ok());
        assert!(check_resource(&s, "https://evil.example.com/mcp").is_err());
        assert!(check_resource(&s, "http://localhost:3001/mcp").is_err());
        assert!(check_resource(&s, "http://localhost:3000/mc").is_err());
        assert!(check_resource(&s, "http://localhost:3000/mcp/deeper").is_err());
        assert!(check_resource(&s, "not a url").is_err());
    }

    #[test]
    fn metadata_parsing_and_checks() {
        let m: ServerMetadata = serde_json::from_str(
            r#"{"issuer":"https://as.example.com","authorization_endpoint":"https://as.example.com/auth",
                "token_endpoint":"https://as.example.com/token","code_challenge_methods_supported":["S256"],
                "client_id_metadata_document_supported":true,"unknown":{"x":1}}"#,
        )
        .expect("metadata");
        assert!(m.client_id_metadata_document_supported);
        let mcp = u("https://mcp.example.com/mcp");
        assert!(check_server(&m, "https://as.example.com", &mcp).is_ok());
        let mut no_pkce = m.clone();
        no_pkce.code_challenge_methods_supported = None;
        assert!(check_server(&no_pkce, "o", &mcp).is_err());
        let mut plain = m.clone();
        plain.token_endpoint = "http://as.example.com/token".into();
        assert!(check_server(&plain, "o", &mcp).is_err());
        // a public server's metadata cannot point us at a private address
        let mut inward = m.clone();
        inward.registration_endpoint = Some("https://10.0.0.5/register".into());
        assert!(check_server(&inward, "o", &mcp).is_err());
        assert_eq!(
            canonical_resource(&u("HTTPS://MCP.Example.com/mcp?k=v#f")),
            "https://mcp.example.com/mcp"
        );
        assert_eq!(
            canonical_resource(&u("https://mcp.example.com/")),
            "https://mcp.example.com"
        );
        // gateways routing by query keep a grant per query, the query unkept
        let a = grant_resource(&u("https://gw.example.com/mcp?server=a"), true);
        let b = grant_resource(&u("https://gw.example.com/mcp?server=b"), true);
        assert_ne!(a, b);
        assert!(a.starts_with("https://gw.example.com/mcp#query-") && !a.contains("server"));
        assert_eq!(
            grant_resource(&u("https://gw.example.com/mcp?key=s3cret"), false),
            "https://gw.example.com/mcp"
        );
        assert_eq!(
            grant_resource(&u("https://gw.example.com/mcp"), true),
            "https://gw.example.com/mcp"
        );
    }
}
