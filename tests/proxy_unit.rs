//! The proxy library against a real child process (a small Python MCP server
//! speaking newline-delimited JSON-RPC over real pipes). The end-to-end tests of
//! `mcp-warden run` with the official SDKs live in tests/run.rs; this file checks
//! the library seams the lead wires up: `start`, `client_eof`, `finish`, the
//! audit start/exit records.

mod common;

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use common::output::json_lines;
use mcp_warden::proxy::{self, AuditConfig, Guard, GuardConfig};
use mcp_warden::secret::SecretValue;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const TOKEN: &str = "tok/en\"with-quote-123-SECRET";

const SERVER: &str = r#"
import sys, json, os, base64
tok = os.environ["FAKE_TOKEN"]
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    m = msg.get("method")
    sys.stderr.write("got %s; token is %s\n" % (m if m != "tools/call" else "call " + msg["params"]["name"], tok))
    sys.stderr.flush()
    if m == "initialize":
        res = {"protocolVersion": "2025-11-25", "capabilities": {"tools": {}}, "serverInfo": {"name": "fake", "version": "0"}}
    elif m == "tools/list":
        res = {"tools": [{"name": "echo", "inputSchema": {"type": "object"}},
                         {"name": "printEnv", "inputSchema": {"type": "object"}},
                         {"name": "delete_all", "inputSchema": {"type": "object"}}],
               "nextCursor": "page-2"}
    elif m == "tools/call":
        name = msg["params"]["name"]
        if name == "printEnv":
            text = json.dumps(dict(os.environ))
        elif name == "printB64":
            text = base64.b64encode(tok.encode()).decode()
        else:
            text = "echo: " + json.dumps(msg["params"].get("arguments"))
        res = {"content": [{"type": "text", "text": text}]}
    else:
        res = {}
    print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": res}), flush=True)
"#;

fn python() -> Option<&'static str> {
    ["python3", "python"].into_iter().find(|p| {
        std::process::Command::new(p)
            .arg("-c")
            .arg("pass")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

#[tokio::test]
async fn proxies_a_real_child_process() {
    let Some(py) = python() else {
        eprintln!("skipped: no python");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let audit_path = proxy::audit::default_path(dir.path());
    let guard = Arc::new(
        Guard::new(GuardConfig {
            secrets: vec![(
                "FAKE_TOKEN".into(),
                SecretValue::from_slice(TOKEN.as_bytes()),
            )],
            redact: true,
            allow_tools: vec![],
            deny_tools: vec!["delete_*".into()],
            audit: Some(AuditConfig::new(audit_path.clone(), "fake")),
            credentials: vec![],
        })
        .expect("guard"),
    );
    let mut child = tokio::process::Command::new(py)
        .arg("-c")
        .arg(SERVER)
        .env("FAKE_TOKEN", TOKEN)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn python");
    guard.audit_start(py, child.id().unwrap_or(0));

    let (mut client, p_client_in) = tokio::io::duplex(1 << 16);
    let (p_client_out, client_out) = tokio::io::duplex(1 << 16);
    let (p_err_out, mut err_out) = tokio::io::duplex(1 << 16);
    let mut relay = proxy::start(
        guard.clone(),
        p_client_in,
        p_client_out,
        child.stdin.take().expect("stdin"),
        proxy::ServerOut::stream(child.stdout.take().expect("stdout")),
        child.stderr.take().expect("stderr"),
        p_err_out,
    );
    let mut from_server = BufReader::new(client_out).lines();
    let mut call = async |msg: serde_json::Value| -> serde_json::Value {
        let mut b = serde_json::to_vec(&msg).expect("json");
        b.push(b'\n');
        client.write_all(&b).await.expect("write");
        let line = tokio::time::timeout(Duration::from_secs(20), from_server.next_line())
            .await
            .expect("answer in time")
            .expect("read")
            .expect("a line");
        assert!(!line.contains("SECRET"), "value leaked: {line}");
        serde_json::from_str(&line).expect("valid JSON")
    };

    let init = call(serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}})).await;
    assert_eq!(init["result"]["serverInfo"]["name"], "fake");
    let list = call(serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/list"})).await;
    let names: Vec<_> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec!["echo", "printEnv"]);
    assert_eq!(list["result"]["nextCursor"], "page-2");
    let env = call(serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"printEnv","arguments":{}}})).await;
    let text = env["result"]["content"][0]["text"].as_str().expect("text");
    let inner: serde_json::Value = serde_json::from_str(text).expect("env dump is still JSON");
    assert_eq!(inner["FAKE_TOKEN"], "[REDACTED:FAKE_TOKEN]");
    let b64 = call(serde_json::json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"printB64"}})).await;
    assert_eq!(b64["result"]["content"][0]["text"], "[REDACTED:FAKE_TOKEN]");
    let denied = call(serde_json::json!({"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"name":"delete_all","arguments":{}}})).await;
    assert_eq!(denied["id"], "x");
    assert!(
        denied["error"]["message"]
            .as_str()
            .expect("message")
            .contains("delete_all")
    );
    let echo = call(serde_json::json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"m":"hi"}}})).await;
    assert_eq!(
        echo["result"]["content"][0]["text"],
        "echo: {\"m\": \"hi\"}"
    );

    // client EOF: the proxy closes the child's stdin, the child exits by itself
    drop(client);
    tokio::time::timeout(Duration::from_secs(10), relay.client_eof())
        .await
        .expect("eof");
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("child exits after stdin closes")
        .expect("status");
    relay.finish(Duration::from_secs(5)).await;
    guard.audit_exit(status.code(), None);

    let mut stderr = String::new();
    err_out.read_to_string(&mut stderr).await.expect("stderr");
    assert!(
        stderr.contains("got call echo; token is [REDACTED:FAKE_TOKEN]"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("delete_all"),
        "the denied call reached the server: {stderr}"
    );
    assert!(!stderr.contains("SECRET"));

    let audit = std::fs::read_to_string(&audit_path).expect("audit log");
    assert!(!audit.contains("SECRET"));
    let recs = json_lines(&audit);
    assert_eq!(recs.first().expect("start")["type"], "start");
    assert_eq!(recs.last().expect("exit")["type"], "exit");
    assert_eq!(recs.last().expect("exit")["exit_code"], 0);
    let outcomes: Vec<_> = recs
        .iter()
        .filter(|r| r["type"] == "request")
        .map(|r| r["outcome"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(outcomes, vec!["ok", "ok", "ok", "ok", "denied", "ok"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&audit_path)
                .expect("m")
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }
    let mut shown = Vec::new();
    let n = proxy::audit::show(
        &audit_path,
        &proxy::audit::Query {
            outcome: Some("denied".into()),
            ..Default::default()
        },
        false,
        &mut shown,
    )
    .expect("show");
    assert_eq!(n, 1);
    assert!(String::from_utf8_lossy(&shown).contains("tools/call delete_all"));
}
