//! `run`'s supervise mode as an MCP proxy, end to end: the official Python MCP
//! client drives `@modelcontextprotocol/server-everything` (both real, both
//! installed by scripts/test) through mcp-warden.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::output::json_lines;
use common::process::wait_with_timeout;
use common::{CANARY, Home, bin_path, service_env};
use serde_json::Value;

fn everything() -> Vec<String> {
    vec![
        service_env("MCP_WARDEN_TEST_NODE"),
        service_env("MCP_WARDEN_TEST_EVERYTHING"),
        "stdio".into(),
    ]
}

/// Runs the official MCP client against `mcp-warden <run_args> -- <server>`.
fn session(home: &Home, run_args: &[&str], calls: &[Value]) -> Value {
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"));
    c.arg(service_env("MCP_WARDEN_TEST_MCP_SESSION"));
    for call in calls {
        c.arg("--call").arg(call.to_string());
    }
    c.arg("--")
        .arg(bin_path())
        .arg("run")
        .args(run_args)
        .arg("--")
        .args(everything());
    c.env("MCP_WARDEN_HOME", home.path())
        .env("MCP_WARDEN_KEY_STORE", "file");
    let out = c.output().expect("python MCP client");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains(CANARY),
        "the canary reached the client: {text}"
    );
    serde_json::from_str(&text).expect("client output is JSON")
}

fn audit_records(home: &Home) -> Vec<Value> {
    let path = home.path().join("audit").join("audit.jsonl");
    let text = std::fs::read_to_string(&path).expect("audit log exists");
    assert!(!text.contains(CANARY), "the canary reached the audit log");
    json_lines(&text)
}

#[test]
fn initialize_list_and_call_through_the_proxy() {
    let home = Home::new();
    home.set("tok", CANARY.as_bytes());
    let out = session(
        &home,
        &["TOKEN=local://tok"],
        &[serde_json::json!({"name": "echo", "arguments": {"message": "hello"}})],
    );
    assert_eq!(out["serverInfo"]["name"], "mcp-servers/everything");
    let tools: Vec<&str> = out["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        tools.contains(&"echo") && tools.contains(&"get-env"),
        "{tools:?}"
    );
    assert_eq!(out["calls"][0]["texts"][0], "Echo: hello");
}

#[test]
fn the_servers_environment_comes_back_redacted() {
    let home = Home::new();
    home.set("tok", CANARY.as_bytes());
    let out = session(
        &home,
        &["GITHUB_TOKEN=local://tok"],
        &[serde_json::json!({"name": "get-env", "arguments": {}})],
    );
    let text = out["calls"][0]["texts"][0].as_str().unwrap();
    let env: Value = serde_json::from_str(text).expect("redacted output is still valid JSON");
    assert_eq!(env["GITHUB_TOKEN"], "[REDACTED:GITHUB_TOKEN]");
    // session() already asserted the canary never reached the client.
}

#[test]
fn a_denied_tool_errors_and_never_reaches_the_server() {
    let home = Home::new();
    let seen = home.path().join("server-stdin.log");
    // The real server, with a tee recording every byte it receives.
    let wrapper = format!("tee {} | exec \"$0\" \"$@\"", seen.display());
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"));
    c.arg(service_env("MCP_WARDEN_TEST_MCP_SESSION"))
        .arg("--call")
        .arg(serde_json::json!({"name": "get-env", "arguments": {}}).to_string())
        .arg("--call")
        .arg(serde_json::json!({"name": "echo", "arguments": {"message": "allowed"}}).to_string())
        .arg("--")
        .arg(bin_path())
        .args(["run", "--deny-tool", "get-*", "--", "sh", "-c", &wrapper])
        .args(everything())
        .env("MCP_WARDEN_HOME", home.path())
        .env("MCP_WARDEN_KEY_STORE", "file");
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        !tools.iter().any(|t| t.starts_with("get-")),
        "denied tools listed: {tools:?}"
    );
    assert!(tools.contains(&"echo"));
    let denied = &v["calls"][0];
    assert!(
        denied["error"]["message"]
            .as_str()
            .unwrap()
            .contains("get-env"),
        "{denied}"
    );
    assert_eq!(v["calls"][1]["texts"][0], "Echo: allowed");
    let received = std::fs::read_to_string(&seen).unwrap();
    assert!(
        received.contains("\"echo\""),
        "sanity: the server saw the allowed call"
    );
    assert!(
        !received.contains("get-env"),
        "the server saw the denied call"
    );
    let records = audit_records(&home);
    assert!(
        records
            .iter()
            .any(|r| r["tool"] == "get-env" && r["outcome"] == "denied"),
        "{records:?}"
    );
}

#[test]
fn audit_records_are_well_formed_and_free_of_the_canary() {
    let home = Home::new();
    home.set("tok", CANARY.as_bytes());
    session(
        &home,
        &[
            "TOKEN=local://tok",
            "--name",
            "everything",
            "--audit-arguments",
        ],
        &[
            // The client itself sends the canary as an argument: recorded arguments are redacted too.
            serde_json::json!({"name": "echo", "arguments": {"message": CANARY}}),
            serde_json::json!({"name": "no-such-tool", "arguments": {}}),
        ],
    );
    let records = audit_records(&home);
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(home.path().join("audit/audit.jsonl"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode, 0o600);
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["type"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"start"));
    assert_eq!(kinds.last(), Some(&"exit"));
    let session_id = records[0]["session"].as_str().unwrap();
    for r in &records {
        assert_eq!(r["server"], "everything");
        assert_eq!(r["session"], session_id);
        assert!(r["ts"].as_str().unwrap().ends_with('Z'));
    }
    let call = |tool: &str| {
        records
            .iter()
            .find(|r| r["tool"] == tool)
            .unwrap_or_else(|| panic!("no record for {tool}"))
    };
    let echo = call("echo");
    assert_eq!(echo["method"], "tools/call");
    assert_eq!(echo["outcome"], "ok");
    assert_eq!(echo["args_sha256"].as_str().unwrap().len(), 64);
    assert!(echo["duration_ms"].as_f64().is_some());
    assert!(
        echo["request_bytes"].as_u64().unwrap() > 0 && echo["response_bytes"].as_u64().unwrap() > 0
    );
    assert!(echo.to_string().contains("[REDACTED:TOKEN]"), "{echo}");
    assert_eq!(call("no-such-tool")["outcome"], "tool_error");
    assert!(
        records
            .iter()
            .any(|r| r["method"] == "initialize" && r["outcome"] == "ok")
    );
    // `mcp-warden audit` reads it back, filtered.
    let out = home
        .cmd()
        .args(["audit", "--tool", "echo", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(&String::from_utf8(out).unwrap());
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["tool"], "echo");
}

/// Raw JSON lines, both protocol eras, batches and unknown methods: what the
/// client receives through mcp-warden is what it receives from the server directly.
#[test]
fn raw_lines_of_both_eras_pass_through_unchanged() {
    let lines = [
        r#"{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":"s3","method":"tools/list","params":{"_meta":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"message":"x"},"_meta":{"progressToken":7,"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#,
        r#"[{"jsonrpc":"2.0","id":5,"method":"ping"}]"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"nope/unknown","params":{"x":1}}"#,
    ];
    let mut input = lines.join("\n");
    input.push('\n');
    let run = |cmd: &mut Command| -> Vec<String> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.as_bytes()).unwrap();
        // Keep stdin open until every request with an id has its answer (bounded), then close it.
        let started = Instant::now();
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn({
            let out = child.stdout.take().unwrap();
            move || {
                for line in std::io::BufRead::lines(std::io::BufReader::new(out)) {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            }
        });
        let mut lines = Vec::new();
        let answered = |lines: &Vec<String>| {
            ["1", "2", "\"s3\"", "4", "6"].iter().all(|id| {
                let (mid, end) = (format!("\"id\":{id},"), format!("\"id\":{id}}}"));
                lines
                    .iter()
                    .any(|l: &String| l.contains(&mid) || l.ends_with(&end))
            })
        };
        while !answered(&lines) && started.elapsed() < Duration::from_secs(20) {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                lines.push(l);
            }
        }
        drop(stdin);
        let status = child.wait().unwrap();
        reader.join().unwrap();
        lines.extend(rx.try_iter());
        assert!(
            answered(&lines),
            "not every request was answered: {lines:?}"
        );
        assert!(status.success());
        let mut v = lines;
        v.sort();
        v
    };
    let e = everything();
    let direct = run(Command::new(&e[0]).args(&e[1..]));
    let home = Home::new();
    let mut proxied = home.std_cmd();
    proxied.args(["run", "--"]).args(&e);
    let through = run(&mut proxied);
    assert!(direct.len() >= 5, "{direct:?}");
    assert_eq!(through, direct);
}

/// Client EOF: stdin closed, wait, SIGTERM, wait, SIGKILL — for a server that ignores all but the last.
#[test]
fn a_stubborn_server_is_killed_after_client_eof() {
    let home = Home::new();
    let started = Instant::now();
    home.cmd()
        .args([
            "run",
            "--stdin-grace",
            "200ms",
            "--term-grace",
            "200ms",
            "--",
            "sh",
            "-c",
        ])
        .arg("trap '' TERM; exec 0<&-; while :; do sleep 0.05; done")
        .write_stdin("")
        .timeout(Duration::from_secs(20))
        .assert()
        .code(137);
    assert!(started.elapsed() < Duration::from_secs(10));
    // A server that exits on EOF by itself keeps its own status.
    home.cmd()
        .args(["run", "--", "sh", "-c", "cat >/dev/null; exit 4"])
        .write_stdin("x\n")
        .assert()
        .code(4);
}

#[test]
fn stderr_is_relayed_with_redaction() {
    let home = Home::new();
    home.set("tok", CANARY.as_bytes());
    let out = home
        .cmd()
        .args([
            "run",
            "--no-audit",
            "K=local://tok",
            "--",
            "sh",
            "-c",
            "echo \"oops $K\" >&2",
        ])
        .assert()
        .success()
        .get_output()
        .stderr
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert_eq!(text, "oops [REDACTED:K]\n");
}

/// `--no-redact` lets values reach the client on purpose, but never the audit log.
#[test]
fn no_redact_still_keeps_values_out_of_the_audit_log() {
    let home = Home::new();
    home.set("tok", CANARY.as_bytes());
    let script = r#"printf '{"jsonrpc":"2.0","id":"%s","method":"roots/list"}\n' "$K"; printf '%s\n' "$K" >&2"#;
    let out = home
        .cmd()
        .args(["run", "--no-redact", "--audit-arguments", "K=local://tok", "--", "sh", "-c", script])
        .write_stdin(format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{{\"name\":\"x\",\"arguments\":{{\"a\":\"{CANARY}\"}}}}}}\n"
        ))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(CANARY),
        "--no-redact shows the value to the client"
    );
    // audit_records() fails if the canary is anywhere in the log.
    let records = audit_records(&home);
    assert!(
        records.iter().any(|r| r["method"] == "roots/list"),
        "{records:?}"
    );
}

/// Node-based MCP clients connect a server's stdio with socket pairs, not pipes.
#[test]
fn socket_stdio_is_relayed_and_the_childs_exit_ends_the_run() {
    use std::io::{BufRead, BufReader};
    use std::os::fd::OwnedFd;
    use std::os::unix::net::UnixStream;
    let home = Home::new();
    let (mut client_in, server_in) = UnixStream::pair().unwrap();
    let (client_out, server_out) = UnixStream::pair().unwrap();
    let p = home
        .std_cmd()
        .args([
            "run",
            "--",
            "sh",
            "-c",
            "read line; echo \"got $line\"; sleep 0.2; exit 5",
        ])
        .stdin(Stdio::from(OwnedFd::from(server_in)))
        .stdout(Stdio::from(OwnedFd::from(server_out)))
        .spawn()
        .unwrap();
    client_in.write_all(b"hello\n").unwrap();
    client_out
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(&client_out).read_line(&mut line).unwrap();
    assert_eq!(line, "got hello\n");
    // The client keeps its end open, as a live MCP client does.
    let status = wait_with_timeout(p, Duration::from_secs(10)).status;
    assert_eq!(status.code(), Some(5), "mcp-warden outlived its server");
    drop(client_in);
}
