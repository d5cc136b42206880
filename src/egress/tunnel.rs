//! Byte tunnels: an upgraded connection (a WebSocket) between the child and
//! a destination once both agreed to switch protocols, and open mode's
//! plain tunnels to hosts that are not intercepted.
//!
//! Owns copying both ways until either side closes, and the one record per
//! tunnel. An upgraded connection's answers are masked (real values become
//! placeholders); nothing else is inspected or changed: what the child sends
//! through a tunnel is not swapped (said in docs/secretless.md).

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::Ctx;
use super::forward::{Seen, Target, mask_headers, plain, strip_hop_by_hop};
use super::record::{Exchange, Outcome};
use super::swap::{StreamSwap, Swapper};
use super::upstream::{Body, BoxError};

/// Time to open a TCP connection for a plain tunnel.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The destination switched protocols: answer the child with its 101 and
/// join the two upgraded connections.
pub fn upgraded(
    ctx: Arc<Ctx>,
    target: Arc<Target>,
    seen: Seen,
    child: OnUpgrade,
    mut resp: Response<Incoming>,
) -> Response<Body> {
    let server = hyper::upgrade::on(&mut resp);
    let (mut parts, _) = resp.into_parts();
    strip_hop_by_hop(&mut parts.headers, true);
    mask_headers(&ctx, &mut parts.headers);
    let swapper = ctx.swapper();
    tokio::spawn(async move {
        let joined = async {
            let (c, s) = tokio::try_join!(child, server)?;
            join_masked(TokioIo::new(c), TokioIo::new(s), swapper).await
        };
        let (bytes, detail) = match joined.await {
            Ok(b) => (b, "upgraded (answers masked)".to_string()),
            Err(e) => (
                (0, 0),
                format!("upgrade ended: {}", super::forward::root_cause(&*e)),
            ),
        };
        seen.record(&ctx, &target, Some(101), bytes, Some(&detail));
    });
    Response::from_parts(
        parts,
        Empty::new()
            .map_err(|never| -> BoxError { match never {} })
            .boxed(),
    )
}

/// Joins an upgraded connection: the child's bytes go to the destination as
/// they are; the destination's come back with every real value replaced by
/// its placeholder (a WebSocket echoing the credential shows the placeholder).
/// Returns the bytes each way.
async fn join_masked<C, S>(
    child: C,
    server: S,
    swapper: Arc<Swapper>,
) -> Result<(u64, u64), BoxError>
where
    C: AsyncRead + AsyncWrite + Unpin,
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut child_in, mut child_out) = tokio::io::split(child);
    let (mut server_in, mut server_out) = tokio::io::split(server);
    let up = async {
        let n = tokio::io::copy(&mut child_in, &mut server_out).await?;
        let _ = server_out.shutdown().await;
        Ok::<u64, std::io::Error>(n)
    };
    let down = async {
        let mut swap = StreamSwap::to_placeholder(swapper);
        let mut buf = vec![0u8; 16 * 1024];
        let mut n = 0u64;
        loop {
            let got = server_in.read(&mut buf).await?;
            let out = if got == 0 {
                swap.finish()
            } else {
                swap.push(&buf[..got])
            };
            child_out.write_all(&out).await?;
            n += out.len() as u64;
            if got == 0 {
                let _ = child_out.shutdown().await;
                return Ok::<u64, std::io::Error>(n);
            }
        }
    };
    Ok(tokio::try_join!(up, down)?)
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
