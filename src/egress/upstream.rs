//! The proxy's client to destinations: one connection pool (HTTP/1.1 and
//! HTTP/2 by ALPN) with TLS verified against the roots the child would have
//! trusted without mcp-warden (the system's, which honour `SSL_CERT_FILE`),
//! and an HTTP/1.1-only pool for upgrades (WebSockets).
//!
//! Owns connecting and verifying. Must not look at or change requests.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Every body the proxy sends or returns.
pub type Body = BoxBody<Bytes, BoxError>;

type Pool = Client<hyper_rustls::HttpsConnector<HttpConnector>, Body>;

/// Time to open a TCP connection to a destination.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle pooled connections are closed after this.
const IDLE: Duration = Duration::from_secs(90);
/// Idle connections kept per destination.
const MAX_IDLE_PER_HOST: usize = 16;

pub struct Upstream {
    any: Pool,
    http1: Pool,
}

impl Upstream {
    /// Clients verifying destinations against `roots`.
    pub fn new(roots: &[CertificateDer<'static>]) -> Result<Upstream, String> {
        let tls = tls_config(roots)?;
        Ok(Upstream {
            any: pool(tls.clone(), true),
            http1: pool(tls, false),
        })
    }

    /// Sends `req` (absolute URI); `upgrade`: over HTTP/1.1, which upgrades need.
    pub async fn send(
        &self,
        req: http::Request<Body>,
        upgrade: bool,
    ) -> Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error> {
        if upgrade {
            self.http1.request(req).await
        } else {
            self.any.request(req).await
        }
    }
}

fn tls_config(roots: &[CertificateDer<'static>]) -> Result<rustls::ClientConfig, String> {
    let mut store = rustls::RootCertStore::empty();
    store.add_parsable_certificates(roots.iter().cloned());
    if store.is_empty() {
        return Err("no trust roots found (set SSL_CERT_FILE to a CA bundle)".into());
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .with_root_certificates(store)
        .with_no_client_auth())
}

fn pool(tls: rustls::ClientConfig, http2: bool) -> Pool {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    http.set_nodelay(true);
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http();
    let https = if http2 {
        builder.enable_all_versions().wrap_connector(http)
    } else {
        builder.enable_http1().wrap_connector(http)
    };
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(IDLE)
        .pool_max_idle_per_host(MAX_IDLE_PER_HOST)
        .http2_adaptive_window(true)
        .pool_timer(hyper_util::rt::TokioTimer::new())
        .build(https)
}
