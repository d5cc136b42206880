//! One holder at a time across processes: an exclusive advisory lock on a
//! file, taken with a bounded wait.
//!
//! Owns the lock files under `<data_dir>/oauth/locks/` (empty files; their
//! names are hashes, never an issuer or a token) and polling for the lock
//! without blocking the runtime. Must not know what the lock protects: the
//! store decides the names, the authorizer what to do while holding one.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often a waiter tries again.
const POLL: Duration = Duration::from_millis(20);

/// Held until dropped (the kernel releases it also when the process dies).
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the lock file {}: {source}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "another mcp-warden process held {} for more than {}s; try again, or remove the file if no mcp-warden is running",
        path.display(),
        waited.as_secs()
    )]
    Busy { path: PathBuf, waited: Duration },
}

impl FileLock {
    /// Takes the lock on `path` (created 0600 when missing), waiting at
    /// most `wait` for another holder to let go.
    pub async fn acquire(path: &Path, wait: Duration) -> Result<FileLock, LockError> {
        let file = open(path)?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(FileLock {
                        file,
                        path: path.to_path_buf(),
                    });
                }
                Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                    tokio::time::sleep(POLL).await;
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(LockError::Busy {
                        path: path.to_path_buf(),
                        waited: wait,
                    });
                }
                Err(TryLockError::Error(source)) => {
                    return Err(LockError::Io {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

fn open(path: &Path) -> Result<File, LockError> {
    let io_err = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        crate::atomic_file::create_private_dir(dir).map_err(io_err)?;
    }
    let mut o = OpenOptions::new();
    o.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let file = o.open(path).map_err(io_err)?;
    // a lock file is never followed to somewhere else
    let meta = fs::symlink_metadata(path).map_err(io_err)?;
    if !meta.file_type().is_file() {
        return Err(io_err(io::Error::other("not a regular file")));
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_holder_waits_until_the_first_lets_go() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("locks").join("a.lock");
        let first = FileLock::acquire(&p, Duration::from_secs(1)).await.unwrap();
        let busy = FileLock::acquire(&p, Duration::from_millis(60)).await;
        assert!(matches!(busy, Err(LockError::Busy { .. })), "{busy:?}");
        drop(first);
        FileLock::acquire(&p, Duration::from_millis(60))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_lock_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.lock");
        let _l = FileLock::acquire(&p, Duration::from_secs(1)).await.unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
