//! `mcp-warden connect` against real remote MCP servers: the official Python
//! SDK server (Streamable HTTP, stateful and stateless, bearer token and URL
//! key required) and server-everything (Streamable HTTP and HTTP+SSE), driven
//! on the stdio side by the official Python client. Loopback only; every
//! wait bounded; the canary must never appear on any output path.

mod common;

use std::time::{Duration, Instant};

use common::remote::{self, Canned, PyOptions, Reply, Script};
use common::{CANARY, Home};
use serde_json::{Value, json};

fn token() -> String {
    format!("{CANARY}-token")
}

fn key() -> String {
    format!("{CANARY}-key")
}

/// A home with the bearer token in the local store and the URL key in a file.
struct Setup {
    home: Home,
    token_file: std::path::PathBuf,
    key_file: std::path::PathBuf,
    log: std::path::PathBuf,
    audit: std::path::PathBuf,
}

fn setup() -> Setup {
    let home = Home::new();
    home.set("remote-token", token().as_bytes());
    let token_file = home.path().join("server-token");
    std::fs::write(&token_file, token()).expect("token file");
    let key_file = home.path().join("url-key");
    std::fs::write(&key_file, key()).expect("key file");
    let log = home.path().join("server-log.jsonl");
    let audit = home.path().join("audit.jsonl");
    Setup {
        home,
        token_file,
        key_file,
        log,
        audit,
    }
}

impl Setup {
    fn server(&self, port: u16, stateless: bool) -> remote::Server {
        remote::python_server(&PyOptions {
            port,
            token_file: &self.token_file,
            key_file: Some(&self.key_file),
            stateless,
            log: &self.log,
            tls_dir: None,
        })
    }

    /// `connect` to the Python server on `port`: token from local://, key from file://.
    fn connect(&self, port: u16, extra: &[&str]) -> std::process::Command {
        let mut c = self.home.std_cmd();
        c.arg("connect")
            .arg(format!("http://127.0.0.1:{port}/mcp?key=%{{KEY}}"))
            .arg("TOKEN=local://remote-token")
            .arg(format!("KEY=file://{}", self.key_file.display()))
            .args(["-H", "Authorization: Bearer %{TOKEN}"])
            .arg("--audit-log")
            .arg(&self.audit)
            .args(extra);
        c
    }

    fn audit_text(&self) -> String {
        std::fs::read_to_string(&self.audit).unwrap_or_default()
    }
}

fn no_canary(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY),
        "the canary leaked into {what}: {text}"
    );
}

fn step(report: &Value, i: usize) -> &Value {
    &report["steps"][i]
}

fn texts(v: &Value) -> String {
    v["texts"].to_string()
}

#[test]
fn python_stateful_fills_header_and_url_and_redacts_an_echoed_token() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let steps = json!([
        {"op": "list"},
        {"op": "call", "name": "echo", "arguments": {"text": "hello"}},
        {"op": "call", "name": "whoami"},
        {"op": "call", "name": "fail"}
    ]);
    let (report, output) =
        remote::drive(s.connect(port, &["--name", "py"]), "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    let tools = step(&report, 0)["tools"].to_string();
    assert!(
        tools.contains("echo") && tools.contains("whoami"),
        "{tools}"
    );
    assert_eq!(texts(step(&report, 1)), r#"["echo: hello"]"#);
    // the server echoes the header it got: the client sees the redaction marker
    let who = texts(step(&report, 2));
    assert!(who.contains("[REDACTED:TOKEN]"), "{who}");
    assert_eq!(step(&report, 3)["isError"], true);
    no_canary("the client's stdout and stderr", &output);
    let audit = s.audit_text();
    assert!(
        audit.contains("\"server\":\"py\"") && audit.contains("whoami"),
        "{audit}"
    );
    no_canary("the audit log", &audit);
    // each call's record carries the HTTP status its POST got
    let calls: Vec<Value> = common::output::json_lines(&audit)
        .into_iter()
        .filter(|r| r["method"] == "tools/call")
        .collect();
    assert_eq!(calls.len(), 3, "{audit}");
    assert!(calls.iter().all(|r| r["http_status"] == 200), "{audit}");
    // the server saw the credentials on every request, and a session from initialize on
    let log = remote::read_log(&s.log);
    assert!(!log.is_empty());
    assert!(
        log.iter()
            .all(|l| l["auth_ok"] == true && l["key_ok"] == true),
        "{log:?}"
    );
    let posts: Vec<&Value> = log.iter().filter(|l| l["method"] == "POST").collect();
    assert!(posts[0]["session"].is_null());
    assert!(
        posts[1..].iter().all(|l| l["session"].is_string()),
        "{posts:?}"
    );
    assert!(
        posts[1..].iter().all(|l| l["version"].is_string()),
        "{posts:?}"
    );
    // stdin EOF ended the session on the server
    assert!(
        common::wait_until(Duration::from_secs(5), || remote::read_log(&s.log)
            .iter()
            .any(|l| l["method"] == "DELETE")),
        "no DELETE of the session: {:?}",
        remote::read_log(&s.log)
    );
}

#[test]
fn python_stateless_serves_both_eras() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, true);
    let steps = json!([{"op": "call", "name": "echo", "arguments": {"text": "old era"}}]);
    let (report, output) = remote::drive(s.connect(port, &[]), "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    assert_eq!(texts(step(&report, 0)), r#"["echo: old era"]"#);

    let steps = json!([{"op": "call", "name": "echo", "arguments": {"text": "new era"}}]);
    let (report, output) = remote::drive(s.connect(port, &[]), "discover", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    assert_eq!(texts(step(&report, 0)), r#"["echo: new era"]"#);
    no_canary("the client's output", &output);
    let log = remote::read_log(&s.log);
    let modern: Vec<&Value> = log.iter().filter(|l| l["mcp_method"].is_string()).collect();
    assert!(
        modern
            .iter()
            .any(|l| l["mcp_method"] == "tools/call" && l["mcp_name"] == "echo"),
        "{log:?}"
    );
    assert!(modern.iter().all(|l| l["session"].is_null()), "{log:?}");
}

#[test]
fn deny_policy_answers_locally_and_the_server_never_sees_the_call() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let steps = json!([
        {"op": "list"},
        {"op": "call", "name": "whoami"},
        {"op": "call", "name": "echo", "arguments": {"text": "allowed"}}
    ]);
    let (report, output) = remote::drive(
        s.connect(port, &["--deny-tool", "whoami"]),
        "initialize",
        &steps,
        40,
    );
    assert_eq!(report["ok"], true, "{report} {output}");
    assert!(!step(&report, 0)["tools"].to_string().contains("whoami"));
    assert_eq!(step(&report, 1)["error"]["code"], -32602, "{report}");
    assert_eq!(texts(step(&report, 2)), r#"["echo: allowed"]"#);
    let audit = s.audit_text();
    assert!(audit.contains("denied"), "{audit}");
    no_canary("the audit log", &audit);
}

/// The server restarts mid-session: the request whose answer stream was cut
/// gets an error (it may have run), while the next request, refused with 404
/// (the server never processed it), is sent once more after the bridge
/// replayed the client's initialize to start a new session.
#[test]
fn session_loss_fails_the_cut_request_and_resends_the_refused_one_in_a_new_session() {
    let s = setup();
    let port = remote::free_port();
    let mut server = s.server(port, false);
    let sent = s.home.path().join("sent");
    let restarted = s.home.path().join("restarted");
    let steps = json!([
        {"op": "call_bg", "name": "slow", "arguments": {"seconds": 30}},
        {"op": "touch", "path": sent},
        {"op": "join"},
        {"op": "wait_file", "path": restarted, "timeout": 30},
        {"op": "call", "name": "echo", "arguments": {"text": "after"}}
    ]);
    let conn = s.connect(port, &[]);
    let driver = std::thread::spawn(move || remote::drive(conn, "initialize", &steps, 60));
    assert!(common::wait_until(Duration::from_secs(30), || sent.exists()));
    std::thread::sleep(Duration::from_millis(500));
    server.stop();
    let _server2 = s.server(port, false);
    std::fs::write(&restarted, "").expect("marker");
    let (report, output) = driver.join().expect("driver");
    assert_eq!(report["ok"], true, "{report} {output}");
    let pending = step(&report, 2);
    assert!(pending["error"]["message"].is_string(), "{report}");
    assert_eq!(texts(step(&report, 4)), r#"["echo: after"]"#, "{report}");
    assert!(output.contains("starting a new one"), "{output}");
    no_canary("the output", &output);
}

#[test]
fn server_to_client_requests_pass_through_the_bridge() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let steps = json!([
        {"op": "call", "name": "ask_client"},
        {"op": "call", "name": "ask_user"},
        {"op": "call", "name": "progress"}
    ]);
    let (report, output) = remote::drive(s.connect(port, &[]), "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    let t = texts(step(&report, 0));
    assert!(
        t.contains("sampled: from-the-client") && t.contains("file:///client-root"),
        "{t}"
    );
    // elicitation: the server asks the client's user, the answer comes back
    assert_eq!(
        texts(step(&report, 1)),
        r#"["elicited: accept from-the-user"]"#,
        "{report}"
    );
    // progress notifications reach the client with the request's progress token
    assert_eq!(texts(step(&report, 2)), r#"["done"]"#, "{report}");
    assert_eq!(
        step(&report, 2)["progress"],
        json!([1.0, 2.0, 3.0]),
        "{report}"
    );
}

#[test]
fn cancellation_reaches_the_server_and_the_session_goes_on() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let steps = json!([
        {"op": "call_bg", "name": "slow", "arguments": {"seconds": 30}},
        {"op": "cancel_bg", "after": 1.0},
        {"op": "join"},
        {"op": "call", "name": "echo", "arguments": {"text": "still here"}}
    ]);
    let (report, output) = remote::drive(s.connect(port, &[]), "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    assert_eq!(step(&report, 2)["cancelled"], true, "{report}");
    assert_eq!(texts(step(&report, 3)), r#"["echo: still here"]"#);
    assert!(
        common::wait_until(Duration::from_secs(10), || remote::read_log(&s.log)
            .iter()
            .any(|l| l["event"] == "slow-cancelled")),
        "the server never saw the cancellation"
    );
}

#[test]
fn streamable_everything_through_the_official_client() {
    let server = remote::everything("streamableHttp");
    let home = Home::new();
    let mut c = home.std_cmd();
    c.arg("connect")
        .arg(format!("http://127.0.0.1:{}/mcp", server.port))
        .arg("--no-audit");
    let steps =
        json!([{"op": "list"}, {"op": "call", "name": "echo", "arguments": {"message": "hi"}}]);
    let (report, output) = remote::drive(c, "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    assert!(step(&report, 0)["tools"].to_string().contains("echo"));
    assert!(texts(step(&report, 1)).contains("hi"), "{report}");
}

#[test]
fn sse_everything_is_reached_by_the_auto_fallback() {
    let server = remote::everything("sse");
    let home = Home::new();
    for transport in ["auto", "sse"] {
        let mut c = home.std_cmd();
        c.arg("connect")
            .arg(format!("http://127.0.0.1:{}/sse", server.port))
            .args(["--transport", transport, "--no-audit"]);
        let steps = json!([{"op": "call", "name": "echo", "arguments": {"message": "legacy"}}]);
        let (report, output) = remote::drive(c, "initialize", &steps, 40);
        assert_eq!(report["ok"], true, "{transport}: {report} {output}");
        assert!(texts(step(&report, 0)).contains("legacy"), "{report}");
    }
}

#[test]
fn a_server_that_never_answers_gives_an_error_within_the_timeout() {
    let silent = Canned::start(Reply::Silent);
    let home = Home::new();
    home.set("t", CANARY.as_bytes());
    let mut c = home.std_cmd();
    c.arg("connect")
        .arg(silent.url("/mcp"))
        .arg("T=local://t")
        .args([
            "-H",
            "Authorization: Bearer %{T}",
            "--read-timeout",
            "1s",
            "--no-audit",
        ]);
    let start = Instant::now();
    let (report, output) = remote::drive(c, "initialize", &json!([]), 30);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(report["ok"], false);
    let msg = report["rpcError"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("did not answer within 1s"),
        "{report} {output}"
    );
    no_canary("the client's output", &output);
}

#[test]
fn a_redirect_of_a_post_to_another_origin_is_refused_and_carries_nothing() {
    let target = Canned::start(Reply::Status(404));
    let redirector = Canned::start(Reply::Redirect(target.url("/elsewhere?q=1")));
    let home = Home::new();
    home.set("t", CANARY.as_bytes());
    let mut c = home.std_cmd();
    c.arg("connect")
        .arg(redirector.url("/mcp"))
        .arg("T=local://t")
        .args([
            "-H",
            "Authorization: Bearer %{T}",
            "-H",
            "X-Api-Key: %{T}",
            "--no-audit",
        ]);
    let (report, output) = remote::drive(c, "initialize", &json!([]), 30);
    assert_eq!(report["ok"], false, "{report}");
    let msg = report["rpcError"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("to another origin") && msg.contains(&target.url("")) && !msg.contains("q=1"),
        "{report} {output}"
    );
    // the origin got the headers; the other origin got nothing (no body, no headers)
    assert!(redirector.received().contains(CANARY));
    let got = target.received();
    no_canary("what the other origin received", &got);
    assert!(!got.to_ascii_lowercase().contains("authorization"), "{got}");
    assert!(
        !got.contains("POST"),
        "the POST was re-sent to the other origin: {got}"
    );
    no_canary("the client's output", &output);
}

fn run_connect(home: &Home, args: &[&str]) -> std::process::Output {
    let mut c = home.std_cmd();
    c.arg("connect").args(args);
    common::process::pipe(&mut c, b"")
}

#[test]
fn a_value_with_a_line_break_is_refused_with_65_naming_the_variable() {
    let home = Home::new();
    home.set("bad", format!("{CANARY}\r\nX-Injected: 1").as_bytes());
    let out = run_connect(
        &home,
        &[
            "https://127.0.0.1:9/mcp",
            "BAD=local://bad",
            "-H",
            "Authorization: Bearer %{BAD}",
        ],
    );
    assert_eq!(out.status.code(), Some(65));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("BAD:") && err.contains("line break"), "{err}");
    no_canary("stderr", &err);
    assert!(out.stdout.is_empty());
    let out = run_connect(
        &home,
        &["https://127.0.0.1:9/mcp?t=%{BAD}", "BAD=local://bad"],
    );
    assert_eq!(out.status.code(), Some(65));
    no_canary("stderr", &String::from_utf8_lossy(&out.stderr));
}

#[test]
fn plain_http_to_a_remote_host_is_refused_before_anything_is_fetched() {
    let home = Home::new();
    let out = run_connect(&home, &["http://example.com/mcp", "T=local://missing"]);
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plain http"), "{err}");
    let out = run_connect(
        &home,
        &["https://%{T}.example.com/mcp", "T=local://missing"],
    );
    assert_eq!(out.status.code(), Some(64));
}

#[test]
fn stdin_eof_exits_promptly() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let start = Instant::now();
    let mut c = s.connect(port, &[]);
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let out = common::process::pipe(&mut c, format!("{init}\n").as_bytes());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"protocolVersion\""), "{stdout}");
    no_canary("stdout", &stdout);
}

#[test]
fn tls_is_verified_against_the_system_roots_or_ssl_cert_file() {
    let s = setup();
    let pki = s.home.path().join("pki");
    std::fs::create_dir_all(&pki).expect("pki dir");
    remote::make_tls(&pki);
    let port = remote::free_port();
    let _server = remote::python_server(&PyOptions {
        port,
        token_file: &s.token_file,
        key_file: None,
        stateless: false,
        log: &s.log,
        tls_dir: Some(&pki),
    });
    let connect = |ca: Option<&std::path::Path>| {
        let mut c = s.home.std_cmd();
        c.arg("connect")
            .arg(format!("https://127.0.0.1:{port}/mcp"))
            .arg("TOKEN=local://remote-token")
            .args(["-H", "Authorization: Bearer %{TOKEN}", "--no-audit"])
            .env_remove("SSL_CERT_DIR");
        match ca {
            Some(ca) => c.env("SSL_CERT_FILE", ca),
            None => c.env_remove("SSL_CERT_FILE"),
        };
        c
    };
    let steps = json!([{"op": "call", "name": "echo", "arguments": {"text": "over tls"}}]);
    // an unknown CA: refused, nothing sent
    let (report, output) = remote::drive(connect(None), "initialize", &steps, 30);
    assert_eq!(report["ok"], false, "{report}");
    let msg = report["rpcError"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("cannot reach https://127.0.0.1"),
        "{report} {output}"
    );
    no_canary("the client's output", &output);
    assert!(remote::read_log(&s.log).is_empty(), "a request got through");
    // the private CA through SSL_CERT_FILE: served
    let ca = pki.join("ca.pem");
    let (report, output) = remote::drive(connect(Some(&ca)), "initialize", &steps, 30);
    assert_eq!(report["ok"], true, "{report} {output}");
    assert_eq!(texts(step(&report, 0)), r#"["echo: over tls"]"#);
}

#[test]
fn https_proxy_is_honoured_and_sees_only_a_tunnel() {
    let s = setup();
    let proxy = Canned::start(Reply::Status(502));
    // a remote host (loopback ones are always reached directly); the proxy
    // resolves it, so no DNS is needed here
    let mut c = s.home.std_cmd();
    c.arg("connect")
        .arg("https://mcp.example.invalid:8443/mcp")
        .arg("TOKEN=local://remote-token")
        .args(["-H", "Authorization: Bearer %{TOKEN}", "--no-audit"])
        .env("HTTPS_PROXY", proxy.url(""))
        .env_remove("NO_PROXY")
        .env_remove("no_proxy");
    let (report, output) = remote::drive(c, "initialize", &json!([]), 30);
    assert_eq!(report["ok"], false, "{report}");
    let got = proxy.received();
    assert!(got.starts_with("CONNECT mcp.example.invalid:8443"), "{got}");
    no_canary("what the proxy saw", &got);
    no_canary("the client's output", &output);
}

#[test]
fn a_loopback_server_is_reached_directly_even_with_a_proxy_set() {
    let proxy = Canned::start(Reply::Status(502));
    let target = Canned::start(Reply::Status(404));
    let home = Home::new();
    home.set("t", CANARY.as_bytes());
    for host in ["127.0.0.1", "localhost"] {
        let mut c = home.std_cmd();
        c.arg("connect")
            .arg(format!("http://{host}:{}/mcp", target.port))
            .arg("T=local://t")
            .args(["-H", "Authorization: Bearer %{T}", "--no-audit"])
            .args(["--transport", "http"]);
        for var in [
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
            "HTTPS_PROXY",
        ] {
            c.env(var, proxy.url(""));
        }
        c.env_remove("NO_PROXY").env_remove("no_proxy");
        let (report, output) = remote::drive(c, "initialize", &json!([]), 30);
        assert_eq!(report["ok"], false, "{report}");
        no_canary("the client's output", &output);
    }
    assert_eq!(proxy.received(), "", "the proxy saw loopback traffic");
    let got = target.received();
    assert_eq!(got.matches("POST /mcp").count(), 2, "{got}");
}

#[test]
fn a_remote_profile_starts_with_connect_and_with_run() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let config = format!(
        "[servers.remote]\n\
         url = \"http://127.0.0.1:{port}/mcp?key=%{{KEY}}\"\n\
         headers = {{ Authorization = \"Bearer %{{TOKEN}}\" }}\n\
         env = {{ TOKEN = \"local://remote-token\", KEY = \"file://{}\" }}\n\
         deny_tools = [\"whoami\"]\n",
        s.key_file.display()
    );
    std::fs::write(s.home.path().join("config.toml"), config).expect("config");
    let steps = json!([
        {"op": "call", "name": "whoami"},
        {"op": "call", "name": "echo", "arguments": {"text": "profile"}}
    ]);
    for verb in ["connect", "run"] {
        let mut c = s.home.std_cmd();
        c.args([verb, "@remote", "--audit-log"]).arg(&s.audit);
        let (report, output) = remote::drive(c, "initialize", &steps, 40);
        assert_eq!(report["ok"], true, "{verb}: {report} {output}");
        assert_eq!(
            step(&report, 0)["error"]["code"],
            -32602,
            "{verb}: {report}"
        );
        assert_eq!(texts(step(&report, 1)), r#"["echo: profile"]"#, "{verb}");
        no_canary("the client's output", &output);
    }
    let audit = s.audit_text();
    assert!(audit.contains("\"server\":\"remote\""), "{audit}");
    no_canary("the audit log", &audit);
    // the command line may narrow the profile's policy, never weaken it
    let out = run_connect(&s.home, &["@remote", "--no-audit"]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // nothing runs here: the pin covers the url and headers, and a change is refused
    let pin = |extra: &[&str]| {
        let mut c = s.home.std_cmd();
        common::process::pipe(c.args(["pin", "@remote"]).args(extra), b"")
    };
    assert_eq!(pin(&[]).status.code(), Some(0));
    assert_eq!(pin(&["--check"]).status.code(), Some(0));
    let path = s.home.path().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    assert!(
        text.contains("argv_sha256") && !text.contains("command_sha256"),
        "{text}"
    );
    std::fs::write(&path, text.replace("/mcp?key=", "/mcp?x=1&key=")).expect("edit");
    let requests_before = remote::read_log(&s.log).len();
    let out = run_connect(&s.home, &["@remote"]);
    assert_eq!(out.status.code(), Some(77));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("url or headers changed"), "{err}");
    assert_eq!(
        remote::read_log(&s.log).len(),
        requests_before,
        "sent after a refusal"
    );
    assert_eq!(pin(&["--check"]).status.code(), Some(77));
    assert_eq!(pin(&["--update-pin"]).status.code(), Some(0));
    assert_eq!(pin(&["--check"]).status.code(), Some(0));
}

#[test]
fn a_dropped_answer_stream_is_resumed_with_last_event_id() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    let steps = json!([{"op": "call", "name": "dropped"}]);
    let (report, output) = remote::drive(s.connect(port, &[]), "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    assert_eq!(
        texts(step(&report, 0)),
        r#"["answered after the stream was dropped"]"#,
        "{report} {output}"
    );
    let log = remote::read_log(&s.log);
    assert!(
        log.iter()
            .any(|l| l["method"] == "GET" && l["last_event_id"].is_string()),
        "no GET with Last-Event-ID: {log:?}"
    );
}

#[test]
fn a_lost_sse_stream_is_reopened_with_a_new_session() {
    let port = remote::free_port();
    let mut server = remote::everything_on("sse", port);
    let home = Home::new();
    let sent = home.path().join("sent");
    let restarted = home.path().join("restarted");
    let steps = json!([
        {"op": "call", "name": "echo", "arguments": {"message": "one"}},
        {"op": "touch", "path": sent},
        {"op": "wait_file", "path": restarted, "timeout": 30},
        {"op": "call", "name": "echo", "arguments": {"message": "two"}}
    ]);
    let mut c = home.std_cmd();
    c.arg("connect")
        .arg(format!("http://127.0.0.1:{port}/sse"))
        .args(["--transport", "sse", "--no-audit"]);
    let driver = std::thread::spawn(move || remote::drive(c, "initialize", &steps, 60));
    assert!(common::wait_until(Duration::from_secs(30), || sent.exists()));
    server.stop();
    let _server2 = remote::everything_on("sse", port);
    std::fs::write(&restarted, "").expect("marker");
    let (report, output) = driver.join().expect("driver");
    assert_eq!(report["ok"], true, "{report} {output}");
    assert!(texts(step(&report, 0)).contains("one"), "{report}");
    assert!(texts(step(&report, 3)).contains("two"), "{report} {output}");
    assert!(output.contains("reopening the event stream"), "{output}");
}

/// What a bridge fed raw lines did.
struct Fed {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// From the end of its input to its exit.
    exit_after_eof: Duration,
}

/// Runs `connect` to `url` (plus `extra`), writes `lines`, keeps its input
/// open for `hold`, closes it and waits (at most 30 s) for the exit.
fn feed(home: &Home, url: &str, extra: &[&str], lines: &[Value], hold: Duration) -> Fed {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut c = home.std_cmd();
    c.arg("connect")
        .arg(url)
        .arg("--no-audit")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn connect");
    let mut stdin = child.stdin.take().expect("stdin");
    for l in lines {
        writeln!(stdin, "{l}").expect("write");
    }
    stdin.flush().expect("flush");
    std::thread::sleep(hold);
    drop(stdin);
    let eof = Instant::now();
    let mut code = None;
    while eof.elapsed() < Duration::from_secs(30) {
        if let Some(st) = child.try_wait().expect("wait") {
            code = st.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let exit_after_eof = eof.elapsed();
    if code.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("output");
    Fed {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        exit_after_eof,
    }
}

fn init_lines() -> Vec<Value> {
    vec![
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
            "protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
        json!({"jsonrpc":"2.0","method":"notifications/initialized"}),
    ]
}

#[test]
fn a_server_retry_of_zero_does_not_shorten_the_event_stream_backoff() {
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 200,
        get_body: "retry: 0\n\n".into(),
        ..Script::default()
    }));
    let home = Home::new();
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &[],
        &init_lines(),
        Duration::from_secs(3),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    let gets = server.received().matches("GET /mcp").count();
    // 0.5 s doubling: about four GETs in three seconds, not a tight loop
    assert!((1..=5).contains(&gets), "{gets} GETs: {}", fed.stderr);
}

#[test]
fn an_event_stream_refused_with_4xx_is_given_up_with_one_line() {
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 403,
        ..Script::default()
    }));
    let home = Home::new();
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &[],
        &init_lines(),
        Duration::from_secs(3),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    assert_eq!(server.received().matches("GET /mcp").count(), 3);
    assert_eq!(
        fed.stderr.matches("giving up the event stream").count(),
        1,
        "{}",
        fed.stderr
    );
    assert!(
        fed.stderr.matches("retrying the event stream").count() <= 1,
        "{}",
        fed.stderr
    );
}

#[test]
fn a_notification_answered_with_an_endless_stream_does_not_hold_up_eof() {
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 405,
        notify_hold: true,
        ..Script::default()
    }));
    let home = Home::new();
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &[],
        &init_lines(),
        Duration::from_millis(500),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    assert!(
        fed.exit_after_eof < Duration::from_secs(8),
        "took {:?}",
        fed.exit_after_eof
    );
    assert!(fed.stdout.contains("\"scripted\""), "{}", fed.stdout);
    // the session was ended after the input closed
    assert!(
        common::wait_until(Duration::from_secs(5), || server
            .received()
            .contains("DELETE /mcp")),
        "{}",
        server.received()
    );
}

#[test]
fn a_legacy_request_whose_answer_never_comes_fails_after_the_read_timeout() {
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 200,
        get_body: "event: endpoint\ndata: /messages\n\n".into(),
        get_hold: true,
        legacy: true,
        ..Script::default()
    }));
    let home = Home::new();
    let fed = feed(
        &home,
        &server.url("/sse"),
        &["--transport", "sse", "--read-timeout", "1s"],
        &init_lines()[..1],
        Duration::from_secs(5),
    );
    let reply: Value = fed
        .stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert_eq!(reply["id"], 1, "{} {}", fed.stdout, fed.stderr);
    let msg = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("sent nothing for 1s"), "{reply}");
}

#[test]
fn a_second_initialize_ends_the_old_session_on_the_server() {
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 405,
        ..Script::default()
    }));
    let home = Home::new();
    let mut lines = init_lines();
    let mut again = lines[0].clone();
    again["id"] = json!(2);
    lines.extend([again, lines[1].clone()]);
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &[],
        &lines,
        Duration::from_secs(1),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    // one DELETE for the replaced session, one at the end of input
    assert!(
        common::wait_until(Duration::from_secs(5), || server
            .received()
            .matches("DELETE /mcp")
            .count()
            == 2),
        "{}",
        server.received()
    );
}

#[test]
fn a_client_id_that_looks_internal_still_gets_its_error() {
    let server = Canned::start(Reply::Status(500));
    let home = Home::new();
    let mut init = init_lines()[0].clone();
    init["id"] = json!("mcp-warden-internal-0");
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &["--transport", "http"],
        &[init],
        Duration::from_secs(1),
    );
    let reply: Value = fed
        .stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert_eq!(
        reply["id"], "mcp-warden-internal-0",
        "{} {}",
        fed.stdout, fed.stderr
    );
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("HTTP 500"),
        "{reply}"
    );
}

#[test]
fn requests_refused_together_by_a_lost_session_wait_for_one_new_session() {
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 405,
        forget_first_session: true,
        ..Script::default()
    }));
    let home = Home::new();
    let mut lines = init_lines();
    for id in [2, 3, 4] {
        lines.push(json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
            "params":{"name":"echo","arguments":{}}}));
    }
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &[],
        &lines,
        Duration::from_secs(2),
    );
    let replies: Vec<Value> = fed
        .stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    for id in [2, 3, 4] {
        let r = replies.iter().find(|r| r["id"] == id);
        assert!(
            r.is_some_and(|r| r["result"].is_object()),
            "request {id}: {replies:?} {}",
            fed.stderr
        );
    }
    assert_eq!(
        fed.stderr.matches("starting a new one").count(),
        1,
        "{}",
        fed.stderr
    );
    assert_eq!(
        server
            .received()
            .matches(r#""method":"initialize""#)
            .count(),
        2
    );
}

#[test]
fn a_legacy_stream_that_never_names_its_endpoint_fails_within_the_read_timeout() {
    // events keep coming (never silent for long), but never `endpoint`
    let server = Canned::start(Reply::Mcp(Script {
        get_status: 200,
        get_body: ": open\n\n".into(),
        get_hold: true,
        trickle: "event: ping\ndata: {}\n\n".into(),
        legacy: true,
        ..Script::default()
    }));
    let home = Home::new();
    let fed = feed(
        &home,
        &server.url("/sse"),
        &["--transport", "sse", "--read-timeout", "1s"],
        &init_lines()[..1],
        Duration::from_secs(4),
    );
    let reply: Value = fed
        .stdout
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(Value::Null);
    assert_eq!(reply["id"], 1, "{} {}", fed.stdout, fed.stderr);
    let msg = reply["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("did not name its endpoint within 1s"),
        "{reply}"
    );
}

#[test]
fn sigterm_is_obeyed_while_initialize_is_still_unanswered() {
    use std::io::Write as _;
    use std::process::Stdio;
    let silent = Canned::start(Reply::Silent);
    let home = Home::new();
    let mut c = home.std_cmd();
    c.arg("connect")
        .arg(silent.url("/mcp"))
        .arg("--no-audit")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn connect");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{}", init_lines()[0]).expect("write");
    stdin.flush().expect("flush");
    assert!(common::wait_until(Duration::from_secs(10), || silent
        .received()
        .contains("POST /mcp")));
    let pid = i32::try_from(child.id()).expect("pid");
    common::kill(pid, "TERM");
    let sent = Instant::now();
    let mut code = None;
    while sent.elapsed() < Duration::from_secs(20) {
        if let Some(st) = child.try_wait().expect("wait") {
            code = st.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if code.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    drop(stdin);
    assert_eq!(code, Some(143), "after {:?}", sent.elapsed());
    assert!(
        sent.elapsed() < Duration::from_secs(8),
        "took {:?}",
        sent.elapsed()
    );
}

/// A server that wants OAuth, no stored tokens, no browser: the client gets
/// a JSON-RPC error naming `mcp-warden login URL`, and stderr says it once.
#[test]
fn a_401_without_tokens_or_browser_answers_with_the_login_hint() {
    let server = Canned::start(Reply::Status(401));
    let home = Home::new();
    let url = server.url("/mcp");
    let fed = feed(
        &home,
        &url,
        &["--no-browser"],
        &init_lines(),
        Duration::from_millis(1500),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    let hint = format!("run `mcp-warden login {url}`");
    let answer: Value =
        serde_json::from_str(fed.stdout.lines().next().unwrap_or("null")).expect("one JSON line");
    assert_eq!(answer["id"], 1, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&hint), "{message}");
    assert_eq!(fed.stderr.matches(&hint).count(), 1, "{}", fed.stderr);
    // nothing was stored, and nothing asked the user
    assert!(!home.path().join("oauth").join("index.json").exists());
}

/// An Authorization header of the user's own and OAuth options do not mix.
#[test]
fn an_own_authorization_header_and_oauth_options_are_refused() {
    let home = Home::new();
    let out = home
        .std_cmd()
        .args([
            "connect",
            "https://mcp.example.com/mcp",
            "-H",
            "Authorization: Bearer x",
            "--oauth",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OAuth options"), "{err}");
}

/// A client secret given as a value (not a reference) is refused unseen.
#[test]
fn a_client_secret_value_is_refused_without_being_echoed() {
    let home = Home::new();
    let out = home
        .std_cmd()
        .args([
            "connect",
            "https://mcp.example.com/mcp",
            "--client-id",
            "c",
            "--client-secret",
            "canary-s3cret-value",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(all.contains("--client-secret takes a reference"), "{all}");
    assert!(!all.contains("canary-s3cret"), "{all}");
}

/// Puts a grant for `resource` with `access` as its access token into the
/// OAuth store of `home`: the index entry, and the tokens in the local store.
fn stored_grant(home: &Home, resource: &str, access: &str) {
    stored_grant_with(home, resource, access, json!({}));
}

/// [`stored_grant`] with a refresh token and `more` endpoints (e.g. a
/// `revocation_endpoint`).
fn stored_grant_with(home: &Home, resource: &str, access: &str, more: Value) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let tokens = json!({"access_token": access, "token_type": "Bearer", "expires_at": now + 3600,
        "refresh_token": format!("{access}-refresh")});
    home.set("oauth-test-grant", tokens.to_string().as_bytes());
    let mut endpoints =
        json!({"issuer": "http://127.0.0.1:9", "token_endpoint": "http://127.0.0.1:9/token"});
    for (k, v) in more.as_object().into_iter().flatten() {
        endpoints[k] = v.clone();
    }
    let index = json!({"version": 1, "grants": [{
        "key": {"issuer": "http://127.0.0.1:9", "resource": resource, "client_id": "test-client"},
        "tokens_ref": "local://oauth-test-grant",
        "expires_at": now + 3600,
        "has_refresh": true,
        "saved_at": now,
        "endpoints": endpoints
    }]});
    let dir = home.path().join("oauth");
    std::fs::create_dir_all(&dir).expect("oauth dir");
    std::fs::write(dir.join("index.json"), index.to_string()).expect("index");
}

/// An OAuth access token (from the store, not a reference the guard was
/// given) that the server echoes reaches neither the client nor the audit
/// log: the bridge adds every token it sends to the redaction set.
#[test]
fn an_echoed_oauth_token_is_redacted() {
    let s = setup();
    let port = remote::free_port();
    let _server = s.server(port, false);
    stored_grant(&s.home, &format!("http://127.0.0.1:{port}/mcp"), &token());
    let mut c = s.home.std_cmd();
    c.arg("connect")
        .arg(format!("http://127.0.0.1:{port}/mcp?key=%{{KEY}}"))
        .arg(format!("KEY=file://{}", s.key_file.display()))
        .arg("--audit-log")
        .arg(&s.audit)
        .arg("--no-browser");
    let steps = json!([{"op": "call", "name": "whoami"}]);
    let (report, output) = remote::drive(c, "initialize", &steps, 40);
    assert_eq!(report["ok"], true, "{report} {output}");
    let who = texts(step(&report, 0));
    assert!(who.contains("[REDACTED:OAUTH_ACCESS_TOKEN]"), "{who}");
    no_canary("the client's stdout and stderr", &output);
    no_canary("the audit log", &s.audit_text());
}

/// OAuth options for a URL whose path holds `%{NAME}` are refused: the
/// filled path would name the stored grant and be shown.
#[test]
fn oauth_options_with_a_placeholder_in_the_path_are_refused() {
    let home = Home::new();
    let out = home
        .std_cmd()
        .args([
            "connect",
            "https://mcp.example.com/%{P}/mcp",
            "P=local://path-secret",
            "--oauth",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without %{NAME} in its path"), "{err}");
}

/// A server whose URL path holds a secret gets no OAuth: its 401 is
/// reported as without OAuth, nothing is stored, the value is never shown.
#[test]
fn a_placeholder_in_the_path_turns_oauth_off() {
    let server = Canned::start(Reply::Status(401));
    let home = Home::new();
    home.set("path-secret", CANARY.as_bytes());
    let url = server.url("/%{P}/mcp");
    let fed = feed(
        &home,
        &url,
        &["P=local://path-secret"],
        &init_lines(),
        Duration::from_millis(1500),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    assert!(!fed.stdout.contains("mcp-warden login"), "{}", fed.stdout);
    assert!(fed.stdout.contains("401"), "{}", fed.stdout);
    no_canary("stdout", &fed.stdout);
    no_canary("stderr", &fed.stderr);
    assert!(!home.path().join("oauth").join("index.json").exists());
}

/// The login hint of a URL whose query holds `%{NAME}` names the URL
/// without that query (what `login` accepts; grants are kept without it).
#[test]
fn the_login_hint_drops_a_query_with_placeholders() {
    let server = Canned::start(Reply::Status(401));
    let home = Home::new();
    home.set("query-secret", CANARY.as_bytes());
    let base = server.url("/mcp");
    let fed = feed(
        &home,
        &format!("{base}?key=%{{K}}"),
        &["K=local://query-secret", "--no-browser"],
        &init_lines(),
        Duration::from_millis(1500),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    let hint = format!("run `mcp-warden login {base}` in a terminal");
    assert!(fed.stdout.contains(&hint), "{}", fed.stdout);
    assert_eq!(fed.stderr.matches(&hint).count(), 1, "{}", fed.stderr);
    no_canary("stdout", &fed.stdout);
    no_canary("stderr", &fed.stderr);
}

/// A revocation the authorization server refuses fails `logout` (77) and
/// keeps the tokens (the only copy of a valid refresh token); `--force`
/// deletes them anyway. No token in any output.
#[test]
fn a_failed_revocation_keeps_the_tokens_unless_forced() {
    let revocation = Canned::start(Reply::Status(401));
    let home = Home::new();
    let resource = "https://mcp.example.com/mcp";
    let access = format!("{CANARY}-access");
    stored_grant_with(
        &home,
        resource,
        &access,
        json!({"revocation_endpoint": revocation.url("/revoke")}),
    );
    let index = home.path().join("oauth").join("index.json");
    let logout = |extra: &[&str]| {
        home.std_cmd()
            .args(["logout", resource])
            .args(extra)
            .output()
            .expect("run logout")
    };
    let out = logout(&[]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        matches!(out.status.code(), Some(65 | 69 | 77)),
        "{:?} {err}",
        out.status.code()
    );
    assert!(err.contains("could not revoke the refresh token"), "{err}");
    assert!(err.contains("--force"), "{err}");
    no_canary("stderr", &err);
    let kept = std::fs::read_to_string(&index).expect("index kept");
    assert!(kept.contains(resource), "{kept}");
    let out = logout(&["--force"]);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("deleting the tokens anyway"), "{err}");
    no_canary("stderr", &err);
    let left = std::fs::read_to_string(&index).unwrap_or_default();
    assert!(!left.contains(resource), "{left}");
}

/// An unreadable OAuth index does not break a server that never asks for
/// OAuth: the requests go without credentials, stderr says it once.
#[test]
fn an_unreadable_oauth_index_does_not_break_a_server_without_oauth() {
    let server = Canned::start(Reply::Mcp(Script::default()));
    let home = Home::new();
    let dir = home.path().join("oauth");
    std::fs::create_dir_all(&dir).expect("oauth dir");
    std::fs::write(dir.join("index.json"), "{not json").expect("index");
    let fed = feed(
        &home,
        &server.url("/mcp"),
        &[],
        &init_lines(),
        Duration::from_millis(1500),
    );
    assert_eq!(fed.code, Some(0), "{}", fed.stderr);
    let answer: Value =
        serde_json::from_str(fed.stdout.lines().next().unwrap_or("null")).expect("one JSON line");
    assert!(answer["result"].is_object(), "{answer}");
    assert_eq!(
        fed.stderr
            .matches("going on without stored OAuth tokens")
            .count(),
        1,
        "{}",
        fed.stderr
    );
}
