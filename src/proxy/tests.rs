//! Tests of the proxy as a whole: the relays driven through in-memory pipes.

use std::collections::VecDeque;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use proptest::prelude::*;
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream, ReadBuf,
};

use super::framing::LineReader;
use super::*;
use crate::secret::SecretValue;

const CANARY: &str = "CANARY-9f8e7d6c5b4a-tok";

fn guard_with(
    secrets: &[(&str, &str)],
    allow: &[&str],
    deny: &[&str],
    audit: Option<&Path>,
    record_arguments: bool,
) -> Arc<Guard> {
    let cfg = GuardConfig {
        secrets: secrets
            .iter()
            .map(|(k, v)| (k.to_string(), SecretValue::from_slice(v.as_bytes())))
            .collect(),
        redact: true,
        allow_tools: allow.iter().map(|s| s.to_string()).collect(),
        deny_tools: deny.iter().map(|s| s.to_string()).collect(),
        audit: audit.map(|p| {
            let mut a = AuditConfig::new(p.to_path_buf(), "test-server");
            a.record_arguments = record_arguments;
            a
        }),
        credentials: vec![],
    };
    Arc::new(Guard::new(cfg).expect("guard"))
}

/// An AsyncWrite collecting into a shared buffer.
#[derive(Clone, Default)]
struct Collect(Arc<Mutex<Vec<u8>>>);

impl Collect {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

impl AsyncWrite for Collect {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// An AsyncRead yielding given chunks, alternating with `Pending`.
struct Chunked {
    chunks: VecDeque<Vec<u8>>,
    stall: bool,
}

impl Chunked {
    fn new(chunks: Vec<Vec<u8>>) -> Self {
        Self {
            chunks: chunks.into(),
            stall: false,
        }
    }
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        self.stall = !self.stall;
        if self.stall {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(mut c) = self.chunks.pop_front() {
            let n = c.len().min(buf.remaining());
            buf.put_slice(&c[..n]);
            if n < c.len() {
                c.drain(..n);
                self.chunks.push_front(c);
            }
        }
        Poll::Ready(Ok(()))
    }
}

fn chunk_at(data: &[u8], cuts: &[usize]) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = cuts.iter().map(|&c| c.min(data.len())).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(data[prev..c].to_vec());
        prev = c;
    }
    out.push(data[prev..].to_vec());
    out.retain(|c| !c.is_empty());
    out
}

/// Relays server stdout/stderr given as chunks (client input empty). Returns (client out, our stderr).
async fn relay_server(
    guard: Arc<Guard>,
    out_chunks: Vec<Vec<u8>>,
    err_chunks: Vec<Vec<u8>>,
) -> (Vec<u8>, Vec<u8>) {
    let client_out = Collect::default();
    let err_out = Collect::default();
    let handle = start(
        guard,
        tokio::io::empty(),
        client_out.clone(),
        tokio::io::sink(),
        ServerOut::stream(Chunked::new(out_chunks)),
        Chunked::new(err_chunks),
        err_out.clone(),
    );
    handle.finish(Duration::from_secs(30)).await;
    (client_out.take(), err_out.take())
}

fn sync_server_relay(guard: &Guard, chunks: &[&[u8]]) -> Vec<u8> {
    let mut lr = LineReader::new(0);
    let mut s = Scratch::default();
    let mut out = Vec::new();
    let mut each = |lr: &mut LineReader, out: &mut Vec<u8>| {
        while let Some(r) = lr.next_line() {
            let line = &lr.bytes()[r];
            match guard.server_line(line, &mut s) {
                Verdict::Original => out.extend_from_slice(line),
                Verdict::Rewritten => out.extend_from_slice(&s.out),
                Verdict::Drop => {}
            }
        }
    };
    for c in chunks {
        lr.push(c);
        each(&mut lr, &mut out);
    }
    lr.set_eof();
    each(&mut lr, &mut out);
    out
}

fn audit_records(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

fn assert_no_canary(bytes: &[u8], canary: &str) {
    let v = canary.as_bytes();
    let forms = [
        v.to_vec(),
        base64::engine::general_purpose::STANDARD
            .encode(v)
            .into_bytes(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(v)
            .into_bytes(),
        hex::encode(v).into_bytes(),
        hex::encode_upper(v).into_bytes(),
    ];
    for f in forms {
        assert!(
            !bytes.windows(f.len()).any(|w| w == f.as_slice()),
            "canary form {} leaked in {}",
            String::from_utf8_lossy(&f),
            String::from_utf8_lossy(bytes)
        );
    }
}

/// One guard for all property cases (building automata is slow in debug builds).
fn shared_guard() -> Arc<Guard> {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    static GUARD: std::sync::OnceLock<Arc<Guard>> = std::sync::OnceLock::new();
    GUARD
        .get_or_init(|| {
            let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tmp"));
            guard_with(
                &[
                    ("K", "\u{1}\u{2}\u{3}zz\u{4}\u{5}\u{6}"),
                    ("K2", "never-present-value"),
                ],
                &[],
                &["x*"],
                Some(&dir.path().join("a.jsonl")),
                true,
            )
        })
        .clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// No value present: the server's bytes come out unchanged, however they are chunked,
    /// with the audit log on (every line parsed) and a policy active.
    #[test]
    fn server_output_is_identity_without_secrets(
        data in proptest::collection::vec(prop_oneof![
            3 => Just(b'\n'), 3 => Just(b'{'), 3 => Just(b'}'), 3 => Just(b'"'), 2 => Just(b'['),
            10 => any::<u8>()], 0..3000),
        cuts in proptest::collection::vec(0usize..3000, 0..30),
    ) {
        let guard = shared_guard();
        let chunks = chunk_at(&data, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        prop_assert_eq!(sync_server_relay(&guard, &refs), data);
    }

    #[test]
    fn json_messages_are_identity_without_secrets(
        msgs in proptest::collection::vec(("[a-z/]{1,12}", 0u32..50, "[ -~]{0,40}"), 0..30),
        cuts in proptest::collection::vec(0usize..4000, 0..30),
    ) {
        let mut data = Vec::new();
        for (m, id, text) in &msgs {
            let v = if id % 3 == 0 {
                serde_json::json!({"jsonrpc":"2.0","method":m,"params":{"_meta":{"x":text}}})
            } else {
                serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":text}],"isError":id % 2 == 0}})
            };
            data.extend(serde_json::to_vec(&v).expect("json"));
            data.push(b'\n');
        }
        let guard = shared_guard();
        let chunks = chunk_at(&data, &cuts);
        let refs: Vec<&[u8]> = chunks.iter().map(|c| c.as_slice()).collect();
        prop_assert_eq!(sync_server_relay(&guard, &refs), data);
    }
}

#[tokio::test]
async fn async_relay_is_identity_under_chunking() {
    let mut data = Vec::new();
    for i in 0..500 {
        data.extend(format!("{{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{{\"progress\":{i}}}}}\n").bytes());
        if i % 50 == 0 {
            data.extend_from_slice(b"garbage \xff\xfe line\n\n\r\n");
        }
    }
    data.extend_from_slice(b"{\"half\":");
    let dir = tempfile::tempdir().expect("tmp");
    let guard = guard_with(
        &[("K", CANARY)],
        &[],
        &[],
        Some(&dir.path().join("a.jsonl")),
        false,
    );
    let cuts: Vec<usize> = (0..data.len()).step_by(37).collect();
    let (out, err) =
        relay_server(guard, chunk_at(&data, &cuts), chunk_at(&data, &cuts[..10])).await;
    assert_eq!(out, data);
    assert_eq!(err, data);
}

#[tokio::test]
async fn every_form_is_redacted_when_split_across_reads() {
    let v = CANARY.as_bytes();
    let forms: Vec<String> = vec![
        CANARY.to_string(),
        base64::engine::general_purpose::STANDARD.encode(v),
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(v),
        base64::engine::general_purpose::URL_SAFE.encode(v),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v),
        hex::encode(v),
        hex::encode_upper(v),
        CANARY
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect::<String>(),
        base64::engine::general_purpose::STANDARD.encode(format!("x{CANARY}y").as_bytes()),
    ];
    for form in forms {
        let line = serde_json::to_vec(&serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":format!("env: {form} ok")}]}}))
            .expect("json");
        let mut data = line.clone();
        data.push(b'\n');
        let errline = format!("debug: using {form}\n").into_bytes();
        // cut inside the value at every position
        let start = data
            .windows(form.len())
            .position(|w| w == form.as_bytes())
            .expect("present");
        for cut in start..start + form.len() {
            let guard = guard_with(&[("API_TOKEN", CANARY)], &[], &[], None, false);
            let ecut = cut - start + 13;
            let (out, err) =
                relay_server(guard, chunk_at(&data, &[cut]), chunk_at(&errline, &[ecut])).await;
            assert_no_canary(&out, CANARY);
            assert!(
                !String::from_utf8_lossy(&out).contains(&form),
                "{form} at cut {cut}"
            );
            let msg: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
            let text = msg["result"]["content"][0]["text"].as_str().expect("text");
            let err = String::from_utf8_lossy(&err);
            if form.starts_with("eE") {
                // embedded in a larger base64 blob: the bytes around the value stay
                assert!(text.contains("[REDACTED:API_TOKEN]"), "{text}");
                assert!(
                    err.contains("[REDACTED:API_TOKEN]") && !err.contains(&form),
                    "{err}"
                );
            } else {
                assert_eq!(text, "env: [REDACTED:API_TOKEN] ok", "{form}");
                assert_eq!(err, "debug: using [REDACTED:API_TOKEN]\n");
            }
        }
    }
}

#[tokio::test]
async fn fifty_megabyte_line() {
    let mut data = Vec::with_capacity(50 * 1024 * 1024 + 200);
    data.extend_from_slice(
        b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"",
    );
    data.extend_from_slice(CANARY.as_bytes());
    data.resize(50 * 1024 * 1024, b'a');
    data.extend_from_slice(CANARY.as_bytes());
    data.extend_from_slice(b"\"}]}}\n{\"jsonrpc\":\"2.0\",\"method\":\"next\"}\n");
    let chunks: Vec<Vec<u8>> = data.chunks(64 * 1024).map(|c| c.to_vec()).collect();
    let guard = guard_with(&[("K", CANARY)], &[], &[], None, false);
    let started = std::time::Instant::now();
    let (out, _) = relay_server(guard, chunks, vec![]).await;
    let elapsed = started.elapsed();
    let label = b"[REDACTED:K]";
    assert_eq!(out.len(), data.len() - 2 * (CANARY.len() - label.len()));
    assert_no_canary(&out, CANARY);
    let first_nl = out.iter().position(|&b| b == b'\n').expect("newline");
    let v: serde_json::Value = serde_json::from_slice(&out[..first_nl]).expect("valid");
    assert!(
        v["result"]["content"][0]["text"]
            .as_str()
            .expect("s")
            .starts_with("[REDACTED:K]aaa")
    );
    assert!(out.ends_with(b"{\"jsonrpc\":\"2.0\",\"method\":\"next\"}\n"));
    // generous bound even for unoptimised builds; catches quadratic behaviour
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
}

#[tokio::test]
async fn garbage_half_lines_and_violations_are_forwarded_and_recorded() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("audit.jsonl");
    let guard = guard_with(&[("K", CANARY)], &[], &[], Some(&path), false);
    let data = b"Server starting on stdio...\n{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}\n42\n{\"jsonrpc\":\"2.0\",\"id\":1,\"res".to_vec();
    let (out, _) = relay_server(guard.clone(), chunk_at(&data, &[5, 40, 90]), vec![]).await;
    assert_eq!(out, data);
    guard.sync_audit();
    let recs = audit_records(&path);
    let violations: Vec<_> = recs.iter().filter(|r| r["type"] == "violation").collect();
    assert_eq!(violations.len(), 3, "{recs:?}");
    assert_eq!(violations[0]["detail"], "not JSON");
    assert_eq!(violations[0]["from"], "server");
    assert!(
        violations[1]["detail"]
            .as_str()
            .expect("d")
            .contains("not an object")
    );
}

struct Harness {
    client_in: DuplexStream,
    client_out: BufReader<DuplexStream>,
    server_in: BufReader<DuplexStream>,
    server_out: DuplexStream,
    server_err: DuplexStream,
    err_out: BufReader<DuplexStream>,
    relay: RelayHandle,
}

fn harness(guard: Arc<Guard>) -> Harness {
    let cap = 1 << 20;
    let (client_in, p_client_in) = tokio::io::duplex(cap);
    let (p_client_out, client_out) = tokio::io::duplex(cap);
    let (p_server_in, server_in) = tokio::io::duplex(cap);
    let (server_out, p_server_out) = tokio::io::duplex(cap);
    let (server_err, p_server_err) = tokio::io::duplex(cap);
    let (p_err_out, err_out) = tokio::io::duplex(cap);
    let relay = start(
        guard,
        p_client_in,
        p_client_out,
        p_server_in,
        ServerOut::stream(p_server_out),
        p_server_err,
        p_err_out,
    );
    Harness {
        client_in,
        client_out: BufReader::new(client_out),
        server_in: BufReader::new(server_in),
        server_out,
        server_err,
        err_out: BufReader::new(err_out),
        relay,
    }
}

async fn line_of(r: &mut BufReader<DuplexStream>) -> String {
    let mut s = String::new();
    tokio::time::timeout(Duration::from_secs(10), r.read_line(&mut s))
        .await
        .expect("line in time")
        .expect("read");
    s
}

impl Harness {
    async fn client_sends(&mut self, v: serde_json::Value) {
        let mut b = serde_json::to_vec(&v).expect("json");
        b.push(b'\n');
        self.client_in.write_all(&b).await.expect("write");
    }
    async fn server_sends(&mut self, v: serde_json::Value) {
        let mut b = serde_json::to_vec(&v).expect("json");
        b.push(b'\n');
        self.server_out.write_all(&b).await.expect("write");
    }
    async fn server_gets(&mut self) -> serde_json::Value {
        serde_json::from_str(&line_of(&mut self.server_in).await).expect("json to server")
    }
    async fn client_gets(&mut self) -> serde_json::Value {
        serde_json::from_str(&line_of(&mut self.client_out).await).expect("json to client")
    }
    async fn close(mut self) {
        drop(self.client_in);
        self.relay.client_eof().await;
        drop(self.server_out);
        drop(self.server_err);
        self.relay.finish(Duration::from_secs(5)).await;
    }
}

#[tokio::test]
async fn denied_call_is_answered_by_the_proxy_and_never_reaches_the_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("audit.jsonl");
    let guard = guard_with(&[], &[], &["delete_*"], Some(&path), false);
    let mut h = harness(guard.clone());
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":"call-1","method":"tools/call","params":{"name":"delete_repo","arguments":{"repo":"x"}}})).await;
    let reply = h.client_gets().await;
    assert_eq!(reply["id"], "call-1");
    assert_eq!(reply["error"]["code"], message::DENIED_CODE);
    let msg = reply["error"]["message"].as_str().expect("message");
    assert!(
        msg.contains("delete_repo") && msg.contains("mcp-warden policy"),
        "{msg}"
    );
    // the next, allowed call is the first thing the server sees
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"m":"hi"}}})).await;
    let got = h.server_gets().await;
    assert_eq!(got["params"]["name"], "echo");
    // escaped method and name spellings are decoded before the policy looks
    h.client_in
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools\\/c\\u0061ll\",\"params\":{\"name\":\"delete\\u005frepo\"}}\n")
        .await
        .expect("write");
    assert_eq!(h.client_gets().await["id"], 3);
    // duplicate keys are refused while a policy is active
    h.client_in
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"name\":\"delete_repo\"}}\n")
        .await
        .expect("write");
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":5,"method":"ping"}))
        .await;
    assert_eq!(h.server_gets().await["id"], 5);
    h.close().await;
    let recs = audit_records(&path);
    let denied: Vec<_> = recs.iter().filter(|r| r["outcome"] == "denied").collect();
    assert_eq!(denied.len(), 2);
    assert_eq!(denied[0]["tool"], "delete_repo");
    assert_eq!(denied[0]["id"], "call-1");
    assert!(
        recs.iter()
            .any(|r| r["type"] == "violation" && r["from"] == "client")
    );
}

#[tokio::test]
async fn batch_elements_are_judged_one_by_one() {
    let guard = guard_with(&[], &["*"], &["rm"], None, false);
    let mut h = harness(guard);
    h.client_sends(serde_json::json!([
        {"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm"}},
        {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"ls"}},
        {"jsonrpc":"2.0","method":"notifications/initialized"}
    ]))
    .await;
    let reply = h.client_gets().await;
    assert_eq!(reply[0]["id"], 1);
    assert_eq!(reply[0]["error"]["code"], message::DENIED_CODE);
    let fwd = h.server_gets().await;
    let arr = fwd.as_array().expect("batch");
    assert_eq!(arr.len(), 2);
    assert_eq!(arr[0]["id"], 2);
    assert_eq!(arr[1]["method"], "notifications/initialized");
    h.close().await;
}

#[tokio::test]
async fn tools_list_is_filtered_and_pagination_kept() {
    let guard = guard_with(&[], &[], &["delete_*"], None, false);
    let mut h = harness(guard);
    h.client_sends(
        serde_json::json!({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"c1"}}),
    )
    .await;
    let _ = h.server_gets().await;
    h.server_sends(serde_json::json!({"jsonrpc":"2.0","id":7,"result":{
        "tools":[{"name":"echo","inputSchema":{"type":"object"}},{"name":"delete_repo","inputSchema":{}}],
        "nextCursor":"c2","_meta":{"io.modelcontextprotocol/x":1}}}))
    .await;
    let got = h.client_gets().await;
    assert_eq!(got["id"], 7);
    assert_eq!(got["result"]["nextCursor"], "c2");
    assert_eq!(got["result"]["_meta"]["io.modelcontextprotocol/x"], 1);
    let tools = got["result"]["tools"].as_array().expect("tools");
    assert_eq!(tools.len(), 1);
    assert_eq!(tools[0]["name"], "echo");
    // an unrelated response with a tools array is untouched
    let raw = b"{\"jsonrpc\":\"2.0\",\"id\":8,\"result\":{\"tools\":[{\"name\":\"delete_x\"}]}}\n";
    h.server_out.write_all(raw).await.expect("write");
    assert_eq!(line_of(&mut h.client_out).await.as_bytes(), raw);
    h.close().await;
}

#[tokio::test]
async fn audit_pairs_outcomes_and_both_eras() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("audit.jsonl");
    let guard = guard_with(&[], &[], &[], Some(&path), false);
    guard.audit_start("server-bin", 4242);
    let mut h = harness(guard.clone());
    // initialize era
    let init = serde_json::json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    h.client_sends(init.clone()).await;
    assert_eq!(h.server_gets().await, init);
    h.server_sends(serde_json::json!({"jsonrpc":"2.0","id":0,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"s","version":"1"}}})).await;
    let _ = h.client_gets().await;
    // 2026-07-28 era: server/discover with _meta, byte-exact
    let discover = b"{\"jsonrpc\":\"2.0\",\"id\":\"d1\",\"method\":\"server/discover\",\"params\":{\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\",\"traceparent\":\"00-ab-cd-01\"}}}\n";
    h.client_in.write_all(discover).await.expect("w");
    assert_eq!(line_of(&mut h.server_in).await.as_bytes(), discover);
    let disc_resp = b"{\"jsonrpc\":\"2.0\",\"id\":\"d1\",\"result\":{\"resultType\":\"complete\",\"unknownField\":[1,2,{}]}}\n";
    h.server_out.write_all(disc_resp).await.expect("w");
    assert_eq!(line_of(&mut h.client_out).await.as_bytes(), disc_resp);
    // tool error, JSON-RPC error, cancellation
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}})).await;
    h.client_sends(
        serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"nope"}}),
    )
    .await;
    h.client_sends(
        serde_json::json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"slow"}}),
    )
    .await;
    for _ in 0..3 {
        let _ = h.server_gets().await;
    }
    h.server_sends(
        serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"content":[],"isError":true}}),
    )
    .await;
    h.server_sends(serde_json::json!({"jsonrpc":"2.0","id":2,"error":{"code":-32602,"message":"Unknown tool"}})).await;
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"reason":"user"}})).await;
    let _ = h.server_gets().await;
    // server-to-client request, answered by the client
    let sampling = serde_json::json!({"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{"messages":[]}});
    h.server_sends(sampling.clone()).await;
    let _ = h.client_gets().await;
    let _ = h.client_gets().await;
    assert_eq!(h.client_gets().await, sampling);
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":"s1","result":{"role":"assistant","content":{"type":"text","text":"x"}}})).await;
    let _ = h.server_gets().await;
    // a request never answered
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":9,"method":"resources/list"}))
        .await;
    let _ = h.server_gets().await;
    h.close().await;
    guard.audit_exit(Some(0), None);

    let recs = audit_records(&path);
    let session = recs[0]["session"].as_str().expect("session").to_string();
    assert_eq!(session.len(), 32);
    for r in &recs {
        assert_eq!(r["server"], "test-server");
        assert_eq!(r["session"], session.as_str());
        humantime::parse_rfc3339(r["ts"].as_str().expect("ts")).expect("rfc3339");
    }
    assert_eq!(recs[0]["type"], "start");
    assert_eq!(recs[0]["argv0"], "server-bin");
    assert_eq!(recs[0]["pid"], 4242);
    assert_eq!(recs.last().expect("last")["type"], "exit");
    assert_eq!(recs.last().expect("last")["exit_code"], 0);
    let by = |method: &str, id: serde_json::Value| {
        recs.iter()
            .find(|r| r["type"] == "request" && r["method"] == method && r["id"] == id)
            .unwrap_or_else(|| panic!("{method} {id} in {recs:?}"))
            .clone()
    };
    let r = by("initialize", 0.into());
    assert_eq!(r["outcome"], "ok");
    assert!(r["request_bytes"].as_u64().expect("n") > 50);
    assert!(r["response_bytes"].as_u64().expect("n") > 50);
    assert!(r["duration_ms"].as_f64().is_some());
    let r = by("server/discover", "d1".into());
    assert_eq!(r["result_type"], "complete");
    let r = by("tools/call", 1.into());
    assert_eq!(r["outcome"], "tool_error");
    assert_eq!(r["tool"], "echo");
    assert_eq!(r["args_sha256"].as_str().expect("sha").len(), 64);
    assert!(r.get("arguments").is_none());
    let r = by("tools/call", 2.into());
    assert_eq!(r["outcome"], "error");
    assert_eq!(r["error_code"], -32602);
    assert_eq!(by("tools/call", 3.into())["outcome"], "cancelled");
    let r = by("sampling/createMessage", "s1".into());
    assert_eq!(r["from"], "server");
    assert_eq!(r["outcome"], "ok");
    assert_eq!(by("resources/list", 9.into())["outcome"], "unanswered");
}

#[tokio::test]
async fn audit_never_holds_a_value() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("audit.jsonl");
    let guard = guard_with(
        &[("GITHUB_TOKEN", CANARY)],
        &[],
        &["deny-*"],
        Some(&path),
        true,
    );
    guard.audit_start(CANARY, 1);
    let mut h = harness(guard.clone());
    let b64 = base64::engine::general_purpose::STANDARD.encode(CANARY);
    // the value in arguments (raw and encoded), in a tool name, in a method, in an id
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"t":CANARY,"b":b64,"n":[CANARY]}}})).await;
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":CANARY,"arguments":{}}})).await;
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":CANARY,"method":CANARY}))
        .await;
    h.client_sends(serde_json::json!({"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":format!("deny-{CANARY}")}})).await;
    let denial = h.client_gets().await;
    assert_no_canary(denial.to_string().as_bytes(), CANARY);
    for _ in 0..3 {
        let _ = h.server_gets().await;
    }
    h.server_sends(serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":CANARY}]}})).await;
    h.server_sends(
        serde_json::json!({"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":CANARY}}),
    )
    .await;
    h.server_sends(serde_json::json!({"jsonrpc":"2.0","id":CANARY,"result":{}}))
        .await;
    h.server_err
        .write_all(format!("token={CANARY}\n").as_bytes())
        .await
        .expect("w");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.extend(line_of(&mut h.client_out).await.into_bytes());
    }
    seen.extend(line_of(&mut h.err_out).await.into_bytes());
    h.server_out
        .write_all(format!("not json {CANARY}\n").as_bytes())
        .await
        .expect("w");
    seen.extend(line_of(&mut h.client_out).await.into_bytes());
    h.close().await;
    guard.audit_exit(None, Some(15));
    assert_no_canary(&seen, CANARY);
    let text = std::fs::read(&path).expect("audit");
    assert_no_canary(&text, CANARY);
    let recs = audit_records(&path);
    let with_args = recs.iter().find(|r| r["id"] == 1).expect("call 1");
    assert_eq!(with_args["arguments"]["t"], "[REDACTED:GITHUB_TOKEN]");
    assert_eq!(with_args["arguments"]["b"], "[REDACTED:GITHUB_TOKEN]");
    assert!(recs.iter().any(|r| r["tool"] == "[REDACTED:GITHUB_TOKEN]"));
    assert!(
        recs.iter()
            .any(|r| r["method"] == "[REDACTED:GITHUB_TOKEN]")
    );
    assert!(recs.iter().any(|r| r["argv0"] == "[REDACTED:GITHUB_TOKEN]"));
    assert!(recs.iter().any(|r| r["outcome"] == "denied"));
    assert_eq!(recs.last().expect("exit")["signal"], 15);
}

/// Every producer's spelling of a value, in ids, arguments, results and
/// stderr (plain and JSON), never reaches the client, our stderr or the audit log.
#[tokio::test]
async fn escaped_spellings_never_reach_any_output() {
    use super::redact::producers::{JSON_STYLES, Json, json_string, leaks};
    let dsn = "postgresql://app:Pa55word@db/app?sslmode=require&connect_timeout=10";
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("audit.jsonl");
    let guard = guard_with(&[("DSN", dsn)], &[], &[], Some(&path), true);
    let mut h = harness(guard.clone());
    for (i, style) in JSON_STYLES.iter().enumerate() {
        let s = json_string(dsn, *style);
        let id = i * 10 + 1;
        // a request whose id and arguments carry the value in this spelling
        let req = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{s},\"method\":\"tools/call\",\"params\":{{\"name\":\"q\",\"arguments\":{{\"dsn\":{s}}}}}}}\n"
        );
        h.client_in.write_all(req.as_bytes()).await.expect("w");
        let _ = h.server_gets().await;
        let req = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"q\",\"arguments\":{{\"dsn\":{s}}}}}}}\n"
        );
        h.client_in.write_all(req.as_bytes()).await.expect("w");
        let _ = h.server_gets().await;
        // the answers, a Go-style log line as JSON on stderr, and as text
        let resp = format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":{}}}]}}}}\n",
            json_string(&format!("connected to {dsn}"), *style)
        );
        h.server_out.write_all(resp.as_bytes()).await.expect("w");
        let log = format!(
            "{{\"level\":\"info\",\"msg\":{}}}\n",
            json_string(&format!("dsn={dsn}"), Json::Go)
        );
        h.server_err.write_all(log.as_bytes()).await.expect("w");
        h.server_err
            .write_all(format!("plain: {}\n", &s[1..s.len() - 1]).as_bytes())
            .await
            .expect("w");
    }
    let mut client = Vec::new();
    let mut err = Vec::new();
    for _ in JSON_STYLES {
        client.extend(line_of(&mut h.client_out).await.into_bytes());
        let json = line_of(&mut h.err_out).await;
        let v: serde_json::Value = serde_json::from_str(&json).expect("stderr JSON stays JSON");
        assert_eq!(v["msg"], "dsn=[REDACTED:DSN]");
        err.extend(json.into_bytes());
        err.extend(line_of(&mut h.err_out).await.into_bytes());
    }
    h.close().await;
    guard.audit_exit(Some(0), None);
    let audit = std::fs::read(&path).expect("audit");
    for (name, bytes) in [("client", &client), ("stderr", &err), ("audit", &audit)] {
        assert!(
            !leaks(bytes, dsn.as_bytes()),
            "{name}: {}",
            String::from_utf8_lossy(bytes)
        );
    }
    let recs = audit_records(&path);
    let args: Vec<_> = recs
        .iter()
        .filter_map(|r| r.get("arguments"))
        .map(|a| a["dsn"].clone())
        .collect();
    assert_eq!(args.len(), 2 * JSON_STYLES.len());
    assert!(args.iter().all(|a| a == "[REDACTED:DSN]"), "{args:?}");
    // ids are written decoded and re-encoded, so no escape survives
    assert!(
        recs.iter()
            .filter(|r| r["type"] == "request")
            .all(|r| !r["id"].to_string().contains("\\u"))
    );
}

#[tokio::test]
async fn client_eof_closes_server_stdin_after_the_last_line() {
    let guard = guard_with(&[], &[], &[], None, false);
    let mut h = harness(guard);
    h.client_in
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\nlast line without newline")
        .await
        .expect("w");
    drop(h.client_in);
    tokio::time::timeout(Duration::from_secs(5), h.relay.client_eof())
        .await
        .expect("eof seen");
    let mut rest = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut h.server_in, &mut rest)
        .await
        .expect("read to EOF");
    assert_eq!(
        rest,
        b"{\"jsonrpc\":\"2.0\",\"method\":\"a\"}\nlast line without newline"
    );
    // still resolves when asked again
    h.relay.client_eof().await;
    drop(h.server_out);
    drop(h.server_err);
    h.relay.finish(Duration::from_secs(5)).await;
}

#[tokio::test]
async fn finish_gives_up_after_grace() {
    let guard = guard_with(&[], &[], &[], None, false);
    let h = harness(guard);
    let started = std::time::Instant::now();
    // server stdout stays open (a grandchild holds it)
    h.relay.finish(Duration::from_millis(200)).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    drop(h.server_out);
}

#[tokio::test]
async fn a_slow_client_slows_the_server() {
    let guard = guard_with(&[("K", CANARY)], &[], &[], None, false);
    let (client_in, p_client_in) = tokio::io::duplex(1024);
    let (p_client_out, client_out) = tokio::io::duplex(64 * 1024);
    let (server_out, p_server_out) = tokio::io::duplex(64 * 1024);
    let relay = start(
        guard,
        p_client_in,
        p_client_out,
        tokio::io::sink(),
        ServerOut::stream(p_server_out),
        tokio::io::empty(),
        tokio::io::sink(),
    );
    let written = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let w = written.clone();
    let writer = tokio::spawn(async move {
        let mut server_out = server_out;
        let line = vec![b'x'; 1000];
        for _ in 0..100_000 {
            if server_out.write_all(&line).await.is_err()
                || server_out.write_all(b"\n").await.is_err()
            {
                break;
            }
            w.fetch_add(1001, std::sync::atomic::Ordering::Relaxed);
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let n = written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        n < 1024 * 1024,
        "the proxy buffered {n} bytes for a client that does not read"
    );
    writer.abort();
    drop(client_out);
    drop(client_in);
    relay.finish(Duration::from_millis(100)).await;
}

#[test]
fn warnings_name_short_values_only() {
    let g = guard_with(&[("SHORT", "abc"), ("LONG", CANARY)], &[], &[], None, false);
    let w = g.warnings();
    assert_eq!(w.len(), 1);
    assert!(w[0].contains("SHORT") && !w[0].contains("abc"));
}

#[test]
fn bad_glob_and_unwritable_audit_are_errors() {
    let cfg = GuardConfig {
        deny_tools: vec!["[".into()],
        ..Default::default()
    };
    let e = Guard::new(cfg).expect_err("bad glob");
    assert_eq!(
        crate::exit::ExitStatus::exit_code(&e),
        crate::exit::Code::Usage
    );
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("file");
    std::fs::write(&file, b"x").expect("w");
    let cfg = GuardConfig {
        audit: Some(AuditConfig::new(file.join("audit.jsonl"), "s")),
        ..Default::default()
    };
    assert!(Guard::new(cfg).is_err());
}

/// Throughput of the relay path in this build (run with `--release --ignored --nocapture`).
#[tokio::test]
#[ignore]
async fn throughput_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let audit = dir.path().join("a.jsonl");
    // printable ASCII, pseudo-random (a worst case for byte-frequency prefilters)
    let mut x: u32 = 1;
    let text: String = (0..1_000_000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (b' ' + ((x >> 16) % 95) as u8) as char
        })
        .collect();
    let big = |id: usize| {
        let mut v = serde_json::to_vec(&serde_json::json!({"jsonrpc":"2.0","id":id,"result":{"content":[{"type":"text","text":text}]}})).expect("json");
        v.push(b'\n');
        v
    };
    let small = |id: usize| {
        format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{\"content\":[{{\"type\":\"text\",\"text\":\"ok {id}\"}}]}}}}\n").into_bytes()
    };
    let request = |id: usize| {
        format!("{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"m\":\"x\"}}}}}}\n").into_bytes()
    };
    type Gen<'a> = &'a dyn Fn(usize) -> Vec<u8>;
    let cases: [(&str, Gen<'_>, usize); 2] = [("1 MB", &big, 200), ("small", &small, 300_000)];
    for (name, gen_resp, count) in cases {
        let responses: Vec<Vec<u8>> = (0..count.min(50)).map(gen_resp).collect();
        for (label, audit) in [("audit on", Some(audit.as_path())), ("audit off", None)] {
            let g = guard_with(&[("GITHUB_TOKEN", CANARY)], &[], &[], audit, false);
            let mut s = Scratch::default();
            let mut lr = LineReader::new(0);
            let mut bytes = 0usize;
            let t = std::time::Instant::now();
            for id in 0..count {
                let req = request(id % responses.len());
                let _ = g.client_line(&req, &mut s);
                let resp = &responses[id % responses.len()];
                for piece in resp.chunks(64 * 1024) {
                    lr.push(piece);
                    while let Some(r) = lr.next_line() {
                        let line = &lr.bytes()[r];
                        bytes += line.len();
                        let _ = g.server_line(line, &mut s);
                    }
                }
            }
            let el = t.elapsed();
            g.sync_audit();
            println!(
                "{name}, {label}: {:.0} MB/s, {:.0} request/response pairs/s",
                bytes as f64 / el.as_secs_f64() / 1e6,
                count as f64 / el.as_secs_f64()
            );
        }
    }
    // the async relay over in-memory pipes (server stdout -> client stdout)
    for (name, line, count) in [("1 MB", big(1), 300usize), ("small", small(1), 300_000)] {
        let g = guard_with(&[("GITHUB_TOKEN", CANARY)], &[], &[], Some(&audit), false);
        let (mut server_w, p_server_out) = tokio::io::duplex(256 * 1024);
        let (p_client_out, mut client_r) = tokio::io::duplex(256 * 1024);
        let relay = start(
            g,
            tokio::io::empty(),
            p_client_out,
            tokio::io::sink(),
            ServerOut::stream(p_server_out),
            tokio::io::empty(),
            tokio::io::sink(),
        );
        let total = line.len() * count;
        let t = std::time::Instant::now();
        let writer = tokio::spawn(async move {
            let mut batch = Vec::new();
            for _ in 0..count {
                batch.extend_from_slice(&line);
                if batch.len() >= 64 * 1024 {
                    server_w.write_all(&batch).await.expect("w");
                    batch.clear();
                }
            }
            server_w.write_all(&batch).await.expect("w");
        });
        let mut got = 0usize;
        let mut buf = vec![0u8; 256 * 1024];
        while got < total {
            let n = tokio::io::AsyncReadExt::read(&mut client_r, &mut buf)
                .await
                .expect("r");
            if n == 0 {
                break;
            }
            got += n;
        }
        let el = t.elapsed();
        writer.await.expect("writer");
        assert_eq!(got, total);
        println!(
            "async relay {name}: {:.0} MB/s, {:.0} msg/s",
            total as f64 / el.as_secs_f64() / 1e6,
            count as f64 / el.as_secs_f64()
        );
        relay.finish(Duration::from_millis(100)).await;
    }
    // components, on the 1 MB line
    let line = big(1);
    let g = guard_with(&[("GITHUB_TOKEN", CANARY)], &[], &[], None, false);
    let reps = 200;
    let t = std::time::Instant::now();
    for _ in 0..reps {
        std::hint::black_box(framing::find_newline(&line[..line.len() - 1]));
    }
    let nl = t.elapsed();
    let (r, _) = redact::Redactor::new(&[("K".into(), SecretValue::from_slice(CANARY.as_bytes()))]);
    let t = std::time::Instant::now();
    for _ in 0..reps {
        std::hint::black_box(r.matches(&line));
    }
    let ac = t.elapsed();
    let t = std::time::Instant::now();
    for _ in 0..reps {
        std::hint::black_box(message::scan::top(&line).is_some());
    }
    let parse = t.elapsed();
    let mb = (line.len() * reps) as f64 / 1e6;
    println!(
        "components: newline scan {:.0} MB/s, redaction scan {:.0} MB/s, top-level scan {:.0} MB/s",
        mb / nl.as_secs_f64(),
        mb / ac.as_secs_f64(),
        mb / parse.as_secs_f64()
    );
    drop(g);
}
