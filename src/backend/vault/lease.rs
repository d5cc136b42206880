//! Vault leases and login tokens as [`Lease`]s: renew and revoke through the
//! `sys/leases` and `auth/token/*-self` APIs.
//!
//! Owns those calls only. Must not decide when to call them (the keeper does)
//! and must not show a token or a lease's value; a label names the lease's path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::auth::Session;
use super::client::Cap;
use crate::backend::{BackendError, BoxFuture, ErrorKind, Lease};

/// A dynamic secret's lease.
pub(crate) struct VaultLease {
    pub session: Arc<Session>,
    pub namespace: Option<String>,
    pub lease_id: String,
    pub ttl: Duration,
    pub renewable: bool,
    /// When the lease was handed out.
    pub obtained: Instant,
}

/// A token mcp-warden obtained by logging in.
pub(crate) struct LoginToken {
    pub session: Arc<Session>,
}

fn body(v: Value) -> Option<Vec<u8>> {
    serde_json::to_vec(&v).ok()
}

impl Lease for VaultLease {
    fn label(&self) -> String {
        // The last segment is the lease's own id; the path before it says what it is.
        let path = self
            .lease_id
            .rsplit_once('/')
            .map_or(self.lease_id.as_str(), |(p, _)| p);
        format!("Vault lease on {path}")
    }
    fn ttl(&self) -> Duration {
        self.ttl
    }
    fn left(&self) -> Duration {
        self.ttl.saturating_sub(self.obtained.elapsed())
    }
    fn renewable(&self) -> bool {
        self.renewable
    }
    fn is_token(&self) -> bool {
        false
    }
    fn renew(&self) -> BoxFuture<'_, Result<Duration, BackendError>> {
        Box::pin(async move {
            let answer = self
                .session
                .client
                .call(
                    Method::PUT,
                    "sys/leases/renew",
                    &[],
                    Some(&self.session.token),
                    self.namespace.as_deref(),
                    body(json!({ "lease_id": self.lease_id, "increment": self.ttl.as_secs() })),
                    Cap::Write,
                )
                .await
                .map_err(|f| BackendError::new(f.kind, self.label(), f.message))?;
            Ok(duration(
                answer.as_ref().and_then(|a| a.get("lease_duration")),
            ))
        })
    }
    fn revoke(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            let done = self
                .session
                .client
                .call(
                    Method::PUT,
                    "sys/leases/revoke",
                    &[],
                    Some(&self.session.token),
                    self.namespace.as_deref(),
                    body(json!({ "lease_id": self.lease_id })),
                    Cap::Write,
                )
                .await;
            match done {
                Ok(_) => Ok(()),
                // Policies rarely grant sys/leases/revoke to a login token; revoking the
                // token (which the keeper does next) revokes every lease it created.
                Err(f) if f.kind == ErrorKind::Denied && self.session.login.is_some() => Ok(()),
                Err(f) => Err(BackendError::new(f.kind, self.label(), f.message)),
            }
        })
    }
}

impl LoginToken {
    fn info(&self) -> (Duration, bool, &'static str) {
        self.session
            .login
            .map_or((Duration::ZERO, false, "token"), |l| {
                (l.ttl, l.renewable, l.method)
            })
    }

    fn obtained(&self) -> Instant {
        self.session.login.map_or_else(Instant::now, |l| l.obtained)
    }
}

impl Lease for LoginToken {
    fn label(&self) -> String {
        format!("Vault token from the {} login", self.info().2)
    }
    fn ttl(&self) -> Duration {
        self.info().0
    }
    fn left(&self) -> Duration {
        self.ttl().saturating_sub(self.obtained().elapsed())
    }
    fn renewable(&self) -> bool {
        self.info().1
    }
    fn is_token(&self) -> bool {
        true
    }
    fn renew(&self) -> BoxFuture<'_, Result<Duration, BackendError>> {
        Box::pin(async move {
            let answer = self
                .session
                .client
                .call(
                    Method::POST,
                    "auth/token/renew-self",
                    &[],
                    Some(&self.session.token),
                    self.session.namespace.as_deref(),
                    body(json!({ "increment": self.ttl().as_secs() })),
                    Cap::Write,
                )
                .await
                .map_err(|f| BackendError::new(f.kind, self.label(), f.message))?;
            let ttl = duration(
                answer
                    .as_ref()
                    .and_then(|a| a.get("auth"))
                    .and_then(|a| a.get("lease_duration")),
            );
            if ttl.is_zero() {
                return Err(BackendError::new(
                    ErrorKind::Denied,
                    self.label(),
                    "renewal answered without a lifetime",
                ));
            }
            Ok(ttl)
        })
    }
    fn revoke(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            self.session
                .client
                .call(
                    Method::POST,
                    "auth/token/revoke-self",
                    &[],
                    Some(&self.session.token),
                    self.session.namespace.as_deref(),
                    None,
                    Cap::Write,
                )
                .await
                .map(|_| ())
                .map_err(|f| BackendError::new(f.kind, self.label(), f.message))
        })
    }
}

fn duration(v: Option<&Value>) -> Duration {
    Duration::from_secs(v.and_then(Value::as_u64).unwrap_or(0))
}
