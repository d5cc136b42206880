//! Files opened once and kept open: what a pin hashed is what launch runs.
//!
//! Owns [`HeldFile`] (a regular file opened read-only and close-on-exec, its
//! identity taken from the descriptor at open time), [`FileId`] (device,
//! inode, size, modification and status-change times: writing a file in
//! place or renaming another over its name changes at least one, and ctime
//! cannot be set back without privilege), the last checks before the child
//! starts ([`HeldFile::check`]), and [`Pinned`], the files a verified pin
//! hands to launch. Hashing is the pin's job; executing is the launchers'.
//! Must not run anything.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// One version of a file's content, as far as its metadata can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl FileId {
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// A stable text form, for the hash cache.
    pub fn stamp(&self) -> String {
        format!(
            "{}:{}:{}:{}.{}:{}.{}",
            self.dev, self.ino, self.size, self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1
        )
    }

    /// Whole-second timestamps (FAT, some network file systems) cannot tell
    /// two writes within one second apart.
    pub fn coarse(&self) -> bool {
        self.mtime.1 == 0 && self.ctime.1 == 0
    }
}

/// Why a held file may no longer be what was hashed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Changed {
    #[error("{0} was modified (or its metadata changed) after its pin was checked")]
    Written(PathBuf),
    #[error("{0} was replaced or removed after its pin was checked")]
    Replaced(PathBuf),
}

/// A regular file, open for reading, with its identity at open time.
#[derive(Debug)]
pub struct HeldFile {
    /// The path it was opened by: what the child (or its interpreter) opens.
    path: PathBuf,
    file: File,
    id: FileId,
    /// Starts with `#!`: the kernel hands it to an interpreter by name.
    script: bool,
}

impl HeldFile {
    /// Opens `path` (following symlinks) without blocking on a FIFO, and
    /// refuses anything but a regular file.
    pub fn open(path: &Path) -> io::Result<HeldFile> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
            .open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let mut head = [0u8; 2];
        let script = file.read_at(&mut head, 0)? == 2 && head == *b"#!";
        Ok(HeldFile {
            path: path.to_path_buf(),
            file,
            id: FileId::of(&meta),
            script,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// The identity taken when it was opened.
    pub fn id(&self) -> FileId {
        self.id
    }

    pub fn is_script(&self) -> bool {
        self.script
    }

    /// The identity the descriptor has now.
    pub fn id_now(&self) -> io::Result<FileId> {
        self.file.metadata().map(|m| FileId::of(&m))
    }

    /// The last check before the child starts: nothing about the file
    /// changed since it was opened (a write, a chmod, or its last name being
    /// removed or renamed over all change its ctime) and, when `by_path`, its
    /// path still names it.
    pub fn check(&self, by_path: bool) -> Result<(), Changed> {
        match self.file.metadata() {
            Ok(m) if FileId::of(&m) == self.id => {}
            Ok(m) if m.nlink() == 0 => return Err(Changed::Replaced(self.path.clone())),
            _ => return Err(Changed::Written(self.path.clone())),
        }
        if by_path {
            let now = std::fs::metadata(&self.path).map(|m| FileId::of(&m));
            if now.ok() != Some(self.id) {
                return Err(Changed::Replaced(self.path.clone()));
            }
        }
        Ok(())
    }
}

/// What a verified pin hands to launch: the executable, and an
/// interpreter's script, both still open.
#[derive(Debug)]
pub struct Pinned {
    pub program: HeldFile,
    pub script: Option<HeldFile>,
}

impl Pinned {
    /// Whether the program can be run through its descriptor: an executable
    /// that is not a `#!` script, on Linux. Otherwise it is run by path after
    /// [`HeldFile::check`].
    pub fn by_descriptor(&self) -> bool {
        cfg!(target_os = "linux") && !self.program.is_script()
    }

    /// The last checks, right before the child starts.
    pub fn check(&self) -> Result<(), Changed> {
        self.program.check(!self.by_descriptor())?;
        match &self.script {
            Some(s) => s.check(true),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_place_writes_and_renames_are_seen() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("srv");
        std::fs::write(&p, b"#!/bin/sh\necho one\n").unwrap();
        let h = HeldFile::open(&p).unwrap();
        assert!(h.is_script());
        assert_eq!(h.check(true), Ok(()));
        // Another name for it: the path still names it, but its ctime moved.
        std::fs::hard_link(&p, d.path().join("link")).unwrap();
        assert_eq!(h.check(false), Err(Changed::Written(p.clone())));
        // Replaced by rename: the descriptor keeps the old file, now without a name.
        let h = HeldFile::open(&p).unwrap();
        let q = d.path().join("new");
        std::fs::write(&q, b"#!/bin/sh\necho one\n").unwrap();
        std::fs::rename(&q, &p).unwrap();
        assert_eq!(h.check(false), Err(Changed::Written(p.clone())));
        std::fs::remove_file(d.path().join("link")).unwrap();
        assert_eq!(h.check(false), Err(Changed::Replaced(p.clone())));
        // Written in place: same inode, new mtime/ctime.
        let h = HeldFile::open(&p).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&p, b"#!/bin/sh\necho two\n").unwrap();
        assert_eq!(h.check(false), Err(Changed::Written(p.clone())));
        // Directories and FIFOs are refused without blocking.
        assert!(HeldFile::open(d.path()).is_err());
        let fifo = d.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        assert!(HeldFile::open(&fifo).is_err());
    }
}
