//! An intercepted `CONNECT`: TLS is terminated here with a leaf certificate
//! for the host the child asked for, then the child's HTTP/1.1 or HTTP/2
//! requests are served one by one through [`super::forward`].
//!
//! Owns the handshake with the child and naming the cause when the child
//! refuses our certificate (a pinning client, or one that ignores the CA
//! bundle). Must not change requests.

use std::sync::Arc;
use std::time::Duration;

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;

use super::Ctx;
use super::forward::{Target, forward};
use super::record::{Exchange, Outcome};

/// Time the child has to finish its TLS handshake.
const HANDSHAKE: Duration = Duration::from_secs(30);
/// An HTTP/1.1 connection waiting this long for its next request is closed.
const IDLE: Duration = Duration::from_secs(300);
/// Requests one HTTP/2 connection of the child's may have open at once.
const MAX_STREAMS: u32 = 64;

/// Serves the child's connection to `target` once the proxy answered 200.
pub async fn serve(ctx: Arc<Ctx>, target: Target, on: OnUpgrade) {
    let Ok(upgraded) = on.await else { return };
    let config = match ctx.authority.server_config_for(&target.host) {
        Ok(c) => c,
        Err(e) => {
            ctx.said.once(format!("leaf {}", target.host), || {
                format!("cannot make a certificate for {}: {e}", target.host)
            });
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let tls = match tokio::time::timeout(HANDSHAKE, acceptor.accept(TokioIo::new(upgraded))).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => return handshake_failed(&ctx, &target, &e),
        Err(_) => return,
    };
    let target = Arc::new(target);
    let service = hyper::service::service_fn(move |req| forward(ctx.clone(), target.clone(), req));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(IDLE);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(MAX_STREAMS)
        .adaptive_window(true)
        .keep_alive_interval(Some(IDLE / 2))
        .keep_alive_timeout(Duration::from_secs(20));
    let _ = builder
        .serve_connection_with_upgrades(TokioIo::new(tls), service)
        .await;
}

/// The child closed the handshake. When it did so with an alert, it refused
/// our certificate: say so once, naming secretless mode, and record it.
fn handshake_failed(ctx: &Ctx, target: &Target, e: &std::io::Error) {
    let alert = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|r| match r {
            rustls::Error::AlertReceived(a) => Some(format!("{a:?}")),
            _ => None,
        });
    let Some(alert) = alert else { return };
    let detail = format!("the client refused the interception certificate ({alert})");
    ctx.recorder.exchange(&Exchange {
        outcome: Outcome::Blocked,
        host: &target.host,
        port: target.port,
        method: "CONNECT",
        path: "",
        status: None,
        request_bytes: 0,
        response_bytes: 0,
        vars: &[],
        detail: Some(&detail),
    });
    ctx.said.once(format!("pinned {}", target.host), || {
        format!(
            "the server refused mcp-warden's certificate for {} ({alert}): it pins certificates or does not read the CA bundle in SSL_CERT_FILE / NODE_EXTRA_CA_CERTS, so secretless mode cannot serve it; run this server without --secretless",
            target.host
        )
    });
}
