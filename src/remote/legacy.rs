//! The legacy HTTP+SSE client transport (MCP 2024-11-05).
//!
//! Owns opening the event stream (GET), waiting for its `endpoint` event
//! (which must name a URL of the same origin: our headers go nowhere else),
//! POSTing each client message there, and delivering the stream's `message`
//! events. When the stream ends, the requests still waiting get an error and
//! the next message opens a new stream, replaying the kept `initialize`.
//! Must not decide the bridge's lifecycle.

use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue, header};
use reqwest::{Response, Url};
use tokio::task::AbortHandle;

use super::endpoint::origin_of;
use super::http::{self as h, Failure, Request, Verb};
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
    let mut resp = link
        .http
        .send(Request {
            url: &link.ep.url,
            verb: Verb::Get,
            ours: &link.ep.headers,
            transport: hm,
        })
        .await?;
    let origin = link.ep.origin.clone();
    if !resp.status().is_success() || h::media_type(&resp) != "text/event-stream" {
        return Err(Failure(format!(
            "{origin} speaks neither Streamable HTTP nor HTTP+SSE at this URL (HTTP {})",
            resp.status().as_u16()
        )));
    }
    let mut parser = sse::Parser::new(link.http.limits.max_message);
    let mut events = Vec::new();
    let post = loop {
        let chunk = h::chunk(&mut resp, Some(link.http.limits.read), &origin)
            .await?
            .ok_or_else(|| {
                Failure(format!(
                    "{origin} closed its event stream before naming its endpoint"
                ))
            })?;
        parser
            .feed(&chunk, &mut events)
            .map_err(|e| Failure(format!("{origin}: {e}")))?;
        if let Some(i) = events.iter().position(|e| e.name == "endpoint") {
            let e = events.remove(i);
            break endpoint_url(&link.ep.url, &e.data)?;
        }
    };
    for e in events.drain(..) {
        if e.is_message() && !e.data.trim_ascii().is_empty() {
            link.deliver(&e.data).await;
        }
    }
    let task = tokio::spawn(read(link.clone(), ch.clone(), resp, parser));
    ch.set(Some((post, task.abort_handle())));
    Ok(())
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
async fn read(link: Arc<Link>, ch: Arc<Channel>, mut resp: Response, mut parser: sse::Parser) {
    let origin = link.ep.origin.clone();
    let mut events = Vec::new();
    let why = loop {
        match h::chunk(&mut resp, None, &origin).await {
            Ok(Some(c)) => {
                if let Err(e) = parser.feed(&c, &mut events) {
                    break format!("{origin}: {e}");
                }
                for e in events.drain(..) {
                    if e.is_message() && !e.data.trim_ascii().is_empty() {
                        link.deliver(&e.data).await;
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
    let resp = link
        .http
        .send(Request {
            url,
            verb: Verb::Post(line.to_vec()),
            ours: &link.ep.headers,
            transport: hm,
        })
        .await?;
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
