//! The OAuth requests, sent with the bridge's one HTTP client
//! ([`crate::remote::Http`]: its TLS rules, proxies, redirect rule, timeouts
//! and bounded bodies).
//!
//! Owns checking a URL a server named (https, or http to loopback only; a
//! public MCP server never leads to a local or private address),
//! GETting a JSON document, and POSTing a form (its body zeroized after
//! sending; client credentials only in a header that never leaves the
//! endpoint's origin), each request bounded as a whole ([`deadline`]: a
//! server trickling its body cannot hold discovery, login or logout). Failures name the origin only, never a URL, a body or
//! a credential. Must not know what the documents mean.

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use reqwest::Url;
use zeroize::Zeroizing;

use super::{Kind, OAuthError};
use crate::remote::endpoint::{check_url, origin_of};
use crate::remote::http::{self as h, Http, Request, Verb};

/// The largest OAuth document or token answer read.
pub const MAX_BODY: usize = 256 * 1024;

/// A URL a server or the user gave, checked by the endpoint rule.
pub fn url(text: &str, what: &str) -> Result<Url, OAuthError> {
    let u = Url::parse(text.trim())
        .map_err(|_| OAuthError::new(Kind::BadData, format!("{what} is not a URL")))?;
    check_url(&u).map_err(|e| OAuthError::new(Kind::BadData, format!("{what}: {e}")))?;
    if u.fragment().is_some() {
        return Err(OAuthError::new(
            Kind::BadData,
            format!("{what} has a fragment (#...), which OAuth endpoints must not have"),
        ));
    }
    Ok(u)
}

/// A URL a document named while authorizing for the MCP server `server`:
/// [`url`], and, as for the bridge's redirects, a public server never
/// leads to a local or private address (no request, form or browser goes
/// there).
pub fn named(text: &str, what: &str, server: &Url) -> Result<Url, OAuthError> {
    let u = url(text, what)?;
    if !h::is_private(server) && h::is_private(&u) {
        return Err(OAuthError::new(
            Kind::Denied,
            format!(
                "{} names a local or private address as {what} ({}); refused",
                origin_of(server),
                origin_of(&u)
            ),
        ));
    }
    Ok(u)
}

/// A string from a JSON answer, zeroized when dropped.
pub struct Zstr(pub Zeroizing<String>);

impl<'de> serde::Deserialize<'de> for Zstr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(|s| Zstr(Zeroizing::new(s)))
    }
}

/// An answer: status and body (zeroized: token answers hold secrets).
pub struct Answer {
    pub status: StatusCode,
    pub body: Zeroizing<Vec<u8>>,
    pub origin: String,
}

impl std::fmt::Debug for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answer")
            .field("status", &self.status)
            .field("origin", &self.origin)
            .finish()
    }
}

fn unreachable(f: h::Failure) -> OAuthError {
    OAuthError::new(Kind::Unreachable, f.0)
}

/// `u` for diagnostics: scheme, host, port and path; never a user, a query
/// or a fragment. Only for URLs an authorization server published (its
/// issuer, endpoints): an MCP server's own URL may carry a secret in its path.
pub fn bare(u: &Url) -> String {
    format!("{}{}", origin_of(u), u.path())
}

/// GET `u` (JSON accepted).
pub async fn get(http: &Http, u: &Url) -> Result<Answer, OAuthError> {
    let mut t = HeaderMap::new();
    t.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    t.insert(
        HeaderName::from_static("mcp-protocol-version"),
        HeaderValue::from_static(super::PROTOCOL_VERSION),
    );
    send(http, u, Verb::Get, &HeaderMap::new(), t, MAX_BODY).await
}

/// POST `body` (of `content_type`) to `u`; `ours` (client credentials) goes
/// to `u`'s origin only.
pub async fn post(
    http: &Http,
    u: &Url,
    body: Zeroizing<Vec<u8>>,
    content_type: &'static str,
    ours: &HeaderMap,
) -> Result<Answer, OAuthError> {
    let mut t = HeaderMap::new();
    t.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
    t.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // reqwest takes its own copy of the body; ours is zeroized on drop
    let verb = Verb::Post(body.to_vec());
    let out = send(http, u, verb, ours, t, MAX_BODY).await;
    drop(body);
    out
}

/// How long one OAuth request may take in all (connect, headers, body).
pub fn deadline(http: &Http) -> std::time::Duration {
    http.limits.connect + http.limits.read
}

async fn send(
    http: &Http,
    u: &Url,
    verb: Verb,
    ours: &HeaderMap,
    transport: HeaderMap,
    max: usize,
) -> Result<Answer, OAuthError> {
    let limit = deadline(http);
    tokio::time::timeout(limit, send_once(http, u, verb, ours, transport, max))
        .await
        .map_err(|_| {
            OAuthError::new(
                Kind::Unreachable,
                format!(
                    "{} did not finish answering within {}",
                    origin_of(u),
                    h::show(limit)
                ),
            )
        })?
}

async fn send_once(
    http: &Http,
    u: &Url,
    verb: Verb,
    ours: &HeaderMap,
    transport: HeaderMap,
    max: usize,
) -> Result<Answer, OAuthError> {
    let origin = origin_of(u);
    let resp = http
        .send(Request {
            url: u,
            verb,
            ours,
            transport,
        })
        .await
        .map_err(unreachable)?;
    let status = resp.status();
    let mut limits = http.limits;
    limits.max_message = limits.max_message.min(max);
    let body = h::body(resp, &limits, &origin).await.map_err(unreachable)?;
    Ok(Answer {
        status,
        body: Zeroizing::new(body),
        origin,
    })
}

/// An `application/x-www-form-urlencoded` body (zeroized).
pub fn form(pairs: &[(&str, &str)]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::new());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend(form_encode(k).bytes());
        out.push(b'=');
        out.extend(Zeroizing::new(form_encode(v)).bytes());
    }
    out
}

/// One form component (RFC 6749 appendix B: application/x-www-form-urlencoded).
pub fn form_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'*');
    percent_encoding::utf8_percent_encode(s, SET)
        .to_string()
        .replace("%20", "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_trickling_server_cannot_hold_a_request() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind");
        let port = l.local_addr().expect("addr").port();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.expect("accept");
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n";
            let _ = s.write_all(head.as_bytes()).await;
            // one byte every 100 ms: never silent for long, never done
            for _ in 0..200 {
                if s.write_all(b" ").await.is_err() {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        });
        let http = Http::new(h::Limits {
            connect: std::time::Duration::from_millis(500),
            read: std::time::Duration::from_millis(700),
            max_message: 1 << 20,
        })
        .expect("http");
        let u = Url::parse(&format!("http://127.0.0.1:{port}/meta")).expect("url");
        let started = std::time::Instant::now();
        let e = get(&http, &u).await.expect_err("bounded");
        assert_eq!(e.kind, Kind::Unreachable);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn forms_and_urls() {
        let f = form(&[("grant_type", "authorization_code"), ("x", "a b&c=d/é")]);
        assert_eq!(
            std::str::from_utf8(&f).expect("utf8"),
            "grant_type=authorization_code&x=a+b%26c%3Dd%2F%C3%A9"
        );
        assert!(url("https://as.example.com/token", "t").is_ok());
        assert!(url("http://127.0.0.1:9/token", "t").is_ok());
        assert!(url("http://as.example.com/token", "t").is_err());
        assert!(url("https://as.example.com/t#x", "t").is_err());
        assert!(url("not a url", "t").is_err());
    }

    #[test]
    fn a_public_server_never_leads_to_a_private_address() {
        let public = Url::parse("https://mcp.example.com/mcp").expect("url");
        let local = Url::parse("http://127.0.0.1:3000/mcp").expect("url");
        for private in [
            "http://127.0.0.1:9/token",
            "http://localhost:9/token",
            "https://10.1.2.3/token",
            "https://192.168.0.1/token",
            "https://[::1]/token",
        ] {
            let e = named(private, "the token endpoint", &public).expect_err(private);
            assert_eq!(e.kind, Kind::Denied);
        }
        assert!(named("https://as.example.com/token", "t", &public).is_ok());
        // a local server may name local endpoints, and public ones
        assert!(named("http://127.0.0.1:9/token", "t", &local).is_ok());
        assert!(named("https://as.example.com/token", "t", &local).is_ok());
    }
}
