//! Many references -> values: concurrent, bounded in time, all or nothing.
//!
//! Owns grouping references by backend (each backend gets all of its
//! references at once, so it can batch), de-duplicating identical fetches,
//! the per-reference timeout, applying selectors, and checking that each value
//! can live in an environment variable. Must not start processes or print.

use std::collections::HashMap;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::backend::{BackendError, ErrorKind, Registry};
use crate::exit::{Code, ExitStatus};
use crate::reference::{SecretRef, selector::SelectError};
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

/// Resolves every request concurrently; each backend call is bounded by `timeout`.
/// Returns all values in request order, or the first failure.
pub async fn resolve(
    registry: &Registry,
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
        match registry.get(scheme) {
            Err(e) => {
                for &i in &idxs {
                    results[i] = Some(Err(e.clone()));
                }
            }
            Ok(backend) => {
                tasks.spawn(async move {
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
                let err =
                    BackendError::new(ErrorKind::Io, "backend", format!("internal error: {e}"));
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
