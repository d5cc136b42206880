//! The legacy HTTP+SSE client transport (MCP 2024-11-05).
//!
//! Owns opening the event stream (GET), waiting for its `endpoint` event
//! (which must name a URL of the same origin: our headers go nowhere else),
//! POSTing each client message there, and delivering the stream's `message`
//! events. When the stream ends, the requests still waiting get an error and
//! the next message opens a new stream, replaying the kept `initialize`.
//! Bounds: the `endpoint` event must come within the read timeout (and at
//! most one message's size of events before it); while requests wait, a
//! silence of the stream longer than the read timeout fails them.
//! Must not decide the bridge's lifecycle.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderValue, header};
use reqwest::{Response, Url};
use tokio::task::AbortHandle;
use tokio::time::Instant;

use super::endpoint::origin_of;
use super::http::{self as h, Failure, Verb};
use super::link::Link;
use super::sse;

/// The open stream: where to POST, and the task reading it.
#[derive(Debug, Default)]
pub struct Channel {
    state: Mutex<Option<(Url, AbortHandle)>>,
}

impl Channel {
    fn post_url(&self) -> Option<Url> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|(u, _)| u.clone())
    }

    fn set(&self, v: Option<(Url, AbortHandle)>) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, old)) = std::mem::replace(&mut *s, v) {
            old.abort();
        }
    }

    /// Stops reading the stream.
    pub fn close(&self) {
        self.set(None);
    }
}

/// Opens the stream and waits for its `endpoint` event.
pub async fn open(link: &Arc<Link>, ch: &Arc<Channel>) -> Result<(), Failure> {
    let mut hm = HeaderMap::new();
    hm.insert(
        header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    let mut resp = link.send(&link.ep.url, Verb::Get, hm).await?;
    let origin = link.ep.origin.clone();
    if !resp.status().is_success() || h::media_type(&resp) != "text/event-stream" {
        return Err(Failure(format!(
            "{origin} speaks neither Streamable HTTP nor HTTP+SSE at this URL (HTTP {})",
            resp.status().as_u16()
        )));
    }
    let mut parser = sse::Parser::new(link.http.limits.max_message);
    let mut events = Vec::new();
    let limits = link.http.limits;
    let waited = wait_endpoint(link, &mut resp, &mut parser, &mut events);
    let post = tokio::time::timeout(limits.read, waited)
        .await
        .map_err(|_| {
            Failure(format!(
                "{origin} did not name its endpoint within {}",
                h::show(limits.read)
            ))
        })??;
    for e in events.drain(..) {
        if e.is_message() && !e.data.trim_ascii().is_empty() {
            link.deliver(e.data).await;
        }
    }
    let task = tokio::spawn(read(link.clone(), ch.clone(), resp, parser));
    ch.set(Some((post, task.abort_handle())));
    Ok(())
}

/// Reads the stream until its `endpoint` event; the events before it are
/// kept in `events` (at most one message's size in all).
async fn wait_endpoint(
    link: &Link,
    resp: &mut Response,
    parser: &mut sse::Parser,
    events: &mut Vec<sse::Event>,
) -> Result<Url, Failure> {
    let origin = &link.ep.origin;
    let max = link.http.limits.max_message;
    loop {
        let chunk = h::chunk(resp, Some(link.http.limits.read), origin)
            .await?
            .ok_or_else(|| {
                Failure(format!(
                    "{origin} closed its event stream before naming its endpoint"
                ))
            })?;
        parser
            .feed(&chunk, events)
            .map_err(|e| Failure(format!("{origin}: {e}")))?;
        if let Some(i) = events.iter().position(|e| e.name == "endpoint") {
            let e = events.remove(i);
            events.truncate(i);
            return endpoint_url(&link.ep.url, &e.data);
        }
        events.retain(|e| e.is_message() && !e.data.trim_ascii().is_empty());
        if events.iter().map(|e| e.data.len()).sum::<usize>() > max {
            return Err(Failure(format!(
                "{origin} sent more than {max} bytes of events before naming its endpoint"
            )));
        }
    }
}

/// The `endpoint` event's URL, which must be on the stream's origin.
fn endpoint_url(base: &Url, data: &[u8]) -> Result<Url, Failure> {
    let origin = origin_of(base);
    let text = std::str::from_utf8(data).unwrap_or("").trim();
    let url = base
        .join(text)
        .map_err(|_| Failure(format!("{origin} named an endpoint that is not a URL")))?;
    if origin_of(&url) != origin {
        return Err(Failure(format!(
            "{origin} named a message endpoint on another origin ({}); refused, so our headers stay with {origin}",
            origin_of(&url)
        )));
    }
    Ok(url)
}

/// Delivers the stream's messages until it ends; then fails what waits.
/// While requests wait, a silence longer than the read timeout fails them
/// (the stream stays open for later ones).
async fn read(link: Arc<Link>, ch: Arc<Channel>, mut resp: Response, mut parser: sse::Parser) {
    let origin = link.ep.origin.clone();
    let limit = link.http.limits.read;
    let check = (limit / 4).max(Duration::from_millis(50));
    let mut heard = Instant::now();
    let mut events = Vec::new();
    let why = loop {
        let got = tokio::select! {
            c = h::chunk(&mut resp, None, &origin) => c,
            () = tokio::time::sleep(check) => {
                let waiting = link.all_waiting();
                if waiting.is_empty() {
                    heard = Instant::now();
                } else if heard.elapsed() >= limit {
                    let why = format!(
                        "{origin} sent nothing for {} while an answer was awaited",
                        h::show(limit)
                    );
                    link.fail(&waiting, &why).await;
                    heard = Instant::now();
                }
                continue;
            }
        };
        heard = Instant::now();
        match got {
            Ok(Some(c)) => {
                if let Err(e) = parser.feed(&c, &mut events) {
                    break format!("{origin}: {e}");
                }
                for e in events.drain(..) {
                    if e.is_message() && !e.data.trim_ascii().is_empty() {
                        link.deliver(e.data).await;
                    }
                }
            }
            Ok(None) => break format!("{origin} closed its event stream"),
            Err(f) => break f.0,
        }
    };
    // this task's own handle is dropped without aborting itself
    ch.state.lock().unwrap_or_else(|e| e.into_inner()).take();
    link.fail(
        &link.all_waiting(),
        &format!("{why}; the request's answer is lost"),
    )
    .await;
}

/// POSTs one client message; opens a new stream first (replaying the kept
/// `initialize`) when the last one ended.
pub async fn post(
    link: &Arc<Link>,
    ch: &Arc<Channel>,
    line: &[u8],
    ids: &[String],
) -> Result<(), Failure> {
    let url = match ch.post_url() {
        Some(u) => u,
        None => reopen(link, ch).await?,
    };
    send(link, &url, line, ids).await
}

async fn send(link: &Link, url: &Url, line: &[u8], ids: &[String]) -> Result<(), Failure> {
    let mut hm = HeaderMap::new();
    hm.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let resp = link.send(url, Verb::Post(line.to_vec()), hm).await?;
    let status = resp.status();
    link.note_status(ids, status.as_u16());
    if status.is_success() {
        return Ok(());
    }
    Err(super::streamable::status_failure(status, &link.ep.origin))
}

async fn reopen(link: &Arc<Link>, ch: &Arc<Channel>) -> Result<Url, Failure> {
    link.say(&format!("reopening the event stream of {}", link.ep.origin));
    open(link, ch).await?;
    let url = ch
        .post_url()
        .ok_or_else(|| Failure(format!("{} closed its new event stream", link.ep.origin)))?;
    if let Some(init) = link.session().init {
        let line = super::streamable::with_id(&init, &link.internal_id())?;
        send(link, &url, &line, &[]).await?;
        let note = br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
        send(link, &url, note, &[]).await?;
    }
    Ok(url)
}
