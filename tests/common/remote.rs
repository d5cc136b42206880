//! Remote MCP servers for the `connect` tests: the Python SDK server of
//! tests/servers/remote_mcp.py, server-everything in its HTTP modes, tiny
//! canned HTTP listeners (a redirector, a recorder, a server that never
//! answers), and the official Python client driving `connect`. Everything
//! binds 127.0.0.1; every wait and loop is bounded; processes die on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{service_env, wait_until};

/// A free TCP port on 127.0.0.1 for a server a test starts next. Picked at
/// random below the kernel's ephemeral range (32768-60999 here): a port
/// from `bind(0)` is handed out again to any test's `bind(0)` or outgoing
/// connection the moment it is released, so another server could take it
/// before ours binds (seen under load). A bounded number of tries.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, Hasher};
    const LOW: u16 = 20_000;
    const SPAN: u64 = 12_000;
    for _ in 0..500 {
        // RandomState is seeded per process and per call: enough spread here
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        let port = LOW + (h.finish() % SPAN) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits until something accepts TCP on `port` (at most `limit`).
pub fn wait_port(port: u16, limit: Duration) -> bool {
    wait_until(limit, || TcpStream::connect(("127.0.0.1", port)).is_ok())
}

/// A server process killed (and reaped) on drop.
pub struct Server {
    pub child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Kills the process now and waits until its port is closed.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        wait_until(Duration::from_secs(5), || {
            TcpStream::connect(("127.0.0.1", self.port)).is_err()
        });
    }
}

fn spawn_waiting(mut c: Command, port: u16, what: &str) -> Server {
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let server = Server { child, port };
    assert!(
        wait_port(port, Duration::from_secs(30)),
        "{what} did not listen on {port} within 30 s"
    );
    server
}

/// What the Python SDK server needs.
pub struct PyOptions<'a> {
    pub port: u16,
    pub token_file: &'a Path,
    pub key_file: Option<&'a Path>,
    pub stateless: bool,
    pub log: &'a Path,
    /// Serve https with this directory's `server.pem` (see [`make_tls`]).
    pub tls_dir: Option<&'a Path>,
}

/// A private CA and a certificate for 127.0.0.1 in `dir` (`ca.pem`,
/// `server.pem`, `server-key.pem`), made by tests/standins/pki.py.
pub fn make_tls(dir: &Path) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/standins/pki.py");
    let out = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"))
        .arg(script)
        .arg("tls")
        .arg(dir)
        .output()
        .expect("run pki.py");
    assert!(
        out.status.success(),
        "pki.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// tests/servers/remote_mcp.py on `o.port`.
pub fn python_server(o: &PyOptions<'_>) -> Server {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/servers/remote_mcp.py");
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"));
    c.arg(script)
        .arg("--port")
        .arg(o.port.to_string())
        .arg("--token-file")
        .arg(o.token_file)
        .arg("--log")
        .arg(o.log);
    if let Some(k) = o.key_file {
        c.arg("--key-file").arg(k);
    }
    if o.stateless {
        c.arg("--stateless");
    }
    if let Some(d) = o.tls_dir {
        c.arg("--tls-dir").arg(d);
    }
    spawn_waiting(c, o.port, "the Python MCP server")
}

/// server-everything in `mode` (`streamableHttp` or `sse`) on a free port.
pub fn everything(mode: &str) -> Server {
    everything_on(mode, free_port())
}

/// server-everything in `mode` on `port`.
pub fn everything_on(mode: &str, port: u16) -> Server {
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_NODE"));
    c.arg(service_env("MCP_WARDEN_TEST_EVERYTHING"))
        .arg(mode)
        .env("PORT", port.to_string());
    spawn_waiting(c, port, "server-everything")
}

/// The request log of the Python server, one JSON object per HTTP request.
pub fn read_log(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The official Python client driving `command` through `steps`; its one
/// JSON report.
pub fn drive(
    warden: std::process::Command,
    era: &str,
    steps: &Value,
    timeout_s: u64,
) -> (Value, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/connect_client.py");
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"));
    c.arg(script)
        .arg("--timeout")
        .arg(timeout_s.to_string())
        .arg("--era")
        .arg(era)
        .arg("--steps")
        .arg(steps.to_string())
        .arg("--")
        .arg(warden.get_program())
        .args(warden.get_args());
    for (k, v) in warden.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python client");
    let out = super::process::wait_with_timeout(child, Duration::from_secs(timeout_s + 20));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| {
            panic!("no report from the client; stdout {stdout:?} stderr {stderr:?}")
        });
    (report, format!("{stdout}\n{stderr}"))
}

/// How a canned listener answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 307 to this URL.
    Redirect(String),
    /// This status with an empty body.
    Status(u16),
    /// Reads the request and never answers.
    Silent,
    /// A scripted MCP server (see [`Script`]).
    Mcp(Script),
}

/// How a scripted MCP server answers. `initialize` gets a result and a
/// session id (unless `legacy`); other requests get an empty result.
#[derive(Debug, Clone, Default)]
pub struct Script {
    /// The status of a GET; with 200, `get_body` as an event stream.
    pub get_status: u16,
    pub get_body: String,
    /// Keep the GET stream open after its body.
    pub get_hold: bool,
    /// Written to every held stream about every 200 ms.
    pub trickle: String,
    /// Answer a notification's POST with an event stream that stays open.
    pub notify_hold: bool,
    /// Every POST gets 202 (answers would come on the GET stream).
    pub legacy: bool,
    /// Forget the first session: a `tools/call` in it gets 404. Session ids
    /// are `scripted-N` for the Nth `initialize`; a request without the
    /// current one gets 400.
    pub forget_first_session: bool,
}

/// A loopback HTTP listener that records every request head it receives.
pub struct Canned {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<String>>>,
}

impl Canned {
    /// Serves at most 32 connections, for at most 60 s.
    pub fn start(reply: Reply) -> Canned {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        listener.set_nonblocking(true).expect("nonblocking");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut held: Vec<TcpStream> = Vec::new();
            let mut served = 0;
            let mut trickled = Instant::now();
            while served < 32 && start.elapsed() < Duration::from_secs(60) {
                if let Reply::Mcp(script) = &reply
                    && !script.trickle.is_empty()
                    && trickled.elapsed() > Duration::from_millis(200)
                {
                    trickled = Instant::now();
                    for s in &mut held {
                        let _ = s.write_all(script.trickle.as_bytes());
                    }
                }
                match listener.accept() {
                    Ok((s, _)) => {
                        served += 1;
                        if let Some(s) = answer(s, &reply, &log) {
                            held.push(s);
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            drop(held);
        });
        Canned { port, seen }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Everything received so far, as one string.
    pub fn received(&self) -> String {
        self.seen.lock().map(|v| v.join("\n")).unwrap_or_default()
    }
}

/// Reads one request and answers it; a silent reply keeps the stream.
fn answer(mut s: TcpStream, reply: &Reply, log: &Mutex<Vec<String>>) -> Option<TcpStream> {
    let _ = s.set_nonblocking(false);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 1 << 20 {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + length.min(1 << 20) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    if let Ok(mut l) = log.lock() {
        l.push(String::from_utf8_lossy(&buf).into_owned());
    }
    let response = match reply {
        Reply::Silent => return Some(s),
        Reply::Mcp(script) => {
            let inits = log.lock().map_or(0, |l| {
                l.iter()
                    .filter(|r| r.contains(r#""method":"initialize""#))
                    .count()
            });
            return scripted(s, script, &head, &buf[head_end..], inits);
        }
        Reply::Redirect(to) => format!(
            "HTTP/1.1 307 Temporary Redirect\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Reply::Status(code) => {
            format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        }
    };
    let _ = s.write_all(response.as_bytes());
    None
}

/// A scripted MCP server's answer to one request; a held stream is returned.
fn scripted(
    mut s: TcpStream,
    script: &Script,
    head: &str,
    body: &[u8],
    inits: usize,
) -> Option<TcpStream> {
    let close = "Content-Length: 0\r\nConnection: close\r\n\r\n";
    let stream =
        "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n";
    if head.starts_with("GET") {
        if script.get_status != 200 {
            let _ = write!(s, "HTTP/1.1 {} X\r\n{close}", script.get_status);
            return None;
        }
        let _ = write!(s, "HTTP/1.1 200 OK\r\n{stream}{}", script.get_body);
        return script.get_hold.then_some(s);
    }
    if !head.starts_with("POST") || script.legacy {
        let _ = write!(s, "HTTP/1.1 202 Accepted\r\n{close}");
        return None;
    }
    let msg: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let Some(id) = msg.get("id").filter(|_| msg.get("method").is_some()) else {
        if script.notify_hold {
            let _ = write!(s, "HTTP/1.1 200 OK\r\n{stream}: keep-alive\n\n");
            return Some(s);
        }
        let _ = write!(s, "HTTP/1.1 202 Accepted\r\n{close}");
        return None;
    };
    let session = format!("scripted-{inits}");
    if script.forget_first_session && msg["method"] != "initialize" {
        let sent = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("mcp-session-id")
                .then(|| v.trim().to_string())
        });
        let status = match sent.as_deref() {
            Some("scripted-1") if msg["method"] == "tools/call" => Some(404),
            Some(v) if v == session => None,
            _ => Some(400),
        };
        if let Some(code) = status {
            let _ = write!(s, "HTTP/1.1 {code} X\r\n{close}");
            return None;
        }
    }
    let result = if msg["method"] == "initialize" {
        serde_json::json!({"protocolVersion": "2025-06-18", "capabilities": {},
            "serverInfo": {"name": "scripted", "version": "1"}})
    } else {
        serde_json::json!({})
    };
    let answer = serde_json::json!({"jsonrpc": "2.0", "id": id, "result": result}).to_string();
    let _ = write!(
        s,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nMcp-Session-Id: {session}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
        answer.len()
    );
    None
}
