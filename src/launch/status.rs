//! How the child ended, and the exit code that passes it on.
//!
//! Owns the rule: the child's own code, or 128+N after death by signal N.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

/// The child's end, as mcp-warden reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildExit {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

impl ChildExit {
    pub fn from_status(s: ExitStatus) -> Self {
        Self {
            code: s.code(),
            signal: s.signal(),
        }
    }

    /// The code mcp-warden exits with.
    pub fn exit_code(self) -> i32 {
        match (self.code, self.signal) {
            (Some(c), _) => c,
            (None, Some(sig)) => 128 + sig,
            (None, None) => crate::exit::Code::Software.as_i32(),
        }
    }
}
