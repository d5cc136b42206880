//! OAuth 2.1 for remote MCP servers, as the MCP authorization spec
//! (2025-11-25) asks of a client.
//!
//! This folder owns the protocol: reading refusals ([`challenge`]), finding
//! the authorization server ([`discovery`]), choosing or registering the
//! client ([`identity`]), PKCE and `state` ([`pkce`]), the loopback redirect
//! ([`redirect`]), opening the browser ([`browser`]), the token endpoint
//! ([`token`], [`jwt`]), revocation ([`revoke`]), where grants are kept
//! ([`store`]: tokens and registrations through the backend interface, a
//! non-secret index, the per-grant refresh lock of [`lock`]), and the state machine the
//! bridge asks on every request ([`authorizer`], implementing
//! [`crate::remote::Authorize`]). Every request goes through the bridge's one
//! HTTP client ([`http`]). Tokens are kept only through the store (the
//! backend interface); nothing here writes a file or prints: what the user
//! must see is handed to a [`Report`] the verb gives.
//!
//! Dependencies: `verbs -> oauth -> (remote::http, backend, paths)`;
//! `remote` never knows about OAuth.

pub mod authorizer;
pub mod bounds;
pub mod browser;
pub mod challenge;
pub mod discovery;
pub mod http;
pub mod identity;
pub mod jwt;
pub mod lock;
pub mod pkce;
pub mod redirect;
pub mod revoke;
pub mod store;
pub mod token;

use crate::exit::{Code, ExitStatus};

/// Server-supplied text (an issuer, a client id, a scope) for a message or
/// a table: control characters (terminal escapes) dropped, at most 200
/// characters.
pub fn shown(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// The MCP protocol version whose authorization rules this follows.
pub const PROTOCOL_VERSION: &str = "2025-11-25";

/// Where lines for the user go (the verb prints them on stderr).
pub type Report = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

/// Told each credential the bridge will send or hold (a name and the
/// value), so the guard redacts it from everything the server says.
pub type Learn = std::sync::Arc<dyn Fn(&str, &crate::secret::SecretValue) + Send + Sync>;

/// What kind of failure, in the terms that decide the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The command line (64).
    Usage,
    /// Configuration: no way to authorize as set up, a missing endpoint (78).
    Config,
    /// Nothing found where it was looked for (78).
    NotFound,
    /// Refused by a server or the user, or a check failed (77).
    Denied,
    /// A server could not be reached or timed out (69).
    Unreachable,
    /// A server sent something unusable (65).
    BadData,
    /// Our own files or sockets (74).
    Io,
}

/// One line naming what failed and how to fix it; never a token, a secret,
/// a code or a URL beyond an origin the user gave or a server named.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct OAuthError {
    pub kind: Kind,
    pub message: String,
    /// The OAuth error code of a server's answer (`invalid_grant`, ...).
    pub code: Option<String>,
}

impl OAuthError {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            code: None,
        }
    }
}

impl ExitStatus for OAuthError {
    fn exit_code(&self) -> Code {
        match self.kind {
            Kind::Usage => Code::Usage,
            Kind::Config | Kind::NotFound => Code::Config,
            Kind::Denied => Code::NoPerm,
            Kind::Unreachable => Code::Unavailable,
            Kind::BadData => Code::DataErr,
            Kind::Io => Code::IoErr,
        }
    }
}
