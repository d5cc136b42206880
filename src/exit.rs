//! Process exit codes (sysexits) and the one trait that maps an error to one.
//!
//! Owns the exit code numbers (listed for users under "Exit status" in the
//! README). It must not know about
//! particular errors: each error type implements [`ExitStatus`] where it is defined.

/// Exit codes mcp-warden uses when the child did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Code {
    /// `scan` found something at or above `--fail-on`.
    Findings = 1,
    /// Command-line usage error.
    Usage = 64,
    /// Bad secret data: not UTF-8, NUL byte, selector miss.
    DataErr = 65,
    /// Backend unreachable or timed out.
    Unavailable = 69,
    /// Internal bug.
    Software = 70,
    /// Local I/O failure (our own files).
    IoErr = 74,
    /// Permission denied by the backend.
    NoPerm = 77,
    /// Configuration error (unknown secret, unbuilt backend, bad store).
    Config = 78,
}

impl Code {
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// Errors that reach `main` say which exit code they mean.
pub trait ExitStatus {
    fn exit_code(&self) -> Code;
}
