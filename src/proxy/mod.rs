//! The stdio relay between an MCP client and the server it launched:
//! framing, redaction, audit and tool policy.
//!
//! This module owns every byte and message that passes between the client and
//! the supervised server. It must not spawn, signal or wait for processes,
//! resolve secrets or print diagnostics: the caller (`run`'s supervise mode)
//! owns the child's lifecycle and gives the proxy the child's pipes and the
//! injected values; warnings come back as strings ([`Guard::warnings`]).
//!
//! # Use
//!
//! ```no_run
//! # use std::{sync::Arc, time::Duration};
//! # use mcp_warden::proxy::{self, Guard, GuardConfig, AuditConfig};
//! # async fn demo(mut child: tokio::process::Child, secrets: Vec<(String, mcp_warden::secret::SecretValue)>) -> Result<(), proxy::ProxyError> {
//! let guard = Arc::new(Guard::new(GuardConfig {
//!     secrets,
//!     redact: true,
//!     allow_tools: vec![],
//!     deny_tools: vec!["delete_*".into()],
//!     audit: Some(AuditConfig::new(proxy::audit::default_path("/data".as_ref()), "github")),
//!     credentials: vec![],
//! })?);
//! for w in guard.warnings() { eprintln!("mcp-warden: {w}"); }
//! guard.audit_start("npx", child.id().unwrap_or(0));
//! let (Some(stdin), Some(stdout), Some(stderr)) =
//!     (child.stdin.take(), child.stdout.take(), child.stderr.take()) else { return Ok(()) };
//! let mut relay = proxy::start(guard.clone(), tokio::io::stdin(), tokio::io::stdout(),
//!     stdin, proxy::ServerOut::stream(stdout), stderr, tokio::io::stderr());
//! tokio::select! {
//!     _ = relay.client_eof() => { /* stdin is closed: wait, SIGTERM, wait, SIGKILL */ }
//!     _ = child.wait() => {}
//! }
//! let status = child.wait().await;
//! relay.finish(Duration::from_secs(2)).await;
//! guard.audit_exit(status.ok().and_then(|s| s.code()), None);
//! # Ok(()) }
//! ```
//!
//! # Submodules
//!
//! - [`framing`]: lines out of a byte stream, no length limit, linear cost.
//! - [`redact`]: finding every form of an injected value and replacing it so
//!   JSON stays valid.
//! - [`policy`]: `--allow-tool` / `--deny-tool` globs.
//! - [`message`]: zero-copy reads of the JSON-RPC fields the proxy needs; the
//!   denial reply; `tools/list` filtering; batches.
//! - [`audit`]: the JSONL audit log (writing, rotation) and `mcp-warden audit`
//!   ([`audit::show`], [`audit::Query`], [`audit::default_path`]).
//! - `guard` ([`Guard`]): the decision for each line.
//! - `relay` ([`start`], [`RelayHandle`]): the tasks that move bytes.
//! - `track`: the bounded table of requests awaiting responses.
//!
//! # Guarantees
//!
//! - Original bytes are forwarded unless a line must change (a value to redact,
//!   a `tools/list` result to filter, a batch with denied calls); a rewritten
//!   message is compact JSON on one line.
//! - Unknown methods and fields, `_meta`, notifications, server-to-client
//!   requests, both protocol eras (`initialize`; 2026-07-28 `server/discover`),
//!   non-JSON lines and a final line without newline pass through.
//! - Redaction covers what the server sends (stdout and stderr), not what the
//!   client sends; the audit log is redacted as a whole, record by record.
//! - Tool policy applies to `tools/call` requests from the client, one by one
//!   inside a batch: denied elements are answered by the proxy (one array for a
//!   batch) and the rest is forwarded. With a policy active, a client line that
//!   cannot be read as JSON-RPC (invalid JSON, duplicate keys) is dropped, since
//!   the server might read it differently; without one it is forwarded.
//! - The tables of requests awaiting a response hold at most 4096 entries per
//!   direction; a `tools/list` answer whose request was evicted or cancelled is
//!   not filtered (the calls themselves are still denied).

pub mod audit;
pub mod expiry;
pub mod framing;
mod guard;
pub mod message;
pub mod policy;
pub mod redact;
mod relay;
mod track;

pub use audit::AuditConfig;
pub use audit::worker::EgressSeen;
pub use expiry::Credential;
pub use guard::{Guard, Scratch, Verdict};
pub use relay::{RelayHandle, ServerOut, start};

use crate::exit::{Code, ExitStatus};
use crate::secret::SecretValue;

/// What the proxy does, from the command line.
#[derive(Debug, Clone)]
pub struct GuardConfig {
    /// Injected values by environment variable name, to redact.
    pub secrets: Vec<(String, SecretValue)>,
    /// `false` with `--no-redact`.
    pub redact: bool,
    /// `--allow-tool GLOB`; empty allows every tool not denied.
    pub allow_tools: Vec<String>,
    /// `--deny-tool GLOB`; wins over the allow list.
    pub deny_tools: Vec<String>,
    /// `None` with `--no-audit`.
    pub audit: Option<AuditConfig>,
    /// Short-lived credentials among the values: recorded at start; a tool
    /// call after one expired (unless refreshed) is answered with an error.
    pub credentials: Vec<Credential>,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            secrets: Vec::new(),
            redact: true,
            allow_tools: Vec::new(),
            deny_tools: Vec::new(),
            audit: None,
            credentials: Vec::new(),
        }
    }
}

/// Errors setting up the proxy.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("{flag} {glob:?}: invalid glob: {reason}")]
    BadGlob {
        flag: &'static str,
        glob: String,
        reason: String,
    },
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
}

impl ExitStatus for ProxyError {
    fn exit_code(&self) -> Code {
        match self {
            ProxyError::BadGlob { .. } => Code::Usage,
            ProxyError::Audit(e) => e.exit_code(),
        }
    }
}

#[cfg(test)]
mod tests;
