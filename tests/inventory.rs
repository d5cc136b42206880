//! `mcp-warden inventory` and `mcp-warden doctor` over a home whose client
//! configs reference secrets in the local store, a real moto (AWS) and a real
//! OpenBao: ages come from backend metadata; doctor names stopped backends and
//! wrong credentials with a fix, and never prints a value.

mod common;

use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use common::{CANARY, Home, service_env, services_env, unique};
use predicates::prelude::*;
use serde_json::Value;

/// A home with one Claude Desktop config whose servers use `refs` (VAR, REF) through `mcp-warden run`.
fn home_with(user: &Path, servers: &[(&str, &str, &str)]) {
    let dir = user.join(".config/Claude");
    std::fs::create_dir_all(&dir).unwrap();
    let mut map = serde_json::Map::new();
    for (name, var, r) in servers {
        map.insert(
            name.to_string(),
            serde_json::json!({
                "command": "mcp-warden",
                "args": ["run", format!("{var}={r}"), "--", "npx", "-y", "pkg@1.0.0"]
            }),
        );
    }
    std::fs::write(
        dir.join("claude_desktop_config.json"),
        serde_json::json!({ "mcpServers": map }).to_string(),
    )
    .unwrap();
}

/// mcp-warden with AWS pointed at `aws_url` only and OpenBao with `bao_token`.
fn warden(home: &Home, aws_url: &str, bao_token: &str) -> Command {
    let mut c = home.cmd();
    services_env(&mut c, home.path(), aws_url, bao_token);
    c
}

fn inventory(c: &mut Command, user: &Path, extra: &[&str]) -> (i32, Value) {
    let out = c
        .args(["inventory", "--format", "json", "--home"])
        .arg(user)
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(CANARY), "a value reached the inventory");
    (
        out.status.code().unwrap(),
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn reference<'a>(inv: &'a Value, server: &str) -> &'a Value {
    let s = inv["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == server)
        .unwrap_or_else(|| panic!("no server {server}: {inv}"));
    &s["references"][0]
}

#[test]
fn inventory_ages_come_from_moto_openbao_and_the_local_store() {
    let moto = service_env("MCP_WARDEN_TEST_MOTO_URL");
    let token = service_env("MCP_WARDEN_TEST_BAO_TOKEN");
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let aws_name = unique("aws");
    let bao_path = format!("secret/{}", unique("bao"));
    // Store through mcp-warden itself: the values exist in the real services.
    for r in [
        format!("aws-sm://{aws_name}"),
        format!("vault://{bao_path}?field=token"),
        "local://inv-local".to_string(),
    ] {
        warden(&home, &moto, &token)
            .args(["secret", "set", &r])
            .write_stdin(CANARY)
            .assert()
            .success();
    }
    home_with(
        user.path(),
        &[
            ("aws", "T", &format!("aws-sm://{aws_name}")),
            ("bao", "T", &format!("vault://{bao_path}#token")),
            ("local", "T", "local://inv-local"),
        ],
    );
    let (code, inv) = inventory(&mut warden(&home, &moto, &token), user.path(), &[]);
    assert_eq!(code, 0);
    let now = std::time::SystemTime::now();
    for server in ["aws", "bao", "local"] {
        let r = reference(&inv, server);
        assert!(r["error"].is_null(), "{server}: {r}");
        let changed = humantime::parse_rfc3339(r["changed"].as_str().unwrap()).unwrap();
        let age = now.duration_since(changed).unwrap_or_default();
        assert!(
            age < Duration::from_secs(600),
            "{server}: changed {changed:?} is not recent"
        );
        assert_eq!(r["age_days"], 0);
        assert_eq!(r["overdue"], false);
    }
    assert_eq!(reference(&inv, "aws")["backend"], "aws-sm");
    assert_eq!(reference(&inv, "bao")["backend"], "vault");
    // A rotation policy of one second makes them all overdue, and --fail-on says so.
    std::thread::sleep(Duration::from_millis(1100));
    let (code, inv) = inventory(
        &mut warden(&home, &moto, &token),
        user.path(),
        &["--rotate-after", "1s", "--fail-on", "overdue"],
    );
    assert_eq!(code, 1);
    for server in ["aws", "bao", "local"] {
        assert_eq!(reference(&inv, server)["overdue"], true, "{server}");
    }
}

#[test]
fn inventory_flags_unpinned_and_plaintext() {
    let home = Home::new();
    let user = tempfile::tempdir().unwrap();
    let dir = user.path().join(".cursor");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mcp.json"),
        r#"{"mcpServers":{"gh":{"command":"npx","args":["-y","@modelcontextprotocol/server-github"],
            "env":{"GITHUB_TOKEN":"ghp_Zq8rT2vYx4Lm9NcB6dWf1HjK3sPa7UeR0iGo"}}}}"#,
    )
    .unwrap();
    let out = home
        .cmd()
        .args(["inventory", "--home"])
        .arg(user.path())
        .args(["--fail-on", "unpinned"])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(text.contains("UNPINNED"), "{text}");
    assert!(text.contains("plaintext-secret"), "{text}");
    assert!(!text.contains("Zq8rT2vYx4Lm9NcB6dWf1HjK3sPa7UeR0iGo"));
    home.cmd()
        .args(["inventory", "--home"])
        .arg(user.path())
        .args(["--fail-on", "plaintext"])
        .assert()
        .code(1);
}

#[test]
fn doctor_names_a_stopped_backend_and_wrong_credentials_with_a_fix() {
    let token = service_env("MCP_WARDEN_TEST_BAO_TOKEN");
    let home = Home::new();
    home.set("doc-local", CANARY.as_bytes());
    let user = tempfile::tempdir().unwrap();
    // A port nothing listens on: the AWS endpoint is "stopped".
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let bao_path = format!("secret/{}", unique("doc"));
    warden(&home, "http://127.0.0.1:1", &token)
        .args(["secret", "set", &format!("vault://{bao_path}?field=v")])
        .write_stdin(CANARY)
        .assert()
        .success();
    home_with(
        user.path(),
        &[
            ("ok", "T", "local://doc-local"),
            ("missing", "T", "local://doc-missing"),
            ("stopped", "T", "aws-sm://doc-stopped"),
            ("denied", "T", &format!("vault://{bao_path}#v")),
        ],
    );
    let out = warden(&home, &format!("http://127.0.0.1:{port}"), "wrong-token")
        .args(["doctor", "--timeout", "5s", "--home"])
        .arg(user.path())
        .timeout(Duration::from_secs(60))
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(CANARY), "doctor printed a value");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(CANARY));
    let line = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle}: {text}"))
    };
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[line("backend local")].starts_with("FAIL"), "{text}");
    let missing = line("local://doc-missing");
    assert!(
        lines[missing].starts_with("FAIL") && lines[missing + 1].contains("secret set"),
        "{text}"
    );
    let stopped = line("aws-sm://doc-stopped");
    assert!(lines[stopped].starts_with("FAIL"), "{text}");
    assert!(lines[stopped + 1].contains("running"), "{text}");
    let denied = line(&format!("vault://{bao_path}"));
    assert!(lines[denied].starts_with("FAIL"), "{text}");
    assert!(lines[denied + 1].contains("credentials"), "{text}");
    // The same home with the right token and no AWS reference is healthy.
    home_with(
        user.path(),
        &[
            ("ok", "T", "local://doc-local"),
            ("bao", "T", &format!("vault://{bao_path}#v")),
        ],
    );
    warden(&home, "http://127.0.0.1:1", &token)
        .args(["doctor", "--home"])
        .arg(user.path())
        .assert()
        .success()
        .stdout(
            predicate::str::contains("backend vault: 1/1")
                .and(predicate::str::contains(CANARY).not()),
        );
}

#[test]
fn inventory_reads_profiles_owner_rotation_and_pin_state() {
    let home = Home::new();
    home.set("inv-prof", CANARY.as_bytes());
    std::fs::write(
        home.path().join("config.toml"),
        r#"
[servers.gh]
command = "sh"
args = ["-c", "true"]
env = { T = "local://inv-prof" }
owner = "platform-team@example.com"
rotate_after = "1s"
"#,
    )
    .unwrap();
    let user = tempfile::tempdir().unwrap();
    let dir = user.path().join(".cursor");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("mcp.json"),
        r#"{"mcpServers":{"github":{"command":"mcp-warden","args":["run","@gh"]}}}"#,
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let mut c = home.cmd();
    let (code, inv) = inventory(&mut c, user.path(), &["--fail-on", "overdue"]);
    assert_eq!(code, 1, "{inv}");
    let servers = inv["servers"].as_array().unwrap();
    for name in ["@gh", "github"] {
        let s = servers
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no {name}: {inv}"));
        assert_eq!(s["owner"], "platform-team@example.com", "{name}");
        assert_eq!(s["references"][0]["reference"], "local://inv-prof");
        assert_eq!(s["references"][0]["overdue"], true, "{name}");
    }
    let profile = servers.iter().find(|s| s["name"] == "@gh").unwrap();
    assert!(
        profile["unpinned"]
            .as_str()
            .unwrap()
            .contains("no pin recorded"),
        "{profile}"
    );
    // Pinned, it reads as pinned.
    home.cmd().args(["pin", "@gh"]).assert().success();
    let (_, inv) = inventory(&mut home.cmd(), user.path(), &[]);
    let profile = inv["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "@gh")
        .unwrap()
        .clone();
    assert!(profile["unpinned"].is_null(), "{profile}");
}
