//! Storing and verifying: each secret is written to its backend (unless the
//! same value is already there), read back and compared, before any config
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
    let backend = registry.get(r.scheme).map_err(|e| e.to_string())?;
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
    let write_ref = write_target(r)?;
    backend
        .write(&write_ref, &secret.value)
        .await
        .map_err(|e| format!("cannot store {}: {e}", secret.var))?;
    match fetch_one(registry, r).await {
        Ok(v) if v == secret.value => Ok(Stored::Written),
        Ok(_) => Err(format!(
            "{r} reads back a different value than was written; config left unchanged"
        )),
        Err(e) => Err(format!(
            "{r} cannot be read back after writing ({e}); config left unchanged"
        )),
    }
}

/// What to write to: the reference itself, or for a Vault field selector
/// (`#value`) the secret with `?field=value`, which stores the text in that field.
fn write_target(r: &crate::reference::SecretRef) -> Result<crate::reference::SecretRef, String> {
    if r.scheme != crate::reference::Scheme::Vault || r.selector.is_none() {
        return Ok(r.clone());
    }
    let text = r.to_string();
    let (base, field) = text
        .rsplit_once('#')
        .ok_or_else(|| format!("{r}: no field to write"))?;
    let field = field.trim_start_matches('/');
    if field.is_empty() || field.contains(['/', '.', '[']) {
        return Err(format!(
            "{r}: protect writes one top-level Vault field (e.g. #value)"
        ));
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    crate::reference::SecretRef::parse(&format!("{base}{sep}field={field}"))
        .map_err(|e| e.to_string())
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
