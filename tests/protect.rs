//! `mcp-warden protect` / `restore`: plaintext secrets in real-shaped client
//! configs (JSON, JSONC, TOML, YAML) move into a backend, entries are
//! rewritten in place, and restore gives back the original bytes.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use common::{Home, bin_path, service_env, services_env};
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

fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dest).unwrap();
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
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

/// Every file under `dir` by relative path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
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
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
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

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
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
    // Cursor has no header helper: reported, file untouched.
    assert!(err.contains("cursor") || err.contains(".cursor"), "{err}");
    assert!(err.contains("not protected"), "{err}");
    let after = snapshot(s.home());
    assert_eq!(
        after[Path::new(".cursor/mcp.json")],
        before[Path::new(".cursor/mcp.json")]
    );
    for (rel, bytes) in &after {
        if rel != Path::new(".cursor/mcp.json") {
            assert_no_token(&rel.display().to_string(), bytes);
            assert_ne!(bytes, &before[rel], "{} was not rewritten", rel.display());
        }
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

    // Claude Code remote: a headersHelper prints the header from the store.
    let cc = json(&s.file(".claude.json"));
    let helper = cc["mcpServers"]["internal-api"]["headersHelper"]
        .as_str()
        .expect("headersHelper written")
        .to_string();
    assert_eq!(
        cc["mcpServers"]["internal-api"]["headers"],
        serde_json::json!({"X-Team": "platform"})
    );
    let out = StdCommand::new("sh")
        .args(["-c", &helper])
        .env("MCP_WARDEN_HOME", s.warden.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let headers: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(headers["Authorization"], format!("Bearer {}", TOKENS[7]));

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
