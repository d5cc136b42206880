//! `--exec`: replace mcp-warden with the server (execve).
//!
//! Owns the exec launcher. After a successful exec nothing of mcp-warden
//! remains: no supervision, no proxy. Must not return on success.

use std::os::unix::process::CommandExt;

use super::{LaunchError, Prepared};

/// Replaces this process. Returns only on failure.
pub fn exec(prepared: Prepared) -> LaunchError {
    let mut cmd = match prepared.command(|| {
        // setrlimit only: async-signal-safe.
        crate::harden::restore_core_limit();
        Ok(())
    }) {
        Ok(cmd) => cmd,
        Err(e) => return e,
    };
    if let Err(e) = prepared.last_check() {
        return e;
    }
    let source = cmd.exec();
    prepared.spawn_error(source)
}
