//! The proxy's loopback listener: the child's HTTP/1.1 proxy connections,
//! `CONNECT` for HTTPS and absolute-form requests for plain HTTP, each
//! routed by the plan (intercept, tunnel or refuse).
//!
//! Owns accepting (bounded in number), the proxy protocol, and routing.
//! Must not swap values or speak TLS.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::forward::{Target, forward, plain};
use super::host::normalize;
use super::plan::Route;
use super::upstream::Body;
use super::{Ctx, intercept, tunnel};

/// Connections from the child served at once; more wait in the backlog.
const MAX_CONNECTIONS: usize = 512;
/// Time to read a proxy request's head.
const HEAD: Duration = Duration::from_secs(60);

/// Accepts the child's connections until the task is aborted.
pub async fn serve(ctx: Arc<Ctx>, listener: TcpListener) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of descriptors or similar: let the system breathe.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let ctx = ctx.clone();
        tokio::spawn(connection(ctx, stream, Arc::new(permit)));
    }
}

/// One connection of the child's. Its slot is held until the connection and
/// whatever its CONNECT became (an intercepted session, a tunnel) have ended.
async fn connection(ctx: Arc<Ctx>, stream: TcpStream, slot: Slot) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |req| request(ctx.clone(), req, slot.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await;
}

/// A connection slot, shared by the tasks serving one connection.
type Slot = Arc<tokio::sync::OwnedSemaphorePermit>;

/// One request to the proxy itself.
async fn request(
    ctx: Arc<Ctx>,
    req: Request<Incoming>,
    slot: Slot,
) -> Result<Response<Body>, Infallible> {
    if req.method() == Method::CONNECT {
        return Ok(connect(ctx, req, slot));
    }
    let uri = req.uri();
    let (Some("http"), Some(host)) = (uri.scheme_str(), uri.host()) else {
        return Ok(plain(
            StatusCode::BAD_REQUEST,
            "mcp-warden secretless: this is an egress proxy; send absolute http:// URLs or CONNECT\n",
        ));
    };
    let host = normalize(host);
    let port = uri.port_u16().unwrap_or(80);
    let bound = match ctx.plan.route(&host, port, false) {
        Route::Refuse => return Ok(tunnel::refused(&ctx, &host, port, req.method().as_str())),
        Route::Intercept { bound } => bound,
        // Plain HTTP is readable: an unlisted host in open mode is still
        // checked for placeholders, with nothing swapped in.
        Route::Tunnel => Vec::new(),
    };
    let target = Arc::new(Target {
        host,
        port,
        tls: false,
        bound,
    });
    forward(ctx, target, req).await
}

/// `CONNECT host:port`: answered 200 and then served, or refused.
fn connect(ctx: Arc<Ctx>, mut req: Request<Incoming>, slot: Slot) -> Response<Body> {
    let Some((host, port)) = req
        .uri()
        .authority()
        .and_then(|a| Some((normalize(a.host()), a.port_u16()?)))
    else {
        return plain(
            StatusCode::BAD_REQUEST,
            "mcp-warden secretless: CONNECT needs host:port\n",
        );
    };
    let on = hyper::upgrade::on(&mut req);
    match ctx.plan.route(&host, port, true) {
        Route::Refuse => return tunnel::refused(&ctx, &host, port, "CONNECT"),
        Route::Tunnel => {
            tokio::spawn(async move {
                tunnel::pass_through(ctx, host, port, on).await;
                drop(slot);
            });
        }
        Route::Intercept { bound } => {
            let target = Target {
                host,
                port,
                tls: true,
                bound,
            };
            tokio::spawn(async move {
                intercept::serve(ctx, target, on).await;
                drop(slot);
            });
        }
    }
    Response::new(super::empty())
}
