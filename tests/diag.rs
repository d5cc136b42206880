//! Diagnostics: `-v`/`-vv` and `MCP_WARDEN_LOG` say on stderr what
//! mcp-warden does (backend, reference, timing, files read, the command
//! started) and never print a secret value; the one-time note when a command
//! creates the local store. Real binary, real local store, real configs.

mod common;

use std::path::Path;

use common::output::{stderr, stdout};
use common::{CANARY, Home, unique};

/// A canary value unique to this test run.
fn canary() -> String {
    format!("{CANARY}-{}", unique("diag"))
}

fn assert_absent(what: &str, text: &str, secret: &str) {
    assert!(
        !text.contains(secret),
        "the secret leaked into {what}: {text}"
    );
}

#[test]
fn verbose_run_names_backend_reference_and_timing_never_the_value() {
    let home = Home::new();
    let secret = canary();
    home.set("diag-token", secret.as_bytes());
    // The child proves it received the value (its length), without printing it.
    let o = home
        .cmd()
        .env("MCP_WARDEN_LOG", "trace")
        .args([
            "-vv",
            "run",
            "TOKEN=local://diag-token",
            "--",
            "sh",
            "-c",
            "printf '%s' \"${#TOKEN}\"",
            // an entry not yet protected: a key in the arguments
            "sk-argv-canary-0d41c2",
        ])
        .output()
        .expect("run");
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert_eq!(out, secret.len().to_string(), "stdout belongs to the child");
    for needle in [
        "debug: asking the local backend for 1 reference(s)",
        "info: local://diag-token: fetched by the local backend in ",
        "debug: local store ",
        "info: starting /",
        "with 3 argument(s), as a supervised child",
        "injecting into its environment: TOKEN",
        "info: proxy: starting on the server's stdio: redaction on",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    assert!(
        err.lines().all(|l| l.starts_with("mcp-warden: ")),
        "every line is ours and one line: {err}"
    );
    assert_absent("stderr", &err, &secret);
    assert_absent("stdout", &out, &secret);
    assert_absent("stderr", &err, "sk-argv-canary-0d41c2");
}

#[test]
fn quiet_by_default_and_an_unknown_level_is_one_line_without_its_value() {
    let home = Home::new();
    home.set("diag-quiet", canary().as_bytes());
    let o = home
        .cmd()
        .args(["run", "T=local://diag-quiet", "--", "true"])
        .output()
        .expect("run");
    assert!(o.status.success());
    assert_eq!(stderr(&o), "", "nothing on stderr without -v");

    let o = home
        .cmd()
        .env("MCP_WARDEN_LOG", "loud-7c1e")
        .args(["run", "T=local://diag-quiet", "--", "true"])
        .output()
        .expect("run");
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("MCP_WARDEN_LOG is not one of"), "{err}");
    assert!(!err.contains("loud-7c1e"), "the value is not echoed: {err}");
}

#[test]
fn verbose_before_the_verb_keeps_mcp_secret_wrapper_options_working() {
    let home = Home::new();
    home.set("diag-wrapper", canary().as_bytes());
    let o = home
        .cmd()
        .args([
            "-v",
            "run",
            "--vault-type=local",
            "T=diag-wrapper",
            "--",
            "true",
        ])
        .output()
        .expect("run");
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("info: local://diag-wrapper: fetched by the local backend"),
        "{err}"
    );
    assert!(!err.contains("debug:"), "-v is info only: {err}");
}

/// A Cursor config in `home` with a plaintext GitHub token `token`.
fn plant(home: &Path, token: &str) -> std::path::PathBuf {
    let dir = home.join(".cursor");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let path = dir.join("mcp.json");
    let text = serde_json::json!({"mcpServers": {"gh": {
        "command": "npx",
        "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": token}
    }}});
    std::fs::write(&path, text.to_string()).expect("write");
    path
}

/// A realistic GitHub token no other test uses.
const GH_TOKEN: &str = "ghp_Dg7QmZ2kLw9XcR4tYb1NpV8sHj3FaE6uKo0W";

#[test]
fn verbose_scan_and_protect_name_the_files_read_never_the_token() {
    let home = Home::new();
    let user = tempfile::tempdir().expect("tempdir");
    let config = plant(user.path(), GH_TOKEN);
    let shown = config.display().to_string();

    let scan = home
        .cmd()
        .env("MCP_WARDEN_LOG", "trace")
        .args(["-vv", "scan", "--no-system", "--home"])
        .arg(user.path())
        .output()
        .expect("scan");
    let (out, err) = (stdout(&scan), stderr(&scan));
    assert!(matches!(scan.status.code(), Some(0 | 1)), "{err}");
    assert!(out.contains("GITHUB_PERSONAL_ACCESS_TOKEN"), "{out}");
    assert!(
        err.contains(&format!("debug: found {shown} (cursor)")),
        "{err}"
    );
    assert!(
        err.contains(&format!("info: read {shown} (cursor, ")),
        "{err}"
    );
    for (what, text) in [("scan stdout", &out), ("scan stderr", &err)] {
        assert_absent(what, text, GH_TOKEN);
        assert_absent(what, text, &GH_TOKEN[4..]);
    }

    let protect = home
        .cmd()
        .env("MCP_WARDEN_LOG", "trace")
        .args(["-vv", "protect", "--apply", "--no-system", "--home"])
        .arg(user.path())
        .output()
        .expect("protect");
    let (out, err) = (stdout(&protect), stderr(&protect));
    assert!(protect.status.success(), "{err}");
    assert!(
        err.contains(&format!("info: read {shown} (cursor, ")),
        "{err}"
    );
    assert!(err.contains("debug: local store "), "{err}");
    for (what, text) in [("protect stdout", &out), ("protect stderr", &err)] {
        assert_absent(what, text, GH_TOKEN);
        assert_absent(what, text, &GH_TOKEN[4..]);
    }
    let rewritten = std::fs::read_to_string(&config).expect("read");
    assert!(!rewritten.contains(GH_TOKEN), "{rewritten}");
}

#[test]
fn the_first_store_is_announced_once_on_stderr_only() {
    let home = Home::new();
    let store = home.path().join("store.age");
    let key = home.path().join("store.key");

    // Reading from no store creates nothing and says nothing about one.
    let get = home
        .cmd()
        .args(["secret", "get", "nothing-here"])
        .output()
        .expect("get");
    assert!(!stderr(&get).contains("created the local secret store"));
    assert!(!store.exists());

    let first = home
        .cmd()
        .args(["secret", "set", "first"])
        .write_stdin(canary())
        .output()
        .expect("set");
    let err = stderr(&first);
    assert!(first.status.success(), "{err}");
    assert_eq!(stdout(&first), "", "the note never goes to stdout");
    let note = format!(
        "mcp-warden: created the local secret store {}",
        store.display()
    );
    assert_eq!(err.matches(&note).count(), 1, "{err}");
    assert!(
        err.contains(&format!("key file {}", key.display())),
        "{err}"
    );
    assert!(err.contains("back up"), "{err}");
    assert!(err.contains("loses the key loses the secrets"), "{err}");

    let second = home
        .cmd()
        .args(["secret", "set", "second"])
        .write_stdin(canary())
        .output()
        .expect("set");
    let err = stderr(&second);
    assert!(second.status.success(), "{err}");
    assert!(!err.contains("created the local secret store"), "{err}");
}
