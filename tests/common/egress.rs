//! The secretless-mode harness of tests/secretless.rs: a real token of a
//! known shape, the test PKI, the HTTPS API of tests/servers/egress_api.mjs
//! (one process per host, its request log), the MCP servers of
//! tests/servers/egress_server.{py,mjs}, and MCP sessions through
//! `mcp-warden run --secretless`: the official Python client
//! (tests/py/mcp_session.py) for whole sessions, a raw JSON-RPC driver for
//! tests that signal processes mid-session. Everything binds loopback; every
//! wait is bounded; processes are killed on drop. It asserts nothing about
//! mcp-warden itself except [`Fixture::assert_no_leak`], the canary search.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

use super::output::json_lines;
use super::process::wait_with_timeout;
use super::remote::{make_tls, read_log};
use super::{Home, bin_path, service_env};

/// The local:// name the real token is stored under.
pub const SECRET: &str = "api";
/// The variable the MCP servers read their token from (their default).
pub const VAR: &str = "API_TOKEN";

/// Variables of the test's own environment that must not reach mcp-warden:
/// proxies and CA settings are what secretless mode sets for its child.
const AMBIENT: [&str; 14] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "NODE_USE_ENV_PROXY",
    "NODE_EXTRA_CA_CERTS",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_DIR",
    "EGRESS_TOKEN_VAR",
];

/// Removes the test's own proxy and CA settings from `c` ([`AMBIENT`]).
pub fn clear_ambient(c: &mut Command) {
    for k in AMBIENT {
        c.env_remove(k);
    }
}

/// A GitHub-shaped token, `ghp_` and 36 random alphanumerics, new per call.
pub fn real_token() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut raw = [0u8; 36];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut raw))
        .expect("read /dev/urandom");
    let tail: String = raw
        .iter()
        .map(|b| ALNUM[*b as usize % ALNUM.len()] as char)
        .collect();
    format!("ghp_{tail}")
}

/// The MCP server the child runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// tests/servers/egress_server.py: the Python SDK and httpx.
    Python,
    /// tests/servers/egress_server.mjs: the TypeScript SDK and fetch (Node 24).
    Node,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::Python, Lang::Node];

    /// The server's command line.
    pub fn command(self) -> Vec<String> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/servers");
        let (exe, script) = match self {
            Lang::Python => (
                service_env("MCP_WARDEN_TEST_PYTHON"),
                dir.join("egress_server.py"),
            ),
            Lang::Node => (
                service_env("MCP_WARDEN_TEST_NODE22"),
                dir.join("egress_server.mjs"),
            ),
        };
        vec![exe, script.display().to_string()]
    }
}

/// One test's world: an isolated home holding the real token as
/// `local://api`, a private CA and server certificate, and a TMPDIR of its own.
pub struct Fixture {
    pub home: Home,
    pub token: String,
    pub pki: tempfile::TempDir,
    pub tmp: tempfile::TempDir,
    /// Logs, dumps and the raw driver's stderr (not searched for keys).
    pub work: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let home = Home::new();
        let token = real_token();
        home.set(SECRET, token.as_bytes());
        let pki = tempfile::tempdir().expect("tempdir");
        make_tls(pki.path());
        Fixture {
            home,
            token,
            pki,
            tmp: tempfile::tempdir().expect("tempdir"),
            work: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The private CA mcp-warden trusts for upstream TLS (its SSL_CERT_FILE).
    pub fn ca(&self) -> PathBuf {
        self.pki.path().join("ca.pem")
    }

    /// An API on `host` (127.0.0.1, 127.0.0.2) that wants this fixture's token.
    pub fn api(&self, host: &str) -> Api {
        Api::start(self.pki.path(), self.work.path(), host, &self.token)
    }

    /// The environment of mcp-warden (and of the client that starts it):
    /// this home, a key file, upstream TLS verified against the test CA, its
    /// own TMPDIR, and no ambient proxy or CA setting.
    pub fn env(&self, c: &mut Command) {
        clear_ambient(c);
        c.env("MCP_WARDEN_HOME", self.home.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            .env_remove("MCP_WARDEN_LOG")
            .env("SSL_CERT_FILE", self.ca())
            .env("TMPDIR", self.tmp.path());
    }

    /// `mcp-warden run <run_args> -- <lang's server>` driven by the official
    /// Python client through `calls`.
    pub fn session(&self, run_args: &[String], lang: Lang, calls: &[Value]) -> Session {
        self.session_env(run_args, lang, calls, &[])
    }

    /// [`Fixture::session`] with `extra` variables set for mcp-warden (and so its child).
    pub fn session_env(
        &self,
        run_args: &[String],
        lang: Lang,
        calls: &[Value],
        extra: &[(&str, &Path)],
    ) -> Session {
        let mut c = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"));
        c.arg(service_env("MCP_WARDEN_TEST_MCP_SESSION"))
            .args(["--timeout", "150"]);
        for call in calls {
            c.arg("--call").arg(call.to_string());
        }
        c.arg("--")
            .arg(bin_path())
            .arg("run")
            .args(run_args)
            .arg("--")
            .args(lang.command());
        self.env(&mut c);
        c.envs(extra.iter().copied());
        let child = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the Python MCP client");
        Session::from(wait_with_timeout(child, Duration::from_secs(180)))
    }

    /// `mcp-warden run <run_args> -- <lang's server>` on pipes, for the raw driver.
    pub fn live(&self, run_args: &[String], lang: Lang) -> Live {
        let mut c = Command::new(bin_path());
        c.arg("run").args(run_args).arg("--").args(lang.command());
        self.env(&mut c);
        Live::start(c, &self.work.path().join("live-stderr.log"))
    }

    /// The audit log's records (empty when there is none).
    pub fn audit(&self) -> Vec<Value> {
        let path = self.home.path().join("audit").join("audit.jsonl");
        json_lines(&std::fs::read_to_string(path).unwrap_or_default())
    }

    /// Records of `kind` ("egress", "egress_blocked").
    pub fn audit_of(&self, kind: &str) -> Vec<Value> {
        self.audit()
            .into_iter()
            .filter(|r| r["type"] == kind)
            .collect()
    }

    /// The canary search: the real token is in none of `outputs`, nor in any
    /// file under the home, TMPDIR or the work dir (the API's own log is
    /// there and never holds values either).
    pub fn assert_no_leak(&self, outputs: &[&str]) {
        for (i, o) in outputs.iter().enumerate() {
            assert!(
                !o.contains(&self.token),
                "the real token leaked in output #{i}: {o}"
            );
        }
        for dir in [self.home.path(), self.tmp.path(), self.work.path()] {
            for (path, bytes) in files_under(dir) {
                assert!(
                    !contains(&bytes, self.token.as_bytes()),
                    "the real token is in {}",
                    path.display()
                );
            }
        }
    }
}

/// Whether `hay` contains `needle`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// Every regular file under `dir` with its bytes (unreadable ones skipped).
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let path = e.path();
        match e.file_type() {
            Ok(t) if t.is_dir() => out.extend(files_under(&path)),
            Ok(t) if t.is_file() => {
                if let Ok(b) = std::fs::read(&path) {
                    out.push((path, b));
                }
            }
            _ => {}
        }
    }
    out
}

/// A running tests/servers/egress_api.mjs; killed on drop.
pub struct Api {
    child: Child,
    pub host: String,
    pub port: u16,
    pub log: PathBuf,
}

impl Api {
    /// Starts the API on `host` with `dir`'s certificate; waits (15 s) for its ready line.
    pub fn start(pki: &Path, work: &Path, host: &str, token: &str) -> Api {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/servers/egress_api.mjs");
        let tag = format!("api-{host}-{}", super::unique("egress"));
        let log = work.join(format!("{tag}.jsonl"));
        let err = File::create(work.join(format!("{tag}.stderr"))).expect("stderr file");
        let mut child = Command::new(service_env("MCP_WARDEN_TEST_NODE"))
            .arg(script)
            .arg("--tls-dir")
            .arg(pki)
            .arg("--log")
            .arg(&log)
            .arg("--host")
            .arg(host)
            .env("EGRESS_API_TOKEN", token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start egress_api.mjs");
        let lines = line_reader(child.stdout.take().expect("stdout"));
        let ready = lines.recv_timeout(Duration::from_secs(15));
        let port = ready
            .ok()
            .and_then(|l| serde_json::from_str::<Value>(&l).ok())
            .and_then(|v| v["port"].as_u64())
            .and_then(|p| u16::try_from(p).ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("egress_api.mjs on {host} did not say it was ready within 15 s");
        };
        Api {
            child,
            host: host.to_string(),
            port,
            log,
        }
    }

    /// `HOST:PORT`, as `--secretless` and `--egress-allow` name it.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// `https://HOST:PORT<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.authority())
    }

    /// `wss://HOST:PORT<path>`.
    pub fn wss(&self, path: &str) -> String {
        format!("wss://{}{path}", self.authority())
    }

    /// The requests it received, one JSON object each (see egress_api.mjs).
    pub fn requests(&self) -> Vec<Value> {
        read_log(&self.log)
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines of `r`, read on a thread, as a channel (so reads can time out).
fn line_reader(r: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The official client's session: its report, and the raw streams.
pub struct Session {
    pub report: Value,
    pub stdout: String,
    pub stderr: String,
    pub output: Output,
}

impl From<Output> for Session {
    fn from(output: Output) -> Session {
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        let report = stdout
            .lines()
            .rev()
            .find_map(|l| serde_json::from_str(l).ok())
            .unwrap_or_else(|| panic!("no report from mcp_session.py: {stdout:?} {stderr:?}"));
        Session {
            report,
            stdout,
            stderr,
            output,
        }
    }
}

impl Session {
    /// Asserts the session ran to its end.
    pub fn ok(&self) -> &Session {
        assert_eq!(
            self.report["ok"], true,
            "the session failed: {}\nstderr: {}",
            self.report, self.stderr
        );
        self
    }

    /// The JSON answer of call `i` (its one text), failing on an MCP error.
    pub fn answer(&self, i: usize) -> Value {
        let call = &self.report["calls"][i];
        let text = call["texts"][0]
            .as_str()
            .unwrap_or_else(|| panic!("call {i} has no text: {call}\nstderr: {}", self.stderr));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("call {i}: {e}: {text}"))
    }

    /// Both streams and the report, for the canary search.
    pub fn outputs(&self) -> [&str; 2] {
        [&self.stdout, &self.stderr]
    }
}

/// A tool call for [`Fixture::session`].
pub fn call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

/// `mcp-warden run` on pipes, driven with raw JSON-RPC (newline-delimited),
/// for tests that signal processes while the session is open. Killed on drop.
pub struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: u64,
    pub stderr_log: PathBuf,
}

impl Live {
    /// Starts `c` and completes the MCP handshake (30 s).
    pub fn start(mut c: Command, stderr_log: &Path) -> Live {
        let err = File::create(stderr_log).expect("stderr file");
        let mut child = c
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(err))
            .spawn()
            .expect("start mcp-warden");
        let lines = line_reader(child.stdout.take().expect("stdout"));
        let stdin = child.stdin.take();
        let mut live = Live {
            child,
            stdin,
            lines,
            next_id: 1,
            stderr_log: stderr_log.to_path_buf(),
        };
        let init = live.request(
            "initialize",
            json!({
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "secretless-test", "version": "0"}
            }),
        );
        assert!(init.get("result").is_some(), "initialize failed: {init}");
        live.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        live
    }

    /// mcp-warden's pid.
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn send(&mut self, msg: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{msg}").expect("write to mcp-warden");
        stdin.flush().expect("flush");
    }

    /// Sends a request; its response (30 s), skipping notifications.
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!("no answer to {method} within 30 s"),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "mcp-warden closed its stdout before answering {method}; stderr: {}",
                    self.stderr()
                ),
            };
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if v["id"] == id {
                return v;
            }
        }
    }

    /// A tool call's JSON answer (its one text).
    pub fn call(&mut self, name: &str, arguments: Value) -> Value {
        let v = self.request("tools/call", json!({"name": name, "arguments": arguments}));
        let text = v["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no text: {v}"));
        serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
    }

    /// Closes stdin and waits (at most `limit`) for mcp-warden to exit; its exit code.
    pub fn close(&mut self, limit: Duration) -> Option<i32> {
        drop(self.stdin.take());
        self.wait(limit)
    }

    /// Waits (at most `limit`) for mcp-warden to exit; its exit code
    /// (`None` when killed by a signal). Fails the test on timeout.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("mcp-warden did not exit within {limit:?}");
    }

    /// What mcp-warden wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
