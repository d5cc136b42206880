//! Build script: how the release binary is linked.
//!
//! On Linux, release builds link a position-dependent executable (`-no-pie`).
//! A position-independent one makes the dynamic loader write ~56,000
//! relocated pointers into ~0.9 MB of read-only data at every start: about
//! 280 copy-on-write page faults, 1.5–3 ms per start and 0.9 MB of private
//! memory per supervised server (docs/PERFORMANCE.md, "Start-up"). The cost:
//! the executable's own code is at a fixed address (libraries, heap and stack
//! stay randomized). `MCP_WARDEN_PIE=1` keeps a position-independent binary.
//! Debug and test builds are left as they are.

fn main() {
    println!("cargo:rerun-if-env-changed=MCP_WARDEN_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let keep_pie = std::env::var("MCP_WARDEN_PIE").is_ok_and(|v| v == "1");
    if linux && release && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
