//! The OAuth world of tests/oauth.rs: the authorization server
//! (tests/servers/oidc_provider.mjs, the real `oidc-provider`), the MCP
//! server that requires its tokens (tests/servers/oauth_mcp.mjs, the
//! TypeScript SDK's bearer auth), the provider's loopback test endpoint, the
//! browsers handed to mcp-warden as `BROWSER` (headless Chromium, or plain
//! HTTP), `connect` driven over stdio, and the token canary. Everything
//! binds 127.0.0.1 on ephemeral ports, one world per test; every wait is
//! bounded; processes die on drop.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::remote::{Server, free_port, wait_port};
use super::{Home, bin_path, service_env, unique};

/// How the world's provider is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Access-token lifetime in seconds (default 3600); changeable later
    /// with [`World::set_access_ttl`].
    pub access_ttl: Option<u64>,
    /// The tamper fixture in front of the provider: `iss`, `no-iss`, `state`.
    pub tamper: Option<&'static str>,
}

/// oidc-provider and the MCP server it protects, with their logs.
pub struct World {
    /// Logs and browser wrappers: outside every home the canary reads.
    pub dir: tempfile::TempDir,
    pub issuer: String,
    /// The MCP server's URL (the RFC 8707 resource and token audience).
    pub mcp_url: String,
    /// One JSON line per request the MCP server answered (never a token).
    pub mcp_log: PathBuf,
    /// One JSON line per step of every browser run.
    pub browser_log: PathBuf,
    provider_port: u16,
    provider: Server,
    mcp: Server,
}

impl World {
    /// Starts the provider and the MCP server on fresh loopback ports.
    pub fn start(o: Options) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let provider_port = free_port();
        let mcp_port = free_port();
        let issuer = format!("http://127.0.0.1:{provider_port}");
        let mcp_url = format!("http://127.0.0.1:{mcp_port}/mcp");
        let rs_secret = unique("rs-secret");
        let node = service_env("MCP_WARDEN_TEST_NODE22");

        let mut p = Command::new(&node);
        p.arg(service_env("MCP_WARDEN_TEST_OIDC_PROVIDER"))
            .args(["--port", &provider_port.to_string(), "--resource", &mcp_url])
            .args(["--access-ttl", &o.access_ttl.unwrap_or(3600).to_string()])
            .env("OIDC_RS_SECRET", &rs_secret);
        if let Some(mode) = o.tamper {
            p.args(["--tamper", mode]);
        }
        let provider = spawn_logged(p, provider_port, &dir.path().join("provider.log"));

        let mcp_log = dir.path().join("mcp.jsonl");
        let mut m = Command::new(&node);
        m.arg(service_env("MCP_WARDEN_TEST_OAUTH_MCP"))
            .args(["--port", &mcp_port.to_string(), "--issuer", &issuer])
            .arg("--log")
            .arg(&mcp_log)
            .env("OIDC_RS_SECRET", &rs_secret);
        let mcp = spawn_logged(m, mcp_port, &dir.path().join("mcp.log"));
        let browser_log = dir.path().join("browser.jsonl");
        World {
            dir,
            issuer,
            mcp_url,
            mcp_log,
            browser_log,
            provider_port,
            provider,
            mcp,
        }
    }

    /// What the provider saw and issued (its /__test/state).
    pub fn state(&self) -> ProviderState {
        let (status, body) = http(self.provider_port, "GET", "/__test/state", None);
        assert_eq!(status, 200, "provider test endpoint: {body}");
        ProviderState(serde_json::from_str(&body).expect("provider state JSON"))
    }

    /// Access tokens issued from now on live `seconds`.
    pub fn set_access_ttl(&self, seconds: u64) {
        let body = json!({ "seconds": seconds }).to_string();
        let (status, text) = http(
            self.provider_port,
            "POST",
            "/__test/access-ttl",
            Some(&body),
        );
        assert_eq!(status, 200, "set access TTL: {text}");
    }

    /// The provider forgets every access token it issued (refresh tokens
    /// and grants stay): the MCP server's introspection then says inactive.
    pub fn forget_access_tokens(&self) {
        let (status, text) = http(
            self.provider_port,
            "POST",
            "/__test/forget-access-tokens",
            None,
        );
        assert_eq!(status, 200, "forget access tokens: {text}");
    }

    /// Revokes `token` at the provider's RFC 7009 endpoint as public client
    /// `client_id` (what a user revoking the app at the provider causes).
    pub fn revoke(&self, token: &str, client_id: &str) {
        let body = format!(
            "token={}&client_id={}",
            form_escape(token),
            form_escape(client_id)
        );
        let (status, text) = http_form(self.provider_port, "/token/revocation", &body);
        assert_eq!(status, 200, "revocation: {text}");
    }

    /// A `BROWSER` executable of this kind, logging to [`World::browser_log`].
    pub fn browser(&self, kind: Browser) -> PathBuf {
        let (name, script) = match kind {
            Browser::Chromium => ("chromium", "MCP_WARDEN_TEST_OAUTH_CHROMIUM"),
            Browser::Http => ("http", "MCP_WARDEN_TEST_OAUTH_HTTP_BROWSER"),
        };
        let path = self.dir.path().join(format!("browser-{name}"));
        let text = format!(
            "#!/bin/sh\nOAUTH_BROWSER_LOG='{}' exec '{}' '{}' \"$@\"\n",
            self.browser_log.display(),
            service_env("MCP_WARDEN_TEST_PYTHON"),
            service_env(script),
        );
        std::fs::write(&path, text).expect("write browser wrapper");
        set_executable(&path);
        path
    }

    /// The browser log's entries once the browser has exited (its last
    /// entry is `exit`). mcp-warden goes on as soon as the redirect reaches
    /// it, so the browser may still be writing its `done` step: wait for it,
    /// bounded by the browser script's own 90 s deadline.
    pub fn browser_steps(&self) -> Vec<Value> {
        let end = Instant::now() + Duration::from_secs(100);
        loop {
            let steps = json_lines(&self.browser_log);
            if steps.iter().any(|s| s.get("exit").is_some()) || Instant::now() >= end {
                return steps;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The MCP server's request log.
    pub fn mcp_requests(&self) -> Vec<Value> {
        json_lines(&self.mcp_log)
    }

    /// The provider's and the MCP server's logs, for a failure message.
    pub fn logs(&self) -> String {
        ["provider.log", "mcp.log", "browser.jsonl"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
                format!("--- {f}\n{text}")
            })
            .collect()
    }

    /// Stops the MCP server and the provider now.
    pub fn stop(&mut self) {
        self.mcp.stop();
        self.provider.stop();
    }
}

/// Which browser mcp-warden is given.
#[derive(Debug, Clone, Copy)]
pub enum Browser {
    /// Headless Chromium through ChromeDriver (tests/py/oauth_chromium.py).
    Chromium,
    /// Plain HTTP with a cookie jar (tests/py/oauth_http_browser.py).
    Http,
}

/// The provider's /__test/state document.
#[derive(Debug, Clone)]
pub struct ProviderState(pub Value);

impl ProviderState {
    /// A top-level count (`authorizations`, `registrations`, `revocations`,
    /// `introspections`, `grants_revoked`).
    pub fn count(&self, name: &str) -> u64 {
        self.0["counts"][name].as_u64().unwrap_or(0)
    }

    /// Token-endpoint requests with this grant type (any outcome).
    pub fn token_requests(&self, grant: &str) -> u64 {
        self.0["counts"]["token_requests"][grant]
            .as_u64()
            .unwrap_or(0)
    }

    /// Successful token-endpoint requests with this grant type.
    pub fn token_success(&self, grant: &str) -> u64 {
        self.0["counts"]["token_success"][grant]
            .as_u64()
            .unwrap_or(0)
    }

    /// Failed token requests, `grant:error` -> count.
    pub fn token_errors(&self) -> &Value {
        &self.0["counts"]["token_errors"]
    }

    /// Every credential the provider issued, of every kind.
    pub fn issued(&self) -> Vec<String> {
        self.0["issued"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The credentials of one kind (`AccessToken`, `RefreshToken`, ...), oldest first.
    pub fn issued_of(&self, kind: &str) -> Vec<String> {
        self.0["issued"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|t| t["kind"] == kind)
                    .filter_map(|t| t["value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The pre-registered client-credentials secret and private keys.
    pub fn client_secret(&self) -> String {
        self.0["clients"]["cc_secret"]
            .as_str()
            .expect("cc secret")
            .to_string()
    }

    pub fn private_key_pem(&self, which: &str) -> String {
        self.0["clients"][format!("{which}_pem")]
            .as_str()
            .expect("private key")
            .to_string()
    }
}

/// A user's machine: an mcp-warden home and a separate `HOME`, both temporary.
pub struct UserHome {
    pub warden: Home,
    pub home: tempfile::TempDir,
}

impl UserHome {
    pub fn new() -> UserHome {
        UserHome {
            warden: Home::new(),
            home: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// `mcp-warden` with both homes, no desktop, no `BROWSER` and no
    /// ambient backend settings.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin_path());
        super::env::strip_env(
            &mut c,
            &[
                "MCP_WARDEN_",
                "AWS_",
                "VAULT_",
                "BAO_",
                "XDG_",
                "GOOGLE_",
                "AZURE_",
            ],
        );
        let h = self.home.path();
        c.env("MCP_WARDEN_HOME", self.warden.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            .env("HOME", h)
            .env("XDG_CONFIG_HOME", h.join(".config"))
            .env("XDG_DATA_HOME", h.join(".local/share"))
            .env("XDG_CACHE_HOME", h.join(".cache"))
            .env("XDG_STATE_HOME", h.join(".local/state"))
            .env("GCE_METADATA_HOST", "127.0.0.1:1")
            .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:1")
            .env_remove("BROWSER")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env_remove("VAULT_TYPE");
        c
    }

    /// [`UserHome::cmd`] with `BROWSER` set to `browser`.
    pub fn with_browser(&self, browser: &Path) -> Command {
        let mut c = self.cmd();
        c.env("BROWSER", browser);
        c
    }

    /// Stores `value` under `name` in the local store.
    pub fn set(&self, name: &str, value: &[u8]) {
        let mut c = self.cmd();
        c.args(["secret", "set", name, "--keep-newline"]);
        let out = super::process::pipe_within(&mut c, value, Duration::from_secs(30));
        assert!(
            out.status.success(),
            "secret set {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs `c` (an mcp-warden command of this home) with no input, at most `limit`.
    pub fn run(&self, mut c: Command, limit: Duration) -> Output {
        super::process::pipe_within(&mut c, b"", limit)
    }

    /// The directories a token must never reach: both homes.
    pub fn dirs(&self) -> Vec<PathBuf> {
        vec![
            self.warden.path().to_path_buf(),
            self.home.path().to_path_buf(),
        ]
    }
}

impl Default for UserHome {
    fn default() -> Self {
        UserHome::new()
    }
}

/// What one `connect` run answered.
#[derive(Debug, Default)]
pub struct Bridge {
    /// JSON-RPC answers by request id order of arrival.
    pub answers: Vec<Value>,
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
}

impl Bridge {
    /// The answer to request `id`.
    pub fn answer(&self, id: u64) -> Option<&Value> {
        self.answers.iter().find(|a| a["id"] == id)
    }

    /// The tool names of the `tools/list` answer (request id 2).
    pub fn tools(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .answer(2)
            .and_then(|a| a["result"]["tools"].as_array())
            .map(|t| {
                t.iter()
                    .filter_map(|t| t["name"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    /// stdout and stderr, for messages and the canary.
    pub fn text(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// The tools oauth_mcp.mjs offers.
pub fn server_tools() -> Vec<String> {
    vec!["admin_op".into(), "echo".into(), "whoami".into()]
}

/// Drives `connect` (command `c`) over stdio: `initialize` (id 1), then
/// `notifications/initialized`, `tools/list` (id 2) and each of `calls`
/// (`tools/call` of that tool, ids 3..), each sent after the previous answer.
/// Stops at the first error answer; then closes stdin and waits for the
/// exit. Answers are awaited until `limit`; the exit 15 s more at most
/// (then the process is killed).
pub fn bridge(mut c: Command, calls: &[&str], limit: Duration) -> Bridge {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn connect");
    let deadline = Instant::now() + limit;
    let (rx, err_reader) = readers(&mut child);
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = Bridge::default();
    let mut lines = Vec::new();
    for (id, request) in session(calls) {
        if id == 2 {
            let note = json!({"jsonrpc":"2.0","method":"notifications/initialized"});
            let _ = writeln!(stdin, "{note}");
        }
        if writeln!(stdin, "{request}")
            .and_then(|_| stdin.flush())
            .is_err()
        {
            break;
        }
        let Some(answer) = wait_answer(&rx, id, deadline, &mut lines) else {
            break;
        };
        let failed = answer.get("error").is_some();
        out.answers.push(answer);
        if failed {
            break;
        }
    }
    drop(stdin);
    out.code = reap(&mut child, deadline + Duration::from_secs(15));
    lines.extend(rx.try_iter());
    out.stdout = lines.join("\n");
    out.stderr = err_reader.join().unwrap_or_default();
    out
}

/// The requests of [`bridge`], with their ids.
fn session(calls: &[&str]) -> Vec<(u64, Value)> {
    let mut requests = vec![
        (
            1u64,
            json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
                "protocolVersion":"2025-06-18","capabilities":{},
                "clientInfo":{"name":"oauth-test","version":"1"}}}),
        ),
        (
            2,
            json!({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}),
        ),
    ];
    for (i, tool) in calls.iter().enumerate() {
        let id = 3 + i as u64;
        requests.push((
            id,
            json!({"jsonrpc":"2.0","id":id,"method":"tools/call",
                "params":{"name":tool,"arguments":{"text":"hello"}}}),
        ));
    }
    requests
}

/// Threads reading `child`'s stdout (line by line, into the channel) and
/// stderr (whole, returned by the handle).
fn readers(
    child: &mut std::process::Child,
) -> (mpsc::Receiver<String>, std::thread::JoinHandle<String>) {
    let (tx, rx) = mpsc::channel::<String>();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("stderr");
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    (rx, err)
}

/// `child`'s exit code, killing it when it is still running at `until`.
fn reap(child: &mut std::process::Child, until: Instant) -> Option<i32> {
    let mut code = None;
    while Instant::now() < until {
        if let Ok(Some(st)) = child.try_wait() {
            code = st.code();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if code.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    code
}

/// The answer to `id` from the stdout lines, before `deadline`.
fn wait_answer(
    rx: &mpsc::Receiver<String>,
    id: u64,
    deadline: Instant,
    lines: &mut Vec<String>,
) -> Option<Value> {
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let line = rx.recv_timeout(left).ok()?;
        lines.push(line.clone());
        if let Ok(v) = serde_json::from_str::<Value>(&line)
            && v["id"] == id
            && (v.get("result").is_some() || v.get("error").is_some())
        {
            return Some(v);
        }
    }
}

/// Everything a test saw come out of mcp-warden, for the canary.
#[derive(Debug, Default)]
pub struct Transcript {
    outputs: Vec<(String, String)>,
}

impl Transcript {
    pub fn add(&mut self, label: &str, text: &str) {
        self.outputs.push((label.to_string(), text.to_string()));
    }

    pub fn output(&mut self, label: &str, o: &Output) {
        self.add(
            label,
            &format!(
                "{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        );
    }

    pub fn bridge(&mut self, label: &str, b: &Bridge) {
        self.add(label, &b.text());
    }

    /// Whether any output holds `needle`.
    pub fn contains(&self, needle: &str) -> bool {
        self.outputs.iter().any(|(_, t)| t.contains(needle))
    }
}

/// The token canary: no credential the provider issued (in full, or its
/// first 16 characters) appears in any output of `seen` or in any file under
/// the homes (the audit log and the store included). Fails when the
/// provider issued nothing (the check would prove nothing).
pub fn assert_no_token_bytes(world: &World, home: &UserHome, seen: &Transcript) {
    let found = token_findings(world, &home.dirs(), seen);
    assert!(
        found.is_empty(),
        "tokens issued by the provider leaked into: {found:?}"
    );
}

/// Where a credential the provider issued shows up: output labels and file
/// paths under `dirs` (never the credential itself).
pub fn token_findings(world: &World, dirs: &[PathBuf], seen: &Transcript) -> Vec<String> {
    let issued = world.state().issued();
    assert!(
        !issued.is_empty(),
        "the provider issued nothing to look for"
    );
    let needles: Vec<&str> = issued
        .iter()
        .flat_map(|t| [t.as_str(), &t[..t.len().min(16)]])
        .collect();
    let mut found = Vec::new();
    for (label, text) in &seen.outputs {
        if needles.iter().any(|n| text.contains(n)) {
            found.push(format!("output of {label}"));
        }
    }
    let mut files = Vec::new();
    for d in dirs {
        walk(d, &mut files);
    }
    assert!(!files.is_empty(), "no files under {dirs:?} to look at");
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        if needles
            .iter()
            .any(|n| bytes.windows(n.len()).any(|w| w == n.as_bytes()))
        {
            found.push(f.display().to_string());
        }
    }
    found
}

/// Runs `mcp-remote` (the bridge users run today) against the world's server
/// with `home` as HOME and the plain-HTTP browser, until it has authorized
/// (at most 60 s), and returns the files of its plaintext cache
/// (`~/.mcp-auth/...`).
pub fn mcp_remote_cache(world: &World, home: &Path) -> Vec<PathBuf> {
    let mut c = Command::new(service_env("MCP_WARDEN_TEST_NODE"));
    c.arg(service_env("MCP_WARDEN_TEST_MCP_REMOTE"))
        .arg(&world.mcp_url)
        .arg(free_port().to_string())
        .env("HOME", home)
        .env("BROWSER", world.browser(Browser::Http))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().expect("start mcp-remote");
    let mut stdin = child.stdin.take().expect("stdin");
    let init = json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{
        "protocolVersion":"2025-06-18","capabilities":{},
        "clientInfo":{"name":"oauth-test","version":"1"}}});
    let _ = writeln!(stdin, "{init}");
    let cache = home.join(".mcp-auth");
    let done = super::wait_until(Duration::from_secs(60), || {
        let mut files = Vec::new();
        walk(&cache, &mut files);
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with("_tokens.json"))
    });
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    assert!(done, "mcp-remote did not authorize: {}", world.logs());
    let mut files = Vec::new();
    walk(&cache, &mut files);
    files
}

/// Every regular file under `dir` (symlinks not followed).
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(t) = e.file_type() else { continue };
        if t.is_dir() {
            walk(&e.path(), files);
        } else if t.is_file() {
            files.push(e.path());
        }
    }
}

fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Starts `c` with its output in `log`; waits (30 s at most) for `port`.
fn spawn_logged(mut c: Command, port: u16, log: &Path) -> Server {
    let out = std::fs::File::create(log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = c
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", c.get_args().next()));
    let mut server = Server { child, port };
    let up = wait_port(port, Duration::from_secs(30));
    if !up || matches!(server.child.try_wait(), Ok(Some(_))) {
        server.stop();
        panic!(
            "{:?} did not listen on {port}: {}",
            c.get_args().next(),
            std::fs::read_to_string(log).unwrap_or_default()
        );
    }
    server
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut perm = std::fs::metadata(path).expect("metadata").permissions();
    perm.set_mode(0o755);
    std::fs::set_permissions(path, perm).expect("chmod");
}

/// `application/x-www-form-urlencoded` escaping of one value.
fn form_escape(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One HTTP/1.0 request to 127.0.0.1:`port` with a JSON body; (status, body).
fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    exchange(port, &format!("{head}{body}"))
}

fn http_form(port: u16, path: &str, body: &str) -> (u16, String) {
    let req = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    exchange(port, &req)
}

fn exchange(port: u16, request: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the provider");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(request.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = s.take(16 << 20).read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, body.to_string())
}
