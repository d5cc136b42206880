//! `--exec`: replace mcp-warden with the server (execve).
//!
//! Owns the exec launcher. After a successful exec nothing of mcp-warden
//! remains: no supervision, no proxy. Must not return on success.

use std::os::unix::process::CommandExt;

use super::{LaunchError, Prepared};

/// Replaces this process. Returns only on failure.
pub fn exec(prepared: Prepared) -> LaunchError {
    let mut cmd = prepared.command();
    // SAFETY: the closure only calls setrlimit, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            crate::harden::restore_core_limit();
            Ok(())
        });
    }
    let source = cmd.exec();
    LaunchError::Spawn {
        program: prepared.program.display().to_string(),
        source,
    }
}
