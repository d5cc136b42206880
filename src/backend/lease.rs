//! Held credentials with a lifetime: dynamic-secret leases and login tokens.
//!
//! Owns the backend-agnostic [`Lease`] trait and the [`Keeper`] that renews
//! what a run holds while the server runs (at two thirds of the TTL, bounded)
//! and revokes it when the run ends: leases first, then the tokens that own
//! them. Must not know any provider, process or MCP detail, and must not print:
//! problems go to the `report` callback the verb supplies, as one line without
//! values.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{BackendError, BoxFuture};

/// Something a backend handed out that expires unless renewed and should be
/// revoked when no longer needed.
pub trait Lease: Send + Sync {
    /// What this is, for messages: e.g. "Vault lease pki/issue/web/…". Never a value.
    fn label(&self) -> String;
    /// Time to live when obtained: what a renewal asks for.
    fn ttl(&self) -> Duration;
    /// Time left now (the TTL less the time since it was obtained).
    fn left(&self) -> Duration;
    fn renewable(&self) -> bool;
    /// Tokens are revoked after the leases they own.
    fn is_token(&self) -> bool;
    /// Extends the lifetime; returns the new time to live.
    fn renew(&self) -> BoxFuture<'_, Result<Duration, BackendError>>;
    fn revoke(&self) -> BoxFuture<'_, Result<(), BackendError>>;
}

/// Where the keeper sends one-line problem reports.
pub type Report = Arc<dyn Fn(String) + Send + Sync>;

/// Renews held leases in the background until [`Keeper::release`].
pub struct Keeper {
    held: Vec<Arc<dyn Lease>>,
    tasks: Vec<JoinHandle<()>>,
    report: Report,
    /// Bound for one renew or revoke call.
    limit: Duration,
    /// Set once everything held was revoked.
    released: AtomicBool,
}

/// No renewal is scheduled sooner than this after the previous one.
const MIN_WAIT: Duration = Duration::from_millis(500);
/// A lease with less left than this is let go.
const MIN_LEFT: Duration = Duration::from_secs(1);

/// When to renew a lease with `ttl` left: two thirds of the way through.
pub fn renew_after(ttl: Duration) -> Duration {
    (ttl * 2 / 3).max(MIN_WAIT)
}

impl Keeper {
    /// Starts one renewal task per renewable lease on the current runtime.
    pub fn start(held: Vec<Arc<dyn Lease>>, limit: Duration, report: Report) -> Keeper {
        let tasks = held
            .iter()
            .filter(|l| l.renewable())
            .map(|l| tokio::spawn(keep(l.clone(), limit, report.clone())))
            .collect();
        Keeper {
            held,
            tasks,
            report,
            limit,
            released: AtomicBool::new(false),
        }
    }

    /// Stops renewing and revokes everything held.
    pub async fn release(self) {
        for t in &self.tasks {
            t.abort();
        }
        if !self.released.swap(true, Ordering::SeqCst) {
            revoke_all(&self.held, self.limit, &self.report).await;
        }
    }

    /// Just before mcp-warden replaces itself with the server (`--exec`): nothing
    /// will be left to renew or revoke. Without leases the login tokens are
    /// revoked now (the server never needs them); with leases they must stay,
    /// since revoking a token revokes its leases, and one line says that
    /// everything will expire with its TTL.
    pub async fn before_exec(&self) {
        let leases: Vec<_> = self.held.iter().filter(|l| !l.is_token()).collect();
        if leases.is_empty() {
            if !self.released.swap(true, Ordering::SeqCst) {
                revoke_all(&self.held, self.limit, &self.report).await;
            }
            return;
        }
        let shortest = leases.iter().map(|l| l.left()).min().unwrap_or_default();
        (self.report)(format!(
            "with --exec nothing renews or revokes the {} lease(s) this run obtained: they              expire with their TTL (the shortest in {}); run without --exec to have them              renewed while the server runs and revoked when it exits",
            leases.len(),
            humantime::format_duration(Duration::from_secs(shortest.as_secs()))
        ));
    }
}

/// Revokes `held`: all leases concurrently, then all tokens. Each call is
/// bounded by `limit`; failures are reported and do not stop the others.
pub async fn revoke_all(held: &[Arc<dyn Lease>], limit: Duration, report: &Report) {
    for tokens in [false, true] {
        let mut set = tokio::task::JoinSet::new();
        for l in held.iter().filter(|l| l.is_token() == tokens) {
            let l = l.clone();
            let report = report.clone();
            set.spawn(async move {
                match tokio::time::timeout(limit, l.revoke()).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => report(format!("cannot revoke {}: {}", l.label(), e.message)),
                    Err(_) => report(format!(
                        "cannot revoke {}: no answer within {}; it expires with its TTL",
                        l.label(),
                        humantime::format_duration(limit)
                    )),
                }
            });
        }
        while set.join_next().await.is_some() {}
    }
}

/// Renews `lease` at two thirds of its TTL until it can no longer be renewed.
async fn keep(lease: Arc<dyn Lease>, limit: Duration, report: Report) {
    // Counted from when the backend obtained it, not from now: resolving other
    // references may have taken a good part of a short TTL.
    let mut ttl = lease.left();
    let mut expires = Instant::now() + ttl;
    let mut capped = false;
    loop {
        if ttl < MIN_LEFT {
            return;
        }
        tokio::time::sleep(renew_after(ttl)).await;
        let outcome = match tokio::time::timeout(limit, lease.renew()).await {
            Ok(r) => r.map_err(|e| e.message),
            Err(_) => Err(format!(
                "no answer within {}",
                humantime::format_duration(limit)
            )),
        };
        let now = Instant::now();
        match outcome {
            Ok(new_ttl) => {
                ttl = new_ttl;
                expires = now + new_ttl;
                // Renewed for less than asked: the lease reached its maximum TTL.
                if new_ttl < lease.ttl() && !capped {
                    capped = true;
                    report(format!(
                        "{} reaches its maximum TTL in {}; it cannot be renewed past that",
                        lease.label(),
                        humantime::format_duration(Duration::from_secs(new_ttl.as_secs()))
                    ));
                }
            }
            Err(e) => {
                ttl = expires.saturating_duration_since(now);
                let left = humantime::format_duration(Duration::from_secs(ttl.as_secs()));
                report(format!(
                    "cannot renew {}: {e}; {left} left, retrying",
                    lease.label()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::backend::ErrorKind;

    /// A stand-in lease recording calls: the keeper's schedule is its own
    /// property, tested without a server (the Vault tests cover the real one).
    struct Counted {
        ttl: Duration,
        renews: AtomicUsize,
        fail: bool,
        token: bool,
        log: Arc<Mutex<Vec<String>>>,
    }

    impl Lease for Counted {
        fn label(&self) -> String {
            if self.token { "token" } else { "lease" }.into()
        }
        fn ttl(&self) -> Duration {
            self.ttl
        }
        fn left(&self) -> Duration {
            self.ttl
        }
        fn renewable(&self) -> bool {
            true
        }
        fn is_token(&self) -> bool {
            self.token
        }
        fn renew(&self) -> BoxFuture<'_, Result<Duration, BackendError>> {
            Box::pin(async move {
                self.renews.fetch_add(1, Ordering::SeqCst);
                if self.fail {
                    Err(BackendError::new(ErrorKind::Denied, "x", "denied"))
                } else {
                    Ok(self.ttl)
                }
            })
        }
        fn revoke(&self) -> BoxFuture<'_, Result<(), BackendError>> {
            Box::pin(async move {
                self.log.lock().unwrap().push(self.label());
                Ok(())
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn renews_at_two_thirds_and_revokes_leases_before_tokens() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mk = |token, fail| {
            Arc::new(Counted {
                ttl: Duration::from_secs(30),
                renews: AtomicUsize::new(0),
                fail,
                token,
                log: log.clone(),
            })
        };
        let (token, lease) = (mk(true, false), mk(false, false));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r2 = reports.clone();
        let keeper = Keeper::start(
            vec![token.clone(), lease.clone()],
            Duration::from_secs(5),
            Arc::new(move |m| r2.lock().unwrap().push(m)),
        );
        tokio::time::sleep(Duration::from_secs(19)).await;
        assert_eq!(lease.renews.load(Ordering::SeqCst), 0);
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(lease.renews.load(Ordering::SeqCst), 1, "renewed at 20 s");
        tokio::time::sleep(Duration::from_secs(20)).await;
        assert_eq!(lease.renews.load(Ordering::SeqCst), 2);
        keeper.release().await;
        assert_eq!(*log.lock().unwrap(), ["lease", "token"]);
        assert!(reports.lock().unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn failing_renewals_are_reported_and_stop_at_expiry() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let lease = Arc::new(Counted {
            ttl: Duration::from_secs(9),
            renews: AtomicUsize::new(0),
            fail: true,
            token: false,
            log,
        });
        let reports = Arc::new(Mutex::new(Vec::new()));
        let r2 = reports.clone();
        let task = tokio::spawn(keep(
            lease.clone(),
            Duration::from_secs(1),
            Arc::new(move |m| r2.lock().unwrap().push(m)),
        ));
        tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .expect("the renew loop ends once the lease has expired")
            .unwrap();
        let n = lease.renews.load(Ordering::SeqCst);
        assert!((2..10).contains(&n), "bounded retries, got {n}");
        let reports = reports.lock().unwrap();
        assert_eq!(reports.len(), n);
        assert!(
            reports[0].starts_with("cannot renew lease: denied; 3s left"),
            "{}",
            reports[0]
        );
    }
}
