//! Secret age and rotation: how old a stored secret is, from its backend's
//! metadata, and storing a new value so that it is known to read back.
//!
//! Owns asking backends for metadata (`describe`: one call per distinct
//! reference, all concurrently, each bounded in time), what "last changed"
//! means (the latest of rotated, updated and created), which references are
//! static (a dynamic secret or a backend without metadata is not "old"),
//! writing a new value and comparing what reads back, and asking a provider
//! to rotate with its own mechanism. `inventory`, the rotation gate of
//! `run @NAME` and `rotate` share it.
//!
//! Must not print, read config files, or put a value into an error: errors
//! name references only. Values go from the caller to the backend and back
//! into [`SecretValue`]s that are compared and dropped.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::backend::{BackendError, ErrorKind, Registry, SecretInfo, WriteOutcome};
use crate::exit::{Code, ExitStatus};
use crate::reference::{Scheme, SecretRef};
use crate::resolve::{ResolveError, fetch_one};
use crate::secret::SecretValue;

/// The rotation limit of a profile with `rotation = "warn"|"enforce"` and no
/// `rotate_after` (the default of `inventory --rotate-after`).
pub const DEFAULT_ROTATE_AFTER: Duration = Duration::from_secs(90 * 86_400);

/// What each distinct reference's backend says, keyed by the reference
/// without its selector ([`key`]).
pub type Described = BTreeMap<String, Result<SecretInfo, BackendError>>;

/// The key of a reference in [`Described`]: the secret, not a field of it.
pub fn key(r: &SecretRef) -> String {
    r.without_selector().to_string()
}

/// When the value last changed: the latest of rotated, updated, created.
pub fn changed(info: &SecretInfo) -> Option<SystemTime> {
    [info.rotated, info.updated, info.created]
        .into_iter()
        .flatten()
        .max()
}

/// How long ago the value last changed, as of `now`.
pub fn age(info: &SecretInfo, now: SystemTime) -> Option<Duration> {
    changed(info).and_then(|c| now.duration_since(c).ok())
}

/// One `describe` per distinct secret of `refs`, all concurrently, each
/// within `timeout`. Metadata only: no value is fetched.
pub async fn describe_all<'a>(
    registry: &Registry,
    refs: impl IntoIterator<Item = &'a SecretRef>,
    timeout: Duration,
) -> Described {
    let mut distinct: BTreeMap<String, SecretRef> = BTreeMap::new();
    // A minted credential is new at every start: it has no age to ask for.
    for r in refs.into_iter().filter(|r| !r.scheme.mints()) {
        distinct
            .entry(key(r))
            .or_insert_with(|| r.without_selector());
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut out = Described::new();
    for (k, r) in distinct {
        let backend = match registry.get(r.scheme) {
            Ok(b) => b,
            Err(e) => {
                out.insert(k, Err(e));
                continue;
            }
        };
        tasks.spawn(async move {
            let result = match tokio::time::timeout(timeout, backend.describe(&r)).await {
                Ok(answer) => answer,
                Err(_) => Err(BackendError::new(
                    ErrorKind::TimedOut,
                    &r,
                    format!("no answer within {}", humantime::format_duration(timeout)),
                )),
            };
            (k, result)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((k, result)) = joined {
            out.insert(k, result);
        }
    }
    out
}

/// A static secret older than its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Overdue {
    /// The variable it fills.
    pub var: String,
    /// The secret (no selector).
    pub reference: SecretRef,
    pub age: Duration,
}

/// The references of `refs` (`(var, reference)`) whose known age is over
/// `limit`. Unknown ages (errors, dynamic secrets, no change time) are not
/// overdue: `inventory` reports them.
pub fn overdue<'a>(
    refs: impl IntoIterator<Item = (&'a str, &'a SecretRef)>,
    described: &Described,
    limit: Duration,
    now: SystemTime,
) -> Vec<Overdue> {
    refs.into_iter()
        .filter_map(|(var, r)| {
            let info = described.get(&key(r))?.as_ref().ok()?;
            let age = age(info, now)?;
            (age > limit).then(|| Overdue {
                var: var.to_string(),
                reference: r.without_selector(),
                age,
            })
        })
        .collect()
}

/// Why a new value could not be stored or confirmed. Never holds a value.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error("{reference} cannot be read back after writing: {source}")]
    ReadBack {
        reference: String,
        source: Box<ResolveError>,
    },
    /// The value read back is not the one written (65).
    #[error("{0} reads back a different value than was written")]
    Differs(String),
    /// The reference cannot be written as given (64).
    #[error("{0}")]
    Target(String),
}

impl ExitStatus for StoreError {
    fn exit_code(&self) -> Code {
        match self {
            StoreError::Backend(e) => e.exit_code(),
            StoreError::ReadBack { source, .. } => source.exit_code(),
            StoreError::Differs(_) => Code::DataErr,
            StoreError::Target(_) => Code::Usage,
        }
    }
}

/// What to write to: the reference itself, or for a Vault field selector
/// (`#value`) the secret with `?field=value`, which stores the text in that
/// one top-level field.
pub fn write_target(r: &SecretRef) -> Result<SecretRef, StoreError> {
    if r.selector.is_none() {
        return Ok(r.clone());
    }
    if r.scheme != Scheme::Vault {
        return Err(StoreError::Target(format!(
            "{r}: a #selector picks a part of the value; give the whole secret to write it"
        )));
    }
    let text = r.to_string();
    let (base, field) = text
        .rsplit_once('#')
        .ok_or_else(|| StoreError::Target(format!("{r}: no field to write")))?;
    let field = field.trim_start_matches('/');
    if field.is_empty() || field.contains(['/', '.', '[']) {
        return Err(StoreError::Target(format!(
            "{r}: one top-level Vault field can be written (e.g. #value)"
        )));
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    SecretRef::parse(&format!("{base}{sep}field={field}"))
        .map_err(|e| StoreError::Target(e.to_string()))
}

/// Writes `value` as the new value of `r` and reads `r` back: done only when
/// what reads back is what was written.
pub async fn store_verified(
    registry: &Registry,
    r: &SecretRef,
    value: &SecretValue,
) -> Result<WriteOutcome, StoreError> {
    let target = write_target(r)?;
    let backend = registry.get(r.scheme)?;
    let outcome = backend.write(&target, value).await?;
    match fetch_one(registry, r).await {
        Ok(back) if back == *value => Ok(outcome),
        Ok(_) => Err(StoreError::Differs(r.to_string())),
        Err(e) => Err(StoreError::ReadBack {
            reference: r.to_string(),
            source: Box::new(e),
        }),
    }
}

/// Has the provider rotate `r` with its own mechanism, waits (within
/// `timeout`) until the new version is the current one, and checks it reads
/// back. Returns the new version id.
pub async fn provider_rotate(
    registry: &Registry,
    r: &SecretRef,
    timeout: Duration,
) -> Result<Option<String>, StoreError> {
    let backend = registry.get(r.scheme)?;
    let bare = r.without_selector();
    let version = backend.rotate(&bare).await?;
    let deadline = tokio::time::Instant::now() + timeout;
    if let Some(v) = &version {
        loop {
            let info = backend.describe(&bare).await?;
            if info.version.as_deref() == Some(v.as_str()) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(BackendError::new(
                    ErrorKind::TimedOut,
                    r,
                    format!(
                        "the rotation started (version {v}) but is not current after {}; \
                         check the rotation function's logs",
                        humantime::format_duration(timeout)
                    ),
                )
                .into());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    fetch_one(registry, r)
        .await
        .map_err(|e| StoreError::ReadBack {
            reference: r.to_string(),
            source: Box::new(e),
        })?;
    Ok(version)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn the_latest_change_counts_and_unknown_ages_are_never_overdue() {
        let info = SecretInfo {
            created: at(10),
            updated: at(50),
            rotated: at(30),
            ..SecretInfo::default()
        };
        assert_eq!(changed(&info), at(50));
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let old = SecretRef::parse("local://old#a").unwrap();
        let dynamic = SecretRef::parse("vault://db/creds/ro").unwrap();
        let blank = SecretRef::parse("local://blank").unwrap();
        let mut d = Described::new();
        d.insert(key(&old), Ok(info));
        d.insert(
            key(&dynamic),
            Err(BackendError::unsupported(&dynamic, "metadata")),
        );
        d.insert(key(&blank), Ok(SecretInfo::default()));
        let refs = [("A", &old), ("B", &dynamic), ("C", &blank)];
        let late = overdue(refs, &d, Duration::from_secs(40), now);
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].reference.to_string(), "local://old");
        assert_eq!(late[0].age, Duration::from_secs(50));
        assert!(overdue(refs, &d, Duration::from_secs(60), now).is_empty());
    }

    #[test]
    fn a_vault_field_is_written_as_that_field_and_other_selectors_are_refused() {
        let r = SecretRef::parse("vault://secret/app#token").unwrap();
        assert_eq!(
            write_target(&r).unwrap().to_string(),
            "vault://secret/app?field=token"
        );
        let r = SecretRef::parse("local://app#token").unwrap();
        assert!(matches!(write_target(&r), Err(StoreError::Target(_))));
    }
}
