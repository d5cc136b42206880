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
