//! A cache of file hashes, so a pinned profile whose command is a large
//! executable (`node` is ~100 MB) is not re-hashed at every start.
//!
//! An entry is reused only while the file's device, inode, size, modification
//! time and status-change time (ctime) are all unchanged. Writing a file, or
//! replacing it by rename, changes at least one of them, and ctime cannot be
//! set back by an unprivileged process, so a changed file is always hashed
//! again. The cache lives in the data directory (0600, written atomically);
//! anyone who can write it can also edit the pins themselves. Failing to read
//! or write it only costs time: the hash is then computed.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

const FILE: &str = "hash-cache.json";
/// Entries kept at most; the oldest go first.
const MAX_ENTRIES: usize = 256;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cache {
    entries: BTreeMap<PathBuf, Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    stamp: String,
    sha256: String,
    /// Seconds since the epoch when it was last used, for eviction.
    used: u64,
}

/// What identifies one version of a file's content without reading it.
fn stamp(meta: &std::fs::Metadata) -> String {
    format!(
        "{}:{}:{}:{}.{}:{}.{}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn load(path: &Path) -> Cache {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The SHA-256 of `path`, from the cache when the file is unchanged, else
/// computed by `hash` (and remembered when `data_dir` is given).
pub fn sha256<E>(
    path: &Path,
    data_dir: Option<&Path>,
    hash: impl FnOnce(&Path) -> Result<String, E>,
) -> Result<String, E> {
    let (Some(dir), Ok(meta)) = (data_dir, std::fs::metadata(path)) else {
        return hash(path);
    };
    // Whole-second timestamps (FAT, some network file systems) cannot tell two
    // writes within one second apart: hash every time there.
    if meta.mtime_nsec() == 0 && meta.ctime_nsec() == 0 {
        return hash(path);
    }
    let file = dir.join(FILE);
    let mut cache = load(&file);
    let key = stamp(&meta);
    if let Some(e) = cache.entries.get_mut(path)
        && e.stamp == key
    {
        let sha = e.sha256.clone();
        e.used = now();
        let _ = save(&file, &cache);
        return Ok(sha);
    }
    let sha = hash(path)?;
    // Only remember what was hashed from this very version of the file.
    if std::fs::metadata(path).is_ok_and(|m| stamp(&m) == key) {
        cache.entries.insert(
            path.to_path_buf(),
            Entry {
                stamp: key,
                sha256: sha.clone(),
                used: now(),
            },
        );
        while cache.entries.len() > MAX_ENTRIES {
            let oldest = cache
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(p, _)| p.clone());
            match oldest {
                Some(p) => cache.entries.remove(&p),
                None => break,
            };
        }
        let _ = save(&file, &cache);
    }
    Ok(sha)
}

fn save(file: &Path, cache: &Cache) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        crate::atomic_file::create_private_dir(dir)?;
    }
    let bytes = serde_json::to_vec(cache).map_err(std::io::Error::other)?;
    crate::atomic_file::replace(file, &bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_only_while_the_file_is_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bin");
        std::fs::write(&f, b"one").unwrap();
        let calls = std::cell::Cell::new(0);
        let h = |p: &Path| -> Result<String, ()> {
            calls.set(calls.get() + 1);
            Ok(format!("h{}", std::fs::read(p).unwrap().len()))
        };
        assert_eq!(sha256(&f, Some(d.path()), h), Ok("h3".into()));
        assert_eq!(sha256(&f, Some(d.path()), h), Ok("h3".into()));
        assert_eq!(calls.get(), 1, "an unchanged file was hashed again");
        // Same size, new content: mtime/ctime move, so it is hashed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"two").unwrap();
        assert_eq!(sha256(&f, Some(d.path()), h), Ok("h3".into()));
        assert_eq!(calls.get(), 2);
        // Replaced by rename: a new inode.
        let g = d.path().join("new");
        std::fs::write(&g, b"three").unwrap();
        std::fs::rename(&g, &f).unwrap();
        assert_eq!(sha256(&f, Some(d.path()), h), Ok("h5".into()));
        assert_eq!(calls.get(), 3);
        let mode = std::fs::metadata(d.path().join(FILE)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
