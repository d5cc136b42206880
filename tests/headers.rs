//! `mcp-warden headers`: the JSON header map Claude Code's `headersHelper` reads.

mod common;

use common::{CANARY, Home};
use predicates::prelude::*;

#[test]
fn prints_the_header_map_with_values_from_the_store() {
    let home = Home::new();
    home.set("api", CANARY.as_bytes());
    let out = home
        .cmd()
        .args([
            "headers",
            "-H",
            "Authorization: Bearer %{T}",
            "-H",
            "X-Static: plain \"quoted\" 100%",
            "T=local://api",
        ])
        .assert()
        .success()
        .stderr("")
        .get_output()
        .stdout
        .clone();
    let map: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        map,
        serde_json::json!({
            "Authorization": format!("Bearer {CANARY}"),
            "X-Static": "plain \"quoted\" 100%",
        })
    );
}

#[test]
fn refuses_values_that_cannot_be_headers_without_printing_them() {
    let home = Home::new();
    home.set("bad", format!("{CANARY}\r\nX-Injected: 1").as_bytes());
    home.cmd()
        .args([
            "headers",
            "-H",
            "Authorization: Bearer %{T}",
            "T=local://bad",
        ])
        .assert()
        .code(65)
        .stdout("")
        .stderr(
            predicate::str::contains("Authorization").and(predicate::str::contains(CANARY).not()),
        );
    // Unknown variable in a template, malformed header, missing secret.
    home.cmd()
        .args(["headers", "-H", "Authorization: Bearer %{NOPE}"])
        .assert()
        .code(64)
        .stdout("");
    home.cmd()
        .args(["headers", "-H", CANARY])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(CANARY).not());
    home.cmd()
        .args(["headers", "-H", "A: %{T}", "T=local://missing"])
        .assert()
        .code(78)
        .stdout("");
}
