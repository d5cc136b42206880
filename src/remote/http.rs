//! The HTTP client of the bridge and the rules every request obeys.
//!
//! Owns building the one `reqwest` client (rustls with the system roots,
//! `SSL_CERT_FILE`/`SSL_CERT_DIR` honoured, certificates always verified;
//! `HTTPS_PROXY`/`NO_PROXY` honoured except for loopback and link-local
//! hosts, which are always reached directly; a connect timeout; no automatic
//! redirects, no Referer), sending a request with our redirect rule (same
//! origin: followed with every header; a POST or DELETE never leaves its
//! origin and never becomes a GET by 303; a GET to another origin goes
//! without the filled headers and the session; never from a public host to
//! a local or private one; only to an allowed URL), the timeout
//! until the answer's headers arrive, and bounded reads of an answer's body.
//! Failures are one line that names the origin, never a URL, a header value
//! or a body. Must not read MCP messages.

use std::net::IpAddr;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use reqwest::{Response, Url};

use super::RemoteError;
use super::endpoint::{check_url, origin_of};

/// At most this many redirects per request.
const MAX_REDIRECTS: usize = 5;

/// Time and size bounds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To open a connection (TCP and TLS).
    pub connect: Duration,
    /// Until an answer's headers arrive, and the longest silence while an
    /// answer is awaited on its body.
    pub read: Duration,
    /// The largest message (a JSON body or one SSE event).
    pub max_message: usize,
}

/// Why a request failed, as one line safe to show (origin only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Failure(pub String);

/// What to send.
#[derive(Debug, Clone)]
pub enum Verb {
    Post(Vec<u8>),
    Get,
    Delete,
}

/// One request: where, what, and its two groups of headers. Holds secrets
/// (the filled URL and headers): `Debug` shows the origin only.
pub struct Request<'a> {
    pub url: &'a Url,
    pub verb: Verb,
    /// The filled `-H` headers: never sent to another origin.
    pub ours: &'a HeaderMap,
    /// Transport headers (Accept, session, protocol version, ...).
    pub transport: HeaderMap,
}

impl std::fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = match self.verb {
            Verb::Post(_) => "POST",
            Verb::Get => "GET",
            Verb::Delete => "DELETE",
        };
        f.debug_struct("Request")
            .field("origin", &origin_of(self.url))
            .field("verb", &verb)
            .field("ours", &self.ours.keys().collect::<Vec<_>>())
            .field("transport", &self.transport.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// The shared clients: one honouring the proxy settings, one that never
/// uses a proxy (for loopback and link-local hosts, whose traffic must not
/// leave the machine in plaintext with our headers).
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    direct: reqwest::Client,
    pub limits: Limits,
}

impl Http {
    pub fn new(limits: Limits) -> Result<Self, RemoteError> {
        let build = |proxied: bool| {
            let tls =
                crate::backend::rest::tls_config().map_err(|f| RemoteError::Tls(f.message))?;
            let mut b = reqwest::Client::builder()
                .use_preconfigured_tls(tls)
                .connect_timeout(limits.connect)
                .redirect(reqwest::redirect::Policy::none())
                .referer(false)
                .tcp_keepalive(Duration::from_secs(30))
                .user_agent(concat!("mcp-warden/", env!("CARGO_PKG_VERSION")));
            if !proxied {
                b = b.no_proxy();
            }
            b.build().map_err(|e| {
                RemoteError::Tls(format!("cannot set up the HTTP client: {}", cause(e)))
            })
        };
        Ok(Self {
            client: build(true)?,
            direct: build(false)?,
            limits,
        })
    }

    /// The client for `url`: never a proxy for a loopback or link-local host.
    fn client_for(&self, url: &Url) -> &reqwest::Client {
        if is_local(url) {
            &self.direct
        } else {
            &self.client
        }
    }

    /// Sends `req`, following redirects by our rule; the answer once its
    /// headers arrived (within [`Limits::read`]).
    pub async fn send(&self, req: Request<'_>) -> Result<Response, Failure> {
        let mut url = req.url.clone();
        let start_origin = origin_of(req.url);
        let mut same_origin = true;
        for _ in 0..=MAX_REDIRECTS {
            let client = self.client_for(&url);
            let mut b = match &req.verb {
                Verb::Post(body) => client.post(url.clone()).body(body.clone()),
                Verb::Get => client.get(url.clone()),
                Verb::Delete => client.delete(url.clone()),
            };
            let mut headers = req.transport.clone();
            if same_origin {
                for (k, v) in req.ours {
                    headers.append(k.clone(), v.clone());
                }
            } else {
                headers.remove(HeaderName::from_static("mcp-session-id"));
            }
            b = b.headers(headers);
            let resp = tokio::time::timeout(self.limits.read, b.send())
                .await
                .map_err(|_| {
                    Failure(format!(
                        "{} did not answer within {}",
                        origin_of(&url),
                        show(self.limits.read)
                    ))
                })?
                .map_err(|e| Failure(format!("cannot reach {} ({})", origin_of(&url), cause(e))))?;
            let Some(next) = redirect_target(&url, &resp)? else {
                return Ok(resp);
            };
            check_redirect(&req.verb, &url, &next, resp.status())?;
            if origin_of(&next) != start_origin {
                same_origin = false;
            }
            url = next;
        }
        Err(Failure(format!(
            "{start_origin} redirected more than {MAX_REDIRECTS} times"
        )))
    }
}

/// Where a redirect answer points, checked against the URL policy.
fn redirect_target(from: &Url, resp: &Response) -> Result<Option<Url>, Failure> {
    let status = resp.status();
    if !matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return Ok(None);
    }
    let bad = |why: &str| {
        Failure(format!(
            "{} answered HTTP {} with {why}",
            origin_of(from),
            status.as_u16()
        ))
    };
    let loc = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| bad("no usable Location"))?;
    let next = from
        .join(loc)
        .map_err(|_| bad("a Location that is not a URL"))?;
    check_url(&next).map_err(|e| bad(&format!("a redirect that is refused: {e}")))?;
    Ok(Some(next))
}

/// Whether `url`'s host is this machine or its link: `localhost`, a
/// loopback or a link-local address.
pub fn is_local(url: &Url) -> bool {
    let host = url.host_str().unwrap_or("");
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback() || ip.is_link_local() || ip.is_unspecified(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback()
                || ip.is_unspecified()
                || (ip.segments()[0] & 0xffc0) == 0xfe80
                || ip
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_link_local())
        }
        Err(_) => {
            let d = host.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
    }
}

/// Our redirect rule: a POST or DELETE stays on its origin (its body and
/// its session must not reach another one) and is never turned into a GET
/// by 303; nothing is redirected from a public host to this machine or a
/// private network.
fn check_redirect(verb: &Verb, from: &Url, to: &Url, status: StatusCode) -> Result<(), Failure> {
    let (origin, target) = (origin_of(from), origin_of(to));
    let what = match verb {
        Verb::Post(_) => Some("a POST"),
        Verb::Delete => Some("a DELETE"),
        Verb::Get => None,
    };
    if let Some(what) = what {
        if status == StatusCode::SEE_OTHER {
            return Err(Failure(format!(
                "{origin} answered {what} with HTTP 303 (see other); refused, an MCP message cannot be answered by a GET"
            )));
        }
        if target != origin {
            return Err(Failure(format!(
                "{origin} redirected {what} to another origin ({target}); refused, so the message stays with {origin}"
            )));
        }
    }
    if !is_private(from) && is_private(to) {
        return Err(Failure(format!(
            "{origin} redirected to {target}, a local or private address; refused"
        )));
    }
    Ok(())
}

/// Whether `url`'s host is local (see [`is_local`]) or a private network
/// address (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7).
pub fn is_private(url: &Url) -> bool {
    if is_local(url) {
        return true;
    }
    let host = url.host_str().unwrap_or("");
    match host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        Ok(IpAddr::V4(ip)) => {
            let o = ip.octets();
            ip.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64)
        }
        Ok(IpAddr::V6(ip)) => {
            (ip.segments()[0] & 0xfe00) == 0xfc00
                || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_private())
        }
        Err(_) => false,
    }
}

/// The media type of an answer (lower case, without parameters).
pub fn media_type(resp: &Response) -> String {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The next chunk of `resp`'s body; `Ok(None)` at its end. Silence longer
/// than `idle` (when given) fails.
pub async fn chunk(
    resp: &mut Response,
    idle: Option<Duration>,
    origin: &str,
) -> Result<Option<bytes::Bytes>, Failure> {
    let next = resp.chunk();
    let got = match idle {
        Some(limit) => tokio::time::timeout(limit, next).await.map_err(|_| {
            Failure(format!(
                "{origin} sent nothing for {} while an answer was awaited",
                show(limit)
            ))
        })?,
        None => next.await,
    };
    got.map_err(|e| Failure(format!("the connection to {origin} broke ({})", cause(e))))
}

/// A whole (non-streamed) body, at most `max` bytes.
pub async fn body(mut resp: Response, limits: &Limits, origin: &str) -> Result<Vec<u8>, Failure> {
    // sized once when the length is announced (never beyond the limit)
    let announced = resp.content_length().and_then(|n| usize::try_from(n).ok());
    let mut out = Vec::with_capacity(announced.unwrap_or(0).min(limits.max_message));
    while let Some(c) = chunk(&mut resp, Some(limits.read), origin).await? {
        if out.len() + c.len() > limits.max_message {
            return Err(Failure(format!(
                "{origin} sent a message larger than {} bytes",
                limits.max_message
            )));
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// A header value we set ourselves (ASCII without controls).
pub fn value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

/// A reqwest error's innermost cause, without any URL.
pub fn cause(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut cur: &dyn std::error::Error = &e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let text = cur.to_string();
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(160)
        .collect()
}

/// A duration for messages: `2s`, `1.5s`, `300ms`.
pub fn show(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_secs() == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn local_and_private_hosts() {
        for l in [
            "http://localhost:1/",
            "http://127.0.0.9/",
            "http://[::1]/",
            "http://169.254.1.1/",
            "http://[fe80::1]/",
        ] {
            assert!(is_local(&u(l)), "{l}");
        }
        assert!(!is_local(&u("https://example.com/")) && !is_local(&u("https://10.0.0.1/")));
        assert!(is_private(&u("https://10.0.0.1/")) && is_private(&u("https://[fd00::1]/")));
        assert!(!is_private(&u("https://8.8.8.8/")));
    }

    #[test]
    fn redirect_rule() {
        let a = u("https://a.example/mcp");
        let ok = |v: Verb, to: &str, st: u16| {
            check_redirect(&v, &a, &u(to), StatusCode::from_u16(st).expect("status")).is_ok()
        };
        assert!(ok(Verb::Post(vec![]), "https://a.example/other", 307));
        assert!(!ok(Verb::Post(vec![]), "https://b.example/mcp", 307));
        assert!(!ok(Verb::Delete, "https://b.example/mcp", 308));
        assert!(!ok(Verb::Post(vec![]), "https://a.example/other", 303));
        assert!(ok(Verb::Get, "https://b.example/mcp", 303));
        assert!(!ok(Verb::Get, "http://127.0.0.1:8080/mcp", 302));
        assert!(!ok(Verb::Get, "https://192.168.1.1/", 302));
        let e = check_redirect(
            &Verb::Post(vec![]),
            &a,
            &u("https://b.example/x?token=s"),
            StatusCode::TEMPORARY_REDIRECT,
        )
        .unwrap_err();
        assert!(
            e.0.contains("https://b.example") && !e.0.contains("token"),
            "{e}"
        );
    }
}
