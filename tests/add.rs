//! `mcp-warden add`: a new server written into a client's config already
//! protected. The written entry is started with the real MCP server (the
//! value must arrive), other entries and comments stay, modes stay, restore
//! takes the entry out byte for byte, and the value never appears anywhere
//! but the encrypted store.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};

use common::output::{stderr, stdout};
use common::{CANARY, Home, service_env, snapshot, unique};
use serde_json::Value;

/// A fake user home and an mcp-warden home (store and journal).
struct Setup {
    warden: Home,
    user: tempfile::TempDir,
}

fn setup() -> Setup {
    Setup {
        warden: Home::new(),
        user: tempfile::tempdir().unwrap(),
    }
}

impl Setup {
    fn home(&self) -> &Path {
        self.user.path()
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.home().join(rel)
    }

    /// `mcp-warden add --home HOME ARGS`, `stdin` piped in.
    fn add(&self, args: &[&str], stdin: &str) -> Output {
        self.warden
            .cmd()
            .arg("add")
            .arg("--home")
            .arg(self.home())
            .args(args)
            .write_stdin(stdin.to_string())
            .output()
            .unwrap()
    }

    fn warden(&self, args: &[&str]) -> Output {
        self.warden.cmd().args(args).output().unwrap()
    }

    /// No file under either home holds `value` (the store is encrypted).
    fn nowhere(&self, value: &str) {
        for dir in [self.home(), self.warden.path()] {
            for (rel, bytes) in snapshot(dir) {
                assert!(
                    !String::from_utf8_lossy(&bytes).contains(value),
                    "{} holds the value",
                    rel.display()
                );
            }
        }
    }
}

fn put(path: &Path, text: &str, mode: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `command` + `args` of entry `name`, from JSON (`//` comment lines
/// dropped) or TOML.
fn entry_argv(path: &Path, container: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let v: Value = if path.extension().is_some_and(|e| e == "toml") {
        let doc: toml_edit::DocumentMut = text.parse().unwrap();
        let t = &doc[container][name];
        let mut argv = vec![t["command"].as_str().unwrap().to_string()];
        let args = t["args"].as_array().unwrap();
        argv.extend(args.iter().map(|a| a.as_str().unwrap().to_string()));
        return argv;
    } else {
        let plain: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        serde_json::from_str(&plain).unwrap()
    };
    let mut e = &v;
    for k in container.split('.') {
        e = &e[k];
    }
    let e = &e[name];
    let mut argv = vec![e["command"].as_str().unwrap().to_string()];
    argv.extend(
        e["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string()),
    );
    argv
}

/// Starts `argv` as a client would, with the real MCP client, calls the
/// everything server's `get-env`, and returns the session's JSON output.
fn session(s: &Setup, argv: &[String]) -> String {
    let out = StdCommand::new(service_env("MCP_WARDEN_TEST_PYTHON"))
        .arg(service_env("MCP_WARDEN_TEST_MCP_SESSION"))
        .args(["--call", r#"{"name":"get-env","arguments":{}}"#, "--"])
        .args(argv)
        .env("MCP_WARDEN_HOME", s.warden.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// One client's file as it was before `add`: a comment and another entry.
struct Client {
    id: &'static str,
    file: &'static str,
    /// Where entries live (dotted, for the reader above).
    container: &'static str,
    before: &'static str,
    /// A line of `before` that must survive unchanged.
    kept: &'static str,
}

const CLIENTS: &[Client] = &[
    Client {
        id: "claude-desktop",
        file: ".config/Claude/claude_desktop_config.json",
        container: "mcpServers",
        before: "{\n  // keep me\n  \"mcpServers\": {\n    \"other\": {\"command\": \"x\", \"args\": [\"1\"]}\n  },\n  \"theme\": \"dark\"\n}\n",
        kept: "    \"other\": {\"command\": \"x\", \"args\": [\"1\"]}",
    },
    Client {
        id: "cursor",
        file: ".cursor/mcp.json",
        container: "mcpServers",
        before: "{\n    // four spaces here\n    \"mcpServers\": {\n        \"other\": {\"command\": \"x\"}\n    }\n}\n",
        kept: "        \"other\": {\"command\": \"x\"}",
    },
    Client {
        id: "vscode",
        file: ".config/Code/User/mcp.json",
        container: "servers",
        before: "{\n\t// tabs\n\t\"inputs\": [],\n\t\"servers\": {\n\t\t\"other\": {\"type\": \"stdio\", \"command\": \"x\"}\n\t}\n}\n",
        kept: "\t\t\"other\": {\"type\": \"stdio\", \"command\": \"x\"}",
    },
    Client {
        id: "codex",
        file: ".codex/config.toml",
        container: "mcp_servers",
        before: "# keep me\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\" # why\n",
        kept: "command = \"x\" # why",
    },
];

#[test]
fn an_added_entry_starts_with_its_secret_and_restore_takes_it_out() {
    let node = service_env("MCP_WARDEN_TEST_NODE");
    let everything = service_env("MCP_WARDEN_TEST_EVERYTHING");
    for c in CLIENTS {
        let s = setup();
        let path = s.file(c.file);
        put(&path, c.before, 0o640);
        let value = format!("{CANARY}-{}", unique(c.id));
        let out = s.add(
            &[
                "--client",
                c.id,
                "everything",
                "--secret",
                "GITHUB_TOKEN",
                "--apply",
                "--",
                &node,
                &everything,
                "stdio",
            ],
            &format!("{value}\n"),
        );
        assert!(out.status.success(), "{}: {}", c.id, stderr(&out));
        assert!(!stdout(&out).contains(&value) && !stderr(&out).contains(CANARY));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(c.kept), "{}: {text}", c.id);
        assert!(text.starts_with(c.before.lines().next().unwrap()), "{text}");
        assert_eq!(mode(&path), 0o640, "{}: mode kept", c.id);
        let reference = format!("local://{}/everything/GITHUB_TOKEN", c.id);
        let argv = entry_argv(&path, c.container, "everything");
        assert_eq!(
            argv[1..4],
            ["run", &format!("GITHUB_TOKEN={reference}"), "--"],
            "{}",
            c.id
        );
        assert_eq!(argv[4..], [node.as_str(), everything.as_str(), "stdio"]);
        let got = s.warden(&["secret", "get", &reference]);
        assert_eq!(stdout(&got), value, "{}: the store holds the value", c.id);
        // The server receives the value (the proxy redacts it on the way back).
        let text = session(&s, &argv);
        assert!(
            !text.contains(&value),
            "{}: the value reached the client",
            c.id
        );
        assert!(text.contains("[REDACTED:GITHUB_TOKEN]"), "{}: {text}", c.id);
        s.nowhere(&value);

        let out = s.warden(&["restore", "--apply"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("everything: removed"), "{err}");
        assert!(
            err.contains(&format!("{reference}: left in its backend")),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            c.before,
            "{}",
            c.id
        );
        assert_eq!(mode(&path), 0o640);
    }
}

#[test]
fn a_new_file_is_created_private_and_a_project_file_in_the_project() {
    let s = setup();
    let out = s.add(
        &[
            "--client",
            "claude-code",
            "--scope",
            "project",
            "--project-dir",
        ],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(64),
        "a missing NAME is a usage error"
    );
    let project = s.home().join("src/app");
    std::fs::create_dir_all(&project).unwrap();
    let out = s.add(
        &[
            "--client",
            "claude-code",
            "--scope",
            "project",
            "--project-dir",
            project.to_str().unwrap(),
            "db",
            "--secret",
            "PGPASSWORD=local://shared/pg",
            "--",
            "pg-mcp",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !project.join(".mcp.json").exists(),
        "a dry run writes nothing"
    );
    s.warden.set("shared/pg", b"pw");
    let mut args = vec![
        "--client",
        "claude-code",
        "--scope",
        "project",
        "--project-dir",
        project.to_str().unwrap(),
        "db",
        "--secret",
        "PGPASSWORD=local://shared/pg",
        "--apply",
        "--",
        "pg-mcp",
    ];
    let out = s.add(&args, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let path = project.join(".mcp.json");
    assert_eq!(mode(&path), 0o600);
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["mcpServers"]["db"]["type"], "stdio");
    assert_eq!(
        entry_argv(&path, "mcpServers", "db")[1..],
        ["run", "PGPASSWORD=local://shared/pg", "--", "pg-mcp"]
    );
    // Codex's file does not exist yet either: the TOML table is the whole file.
    args = vec![
        "--client",
        "codex",
        "n",
        "--secret",
        "K=local://shared/pg",
        "--apply",
        "--",
        "srv",
    ];
    let out = s.add(&args, "");
    assert!(out.status.success(), "{}", stderr(&out));
    let codex = s.file(".codex/config.toml");
    let text = std::fs::read_to_string(&codex).unwrap();
    assert!(text.starts_with("[mcp_servers.n]\ncommand = "), "{text}");
    assert_eq!(mode(&codex), 0o600);
}

#[test]
fn an_existing_entry_is_refused_without_replace_and_replaced_with_it() {
    let s = setup();
    let path = s.file(".cursor/mcp.json");
    let before = "{\"mcpServers\": {\"gh\": {\"command\": \"old\"}}}\n";
    put(&path, before, 0o600);
    let value = format!("{CANARY}-{}", unique("exists"));
    let args = [
        "--client", "cursor", "gh", "--secret", "T", "--apply", "--", "new",
    ];
    let out = s.add(&args, &value);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("already there"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    // Nothing was stored either: the refusal comes before any value is read.
    let got = s.warden(&["secret", "get", "local://cursor/gh/T"]);
    assert_eq!(got.status.code(), Some(78));

    let mut replace = args.to_vec();
    replace.insert(3, "--replace");
    let out = s.add(&replace, &value);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(entry_argv(&path, "mcpServers", "gh")[4..], ["new"]);
    s.nowhere(&value);
    let out = s.warden(&["restore", "--apply"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        v["mcpServers"]["gh"]["command"], "old",
        "the old entry is back"
    );

    // An entry holding a plaintext secret is not replaced (the journal would keep it).
    let leaky = "{\"mcpServers\": {\"gh\": {\"command\": \"x\", \"env\": {\"GITHUB_TOKEN\": \"ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d\"}}}}\n";
    put(&path, leaky, 0o600);
    let out = s.add(&replace, &value);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(!stderr(&out).contains("ghp_"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), leaky);
}

#[test]
fn a_dry_run_shows_the_entry_and_changes_nothing() {
    let s = setup();
    let path = s.file(".cursor/mcp.json");
    // a neighbour still holding a plaintext key: shown as context, masked
    let neighbour = "ghp_N8bq2ZrT5vLx0WcJ7yHd4KsP1mQe6AuF3gRi";
    put(
        &path,
        &format!(
            "{{\n  \"mcpServers\": {{\n    \"old\": {{\n      \"command\": \"x\",\n      \"env\": {{ \"GITHUB_TOKEN\": \"{neighbour}\" }}\n    }}\n  }}\n}}\n"
        ),
        0o644,
    );
    let before = (snapshot(s.home()), snapshot(s.warden.path()));
    let value = format!("{CANARY}-{}", unique("dry"));
    let out = s.add(
        &["--client", "cursor", "gh", "--secret", "T", "--", "srv"],
        &value,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let diff = stdout(&out);
    assert!(diff.contains("+    \"gh\": {"), "{diff}");
    assert!(diff.contains("\"T=local://cursor/gh/T\""), "{diff}");
    assert!(
        stderr(&out).contains("run again with --apply"),
        "{}",
        stderr(&out)
    );
    assert!(!diff.contains(CANARY) && !stderr(&out).contains(CANARY));
    assert!(
        !diff.contains(neighbour) && !stderr(&out).contains(neighbour),
        "another entry's plaintext key must be masked in the diff: {diff}"
    );
    assert_eq!((snapshot(s.home()), snapshot(s.warden.path())), before);
}

#[test]
fn values_never_go_on_the_command_line() {
    let s = setup();
    let path = s.file(".cursor/mcp.json");
    put(&path, "{}\n", 0o600);
    for bad in [
        format!("T={CANARY}"),
        "T=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d".to_string(),
        format!("T=nope://{CANARY}"),
        format!("T={CANARY}://x"),
        CANARY.to_string(),
    ] {
        let out = s.add(
            &["--client", "cursor", "gh", "--secret", &bad, "--", "srv"],
            "",
        );
        assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
        assert!(!stderr(&out).contains(CANARY) && !stderr(&out).contains("ghp_"));
        assert_eq!(stdout(&out), "");
    }
    // a value mistaken for a file name, dry run and --apply
    for apply in [false, true] {
        let mut args = vec!["--client", "cursor", "gh", "--from-file"];
        let bad = format!("T={CANARY}");
        args.push(&bad);
        if apply {
            args.push("--apply");
        }
        args.extend(["--", "srv"]);
        let out = s.add(&args, "");
        assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
        assert!(!stderr(&out).contains(CANARY), "{}", stderr(&out));
    }
    // a literal token in a header or the URL of a remote server
    for (url, header) in [
        (
            "https://api.example.com/mcp",
            "Authorization: Bearer sk-live-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        ),
        (
            "https://api.example.com/mcp?api_key=Zk3pQ9vX2mLr8TfWq4Hn7Bc2Ty5U",
            "X-Team: blue",
        ),
    ] {
        let out = s.add(
            &[
                "--client", "cursor", "api", "--url", url, "-H", header, "--apply",
            ],
            "",
        );
        assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("looks like a plaintext secret (not shown)")
                && !stderr(&out).contains("9f8e7d6c5b4a")
                && !stderr(&out).contains("Zk3pQ9vX2mLr8"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    // A reference that does not resolve stops --apply before the file is touched.
    let out = s.add(
        &[
            "--client",
            "cursor",
            "gh",
            "--secret",
            "T=local://missing",
            "--apply",
            "--",
            "srv",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}\n");
    assert!(!s.warden.path().join("journal").exists());
}

#[test]
fn a_remote_server_goes_through_connect() {
    let s = setup();
    let path = s.file(".config/Code/User/mcp.json");
    let value = format!("{CANARY}-{}", unique("remote"));
    let out = s.add(
        &[
            "--client",
            "vscode",
            "api",
            "--url",
            "https://mcp.example.com/mcp",
            "-H",
            "Authorization: Bearer %{TOKEN}",
            "--secret",
            "TOKEN",
            "--apply",
        ],
        &value,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(v["servers"]["api"]["type"], "stdio");
    assert_eq!(
        entry_argv(&path, "servers", "api")[1..],
        [
            "connect",
            "https://mcp.example.com/mcp",
            "TOKEN=local://vscode/api/TOKEN",
            "--header=Authorization: Bearer %{TOKEN}"
        ]
    );
    assert_eq!(
        stdout(&s.warden(&["secret", "get", "local://vscode/api/TOKEN"])),
        value
    );
    s.nowhere(&value);
    // connect's own rules are checked before anything is written.
    let out = s.add(
        &[
            "--client",
            "cursor",
            "api",
            "--url",
            "http://mcp.example.com/mcp",
            "-H",
            "X-Key: %{K}",
            "--secret",
            "K",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(64), "{}", stderr(&out));
    assert!(stderr(&out).contains("plain http"), "{}", stderr(&out));
}

#[test]
fn a_profile_is_declared_pinned_and_run_by_name() {
    let node = service_env("MCP_WARDEN_TEST_NODE");
    let everything = service_env("MCP_WARDEN_TEST_EVERYTHING");
    let s = setup();
    let path = s.file(".cursor/mcp.json");
    put(&path, "{\"mcpServers\": {}}\n", 0o600);
    let value = format!("{CANARY}-{}", unique("profile"));
    let args = [
        "--client",
        "cursor",
        "everything",
        "--profile",
        "--secret",
        "GITHUB_TOKEN",
        "--",
        &node,
        &everything,
        "stdio",
    ];
    let out = s.add(&args, &value);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("+[servers.everything]"),
        "{}",
        stdout(&out)
    );
    assert!(stderr(&out).contains("would pin"), "{}", stderr(&out));
    let config = s.warden.path().join("config.toml");
    assert!(!config.exists(), "a dry run declares nothing");

    let mut apply = args.to_vec();
    apply.insert(4, "--apply");
    let out = s.add(&apply, &value);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("@everything pinned"),
        "{}",
        stderr(&out)
    );
    let argv = entry_argv(&path, "mcpServers", "everything");
    assert_eq!(argv[1..], ["run", "@everything"]);
    let toml = std::fs::read_to_string(&config).unwrap();
    assert!(toml.contains("[servers.everything.pinned]"), "{toml}");
    assert!(
        toml.contains("GITHUB_TOKEN = \"local://cursor/everything/GITHUB_TOKEN\""),
        "{toml}"
    );
    let text = session(&s, &argv);
    assert!(!text.contains(&value));
    assert!(text.contains("[REDACTED:GITHUB_TOKEN]"), "{text}");
    s.nowhere(&value);
    // The name is taken now: nothing is declared twice.
    let out = s.add(&apply, &value);
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
}
