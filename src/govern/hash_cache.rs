//! A cache of file hashes, so a pinned profile whose command is a large
//! executable (`node` is ~100 MB) is not re-hashed at every start.
//!
//! An entry is reused only while the open file's device, inode, size,
//! modification time and status-change time (ctime), read from its
//! descriptor, are all unchanged. Writing a file, or
//! replacing it by rename, changes at least one of them, and ctime cannot be
//! set back by an unprivileged process, so a changed file is always hashed
//! again. The cache lives in the data directory (0600, written atomically);
//! anyone who can write it can also edit the pins themselves. Failing to read
//! or write it only costs time: the hash is then computed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::launch::held::HeldFile;

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

/// The SHA-256 of the open file `held`, from the cache when the file the
/// descriptor refers to is unchanged, else computed by `hash` from that
/// descriptor (and remembered when `data_dir` is given). Identities come
/// from the descriptor (`fstat`), never from a second lookup of the path.
pub fn sha256<E>(
    held: &HeldFile,
    data_dir: Option<&Path>,
    hash: impl FnOnce(&HeldFile) -> Result<String, E>,
) -> Result<String, E> {
    let id = held.id();
    let Some(dir) = data_dir.filter(|_| !id.coarse()) else {
        return hash(held);
    };
    let file = dir.join(FILE);
    let mut cache = load(&file);
    let key = id.stamp();
    if let Some(e) = cache.entries.get_mut(held.path())
        && e.stamp == key
    {
        let sha = e.sha256.clone();
        e.used = now();
        let _ = save(&file, &cache);
        return Ok(sha);
    }
    let sha = hash(held)?;
    // Only remember what was hashed from this very version of the file.
    if held.id_now().is_ok_and(|now| now == id) {
        remember(&mut cache, held.path(), key, &sha);
        let _ = save(&file, &cache);
    }
    Ok(sha)
}

fn remember(cache: &mut Cache, path: &Path, stamp: String, sha: &str) {
    cache.entries.insert(
        path.to_path_buf(),
        Entry {
            stamp,
            sha256: sha.to_string(),
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
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn reuses_only_while_the_file_is_unchanged() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("bin");
        std::fs::write(&f, b"one").unwrap();
        let calls = std::cell::Cell::new(0);
        let h = |held: &HeldFile| -> Result<String, ()> {
            calls.set(calls.get() + 1);
            Ok(format!("h{}", held.file().metadata().unwrap().len()))
        };
        let open = || HeldFile::open(&f).unwrap();
        assert_eq!(sha256(&open(), Some(d.path()), h), Ok("h3".into()));
        assert_eq!(sha256(&open(), Some(d.path()), h), Ok("h3".into()));
        assert_eq!(calls.get(), 1, "an unchanged file was hashed again");
        // Same size, new content: mtime/ctime move, so it is hashed again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&f, b"two").unwrap();
        assert_eq!(sha256(&open(), Some(d.path()), h), Ok("h3".into()));
        assert_eq!(calls.get(), 2);
        // Replaced by rename after it was opened: the descriptor's file is
        // the one hashed and looked up, not what the path names now.
        let held = open();
        let g = d.path().join("new");
        std::fs::write(&g, b"three").unwrap();
        std::fs::rename(&g, &f).unwrap();
        assert_eq!(sha256(&held, Some(d.path()), h), Ok("h3".into()));
        assert_eq!(calls.get(), 2, "the held file is unchanged and cached");
        assert_eq!(sha256(&open(), Some(d.path()), h), Ok("h5".into()));
        assert_eq!(calls.get(), 3);
        let mode = std::fs::metadata(d.path().join(FILE)).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
