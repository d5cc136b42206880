//! The config file on disk, as protect and restore see it: read once with
//! its metadata (mode, link count, who may write it and its directory),
//! refused when replacing it would not reach every name it has (hard
//! links), and replaced atomically with the right mode.
//!
//! Owns those file-system facts and the final write; knows nothing of the
//! text inside. Symbolic links are resolved by the caller (the target is
//! read and written, so a link stays a link).

use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::clients::read::MAX_CONFIG_BYTES;

/// A config file's bytes and the metadata read from the same descriptor.
pub struct Snapshot {
    pub bytes: Vec<u8>,
    /// Permission bits (`0o7777`).
    pub mode: u32,
    /// Number of hard links.
    pub links: u64,
}

/// Reads a regular file of at most [`MAX_CONFIG_BYTES`] without blocking on
/// a FIFO or device, with its mode and link count.
pub fn read(path: &Path) -> Result<Snapshot, String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!("larger than {MAX_CONFIG_BYTES} bytes"));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!("larger than {MAX_CONFIG_BYTES} bytes"));
    }
    Ok(Snapshot {
        bytes,
        mode: meta.permissions().mode() & 0o7777,
        links: meta.nlink(),
    })
}

/// Why a file with more than one name cannot be replaced: renaming a new file
/// over one name leaves the old text (the plaintext) under the others.
pub fn link_refusal(links: u64) -> Option<String> {
    (links > 1).then(|| {
        format!(
            "the file has {links} hard links: replacing it would leave the old text under the \
             other name(s) while this one looked done; remove the other links (or make them \
             symbolic links) and run again"
        )
    })
}

/// One line per way others can rewrite `target` (a world-writable file, or a
/// world-writable directory without the sticky bit): anyone can then change
/// which command the entry starts, and with it where the secrets go.
pub fn exposure_warnings(target: &Path, mode: u32) -> Vec<String> {
    let mut out = Vec::new();
    if mode & 0o002 != 0 {
        out.push(format!(
            "the file is writable by every user (mode {mode:04o}): anyone can change which \
             command it starts and so receive its secrets; chmod o-w it"
        ));
    }
    if let Some(dir) = target.parent()
        && let Ok(m) = std::fs::metadata(dir)
    {
        let dmode = m.permissions().mode();
        if dmode & 0o002 != 0 && dmode & 0o1000 == 0 {
            out.push(format!(
                "its directory {} is writable by every user without the sticky bit: anyone can \
                 replace the file; chmod o-w the directory",
                dir.display()
            ));
        }
    }
    out
}

/// Replaces `target` with `bytes` unless its content changed since
/// `expected` was read or it gained a link. Keeps the file's mode, or sets
/// `mode` when given; the new bytes are never readable by others before that.
pub fn replace(
    target: &Path,
    expected: &[u8],
    bytes: &[u8],
    mode: Option<u32>,
) -> Result<(), String> {
    let now = read(target)?;
    if now.bytes != expected {
        return Err("the file changed while mcp-warden ran; run it again".into());
    }
    if let Some(why) = link_refusal(now.links) {
        return Err(why);
    }
    let result = match mode {
        Some(m) => crate::atomic_file::replace_with_mode(target, bytes, m),
        None => crate::atomic_file::replace(target, bytes, 0o600),
    };
    result.map_err(|e| e.to_string())
}

/// The mode restore gives a file: the one recorded when protect rewrote it,
/// without any permission the file lacks now (a client may have rewritten
/// it 0644; a user may have tightened it since).
pub fn restored_mode(recorded: Option<u32>, current: u32) -> Option<u32> {
    recorded.map(|r| r & current & 0o7777)
}

/// `path` with symbolic links resolved.
pub fn resolve(path: &Path) -> Result<PathBuf, String> {
    std::fs::canonicalize(path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_links() {
        assert_eq!(restored_mode(Some(0o600), 0o644), Some(0o600));
        assert_eq!(restored_mode(Some(0o644), 0o600), Some(0o600));
        assert_eq!(restored_mode(Some(0o640), 0o640), Some(0o640));
        assert_eq!(restored_mode(None, 0o644), None);
        assert!(link_refusal(1).is_none());
        assert!(link_refusal(2).unwrap().contains("2 hard links"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c.json");
        std::fs::write(&p, b"{}").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let w = exposure_warnings(&p, read(&p).unwrap().mode);
        assert_eq!(w.len(), 2, "{w:?}");
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert_eq!(exposure_warnings(&p, 0o644).len(), 0);
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
}
