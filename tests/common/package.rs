//! The install channels' packages, built as scripts/package builds them
//! (tests/install.rs): the wheel, the binary inside it, the npm tarballs,
//! and the fresh places they are installed into.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The cargo profile of the test wheel: release's settings that matter to a
/// package (-no-pie, strip, zig's glibc 2.17 baseline) but quicker to build.
pub const PROFILE: &str = "package-test";

/// Everything one test built, in its own folder.
pub struct Dist {
    pub dir: tempfile::TempDir,
    pub wheel: PathBuf,
    /// The binary the wheel carries, extracted from it.
    pub binary: PathBuf,
}

/// The two npm tarballs of this platform.
pub struct NpmTarballs {
    pub platform: PathBuf,
    pub main: PathBuf,
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd` to completion; panics with its output when it fails.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `scripts/package` with the given arguments into `dist`; its last stdout line.
fn package(dist: &Path, args: &[&str]) -> PathBuf {
    let out = run_ok(
        Command::new(root().join("scripts/package"))
            .args(args)
            .env("MW_DIST", dist)
            .env("MW_PACKAGE_PROFILE", PROFILE),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or("").trim();
    assert!(!last.is_empty(), "scripts/package {args:?} printed no path");
    PathBuf::from(last)
}

/// The Linux x86_64 wheel (the build is cargo's, shared: only the first test
/// to get here compiles) and the binary inside it. One maturin at a time:
/// two at once race on the binary in the shared target directory.
pub fn build_wheel() -> Dist {
    let dir = tempfile::tempdir().expect("tempdir");
    let lock_dir =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let lock = std::fs::File::create(lock_dir.join("mcp-warden-package-test.lock"))
        .expect("create the wheel build lock");
    lock.lock().expect("take the wheel build lock");
    let wheel = package(dir.path(), &["wheel", "x86_64-unknown-linux-gnu"]);
    drop(lock);
    let binary = dir.path().join("bin/mcp-warden");
    let binary_arg = binary.to_str().expect("utf-8 temp path");
    package(
        dir.path(),
        &["binary", wheel.to_str().expect("utf-8"), binary_arg],
    );
    Dist { dir, wheel, binary }
}

/// `npm pack` of the platform package holding `dist.binary`, and of the launcher package.
pub fn npm_tarballs(dist: &Dist) -> NpmTarballs {
    let binary = dist.binary.to_str().expect("utf-8 temp path");
    NpmTarballs {
        platform: package(
            dist.dir.path(),
            &["npm-platform", "x86_64-unknown-linux-gnu", binary],
        ),
        main: package(dist.dir.path(), &["npm-main"]),
    }
}

/// `npm install` of both tarballs into an empty prefix, offline with an empty
/// cache (the other platforms' optional packages cannot be fetched and are skipped).
pub fn npm_install(tarballs: &NpmTarballs, prefix: &Path, ignore_scripts: bool) {
    let mut cmd = Command::new("npm");
    cmd.arg("install")
        .arg("--prefix")
        .arg(prefix)
        .arg("--offline")
        .arg("--cache")
        .arg(prefix.join(".npm-cache"))
        .args(["--no-audit", "--no-fund", "--loglevel=error"])
        .arg(&tarballs.platform)
        .arg(&tarballs.main);
    if ignore_scripts {
        cmd.arg("--ignore-scripts");
    }
    run_ok(&mut cmd);
}

/// Whether `path` is an ELF executable (not a script that runs one).
pub fn is_elf(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.starts_with(b"\x7fELF"))
}

/// The highest GLIBC_x.y symbol version `binary` needs (objdump -T).
pub fn max_glibc(binary: &Path) -> (u32, u32) {
    let out = run_ok(Command::new("objdump").arg("-T").arg(binary));
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .map(|w| w.trim_matches(['(', ')']))
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter_map(|v| {
            let mut parts = v.split('.');
            let major = parts.next()?.parse().ok()?;
            let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
            Some((major, minor))
        })
        .max()
        .expect("objdump -T lists GLIBC_ versions")
}
