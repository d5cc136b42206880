//! Backends: where secret values live.
//!
//! Owns the [`Backend`] trait, the error kinds every provider maps its failures
//! to, and one module per provider; [`registry`] maps a scheme to its backend.
//! A backend knows nothing of MCP, processes or environments: it turns
//! references into values (and, where writable, stores them). Errors name the
//! reference and what to check; they never carry a value.

pub mod aws;
pub mod azure;
pub mod file;
pub mod gcp;
pub mod github_app;
pub(crate) mod jws;
pub mod keyring;
pub mod lease;
pub mod local;
pub mod mint;
pub mod names;
pub mod op;
pub mod registry;
pub(crate) mod rest;
pub mod vault;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use crate::exit::{Code, ExitStatus};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub use lease::Lease;
pub use mint::{MintSpec, Minted};
pub use registry::{CloudSettings, Registry, Settings};

/// A boxed future, so `dyn Backend` stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What went wrong, in the terms that decide the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// No such secret (78).
    NotFound,
    /// The backend refused our credentials (77).
    Denied,
    /// Could not reach the backend (69).
    Unreachable,
    /// The backend did not answer within the timeout (69).
    TimedOut,
    /// The value cannot be used: not UTF-8 where text is needed, selector miss (65).
    BadData,
    /// Misconfiguration: unknown parameter, unbuilt backend, unreadable store (78).
    Config,
    /// The operation is not offered by this backend (78).
    Unsupported,
    /// Our own files could not be read or written (74).
    Io,
}

/// A backend failure: one line naming the reference and what to check.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{subject}: {message}")]
pub struct BackendError {
    pub kind: ErrorKind,
    /// What failed: a reference or a backend name. Never a value.
    pub subject: String,
    /// What happened and how to fix it. Never a value.
    pub message: String,
}

impl BackendError {
    pub fn new(kind: ErrorKind, subject: impl fmt::Display, message: impl Into<String>) -> Self {
        Self {
            kind,
            subject: subject.to_string(),
            message: message.into(),
        }
    }

    pub fn unsupported(r: &SecretRef, what: &str) -> Self {
        Self::new(
            ErrorKind::Unsupported,
            r,
            format!("the {} backend does not support {what}", r.scheme),
        )
    }

    /// Rejects parameters the backend does not know, so a typo never goes unnoticed.
    pub fn check_params(r: &SecretRef, known: &[&str]) -> Result<(), BackendError> {
        for (k, _) in &r.params {
            if !known.contains(&k.as_str()) {
                let allowed = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                return Err(Self::new(
                    ErrorKind::Config,
                    r,
                    format!(
                        "unknown parameter {k:?} for {}:// (allowed: {allowed})",
                        r.scheme
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl ExitStatus for BackendError {
    fn exit_code(&self) -> Code {
        match self.kind {
            ErrorKind::NotFound | ErrorKind::Config | ErrorKind::Unsupported => Code::Config,
            ErrorKind::Denied => Code::NoPerm,
            ErrorKind::Unreachable | ErrorKind::TimedOut => Code::Unavailable,
            ErrorKind::BadData => Code::DataErr,
            ErrorKind::Io => Code::IoErr,
        }
    }
}

/// Describes a failed blocking task without its panic message, which could hold data.
pub fn join_text(e: &tokio::task::JoinError) -> &'static str {
    if e.is_panic() {
        "panicked"
    } else {
        "was cancelled"
    }
}

/// Metadata about one stored secret: never its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretInfo {
    /// The name or location as the backend knows it.
    pub name: String,
    pub created: Option<SystemTime>,
    /// When the value last changed.
    pub updated: Option<SystemTime>,
    /// When the backend last rotated it, where the backend rotates.
    pub rotated: Option<SystemTime>,
    /// The current version id, where the backend versions.
    pub version: Option<String>,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Created,
    Updated,
}

/// A place secrets come from. Implementations are cheap to share (`Arc`).
pub trait Backend: Send + Sync {
    fn scheme(&self) -> Scheme;

    /// Fetches the whole values (selectors are applied by the resolver) of
    /// `refs`, all of this backend's scheme, concurrently or in batches where the
    /// provider allows. Returns one result per reference, in order.
    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>>;

    /// Creates the secret or adds a new value to it.
    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        _value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move { Err(BackendError::unsupported(r, "writing")) })
    }

    /// Deletes the secret.
    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move { Err(BackendError::unsupported(r, "deleting")) })
    }

    /// Lists secrets whose names start with `prefix` (all when empty).
    /// `params` are scope parameters such as `region`.
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        let _ = (prefix, params);
        let scheme = self.scheme();
        Box::pin(async move {
            Err(BackendError::new(
                ErrorKind::Unsupported,
                scheme,
                format!("the {scheme} backend does not support listing"),
            ))
        })
    }

    /// Metadata for one secret: created, last changed, last rotated.
    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move { Err(BackendError::unsupported(r, "metadata")) })
    }

    /// Has the provider rotate the secret with its own mechanism (AWS Secrets
    /// Manager's RotateSecret); returns the new version id when it names one.
    fn rotate<'a>(
        &'a self,
        r: &'a SecretRef,
    ) -> BoxFuture<'a, Result<Option<String>, BackendError>> {
        Box::pin(async move { Err(BackendError::unsupported(r, "rotating by itself")) })
    }

    /// Hands over the leases and login tokens obtained since the last call
    /// (dynamic secrets, tokens from a login), for the caller to renew and revoke.
    fn held(&self) -> Vec<Arc<dyn Lease>> {
        Vec::new()
    }

    /// Hands over what a minting backend made since the last call: scope
    /// and expiry of each credential, never the credential.
    fn minted(&self) -> Vec<Minted> {
        Vec::new()
    }
}
