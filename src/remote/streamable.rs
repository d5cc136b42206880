//! The Streamable HTTP client transport (MCP 2025-06-18 and later).
//!
//! Owns one POST per client message and reading its answer (202, a JSON
//! body, or an SSE stream read until every request of the message has its
//! answer), resuming a broken answer stream with `Last-Event-ID`, the
//! session (`Mcp-Session-Id`, `MCP-Protocol-Version`; a new session from the
//! kept `initialize` when the server answers 404), the stateless 2026-07-28
//! era (no session; `Mcp-Method`/`Mcp-Name`), the GET stream for
//! server-initiated messages with capped exponential backoff, and the DELETE
//! that ends the session. Must not decide the bridge's lifecycle.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use reqwest::Response;
use tokio::sync::watch;

use super::http::{self as h, Failure, Verb};
use super::link::{Link, Session};
use super::rpc::{self, Msg};
use super::sse;

/// What a POST came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent; every answer it carried was delivered.
    Done,
    /// 404 while in a session: the server forgot it (generation given).
    SessionLost(u64),
    /// A 4xx before any session: perhaps a server of the older transport.
    Refused(StatusCode),
}

/// Longest wait between two reconnections of a stream.
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Attempts to resume one answer stream.
const RESUME_ATTEMPTS: u32 = 3;
const SESSION_HEADER: HeaderName = HeaderName::from_static("mcp-session-id");
const VERSION_HEADER: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// The stateless era: the client says so in `_meta`, or probes with `server/discover`.
pub fn is_stateless(msgs: &[Msg]) -> bool {
    msgs.iter()
        .any(|m| m.stateless_version.is_some() || m.method.as_deref() == Some("server/discover"))
}

/// Transport headers of one POST.
fn post_headers(s: &Session, msgs: &[Msg]) -> HeaderMap {
    let mut hm = HeaderMap::new();
    hm.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    hm.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if is_stateless(msgs) {
        let version = msgs.iter().find_map(|m| m.stateless_version.as_deref());
        if let Some(v) = version.and_then(h::value) {
            hm.insert(VERSION_HEADER, v);
        }
        if let [m] = msgs {
            if let Some(v) = m.method.as_deref().and_then(h::value) {
                hm.insert(HeaderName::from_static("mcp-method"), v);
            }
            if let Some(v) = m.name.as_deref().and_then(name_value) {
                hm.insert(HeaderName::from_static("mcp-name"), v);
            }
        }
        return hm;
    }
    session_headers(s, &mut hm);
    hm
}

/// `Mcp-Name`: as is when it is printable ASCII, else `=?base64?...?=`.
fn name_value(name: &str) -> Option<HeaderValue> {
    use base64::Engine;
    let plain = name.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !name.starts_with(' ')
        && !name.ends_with(' ');
    if plain {
        return h::value(name);
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(name.as_bytes());
    h::value(&format!("=?base64?{b64}?="))
}

fn session_headers(s: &Session, hm: &mut HeaderMap) {
    if let Some(id) = &s.id {
        hm.insert(SESSION_HEADER, id.clone());
    }
    if let Some(v) = &s.protocol {
        hm.insert(VERSION_HEADER, v.clone());
    }
}

/// POSTs one client message and delivers what answers it.
pub async fn exchange(
    link: &Link,
    line: &[u8],
    msgs: &[Msg],
    ids: &[String],
) -> Result<Outcome, Failure> {
    let s = link.session();
    let stateless = is_stateless(msgs);
    let resp = link
        .send(
            &link.ep.url,
            Verb::Post(line.to_vec()),
            post_headers(&s, msgs),
        )
        .await?;
    let status = resp.status();
    link.note_status(ids, status.as_u16());
    if status == StatusCode::NOT_FOUND && s.id.is_some() && !stateless {
        return Ok(Outcome::SessionLost(s.generation));
    }
    if !status.is_success() {
        if s.id.is_none()
            && matches!(status.as_u16(), 400 | 404 | 405)
            && msgs
                .iter()
                .any(|m| m.method.as_deref() == Some("initialize"))
        {
            return Ok(Outcome::Refused(status));
        }
        return Err(status_failure(status, &link.ep.origin));
    }
    if !stateless {
        take_session_id(link, &resp)?;
    }
    // a message without requests (notifications, answers) awaits no answer:
    // its status is all there is to wait for, whatever body comes with it
    if ids.is_empty() || status == StatusCode::ACCEPTED || status == StatusCode::NO_CONTENT {
        return Ok(Outcome::Done);
    }
    match h::media_type(&resp).as_str() {
        "text/event-stream" => {
            // a subscription's stream may stay quiet for as long as nothing changes
            let quiet_ok = msgs
                .iter()
                .any(|m| m.method.as_deref() == Some("subscriptions/listen"));
            read_answers(link, resp, ids, !quiet_ok).await?
        }
        _ => {
            let body = h::body(resp, &link.http.limits, &link.ep.origin).await?;
            if !body.trim_ascii().is_empty() {
                link.deliver(body).await;
            }
        }
    }
    if link.any_waiting(ids) {
        return Err(Failure(format!(
            "{} ended its answer without answering the request",
            link.ep.origin
        )));
    }
    Ok(Outcome::Done)
}

/// One line for an HTTP error status, with what to do about it.
pub fn status_failure(status: StatusCode, origin: &str) -> Failure {
    let hint = match status.as_u16() {
        401 | 403 => ": the server refused the credentials; check the secret behind the header",
        404 => ": no MCP endpoint at this URL",
        405 => ": the server does not take this method here",
        429 => ": too many requests; try again later",
        _ => "",
    };
    Failure(format!("{origin} answered HTTP {}{hint}", status.as_u16()))
}

/// Keeps the session id a server hands out (visible ASCII, bounded).
fn take_session_id(link: &Link, resp: &Response) -> Result<(), Failure> {
    let Some(id) = resp.headers().get(SESSION_HEADER) else {
        return Ok(());
    };
    let ok = !id.is_empty()
        && id.len() <= 1024
        && id.as_bytes().iter().all(|b| (0x21..=0x7e).contains(b));
    if !ok {
        return Err(Failure(format!(
            "{} sent a session id that is not visible ASCII of at most 1024 bytes",
            link.ep.origin
        )));
    }
    link.with_session(|s| {
        if s.id.is_none() {
            s.id = Some(id.clone());
        }
    });
    Ok(())
}

/// Where an event stream stands when it ends.
#[derive(Debug, Default)]
struct Cursor {
    last_id: Option<String>,
    retry: Option<Duration>,
}

/// Reads an answer stream until `ids` are answered; resumes it when it
/// breaks after an event id.
async fn read_answers(
    link: &Link,
    resp: Response,
    ids: &[String],
    awaited: bool,
) -> Result<(), Failure> {
    let mut cur = Cursor::default();
    let mut result = pump(link, resp, ids, &mut cur, awaited).await;
    let mut attempt = 0;
    while link.any_waiting(ids) && attempt < RESUME_ATTEMPTS {
        let Some(last) = cur.last_id.clone() else {
            break;
        };
        attempt += 1;
        let floor = Duration::from_millis(500);
        tokio::time::sleep(
            cur.retry
                .map_or(Duration::from_secs(1), |r| r.max(floor))
                .min(BACKOFF_CAP),
        )
        .await;
        result = match get(link, Some(&last)).await {
            Ok(r) if r.status().is_success() => pump(link, r, ids, &mut cur, awaited).await,
            Ok(r) => Err(status_failure(r.status(), &link.ep.origin)),
            Err(f) => Err(f),
        };
    }
    result
}

/// Delivers the messages of an event stream; stops when `ids` (if any) are
/// answered or the stream ends. `awaited`: silence is bounded by the read timeout.
async fn pump(
    link: &Link,
    mut resp: Response,
    ids: &[String],
    cur: &mut Cursor,
    awaited: bool,
) -> Result<(), Failure> {
    let origin = link.ep.origin.clone();
    let mut parser = sse::Parser::new(link.http.limits.max_message);
    let mut events = Vec::new();
    let idle = awaited.then_some(link.http.limits.read);
    loop {
        if !ids.is_empty() && !link.any_waiting(ids) {
            return Ok(());
        }
        let Some(chunk) = h::chunk(&mut resp, idle, &origin).await? else {
            return Ok(());
        };
        parser
            .feed(&chunk, &mut events)
            .map_err(|e| Failure(format!("{origin}: {e}")))?;
        for e in events.drain(..) {
            if let Some(id) = &e.id {
                cur.last_id = Some(id.clone());
            }
            if let Some(ms) = e.retry {
                cur.retry = Some(Duration::from_millis(ms));
            }
            if e.is_message() && !e.data.trim_ascii().is_empty() {
                link.deliver(e.data).await;
            }
        }
    }
}

/// A GET of the event stream (resuming after `last_id` when given).
async fn get(link: &Link, last_id: Option<&str>) -> Result<Response, Failure> {
    let mut hm = HeaderMap::new();
    hm.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    session_headers(&link.session(), &mut hm);
    if let Some(v) = last_id.and_then(h::value) {
        hm.insert(HeaderName::from_static("last-event-id"), v);
    }
    link.send(&link.ep.url, Verb::Get, hm).await
}

/// Consecutive client errors (4xx) after which the GET stream is given up.
const GIVE_UP_AFTER_4XX: u32 = 3;

/// The GET stream of session `generation`: server-initiated messages, kept
/// open with capped exponential backoff (never shorter than the server's
/// `retry:`, which cannot shorten it) until the session changes, the server
/// says it has none (404, 405), refuses it repeatedly (4xx), or `quit`.
pub async fn listen(link: Arc<Link>, generation: u64, mut quit: watch::Receiver<bool>) {
    let mut cur = Cursor::default();
    let mut backoff = Duration::from_millis(500);
    let mut refusals = 0;
    let mut said = Said::default();
    loop {
        if *quit.borrow() || link.session().generation != generation {
            return;
        }
        let started = tokio::time::Instant::now();
        let last = cur.last_id.clone();
        match get(&link, last.as_deref()).await {
            Ok(r) if r.status() == StatusCode::METHOD_NOT_ALLOWED => return,
            Ok(r) if r.status() == StatusCode::NOT_FOUND => return,
            Ok(r) if r.status().is_success() && h::media_type(&r) == "text/event-stream" => {
                refusals = 0;
                let end = tokio::select! {
                    e = pump(&link, r, &[], &mut cur, false) => e,
                    _ = quit.changed() => return,
                };
                if let Err(f) = end {
                    said.say(&link, &format!("{f}; reconnecting the event stream"));
                }
                if started.elapsed() > Duration::from_secs(5) {
                    backoff = Duration::from_millis(500);
                }
            }
            Ok(r) => {
                let failure = status_failure(r.status(), &link.ep.origin);
                if r.status().is_client_error() {
                    refusals += 1;
                    if refusals >= GIVE_UP_AFTER_4XX {
                        link.say(&format!(
                            "{failure}; giving up the event stream (server-initiated messages will not arrive)"
                        ));
                        return;
                    }
                }
                said.say(&link, &format!("{failure}; retrying the event stream"));
            }
            Err(f) => said.say(&link, &format!("{f}; retrying the event stream")),
        }
        let wait = cur
            .retry
            .map_or(backoff, |r| r.max(backoff))
            .min(BACKOFF_CAP);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = quit.changed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_CAP);
    }
}

/// Says a line on stderr unless it repeats the one said before.
#[derive(Debug, Default)]
struct Said(String);

impl Said {
    fn say(&mut self, link: &Link, line: &str) {
        if self.0 != line {
            link.say(line);
            line.clone_into(&mut self.0);
        }
    }
}

/// Starts a new session from the kept `initialize` after session
/// `lost` ended (once, however many requests saw the loss: the others wait
/// here until it is started).
pub async fn renew(link: &Arc<Link>, lost: u64) -> Result<Option<u64>, Failure> {
    let _renewing = link.renewal.lock().await;
    let s = link.session();
    if s.generation != lost {
        return Ok(None);
    }
    let init = s.init.ok_or_else(|| {
        Failure(format!(
            "{} ended the session, and no initialize is known to start a new one",
            link.ep.origin
        ))
    })?;
    let id = link.internal_id();
    let line = with_id(&init, &id)?;
    let generation = link.with_session(|s| {
        s.id = None;
        s.protocol = None;
        s.generation += 1;
        s.generation
    });
    link.say(&format!(
        "{} ended the session (HTTP 404); starting a new one",
        link.ep.origin
    ));
    link.await_ids(std::slice::from_ref(&id));
    let msgs = rpc::read(&line);
    match exchange(link, &line, &msgs, std::slice::from_ref(&id)).await? {
        Outcome::Done => {}
        _ => return Err(Failure(format!("{} refused a new session", link.ep.origin))),
    }
    let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    exchange(link, note, &rpc::read(note), &[]).await?;
    Ok(Some(generation))
}

/// `msg` with its id replaced by `id` (compact JSON).
pub(super) fn with_id(msg: &[u8], id: &str) -> Result<Vec<u8>, Failure> {
    let bad = || Failure("cannot replay the initialize request".into());
    let mut v: serde_json::Value = serde_json::from_slice(msg).map_err(|_| bad())?;
    let id: serde_json::Value = serde_json::from_str(id).map_err(|_| bad())?;
    v.as_object_mut().ok_or_else(bad)?.insert("id".into(), id);
    serde_json::to_vec(&v).map_err(|_| bad())
}

/// Ends the session on the server (DELETE), within `limit`.
pub async fn end_session(link: &Link, limit: Duration) {
    end_session_of(link, &link.session(), limit).await;
}

/// Ends session `s` on the server (DELETE), within `limit`.
pub async fn end_session_of(link: &Link, s: &Session, limit: Duration) {
    if s.id.is_none() {
        return;
    }
    let mut hm = HeaderMap::new();
    session_headers(s, &mut hm);
    let del = link.send(&link.ep.url, Verb::Delete, hm);
    let _ = tokio::time::timeout(limit, del).await;
}
