//! The audit file: appending records, size-capped rotation, sharing one file
//! between several mcp-warden processes.
//!
//! Owns [`AuditLog`]: the file (mode 0600, parent directory created 0700), a
//! write buffer of whole records, rotation (`audit.jsonl` -> `audit.jsonl.1`
//! -> ... up to `keep_files`) under an exclusive `flock` after checking that
//! nobody rotated first, and following another process's rotation. Each
//! flush is one `write` on an `O_APPEND` descriptor. It must not build or
//! redact records (it writes the bytes it is given).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::AuditError;

/// Bytes buffered before a write is forced.
const BUF_LIMIT: usize = 64 * 1024;
/// How often the live file is checked for rotation by another process.
const RECHECK: Duration = Duration::from_secs(1);

/// The open, appending audit file.
#[derive(Debug)]
pub(crate) struct AuditLog {
    path: PathBuf,
    file: File,
    size: u64,
    buf: Vec<u8>,
    max_bytes: u64,
    keep: usize,
    checked: Instant,
    /// Records that could not be written.
    pub failures: u64,
}

pub(super) fn io_err(path: &Path) -> impl FnOnce(io::Error) -> AuditError + '_ {
    move |source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn open_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(path)?;
        let meta = file.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            file.set_permissions(fs::Permissions::from_mode(0o600))?;
        }
        Ok(file)
    }
    #[cfg(not(unix))]
    {
        opts.open(path)
    }
}

impl AuditLog {
    /// Creates the parent directory (0700) and opens the file (0600) for appending.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> Result<Self, AuditError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.exists()
        {
            let mut b = fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                b.mode(0o700);
            }
            b.create(parent).map_err(io_err(parent))?;
        }
        let file = open_file(path).map_err(io_err(path))?;
        let size = file.metadata().map_err(io_err(path))?.len();
        Ok(Self {
            path: path.to_path_buf(),
            file,
            size,
            buf: Vec::with_capacity(BUF_LIMIT),
            max_bytes: max_bytes.max(1),
            keep,
            checked: Instant::now(),
            failures: 0,
        })
    }

    /// Buffers one record (a JSON object; the newline is added here).
    pub fn append(&mut self, record: &[u8]) {
        if self.buf.len() + record.len() + 1 > BUF_LIMIT {
            self.flush();
        }
        self.buf.extend_from_slice(record);
        self.buf.push(b'\n');
    }

    /// Writes what is buffered (whole records, one `write`), rotating first if needed.
    pub fn flush(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        if self.checked.elapsed() >= RECHECK {
            self.checked = Instant::now();
            self.follow_rotation();
        }
        if self.size > 0 && self.size + self.buf.len() as u64 > self.max_bytes {
            // on failure keep appending to the current file rather than lose records
            let _ = self.rotate();
        }
        match self.file.write_all(&self.buf) {
            Ok(()) => self.size += self.buf.len() as u64,
            Err(_) => {
                self.failures += self.buf.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        self.buf.clear();
    }

    /// Whether the path still names our file; if another process rotated it, reopen.
    fn follow_rotation(&mut self) {
        if !self.same_file()
            && let Ok(f) = open_file(&self.path)
        {
            self.file = f;
        }
        if let Ok(m) = self.file.metadata() {
            self.size = m.len();
        }
    }

    #[cfg(unix)]
    fn same_file(&self) -> bool {
        use std::os::unix::fs::MetadataExt;
        match (fs::metadata(&self.path), self.file.metadata()) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        }
    }

    #[cfg(not(unix))]
    fn same_file(&self) -> bool {
        self.path.exists()
    }

    fn rotate(&mut self) -> io::Result<()> {
        #[cfg(unix)]
        rustix::fs::flock(&self.file, rustix::fs::FlockOperation::LockExclusive)
            .map_err(io::Error::from)?;
        let result = self.rotate_locked();
        // Released on every path: closing a replaced descriptor already released
        // it; a kept one (no rotation needed, or an error) must not stay locked,
        // or every other mcp-warden writing this log would wait forever.
        #[cfg(unix)]
        let _ = rustix::fs::flock(&self.file, rustix::fs::FlockOperation::Unlock);
        result
    }

    fn rotate_locked(&mut self) -> io::Result<()> {
        if !self.same_file() {
            // someone else rotated while we waited
            self.file = open_file(&self.path)?;
            self.size = self.file.metadata()?.len();
            return Ok(());
        }
        let size = self.file.metadata()?.len();
        if size + self.buf.len() as u64 <= self.max_bytes {
            self.size = size;
            return Ok(());
        }
        let rotated = |n: usize| {
            let mut s = self.path.as_os_str().to_owned();
            s.push(format!(".{n}"));
            PathBuf::from(s)
        };
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                match fs::rename(rotated(n), rotated(n + 1)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            fs::rename(&self.path, rotated(1))?;
        }
        self.file = open_file(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.flush();
    }
}
