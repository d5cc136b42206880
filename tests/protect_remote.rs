//! `protect` / `restore` on remote entries: in every client format scan
//! covers, an entry with a URL and a secret header (and a secret in its URL)
//! becomes a stdio entry starting `mcp-warden connect`, in the client's own
//! stdio shape; header bridges (mcp-remote, supergateway, mcp-proxy) become
//! connect entries too; Claude Code can keep its headersHelper. Every output
//! path is checked for the planted values, and restore is byte-exact.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{CANARY, Home, bin_path};
use mcp_warden::clients::read::parse;
use mcp_warden::clients::{Format, Location, Scope, Server, Transport};
use serde_json::Value;

/// The secret in each entry's URL (`?token=`).
const URL_TOKEN: &str = "Qm7xT2vLp9Rk4WzN8cYb3Hd";
/// The URL as the entries give it.
const URL: &str = "https://mcp.example.com/mcp?team=core&token=Qm7xT2vLp9Rk4WzN8cYb3Hd";
/// The URL connect is given.
const URL_TEMPLATE: &str = "https://mcp.example.com/mcp?team=core&token=%{TOKEN}";

/// An mcp-warden home (store, journal) and a user home holding client configs.
struct Setup {
    warden: Home,
    user: tempfile::TempDir,
}

/// What one run printed; asserted free of every planted value.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Setup {
    fn new() -> Self {
        Self {
            warden: Home::new(),
            user: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self) -> &Path {
        self.user.path()
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.home().join(rel)
    }

    fn put(&self, rel: &str, text: &str) {
        let p = self.file(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// Runs `verb args` (protect gets `--home`); no output holds a secret.
    fn run(&self, verb: &str, args: &[&str], secrets: &[&str]) -> Run {
        let mut c = self.warden.cmd();
        c.arg(verb);
        if matches!(verb, "protect" | "scan" | "inventory") {
            c.arg("--home").arg(self.home());
        }
        let out = c.args(args).output().unwrap();
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

    /// Every file under both homes (configs, journal, store, anything left
    /// behind) is free of the planted values.
    fn assert_no_plaintext_anywhere(&self, secrets: &[&str]) {
        for root in [self.home(), self.warden.path()] {
            for (rel, bytes) in snapshot(root) {
                let text = String::from_utf8_lossy(&bytes);
                for s in secrets.iter().chain([&CANARY]) {
                    assert!(
                        !text.contains(s),
                        "{} holds a planted value",
                        root.join(&rel).display()
                    );
                }
            }
        }
    }

    /// `secret get REF` prints `value`.
    fn assert_stored(&self, reference: &str, value: &str) {
        let out = self
            .warden
            .cmd()
            .args(["secret", "get", reference])
            .output()
            .unwrap();
        assert!(out.status.success(), "{reference} is not stored");
        assert_eq!(String::from_utf8_lossy(&out.stdout), value, "{reference}");
    }

    /// scan's JSON summary: the number of findings.
    fn findings(&self) -> u64 {
        let run = self.run("scan", &["--format", "json"], &[]);
        let v: Value = serde_json::from_str(&run.stdout).unwrap();
        v["summary"]["findings"].as_u64().unwrap()
    }
}

/// Every file under `dir` by relative path.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
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

fn warden() -> String {
    bin_path().canonicalize().unwrap().display().to_string()
}

/// The entry `name` of the config at `path`, read as `client` reads it.
fn server(client: &'static str, path: &Path, name: &str) -> Server {
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => Format::Toml,
        Some("yaml" | "yml") => Format::Yaml,
        _ => Format::Json,
    };
    let bytes = std::fs::read(path).unwrap();
    let cfg = parse(
        Location {
            client,
            scope: Scope::User,
            path: path.to_path_buf(),
            format,
        },
        &bytes,
    )
    .unwrap_or_else(|e| panic!("{client}: the rewritten file does not read: {e}"));
    cfg.servers
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("{client}: no entry {name}"))
}

fn args(s: &Server) -> Vec<String> {
    s.args.iter().map(|a| a.value.clone()).collect()
}

/// `command args` read by mcp-warden's own command-line parser and turned
/// into connect's plan (header parsing, references, URL policy): what every
/// start of the entry will do before it reaches the network.
fn assert_connect_parses(what: &str, command: &str, args: &[String]) {
    use clap::Parser;
    use mcp_warden::cli::{Cli, Command};
    let line = std::iter::once(command.to_string()).chain(args.iter().cloned());
    let cli = Cli::try_parse_from(line).unwrap_or_else(|e| panic!("{what}: {e}"));
    let Command::Connect(a) = cli.command else {
        panic!("{what}: not a connect command line: {args:?}");
    };
    let plan = mcp_warden::verbs::connect::plan(a)
        .unwrap_or_else(|e| panic!("{what}: connect refuses {args:?}: {e}"));
    let headers = args.iter().filter(|a| a.starts_with("--header=")).count();
    assert_eq!(plan.headers.len(), headers, "{what}: {args:?}");
    assert_eq!(
        plan.requests.len(),
        args.iter().filter(|a| a.contains("=local://")).count(),
        "{what}"
    );
}

/// The connect arguments protect writes for an entry of `client` named `api`.
fn connect_args(client: &str, extra_headers: &[&str], sse: bool) -> Vec<String> {
    let mut v = vec![
        "connect".to_string(),
        URL_TEMPLATE.to_string(),
        format!("TOKEN=local://{client}/api/TOKEN"),
        format!("AUTHORIZATION=local://{client}/api/AUTHORIZATION"),
        "--header=Authorization: Bearer %{AUTHORIZATION}".to_string(),
    ];
    for h in extra_headers {
        v.push(format!("--header={h}"));
    }
    if sse {
        v.extend(["--transport".to_string(), "sse".to_string()]);
    }
    v
}

/// One client's file with a remote entry `api` (the header holds the
/// canary, the URL a token), and what its stdio form must look like.
struct Case {
    client: &'static str,
    rel: &'static str,
    text: String,
    /// The entry speaks the legacy HTTP+SSE transport.
    sse: bool,
    /// Text the rewritten file must hold (the client's stdio spelling).
    shape: &'static [&'static str],
    /// Text it must no longer hold.
    gone: &'static [&'static str],
}

fn json_case(
    client: &'static str,
    rel: &'static str,
    container: &str,
    entry: &str,
    sse: bool,
    shape: &'static [&'static str],
    gone: &'static [&'static str],
) -> Case {
    Case {
        client,
        rel,
        text: format!(
            "{{\n  \"{container}\": {{\n    \"local\": {{ \"command\": \"npx\", \"args\": [\"-y\", \"x@1.0.0\"] }},\n    \
             \"api\": {{\n      {entry},\n      \"headers\": {{\n        \"Authorization\": \"Bearer {CANARY}\",\n        \
             \"X-Team\": \"platform\"\n      }}\n    }}\n  }}\n}}\n"
        ),
        sse,
        shape,
        gone,
    }
}

fn cases() -> Vec<Case> {
    let url = format!("\"url\": \"{URL}\"");
    let mut v = vec![
        json_case(
            "claude-code",
            ".claude.json",
            "mcpServers",
            &format!("\"type\": \"http\", {url}"),
            false,
            &["\"type\": \"stdio\""],
            &["\"url\"", "\"headers\""],
        ),
        json_case(
            "cursor",
            ".cursor/mcp.json",
            "mcpServers",
            &url,
            false,
            &["\"command\""],
            &["\"url\"", "\"headers\""],
        ),
        json_case(
            "vscode",
            ".config/Code/User/mcp.json",
            "servers",
            &format!("\"type\": \"sse\", {url}"),
            true,
            &["\"type\": \"stdio\""],
            &["\"url\"", "\"headers\""],
        ),
        json_case(
            "windsurf",
            ".codeium/windsurf/mcp_config.json",
            "mcpServers",
            &format!("\"serverUrl\": \"{URL}\""),
            false,
            &["\"command\""],
            &["\"serverUrl\""],
        ),
        json_case(
            "gemini-cli",
            ".gemini/settings.json",
            "mcpServers",
            &format!("{url}, \"timeout\": 5000"),
            true,
            &["\"timeout\": 5000"],
            &["\"url\""],
        ),
        json_case(
            "qwen-code",
            ".qwen/settings.json",
            "mcpServers",
            &format!("\"httpUrl\": \"{URL}\""),
            false,
            &["\"command\""],
            &["\"httpUrl\""],
        ),
        json_case(
            "zed",
            ".config/zed/settings.json",
            "context_servers",
            &url,
            false,
            &["\"command\""],
            &["\"url\""],
        ),
        json_case(
            "cline",
            ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
            "mcpServers",
            &format!(
                "\"type\": \"streamableHttp\", {url}, \"disabled\": false, \"autoApprove\": []"
            ),
            false,
            &["\"type\": \"stdio\"", "\"autoApprove\": []"],
            &["streamableHttp"],
        ),
        json_case(
            "lm-studio",
            ".lmstudio/mcp.json",
            "mcpServers",
            &url,
            false,
            &["\"command\""],
            &["\"url\""],
        ),
        json_case(
            "kiro",
            ".kiro/settings/mcp.json",
            "mcpServers",
            &url,
            false,
            &["\"command\""],
            &["\"url\""],
        ),
        json_case(
            "copilot-cli",
            ".copilot/mcp-config.json",
            "mcpServers",
            &format!("\"type\": \"http\", {url}"),
            false,
            &["\"type\": \"stdio\""],
            &["\"url\""],
        ),
        json_case(
            "antigravity",
            ".gemini/antigravity/mcp_config.json",
            "mcpServers",
            &format!("\"serverUrl\": \"{URL}\""),
            false,
            &["\"command\""],
            &["\"serverUrl\""],
        ),
        json_case(
            "crush",
            ".config/crush/crush.json",
            "mcp",
            &format!("\"type\": \"http\", {url}"),
            false,
            &["\"type\": \"stdio\""],
            &["\"url\""],
        ),
        json_case(
            "opencode",
            ".config/opencode/opencode.json",
            "mcp",
            &format!("\"type\": \"remote\", {url}, \"enabled\": true"),
            false,
            &["\"type\": \"local\"", "\"enabled\": true"],
            &["\"url\""],
        ),
    ];
    v.push(Case {
        client: "codex",
        rel: ".codex/config.toml",
        text: format!(
            "# Codex\nmodel = \"gpt-5\"\n\n[mcp_servers.local]\ncommand = \"npx\"\nargs = [\"-y\", \"x@1.0.0\"]\n\n\
             [mcp_servers.api]\nurl = \"{URL}\"\nhttp_headers = {{ Authorization = \"Bearer {CANARY}\", X-Team = \"platform\" }}\n\
             startup_timeout_sec = 20\n"
        ),
        sse: false,
        shape: &["# Codex", "startup_timeout_sec = 20", "command = "],
        gone: &["http_headers", "url ="],
    });
    v.push(Case {
        client: "goose",
        rel: ".config/goose/config.yaml",
        text: format!(
            "GOOSE_PROVIDER: anthropic\nextensions:\n  api:\n    type: streamable_http\n    name: api\n    enabled: true\n    \
             uri: \"{URL}\"\n    headers:\n      Authorization: Bearer {CANARY}\n      X-Team: platform\n    envs: {{}}\n    \
             env_keys: []\n    timeout: 300\n"
        ),
        sse: false,
        shape: &["type: stdio", "cmd: ", "timeout: 300"],
        gone: &["uri:", "streamable_http"],
    });
    v.push(Case {
        client: "continue",
        rel: ".continue/config.yaml",
        text: format!(
            "name: My Config\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: api\n    type: streamable-http\n    \
             url: \"{URL}\"\n    requestOptions:\n      timeout: 30\n      headers:\n        Authorization: Bearer {CANARY}\n        \
             X-Team: platform\n"
        ),
        sse: false,
        shape: &["type: stdio", "timeout: 30"],
        gone: &["url:", "streamable-http"],
    });
    v
}

#[test]
fn remote_entries_of_every_client_become_connect_entries_and_restore_exactly() {
    let s = Setup::new();
    let cases = cases();
    for c in &cases {
        s.put(c.rel, &c.text);
    }
    let secrets = [URL_TOKEN];
    let before = snapshot(s.home());
    assert!(
        s.findings() >= 2 * cases.len() as u64,
        "the fixtures plant findings"
    );

    // Dry run: a masked diff, nothing written or stored.
    let dry = s.run("protect", &[], &secrets);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("connect"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("[Qm7x"),
        "the URL secret is shown masked: {}",
        dry.stdout
    );
    assert!(snapshot(s.home()) == before, "a dry run wrote a file");

    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "protected {} secret(s) in {} file(s); 0 not protectable",
            2 * cases.len(),
            cases.len()
        )),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("(through mcp-warden connect)"),
        "{}",
        run.stderr
    );
    assert_eq!(s.findings(), 0, "scan still finds plaintext");
    s.assert_no_plaintext_anywhere(&secrets);

    for c in &cases {
        let path = s.file(c.rel);
        let e = server(c.client, &path, "api");
        assert_eq!(e.transport, Transport::Stdio, "{}", c.client);
        assert!(e.url.is_none() && e.headers.is_empty(), "{}", c.client);
        assert_eq!(
            e.command.as_ref().map(|c| c.value.clone()),
            Some(warden()),
            "{}",
            c.client
        );
        assert_eq!(
            args(&e),
            connect_args(c.client, &["X-Team: platform"], c.sse),
            "{}",
            c.client
        );
        assert_connect_parses(c.client, &warden(), &args(&e));
        if c.client == "opencode" {
            let at = e.command.as_ref().map(|c| c.pointer.as_str());
            assert_eq!(at, Some("/mcp/api/command/0"), "opencode: one argv array");
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for want in c.shape {
            assert!(text.contains(want), "{}: no {want}:\n{text}", c.client);
        }
        for gone in c.gone {
            assert!(!text.contains(gone), "{}: still {gone}:\n{text}", c.client);
        }
        s.assert_stored(&format!("{}/api/TOKEN", c.client), URL_TOKEN);
        s.assert_stored(&format!("{}/api/AUTHORIZATION", c.client), CANARY);
        // The neighbour without secrets is untouched.
        if c.text.contains("\"local\"") {
            assert_eq!(args(&server(c.client, &path, "local")), ["-y", "x@1.0.0"]);
        }
    }

    // inventory lists connect's references, flagged until rotated.
    let inv = s.run("inventory", &[], &secrets);
    assert!(
        inv.stdout.contains("TOKEN = local://cursor/api/TOKEN") && inv.stdout.contains("EXPOSED"),
        "{}",
        inv.stdout
    );

    // Once more changes nothing.
    let after = snapshot(s.home());
    s.run("protect", &["--apply"], &secrets);
    assert!(snapshot(s.home()) == after, "protect is not idempotent");

    let dry = s.run("restore", &[], &secrets);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    let run = s.run("restore", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let restored = snapshot(s.home());
    for (rel, bytes) in &before {
        assert!(
            restored[rel] == *bytes,
            "{} is not byte-identical after restore",
            rel.display()
        );
    }
}

#[test]
fn claude_code_can_keep_its_headers_helper() {
    let s = Setup::new();
    let text = format!(
        "{{\"mcpServers\": {{\"api\": {{\"type\": \"http\", \"url\": \"https://mcp.example.com/mcp\",\n  \
         \"headers\": {{\"Authorization\": \"Bearer {CANARY}\", \"X-Team\": \"platform\"}}}},\n  \
         \"q\": {{\"type\": \"http\", \"url\": \"{URL}\"}}}}}}\n"
    );
    s.put(".claude.json", &text);
    s.put(
        ".cursor/mcp.json",
        &format!("{{\"mcpServers\": {{\"api\": {{\"url\": \"https://mcp.example.com/mcp\", \"headers\": {{\"Authorization\": \"Bearer {CANARY}\"}}}}}}}}\n"),
    );
    let secrets = [URL_TOKEN];
    let run = s.run(
        "protect",
        &["--apply", "--remote-style", "headers-helper"],
        &secrets,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let claude = s.file(".claude.json");
    let api = server("claude-code", &claude, "api");
    assert_eq!(api.transport, Transport::Http, "stays remote");
    let helper = api.headers_helper.expect("a headersHelper").value;
    assert!(helper.contains(" headers -H "), "{helper}");
    assert!(
        helper.contains("AUTHORIZATION=local://claude-code/api/AUTHORIZATION"),
        "{helper}"
    );
    assert_eq!(api.headers.len(), 1, "the plain header stays");
    // A URL secret cannot go in a headersHelper: reported, left alone.
    assert!(
        run.stderr.contains("q: url: not protected")
            && run.stderr.contains("--remote-style connect"),
        "{}",
        run.stderr
    );
    assert_eq!(server("claude-code", &claude, "q").url.unwrap().value, URL);
    // Other clients have no helper: connect is used there whatever the style.
    let cursor = server("cursor", &s.file(".cursor/mcp.json"), "api");
    assert_eq!(args(&cursor)[0], "connect");
    let out = std::process::Command::new("sh")
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
    assert_eq!(headers["Authorization"], format!("Bearer {CANARY}"));
    s.assert_no_plaintext_anywhere(&[]);
    s.run("restore", &["--apply"], &secrets);
    assert_eq!(std::fs::read_to_string(&claude).unwrap(), text);
}

#[test]
fn header_bridges_become_connect_entries() {
    let s = Setup::new();
    let t = [
        "8MscddlOTKuixu8ZnNSymucyK4KzR0kkdX9z",
        "oY188W1DhQK6hmzsNDIGRxtvDTVaJoUTTsob",
        "BvYqZpLoPOcrTpr3nwgWH3NmtJoWVHJ1kJK3",
        "KlLQP9kVHjFnZclxiIq71yloNSgCDVk05qCc",
    ];
    let desktop = ".config/Claude/claude_desktop_config.json";
    let text = serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {
        "remote": {"command": "npx", "args": ["-y", "mcp-remote@0.1.18", "https://mcp.example.com/sse",
                   "--header", format!("Authorization: Bearer {}", t[0]), "--header=X-Team: 50%{off}"]},
        "gateway": {"command": "npx", "args": ["-y", "supergateway@3.4.0", "--sse", "https://mcp.example.com/sse",
                    "--oauth2Bearer", t[1]]},
        "proxy": {"command": "uvx", "args": ["mcp-proxy==0.8.2", "--headers", "X-Api-Key", t[2],
                  "--transport", "streamablehttp", "https://mcp.example.com/mcp"]},
        // An option protect does not know: the bridge stays and `run` fills the header.
        "other": {"command": "npx", "args": ["-y", "mcp-remote@0.1.18", "https://mcp.example.com/sse",
                  "--header", format!("Authorization: Bearer {}", t[3]), "--static-oauth-client-info", "{}"]}
    }}))
    .unwrap();
    s.put(desktop, &text);
    let run = s.run("protect", &["--apply"], &t);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("protected 4 secret(s) in 1 file(s); 0 not protectable"),
        "{}",
        run.stderr
    );
    let path = s.file(desktop);
    let get = |name| server("claude-desktop", &path, name);
    let w = warden();
    let remote = get("remote");
    assert_eq!(remote.command.as_ref().unwrap().value, w);
    assert_eq!(
        args(&remote),
        [
            "connect",
            "https://mcp.example.com/sse",
            "AUTHORIZATION=local://claude-desktop/remote/AUTHORIZATION",
            "--header=Authorization: Bearer %{AUTHORIZATION}",
            "--header=X-Team: 50%%{off}",
        ]
    );
    assert_eq!(
        args(&get("gateway")),
        [
            "connect",
            "https://mcp.example.com/sse",
            "AUTHORIZATION=local://claude-desktop/gateway/AUTHORIZATION",
            "--header=Authorization: Bearer %{AUTHORIZATION}",
            "--transport",
            "sse",
        ]
    );
    assert_eq!(
        args(&get("proxy")),
        [
            "connect",
            "https://mcp.example.com/mcp",
            "X_API_KEY=local://claude-desktop/proxy/X_API_KEY",
            "--header=X-Api-Key: %{X_API_KEY}",
        ]
    );
    for name in ["remote", "gateway", "proxy"] {
        assert_connect_parses(name, &w, &args(&get(name)));
    }
    let other = args(&get("other"));
    assert_eq!(other[0], "run", "{other:?}");
    assert!(other.iter().any(|a| a.contains("mcp-remote")), "{other:?}");
    s.assert_stored("claude-desktop/remote/AUTHORIZATION", t[0]);
    s.assert_stored("claude-desktop/gateway/AUTHORIZATION", t[1]);
    s.assert_stored("claude-desktop/proxy/X_API_KEY", t[2]);
    assert_eq!(s.findings(), 0);
    s.assert_no_plaintext_anywhere(&t);
    s.run("restore", &["--apply"], &t);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn an_entry_connect_cannot_carry_never_blocks_its_neighbours() {
    let s = Setup::new();
    let h = "ysCW9f4CA96qeGs6R3uYEIi75qB4sA9Q0NksyRRM";
    let text = format!(
        r#"{{
  "mcpServers": {{
    "plain-http": {{ "url": "http://mcp.example.com/mcp", "headers": {{ "Authorization": "Bearer {h}" }} }},
    "from-env": {{ "url": "https://mcp.example.com/mcp", "headers": {{ "Authorization": "Bearer {CANARY}", "X-User": "${{env:USER}}" }} }},
    "ok": {{ "url": "https://mcp.example.com/mcp", "headers": {{ "X-Api-Key": "{URL_TOKEN}", "X-Note": "a/b \"q\" \\ é" }} }}
  }}
}}
"#
    );
    s.put(".cursor/mcp.json", &text);
    let secrets = [h, URL_TOKEN];
    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("plain-http: header Authorization: not protected")
            && run.stderr.contains("http://"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("from-env: header Authorization: not protected")
            && run.stderr.contains("environment"),
        "{}",
        run.stderr
    );
    let path = s.file(".cursor/mcp.json");
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(now.contains(&format!(r#""plain-http": {{ "url": "http://mcp.example.com/mcp", "headers": {{ "Authorization": "Bearer {h}" }} }}"#)), "{now}");
    let ok = server("cursor", &path, "ok");
    assert_eq!(
        args(&ok),
        [
            "connect",
            "https://mcp.example.com/mcp",
            "X_API_KEY=local://cursor/ok/X_API_KEY",
            "--header=X-Api-Key: %{X_API_KEY}",
            "--header=X-Note: a/b \"q\" \\ é",
        ]
    );
    assert_connect_parses("ok", &warden(), &args(&ok));
    s.assert_stored("cursor/ok/X_API_KEY", URL_TOKEN);
    s.run("restore", &["--apply"], &secrets);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn codex_header_tables_and_bearer_tokens_become_connect_entries() {
    let s = Setup::new();
    let t = "Hx8pQ2mZr5Tw9LvB3nKc7YdF";
    let text = format!(
        "model = \"gpt-5\"\n\n[mcp_servers.api]\nurl = \"https://mcp.example.com/mcp\"\nenabled = true\n\n\
         [mcp_servers.api.http_headers]\nAuthorization = \"Bearer {CANARY}\" # team token\nX-Team = \"platform\"\n\n\
         [mcp_servers.tok]\nurl = \"https://other.example.com/mcp\"\nbearer_token = \"{t}\"\n\n\
         [mcp_servers.fwd]\nurl = \"https://third.example.com/mcp\"\nbearer_token_env_var = \"FWD_TOKEN\"\n\
         http_headers = {{ X-Api-Key = \"{URL_TOKEN}\" }}\n"
    );
    s.put(".codex/config.toml", &text);
    let secrets = [t, URL_TOKEN];
    let run = s.run("protect", &["--apply"], &secrets);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = s.file(".codex/config.toml");
    let api = server("codex", &path, "api");
    assert_eq!(
        args(&api),
        [
            "connect",
            "https://mcp.example.com/mcp",
            "AUTHORIZATION=local://codex/api/AUTHORIZATION",
            "--header=Authorization: Bearer %{AUTHORIZATION}",
            "--header=X-Team: platform",
        ]
    );
    assert_connect_parses("codex api", &warden(), &args(&api));
    assert_connect_parses(
        "codex tok",
        &warden(),
        &args(&server("codex", &path, "tok")),
    );
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(!now.contains("[mcp_servers.api.http_headers]"), "{now}");
    assert_eq!(
        args(&server("codex", &path, "tok")),
        [
            "connect",
            "https://other.example.com/mcp",
            "AUTHORIZATION=local://codex/tok/AUTHORIZATION",
            "--header=Authorization: Bearer %{AUTHORIZATION}",
        ]
    );
    s.assert_stored("codex/tok/AUTHORIZATION", t);
    // A header Codex takes from its environment cannot be passed on: left alone.
    assert!(
        run.stderr.contains("fwd: header X-Api-Key: not protected")
            && run.stderr.contains("FWD_TOKEN"),
        "{}",
        run.stderr
    );
    assert!(
        now.contains("bearer_token_env_var = \"FWD_TOKEN\""),
        "{now}"
    );
    s.run("restore", &["--apply"], &secrets);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn header_text_survives_the_quoting_of_every_format() {
    let s = Setup::new();
    let odd = r#"a "q" \ %{x} é: #x"#;
    let want = r#"--header=X-Note: a "q" \ %%{x} é: #x"#;
    let codex = format!(
        "[mcp_servers.api]\nurl = \"https://mcp.example.com/mcp\"\n\
         http_headers = {{ X-Api-Key = \"{URL_TOKEN}\", X-Note = '{odd}' }}\n"
    );
    s.put(".codex/config.toml", &codex);
    let goose = format!(
        "extensions:\n  api:\n    type: streamable_http\n    uri: https://mcp.example.com/mcp\n    headers:\n      \
         X-Api-Key: {URL_TOKEN}\n      X-Note: '{odd}'\n"
    );
    s.put(".config/goose/config.yaml", &goose);
    let cursor = serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {"api": {
        "url": "https://mcp.example.com/mcp",
        "headers": {"X-Api-Key": URL_TOKEN, "X-Note": odd}}}}))
    .unwrap();
    s.put(".cursor/mcp.json", &cursor);
    let run = s.run("protect", &["--apply"], &[URL_TOKEN]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (client, rel) in [
        ("codex", ".codex/config.toml"),
        ("goose", ".config/goose/config.yaml"),
        ("cursor", ".cursor/mcp.json"),
    ] {
        let a = args(&server(client, &s.file(rel), "api"));
        assert_connect_parses(client, &warden(), &a);
        // serde_json writes keys sorted: the order is each file's own.
        assert!(a.iter().any(|x| x == want), "{client}: {a:?}");
        assert!(
            a.iter().any(|x| x == "--header=X-Api-Key: %{X_API_KEY}"),
            "{client}: {a:?}"
        );
        assert_eq!(
            a.iter().filter(|x| x.starts_with("--header=")).count(),
            2,
            "{client}: {a:?}"
        );
    }
    s.run("restore", &["--apply"], &[URL_TOKEN]);
    assert_eq!(
        std::fs::read_to_string(s.file(".codex/config.toml")).unwrap(),
        codex
    );
    assert_eq!(
        std::fs::read_to_string(s.file(".config/goose/config.yaml")).unwrap(),
        goose
    );
    assert_eq!(
        std::fs::read_to_string(s.file(".cursor/mcp.json")).unwrap(),
        cursor
    );
}

/// inventory reads a connect entry's references as connect does: an
/// option's value is no reference, and one bad reference is reported
/// without hiding the others.
#[test]
fn inventory_reads_connect_references_as_connect_does() {
    let s = Setup::new();
    let text = serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {"api": {
        "command": warden(),
        "args": ["connect", "https://mcp.example.com/mcp", "--name", "DECOY=local://decoy/x",
                 "TOKEN=local://cursor/api/TOKEN", "BAD=nosuch://x/y",
                 "--header=Authorization: Bearer %{TOKEN}"]}}}))
    .unwrap();
    s.put(".cursor/mcp.json", &text);
    let inv = s.run("inventory", &[], &[]);
    assert!(
        inv.stdout.contains("TOKEN = local://cursor/api/TOKEN"),
        "{}\n{}",
        inv.stdout,
        inv.stderr
    );
    assert!(!inv.stdout.contains("DECOY"), "{}", inv.stdout);
    assert!(
        inv.stderr.contains("api: connect's BAD is not a reference"),
        "{}",
        inv.stderr
    );
}

/// A Codex header table written above its own entry's header: the entry
/// becomes a connect entry and restore gives back the exact bytes (the
/// blank line before the table lies outside the entry and stays).
#[test]
fn a_codex_header_table_above_its_entry_restores_exactly() {
    let s = Setup::new();
    let t = "Vb7Nq2Xw9Lk4Rz8Tp3Mc6Yh1Jd5F";
    let text = format!(
        "[mcp_servers.a]\ncommand=\"z\"\n\n[mcp_servers.x.http_headers]\nAuthorization=\"Bearer {t}\"\n\
         [mcp_servers.x]\nurl=\"https://example.com/mcp\"\n"
    );
    s.put(".codex/config.toml", &text);
    let path = s.file(".codex/config.toml");
    let run = s.run("protect", &["--apply"], &[t]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let x = server("codex", &path, "x");
    assert_eq!(
        args(&x),
        [
            "connect",
            "https://example.com/mcp",
            "AUTHORIZATION=local://codex/x/AUTHORIZATION",
            "--header=Authorization: Bearer %{AUTHORIZATION}",
        ]
    );
    assert_connect_parses("codex x", &warden(), &args(&x));
    let now = std::fs::read_to_string(&path).unwrap();
    assert!(
        now.starts_with("[mcp_servers.a]\ncommand=\"z\"\n\n[mcp_servers.x]\n"),
        "{now}"
    );
    s.assert_no_plaintext_anywhere(&[t]);
    let run = s.run("restore", &["--apply"], &[t]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// Headers connect refuses at every start (one it sets itself, a name that is
/// not an HTTP token, one holding `:`) refuse their entry with connect's
/// reason; the entry stays byte for byte and its neighbour is protected.
#[test]
fn headers_connect_would_refuse_keep_their_entry_as_it_is() {
    let s = Setup::new();
    let h = [
        "P4nVx8QzR2mLk7TwC9bYd3Hf6Js1",
        "Wq5Ne2Lr8Xk3Tz7Vb4Mc9Ys6Dh1G",
        "Gt3Hy8Uj2Ik7Ol4Pz9Xc6Vb1Nm5Q",
    ];
    let entries = [
        format!(
            r#""accept": {{ "url": "https://mcp.example.com/mcp", "headers": {{ "Accept": "application/json", "Authorization": "Bearer {}" }} }}"#,
            h[0]
        ),
        format!(
            r#""space": {{ "url": "https://mcp.example.com/mcp", "headers": {{ "X Bad": "1", "Authorization": "Bearer {}" }} }}"#,
            h[1]
        ),
        format!(
            r#""colon": {{ "url": "https://mcp.example.com/mcp", "headers": {{ "X-A:B": "1", "Authorization": "Bearer {}" }} }}"#,
            h[2]
        ),
    ];
    let text = format!(
        "{{\n  \"mcpServers\": {{\n    {},\n    \"ok\": {{ \"url\": \"https://mcp.example.com/mcp\", \"headers\": {{ \"Authorization\": \"Bearer {CANARY}\", \"-X-Flag\": \"--no-audit\" }} }}\n  }}\n}}\n",
        entries.join(",\n    ")
    );
    s.put(".cursor/mcp.json", &text);
    let run = s.run("protect", &["--apply"], &h);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (name, why) in [
        ("accept", "mcp-warden sets this header itself"),
        ("space", "not a valid HTTP token"),
        ("colon", "not a valid HTTP token"),
    ] {
        assert!(
            run.stderr.lines().any(|l| l
                .contains(&format!("{name}: header Authorization: not protected"))
                && l.contains(why)),
            "{name}: {}",
            run.stderr
        );
    }
    let path = s.file(".cursor/mcp.json");
    let now = std::fs::read_to_string(&path).unwrap();
    for e in &entries {
        assert!(now.contains(e.as_str()), "{e} changed:\n{now}");
    }
    let ok = server("cursor", &path, "ok");
    assert_eq!(ok.command.as_ref().map(|c| c.value.clone()), Some(warden()));
    // A value that looks like an option stays inside its `--header=` argument.
    assert!(
        args(&ok)
            .iter()
            .any(|a| a == "--header=-X-Flag: --no-audit"),
        "{:?}",
        args(&ok)
    );
    assert_connect_parses("ok", &warden(), &args(&ok));
    s.assert_stored("cursor/ok/AUTHORIZATION", CANARY);
    s.run("restore", &["--apply"], &h);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// A bridge's URL secret that connect would percent-encode again (`%2F`,
/// `+`) must reach the server as written: such an entry keeps its bridge
/// under `run`, which passes the argument through unchanged.
#[test]
fn a_bridge_url_secret_connect_would_re_encode_is_not_moved_to_connect() {
    let s = Setup::new();
    let key = "Zk3pQ9vX2mLr%2F8TfW+Qa7bN4cYd";
    let desktop = ".config/Claude/claude_desktop_config.json";
    let text = serde_json::to_string_pretty(&serde_json::json!({"mcpServers": {
        "remote": {"command": "npx", "args": ["-y", "mcp-remote@0.1.18",
                   format!("https://mcp.example.com/sse?key={key}")]}
    }}))
    .unwrap();
    s.put(desktop, &text);
    assert!(s.findings() >= 1, "the fixture plants a finding");
    let run = s.run("protect", &["--apply"], &[key]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let path = s.file(desktop);
    let remote = server("claude-desktop", &path, "remote");
    let a = args(&remote);
    assert_ne!(a.first().map(String::as_str), Some("connect"), "{a:?}");
    assert!(a.iter().any(|x| x.contains("mcp-remote")), "{a:?}");
    // What the bridge receives is the stored value put back where it was.
    let stored: Vec<&String> = a.iter().filter(|x| x.contains("=local://")).collect();
    assert_eq!(stored.len(), 1, "{a:?}");
    let reference = stored[0].split_once("=local://").unwrap().1;
    s.assert_stored(reference, key);
    s.assert_no_plaintext_anywhere(&[key]);
    s.run("restore", &["--apply"], &[key]);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// End to end: a remote entry protect rewrote starts, and `connect` reaches
/// a loopback Streamable HTTP server (tests/py/remote_probe.py) with the
/// header and the URL token filled from the store.
#[test]
fn a_connect_entry_written_by_protect_reaches_the_server_with_its_secrets() {
    use std::io::{BufRead, Write};
    use std::process::Stdio;
    use std::time::Duration;

    let s = Setup::new();
    let python = common::service_env("MCP_WARDEN_TEST_PYTHON");
    let port_file = s.warden.path().join("probe.port");
    let record = s.warden.path().join("probe.jsonl");
    let mut probe = std::process::Command::new(python)
        .arg(
            Path::new("tests/py/remote_probe.py")
                .canonicalize()
                .unwrap(),
        )
        .args([&port_file, &record])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut port = String::new();
    assert!(
        common::wait_until(Duration::from_secs(10), || {
            port = std::fs::read_to_string(&port_file).unwrap_or_default();
            !port.is_empty()
        }),
        "the probe server did not start"
    );
    let url = format!("http://127.0.0.1:{port}/mcp?token={URL_TOKEN}");
    s.put(
        ".cursor/mcp.json",
        &format!("{{\"mcpServers\": {{\"api\": {{\"url\": \"{url}\", \"headers\": {{\"Authorization\": \"Bearer {CANARY}\"}}}}}}}}\n"),
    );
    let run = s.run("protect", &["--apply"], &[URL_TOKEN]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e = server("cursor", &s.file(".cursor/mcp.json"), "api");
    let mut child = std::process::Command::new(e.command.as_ref().unwrap().value.clone())
        .args(args(&e))
        .env("MCP_WARDEN_HOME", s.warden.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(
        stdin,
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
    )
    .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let answer = rx.recv_timeout(Duration::from_secs(20));
    drop(stdin);
    let out = common::process::wait_with_timeout(child, Duration::from_secs(20));
    drop(probe.stdin.take());
    let _ = probe.wait();
    let answer = answer.expect("no answer from connect within 20 s");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for secret in [URL_TOKEN, CANARY] {
        assert!(
            !answer.contains(secret) && !stderr.contains(secret),
            "a value leaked"
        );
    }
    let v: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(
        v["result"]["serverInfo"]["name"], "remote-probe",
        "{answer}"
    );
    let seen = std::fs::read_to_string(&record).unwrap();
    let first: Value = serde_json::from_str(seen.lines().next().unwrap()).unwrap();
    assert_eq!(first["authorization"], format!("Bearer {CANARY}"));
    assert_eq!(first["token"], URL_TOKEN);
}
