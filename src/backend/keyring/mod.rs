//! `keyring://SERVICE/ACCOUNT`: a generic password in the OS credential store
//! (the Secret Service on Linux, the macOS Keychain, the Windows Credential
//! Manager), read and written where the platform's own tools find it.
//!
//! Owns the backend: one client per process, every call on a thread of its
//! own under the `--timeout` deadline (a wedged D-Bus or an unanswered unlock
//! prompt must not hang mcp-warden), and the mapping of failures to one line
//! each ([`problem`]). Must not know MCP or processes; never formats a value.

pub mod location;
pub mod problem;

#[cfg(target_os = "linux")]
mod secret_service;
#[cfg(target_os = "linux")]
use secret_service::Client;

#[cfg(any(target_os = "macos", windows))]
mod native;
#[cfg(any(target_os = "macos", windows))]
use native::Client;

#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
mod none;
#[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
use none::Client;

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::time::Duration;

use super::{Backend, BackendError, BoxFuture, SecretInfo, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub use location::{Listing, Location};
pub use problem::{Health, Problem};

/// The client, connected on first use and kept for the process, and how many
/// calls on it were given up while still running.
#[derive(Default)]
struct Shared {
    client: Mutex<Option<Client>>,
    /// Calls past their deadline whose thread still holds the client: the
    /// keychain has not answered them, so later calls fail at once.
    abandoned: AtomicUsize,
}

/// The one [`Shared`] of the process: every backend instance (the registry's,
/// `doctor`'s health check) uses the same connection and knows of its stalls.
fn process_shared() -> Arc<Shared> {
    static SHARED: OnceLock<Arc<Shared>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(Shared::default())).clone()
}

/// A call's state, shared by its thread and the caller that waits for it.
const RUNNING: u8 = 0;
const DONE: u8 = 1;
const ABANDONED: u8 = 2;

/// How often a call waiting for the client looks again.
const LOCK_POLL: Duration = Duration::from_millis(2);

pub struct KeyringBackend {
    timeout: Duration,
    shared: Arc<Shared>,
}

impl KeyringBackend {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            shared: process_shared(),
        }
    }

    /// Runs `op` with the client on a thread of its own; gives up after the
    /// timeout (the thread is left to finish on its own, and until it does,
    /// every later call fails at once as [`Problem::Stalled`]).
    async fn call<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Client, &AtomicBool) -> T + Send + 'static,
    ) -> Result<T, Problem> {
        if self.shared.abandoned.load(Ordering::SeqCst) > 0 {
            return Err(Problem::Stalled);
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let shared = self.shared.clone();
        let state = Arc::new(AtomicU8::new(RUNNING));
        let thread_state = state.clone();
        let prompting = Arc::new(AtomicBool::new(false));
        let flag = prompting.clone();
        std::thread::Builder::new()
            .name("keyring".into())
            .spawn(move || {
                let _ = tx.send(with_client(&shared, |c| op(c, &flag)));
                if thread_state.swap(DONE, Ordering::SeqCst) == ABANDONED {
                    shared.abandoned.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .map_err(|e| Problem::Other(format!("cannot start a thread: {e}")))?;
        // A little inside the caller's own --timeout, so this line (it says
        // what was awaited) is the one the user sees.
        match tokio::time::timeout(self.timeout.mul_f64(0.9), rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(Problem::Other(
                "the keychain call ended without an answer".into(),
            )),
            Err(_) => {
                self.abandon(&state);
                Err(match prompting.load(Ordering::SeqCst) {
                    true => Problem::PromptUnanswered,
                    false => Problem::NoAnswer,
                })
            }
        }
    }

    /// Counts a call past its deadline as abandoned while its thread runs.
    fn abandon(&self, state: &AtomicU8) {
        self.shared.abandoned.fetch_add(1, Ordering::SeqCst);
        if state
            .compare_exchange(RUNNING, ABANDONED, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            // It finished meanwhile.
            self.shared.abandoned.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// For `doctor`: whether the keychain can be used, or the one problem in the way.
    pub async fn health(&self) -> Result<Health, Problem> {
        self.call(|c, _| c.probe()).await?
    }
}

/// Runs `op` with the shared client, connecting first when needed. A client
/// whose connection failed is dropped so the next call connects afresh. While
/// another call holds the client this waits, unless an abandoned call holds
/// it (the keychain did not answer it): then it fails at once.
fn with_client<T>(shared: &Shared, op: impl FnOnce(&Client) -> T) -> Result<T, Problem> {
    let mut guard = loop {
        match shared.client.try_lock() {
            Ok(guard) => break guard,
            Err(TryLockError::Poisoned(_)) => {
                return Err(Problem::Other(
                    "an earlier keychain call failed midway".into(),
                ));
            }
            Err(TryLockError::WouldBlock) if shared.abandoned.load(Ordering::SeqCst) > 0 => {
                return Err(Problem::Stalled);
            }
            Err(TryLockError::WouldBlock) => std::thread::sleep(LOCK_POLL),
        }
    };
    if guard.is_none() {
        *guard = Some(Client::connect()?);
    }
    match guard.as_ref() {
        Some(client) => Ok(op(client)),
        None => Err(Problem::NoAnswer),
    }
}

/// Parallel lanes for one run's reads: the calls of several threads share the
/// connection, so their round trips overlap (docs/PERFORMANCE.md, §11).
const LANES: usize = 4;

/// One result per wanted item (`None` where the reference did not parse), in order.
type Reads = Vec<Option<Result<SecretValue, Problem>>>;

/// Reads `wanted` in up to [`LANES`] threads over the one client.
fn read_all(c: &Client, wanted: &[Option<Location>], prompting: &AtomicBool) -> Reads {
    let read_part = |part: &[Option<Location>]| -> Reads {
        part.iter()
            .map(|loc| loc.as_ref().map(|l| c.read(l, prompting)))
            .collect()
    };
    if wanted.len() < 2 * LANES {
        return read_part(wanted);
    }
    let size = wanted.len().div_ceil(LANES);
    std::thread::scope(|s| {
        let lanes: Vec<_> = wanted
            .chunks(size)
            .map(|part| (part.len(), s.spawn(move || read_part(part))))
            .collect();
        lanes
            .into_iter()
            .flat_map(|(len, lane)| {
                lane.join().unwrap_or_else(|_| {
                    let failed = || Some(Err(Problem::Other("a keychain read panicked".into())));
                    (0..len).map(|_| failed()).collect()
                })
            })
            .collect()
    })
}

impl Backend for KeyringBackend {
    fn scheme(&self) -> Scheme {
        Scheme::Keyring
    }

    /// Reads the items over the one connection, in up to [`LANES`] threads
    /// (docs/PERFORMANCE.md, §11).
    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(async move {
            let parsed: Vec<Result<Location, BackendError>> =
                refs.iter().map(Location::of).collect();
            let wanted: Vec<Option<Location>> =
                parsed.iter().map(|p| p.as_ref().ok().cloned()).collect();
            tracing::debug!(
                "keyring: {} item(s) from the OS credential store",
                refs.len()
            );
            let read = self
                .call(move |c, prompting| read_all(c, &wanted, prompting))
                .await;
            let out: Vec<Result<SecretValue, BackendError>> = match read {
                Err(problem) => refs
                    .iter()
                    .zip(parsed)
                    .map(|(r, p)| p.and_then(|_| Err(problem.error(r))))
                    .collect(),
                Ok(values) => refs
                    .iter()
                    .zip(parsed)
                    .zip(values)
                    .map(|((r, p), v)| {
                        p?;
                        match v {
                            Some(Ok(value)) => Ok(value),
                            Some(Err(problem)) => Err(problem.error(r)),
                            None => Err(Problem::NoAnswer.error(r)),
                        }
                    })
                    .collect(),
            };
            out
        })
    }

    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let loc = Location::of(r)?;
            let value = SecretValue::from_slice(value.expose());
            self.call(move |c, prompting| c.write(&loc, value.expose(), prompting))
                .await
                .and_then(|written| written)
                .map_err(|p| p.error(r))
        })
    }

    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let loc = Location::of(r)?;
            self.call(move |c, prompting| c.delete(&loc, prompting))
                .await
                .and_then(|deleted| deleted)
                .map_err(|p| p.error(r))
        })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let subject = format!("keyring://{prefix}");
            if let Some((k, _)) = params.first() {
                return Err(BackendError::new(
                    super::ErrorKind::Config,
                    &subject,
                    format!("unknown parameter {k:?} for keyring:// (allowed: none)"),
                ));
            }
            let listing = Listing::parse(prefix);
            self.call(move |c, prompting| c.list(&listing, prompting))
                .await
                .and_then(|listed| listed)
                .map_err(|p| p.error(&subject))
        })
    }

    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let loc = Location::of(r)?;
            self.call(move |c, prompting| c.describe(&loc, prompting))
                .await
                .and_then(|described| described)
                .map_err(|p| p.error(r))
        })
    }
}
