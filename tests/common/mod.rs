//! Shared test harness: the binary, an isolated home, and the services
//! `scripts/test` starts.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// How real producers spell a string, and the leak oracle (shared with the
/// proxy's unit tests, one source).
#[path = "../../src/proxy/redact/producers.rs"]
pub mod producers;

/// Deterministic fakes for template corpora (shared with the detector's unit
/// tests, one source).
#[path = "../../src/scan/detect/fakes.rs"]
pub mod fakes;

pub mod egress;
pub mod env;
pub mod expected;
pub mod moto;
pub mod oauth;
pub mod output;
pub mod package;
pub mod process;
pub mod remote;

/// A canary: if this string shows up in any output, a secret leaked.
pub const CANARY: &str = "canary-3f9a7c1e-do-not-leak";

/// `run --exec` (8 s per reference) printing each assigned variable,
/// `|`-separated, so a test compares what the child received.
pub fn print_vars(mut c: Command, assignments: &[&str]) -> std::process::Output {
    let vars: Vec<String> = assignments
        .iter()
        .map(|a| format!("\"${}\"", a.split('=').next().unwrap_or("")))
        .collect();
    c.args(["run", "--exec", "--timeout", "8s"])
        .args(assignments)
        .args([
            "--",
            "sh",
            "-c",
            &format!("printf '%s|' {}", vars.join(" ")),
        ])
        .output()
        .expect("run mcp-warden")
}

pub fn bin_path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("mcp-warden")
}

/// An isolated mcp-warden home with its key in a key file.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `mcp-warden` with this home, a key file, and no ambient backend settings.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin_path());
        c.env("MCP_WARDEN_HOME", self.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            // Diagnostics a developer turned on must not change what tests see.
            .env_remove("MCP_WARDEN_LOG")
            .env_remove("VAULT_TYPE")
            .env_remove("VAULT_REGION")
            .env_remove("VAULT_PROFILE")
            // Cloud metadata services are never probed from a test: a closed loopback port.
            .env("GCE_METADATA_HOST", "127.0.0.1:1")
            .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:1");
        c
    }

    /// A `std::process::Command` for tests that signal the process.
    pub fn std_cmd(&self) -> std::process::Command {
        let mut c = std::process::Command::new(bin_path());
        c.env("MCP_WARDEN_HOME", self.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            .env_remove("MCP_WARDEN_LOG")
            .env_remove("VAULT_TYPE");
        c
    }

    /// Stores `value` under `name` in the local store, through the CLI.
    pub fn set(&self, name: &str, value: &[u8]) {
        self.cmd()
            .args(["secret", "set", name, "--keep-newline"])
            .write_stdin(value.to_vec())
            .assert()
            .success();
    }
}

/// An environment variable `scripts/test` exports; a clear failure when absent.
pub fn service_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite through scripts/test, which starts the services")
    })
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
pub fn process_gone(pid: i32) -> bool {
    process::proc_state(pid).is_none_or(|s| s == 'Z')
}

/// Sends `sig` (e.g. "TERM") to `pid` with kill(1).
pub fn kill(pid: i32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} {pid} failed");
}

/// Reads a pid a child wrote to `path`, waiting up to 10 s for it.
pub fn read_pid(path: &Path) -> i32 {
    let mut pid = None;
    wait_until(Duration::from_secs(10), || {
        pid = std::fs::read_to_string(path)
            .ok()
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    pid.unwrap_or_else(|| panic!("no pid in {}", path.display()))
}

/// Points `c` at the test services only: AWS at moto (`aws_url`, fake keys,
/// no ~/.aws, no instance metadata), Vault at the OpenBao dev server with
/// `bao_token`; every ambient AWS/VAULT/BAO setting removed.
pub fn services_env(c: &mut Command, dir: &Path, aws_url: &str, bao_token: &str) {
    env::moto_env(c, dir, aws_url);
    c.env("VAULT_ADDR", service_env("MCP_WARDEN_TEST_BAO_ADDR"))
        .env("VAULT_TOKEN", bao_token);
}

/// A name no other test (or earlier run against the same service) uses:
/// `mw-TAG-PID-NANOS-N`, safe as an AWS secret name, an SSM path segment and
/// a Vault mount, policy or namespace.
pub fn unique(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "mw-{tag}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Copies the tree at `from` into the existing directory `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    let entries = std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    for e in entries {
        let e = e.expect("directory entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

/// Every file under `dir` by relative path.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}
