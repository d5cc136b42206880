//! The `--version` text: the crate version, the commit it was built from
//! (set by build.rs) and the secret backends built into this binary.
//!
//! Owns that text only; must not read anything at run time.

use std::sync::OnceLock;

use crate::backend::registry::BUILT;

/// The commit this binary was built from, or "unknown" (see build.rs).
pub const COMMIT: &str = env!("MCP_WARDEN_BUILD_COMMIT");

/// `0.1.0 (commit 1a2b3c4)` then `backends: local, file, ...` on a second line.
pub fn text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| {
        let backends: Vec<&str> = BUILT.iter().map(|s| s.as_str()).collect();
        format!(
            "{} (commit {COMMIT})\nbackends: {}",
            env!("CARGO_PKG_VERSION"),
            backends.join(", ")
        )
    })
}
