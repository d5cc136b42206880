//! Storing and verifying: each secret is written to its backend (unless the
//! same value is already there), read back and compared (`rotation::store_verified`), before any config
//! points at it. Refuses to overwrite a different value under the same name.
//! Then notes the backend's metadata, so a later rotation can be told.
//!
//! Talks to backends only; never to config files. Errors name references, never values.

use crate::backend::{ErrorKind, Registry};

use crate::resolve::{ResolveError, fetch_one};

use super::plan::Secret;

/// What happened to one secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Written now and read back equal.
    Written,
    /// The backend already held exactly this value (a re-run after a crash).
    AlreadyThere,
}

/// Stores and verifies `secret`. One line of error text on failure.
pub async fn store(registry: &Registry, secret: &Secret) -> Result<Stored, String> {
    let r = &secret.reference;
    match fetch_one(registry, r).await {
        Ok(existing) if existing == secret.value => return Ok(Stored::AlreadyThere),
        Ok(_) => {
            return Err(format!(
                "{r} already holds a different value; not overwritten (choose other names with --name-template, or remove it first)"
            ));
        }
        Err(ResolveError::Backend { source, .. }) if source.kind == ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot check {r}: {e}")),
    }
    use crate::rotation::StoreError;
    match crate::rotation::store_verified(registry, r, &secret.value).await {
        Ok(_) => Ok(Stored::Written),
        Err(e @ (StoreError::Target(_) | StoreError::Backend(_))) => {
            Err(format!("cannot store {}: {e}", secret.var))
        }
        Err(e) => Err(format!("{e}; config left unchanged")),
    }
}

/// What the backend says about `r` right after it was stored (its change
/// time and version), to tell a later rotation. Metadata only; `None`
/// fields where the backend keeps none or does not answer within `timeout`.
pub async fn baseline(
    registry: &Registry,
    r: &crate::reference::SecretRef,
    timeout: std::time::Duration,
) -> super::journal::Exposure {
    let Ok(backend) = registry.get(r.scheme) else {
        return super::exposure::baseline(None);
    };
    let bare = r.without_selector();
    match tokio::time::timeout(timeout, backend.describe(&bare)).await {
        Ok(Ok(info)) => super::exposure::baseline(Some(&info)),
        _ => super::exposure::baseline(None),
    }
}
