//! Executing a held file through its descriptor: `execveat(fd, "",
//! AT_EMPTY_PATH)` (Linux).
//!
//! Owns building everything the call needs before the fork (argv, envp and
//! their pointer arrays, so nothing is allocated between fork and exec) and
//! the call itself. The kernel executes the very file the descriptor refers
//! to, whatever its path names by then. Only for executables that are not
//! `#!` scripts: for a script the kernel passes `/dev/fd/N` to the
//! interpreter, which needs the descriptor open in the child and changes the
//! script's own name (`$0`, `sys.argv[0]`, `__file__`); see
//! [`super::held::Pinned::by_descriptor`]. Must not decide what to run.

use std::ffi::{CString, OsString};
use std::fs::File;
use std::io;
use std::os::unix::ffi::OsStrExt;

use zeroize::Zeroizing;

/// A prepared `execveat`: owns its strings and the pointer arrays into them.
pub struct FdExec {
    /// A duplicate of the held descriptor (same open file), close-on-exec.
    file: File,
    _argv: Vec<CString>,
    /// `NAME=VALUE\0` entries; they hold the injected values, so they are zeroed on drop.
    _envp: Vec<Zeroizing<Vec<u8>>>,
    argv_ptrs: Vec<*const libc::c_char>,
    envp_ptrs: Vec<*const libc::c_char>,
}

// SAFETY: the raw pointers point into heap buffers owned by the same value,
// which are never mutated after construction; moving the value does not move them.
unsafe impl Send for FdExec {}
// SAFETY: as above; `exec` only reads.
unsafe impl Sync for FdExec {}

fn nul_error() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "an argument or environment entry contains a NUL byte",
    )
}

impl FdExec {
    pub fn new(
        file: &File,
        argv0: &OsString,
        args: &[OsString],
        env: &[(OsString, OsString)],
    ) -> io::Result<FdExec> {
        let file = file.try_clone()?;
        let argv = std::iter::once(argv0)
            .chain(args)
            .map(|a| CString::new(a.as_bytes()).map_err(|_| nul_error()))
            .collect::<io::Result<Vec<CString>>>()?;
        let mut envp = Vec::with_capacity(env.len());
        for (k, v) in env {
            let (k, v) = (k.as_bytes(), v.as_bytes());
            if k.contains(&0) || v.contains(&0) {
                return Err(nul_error());
            }
            let mut entry = Zeroizing::new(Vec::with_capacity(k.len() + v.len() + 2));
            entry.extend_from_slice(k);
            entry.push(b'=');
            entry.extend_from_slice(v);
            entry.push(0);
            envp.push(entry);
        }
        let argv_ptrs = argv
            .iter()
            .map(|a| a.as_ptr())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        let envp_ptrs = envp
            .iter()
            .map(|e| e.as_ptr().cast::<libc::c_char>())
            .chain(std::iter::once(std::ptr::null()))
            .collect();
        Ok(FdExec {
            file,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
        })
    }

    /// Replaces the calling process with the held file. Returns only on
    /// failure. Async-signal-safe: one system call, no allocation.
    #[cfg(target_os = "linux")]
    pub fn exec(&self) -> io::Error {
        use std::os::fd::AsRawFd;
        // SAFETY: every pointer array is NULL-terminated and points to
        // NUL-terminated strings owned by `self`, alive for the call.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                self.file.as_raw_fd(),
                c"".as_ptr(),
                self.argv_ptrs.as_ptr(),
                self.envp_ptrs.as_ptr(),
                libc::AT_EMPTY_PATH,
            );
        }
        io::Error::last_os_error()
    }

    /// Not available off Linux: [`super::held::Pinned::by_descriptor`] is
    /// false there and this is never built.
    #[cfg(not(target_os = "linux"))]
    pub fn exec(&self) -> io::Error {
        io::Error::from(io::ErrorKind::Unsupported)
    }
}
