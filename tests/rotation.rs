//! Rotation enforced, not only reported: `rotation = "report" | "warn" |
//! "enforce"` in profiles (an overdue static secret warns, or refuses the
//! run with 77 before the server starts), and `mcp-warden rotate REF` on the
//! local store, Vault (OpenBao) and AWS Secrets Manager (moto): a new value
//! stored, read back, and the servers that use it listed.
//!
//! Every output is checked for the canary values: neither the old nor the
//! new value may reach stdout or stderr. `scripts/test` starts moto and
//! OpenBao and exports their addresses.

#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use common::env::{moto_env, strip_env};
use common::output::{stderr, stdout};
use common::{CANARY, Home, service_env, unique};

/// The new value `rotate` stores; never printed either.
const NEW: &str = "canary-new-7d1b2e90-do-not-leak";

/// An isolated home, and a working directory that is its own repository root
/// holding a client config (`.mcp.json`) and the file a server writes to.
struct World {
    home: Home,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
        World {
            home: Home::new(),
            dir,
        }
    }

    fn cwd(&self) -> &Path {
        self.dir.path()
    }

    fn out(&self) -> PathBuf {
        self.cwd().join("seen")
    }

    fn config(&self, text: &str) {
        std::fs::write(self.home.path().join("config.toml"), text).expect("write config");
    }

    fn cmd(&self) -> Command {
        let mut c = self.home.cmd();
        c.current_dir(self.cwd())
            .env_remove("MCP_WARDEN_CONFIG")
            .env("OUT", self.out());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run mcp-warden")
    }

    /// `rotate REF` with `value` on stdin, reading the configs of this world only.
    fn rotate(&self, c: Option<Command>, target: &str, value: &str) -> Output {
        let mut c = c.unwrap_or_else(|| self.cmd());
        c.args(["rotate", target])
            .arg(self.cwd())
            .write_stdin(value.to_string())
            .output()
            .expect("run mcp-warden rotate")
    }
}

/// The exit code expected, and no value (old or new) on any output.
fn check(o: &Output, code: i32) -> (String, String) {
    let (out, err) = (stdout(o), stderr(o));
    assert_eq!(o.status.code(), Some(code), "stdout: {out}\nstderr: {err}");
    for v in [CANARY, NEW] {
        assert!(
            !out.contains(v) && !err.contains(v),
            "value leaked: {out} {err}"
        );
    }
    (out, err)
}

/// A profile whose server writes `$K` to `$OUT`, `K` from `reference`.
fn profile(reference: &str, rotation: &str, rotate_after: &str) -> String {
    format!(
        r#"[servers.app]
command = "sh"
args = ["-c", "printf %s \"$K\" > \"$OUT\""]
env = {{ K = "{reference}" }}
pin = "off"
rotate_after = "{rotate_after}"
rotation = "{rotation}"
"#
    )
}

/// Long enough for a secret stored now to be over `rotate_after = "1s"`.
fn age_past_one_second() {
    std::thread::sleep(Duration::from_millis(1_200));
}

#[test]
fn enforce_refuses_an_old_secret_warn_starts_with_one_line_report_says_nothing() {
    let w = World::new();
    w.home.set("tok", CANARY.as_bytes());
    age_past_one_second();

    w.config(&profile("local://tok", "enforce", "1s"));
    let (_, err) = check(&w.run(&["run", "@app"]), 77);
    assert!(
        err.contains("K = local://tok was last changed")
            && err.contains("rotate it with `mcp-warden rotate local://tok`")
            && err.contains("rotation = \"enforce\"")
            && err.lines().count() == 1,
        "{err}"
    );
    assert!(!w.out().exists(), "the server started");

    // The project file may only narrow: it cannot lower enforce.
    std::fs::write(
        w.cwd().join(".mcp-warden.toml"),
        "[defaults]\nrotation = \"warn\"\n",
    )
    .unwrap();
    let (_, err) = check(&w.run(&["run", "@app"]), 78);
    assert!(
        err.contains("lowers rotation from \"enforce\" to \"warn\""),
        "{err}"
    );
    std::fs::remove_file(w.cwd().join(".mcp-warden.toml")).unwrap();

    // The explicit override starts it, recorded like the other --insecure-* flags.
    let (_, err) = check(&w.run(&["run", "@app", "--insecure-no-rotation"]), 0);
    assert!(err.contains("--insecure-no-rotation weakens"), "{err}");
    assert_eq!(std::fs::read_to_string(w.out()).unwrap(), CANARY);
    std::fs::remove_file(w.out()).unwrap();

    w.config(&profile("local://tok", "warn", "1s"));
    let (_, err) = check(&w.run(&["run", "@app"]), 0);
    let warned: Vec<&str> = err.lines().filter(|l| l.contains("last changed")).collect();
    assert!(warned.len() == 1 && warned[0].contains("warning:"), "{err}");
    assert_eq!(std::fs::read_to_string(w.out()).unwrap(), CANARY);

    w.config(&profile("local://tok", "report", "1s"));
    let (_, err) = check(&w.run(&["run", "@app"]), 0);
    assert!(!err.contains("last changed"), "{err}");

    // Within its limit, enforce starts it.
    w.config(&profile("local://tok", "enforce", "1h"));
    check(&w.run(&["run", "@app"]), 0);
}

#[test]
fn defaults_are_a_floor_for_rotation_and_bad_values_are_located() {
    let w = World::new();
    w.config(&format!(
        "[defaults]\nrotation = \"enforce\"\n\n{}",
        profile("local://tok", "warn", "1s")
    ));
    let (_, err) = check(&w.run(&["run", "@app"]), 78);
    assert!(err.contains("weaker than [defaults]"), "{err}");
    w.config(&profile("local://tok", "always", "1s"));
    let (_, err) = check(&w.run(&["run", "@app"]), 78);
    assert!(
        err.contains("config.toml:7:1") && err.contains("\"report\", \"warn\" or \"enforce\""),
        "{err}"
    );
}

/// A client config of this world whose entry runs `mcp-warden run K=REF`.
fn client_entry(w: &World, reference: &str) {
    let entry = serde_json::json!({
        "mcpServers": {
            "wrapped": {
                "command": "mcp-warden",
                "args": ["run", format!("K={reference}"), "--", "server"],
            }
        }
    });
    std::fs::write(w.cwd().join(".mcp.json"), entry.to_string()).expect("write .mcp.json");
}

#[test]
fn rotate_on_the_local_store_reads_back_and_lists_its_users() {
    let w = World::new();
    w.home.set("tok", CANARY.as_bytes());
    w.config(&profile("local://tok", "enforce", "1s"));
    client_entry(&w, "local://tok");
    age_past_one_second();
    check(&w.run(&["run", "@app"]), 77);
    let o = w.run(&["secret", "ls", "--json"]);
    let line: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let before = line["updated"].as_str().map(str::to_string);

    let (out, err) = check(&w.rotate(None, "tok", &format!("{NEW}\n")), 0);
    assert!(err.contains("rotated local://tok"), "{err}");
    assert!(
        out.contains("used by 2 server(s)") && out.contains("@app") && out.contains("wrapped"),
        "{out}"
    );
    let o = w.run(&["secret", "get", "tok"]);
    assert_eq!(stdout(&o), NEW);
    // Rotated: its change time moved, and enforce starts it with the new value.
    let changed = |w: &World| {
        let o = w.run(&["secret", "ls", "--json"]);
        let line: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
        line["updated"].as_str().map(str::to_string)
    };
    assert_ne!(changed(&w), before, "the change time did not move");
    w.config(&profile("local://tok", "enforce", "1m"));
    check(&w.run(&["run", "@app"]), 0);
    assert_eq!(std::fs::read_to_string(w.out()).unwrap(), NEW);

    // Nobody uses another secret; an empty value and a provider rotation are refused.
    w.home.set("other", CANARY.as_bytes());
    let (out, _) = check(&w.rotate(None, "other", NEW), 0);
    assert!(out.contains("no profile or client entry found"), "{out}");
    check(&w.rotate(None, "other", ""), 64);
    let (_, err) = check(&w.run(&["rotate", "--provider", "other", "--no-users"]), 78);
    assert!(err.contains("does not support rotating"), "{err}");
}

// --- Vault (OpenBao) -----------------------------------------------------------

fn bao(args: &[&str]) {
    let out = std::process::Command::new(service_env("MCP_WARDEN_TEST_BAO"))
        .args(args)
        .env("BAO_ADDR", service_env("MCP_WARDEN_TEST_BAO_ADDR"))
        .env("BAO_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"))
        .env("HOME", std::env::temp_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run bao");
    assert!(
        out.status.success(),
        "bao {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn vault(w: &World) -> Command {
    let mut c = w.cmd();
    strip_env(&mut c, &["VAULT_", "BAO_", "MCP_WARDEN_VAULT_"]);
    c.env("VAULT_ADDR", service_env("MCP_WARDEN_TEST_BAO_ADDR"))
        .env("VAULT_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"));
    c
}

#[test]
fn rotate_on_vault_writes_a_new_version_of_the_field_and_enforce_sees_its_age() {
    let w = World::new();
    let m = unique("rot");
    bao(&[
        "secrets",
        "enable",
        &format!("-path={m}"),
        "-version=2",
        "kv",
    ]);
    let r = format!("vault://{m}/app#token");
    bao(&[
        "kv",
        "put",
        &format!("-mount={m}"),
        "app",
        &format!("token={CANARY}"),
    ]);
    w.config(&profile(&r, "enforce", "1s"));
    client_entry(&w, &r);
    age_past_one_second();
    let (_, err) = check(&vault(&w).args(["run", "@app"]).output().unwrap(), 77);
    assert!(
        err.contains(&format!("vault://{m}/app was last changed")),
        "{err}"
    );

    let (out, err) = check(&w.rotate(Some(vault(&w)), &r, NEW), 0);
    assert!(err.contains(&format!("rotated {r}")), "{err}");
    assert!(out.contains("@app") && out.contains("wrapped"), "{out}");
    let o = vault(&w).args(["secret", "get", &r]).output().unwrap();
    assert_eq!(stdout(&o), NEW);
    w.config(&profile(&r, "enforce", "1m"));
    check(&vault(&w).args(["run", "@app"]).output().unwrap(), 0);
    assert_eq!(std::fs::read_to_string(w.out()).unwrap(), NEW);
}

// --- AWS Secrets Manager (moto) --------------------------------------------------

fn aws(w: &World) -> Command {
    let mut c = w.cmd();
    moto_env(&mut c, w.cwd(), &service_env("MCP_WARDEN_TEST_MOTO_URL"));
    c
}

#[test]
fn rotate_on_aws_puts_a_new_version_and_provider_rotation_needs_a_lambda() {
    let w = World::new();
    let r = format!("aws-sm://{}", unique("rot"));
    let o = aws(&w)
        .args(["secret", "set", &r])
        .write_stdin(CANARY)
        .output()
        .unwrap();
    check(&o, 0);
    w.config(&profile(&r, "enforce", "1s"));
    age_past_one_second();
    let (_, err) = check(&aws(&w).args(["run", "@app"]).output().unwrap(), 77);
    assert!(err.contains(&format!("{r} was last changed")), "{err}");

    let (out, err) = check(&w.rotate(Some(aws(&w)), &r, NEW), 0);
    assert!(err.contains(&format!("rotated {r}")), "{err}");
    assert!(out.contains("@app"), "{out}");
    let o = aws(&w).args(["secret", "get", &r]).output().unwrap();
    assert_eq!(stdout(&o), NEW);
    w.config(&profile(&r, "enforce", "1m"));
    check(&aws(&w).args(["run", "@app"]).output().unwrap(), 0);
    assert_eq!(std::fs::read_to_string(w.out()).unwrap(), NEW);

    // No rotation Lambda configured: refused before RotateSecret, saying what to do.
    let o = aws(&w)
        .args(["rotate", "--provider", "--no-users", &r])
        .output()
        .unwrap();
    let (_, err) = check(&o, 78);
    assert!(err.contains("no rotation configured"), "{err}");
    let o = aws(&w).args(["secret", "get", &r]).output().unwrap();
    assert_eq!(
        stdout(&o),
        NEW,
        "a refused provider rotation changed the value"
    );
}
