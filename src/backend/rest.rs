//! HTTP plumbing shared by the REST-based backends (GCP Secret Manager,
//! Azure Key Vault, 1Password Connect): the TLS client, the retry policy, deadlines, and the
//! translation of transport failures into one-line [`Fail`]s.
//!
//! Owns: one TLS setup (rustls with the aws-lc-rs provider the rest of the
//! binary uses; the system's trust roots, which honour `SSL_CERT_FILE` and
//! `SSL_CERT_DIR`), the rule that plain `http://` is allowed only to loopback,
//! bounded retries (408, 429 and 5xx only, full jitter, `Retry-After`
//! honoured, never past the deadline, never for a write that creates
//! something), no proxy for loopback and link-local targets, a size cap on
//! every answer, and concurrency helpers.
//!
//! Must not: know any provider's API, carry a token or a body into an error,
//! or retry anything that did not get an HTTP answer (a closed port fails at
//! once, a silent one when the deadline passes).

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use zeroize::Zeroizing;

use super::{BackendError, ErrorKind};

/// Attempts per call, the first included.
const MAX_ATTEMPTS: u32 = 3;
/// Backoff before the first retry (before jitter); doubles per retry.
const BASE_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait between two attempts, `Retry-After` included.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// 90% of `--timeout` (at least 50 ms): what one backend call may take,
/// retries included, so its clearer error wins over the resolver's.
pub(crate) fn call_timeout(timeout: Duration) -> Duration {
    timeout.mul_f64(0.9).max(Duration::from_millis(50))
}

/// A failure before a reference is attached: becomes one [`BackendError`] per reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub kind: ErrorKind,
    pub message: String,
}

impl Fail {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// This failure, about `subject` (a reference or a scheme; never a value).
    pub fn at(&self, subject: impl std::fmt::Display) -> BackendError {
        BackendError::new(self.kind, subject, self.message.clone())
    }
}

/// An HTTP answer, read whole (at most [`MAX_ANSWER`] bytes). The body may
/// hold a secret: it is never put into an error, and callers copy values out
/// of it into `SecretValue`s.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Zeroizing<Vec<u8>>,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What a call is, for messages: "GCP Secret Manager at secretmanager.googleapis.com".
#[derive(Debug, Clone)]
pub(crate) struct Peer {
    pub service: &'static str,
    pub host: String,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.service, self.host)
    }
}

/// The most an answer may hold: Secret Manager payloads are at most 64 KiB,
/// Key Vault secrets 25 KiB, list pages and token answers far less.
pub(crate) const MAX_ANSWER: usize = 4 << 20;

/// The HTTP clients every call of one backend shares: one connection pool
/// and one TLS configuration each for proxied and direct requests.
#[derive(Clone)]
pub(crate) struct Http {
    /// Follows the system proxy (`HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, ...).
    client: reqwest::Client,
    /// Never proxied: loopback and link-local targets (local endpoints,
    /// managed identity and metadata services), whose requests carry
    /// tokens or identity headers, often over plain http.
    direct: reqwest::Client,
}

/// Whether the request's body may be sent again after a `5xx`/`408`/`429`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeat {
    /// Reads, deletes, token requests: another attempt changes nothing.
    Safe,
    /// Writes that create something (a new version): one attempt only, since
    /// a failed answer does not prove the server did nothing.
    Never,
}

impl Http {
    /// Builds the client; `timeout` bounds connecting and every whole request.
    pub fn new(timeout: Duration) -> Result<Http, Fail> {
        let builder = || reqwest::Client::builder().connect_timeout(timeout);
        Ok(Http {
            client: Self::build(builder(), timeout)?,
            direct: Self::build(builder().no_proxy(), timeout)?,
        })
    }

    /// A client for link-local metadata services: a short connect timeout
    /// (no answer quickly means "not on this cloud") and no proxy.
    pub fn with_connect_timeout(connect: Duration, timeout: Duration) -> Result<Http, Fail> {
        let client = Self::build(
            reqwest::Client::builder()
                .connect_timeout(connect)
                .no_proxy(),
            timeout,
        )?;
        Ok(Http {
            direct: client.clone(),
            client,
        })
    }

    fn build(builder: reqwest::ClientBuilder, timeout: Duration) -> Result<reqwest::Client, Fail> {
        let tls = tls_config()?;
        let client = builder
            .use_preconfigured_tls(tls)
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("mcp-warden/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Fail::new(
                    ErrorKind::Config,
                    format!("cannot set up the HTTP client: {}", root_cause(&e)),
                )
            })?;
        Ok(client)
    }

    /// Sends the request `build` makes, retrying 429 and 5xx answers (at most
    /// [`MAX_ATTEMPTS`] attempts, never past `deadline`). Returns the last
    /// answer, whatever its status; fails only when no answer came.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        deadline: Instant,
        peer: &Peer,
    ) -> Result<Answer, Fail> {
        self.send_with(build, Repeat::Safe, deadline, peer).await
    }

    /// [`Http::send`], but a [`Repeat::Never`] request gets one attempt only.
    pub async fn send_with(
        &self,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
        repeat: Repeat,
        deadline: Instant,
        peer: &Peer,
    ) -> Result<Answer, Fail> {
        let attempts = match repeat {
            Repeat::Safe => MAX_ATTEMPTS,
            Repeat::Never => 1,
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let answer = self.once(build(&self.client), deadline, peer).await?;
            if attempt >= attempts || !retryable(answer.status) {
                return Ok(answer);
            }
            let wait = retry_after(&answer.headers)
                .unwrap_or_else(|| jitter(BASE_BACKOFF * 2u32.pow(attempt - 1)))
                .min(MAX_BACKOFF);
            if Instant::now() + wait >= deadline {
                return Ok(answer);
            }
            tokio::time::sleep(wait).await;
        }
    }
}

impl Http {
    /// One attempt, bounded by `deadline` (headers and body), on the direct
    /// client when the target is loopback or link-local.
    async fn once(
        &self,
        req: reqwest::RequestBuilder,
        deadline: Instant,
        peer: &Peer,
    ) -> Result<Answer, Fail> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out(peer));
        }
        let (_, req) = req.build_split();
        let req = req.map_err(|e| transport(&e, peer))?;
        let client = match req.url().host_str() {
            Some(h) if is_local_host(h) => &self.direct,
            _ => &self.client,
        };
        let work = async {
            let resp = client.execute(req).await.map_err(|e| transport(&e, peer))?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let body = read_capped(resp, peer).await?;
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        match tokio::time::timeout(left, work).await {
            Ok(r) => r,
            Err(_) => Err(timed_out(peer)),
        }
    }
}

/// The body, at most [`MAX_ANSWER`] bytes, into a buffer that is zeroized
/// however it grows (a `Vec` that reallocates leaves its old copy behind).
async fn read_capped(mut resp: reqwest::Response, peer: &Peer) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let declared = resp.content_length().unwrap_or(0);
    if declared > MAX_ANSWER as u64 {
        return Err(too_large(peer));
    }
    let mut body = Zeroizing::new(Vec::with_capacity(declared as usize));
    while let Some(chunk) = resp.chunk().await.map_err(|e| transport(&e, peer))? {
        let need = body.len() + chunk.len();
        if need > MAX_ANSWER {
            return Err(too_large(peer));
        }
        if need > body.capacity() {
            let mut bigger = Zeroizing::new(Vec::with_capacity(need.max(body.capacity() * 2)));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large(peer: &Peer) -> Fail {
    Fail::new(
        ErrorKind::BadData,
        format!(
            "{peer} sent an answer larger than {} MiB; check the endpoint is the service it claims",
            MAX_ANSWER >> 20
        ),
    )
}

/// A request body that holds a secret (a value, a client secret): shared
/// between attempts without copying, and zeroized when the HTTP stack drops
/// its last reference. hyper may still copy a small body into its write
/// buffer, and rustls encrypts from its own record buffers; neither can be
/// zeroized from here.
pub(crate) fn secret_body(body: Zeroizing<Vec<u8>>) -> bytes::Bytes {
    bytes::Bytes::from_owner(ZeroizingBody(body))
}

struct ZeroizingBody(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for ZeroizingBody {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Throttling and server-side failures are worth another try; nothing else is.
pub(crate) fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After: SECONDS` (an HTTP date is ignored: the jittered backoff applies).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get("retry-after")?.to_str().ok()?;
    v.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A random duration in `[0, max]` ("full jitter"), so concurrent clients
/// that failed together do not retry together.
fn jitter(max: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SEQ.fetch_add(1, Ordering::Relaxed));
    let frac = (h.finish() % 10_001) as f64 / 10_000.0;
    max.mul_f64(frac)
}

fn timed_out(peer: &Peer) -> Fail {
    Fail::new(
        ErrorKind::TimedOut,
        format!(
            "{peer} did not answer in time; check the endpoint and the network, or raise --timeout"
        ),
    )
}

/// A transport failure (no HTTP answer) as one line with a hint.
pub(crate) fn transport(e: &reqwest::Error, peer: &Peer) -> Fail {
    if e.is_timeout() {
        return timed_out(peer);
    }
    let cause = root_cause(e);
    let lower = cause.to_ascii_lowercase();
    let hint = if lower.contains("certificate") || lower.contains("unknownissuer") {
        "check the server's certificate; a private CA goes in SSL_CERT_FILE"
    } else {
        "check the endpoint and the network"
    };
    Fail::new(
        ErrorKind::Unreachable,
        format!("cannot reach {peer} ({}); {hint}", one_line(&cause, 160)),
    )
}

/// rustls with aws-lc-rs and the system's roots (`SSL_CERT_FILE`/`SSL_CERT_DIR`
/// honoured), read once per process however many clients are built.
pub(crate) fn tls_config() -> Result<rustls::ClientConfig, Fail> {
    static CONFIG: std::sync::OnceLock<Result<rustls::ClientConfig, Fail>> =
        std::sync::OnceLock::new();
    CONFIG.get_or_init(load_tls_config).clone()
}

fn load_tls_config() -> Result<rustls::ClientConfig, Fail> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        return Err(Fail::new(
            ErrorKind::Config,
            "no CA certificates found on this system; set SSL_CERT_FILE to a CA bundle",
        ));
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Fail::new(ErrorKind::Config, format!("TLS set-up failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Whether `host` (no port; IPv6 with or without brackets) is loopback or
/// link-local (`169.254.0.0/16`, `fe80::/10`, Google's metadata server
/// name): a target that never goes through a proxy.
pub(crate) fn is_local_host(host: &str) -> bool {
    if is_loopback(host) {
        return true;
    }
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("metadata.google.internal") {
        return true;
    }
    match h.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.is_link_local(),
        Ok(std::net::IpAddr::V6(v6)) => {
            (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_link_local())
        }
        Err(_) => false,
    }
}

/// Whether `host` (no port, IPv6 without brackets) is a loopback name or address.
pub(crate) fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.eq_ignore_ascii_case("localhost") {
        return true;
    }
    h.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

/// A checked base URL: `https://HOST[:PORT]/PATH/` (or `http://` for a
/// loopback host), always ending in `/`, without credentials, query or fragment.
pub(crate) fn base_url(text: &str, what: &str) -> Result<reqwest::Url, String> {
    let mut url = reqwest::Url::parse(text.trim())
        .map_err(|e| format!("{what} is not a URL ({e}); write https://HOST/"))?;
    let host = url.host_str().unwrap_or("").to_string();
    if host.is_empty() {
        return Err(format!("{what} has no host; write https://HOST/"));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => {
            return Err(format!(
                "{what} uses plain http to {host}: only https is allowed, except to loopback"
            ));
        }
        other => return Err(format!("{what} has scheme {other:?}; write https://HOST/")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "{what} carries credentials; remove them from the URL"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{what} takes no query or fragment"));
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// The host (and port, when not the default) of `url`, for messages.
pub(crate) fn host_of(url: &reqwest::Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => url.to_string(),
    }
}

/// The innermost cause of an error, first line only.
pub(crate) fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().lines().next().unwrap_or("").to_string()
}

/// A service message made safe for one line of stderr: control characters
/// become spaces, runs of spaces collapse, and it is cut at `max` characters.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut last_space = false;
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    out.trim().to_string()
}

/// Polls all futures concurrently on the current task; outputs in input order.
pub(crate) async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// Seconds since the Unix epoch as a `SystemTime` (negative or absurd values give `None`).
pub(crate) fn unix_time(secs: i64) -> Option<std::time::SystemTime> {
    u64::try_from(secs)
        .ok()
        .and_then(|s| std::time::UNIX_EPOCH.checked_add(Duration::from_secs(s)))
}

/// An RFC 3339 UTC timestamp (`2024-01-02T03:04:05.123456Z`) as a `SystemTime`.
pub(crate) fn rfc3339(text: &str) -> Option<std::time::SystemTime> {
    humantime::parse_rfc3339_weak(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttling_and_server_errors_retry() {
        for s in [429, 500, 502, 503, 504] {
            assert!(retryable(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 501] {
            assert!(!retryable(s), "{s}");
        }
    }

    #[test]
    fn local_targets_are_loopback_and_link_local() {
        for h in [
            "127.0.0.1",
            "localhost",
            "[::1]",
            "::1",
            "169.254.169.254",
            "fe80::1",
            "[fe80::1]",
            "metadata.google.internal",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_local_host(h), "{h}");
        }
        for h in [
            "10.0.0.1",
            "example.com",
            "169.255.0.1",
            "fec0::1",
            "2001:db8::1",
        ] {
            assert!(!is_local_host(h), "{h}");
        }
    }

    #[test]
    fn jitter_stays_within_bounds() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_millis(400)) <= Duration::from_millis(400));
        }
    }

    #[test]
    fn retry_after_seconds_are_read() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn base_urls_are_https_or_loopback() {
        assert_eq!(
            base_url("https://h.example/x", "E").unwrap().as_str(),
            "https://h.example/x/"
        );
        assert!(base_url("http://127.0.0.1:8080/", "E").is_ok());
        assert!(base_url("http://[::1]:8080/", "E").is_ok());
        assert!(base_url("http://localhost/", "E").is_ok());
        let e = base_url("http://h.example/", "E").unwrap_err();
        assert!(e.contains("only https"), "{e}");
        assert!(base_url("https://u:p@h.example/", "E").is_err());
        assert!(base_url("https://h.example/?a=b", "E").is_err());
        assert!(base_url("ftp://h.example/", "E").is_err());
    }

    #[test]
    fn timestamps_parse() {
        let t = rfc3339("2024-01-02T03:04:05.123456Z").unwrap();
        assert_eq!(
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
            1_704_164_645
        );
        assert!(rfc3339("yesterday").is_none());
        assert_eq!(
            unix_time(10).unwrap(),
            std::time::UNIX_EPOCH + Duration::from_secs(10)
        );
        assert!(unix_time(-1).is_none());
    }
}
