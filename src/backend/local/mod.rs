//! `local://NAME`: the embedded encrypted store, the default backend.
//!
//! Owns the store's operations (fetch, write, delete, list, describe, info) on
//! top of `store` (the file) and `key` (the identity). Needs no server. Must not
//! print anything: verbs decide what the user sees.

pub mod key;
pub mod store;

use std::path::PathBuf;

use age::x25519::Identity;

use super::{Backend, BackendError, BoxFuture, ErrorKind, SecretInfo, WriteOutcome};
use crate::atomic_file;
use crate::paths::Paths;
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;
use key::{KeyError, KeyLocation};
use store::{Contents, Entry, StoreError, WriteLock};

pub struct LocalBackend {
    paths: Paths,
}

/// What `secret info` shows about the local store. No values.
#[derive(Debug, Clone)]
pub struct StoreInfo {
    pub data_dir: PathBuf,
    pub store: PathBuf,
    pub exists: bool,
    pub key: KeyLocation,
    pub secrets: Option<usize>,
    /// Why the store could not be opened, if it could not.
    pub problem: Option<String>,
}

const SUBJECT: &str = "local store";

fn key_err(e: KeyError) -> BackendError {
    let kind = match e {
        KeyError::BadPreference(_)
        | KeyError::Exposed(_)
        | KeyError::Malformed(_)
        | KeyError::Keyring(_) => ErrorKind::Config,
        KeyError::Read { .. } | KeyError::Write { .. } => ErrorKind::Io,
    };
    BackendError::new(kind, SUBJECT, e.to_string())
}

fn store_err(e: StoreError) -> BackendError {
    let kind = match e {
        StoreError::Read { .. } | StoreError::Write { .. } => ErrorKind::Io,
        StoreError::Decrypt { .. } | StoreError::Format { .. } => ErrorKind::Config,
        StoreError::Encrypt(_) => ErrorKind::Io,
    };
    BackendError::new(kind, SUBJECT, e.to_string())
}

impl LocalBackend {
    pub fn new(paths: Paths) -> Self {
        Self { paths }
    }

    /// Opens the existing store for reading. `Ok(None)` when there is none.
    fn open(&self) -> Result<Option<Contents>, BackendError> {
        let path = self.paths.store();
        if !path.exists() {
            return Ok(None);
        }
        let (id, loc) = key::load(&self.paths).map_err(key_err)?.ok_or_else(|| {
            BackendError::new(
                ErrorKind::Config,
                SUBJECT,
                format!(
                    "{} exists but its key is in neither {} nor the OS keychain; restore the key file or move the store away",
                    path.display(),
                    self.paths.store_key().display()
                ),
            )
        })?;
        store::read(&path, &id, &loc.to_string()).map_err(store_err)
    }

    /// Runs `change` on the store under the writer lock, creating the store and its key if needed.
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut Contents) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        let io = |e: std::io::Error, what: &str| {
            BackendError::new(ErrorKind::Io, SUBJECT, format!("cannot {what}: {e}"))
        };
        atomic_file::create_private_dir(self.paths.data_dir())
            .map_err(|e| io(e, &format!("create {}", self.paths.data_dir().display())))?;
        let _lock = WriteLock::acquire(&self.paths.store_lock())
            .map_err(|e| io(e, &format!("lock {}", self.paths.store_lock().display())))?;
        let path = self.paths.store();
        let (identity, mut contents): (Identity, Contents) = if path.exists() {
            match key::load(&self.paths).map_err(key_err)? {
                Some((id, loc)) => {
                    let c = store::read(&path, &id, &loc.to_string()).map_err(store_err)?;
                    (id, c.unwrap_or_default())
                }
                None => {
                    return Err(BackendError::new(
                        ErrorKind::Config,
                        SUBJECT,
                        format!(
                            "{} exists but its key is in neither {} nor the OS keychain; refusing to overwrite it",
                            path.display(),
                            self.paths.store_key().display()
                        ),
                    ));
                }
            }
        } else {
            // A new store. An existing key file is reused (it may open a backup of an
            // old store); otherwise a new identity goes to the keychain or a key file.
            match key::load_file(&self.paths).map_err(key_err)? {
                Some(id) => (id, Contents::default()),
                None => (
                    key::create(&self.paths).map_err(key_err)?.0,
                    Contents::default(),
                ),
            }
        };
        let out = change(&mut contents)?;
        store::write(&path, &identity, &contents).map_err(store_err)?;
        Ok(out)
    }

    /// Describes the store without printing any value.
    pub fn info(&self) -> StoreInfo {
        let store = self.paths.store();
        let exists = store.exists();
        let (secrets, problem) = if exists {
            match self.open() {
                Ok(c) => (c.map(|c| c.secrets.len()), None),
                Err(e) => (None, Some(e.message)),
            }
        } else {
            (Some(0), None)
        };
        StoreInfo {
            data_dir: self.paths.data_dir().to_path_buf(),
            store,
            exists,
            key: key::locate(&self.paths),
            secrets,
            problem,
        }
    }
}

fn check_name(r: &SecretRef) -> Result<(), BackendError> {
    BackendError::check_params(r, &[])
}

fn not_found(r: &SecretRef) -> BackendError {
    BackendError::new(
        ErrorKind::NotFound,
        r,
        format!(
            "no secret named {:?} in the local store; add it with: mcp-warden secret set {}",
            r.location, r.location
        ),
    )
}

fn info_of(name: &str, e: &Entry) -> SecretInfo {
    SecretInfo {
        name: name.to_string(),
        created: Some(store::to_system_time(e.created)),
        updated: Some(store::to_system_time(e.updated)),
        rotated: None,
        version: None,
    }
}

impl Backend for LocalBackend {
    fn scheme(&self) -> Scheme {
        Scheme::Local
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        let backend = LocalBackend::new(self.paths.clone());
        let owned = refs.to_vec();
        Box::pin(async move {
            // File and keychain I/O run off the async thread, so the resolver's
            // timeout holds even if the disk or D-Bus stalls.
            let job = tokio::task::spawn_blocking(move || {
                tracing::debug!(
                    "local store {}, {}",
                    backend.paths.store().display(),
                    key::locate(&backend.paths)
                );
                // One decryption serves every reference of the run.
                let contents = match backend.open() {
                    Ok(c) => c,
                    Err(e) => return owned.iter().map(|_| Err(e.clone())).collect(),
                };
                owned
                    .iter()
                    .map(|r| {
                        check_name(r)?;
                        contents
                            .as_ref()
                            .and_then(|c| c.secrets.get(&r.location))
                            .map(|e| e.value.clone())
                            .ok_or_else(|| not_found(r))
                    })
                    .collect()
            });
            job.await.unwrap_or_else(|e| {
                let err = BackendError::new(
                    ErrorKind::Io,
                    SUBJECT,
                    format!("reader {}", crate::backend::join_text(&e)),
                );
                refs.iter().map(|_| Err(err.clone())).collect()
            })
        })
    }

    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            check_name(r)?;
            self.modify(|c| {
                let now = store::unix_now();
                Ok(match c.secrets.get_mut(&r.location) {
                    Some(e) => {
                        e.value = value.clone();
                        e.updated = now;
                        WriteOutcome::Updated
                    }
                    None => {
                        c.secrets.insert(
                            r.location.clone(),
                            Entry {
                                value: value.clone(),
                                created: now,
                                updated: now,
                            },
                        );
                        WriteOutcome::Created
                    }
                })
            })
        })
    }

    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            check_name(r)?;
            if !self.paths.store().exists() {
                return Err(not_found(r));
            }
            self.modify(|c| {
                c.secrets
                    .remove(&r.location)
                    .map(|_| ())
                    .ok_or_else(|| not_found(r))
            })
        })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            if let Some((k, _)) = params.first() {
                return Err(BackendError::new(
                    ErrorKind::Config,
                    SUBJECT,
                    format!("unknown parameter {k:?} for local://"),
                ));
            }
            Ok(self
                .open()?
                .map(|c| {
                    c.secrets
                        .iter()
                        .filter(|(n, _)| n.starts_with(prefix))
                        .map(|(n, e)| info_of(n, e))
                        .collect()
                })
                .unwrap_or_default())
        })
    }

    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            check_name(r)?;
            let c = self.open()?;
            c.as_ref()
                .and_then(|c| c.secrets.get(&r.location))
                .map(|e| info_of(&r.location, e))
                .ok_or_else(|| not_found(r))
        })
    }
}
