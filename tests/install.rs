//! The install channels as a user gets them, offline, from the files
//! scripts/package builds: the PyPI wheel in a fresh venv (its console entry
//! is the binary itself, linked for glibc 2.17, not position-independent) and
//! through uvx; the npm packages with install scripts (the postinstall puts
//! the binary where the launcher was) and without (the Node launcher runs it).
//! Each installed mcp-warden must answer --version and scan exactly as the
//! binary cargo built for the other tests does.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::Home;
use common::expected::fixture_home;
use common::package::{build_wheel, is_elf, max_glibc, npm_install, npm_tarballs, run_ok};

/// What the cargo-built binary prints for `args` (the reference).
fn reference(args: &[&str]) -> Output {
    Home::new()
        .cmd()
        .args(args)
        .output()
        .expect("run mcp-warden")
}

/// `installed` with a fresh home, as `Home::cmd` sets one up.
fn installed(bin: &Path, args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("tempdir");
    Command::new(bin)
        .args(args)
        .env("MCP_WARDEN_HOME", home.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .env_remove("VAULT_TYPE")
        .output()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()))
}

fn scan_args(home: &Path) -> Vec<&str> {
    let home = home.to_str().expect("utf-8 fixture path");
    vec!["scan", "--home", home, "--os", "linux", "--format", "json"]
}

/// --version, a scan of the fixture home, and a usage error's exit status are
/// those of the reference binary.
fn behaves_like_the_reference(bin: &Path) {
    let version = installed(bin, &["--version"]);
    assert!(
        version.status.success(),
        "{} --version failed",
        bin.display()
    );
    assert_eq!(
        String::from_utf8_lossy(&version.stdout),
        String::from_utf8_lossy(&reference(&["--version"]).stdout)
    );
    let fixture = fixture_home();
    let args = scan_args(&fixture);
    let scan = installed(bin, &args);
    let want = reference(&args);
    assert_eq!(scan.status.code(), want.status.code(), "scan exit status");
    let found: serde_json::Value = serde_json::from_slice(&scan.stdout).expect("scan JSON");
    let expected: serde_json::Value = serde_json::from_slice(&want.stdout).expect("scan JSON");
    assert_eq!(found, expected, "scan of the fixture home");
    assert_eq!(installed(bin, &["--no-such-flag"]).status.code(), Some(64));
}

/// The project venv's python (scripts/test) and the tools beside it (uv).
fn project_python() -> std::path::PathBuf {
    common::service_env("MCP_WARDEN_TEST_PYTHON").into()
}

#[test]
fn wheel_installs_the_binary_itself_into_a_fresh_venv() {
    let dist = build_wheel();
    let venv = tempfile::tempdir().expect("tempdir");
    run_ok(
        Command::new(project_python())
            .args(["-m", "venv"])
            .arg(venv.path()),
    );
    run_ok(
        Command::new(venv.path().join("bin/pip"))
            .args([
                "install",
                "--no-index",
                "--no-deps",
                "--disable-pip-version-check",
            ])
            .arg(&dist.wheel),
    );
    let entry = venv.path().join("bin/mcp-warden");
    assert!(is_elf(&entry), "the console entry is not the ELF binary");
    behaves_like_the_reference(&entry);
    assert!(
        max_glibc(&entry) <= (2, 17),
        "needs glibc {:?}",
        max_glibc(&entry)
    );
    let header = run_ok(Command::new("readelf").arg("-h").arg(&entry));
    assert!(
        String::from_utf8_lossy(&header.stdout).contains("EXEC (Executable file)"),
        "the release binary is position-independent (build.rs links -no-pie)"
    );
}

#[test]
fn uvx_runs_the_wheel_offline() {
    let dist = build_wheel();
    let python = project_python();
    let uvx = python.with_file_name("uvx");
    let cache = tempfile::tempdir().expect("tempdir");
    let out = run_ok(
        Command::new(uvx)
            .args(["--offline", "--no-config", "--python"])
            .arg(&python)
            .arg("--from")
            .arg(&dist.wheel)
            .args(["mcp-warden", "--version"])
            .env("UV_CACHE_DIR", cache.path())
            .env("UV_NO_PROGRESS", "1"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&reference(&["--version"]).stdout)
    );
}

#[test]
fn npm_postinstall_puts_the_binary_where_the_launcher_was() {
    let dist = build_wheel();
    let tarballs = npm_tarballs(&dist);
    let prefix = tempfile::tempdir().expect("tempdir");
    npm_install(&tarballs, prefix.path(), false);
    let bin = prefix.path().join("node_modules/.bin/mcp-warden");
    let target = bin.canonicalize().expect(".bin/mcp-warden resolves");
    assert!(is_elf(&target), "{} is not the binary", target.display());
    behaves_like_the_reference(&bin);
}

#[test]
fn npm_without_install_scripts_runs_through_the_launcher() {
    let dist = build_wheel();
    let tarballs = npm_tarballs(&dist);
    let prefix = tempfile::tempdir().expect("tempdir");
    npm_install(&tarballs, prefix.path(), true);
    let bin = prefix.path().join("node_modules/.bin/mcp-warden");
    let launcher = std::fs::read(&bin).expect("read the launcher");
    assert!(
        launcher.starts_with(b"#!/usr/bin/env node"),
        "not the launcher"
    );
    behaves_like_the_reference(&bin);
    // Node >= 22.15 replaces itself with the binary: no Node stays behind as
    // the server's parent. Older Node (the system's 20) stays as the parent.
    let node24 = common::service_env("MCP_WARDEN_TEST_NODE22");
    assert_ne!(parent_of_server(&bin, Path::new(&node24)), "node");
    let node20 = common::service_env("MCP_WARDEN_TEST_NODE");
    assert_eq!(parent_of_server(&bin, Path::new(&node20)), "node");
}

/// The name of the process a server started through `bin` (with `node`'s
/// folder first on PATH) has as its parent: `run --exec` replaces mcp-warden
/// with the server, so that is whatever started mcp-warden.
fn parent_of_server(bin: &Path, node: &Path) -> String {
    let node_dir = node.parent().expect("node's folder");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![node_dir.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    let home = tempfile::tempdir().expect("tempdir");
    let out = run_ok(
        Command::new(bin)
            .args(["run", "--exec", "--", "sh", "-c", "cat /proc/$PPID/comm"])
            .env("PATH", std::env::join_paths(dirs).expect("PATH"))
            .env("MCP_WARDEN_HOME", home.path())
            .env("MCP_WARDEN_KEY_STORE", "file"),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
