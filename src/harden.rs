//! Process hardening at start-up.
//!
//! Owns making mcp-warden non-dumpable (no core files, no ptrace by other
//! users, `/proc/<pid>/environ` unreadable to them) with a soft core limit of 0,
//! and remembering the original core limit so a child can be given back the
//! limit it would have had alone. Must not do anything else.

use std::sync::OnceLock;

use rustix::process::{Resource, Rlimit};

static ORIGINAL_CORE: OnceLock<Rlimit> = OnceLock::new();

/// Best effort: a failure here never stops mcp-warden (e.g. a seccomp sandbox).
pub fn harden_process() {
    #[cfg(target_os = "linux")]
    {
        let _ =
            rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    }
    let original = rustix::process::getrlimit(Resource::Core);
    let _ = ORIGINAL_CORE.set(Rlimit {
        current: original.current,
        maximum: original.maximum,
    });
    let _ = rustix::process::setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: original.maximum,
        },
    );
}

/// Restores the core limit mcp-warden started with. Async-signal-safe: for use
/// between fork and exec.
pub fn restore_core_limit() {
    if let Some(r) = ORIGINAL_CORE.get() {
        let _ = rustix::process::setrlimit(
            Resource::Core,
            Rlimit {
                current: r.current,
                maximum: r.maximum,
            },
        );
    }
}
