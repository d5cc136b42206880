//! Build script: how the release binary is linked, and which commit it names.
//!
//! On Linux, release builds link a position-dependent executable (`-no-pie`).
//! A position-independent one makes the dynamic loader write ~56,000
//! relocated pointers into ~0.9 MB of read-only data at every start: about
//! 280 copy-on-write page faults, 1.5–3 ms per start and 0.9 MB of private
//! memory per supervised server (docs/PERFORMANCE.md, "Start-up"). The cost:
//! the executable's own code is at a fixed address (libraries, heap and stack
//! stay randomized). `MCP_WARDEN_PIE=1` keeps a position-independent binary.
//! Debug and test builds are left as they are. The same holds under
//! `cargo zigbuild` / `maturin --zig` (zig's linker accepts `-no-pie`).
//!
//! `--version` names the commit: `MCP_WARDEN_COMMIT` when packaging sets it
//! (a build from an sdist or a tarball has no `.git`), else
//! `git rev-parse --short HEAD` of this crate's own checkout, else "unknown".

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    link_args();
    commit();
}

/// `-no-pie` for Linux release binaries unless `MCP_WARDEN_PIE=1`.
fn link_args() {
    println!("cargo:rerun-if-env-changed=MCP_WARDEN_PIE");
    let linux = std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux");
    let release = std::env::var("PROFILE").as_deref() == Ok("release");
    let keep_pie = std::env::var("MCP_WARDEN_PIE").is_ok_and(|v| v == "1");
    if linux && release && !keep_pie {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}

/// Sets `MCP_WARDEN_BUILD_COMMIT` for `src/version.rs`.
fn commit() {
    println!("cargo:rerun-if-env-changed=MCP_WARDEN_COMMIT");
    let given = std::env::var("MCP_WARDEN_COMMIT")
        .ok()
        .filter(|c| plausible(c));
    let commit = given.or_else(git_head).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=MCP_WARDEN_BUILD_COMMIT={commit}");
}

/// A commit id as printed: short, letters and digits only.
fn plausible(commit: &str) -> bool {
    (4..=40).contains(&commit.len()) && commit.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The short HEAD of the checkout this crate is the top of (not of some
/// repository an unpacked source tree happens to sit in), and the files that
/// change with it, so the build script reruns after a commit or checkout.
fn git_head() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let top = git(&dir, &["rev-parse", "--show-toplevel"])?;
    if !same_dir(Path::new(&top), &dir) {
        return None;
    }
    let git_dir = PathBuf::from(git(&dir, &["rev-parse", "--absolute-git-dir"])?);
    let common = git(&dir, &["rev-parse", "--git-common-dir"]).map(|c| dir.join(c));
    // HEAD's reflog is appended to at every commit, checkout, reset or
    // rebase, also when the branch itself is only in packed-refs.
    let mut watched = vec![git_dir.join("HEAD"), git_dir.join("logs").join("HEAD")];
    if let Some(common) = common {
        watched.push(common.join("packed-refs"));
        if let Some(head_ref) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(common.join(head_ref));
        }
    }
    for file in watched.iter().filter(|f| f.is_file()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    git(&dir, &["rev-parse", "--short", "HEAD"]).filter(|c| plausible(c))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

/// Runs git in `dir`; its trimmed stdout when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.trim().to_string()).filter(|t| !t.is_empty())
}
