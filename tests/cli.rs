//! Help, version and completions.

mod common;

use common::Home;
use predicates::prelude::*;

#[test]
fn help_version_and_completions() {
    let home = Home::new();
    home.cmd()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("run").and(predicate::str::contains("secret")));
    home.cmd()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--exec").and(predicate::str::contains("--pass-env")));
    home.cmd()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("mcp-warden "));
    for shell in ["bash", "zsh", "fish"] {
        home.cmd()
            .args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("mcp-warden"));
    }
    home.cmd().assert().code(64);
}

/// `--version` names the version, the commit the binary was built from (this
/// checkout's HEAD, as build.rs read it) and every backend built in.
#[test]
fn version_names_commit_and_backends() {
    let home = Home::new();
    let out = home
        .cmd()
        .arg("--version")
        .output()
        .expect("run mcp-warden");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8 version");
    let mut lines = text.lines();
    let head = std::process::Command::new("git")
        .args([
            "-C",
            env!("CARGO_MANIFEST_DIR"),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let commit = match std::env::var("MCP_WARDEN_COMMIT") {
        Ok(given) => given,
        Err(_) => head.unwrap_or_else(|| "unknown".into()),
    };
    assert_eq!(
        lines.next(),
        Some(format!("mcp-warden {} (commit {commit})", env!("CARGO_PKG_VERSION")).as_str())
    );
    let backends = lines.next().expect("a backends line");
    let names: Vec<&str> = backends
        .strip_prefix("backends: ")
        .expect("backends: prefix")
        .split(", ")
        .collect();
    for scheme in [
        "local", "file", "aws-sm", "aws-ssm", "vault", "gcp-sm", "azure-kv", "keyring", "op",
    ] {
        assert!(
            names.contains(&scheme),
            "{scheme} missing from {backends:?}"
        );
    }
}
