//! Crash-safe file replacement.
//!
//! Owns the one way mcp-warden writes a file it cares about: a temp file in
//! the same directory, written, fsynced, given the final permissions, renamed
//! over the target, and the directory fsynced. A crash at any instant leaves
//! the old file or the new one, never a mix. Must not decide what is written.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Replaces `path` with `bytes`. Keeps the existing file's mode; a new file gets `new_mode`.
pub fn replace(path: &Path, bytes: &[u8], new_mode: u32) -> io::Result<()> {
    let mode = match fs::metadata(path) {
        Ok(m) => m.permissions().mode() & 0o7777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => new_mode,
        Err(e) => return Err(e),
    };
    replace_with_mode(path, bytes, mode)
}

/// Replaces `path` with `bytes`, giving the new file `mode` whatever the old one had.
pub fn replace_with_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (tmp, dir) = written_beside(path, bytes, mode)?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// Creates `path` with `bytes` and `mode`, failing with `AlreadyExists`
/// (and leaving it untouched) when something is at `path`, even if it
/// appeared a moment ago.
pub fn create_new(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let (tmp, dir) = written_beside(path, bytes, mode)?;
    tmp.persist_noclobber(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

/// A temp file beside `path` holding `bytes`, fsynced, with `mode`; and the folder.
fn written_beside<'a>(
    path: &'a Path,
    bytes: &[u8],
    mode: u32,
) -> io::Result<(tempfile::NamedTempFile, &'a Path)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // tempfile creates the file 0600, so the bytes are never readable by others.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))?;
    Ok((tmp, dir))
}

/// Creates `dir` and its parents with mode 0700 where they do not exist.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_and_preserves_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        replace(&p, b"one", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"one");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        replace(&p, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o640
        );
        // No temp files left behind.
        assert_eq!(fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn create_new_never_replaces_a_file_that_is_there() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("mcp.json");
        create_new(&p, b"first", 0o600).unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let e = create_new(&p, b"second", 0o600).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&p).unwrap(), b"first");
        let left: Vec<_> = fs::read_dir(d.path()).unwrap().flatten().collect();
        assert_eq!(left.len(), 1, "no temp file left behind");
    }
}
