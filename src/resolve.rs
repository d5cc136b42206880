//! Many references -> values: concurrent, bounded in time, all or nothing.
//!
//! Owns grouping references by backend (each backend gets all of its
//! references at once, so it can batch), de-duplicating identical fetches,
//! the per-reference timeout, applying selectors, and checking that each value
//! can live in an environment variable. Must not start processes or print;
//! its diagnostics (`-v`: which backend answered each reference, in how
//! long) go through `tracing` and name references, never values.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinSet;

use std::sync::Arc;

use crate::backend::{Backend, BackendError, ErrorKind, Registry};
use crate::exit::{Code, ExitStatus};
use crate::reference::{Scheme, SecretRef, selector::SelectError};
use crate::secret::SecretValue;

/// One `NAME=REF` to resolve.
#[derive(Debug, Clone)]
pub struct Request {
    pub var: String,
    pub reference: SecretRef,
}

/// A resolved variable.
#[derive(Debug)]
pub struct Resolved {
    pub var: String,
    pub value: SecretValue,
}

/// Why one variable could not be resolved. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{var}: {source}")]
    Backend { var: String, source: BackendError },
    #[error("{var}: {reference}: {source}")]
    Select {
        var: String,
        reference: String,
        source: Box<SelectError>,
    },
    #[error(
        "{var}: the value of {reference} holds a NUL byte (at byte {position}), which no environment variable can carry"
    )]
    Nul {
        var: String,
        reference: String,
        position: usize,
    },
}

impl ExitStatus for ResolveError {
    fn exit_code(&self) -> Code {
        match self {
            ResolveError::Backend { source, .. } => source.exit_code(),
            ResolveError::Select { .. } | ResolveError::Nul { .. } => Code::DataErr,
        }
    }
}

/// The first failure (in argument order) and how many others there were.
#[derive(Debug, thiserror::Error)]
#[error("{first}{}", more_suffix(*.more))]
pub struct ResolveFailure {
    pub first: ResolveError,
    pub more: usize,
}

fn more_suffix(more: usize) -> String {
    match more {
        0 => String::new(),
        1 => " (and 1 more reference failed)".into(),
        n => format!(" (and {n} more references failed)"),
    }
}

impl ExitStatus for ResolveFailure {
    fn exit_code(&self) -> Code {
        self.first.exit_code()
    }
}

/// Where the resolver finds the backend of a scheme: the [`Registry`] in the
/// product; a stand-in in unit tests.
pub trait Backends {
    fn backend(&self, scheme: Scheme) -> Result<Arc<dyn Backend>, BackendError>;
}

impl Backends for Registry {
    fn backend(&self, scheme: Scheme) -> Result<Arc<dyn Backend>, BackendError> {
        self.get(scheme)
    }
}

/// `-v`: one line per reference a backend was asked for (the reference as
/// given, never the value), with the time the backend's batch took.
fn report_fetched(
    scheme: Scheme,
    refs: &[SecretRef],
    out: &[Result<SecretValue, BackendError>],
    took: Duration,
) {
    for (r, result) in refs.iter().zip(out) {
        let outcome = if result.is_ok() { "fetched" } else { "failed" };
        tracing::info!(
            "{r}: {outcome} by the {scheme} backend in {}",
            crate::diag::ms(took)
        );
    }
}

/// Resolves every request concurrently; each backend call is bounded by `timeout`.
/// Returns all values in request order, or the first failure.
pub async fn resolve(
    registry: &impl Backends,
    requests: &[Request],
    timeout: Duration,
) -> Result<Vec<Resolved>, ResolveFailure> {
    // Unique fetches (reference without selector), grouped per backend.
    let mut fetch_index: HashMap<SecretRef, usize> = HashMap::new();
    let mut fetches: Vec<SecretRef> = Vec::new();
    let mut slot_of_request = Vec::with_capacity(requests.len());
    for req in requests {
        let bare = req.reference.without_selector();
        let idx = *fetch_index.entry(bare.clone()).or_insert_with(|| {
            fetches.push(bare);
            fetches.len() - 1
        });
        slot_of_request.push(idx);
    }
    let mut groups: HashMap<_, Vec<usize>> = HashMap::new();
    for (i, r) in fetches.iter().enumerate() {
        groups.entry(r.scheme).or_default().push(i);
    }

    let mut results: Vec<Option<Result<SecretValue, BackendError>>> =
        (0..fetches.len()).map(|_| None).collect();
    let mut tasks = JoinSet::new();
    for (scheme, idxs) in groups {
        let refs: Vec<SecretRef> = idxs.iter().map(|&i| fetches[i].clone()).collect();
        match registry.backend(scheme) {
            Err(e) => {
                for &i in &idxs {
                    results[i] = Some(Err(e.clone()));
                }
            }
            Ok(backend) => {
                tracing::debug!(
                    "asking the {scheme} backend for {} reference(s), timeout {}",
                    refs.len(),
                    humantime::format_duration(timeout)
                );
                tasks.spawn(async move {
                    let started = std::time::Instant::now();
                    let out = match tokio::time::timeout(timeout, backend.fetch(&refs)).await {
                        Ok(v) => v,
                        Err(_) => refs
                            .iter()
                            .map(|r| {
                                Err(BackendError::new(
                                    ErrorKind::TimedOut,
                                    r,
                                    format!(
                                        "no answer within {}; check the backend is reachable, or raise --timeout",
                                        humantime::format_duration(timeout)
                                    ),
                                ))
                            })
                            .collect(),
                    };
                    report_fetched(scheme, &refs, &out, started.elapsed());
                    (idxs, out)
                });
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((idxs, out)) => {
                for (i, r) in idxs.into_iter().zip(out) {
                    results[i] = Some(r);
                }
            }
            Err(e) => {
                // A panicking backend: fail the run without guessing which references it held.
                let err = BackendError::new(
                    ErrorKind::Io,
                    "backend",
                    format!(
                        "internal error: a backend task {}",
                        crate::backend::join_text(&e)
                    ),
                );
                for slot in results.iter_mut().filter(|s| s.is_none()) {
                    *slot = Some(Err(err.clone()));
                }
            }
        }
    }

    let mut out = Vec::with_capacity(requests.len());
    let mut errors = Vec::new();
    for (req, &slot) in requests.iter().zip(&slot_of_request) {
        let fetched = match results[slot].as_ref() {
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                errors.push(ResolveError::Backend {
                    var: req.var.clone(),
                    source: e.clone(),
                });
                continue;
            }
            None => {
                errors.push(ResolveError::Backend {
                    var: req.var.clone(),
                    source: BackendError::new(
                        ErrorKind::Io,
                        &req.reference,
                        "backend returned no result",
                    ),
                });
                continue;
            }
        };
        match finish(req, fetched) {
            Ok(value) => out.push(Resolved {
                var: req.var.clone(),
                value,
            }),
            Err(e) => errors.push(e),
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(out),
        Some(first) => Err(ResolveFailure {
            first,
            more: errors.count(),
        }),
    }
}

/// Fetches one reference and applies its selector; no environment checks
/// (for `secret get`, whose value goes to a pipe).
pub async fn fetch_one(registry: &Registry, r: &SecretRef) -> Result<SecretValue, ResolveError> {
    let req = Request {
        var: "value".into(),
        reference: r.clone(),
    };
    let backend = registry
        .get(r.scheme)
        .map_err(|source| ResolveError::Backend {
            var: req.var.clone(),
            source,
        })?;
    let bare = [r.without_selector()];
    let fetched = backend
        .fetch(&bare)
        .await
        .pop()
        .unwrap_or_else(|| {
            Err(BackendError::new(
                ErrorKind::Io,
                r,
                "backend returned no result",
            ))
        })
        .map_err(|source| ResolveError::Backend {
            var: req.var.clone(),
            source,
        })?;
    select(&req, &fetched)
}

/// Applies the selector and checks the value fits an environment variable.
fn finish(req: &Request, fetched: &SecretValue) -> Result<SecretValue, ResolveError> {
    let value = select(req, fetched)?;
    if let Some(position) = value.nul_position() {
        return Err(ResolveError::Nul {
            var: req.var.clone(),
            reference: req.reference.to_string(),
            position,
        });
    }
    Ok(value)
}

fn select(req: &Request, fetched: &SecretValue) -> Result<SecretValue, ResolveError> {
    let reference = || req.reference.to_string();
    Ok(match &req.reference.selector {
        None => fetched.clone(),
        Some(sel) => {
            let doc: serde_json::Value =
                serde_json::from_slice(fetched.expose()).map_err(|_| ResolveError::Select {
                    var: req.var.clone(),
                    reference: reference(),
                    source: Box::new(SelectError::NotJson {
                        selector: sel.to_string(),
                    }),
                })?;
            let picked = sel
                .select_scalar(&doc)
                .map_err(|source| ResolveError::Select {
                    var: req.var.clone(),
                    reference: reference(),
                    source: Box::new(source),
                });
            // The parsed document holds copies of the secret; it drops here, unzeroized by
            // serde_json. The selected text moves into a zeroizing value.
            SecretValue::from_string(picked?)
        }
    })
}

#[cfg(test)]
mod tests {
    //! The backends here are hand-written stand-ins: the resolver's timeout
    //! and concurrency are properties of the resolver, tested without a network.
    use std::collections::HashMap as Map;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::backend::BoxFuture;

    /// Answers after `delay` (forever when `None`), counting calls in flight.
    struct StandIn {
        scheme: Scheme,
        delay: Option<Duration>,
        values: Map<String, &'static [u8]>,
        in_flight: Arc<AtomicUsize>,
        max_in_flight: Arc<AtomicUsize>,
        calls: Mutex<usize>,
    }

    impl Backend for StandIn {
        fn scheme(&self) -> Scheme {
            self.scheme
        }
        fn fetch<'a>(
            &'a self,
            refs: &'a [SecretRef],
        ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
            Box::pin(async move {
                *self.calls.lock().unwrap() += 1;
                let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                match self.delay {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending::<()>().await,
                }
                self.in_flight.fetch_sub(1, Ordering::SeqCst);
                refs.iter()
                    .map(|r| {
                        self.values
                            .get(&r.location)
                            .map(|v| SecretValue::from_slice(v))
                            .ok_or_else(|| BackendError::new(ErrorKind::NotFound, r, "absent"))
                    })
                    .collect()
            })
        }
    }

    struct Set(Vec<Arc<StandIn>>);

    impl Backends for Set {
        fn backend(&self, scheme: Scheme) -> Result<Arc<dyn Backend>, BackendError> {
            self.0
                .iter()
                .find(|b| b.scheme == scheme)
                .map(|b| b.clone() as Arc<dyn Backend>)
                .ok_or_else(|| BackendError::new(ErrorKind::Config, scheme, "not built"))
        }
    }

    fn stand_in(
        scheme: Scheme,
        delay: Option<Duration>,
        gauge: &(Arc<AtomicUsize>, Arc<AtomicUsize>),
    ) -> Arc<StandIn> {
        Arc::new(StandIn {
            scheme,
            delay,
            values: Map::from([
                ("a".to_string(), &b"{\"k\":\"va\"}"[..]),
                ("b".to_string(), &b"vb"[..]),
            ]),
            in_flight: gauge.0.clone(),
            max_in_flight: gauge.1.clone(),
            calls: Mutex::new(0),
        })
    }

    fn req(var: &str, r: &str) -> Request {
        Request {
            var: var.into(),
            reference: SecretRef::parse(r).unwrap(),
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn backends_run_concurrently_and_identical_fetches_are_shared() {
        let gauge = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let sm = stand_in(Scheme::AwsSm, Some(Duration::from_millis(50)), &gauge);
        let ssm = stand_in(Scheme::AwsSsm, Some(Duration::from_millis(50)), &gauge);
        let set = Set(vec![sm.clone(), ssm.clone()]);
        let reqs = [
            req("A", "aws-sm://a#k"),
            req("A2", "aws-sm://a"),
            req("B", "aws-ssm://b"),
            req("A3", "aws-sm://a#/k"),
        ];
        let out = rt()
            .block_on(resolve(&set, &reqs, Duration::from_secs(5)))
            .unwrap();
        let got: Vec<(&str, &[u8])> = out
            .iter()
            .map(|r| (r.var.as_str(), r.value.expose()))
            .collect();
        assert_eq!(
            got,
            [
                ("A", &b"va"[..]),
                ("A2", &b"{\"k\":\"va\"}"[..]),
                ("B", &b"vb"[..]),
                ("A3", &b"va"[..])
            ]
        );
        assert_eq!(
            gauge.1.load(Ordering::SeqCst),
            2,
            "both backends were asked at once"
        );
        assert_eq!(*sm.calls.lock().unwrap(), 1, "one batch per backend");
    }

    #[test]
    fn a_silent_backend_times_out_and_nothing_resolves() {
        let gauge = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let set = Set(vec![
            stand_in(Scheme::AwsSm, None, &gauge),
            stand_in(Scheme::AwsSsm, Some(Duration::ZERO), &gauge),
        ]);
        let reqs = [req("FAST", "aws-ssm://b"), req("SLOW", "aws-sm://a")];
        let e = rt()
            .block_on(resolve(&set, &reqs, Duration::from_millis(100)))
            .unwrap_err();
        assert_eq!(e.exit_code(), Code::Unavailable);
        assert!(
            e.to_string()
                .starts_with("SLOW: aws-sm://a: no answer within 100ms"),
            "{e}"
        );
    }

    #[test]
    fn failures_are_reported_in_argument_order_with_a_count() {
        let gauge = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let set = Set(vec![stand_in(Scheme::AwsSm, Some(Duration::ZERO), &gauge)]);
        let reqs = [
            req("X", "aws-sm://nope"),
            req("Y", "vault://kv/x"),
            req("Z", "aws-sm://b"),
        ];
        let e = rt()
            .block_on(resolve(&set, &reqs, Duration::from_secs(5)))
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("X: aws-sm://nope: absent (and 1 more reference failed)"),
            "{e}"
        );
        assert_eq!(e.exit_code(), Code::Config);
    }
}
