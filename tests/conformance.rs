//! The official MCP conformance suite (`@modelcontextprotocol/conformance`,
//! installed by scripts/setup, run with the Node >= 22 in .tools/node) against
//! `mcp-warden connect`:
//!
//! - client scenarios: the suite starts its own test server and runs
//!   tests/py/conformance_client.py, which drives `mcp-warden connect URL`
//!   with the official Python MCP client; the suite judges what the bridge
//!   sent and how it reacted (handshake, tool call, elicitation answered with
//!   the schema's defaults, SSE resumption honouring `retry` and
//!   `Last-Event-ID`);
//! - server scenarios: the whole active server suite against a Streamable
//!   HTTP server, once directly and once through `connect` (its stdio side
//!   served over Streamable HTTP by supergateway); every scenario must end
//!   the same both ways. Two servers: tests/py/conformance_server.py (the
//!   official Python SDK with every fixture the scenarios ask for, so each
//!   feature they exercise crosses the bridge) and server-everything.
//!
//! - the `auth/*` client scenarios: the same driver; the bridge does the
//!   whole OAuth flow (discovery, registration or CIMD or the pre-registered
//!   client, PKCE, the loopback redirect, the token exchange, step-up, client
//!   credentials). The authorization step is completed as a browser would:
//!   BROWSER is the driver's --browse mode, which follows the suite's
//!   authorization endpoint's redirect to the bridge's loopback redirect.
//!   Each scenario has its own MCP_WARDEN_HOME, and no token, code or client
//!   secret the suite hands out may appear in any file under it or in the
//!   client's stderr.
//!
//! The scenario table this produces is published in docs/conformance.md.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use common::process::wait_with_timeout;
use common::{Home, bin_path, service_env, wait_until};
use serde_json::Value;

/// One check of one scenario, as the suite wrote it to `checks.json`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Check {
    id: String,
    status: String,
    error: String,
}

/// One scenario's checks and what the suite made of them.
#[derive(Debug)]
struct ScenarioResult {
    scenario: String,
    checks: Vec<Check>,
}

impl ScenarioResult {
    fn count(&self, status: &str) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }

    /// The suite's own verdict: no FAILURE (and, for clients, no WARNING).
    fn verdict(&self) -> String {
        let (ok, failed, warned) = (
            self.count("SUCCESS"),
            self.count("FAILURE"),
            self.count("WARNING"),
        );
        let mut v = format!("{ok}/{} passed", ok + failed);
        if warned > 0 {
            v.push_str(&format!(", {warned} warning(s)"));
        }
        v
    }

    /// The (check id, status) pairs, sorted: what must match across routes.
    fn outcome(&self) -> Vec<(String, String)> {
        let mut o: Vec<_> = self
            .checks
            .iter()
            .filter(|c| c.status != "INFO")
            .map(|c| (c.id.clone(), c.status.clone()))
            .collect();
        o.sort();
        o
    }
}

/// The suite's CLI and what it drives, from the variables scripts/test exports.
struct Suite {
    node22: String,
    cli: String,
}

impl Suite {
    fn new() -> Suite {
        Suite {
            node22: service_env("MCP_WARDEN_TEST_NODE22"),
            cli: service_env("MCP_WARDEN_TEST_CONFORMANCE"),
        }
    }

    /// Runs `conformance ARGS -o OUT` (bounded), returning its output and the
    /// per-scenario results it saved under OUT.
    fn run(
        &self,
        args: &[&str],
        home: &Home,
        out: &Path,
        limit: Duration,
    ) -> (Output, Vec<ScenarioResult>) {
        let child = Command::new(&self.node22)
            .arg(&self.cli)
            .args(args)
            .arg("-o")
            .arg(out)
            .current_dir(out)
            .env("MCP_WARDEN_BIN", bin_path())
            .env("MCP_WARDEN_HOME", home.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the conformance suite");
        let output = wait_with_timeout(child, limit);
        (output, read_results(out))
    }
}

/// Every `<scenario>-<timestamp>/checks.json` under `dir`, by scenario name
/// (an `auth/...` scenario's directory is under `auth/`).
fn read_results(dir: &Path) -> Vec<ScenarioResult> {
    let mut results = Vec::new();
    collect_results(dir, "", &mut results);
    results.sort_by(|a, b| a.scenario.cmp(&b.scenario));
    results
}

fn collect_results(dir: &Path, prefix: &str, out: &mut Vec<ScenarioResult>) {
    let entries = std::fs::read_dir(dir).expect("read the results directory");
    for e in entries.filter_map(|e| e.ok()) {
        let name = e.file_name().to_string_lossy().into_owned();
        match std::fs::read_to_string(e.path().join("checks.json")) {
            Ok(checks) => out.push(ScenarioResult {
                scenario: format!("{prefix}{}", scenario_of(&name)),
                checks: parse_checks(&checks),
            }),
            Err(_) if prefix.is_empty() && e.path().is_dir() => {
                collect_results(&e.path(), &format!("{name}/"), out)
            }
            Err(_) => {}
        }
    }
}

/// `server-tools-list-2026-12-02T22-50-01-123Z` -> `tools-list`.
fn scenario_of(dir_name: &str) -> String {
    let name = dir_name.strip_prefix("server-").unwrap_or(dir_name);
    // The suite appends `-` and an ISO timestamp with `:` and `.` made `-` (24 chars).
    match name.len().checked_sub(25) {
        Some(cut) if name.as_bytes()[cut] == b'-' => name[..cut].to_string(),
        _ => name.to_string(),
    }
}

fn parse_checks(text: &str) -> Vec<Check> {
    let v: Value = serde_json::from_str(text).expect("checks.json is JSON");
    let field = |c: &Value, k: &str| c[k].as_str().unwrap_or_default().to_string();
    v.as_array()
        .expect("checks.json is an array")
        .iter()
        .map(|c| Check {
            id: field(c, "id"),
            status: field(c, "status"),
            error: field(c, "errorMessage"),
        })
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A path the suite and supergateway split on spaces must have none.
fn no_spaces(p: &str) -> &str {
    assert!(
        !p.contains(' '),
        "the conformance suite splits its --command on spaces: {p}"
    );
    p
}

/// Runs one client scenario with `connect` as the client; the suite's own
/// verdict must be a pass with no warning.
fn client_scenario(name: &str) {
    let home = Home::new();
    let out = tempfile::tempdir().expect("tempdir");
    let client = format!(
        "{} {}",
        no_spaces(&service_env("MCP_WARDEN_TEST_PYTHON")),
        no_spaces(&service_env("MCP_WARDEN_TEST_CONFORMANCE_CLIENT"))
    );
    no_spaces(&bin_path().to_string_lossy());
    let args = [
        "client",
        "--command",
        &client,
        "--scenario",
        name,
        "--timeout",
        "60000",
    ];
    let (o, results) = Suite::new().run(&args, &home, out.path(), Duration::from_secs(100));
    let report = format!(
        "conformance client --scenario {name}: exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        text(&o.stdout),
        text(&o.stderr)
    );
    let [r] = results.as_slice() else {
        panic!(
            "expected one result directory, got {}\n{report}",
            results.len()
        );
    };
    let bad: Vec<_> = r
        .checks
        .iter()
        .filter(|c| c.status == "FAILURE" || c.status == "WARNING")
        .collect();
    assert!(bad.is_empty(), "{name}: {bad:#?}\n{report}");
    assert!(r.count("SUCCESS") > 0, "{name}: no check passed\n{report}");
    assert!(
        o.status.success(),
        "{name}: the suite failed the run\n{report}"
    );
    no_token_material(name, &home, out.path());
    eprintln!("| `{name}` | {} |", r.verdict());
    {
        let dir = env!("CARGO_TARGET_TMPDIR");
        use std::io::Write as _;
        let line = format!("| `{name}` | {} |\n", r.verdict());
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Path::new(&dir).join("conformance-client.md"))
            .and_then(|mut f| f.write_all(line.as_bytes()));
    }
}

/// The token check finds what it looks for (in a file, and in stderr.txt).
#[test]
fn the_token_check_can_fail() {
    for file in ["store.json", "auth/x/stderr.txt"] {
        let home = Home::new();
        let out = tempfile::tempdir().expect("tempdir");
        let target = if file.starts_with("auth") {
            out.path().join(file)
        } else {
            home.path().join(file)
        };
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::write(&target, b"{\"access_token\":\"test-token-17\"}").expect("write");
        let caught = std::panic::catch_unwind(|| no_token_material("self-test", &home, out.path()));
        assert!(caught.is_err(), "{file}: token material not found");
    }
}

/// What the suite's authorization servers issue or hand a client: access
/// tokens (`test-token-<ms>`, `cc-token-<ms>`), the authorization code,
/// client secrets, a PEM key. None may be in a file under the home, nor in
/// what the client saw on stderr (the bridge's lines included).
const TOKEN_MATERIAL: &[&str] = &[
    "test-token",
    "cc-token",
    "test-auth-code",
    "test-client-secret",
    "test-secret-",
    "pre-registered-secret",
    "conformance-test-secret",
    "PRIVATE KEY",
];

fn no_token_material(name: &str, home: &Home, out: &Path) {
    let mut files = Vec::new();
    collect_files(home.path(), &mut files);
    collect_files(out, &mut files);
    let mut found = Vec::new();
    for f in &files {
        let is_suite_record = f
            .file_name()
            .is_some_and(|n| n != "stderr.txt" && n != "stdout.txt")
            && f.starts_with(out);
        if is_suite_record {
            // checks.json: the suite's own record of what it issued
            continue;
        }
        let bytes = std::fs::read(f).unwrap_or_default();
        for m in TOKEN_MATERIAL {
            if memchr::memmem::find(&bytes, m.as_bytes()).is_some() {
                found.push(format!("{} holds {m:?}", f.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "{name}: token material on disk or in output: {found:#?}"
    );
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The suite's `auth/*` client scenarios (all of 0.1.16's but
/// cross-app-access, which needs an enterprise IdP token exchange connect
/// does not do), each through `connect`.
macro_rules! auth_scenarios {
    ($($test:ident => $name:literal,)*) => {
        $(
            #[test]
            fn $test() {
                client_scenario($name);
            }
        )*
    };
}

auth_scenarios! {
    auth_metadata_default => "auth/metadata-default",
    auth_metadata_var1 => "auth/metadata-var1",
    auth_metadata_var2 => "auth/metadata-var2",
    auth_metadata_var3 => "auth/metadata-var3",
    auth_basic_cimd => "auth/basic-cimd",
    auth_scope_from_www_authenticate => "auth/scope-from-www-authenticate",
    auth_scope_from_scopes_supported => "auth/scope-from-scopes-supported",
    auth_scope_omitted_when_undefined => "auth/scope-omitted-when-undefined",
    auth_scope_step_up => "auth/scope-step-up",
    auth_scope_retry_limit => "auth/scope-retry-limit",
    auth_token_endpoint_auth_basic => "auth/token-endpoint-auth-basic",
    auth_token_endpoint_auth_post => "auth/token-endpoint-auth-post",
    auth_token_endpoint_auth_none => "auth/token-endpoint-auth-none",
    auth_pre_registration => "auth/pre-registration",
    auth_2025_03_26_oauth_metadata_backcompat => "auth/2025-03-26-oauth-metadata-backcompat",
    auth_2025_03_26_oauth_endpoint_fallback => "auth/2025-03-26-oauth-endpoint-fallback",
    auth_resource_mismatch => "auth/resource-mismatch",
    auth_offline_access_scope => "auth/offline-access-scope",
    auth_offline_access_not_supported => "auth/offline-access-not-supported",
    auth_client_credentials_jwt => "auth/client-credentials-jwt",
    auth_client_credentials_basic => "auth/client-credentials-basic",
}

#[test]
fn client_initialize() {
    client_scenario("initialize");
}

#[test]
fn client_tools_call() {
    client_scenario("tools_call");
}

#[test]
fn client_elicitation_defaults() {
    client_scenario("elicitation-sep1034-client-defaults");
}

#[test]
fn client_sse_retry() {
    client_scenario("sse-retry");
}

/// A background process killed (and reaped) on drop; its output goes to a file.
struct Background {
    child: Child,
    name: &'static str,
    log: PathBuf,
}

impl Background {
    fn start(name: &'static str, mut c: Command, log_dir: &Path, port: u16) -> Background {
        let log = log_dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = c
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        let bg = Background { child, name, log };
        let up = wait_until(Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "{name} did not listen on {port}: {}", bg.log_text());
        bg
    }

    fn log_text(&self) -> String {
        format!(
            "{} log:\n{}",
            self.name,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// server-everything's Streamable HTTP endpoint on a free port.
fn start_everything(log_dir: &Path) -> (Background, String) {
    let port = free_port();
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_NODE"));
    c.arg(service_env("MCP_WARDEN_TEST_EVERYTHING"))
        .arg("streamableHttp")
        .env("PORT", port.to_string());
    let bg = Background::start("server-everything", c, log_dir, port);
    (bg, format!("http://127.0.0.1:{port}/mcp"))
}

/// tests/py/conformance_server.py (the Python SDK, every fixture the
/// server scenarios ask for) on a free port.
fn start_python_fixture(log_dir: &Path) -> (Background, String) {
    let port = free_port();
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"));
    c.arg(service_env("MCP_WARDEN_TEST_CONFORMANCE_SERVER"))
        .args(["--port", &port.to_string()]);
    let bg = Background::start("conformance_server.py", c, log_dir, port);
    (bg, format!("http://127.0.0.1:{port}/mcp"))
}

/// `mcp-warden connect URL`'s stdio side served over Streamable HTTP by
/// supergateway (stateful: one bridge per session).
fn start_bridge(home: &Home, url: &str, log_dir: &Path) -> (Background, String) {
    let port = free_port();
    let bridge = format!("{} connect {url}", no_spaces(&bin_path().to_string_lossy()));
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_NODE"));
    c.arg(service_env("MCP_WARDEN_TEST_SUPERGATEWAY"))
        .args([
            "--stdio",
            &bridge,
            "--outputTransport",
            "streamableHttp",
            "--stateful",
        ])
        .args(["--port", &port.to_string(), "--logLevel", "info"])
        .env("MCP_WARDEN_HOME", home.path())
        .env("MCP_WARDEN_KEY_STORE", "file");
    let bg = Background::start("supergateway", c, log_dir, port);
    (bg, format!("http://127.0.0.1:{port}/mcp"))
}

/// Scenarios about the HTTP listener itself: through `connect` that listener
/// is supergateway (it does not check Host/Origin), never the server, and the
/// bridge sends its own Host header; their outcome says nothing about
/// `connect`, so they are shown but not compared.
const FRONT_ONLY: &[&str] = &["dns-rebinding-protection"];

/// The Markdown table of docs/conformance.md: scenario, direct, through connect.
fn table(direct: &[ScenarioResult], bridged: &[ScenarioResult]) -> String {
    let mut t = String::from("| scenario | direct | through `connect` |\n|---|---|---|\n");
    for d in direct {
        let b = bridged
            .iter()
            .find(|b| b.scenario == d.scenario)
            .map_or("not run".to_string(), ScenarioResult::verdict);
        let note = if FRONT_ONLY.contains(&d.scenario.as_str()) {
            " (HTTP front: not compared)"
        } else {
            ""
        };
        t.push_str(&format!(
            "| {}{note} | {} | {b} |\n",
            d.scenario,
            d.verdict()
        ));
    }
    t
}

/// The suite's whole active server suite against `server` directly and
/// through `connect`; every compared scenario must end the same both ways.
fn server_scenarios(label: &str, start: fn(&Path) -> (Background, String), min_passed: usize) {
    let home = Home::new();
    let logs = tempfile::tempdir().expect("tempdir");
    let (server, direct_url) = start(logs.path());
    let (gateway, bridged_url) = start_bridge(&home, &direct_url, logs.path());
    let suite = Suite::new();
    let limit = Duration::from_secs(240);
    let (direct_dir, bridged_dir) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let (od, direct) = suite.run(
        &["server", "--url", &direct_url],
        &home,
        direct_dir.path(),
        limit,
    );
    let (ob, bridged) = suite.run(
        &["server", "--url", &bridged_url],
        &home,
        bridged_dir.path(),
        limit,
    );

    let t = table(&direct, &bridged);
    let report = format!(
        "{label}\n{t}\n--- direct run (exit {:?})\n{}\n--- through connect (exit {:?})\n{}\n{}\n{}",
        od.status.code(),
        text(&od.stdout),
        ob.status.code(),
        text(&ob.stdout),
        gateway.log_text(),
        server.log_text()
    );
    eprintln!("{label}\n{t}");
    if let Ok(dir) = std::env::var("CARGO_TARGET_TMPDIR") {
        let _ = std::fs::write(Path::new(&dir).join(format!("conformance-{label}.md")), &t);
    }
    let passed = direct
        .iter()
        .filter(|r| r.count("FAILURE") == 0 && r.count("SUCCESS") > 0)
        .count();
    assert!(
        passed >= min_passed,
        "only {passed} scenarios passed directly\n{report}"
    );
    let names = |rs: &[ScenarioResult]| rs.iter().map(|r| r.scenario.clone()).collect::<Vec<_>>();
    assert_eq!(
        names(&direct),
        names(&bridged),
        "not the same scenarios\n{report}"
    );
    let differ: Vec<_> = direct
        .iter()
        .zip(&bridged)
        .filter(|(d, _)| !FRONT_ONLY.contains(&d.scenario.as_str()))
        .filter(|(d, b)| d.outcome() != b.outcome())
        .map(|(d, b)| {
            format!(
                "{}: direct {:?}\n  through connect {:?}",
                d.scenario, d.checks, b.checks
            )
        })
        .collect();
    assert!(
        differ.is_empty(),
        "scenarios that end differently through connect:\n{}\n{report}",
        differ.join("\n")
    );
}

/// The Python SDK fixture passes every active server scenario directly.
#[test]
fn server_scenarios_python_sdk_same_through_connect() {
    server_scenarios("python-sdk", start_python_fixture, 30);
}

/// server-everything has only some of the suite's fixtures; whatever it
/// passes or fails directly, it must pass or fail the same through connect.
#[test]
fn server_scenarios_everything_same_through_connect() {
    server_scenarios("server-everything", start_everything, 10);
}
