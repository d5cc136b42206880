//! The client side of MCP's HTTP transports, and the stdio bridge `connect`
//! runs on them.
//!
//! This folder owns everything between the bridge's stdio lines and a remote
//! MCP server: filling and checking the endpoint ([`endpoint`]), the HTTP
//! client and its safety rules ([`http`]), SSE parsing ([`sse`]), the
//! Streamable HTTP and legacy HTTP+SSE transports, sessions, and the bridge
//! loop ([`serve`]). It must not resolve references, start processes, print
//! to our stdout or know about the guard: `connect` puts the guard between
//! the client and the bridge's lines, exactly as `run` puts it between the
//! client and a child's pipes.
//!
//! # Submodules
//!
//! - [`endpoint`]: `%{NAME}` in the URL and the headers; CR/LF/NUL refused;
//!   https, or plain http to loopback only.
//! - [`auth`]: the credentials hook (`Authorize`) asked on every request.
//! - [`http`]: the one client (TLS verified, proxies honoured, timeouts,
//!   bounded bodies) and the redirect rule.
//! - [`sse`]: the `text/event-stream` parser.
//! - `rpc`: the shallow read of messages; error replies; one-line JSON.
//! - `link`: state shared by the bridge's tasks (waiting requests, session).
//! - `streamable`, `legacy`: the two transports.
//! - `bridge`: the loop ([`serve`]).

pub mod auth;
mod bridge;
pub mod endpoint;
pub mod http;
mod legacy;
mod link;
mod rpc;
pub mod sse;
mod streamable;

pub use auth::Authorize;
pub use bridge::{AuthHook, Options, StatusHook, Transport, serve};
pub use endpoint::{Endpoint, HeaderTemplate, fill, parse_header};
pub use http::{Http, Limits};

use crate::exit::{Code, ExitStatus};

/// Why a bridge cannot start. Never holds a value, a header or the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemoteError {
    /// The command line (URL, header syntax, placeholder use).
    #[error("{0}")]
    Usage(String),
    /// A filled value that cannot go where it is placed (CR/LF/NUL).
    #[error("{0}")]
    Data(String),
    /// TLS or client set-up.
    #[error("{0}")]
    Tls(String),
}

impl ExitStatus for RemoteError {
    fn exit_code(&self) -> Code {
        match self {
            RemoteError::Usage(_) => Code::Usage,
            RemoteError::Data(_) => Code::DataErr,
            RemoteError::Tls(_) => Code::Config,
        }
    }
}
