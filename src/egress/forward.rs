//! One request from the child to a destination: checked, swapped, sent,
//! and its answer re-masked.
//!
//! Owns the per-request rules of secretless mode: a placeholder bound to
//! another host blocks the request (403); placeholders bound to this host
//! become real values in the request target, the headers (Basic credentials
//! decoded) and, where the reference asked for it, the body; real values in
//! the answer's headers and body become placeholders again. Every request
//! ends in one [`Exchange`]. Must not accept connections or speak TLS.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;

use super::Ctx;
use super::body::{Counter, OnEnd};
use super::record::{Exchange, Outcome};
use super::swap::{StreamSwap, SwapBody};
use super::upstream::{Body, BoxError};

/// How long a destination may take to answer with its status line.
const RESPONSE_HEAD: Duration = Duration::from_secs(300);

/// Where the requests of one connection go.
pub struct Target {
    pub host: String,
    pub port: u16,
    /// Reached through CONNECT (https upstream) or as plain HTTP.
    pub tls: bool,
    /// Secretless variables (indices) whose value may go here.
    pub bound: Vec<usize>,
}

impl Target {
    fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    fn may_receive(&self, var: usize) -> bool {
        self.bound.contains(&var)
    }
}

/// What the request looked like before it was changed, for its record.
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The secretless variables swapped in (indices).
    pub swapped: Vec<usize>,
}

impl Seen {
    /// Its `egress` record once forwarded: the answer's status (`None`: no
    /// answer), the bytes each way, and how it ended when not plainly.
    pub fn record(
        &self,
        ctx: &Ctx,
        target: &Target,
        status: Option<u16>,
        bytes: (u64, u64),
        detail: Option<&str>,
    ) {
        let vars = ctx.names(&self.swapped);
        ctx.recorder.exchange(&Exchange {
            outcome: Outcome::Forwarded,
            host: &target.host,
            port: target.port,
            method: &self.method,
            path: &self.path,
            status,
            request_bytes: bytes.0,
            response_bytes: bytes.1,
            vars: &vars,
            detail,
        });
    }
}

/// Serves one request of the child's.
pub async fn forward(
    ctx: Arc<Ctx>,
    target: Arc<Target>,
    mut req: Request<Incoming>,
) -> Result<Response<Body>, std::convert::Infallible> {
    let upgrade = is_upgrade(req.headers());
    let child_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
    let (mut parts, body) = req.into_parts();
    let seen = Seen {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        swapped: Vec::new(),
    };
    let carried = carried_placeholders(&ctx, &parts.uri, &parts.headers);
    let foreign: Vec<usize> = carried
        .iter()
        .copied()
        .filter(|i| !target.may_receive(*i))
        .collect();
    if !foreign.is_empty() {
        return Ok(blocked(&ctx, &target, &seen, &foreign));
    }
    let Ok(uri) = rewrite(&ctx, &target, &mut parts, upgrade) else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "mcp-warden secretless: bad request target\n",
        ));
    };
    parts.uri = uri;
    swap_headers(&ctx, &target, &mut parts.headers);
    let seen = Seen {
        swapped: carried,
        ..seen
    };
    let body = request_body(&ctx, &target, body);
    let sent = Counter::from(body.bytes_counter());
    let req = Request::from_parts(parts, body.boxed());
    let answer = tokio::time::timeout(RESPONSE_HEAD, ctx.upstream.send(req, upgrade)).await;
    let resp = match answer {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => {
            return Ok(unreachable(
                &ctx,
                &target,
                &seen,
                &root_cause(&e),
                sent.get(),
            ));
        }
        Err(_) => {
            return Ok(unreachable(
                &ctx,
                &target,
                &seen,
                "no answer in time",
                sent.get(),
            ));
        }
    };
    if !target.bound.is_empty() && is_encoded(resp.headers()) {
        let why = "answered with a compressed body although asked not to (it could not be masked)";
        return Ok(unreachable(&ctx, &target, &seen, why, sent.get()));
    }
    if let (Some(child), true) = (
        child_upgrade,
        resp.status() == StatusCode::SWITCHING_PROTOCOLS,
    ) {
        return Ok(super::tunnel::upgraded(ctx, target, seen, child, resp));
    }
    Ok(answer_body(ctx, target, seen, sent, resp))
}

/// The variables whose placeholder the request carries anywhere it is looked at.
fn carried_placeholders(ctx: &Ctx, uri: &Uri, headers: &HeaderMap) -> Vec<usize> {
    let mut found = ctx.swapper().placeholders_in(uri.to_string().as_bytes());
    for value in headers.values() {
        found.extend(ctx.swapper().placeholders_in(value.as_bytes()));
        if let Some(decoded) = basic_credentials(value) {
            found.extend(ctx.swapper().placeholders_in(&decoded));
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// The absolute URI to send (placeholders bound here swapped in), and the
/// headers a proxy must not pass on removed.
fn rewrite(
    ctx: &Ctx,
    target: &Target,
    parts: &mut http::request::Parts,
    upgrade: bool,
) -> Result<Uri, http::Error> {
    let mut pq = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .as_bytes()
        .to_vec();
    ctx.swapper().to_real(&mut pq, &|i| target.may_receive(i));
    strip_hop_by_hop(&mut parts.headers, upgrade);
    parts.headers.remove(header::HOST);
    // Answers are re-masked as they stream: they must not be compressed
    // (nor WebSocket messages, by permessage-deflate).
    parts.headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    parts.headers.remove(header::SEC_WEBSOCKET_EXTENSIONS);
    parts.version = http::Version::HTTP_11;
    Uri::builder()
        .scheme(if target.tls { "https" } else { "http" })
        .authority(target.authority())
        .path_and_query(pq)
        .build()
}

/// Swaps placeholders bound here into header values (and Basic credentials).
fn swap_headers(ctx: &Ctx, target: &Target, headers: &mut HeaderMap) {
    let permit = |i: usize| target.may_receive(i);
    for value in headers.values_mut() {
        let mut bytes = zeroize::Zeroizing::new(value.as_bytes().to_vec());
        let here = ctx.swapper().to_real(&mut bytes, &permit);
        if !here.is_empty()
            && let Ok(v) = HeaderValue::from_bytes(&bytes)
        {
            *value = sensitive(v);
        } else if let Some(v) = swap_basic(ctx, value, &permit) {
            *value = sensitive(v);
        }
    }
}

fn sensitive(mut v: HeaderValue) -> HeaderValue {
    v.set_sensitive(true);
    v
}

/// `Basic base64(user:password)`, decoded.
fn basic_credentials(value: &HeaderValue) -> Option<Vec<u8>> {
    let text = value.to_str().ok()?;
    let (scheme, b64) = text.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()
}

/// Basic credentials with placeholders bound here swapped in, re-encoded.
fn swap_basic(
    ctx: &Ctx,
    value: &HeaderValue,
    permit: &dyn Fn(usize) -> bool,
) -> Option<HeaderValue> {
    let mut decoded = zeroize::Zeroizing::new(basic_credentials(value)?);
    if ctx.swapper().to_real(&mut decoded, permit).is_empty() {
        return None;
    }
    let encoded =
        zeroize::Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(&*decoded));
    HeaderValue::from_str(&format!("Basic {}", &*encoded)).ok()
}

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
];

/// Removes hop-by-hop headers (and those `Connection` names); an upgrade
/// keeps `Connection: upgrade` and `Upgrade`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        if !(upgrade && name == header::UPGRADE) {
            headers.remove(name);
        }
    }
    // HTTP/2 allows `te: trailers` (gRPC needs it), nothing else.
    let trailers = headers
        .get(header::TE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
    if trailers {
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
    }
    if upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

/// An answer whose body is not identity-encoded (masking cannot see into it).
fn is_encoded(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONTENT_ENCODING)
        .iter()
        .any(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity") && !v.is_empty())
}

fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| {
                v.split(',')
                    .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
            })
}

/// The request body: placeholders swapped in where the reference allows it
/// (`?body=1`) for a variable bound here, else passed as sent; counted.
fn request_body(ctx: &Ctx, target: &Target, body: Incoming) -> SwapBody<Incoming> {
    let permitted: Vec<bool> = (0..ctx.plan.secretless.len())
        .map(|i| target.may_receive(i) && ctx.plan.secretless[i].body)
        .collect();
    SwapBody::new(body, StreamSwap::to_real(ctx.swapper(), permitted))
}

/// The destination's answer for the child: real values in headers and body
/// become placeholders; the record is written when the body ends.
fn answer_body(
    ctx: Arc<Ctx>,
    target: Arc<Target>,
    seen: Seen,
    sent: Counter,
    resp: Response<Incoming>,
) -> Response<Body> {
    let (mut parts, body) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers, false);
    mask_headers(&ctx, &mut parts.headers);
    let status = parts.status.as_u16();
    let body = SwapBody::new(body, StreamSwap::to_placeholder(ctx.swapper()));
    let received = Counter::from(body.bytes_counter());
    let trailers = ctx.clone();
    let body = body.map_frame(move |frame| match frame.into_trailers() {
        Ok(mut t) => {
            mask_headers(&trailers, &mut t);
            http_body::Frame::trailers(t)
        }
        Err(data) => data,
    });
    let on_end = move || {
        seen.record(
            &ctx,
            &target,
            Some(status),
            (sent.get(), received.get()),
            None,
        );
    };
    Response::from_parts(parts, OnEnd::new(body, on_end).boxed())
}

/// Real values in answer headers become placeholders.
pub fn mask_headers(ctx: &Ctx, headers: &mut HeaderMap) {
    for value in headers.values_mut() {
        let mut bytes = value.as_bytes().to_vec();
        if ctx.swapper().to_placeholder(&mut bytes) > 0
            && let Ok(v) = HeaderValue::from_bytes(&bytes)
        {
            *value = v;
        }
    }
}

/// 403: the request carried a placeholder bound elsewhere.
fn blocked(ctx: &Ctx, target: &Target, seen: &Seen, vars: &[usize]) -> Response<Body> {
    let names = ctx.names(vars);
    ctx.recorder.exchange(&Exchange {
        outcome: Outcome::Blocked,
        host: &target.host,
        port: target.port,
        method: &seen.method,
        path: &seen.path,
        status: Some(403),
        request_bytes: 0,
        response_bytes: 0,
        vars: &names,
        detail: Some("placeholder for another host"),
    });
    let list = names.join(", ");
    ctx.said.each(|| {
        format!(
            "blocked {} to {}: it carried the placeholder of {list}, whose value goes only to {} (audit: egress_blocked)",
            seen.method,
            target.authority(),
            ctx.hosts_of(vars)
        )
    });
    plain(
        StatusCode::FORBIDDEN,
        &format!(
            "mcp-warden secretless: blocked: this request carried the placeholder of {list}, which mcp-warden sends only to {}\n",
            ctx.hosts_of(vars)
        ),
    )
}

/// 502: the destination could not be reached (or its certificate failed).
/// The cause is masked: whatever an error quotes, the child sees placeholders.
fn unreachable(ctx: &Ctx, target: &Target, seen: &Seen, why: &str, sent: u64) -> Response<Body> {
    let mut masked = why.as_bytes().to_vec();
    ctx.swapper().to_placeholder(&mut masked);
    let why = &*String::from_utf8_lossy(&masked);
    seen.record(ctx, target, None, (sent, 0), Some(why));
    ctx.said
        .once(format!("unreachable {}", target.authority()), || {
            format!("cannot reach {}: {why}", target.authority())
        });
    plain(
        StatusCode::BAD_GATEWAY,
        &format!(
            "mcp-warden secretless: cannot reach {}: {why}\n",
            target.authority()
        ),
    )
}

/// A short text answer from the proxy itself.
pub fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = Response::new(
        Full::new(Bytes::from(text.to_string()))
            .map_err(|never| -> BoxError { match never {} })
            .boxed(),
    );
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The innermost cause of an error, in one line.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}
