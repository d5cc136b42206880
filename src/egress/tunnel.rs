//! Byte tunnels: an upgraded connection (a WebSocket) between the child and
//! a destination once both agreed to switch protocols, and open mode's
//! plain tunnels to hosts that are not intercepted.
//!
//! Owns copying both ways until either side closes, and the one record per
//! tunnel. Must not inspect or change the bytes: what a tunnel carries is
//! not swapped or masked (said in docs/secretless.md).

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;

use super::Ctx;
use super::forward::{SeenRecord, Target, mask_headers, plain, strip_hop_by_hop};
use super::record::{Exchange, Outcome};
use super::upstream::{Body, BoxError};

/// Time to open a TCP connection for a plain tunnel.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The destination switched protocols: answer the child with its 101 and
/// join the two upgraded connections.
pub fn upgraded(
    ctx: Arc<Ctx>,
    target: Arc<Target>,
    seen: SeenRecord,
    child: OnUpgrade,
    mut resp: Response<Incoming>,
) -> Response<Body> {
    let server = hyper::upgrade::on(&mut resp);
    let (mut parts, _) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers, true);
    mask_headers(&ctx, &mut parts.headers);
    tokio::spawn(async move {
        let joined = async {
            let (c, s) = tokio::try_join!(child, server)?;
            let (mut c, mut s) = (TokioIo::new(c), TokioIo::new(s));
            Ok::<_, BoxError>(tokio::io::copy_bidirectional(&mut c, &mut s).await?)
        };
        let (bytes, detail) = match joined.await {
            Ok(b) => (b, "upgraded (not inspected)".to_string()),
            Err(e) => (
                (0, 0),
                format!("upgrade ended: {}", super::forward::root_cause(&*e)),
            ),
        };
        let vars = ctx.names(&seen.swapped);
        ctx.recorder.exchange(&Exchange {
            outcome: Outcome::Forwarded,
            host: &target.host,
            port: target.port,
            method: &seen.method,
            path: &seen.path,
            status: Some(101),
            request_bytes: bytes.0,
            response_bytes: bytes.1,
            vars: &vars,
            detail: Some(&detail),
        });
    });
    Response::from_parts(
        parts,
        Empty::new()
            .map_err(|never| -> BoxError { match never {} })
            .boxed(),
    )
}

/// Open mode: `host:port` is not intercepted; the child's bytes pass as they are.
pub async fn pass_through(ctx: Arc<Ctx>, host: String, port: u16, child: OnUpgrade) {
    let result = async {
        let server = tokio::time::timeout(
            CONNECT_TIMEOUT,
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await
        .map_err(|_| -> BoxError { "connect timed out".into() })??;
        let mut child = TokioIo::new(child.await?);
        let mut server = server;
        Ok::<_, BoxError>(tokio::io::copy_bidirectional(&mut child, &mut server).await?)
    };
    let (bytes, detail) = match result.await {
        Ok(b) => (b, "tunnel (open mode, not inspected)".to_string()),
        Err(e) => (
            (0, 0),
            format!("tunnel failed: {}", super::forward::root_cause(&*e)),
        ),
    };
    ctx.recorder.exchange(&Exchange {
        outcome: Outcome::Forwarded,
        host: &host,
        port,
        method: "CONNECT",
        path: "",
        status: None,
        request_bytes: bytes.0,
        response_bytes: bytes.1,
        vars: &[],
        detail: Some(&detail),
    });
}

/// Strict mode: `host:port` is not reachable.
pub fn refused(ctx: &Ctx, host: &str, port: u16, method: &str) -> Response<Body> {
    ctx.recorder.exchange(&Exchange {
        outcome: Outcome::Blocked,
        host,
        port,
        method,
        path: "",
        status: Some(403),
        request_bytes: 0,
        response_bytes: 0,
        vars: &[],
        detail: Some("host not allowed (--egress strict)"),
    });
    ctx.said.once(format!("strict {host}:{port}"), || {
        format!(
            "refused {method} to {host}:{port}: not a host a secretless value is bound to (--egress strict; allow it with --egress-allow {host}:{port})"
        )
    });
    plain(
        StatusCode::FORBIDDEN,
        &format!(
            "mcp-warden secretless: {host}:{port} is not an allowed destination (--egress strict)\n"
        ),
    )
}
