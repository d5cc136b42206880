//! The loopback redirect of a native app (RFC 8252 §7.3): a listener on
//! 127.0.0.1 with an ephemeral port that receives the authorization
//! response.
//!
//! Owns binding the listener, the redirect URI it stands for, and waiting for
//! the one request to `/callback`: connections served concurrently, each
//! bounded in size ([`MAX_REQUEST`]) and time, at most [`MAX_CONNECTIONS`]
//! connections, the whole wait bounded by the caller's timeout. The answer
//! is checked here: a callback whose `state` does not match (constant time)
//! is answered 400 and the wait goes on (a forged or stale redirect cannot
//! end a login; at the timeout it is named), an `error` ends the wait, and the
//! `iss` parameter (RFC 9207) must name the issuer when present or when the
//! server said it sends one. The code is kept zeroized and never shown.
//! Must not exchange the code.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zeroize::Zeroizing;

use super::{Kind, OAuthError, shown};

/// The largest request head read from the browser.
pub const MAX_REQUEST: usize = 16 * 1024;
/// Connections accepted while waiting (favicon requests, probes), at most.
pub const MAX_CONNECTIONS: usize = 32;
/// How long one connection may take to send its request head.
const PER_CONNECTION: Duration = Duration::from_secs(10);

/// The listener and the redirect URI it answers.
pub struct Listener {
    listener: TcpListener,
    pub redirect_uri: String,
}

/// What the authorization response must carry.
pub struct Expect<'a> {
    pub state: &'a str,
    pub issuer: &'a str,
    /// The server advertised `authorization_response_iss_parameter_supported`.
    pub iss_required: bool,
}

/// [`Expect`] owned, for the connection tasks.
struct Owned {
    state: Zeroizing<String>,
    issuer: String,
    iss_required: bool,
}

impl Owned {
    fn of(e: &Expect<'_>) -> Self {
        Owned {
            state: Zeroizing::new(e.state.to_string()),
            issuer: e.issuer.to_string(),
            iss_required: e.iss_required,
        }
    }

    fn expect(&self) -> Expect<'_> {
        Expect {
            state: &self.state,
            issuer: &self.issuer,
            iss_required: self.iss_required,
        }
    }
}

/// What one connection to the listener was.
enum Seen {
    /// Not the callback (answered 404 or 400).
    Other,
    /// A callback with another `state` (answered 400).
    WrongState,
    /// The authorization response, checked.
    Answer(Result<Code, OAuthError>),
}

/// The authorization code (zeroized; `Debug` hides it).
pub struct Code(pub Zeroizing<String>);

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(..)")
    }
}

fn fail(kind: Kind, m: impl Into<String>) -> OAuthError {
    OAuthError::new(kind, m)
}

impl Listener {
    /// Binds 127.0.0.1 on `port` when given and free (the port a client was
    /// registered with, for servers that match it exactly), else on a port
    /// the system chooses.
    pub async fn bind(port: Option<u16>) -> Result<Listener, OAuthError> {
        let preferred = match port.filter(|p| *p != 0) {
            Some(p) => TcpListener::bind(("127.0.0.1", p)).await.ok(),
            None => None,
        };
        let listener = match preferred {
            Some(l) => l,
            None => TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
                fail(
                    Kind::Io,
                    format!("cannot listen on 127.0.0.1 for the authorization redirect: {e}"),
                )
            })?,
        };
        let port = listener
            .local_addr()
            .map_err(|e| fail(Kind::Io, format!("the redirect listener has no port: {e}")))?
            .port();
        Ok(Listener {
            listener,
            redirect_uri: format!("http://127.0.0.1:{port}/callback"),
        })
    }

    /// Waits (at most `limit`) for the authorization response and checks it.
    pub async fn wait(self, expect: &Expect<'_>, limit: Duration) -> Result<Code, OAuthError> {
        let owned = std::sync::Arc::new(Owned::of(expect));
        let wrong_state = std::sync::atomic::AtomicUsize::new(0);
        let waited = self.serve(owned, &wrong_state);
        let timed_out = tokio::time::timeout(limit, waited).await;
        let wrong = wrong_state.load(std::sync::atomic::Ordering::Relaxed);
        timed_out.map_err(|_| {
            let within = crate::remote::http::show(limit);
            if wrong > 0 {
                return fail(
                    Kind::Denied,
                    format!(
                        "no authorization response with this login's state arrived within {within}; {wrong} with another state were refused (forged or stale redirects)"
                    ),
                );
            }
            fail(
                Kind::Unreachable,
                format!("no authorization arrived within {within} (--login-timeout)"),
            )
        })?
    }

    /// Serves connections concurrently until the authorization response.
    async fn serve(
        &self,
        owned: std::sync::Arc<Owned>,
        wrong_state: &std::sync::atomic::AtomicUsize,
    ) -> Result<Code, OAuthError> {
        let mut conns = tokio::task::JoinSet::new();
        let mut accepted = 0;
        loop {
            tokio::select! {
                a = self.listener.accept(), if accepted < MAX_CONNECTIONS => {
                    let (stream, _) = a.map_err(|e| {
                        fail(Kind::Io, format!("the redirect listener failed: {e}"))
                    })?;
                    accepted += 1;
                    let o = owned.clone();
                    conns.spawn(async move { one(stream, &o.expect()).await });
                }
                Some(done) = conns.join_next() => match done {
                    Ok(Seen::Answer(answer)) => return answer,
                    Ok(Seen::WrongState) => {
                        wrong_state.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(Seen::Other) | Err(_) => {}
                },
                else => break,
            }
        }
        Err(fail(
            Kind::Denied,
            format!(
                "{MAX_CONNECTIONS} requests reached the redirect listener without an authorization response"
            ),
        ))
    }
}

/// Whether the query's `state` is the expected one (constant time).
fn state_matches(query: &str, expect: &Expect<'_>) -> bool {
    let ps = params(query);
    ps.iter().find(|(n, _)| n == "state").is_some_and(|(_, s)| {
        s.len() == expect.state.len()
            && aws_lc_rs::constant_time::verify_slices_are_equal(
                s.as_bytes(),
                expect.state.as_bytes(),
            )
            .is_ok()
    })
}

/// Serves one connection.
async fn one(mut stream: TcpStream, expect: &Expect<'_>) -> Seen {
    let head = match tokio::time::timeout(PER_CONNECTION, read_head(&mut stream)).await {
        Ok(Some(h)) => h,
        _ => {
            let _ = respond(&mut stream, 400, "Bad request.").await;
            return Seen::Other;
        }
    };
    let Some(query) = callback_query(&head) else {
        let _ = respond(&mut stream, 404, "Not found.").await;
        return Seen::Other;
    };
    if !state_matches(&query, expect) {
        let text = "This redirect does not belong to the pending authorization.";
        let _ = respond(&mut stream, 400, text).await;
        return Seen::WrongState;
    }
    let answer = check(&query, expect);
    let (status, text) = match &answer {
        Ok(_) => (200, "Authorization received. You can close this window."),
        Err(_) => (
            400,
            "Authorization failed; see the terminal of mcp-warden for why.",
        ),
    };
    let _ = respond(&mut stream, status, text).await;
    Seen::Answer(answer)
}

/// The request head (up to the blank line), at most [`MAX_REQUEST`] bytes.
async fn read_head(stream: &mut TcpStream) -> Option<Zeroizing<Vec<u8>>> {
    let mut buf = Zeroizing::new(Vec::with_capacity(1024));
    let mut chunk = [0u8; 2048];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        chunk.fill(0);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.windows(2).any(|w| w == b"\n\n") {
            return Some(buf);
        }
        if buf.len() > MAX_REQUEST {
            return None;
        }
    }
}

/// The port of a loopback redirect URI we registered (`http://127.0.0.1:PORT/callback`).
pub fn port_of(redirect_uri: &str) -> Option<u16> {
    let u = reqwest::Url::parse(redirect_uri).ok()?;
    (u.host_str() == Some("127.0.0.1") && u.path() == "/callback")
        .then(|| u.port())
        .flatten()
}

/// The query of `GET /callback?...` (None for any other request).
fn callback_query(head: &[u8]) -> Option<Zeroizing<String>> {
    let line = head.split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?.trim_end();
    let mut parts = line.split(' ');
    let (method, target) = (parts.next()?, parts.next()?);
    if method != "GET" {
        return None;
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    (path == "/callback").then(|| Zeroizing::new(query.to_string()))
}

/// The parameters of the query, decoded (zeroized).
fn params(query: &str) -> Vec<(String, Zeroizing<String>)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .take(64)
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k).to_string(), Zeroizing::new(decode(v)))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8_lossy()
        .into_owned()
}

/// Checks the authorization response against what was sent.
pub fn check(query: &str, expect: &Expect<'_>) -> Result<Code, OAuthError> {
    let ps = params(query);
    let get = |k: &str| ps.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // state first: an answer to another request says nothing about ours
    if !state_matches(query, expect) {
        return Err(fail(
            Kind::Denied,
            "the authorization response's state does not match the request (a forged or stale redirect); refused",
        ));
    }
    match get("iss") {
        Some(iss) if !same_issuer(iss, expect.issuer) => {
            return Err(fail(
                Kind::Denied,
                format!(
                    "the authorization response names issuer {}, not {} (RFC 9207 mix-up defence); refused",
                    shown(iss),
                    expect.issuer
                ),
            ));
        }
        None if expect.iss_required => {
            return Err(fail(
                Kind::Denied,
                format!(
                    "{} says it sends `iss` in authorization responses, and this one has none (RFC 9207); refused",
                    expect.issuer
                ),
            ));
        }
        _ => {}
    }
    if let Some(e) = get("error") {
        let what = get("error_description").map(shown).unwrap_or_default();
        return Err(fail(
            Kind::Denied,
            format!(
                "{} refused the authorization: {}{}{what}",
                expect.issuer,
                shown(e),
                if what.is_empty() { "" } else { ": " }
            ),
        ));
    }
    match get("code") {
        Some(c) if !c.is_empty() => Ok(Code(Zeroizing::new(c.to_string()))),
        _ => Err(fail(
            Kind::BadData,
            format!("{}'s authorization response has no code", expect.issuer),
        )),
    }
}

/// Issuers compare as strings (RFC 9207 §2.4), a trailing slash aside.
fn same_issuer(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

async fn respond(stream: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        _ => "Bad Request",
    };
    let body =
        format!("<!doctype html><meta charset=utf-8><title>mcp-warden</title><p>{text}</p>\n");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expect<'a>(iss_required: bool) -> Expect<'a> {
        Expect {
            state: "st8",
            issuer: "https://as.example.com",
            iss_required,
        }
    }

    #[test]
    fn a_good_answer_gives_the_code() {
        let c = check("code=abc%2Bd&state=st8", &expect(false)).expect("code");
        assert_eq!(c.0.as_str(), "abc+d");
        let c = check(
            "code=x&state=st8&iss=https%3A%2F%2Fas.example.com%2F",
            &expect(true),
        )
        .expect("code");
        assert_eq!(c.0.as_str(), "x");
        assert!(!format!("{c:?}").contains('x'));
    }

    #[test]
    fn state_iss_and_errors_are_refused() {
        let e = check("code=x&state=other", &expect(false)).unwrap_err();
        assert!(e.message.contains("state"), "{e}");
        assert!(check("code=x", &expect(false)).is_err());
        let e = check("code=x&state=st8&iss=https://evil.example", &expect(false)).unwrap_err();
        assert!(e.message.contains("RFC 9207"), "{e}");
        let e = check("code=x&state=st8", &expect(true)).unwrap_err();
        assert!(e.message.contains("iss"), "{e}");
        let e = check("error=access_denied&state=st8", &expect(false)).unwrap_err();
        assert!(e.message.contains("access_denied"), "{e}");
        assert!(!e.message.contains("st8"));
    }

    #[test]
    fn only_get_callback_is_the_answer() {
        assert_eq!(
            callback_query(b"GET /callback?code=1&state=2 HTTP/1.1\r\nHost: x\r\n\r\n")
                .as_deref()
                .map(String::as_str),
            Some("code=1&state=2")
        );
        assert!(callback_query(b"GET /favicon.ico HTTP/1.1\r\n\r\n").is_none());
        assert!(callback_query(b"POST /callback?code=1 HTTP/1.1\r\n\r\n").is_none());
        assert!(callback_query(b"\xff\xfe").is_none());
    }

    #[tokio::test]
    async fn the_listener_answers_one_browser_request() {
        let l = Listener::bind(None).await.expect("bind");
        let uri = l.redirect_uri.clone();
        assert!(uri.starts_with("http://127.0.0.1:") && uri.ends_with("/callback"));
        let port: u16 = uri
            .trim_start_matches("http://127.0.0.1:")
            .trim_end_matches("/callback")
            .parse()
            .expect("port");
        let browser = tokio::spawn(async move {
            // an idle preconnect does not hold up the others
            let _idle = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            // a forged callback with another state does not end the login
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.write_all(b"GET /callback?code=evil&state=forged HTTP/1.1\r\n\r\n")
                .await
                .expect("write");
            let mut forged = Vec::new();
            let _ = s.read_to_end(&mut forged).await;
            assert!(forged.starts_with(b"HTTP/1.1 400"));
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.write_all(b"GET /favicon.ico HTTP/1.1\r\n\r\n")
                .await
                .expect("write");
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            s.write_all(b"GET /callback?code=c0de&state=st8 HTTP/1.1\r\n\r\n")
                .await
                .expect("write");
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        });
        let started = std::time::Instant::now();
        let code = l
            .wait(&expect(false), Duration::from_secs(5))
            .await
            .expect("code");
        assert_eq!(code.0.as_str(), "c0de");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(browser.await.expect("browser").starts_with("HTTP/1.1 200"));
    }

    #[tokio::test]
    async fn only_forged_callbacks_until_the_timeout_are_named() {
        let l = Listener::bind(None).await.expect("bind");
        let port = port_of(&l.redirect_uri).expect("port");
        tokio::spawn(async move {
            let mut s = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect");
            let _ = s
                .write_all(b"GET /callback?code=evil&state=forged HTTP/1.1\r\n\r\n")
                .await;
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
        });
        let e = l
            .wait(&expect(false), Duration::from_millis(800))
            .await
            .expect_err("no answer");
        assert_eq!(e.kind, Kind::Denied);
        assert!(e.message.contains("another state"), "{e}");
    }
}
