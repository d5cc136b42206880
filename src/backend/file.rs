//! `file:///abs/path`: secrets mounted as files (Docker and Kubernetes secrets,
//! systemd credentials under `$CREDENTIALS_DIRECTORY`).
//!
//! Owns reading one file per reference. Read-only: mounted secrets are managed
//! by whoever mounts them. Must not follow anything but the given path.

use std::io::{self, Read};
use std::path::Path;

use super::{Backend, BackendError, BoxFuture, ErrorKind};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

/// Files larger than this are not secrets; refuse rather than fill memory.
const MAX_BYTES: u64 = 1 << 20;

pub struct FileBackend;

fn read_one(r: &SecretRef) -> Result<SecretValue, BackendError> {
    BackendError::check_params(r, &[])?;
    let path = Path::new(&r.location);
    if !path.is_absolute() {
        return Err(BackendError::new(
            ErrorKind::Config,
            r,
            "file:// needs an absolute path, e.g. file:///run/secrets/api-key",
        ));
    }
    let err = |e: io::Error| {
        let (kind, hint) = match e.kind() {
            io::ErrorKind::NotFound => (
                ErrorKind::NotFound,
                "check the path and that the secret is mounted",
            ),
            io::ErrorKind::PermissionDenied => {
                (ErrorKind::Denied, "check the file's owner and mode")
            }
            _ => (ErrorKind::Io, "check the path"),
        };
        BackendError::new(kind, r, format!("cannot read: {e}; {hint}"))
    };
    let meta = std::fs::metadata(path).map_err(err)?;
    if !meta.is_file() {
        return Err(BackendError::new(
            ErrorKind::Config,
            r,
            "not a regular file",
        ));
    }
    if meta.len() > MAX_BYTES {
        return Err(BackendError::new(
            ErrorKind::BadData,
            r,
            format!(
                "file is {} bytes; secrets over {MAX_BYTES} bytes are refused",
                meta.len()
            ),
        ));
    }
    // Read at most one byte past the limit: the file may have grown since `metadata`.
    let mut buf = Vec::with_capacity(meta.len() as usize + 1);
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_BYTES + 1).read_to_end(&mut buf))
        .map_err(err)?;
    if buf.len() as u64 > MAX_BYTES {
        return Err(BackendError::new(
            ErrorKind::BadData,
            r,
            format!("file is over {MAX_BYTES} bytes; secrets that large are refused"),
        ));
    }
    Ok(SecretValue::new(buf))
}

impl Backend for FileBackend {
    fn scheme(&self) -> Scheme {
        Scheme::File
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        let owned = refs.to_vec();
        Box::pin(async move {
            // Off the async thread: a stalled mount must not defeat the resolver's timeout.
            tokio::task::spawn_blocking(move || owned.iter().map(read_one).collect())
                .await
                .unwrap_or_else(|e| {
                    refs.iter()
                        .map(|r| {
                            Err(BackendError::new(
                                ErrorKind::Io,
                                r,
                                format!("reader {}", crate::backend::join_text(&e)),
                            ))
                        })
                        .collect()
                })
        })
    }
}
