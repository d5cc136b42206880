//! `mcp-warden protect` / `restore`: plaintext secrets in real-shaped client
//! configs (JSON, JSONC, TOML, YAML) move into a backend, entries are
//! rewritten in place, and restore gives back the original bytes.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use common::output::strings;
use common::{CANARY, Home, bin_path, copy_tree, service_env, services_env, snapshot};
use predicates::prelude::*;
use serde_json::Value;

const FIXTURE: &str = "tests/fixtures/protect/home";

/// Every fake token planted in the fixture home (none may ever be printed).
const TOKENS: &[&str] = &[
    "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",
    "ghp_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR",
    "glpat-ojfljoQoaF1LlqsajAIx",
    "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",
    "lin_api_gaKjIg8xNbe3nNyjOq9wMxEhh2FDEEtfjgVvVqE1",
    "xoxb-912304330959-7997565222787-z63FfkCzJr4i0B3JrTAwR4y9",
    "sk-ant-api03-IBXuDL7DxtpYlSXpfKtHF4vUCsMehGAkWvj7FAc9QeWJKY40uvSwMFLZDe1f8rESQedUStPKR0CsTy4Qwb8DwkNhFdnXsAA",
    "SkHbn88HxjSI6bWHtP3fS2qHx6kwXoII",
    "ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP",
    "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",
];

/// A copy of the fixture home, and an mcp-warden home for the store and journal.
struct Setup {
    warden: Home,
    user: tempfile::TempDir,
}

fn setup() -> Setup {
    let user = tempfile::tempdir().unwrap();
    copy_tree(Path::new(FIXTURE), user.path());
    Setup {
        warden: Home::new(),
        user,
    }
}

impl Setup {
    fn home(&self) -> &Path {
        self.user.path()
    }

    fn cmd(&self, verb: &str) -> assert_cmd::Command {
        let mut c = self.warden.cmd();
        c.arg(verb);
        if verb == "protect" {
            c.arg("--home").arg(self.home());
        }
        c
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.home().join(rel)
    }
}

fn assert_no_token(what: &str, text: &[u8]) {
    let text = String::from_utf8_lossy(text);
    for t in TOKENS {
        assert!(!text.contains(t), "{what} holds a plaintext token");
    }
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn dry_run_shows_a_masked_diff_and_changes_nothing() {
    let s = setup();
    let before = snapshot(s.home());
    let out = s.cmd("protect").assert().success().get_output().clone();
    assert_no_token("stdout", &out.stdout);
    assert_no_token("stderr", &out.stderr);
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("+++ "), "no diff: {diff}");
    assert!(diff.contains("local://claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN"));
    assert!(
        diff.contains("[ghp_"),
        "the removed value is shown masked: {diff}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--apply"));
    assert_eq!(snapshot(s.home()), before, "a dry run wrote a file");
    // Nothing stored either.
    s.warden
        .cmd()
        .args(["secret", "ls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("claude-desktop").not());
}

#[test]
fn apply_rewrites_every_format_and_restore_gives_back_the_exact_bytes() {
    let s = setup();
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    std::fs::set_permissions(&desktop, std::fs::Permissions::from_mode(0o640)).unwrap();
    let before = snapshot(s.home());
    let warden = bin_path().canonicalize().unwrap().display().to_string();

    let out = s
        .cmd("protect")
        .arg("--apply")
        .assert()
        .success()
        .get_output()
        .clone();
    assert_no_token("stdout", &out.stdout);
    assert_no_token("stderr", &out.stderr);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("not protected"), "{err}");
    let after = snapshot(s.home());
    for (rel, bytes) in &after {
        assert_no_token(&rel.display().to_string(), bytes);
        assert_ne!(bytes, &before[rel], "{} was not rewritten", rel.display());
    }
    assert_eq!(
        std::fs::metadata(&desktop).unwrap().permissions().mode() & 0o777,
        0o640,
        "the file mode changed"
    );

    // Claude Desktop: env secret -> run assignment; docker -e K=V -> -e K.
    let cfg = json(&desktop);
    let gh = &cfg["mcpServers"]["github"];
    assert_eq!(gh["command"], warden.as_str());
    let args = strings(&gh["args"]);
    assert_eq!(
        args,
        [
            "run",
            "GITHUB_PERSONAL_ACCESS_TOKEN=local://claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN",
            "--",
            "npx",
            "-y",
            "@modelcontextprotocol/server-github@2025.4.8"
        ]
    );
    assert_eq!(
        gh["env"],
        serde_json::json!({"GITHUB_TOOLSETS": "repos,issues"})
    );
    let gl = strings(&cfg["mcpServers"]["gitlab"]["args"]);
    assert!(
        gl.contains(&"GITLAB_PERSONAL_ACCESS_TOKEN".to_string()),
        "{gl:?}"
    );
    assert!(
        gl[1].starts_with("GITLAB_PERSONAL_ACCESS_TOKEN=local://"),
        "{gl:?}"
    );
    // Untouched entry stays as it was.
    assert_eq!(
        cfg["mcpServers"]["filesystem"]["command"], "npx",
        "an entry without secrets changed"
    );
    // The values are in the store.
    s.warden
        .cmd()
        .args([
            "secret",
            "get",
            "claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN",
        ])
        .assert()
        .success()
        .stdout(TOKENS[0]);

    // Codex: an argument secret goes back in at launch through --expand-args.
    let codex = std::fs::read_to_string(s.file(".codex/config.toml")).unwrap();
    assert!(codex.contains("\"--expand-args\""), "{codex}");
    assert!(codex.contains("--api-key=%{API_KEY}"), "{codex}");
    assert!(
        codex.contains("# Codex CLI configuration"),
        "a comment was lost"
    );

    // Remote servers (Claude Code, Cursor): the entry starts `mcp-warden connect`.
    let cc = json(&s.file(".claude.json"));
    let api = &cc["mcpServers"]["internal-api"];
    assert_eq!(api["type"], "stdio");
    assert_eq!(api["command"], warden.as_str());
    assert_eq!(
        strings(&api["args"]),
        [
            "connect",
            "https://mcp.internal.example.com/mcp",
            "AUTHORIZATION=local://claude-code/internal-api/AUTHORIZATION",
            "--header=Authorization: Bearer %{AUTHORIZATION}",
            "--header=X-Team: platform"
        ]
    );
    assert!(
        api.get("url").is_none() && api.get("headers").is_none(),
        "{api}"
    );
    let cursor = json(&s.file(".cursor/mcp.json"));
    assert_eq!(
        strings(&cursor["mcpServers"]["remote"]["args"])[0],
        "connect"
    );
    s.warden
        .cmd()
        .args(["secret", "get", "claude-code/internal-api/AUTHORIZATION"])
        .assert()
        .success()
        .stdout(TOKENS[7]);

    // The journal that makes restore possible holds no plaintext.
    let journal = s.warden.path().join("journal");
    let records: Vec<_> = std::fs::read_dir(&journal).unwrap().flatten().collect();
    assert!(!records.is_empty(), "no journal records");
    for r in records {
        assert_no_token("journal record", &std::fs::read(r.path()).unwrap());
        assert_eq!(
            std::fs::metadata(r.path()).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // A second run changes nothing.
    s.cmd("protect").arg("--apply").assert().success();
    assert_eq!(snapshot(s.home()), after, "protect is not idempotent");

    // Dry-run restore shows a masked diff and writes nothing.
    let out = s.cmd("restore").assert().success().get_output().clone();
    assert_no_token("restore stdout", &out.stdout);
    assert_no_token("restore stderr", &out.stderr);
    assert_eq!(snapshot(s.home()), after);

    s.cmd("restore").arg("--apply").assert().success();
    let restored = snapshot(s.home());
    for (rel, bytes) in &before {
        assert!(
            restored[rel] == *bytes,
            "{} is not byte-identical after restore",
            rel.display()
        );
    }
    assert_eq!(
        std::fs::metadata(&desktop).unwrap().permissions().mode() & 0o777,
        0o640
    );
    // The journal is spent.
    s.cmd("restore")
        .arg("--apply")
        .assert()
        .success()
        .stderr(predicate::str::contains("nothing to restore"));
}

#[test]
fn an_existing_different_value_is_never_overwritten() {
    let s = setup();
    s.warden.set(
        "claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN",
        b"someone-elses-value",
    );
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    let before = std::fs::read(&desktop).unwrap();
    let out = s
        .cmd("protect")
        .arg("--apply")
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_no_token("stderr", &out.stderr);
    assert!(String::from_utf8_lossy(&out.stderr).contains("different value"));
    assert_eq!(
        std::fs::read(&desktop).unwrap(),
        before,
        "file changed despite the conflict"
    );
    s.warden
        .cmd()
        .args([
            "secret",
            "get",
            "claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN",
        ])
        .assert()
        .stdout("someone-elses-value");
}

/// Every reference a rewritten config holds must resolve: no config may point at a missing secret.
fn assert_refs_resolve(s: &Setup, text: &str) {
    for (i, _) in text.match_indices("local://") {
        let rest = &text[i..];
        let end = rest.find(['"', '\'', ' ', ',']).unwrap_or(rest.len());
        let r = &rest[..end];
        s.warden.cmd().args(["secret", "get", r]).assert().success();
    }
}

#[test]
fn sigkill_at_random_instants_never_leaves_a_half_written_file_or_a_dangling_reference() {
    let s = setup();
    let before = snapshot(s.home());
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    // Bounded: 25 kills, each after at most 60 ms.
    for _ in 0..25 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let delay = Duration::from_micros(seed % 60_000);
        let mut child = StdCommand::new(bin_path())
            .args(["protect", "--apply", "--home"])
            .arg(s.home())
            .env("MCP_WARDEN_HOME", s.warden.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        for (rel, bytes) in snapshot(s.home()) {
            if rel.to_string_lossy().ends_with(".tmp") {
                continue; // an orphaned temp file next to the config is harmless
            }
            let text = String::from_utf8_lossy(&bytes).into_owned();
            if bytes != before[&rel] {
                assert_no_token(&rel.display().to_string(), &bytes);
            }
            assert_refs_resolve(&s, &text);
        }
    }
    // Finishing the job and undoing it still gives the original bytes.
    s.cmd("protect").arg("--apply").assert().success();
    s.cmd("restore").arg("--apply").assert().success();
    let after = snapshot(s.home());
    for (rel, bytes) in &before {
        assert!(
            after[rel] == *bytes,
            "{} differs after kill/protect/restore",
            rel.display()
        );
    }
}

#[test]
fn a_protected_entry_starts_and_answers_a_real_mcp_exchange() {
    let node = service_env("MCP_WARDEN_TEST_NODE");
    let everything = service_env("MCP_WARDEN_TEST_EVERYTHING");
    let s = setup();
    let token = "ghp_Zq8rT2vYx4Lm9NcB6dWf1HjK3sPa7UeR0iGo";
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    let cfg = serde_json::json!({"mcpServers": {"everything": {
        "command": node, "args": [everything, "stdio"],
        "env": {"GITHUB_TOKEN": token}
    }}});
    std::fs::write(&desktop, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
    s.cmd("protect").arg("--apply").assert().success();
    let entry = json(&desktop)["mcpServers"]["everything"].clone();
    assert!(!entry.to_string().contains(token));
    let mut argv = vec![entry["command"].as_str().unwrap().to_string()];
    argv.extend(strings(&entry["args"]));

    let out = StdCommand::new(service_env("MCP_WARDEN_TEST_PYTHON"))
        .arg(service_env("MCP_WARDEN_TEST_MCP_SESSION"))
        .args(["--call", r#"{"name":"get-env","arguments":{}}"#, "--"])
        .args(&argv)
        .env("MCP_WARDEN_HOME", s.warden.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["ok"], true);
    assert!(
        v["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "get-env")
    );
    // The server had the value (the proxy replaced it on the way out), and the client never saw it.
    assert!(!text.contains(token), "the token reached the client");
    assert!(
        text.contains("[REDACTED:GITHUB_TOKEN]"),
        "the server did not get the secret: {text}"
    );
}

#[test]
fn protect_into_moto_and_openbao_and_restore() {
    let moto = service_env("MCP_WARDEN_TEST_MOTO_URL");
    let token = service_env("MCP_WARDEN_TEST_BAO_TOKEN");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    for to in [
        format!("aws-sm://mw-protect-{stamp}/"),
        format!("vault://secret/mw-protect-{stamp}/"),
    ] {
        let s = setup();
        let before = snapshot(s.home());
        let with_services = |verb: &str| {
            let mut c = s.cmd(verb);
            services_env(&mut c, s.warden.path(), &moto, &token);
            c
        };
        let out = with_services("protect")
            .args(["--apply", "--to", &to])
            .assert()
            .success()
            .get_output()
            .clone();
        assert_no_token("stderr", &out.stderr);
        let desktop = json(&s.file(".config/Claude/claude_desktop_config.json"));
        let args = strings(&desktop["mcpServers"]["github"]["args"]);
        let assignment = &args[1];
        let reference = assignment.split_once('=').unwrap().1.to_string();
        assert!(reference.starts_with(to.as_str()), "{reference}");
        // The value is in the real service, under the reference the config holds.
        let mut get = s.warden.cmd();
        services_env(&mut get, s.warden.path(), &moto, &token);
        get.args(["secret", "get", &reference])
            .assert()
            .success()
            .stdout(TOKENS[0]);
        for (rel, bytes) in snapshot(s.home()) {
            if rel != Path::new(".cursor/mcp.json") {
                assert_no_token(&rel.display().to_string(), &bytes);
            }
        }
        // Exposed until the backend shows a new version under the reference.
        let exposed = || {
            let mut c = s.warden.cmd();
            services_env(&mut c, s.warden.path(), &moto, &token);
            let out = c
                .args(["inventory", "--format", "json", "--home"])
                .arg(s.home())
                .output()
                .unwrap();
            let inv: Value = serde_json::from_slice(&out.stdout).unwrap();
            exposed_since(&inv, "GITHUB_PERSONAL_ACCESS_TOKEN")
        };
        assert!(exposed().is_string(), "{to}: not flagged exposed");
        let write_ref = match reference.strip_suffix("#value") {
            Some(base) => format!("{base}?field=value"),
            None => reference.clone(),
        };
        let set = |value: &str| {
            let mut c = s.warden.cmd();
            services_env(&mut c, s.warden.path(), &moto, &token);
            c.args(["secret", "set", &write_ref])
                .write_stdin(value.to_string())
                .assert()
                .success();
        };
        set(&TOKENS[0].replace("ghp_u8", "ghp_r0"));
        assert!(exposed().is_null(), "{to}: still flagged after rotation");
        // (Back to the old value, so restore can be checked byte for byte.)
        set(TOKENS[0]);
        with_services("restore").arg("--apply").assert().success();
        assert!(
            snapshot(s.home()) == before,
            "{to}: restore is not byte-identical"
        );
    }
}

#[test]
fn convert_wrappers_rewrites_mcp_secret_wrapper_entries_and_restores_them() {
    let s = setup();
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    let original = r#"{
  "mcpServers": {
    "githubApi": {
      "command": "npx",
      "args": ["-y", "@astrixsecurity/mcp-secret-wrapper",
               "GITHUB_PERSONAL_ACCESS_TOKEN=arn:aws:secretsmanager:us-east-1:123456789012:secret:example-ABCDE",
               "--", "docker", "run", "-i", "--rm", "-e", "GITHUB_PERSONAL_ACCESS_TOKEN", "ghcr.io/github/github-mcp-server"],
      "env": { "VAULT_TYPE": "aws", "VAULT_PROFILE": "aws-profile", "VAULT_REGION": "us-east-1" }
    }
  }
}
"#;
    std::fs::write(&desktop, original).unwrap();
    // Without the flag, a wrapped entry is left alone.
    s.cmd("protect").arg("--apply").assert().success();
    assert_eq!(std::fs::read_to_string(&desktop).unwrap(), original);
    s.cmd("protect")
        .args(["--apply", "--convert-wrappers", "--warden", "mcp-warden"])
        .assert()
        .success();
    let cfg = json(&desktop);
    let entry = &cfg["mcpServers"]["githubApi"];
    assert_eq!(entry["command"], "mcp-warden");
    assert_eq!(
        strings(&entry["args"]),
        [
            "run",
            "--vault-type=aws",
            "--vault-region=us-east-1",
            "--vault-profile=aws-profile",
            "GITHUB_PERSONAL_ACCESS_TOKEN=arn:aws:secretsmanager:us-east-1:123456789012:secret:example-ABCDE",
            "--",
            "docker",
            "run",
            "-i",
            "--rm",
            "-e",
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "ghcr.io/github/github-mcp-server"
        ]
    );
    assert_eq!(entry["env"], serde_json::json!({}));
    // mcp-warden reads the converted line the same way run does: scan calls it vault-wrapped.
    s.warden
        .cmd()
        .args(["scan", "--format", "json"])
        .arg(&desktop)
        .assert()
        .success()
        .stdout(predicate::str::contains("\"vault-wrapped\""));
    s.cmd("restore").arg("--apply").assert().success();
    assert_eq!(std::fs::read_to_string(&desktop).unwrap(), original);
}

/// Review findings: what protect must not do to neighbours, skipped secrets and existing templates.
#[test]
fn neighbours_skipped_secrets_and_existing_templates_are_respected() {
    let s = setup();
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    let a = "ghp_zymMlopiWfqUyHRSIf8NFmAUNLnY5Yx0y3Rn";
    let b = "ghp_jDQl2Kvf8THRXfEuzcrJaBnx7IfDH5mMDdwi";
    let c = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let d = "ghp_zm5YdOnCqIz0Wiw8SE7diV3TMXVjM8Ahghjs";
    std::fs::write(
        &desktop,
        format!(
            r#"{{
  "mcpServers": {{
    "a": {{ "command": "npx", "args": ["-y", "a@1.0.0"], "env": {{ "A_TOKEN": "{a}" }} }},
    "b": {{ "command": "npx", "args": ["-y", "b@1.0.0"], "env": {{ "B_TOKEN": "{b}" }} }},
    "c": {{ "command": "mcp-warden", "args": ["run", "--expand-args", "A=local://x", "--", "srv", "--a=%{{A}}", "--token={c}"] }},
    "d": {{ "command": "docker", "args": ["run", "-i", "--rm", "img:1", "tool", "-e", "K={d}"] }}
  }}
}}
"#
        ),
    )
    .unwrap();
    // A dry run for one server never shows a neighbour's secret.
    let out = s
        .cmd("protect")
        .args(["--server", "a"])
        .assert()
        .success()
        .get_output()
        .clone();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    for t in [a, b, c, d] {
        assert!(!text.contains(t), "the diff printed a secret: {text}");
    }
    s.cmd("protect")
        .args(["--apply", "--warden", "mcp-warden"])
        .assert()
        .success();
    let cfg = json(&desktop);
    // An existing template stays a template; the new secret becomes one.
    let c_args = strings(&cfg["mcpServers"]["c"]["args"]);
    assert!(c_args.contains(&"--a=%{A}".to_string()), "{c_args:?}");
    assert!(
        c_args.iter().any(|x| x.starts_with("--token=%{")),
        "{c_args:?}"
    );
    // `-e` after the image belongs to the container's command: templated, not turned into `-e K`.
    let d_args = strings(&cfg["mcpServers"]["d"]["args"]);
    assert!(!d_args.contains(&"K".to_string()), "{d_args:?}");
    assert!(d_args.iter().any(|x| x.starts_with("K=%{")), "{d_args:?}");

    // Claude Code remote entry: a header it can move, an env secret it cannot.
    let claude = s.file(".claude.json");
    let e = "ghp_llAj7n4JuXFZo2qh20xlReGsaL1dvnyzv0Zz";
    let h = "ysCW9f4CA96qeGs6R3uYEIi75qB4sA9Q0NksyRRM";
    std::fs::write(
        &claude,
        format!(
            r#"{{"mcpServers": {{"r": {{"type": "http", "url": "https://mcp.example.com/mcp",
  "env": {{"GH_TOKEN": "{e}"}}, "headers": {{"Authorization": "Bearer {h}"}}}}}}}}"#
        ),
    )
    .unwrap();
    let before = std::fs::read(&claude).unwrap();
    let out = s
        .cmd("protect")
        .arg("--apply")
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("protect it by hand"));
    assert_eq!(
        std::fs::read(&claude).unwrap(),
        before,
        "the entry was rewritten"
    );
    for r in std::fs::read_dir(s.warden.path().join("journal"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(r.path()).unwrap();
        assert!(
            !text.contains(e) && !text.contains(h),
            "the journal holds plaintext"
        );
    }
}

#[test]
fn a_toml_entry_interleaved_with_another_table_is_left_alone() {
    let s = setup();
    let codex = s.file(".codex/config.toml");
    let x = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let y = "ghp_yA0xIfl4c7xU2zXCot2PoPUtg3SUunWZTRTp";
    let text = format!(
        "[mcp_servers.x]\ncommand = \"npx\"\nargs = [\"-y\", \"x@1.0.0\"]\n\n\
         [mcp_servers.y]\ncommand = \"npx\"\nargs = [\"-y\", \"y@1.0.0\"]\n\n[mcp_servers.y.env]\nOTHER_TOKEN = \"{y}\"\n\n\
         [mcp_servers.x.env]\nGITHUB_TOKEN = \"{x}\"\n"
    );
    std::fs::write(&codex, &text).unwrap();
    let out = s
        .cmd("protect")
        .args(["--apply", "--server", "x"])
        .assert()
        .get_output()
        .clone();
    assert_no_token("stdout", &out.stdout);
    assert_no_token("stderr", &out.stderr);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(y));
    assert_eq!(
        std::fs::read_to_string(&codex).unwrap(),
        text,
        "the file was rewritten"
    );
    if let Ok(dir) = std::fs::read_dir(s.warden.path().join("journal")) {
        for r in dir.flatten() {
            let j = std::fs::read_to_string(r.path()).unwrap();
            assert!(
                !j.contains(y) && !j.contains(x),
                "the journal holds plaintext"
            );
        }
    }
}

// ---- Per entry, bridges, files, rotation and masking (issue #12) ----------

/// An mcp-warden home and an empty user home: only the files a test writes.
fn bare() -> Setup {
    Setup {
        warden: Home::new(),
        user: tempfile::tempdir().unwrap(),
    }
}

fn put(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// What one run printed, checked for every given secret (and the canary).
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Setup {
    fn run(&self, verb: &str, args: &[&str], secrets: &[&str]) -> Run {
        let out = self.cmd(verb).args(args).output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        for s in secrets.iter().chain([&CANARY]) {
            assert!(
                !run.stdout.contains(s) && !run.stderr.contains(s),
                "{verb} {args:?} printed a secret:\n{}\n{}",
                run.stdout,
                run.stderr
            );
        }
        run
    }

    /// No journal record holds any of `secrets` (or the canary).
    fn assert_clean_journal(&self, secrets: &[&str]) {
        let Ok(dir) = std::fs::read_dir(self.warden.path().join("journal")) else {
            return;
        };
        for r in dir.flatten() {
            let text = std::fs::read_to_string(r.path()).unwrap();
            for s in secrets.iter().chain([&CANARY]) {
                assert!(!text.contains(s), "the journal holds plaintext");
            }
        }
    }
}

#[test]
fn an_entry_that_cannot_be_protected_leaves_the_others_protected() {
    let s = bare();
    let claude = s.file(".claude.json");
    let e = "ghp_llAj7n4JuXFZo2qh20xlReGsaL1dvnyzv0Zz";
    let h = "ysCW9f4CA96qeGs6R3uYEIi75qB4sA9Q0NksyRRM";
    let g = "ghp_zymMlopiWfqUyHRSIf8NFmAUNLnY5Yx0y3Rn";
    let x = "ghp_jDQl2Kvf8THRXfEuzcrJaBnx7IfDH5mMDdwi";
    let remote = format!(
        r#""remote": {{"type": "http", "url": "https://mcp.example.com/mcp",
      "env": {{"GH_TOKEN": "{e}"}}, "headers": {{"Authorization": "Bearer {h}"}}}}"#
    );
    // The same kind of token, written with a JSON escape: no exact restore possible.
    let escaped = format!(
        r#""esc": {{"command": "npx", "args": ["-y", "e@1.0.0"], "env": {{"GITHUB_TOKEN": "\u0067{}"}}}}"#,
        &x[1..]
    );
    let original = format!(
        "{{\"mcpServers\": {{\n    {remote},\n    {escaped},\n    \
         \"gh\": {{\"command\": \"npx\", \"args\": [\"-y\", \"gh@1.0.0\"], \"env\": {{\"GITHUB_TOKEN\": \"{g}\"}}}},\n    \
         \"api\": {{\"command\": \"npx\", \"args\": [\"-y\", \"api@1.0.0\"], \"env\": {{\"API_KEY\": \"{CANARY}\"}}}}\n}}}}\n"
    );
    put(&claude, &original);
    // An entry the editor must refuse (a YAML anchor on its command) next to one it can rewrite.
    let goose = s.file(".config/goose/config.yaml");
    let y = "ghp_yA0xIfl4c7xU2zXCot2PoPUtg3SUunWZTRTp";
    let anchored = format!(
        "  a:\n    cmd: &c npx\n    args: [\"-y\", \"a@1.0.0\"]\n    envs:\n      GITHUB_TOKEN: {x}\n"
    );
    let yaml = format!(
        "extensions:\n{anchored}  b:\n    cmd: npx\n    args: [\"-y\", \"b@1.0.0\"]\n    envs:\n      GITHUB_TOKEN: {y}\n"
    );
    put(&goose, &yaml);
    let secrets = [e, h, g, x, y];
    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("remote: entry: not protected") && run.stderr.contains("by hand"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("esc: entry: not protected") && run.stderr.contains("escape sequences"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("protected 3 secret(s) in 2 file(s); 4 not protectable"),
        "{}",
        run.stderr
    );
    let now = std::fs::read_to_string(&claude).unwrap();
    // The entries that could not be protected are byte-identical; the others hold no plaintext.
    assert!(now.contains(&remote) && now.contains(&escaped), "{now}");
    assert!(!now.contains(g) && !now.contains(CANARY), "{now}");
    let cfg: Value = serde_json::from_str(&now).unwrap();
    for name in ["gh", "api"] {
        let args = strings(&cfg["mcpServers"][name]["args"]);
        assert_eq!(args[0], "run", "{name}: {args:?}");
    }
    assert!(
        run.stderr
            .contains("a: entry: not protected: the entry cannot be rewritten safely"),
        "{}",
        run.stderr
    );
    let now = std::fs::read_to_string(&goose).unwrap();
    assert!(now.contains(&anchored) && !now.contains(y), "{now}");
    s.assert_clean_journal(&secrets);
    s.run("restore", &["--apply"], &secrets);
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), original);
    assert_eq!(std::fs::read_to_string(&goose).unwrap(), yaml);
}

/// A directory of header bridges played by tests/py/bridge_probe.py.
fn bridges(s: &Setup) -> PathBuf {
    let python = service_env("MCP_WARDEN_TEST_PYTHON");
    let probe = Path::new("tests/py/bridge_probe.py")
        .canonicalize()
        .unwrap();
    let bin = s.user.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["mcp-remote", "supergateway", "mcp-proxy"] {
        let p = bin.join(name);
        std::fs::write(
            &p,
            format!(
                "#!/bin/sh\nexec '{python}' '{}' {name} \"$@\"\n",
                probe.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

/// Starts a config entry (command + args) the way its client would and
/// returns what the bridge received: its argv and the headers it would send.
fn start_entry(s: &Setup, entry: &Value) -> Value {
    let mut argv = vec![entry["command"].as_str().unwrap().to_string()];
    argv.extend(strings(&entry["args"]));
    let out = s.warden.path().join("bridge.json");
    let _ = std::fs::remove_file(&out);
    let status = StdCommand::new(&argv[0])
        .args(&argv[1..])
        .env("MCP_WARDEN_HOME", s.warden.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .env("MW_BRIDGE_OUT", &out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "{argv:?} failed");
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

/// Bridges with an option protect does not read keep the bridge and go
/// through `run` (fully understood ones become `connect` entries:
/// tests/protect_remote.rs).
#[test]
fn bridge_header_secrets_reach_the_bridge_and_restore_is_exact() {
    let s = bare();
    let bin = bridges(&s);
    let b = |name: &str| bin.join(name).display().to_string();
    let url = "https://mcp.example.com/sse";
    let t = [
        "8MscddlOTKuixu8ZnNSymucyK4KzR0kkdX9z",
        "oY188W1DhQK6hmzsNDIGRxtvDTVaJoUTTsob",
        "BvYqZpLoPOcrTpr3nwgWH3NmtJoWVHJ1kJK3",
        "KlLQP9kVHjFnZclxiIq71yloNSgCDVk05qCc",
        "Gi7e1QwUEOG9dkcPGDd8oRFRfiezVCPXjuW4",
    ];
    // Claude Desktop passes `${VAR}` through: mcp-remote expands it from its environment.
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    put(
        &desktop,
        &serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {
            "remote": {"command": b("mcp-remote"), "args": [url, "--header", format!("Authorization: Bearer {}", t[0]), "--auth-timeout", "30"]}
        }}))
        .unwrap(),
    );
    // Claude Code expands `${VAR}` in args itself: these go through run --expand-args.
    let claude = s.file(".claude.json");
    put(
        &claude,
        &serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {
            "remote": {"command": b("mcp-remote"), "args": [url, "--header", format!("Authorization: Bearer {}", t[1]), "--auth-timeout", "30"]},
            "gateway": {"command": b("supergateway"), "args": ["--sse", url, "--oauth2Bearer", t[2], "--baseUrl", "http://localhost:8000"]},
            "proxy": {"command": b("mcp-proxy"), "args": ["--headers", "Authorization", format!("Bearer {}", t[3]), "--stateless", url]}
        }}))
        .unwrap(),
    );
    // mcp-remote's own recommended form: the header from an env variable.
    let cursor = s.file(".cursor/mcp.json");
    put(
        &cursor,
        &serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {
            "remote": {"command": b("mcp-remote"), "args": [url, "--header", "Authorization:${AUTH_HEADER}"],
                       "env": {"AUTH_HEADER": format!("Bearer {}", t[4])}}
        }}))
        .unwrap(),
    );
    let before = snapshot(s.home());
    let run = s.run("protect", &["--apply"], &t);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("protected 5 secret(s) in 3 file(s); 0 not protectable"),
        "{}",
        run.stderr
    );
    for (rel, bytes) in snapshot(s.home()) {
        if rel.starts_with("bin") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        for x in t {
            assert!(!text.contains(x), "{} still holds a token", rel.display());
        }
    }

    let entry = |file: &Path, name: &str| json(file)["mcpServers"][name].clone();
    // Env form: the value is in mcp-remote's environment, never in an argv.
    let d = entry(&desktop, "remote");
    let args = strings(&d["args"]);
    assert!(!args.contains(&"--expand-args".to_string()), "{args:?}");
    assert!(
        args.contains(&"Authorization: Bearer ${AUTHORIZATION}".to_string()),
        "{args:?}"
    );
    let got = start_entry(&s, &d);
    assert_eq!(got["headers"]["Authorization"], format!("Bearer {}", t[0]));
    assert!(
        !got["argv"].to_string().contains(t[0]),
        "the value reached an argv"
    );
    let got = start_entry(&s, &entry(&cursor, "remote"));
    assert_eq!(got["headers"]["Authorization"], format!("Bearer {}", t[4]));
    assert!(!got["argv"].to_string().contains(t[4]));
    // Template form: the value is placed into the bridge's argv at launch (documented).
    for (name, i) in [("remote", 1), ("gateway", 2), ("proxy", 3)] {
        let e = entry(&claude, name);
        let args = strings(&e["args"]);
        assert!(
            args.contains(&"--expand-args".to_string()),
            "{name}: {args:?}"
        );
        assert!(args.iter().any(|a| a.contains("%{")), "{name}: {args:?}");
        let got = start_entry(&s, &e);
        assert_eq!(
            got["headers"]["Authorization"],
            format!("Bearer {}", t[i]),
            "{name}"
        );
    }
    // scan sees no plaintext left (a %{VAR} or ${VAR} is a reference).
    s.warden
        .cmd()
        .args(["scan", "--fail-on", "low", "--home"])
        .arg(s.home())
        .assert()
        .success();

    s.assert_clean_journal(&t);
    s.run("restore", &["--apply"], &t);
    assert!(
        snapshot(s.home()) == before,
        "restore is not byte-identical"
    );
}

#[test]
fn a_file_with_a_duplicated_key_is_skipped_whole_and_protect_exits_1() {
    let s = bare();
    let g1 = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let g2 = "ghp_zm5YdOnCqIz0Wiw8SE7diV3TMXVjM8Ahghjs";
    let h1 = "ysCW9f4CA96qeGs6R3uYEIi75qB4sA9Q0NksyRRM";
    let ok = "ghp_yA0xIfl4c7xU2zXCot2PoPUtg3SUunWZTRTp";
    let cursor = s.file(".cursor/mcp.json");
    let twice = format!(
        r#"{{"mcpServers": {{
  "gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g1}"}}}},
  "gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g2}"}}}}
}}}}
"#
    );
    put(&cursor, &twice);
    let claude = s.file(".claude.json");
    let headers = format!(
        r#"{{"mcpServers": {{"api": {{"type": "http", "url": "https://mcp.example.com/mcp",
  "headers": {{"Authorization": "Bearer {h1}", "Authorization": "Bearer {CANARY}"}}}}}}}}
"#
    );
    put(&claude, &headers);
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    put(
        &desktop,
        &format!(
            r#"{{"mcpServers": {{"gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{ok}"}}}}}}}}"#
        ),
    );
    let secrets = [g1, g2, h1, ok];
    let dry = s.run("protect", &[], &secrets);
    assert_eq!(dry.code, 1, "{}", dry.stderr);
    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("skipped whole, nothing written").count(),
        2,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("two servers are named \"gh\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("\"Authorization\" is given twice"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(
            "protected 1 secret(s) in 1 file(s); 0 not protectable; 2 file(s) skipped whole"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), twice);
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), headers);
    assert!(!std::fs::read_to_string(&desktop).unwrap().contains(ok));
}

#[test]
fn a_hard_linked_config_is_refused_and_both_names_keep_their_text() {
    let s = bare();
    let g = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let cursor = s.file(".cursor/mcp.json");
    let text = format!(
        r#"{{"mcpServers": {{"gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g}", "API_KEY": "{CANARY}"}}}}}}}}"#
    );
    put(&cursor, &text);
    let other = s.user.path().join("backup-mcp.json");
    std::fs::hard_link(&cursor, &other).unwrap();
    let run = s.run("protect", &["--apply"], &[g]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("2 hard links"), "{}", run.stderr);
    assert!(
        run.stderr.contains("1 file(s) skipped whole"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(&cursor).unwrap(), text);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), text);
    // Nothing was stored for a file that was not rewritten.
    s.warden
        .cmd()
        .args(["secret", "ls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cursor").not());
    // With the other link gone, the same file is protected.
    std::fs::remove_file(&other).unwrap();
    assert_eq!(s.run("protect", &["--apply"], &[g]).code, 0);
    assert!(!std::fs::read_to_string(&cursor).unwrap().contains(g));
}

#[test]
fn a_symlinked_config_stays_a_link_and_its_target_is_rewritten_and_restored() {
    let s = bare();
    let g = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let real = s.user.path().join("dotfiles/cursor-mcp.json");
    let text = format!(
        r#"{{"mcpServers": {{"gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g}"}}}}}}}}"#
    );
    put(&real, &text);
    let cursor = s.file(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &cursor).unwrap();
    let is_link = |p: &Path| {
        std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink()
    };
    assert_eq!(s.run("protect", &["--apply"], &[g]).code, 0);
    assert!(is_link(&cursor), "the link was replaced by a file");
    assert_eq!(std::fs::read_link(&cursor).unwrap(), real);
    let now = std::fs::read_to_string(&real).unwrap();
    assert!(
        !now.contains(g) && now.contains("local://cursor/gh/GITHUB_TOKEN"),
        "{now}"
    );
    assert_eq!(s.run("restore", &["--apply"], &[g]).code, 0);
    assert!(is_link(&cursor));
    assert_eq!(std::fs::read_to_string(&real).unwrap(), text);
}

#[test]
fn restore_gives_back_the_mode_the_file_had_never_a_looser_one() {
    let s = bare();
    let g = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    let text = format!(
        r#"{{"mcpServers": {{"gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g}"}}}}}}}}"#
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let chmod =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    // A client rewrote the protected file 0644: the plaintext goes back 0600.
    put(&desktop, &text);
    chmod(&desktop, 0o600);
    assert_eq!(s.run("protect", &["--apply"], &[g]).code, 0);
    chmod(&desktop, 0o644);
    assert_eq!(s.run("restore", &["--apply"], &[g]).code, 0);
    assert_eq!(std::fs::read_to_string(&desktop).unwrap(), text);
    assert_eq!(mode(&desktop), 0o600);
    // Tightened since protect: restore does not loosen it again.
    chmod(&desktop, 0o640);
    assert_eq!(s.run("protect", &["--apply"], &[g]).code, 0);
    chmod(&desktop, 0o600);
    assert_eq!(s.run("restore", &["--apply"], &[g]).code, 0);
    assert_eq!(mode(&desktop), 0o600);
}

#[test]
fn a_world_writable_config_or_directory_is_warned_about() {
    let s = bare();
    let g = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let cursor = s.file(".cursor/mcp.json");
    put(
        &cursor,
        &format!(
            r#"{{"mcpServers": {{"gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g}"}}}}}}}}"#
        ),
    );
    let chmod =
        |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    let dir = cursor.parent().unwrap().to_path_buf();
    let warnings = |r: &Run| r.stderr.lines().filter(|l| l.contains("warning:")).count();
    chmod(&cursor, 0o644);
    assert_eq!(warnings(&s.run("protect", &[], &[g])), 0);
    chmod(&cursor, 0o666);
    let r = s.run("protect", &[], &[g]);
    assert_eq!(warnings(&r), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("writable by every user (mode 0666)"),
        "{}",
        r.stderr
    );
    chmod(&dir, 0o777);
    let r = s.run("protect", &[], &[g]);
    assert_eq!(warnings(&r), 2, "{}", r.stderr);
    assert!(r.stderr.contains("without the sticky bit"), "{}", r.stderr);
    chmod(&dir, 0o1777);
    chmod(&cursor, 0o600);
    assert_eq!(warnings(&s.run("protect", &[], &[g])), 0);
    chmod(&dir, 0o755);
}

fn inventory_json(s: &Setup, extra: &[&str]) -> (i32, Value) {
    let out = s
        .warden
        .cmd()
        .args(["inventory", "--format", "json", "--home"])
        .arg(s.home())
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains(CANARY), "a value reached the inventory");
    (
        out.status.code().unwrap(),
        serde_json::from_str(&text).unwrap(),
    )
}

fn exposed_since(inv: &Value, var: &str) -> Value {
    inv["servers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["references"].as_array().unwrap().iter())
        .find(|r| r["var"] == var)
        .unwrap_or_else(|| panic!("no reference {var}: {inv}"))["exposed_since"]
        .clone()
}

#[test]
fn protect_says_to_rotate_and_inventory_flags_exposed_secrets_until_rotated() {
    let s = bare();
    let g = "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH";
    let desktop = s.file(".config/Claude/claude_desktop_config.json");
    put(
        &desktop,
        &format!(
            r#"{{"mcpServers": {{"gh": {{"command": "npx", "args": ["-y", "gh@1.0.0"], "env": {{"GITHUB_TOKEN": "{g}", "API_KEY": "{CANARY}"}}}}}}}}"#
        ),
    );
    let run = s.run("protect", &["--apply"], &[g]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("rotate the 2 secret(s) just moved"),
        "{}",
        run.stderr
    );
    for r in [
        "local://claude-desktop/gh/GITHUB_TOKEN",
        "local://claude-desktop/gh/API_KEY",
    ] {
        assert!(
            run.stderr.contains(&format!("mcp-warden:   {r}\n")),
            "{}",
            run.stderr
        );
    }
    // A dry run moves nothing and says nothing about rotation.
    assert!(!s.run("protect", &[], &[g]).stderr.contains("rotate"));

    let table = s
        .warden
        .cmd()
        .args(["inventory", "--home"])
        .arg(s.home())
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert_eq!(table.matches("EXPOSED: rotate").count(), 2, "{table}");
    assert!(table.contains("2 exposed"), "{table}");
    let (_, inv) = inventory_json(&s, &[]);
    assert!(exposed_since(&inv, "GITHUB_TOKEN").is_string(), "{inv}");
    assert!(exposed_since(&inv, "API_KEY").is_string(), "{inv}");
    assert_eq!(inventory_json(&s, &["--fail-on", "exposed"]).0, 1);

    // Rotated (a newer value stored under the reference): no longer flagged.
    // The local store keeps whole seconds: wait for the next one.
    std::thread::sleep(Duration::from_millis(1100));
    s.warden.set(
        "claude-desktop/gh/GITHUB_TOKEN",
        b"ghp_rotatedRotatedRotatedRotated0000000",
    );
    let (_, inv) = inventory_json(&s, &[]);
    assert!(exposed_since(&inv, "GITHUB_TOKEN").is_null(), "{inv}");
    assert!(exposed_since(&inv, "API_KEY").is_string(), "{inv}");
    s.warden.set(
        "claude-desktop/gh/API_KEY",
        b"new-api-key-value-0123456789abcdef",
    );
    assert_eq!(inventory_json(&s, &["--fail-on", "exposed"]).0, 0);
}

#[test]
fn escaped_spellings_never_reach_a_protect_or_restore_diff() {
    let s = bare();
    let moved = [
        "ghp_n86TkVYCM7l8GQlchbkER0Af7BOfjtNayviH",
        "ghp_zm5YdOnCqIz0Wiw8SE7diV3TMXVjM8Ahghjs",
        "ghp_yA0xIfl4c7xU2zXCot2PoPUtg3SUunWZTRTp",
    ];
    // Each neighbour's token written with escapes: decoded, it is this text.
    let hidden = [
        "ghp_jDQl2Kvf8THRXfEuzcrJaBnx7IfDH5mMDdwi",
        "ghp_zymMlopiWfqUyHRSIf8NFmAUNLnY5Yx0y3Rn",
        "ghp_llAj7n4JuXFZo2qh20xlReGsaL1dvnyzv0Zz",
    ];
    let slashed = "Zk3pQ9vX/2mLr8TfWq4HnB7aK1sD4fG6hJ8a";
    let spelled = [
        format!(r"\u0067{}", &hidden[0][1..]),
        format!(r"\u0067{}", &hidden[1][1..]),
        format!(r"\x67{}", &hidden[2][1..]),
        slashed.replace('/', r"\/"),
    ];
    put(
        &s.file(".config/Claude/claude_desktop_config.json"),
        &format!(
            "{{\"mcpServers\": {{\n  \"a\": {{\"command\": \"npx\", \"args\": [\"-y\", \"a@1.0.0\"], \"env\": {{\"GITHUB_TOKEN\": \"{}\"}}}},\n  \
             \"b\": {{\"command\": \"npx\", \"args\": [\"-y\", \"b@1.0.0\"], \"env\": {{\"GITHUB_TOKEN\": \"{}\"}}}},\n  \
             \"c\": {{\"command\": \"npx\", \"args\": [\"-y\", \"c@1.0.0\"], \"env\": {{\"OTHER_API_KEY\": \"{}\"}}}}\n}}}}\n",
            moved[0], spelled[0], spelled[3]
        ),
    );
    put(
        &s.file(".codex/config.toml"),
        &format!(
            "[mcp_servers.b]\ncommand = \"npx\"\nargs = [\"-y\", \"b@1.0.0\"]\nenv = {{ GITHUB_TOKEN = \"{}\" }}\n\
             [mcp_servers.a]\ncommand = \"npx\"\nargs = [\"-y\", \"a@1.0.0\"]\nenv = {{ GITHUB_TOKEN = \"{}\" }}\n",
            spelled[1], moved[1]
        ),
    );
    put(
        &s.file(".config/goose/config.yaml"),
        &format!(
            "extensions:\n  b:\n    type: stdio\n    name: b\n    cmd: npx\n    args: [\"-y\", \"b@1.0.0\"]\n    envs:\n      GITHUB_TOKEN: \"{}\"\n  \
             a:\n    cmd: npx\n    args: [\"-y\", \"a@1.0.0\"]\n    envs:\n      GITHUB_TOKEN: {}\n    type: stdio\n    name: a\n",
            spelled[2], moved[2]
        ),
    );
    let mut secrets: Vec<&str> = moved.iter().chain(hidden.iter()).copied().collect();
    secrets.extend(spelled.iter().map(String::as_str));
    secrets.push(slashed);
    let dry = s.run("protect", &[], &secrets);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    for f in ["claude_desktop_config.json", "config.toml", "config.yaml"] {
        assert!(dry.stdout.contains(f), "no diff for {f}: {}", dry.stdout);
    }
    // The neighbours are in the diffs' context, masked.
    assert!(dry.stdout.contains("\"b\""), "{}", dry.stdout);
    assert!(
        dry.stdout.matches("[ghp_… (40 chars)]").count() >= 6,
        "{}",
        dry.stdout
    );
    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    s.assert_clean_journal(&secrets);
    let restore = s.run("restore", &[], &secrets);
    assert!(restore.stdout.contains("+++"), "{}", restore.stdout);
}

/// The `{project}` label the docs promise: the folder's name, then the first
/// 8 hex digits of the SHA-256 of its whole path.
fn label(root: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(root.as_bytes());
    let hex: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let name = root.rsplit('/').next().unwrap();
    format!("{name}-{hex}")
}

/// The reference `run` is given for `var` in the entry at `pointer` of a JSON config.
fn assigned(path: &Path, pointer: &str, var: &str) -> String {
    let args = strings(&json(path).pointer(pointer).unwrap()["args"]);
    let prefix = format!("{var}=");
    args.iter()
        .find_map(|a| a.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {var}= in {args:?}"))
        .to_string()
}

#[test]
fn two_projects_with_the_same_server_get_their_own_names_and_both_restore() {
    let s = bare();
    let user = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
    let local = "ghp_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR";
    let one = "ghp_C3J27XDCG2LmlZGEONYlgCtjfIZ4SOcMz9CP";
    let two = "ghp_llAj7n4JuXFZo2qh20xlReGsaL1dvnyzv0Zz";
    let secrets = [user, local, one, two];
    let entry = |token: &str| {
        format!(
            r#"{{"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"], "env": {{"GITHUB_PERSONAL_ACCESS_TOKEN": "{token}"}}}}"#
        )
    };
    // Claude Code remembers two projects, both folders named `api`; the first
    // also has a local entry of the same name in ~/.claude.json.
    put(
        &s.file(".claude.json"),
        &format!(
            r#"{{"mcpServers": {{"github": {}}},
  "projects": {{
    "/home/alice/src/api": {{"mcpServers": {{"github": {}}}}},
    "/home/alice/work/api": {{"mcpServers": {{}}}}
  }}}}"#,
            entry(user),
            entry(local)
        ),
    );
    for (dir, token) in [("src/api", one), ("work/api", two)] {
        put(
            &s.file(&format!("{dir}/.mcp.json")),
            &format!(r#"{{"mcpServers": {{"github": {}}}}}"#, entry(token)),
        );
    }
    let before = snapshot(s.home());

    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("rotate the 4 secret(s) just moved"),
        "{}",
        run.stderr
    );
    let var = "GITHUB_PERSONAL_ACCESS_TOKEN";
    let claude = s.file(".claude.json");
    let got = [
        assigned(&claude, "/mcpServers/github", var),
        assigned(
            &claude,
            "/projects/~1home~1alice~1src~1api/mcpServers/github",
            var,
        ),
        assigned(&s.file("src/api/.mcp.json"), "/mcpServers/github", var),
        assigned(&s.file("work/api/.mcp.json"), "/mcpServers/github", var),
    ];
    let root = |dir: &str| s.home().join(dir).display().to_string();
    let want = [
        // User level: the name it always had.
        format!("local://claude-code/github/{var}"),
        format!(
            "local://claude-code/{}/github/{var}",
            label("/home/alice/src/api")
        ),
        format!(
            "local://claude-code/{}/github/{var}",
            label(&root("src/api"))
        ),
        format!(
            "local://claude-code/{}/github/{var}",
            label(&root("work/api"))
        ),
    ];
    assert_eq!(got, want);
    // Each name holds its own entry's value.
    for (r, token) in got.iter().zip(secrets) {
        let out = s.warden.cmd().args(["secret", "get", r]).output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), token, "{r}");
    }
    // Running it again changes nothing.
    let again = s.run("protect", &["--apply"], &secrets);
    assert_eq!(again.code, 0, "{}", again.stderr);
    s.assert_clean_journal(&secrets);

    let run = s.run("restore", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(snapshot(s.home()), before);
}
