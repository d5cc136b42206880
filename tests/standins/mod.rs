//! Rust side of the cloud stand-ins: start one (a Python process on
//! 127.0.0.1, killed on drop), make test key material, drive the official
//! Python SDKs, and read the stand-in's request log.
//!
//! The stand-ins are not Google's, Microsoft's or 1Password's services: see the `.py`
//! files beside this one. Every wait here is bounded.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common::{service_env, wait_until};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/standins")
}

/// The venv's Python (scripts/test exports it).
pub fn python() -> String {
    service_env("MCP_WARDEN_TEST_PYTHON")
}

fn run_py(args: &[&str]) {
    let out = Command::new(python())
        .args(args)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Key material made at test time in `dir`.
pub struct Pki {
    pub dir: PathBuf,
}

impl Pki {
    /// A private CA and a certificate for 127.0.0.1/localhost.
    pub fn new(dir: &Path) -> Pki {
        std::fs::create_dir_all(dir).expect("pki dir");
        let pki = dir.join("pki");
        std::fs::create_dir_all(&pki).expect("pki dir");
        run_py(&[&script("pki.py"), "tls", &pki.to_string_lossy()]);
        Pki { dir: pki }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// An RSA pair: (private key PEM path, public key PEM text).
    pub fn rsa(&self, name: &str) -> (PathBuf, String) {
        run_py(&[&script("pki.py"), "rsa", &self.dir.to_string_lossy(), name]);
        let public =
            std::fs::read_to_string(self.dir.join(format!("{name}-pub.pem"))).expect("pub");
        (self.dir.join(format!("{name}-key.pem")), public)
    }

    /// An RSA pair whose private key is PKCS#1 (`BEGIN RSA PRIVATE KEY`, as
    /// GitHub hands out App keys): (private key PEM path, public key PEM text).
    pub fn rsa_pkcs1(&self, name: &str) -> (PathBuf, String) {
        run_py(&[
            &script("pki.py"),
            "rsa",
            &self.dir.to_string_lossy(),
            name,
            "pkcs1",
        ]);
        let public =
            std::fs::read_to_string(self.dir.join(format!("{name}-pub.pem"))).expect("pub");
        (self.dir.join(format!("{name}-key.pem")), public)
    }

    /// A client certificate: (cert+key PEM path, certificate PEM text).
    pub fn client(&self, name: &str) -> (PathBuf, String) {
        run_py(&[
            &script("pki.py"),
            "client",
            &self.dir.to_string_lossy(),
            name,
        ]);
        let cert =
            std::fs::read_to_string(self.dir.join(format!("{name}-cert.pem"))).expect("cert");
        (self.dir.join(format!("{name}.pem")), cert)
    }
}

pub fn script(name: &str) -> String {
    dir().join(name).to_string_lossy().into_owned()
}

/// A running stand-in.
pub struct StandIn {
    child: Child,
    /// The TLS listener.
    pub port: u16,
    /// The plain-HTTP listener (metadata / managed identity endpoints, control).
    pub plain_port: u16,
    pub ca: PathBuf,
}

impl StandIn {
    /// Starts `gcp_sm.py`, `azure_kv.py`, `github_app.py`, ... with `config`, over TLS with `pki`'s certificate.
    pub fn start(kind: &str, config: &Value, pki: &Pki, work: &Path) -> StandIn {
        let cfg = work.join(format!("{kind}-config.json"));
        std::fs::write(&cfg, serde_json::to_vec(config).expect("json")).expect("config");
        let ready = work.join(format!("{kind}-ready.json"));
        let _ = std::fs::remove_file(&ready);
        let log = std::fs::File::create(work.join(format!("{kind}.log"))).expect("log");
        let mut child = Command::new(python())
            .arg(script(&format!("{kind}.py")))
            .arg("--config")
            .arg(&cfg)
            .arg("--ready")
            .arg(&ready)
            .arg("--cert")
            .arg(pki.dir.join("server.pem"))
            .arg("--key")
            .arg(pki.dir.join("server-key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start stand-in");
        let mut info: Option<Value> = None;
        let up = wait_until(Duration::from_secs(20), || {
            info = std::fs::read(&ready)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            info.is_some() || child.try_wait().ok().flatten().is_some()
        });
        let Some(info) = info.filter(|_| up) else {
            let _ = child.kill();
            panic!(
                "stand-in {kind} did not start: {}",
                std::fs::read_to_string(work.join(format!("{kind}.log"))).unwrap_or_default()
            );
        };
        let port = |k: &str| info[k].as_u64().expect("port") as u16;
        StandIn {
            port: port("port"),
            plain_port: port("plain_port"),
            child,
            ca: pki.ca(),
        }
    }

    /// `https://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT` of the TLS listener.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PLAIN_PORT`
    pub fn plain_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.plain_port)
    }

    /// A control call on the plain listener: `POST /__standin/...` or `GET`.
    fn control(&self, method: &str, path: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(("127.0.0.1", self.plain_port)).expect("connect control");
        s.set_read_timeout(Some(Duration::from_secs(10))).ok();
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let at = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map_or(0, |i| i + 4);
        out[at..].to_vec()
    }

    /// `POST PATH_AND_QUERY` on the plain listener (a stand-in's test-only
    /// routes); the answer's body.
    pub fn post(&self, path: &str) -> Vec<u8> {
        self.control("POST", path)
    }

    /// The request log.
    pub fn log(&self) -> Vec<Value> {
        serde_json::from_slice(&self.control("GET", "/__standin/log")).expect("log json")
    }

    /// How many logged entries have `kind`.
    pub fn count(&self, kind: &str) -> usize {
        self.log().iter().filter(|e| e["kind"] == kind).count()
    }

    /// The next `count` API calls answer `status` (with `Retry-After` when given).
    pub fn fail_next(&self, count: u32, status: u16, retry_after: Option<u32>) {
        let ra = retry_after
            .map(|s| format!("&retry_after={s}"))
            .unwrap_or_default();
        self.control(
            "POST",
            &format!("/__standin/fail?count={count}&status={status}{ra}"),
        );
    }

    /// The API will refuse the next token the stand-in issues as expired.
    pub fn expire_next_token(&self) {
        self.control("POST", "/__standin/expire-next-token");
    }

    /// Runs an official-SDK driver script; returns stdout, panics on failure.
    pub fn sdk(&self, script_name: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let mut c = Command::new(python());
        c.arg(script(script_name))
            .args(args)
            .env("REQUESTS_CA_BUNDLE", &self.ca)
            .env("SSL_CERT_FILE", &self.ca);
        let out = crate::common::process::pipe_within(&mut c, stdin, Duration::from_secs(120));
        assert!(
            out.status.success(),
            "{script_name} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Removes every ambient cloud setting from `c`, then points it at the
/// private CA, an empty home (no gcloud or az files) and closed loopback
/// metadata endpoints.
pub fn clean_cloud_env(c: &mut assert_cmd::Command, ca: &Path, home: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        let cloud = [
            "GOOGLE_",
            "CLOUDSDK_",
            "AZURE_",
            "IDENTITY_",
            "MSI_",
            "GCE_",
        ]
        .iter()
        .any(|p| k.starts_with(p));
        if cloud {
            c.env_remove(&k);
        }
    }
    c.env("SSL_CERT_FILE", ca)
        .env("HOME", home)
        .env("GCE_METADATA_HOST", "127.0.0.1:1")
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:1")
        .env_remove("SSL_CERT_DIR");
}

/// A loopback listener that accepts connections and never answers; closed on drop.
pub struct Silent {
    pub port: u16,
    _listener: std::net::TcpListener,
    held: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl Silent {
    pub fn new() -> Silent {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (l2, h2) = (l.try_clone().expect("clone"), held.clone());
        std::thread::spawn(move || {
            // Bounded: at most 64 connections are held.
            for s in l2.incoming().take(64).flatten() {
                if let Ok(mut v) = h2.lock() {
                    v.push(s);
                }
            }
        });
        Silent {
            port,
            _listener: l,
            held,
        }
    }
}

/// A loopback port with nothing listening.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A plain-http loopback server that gives every request one fixed answer
/// (another cloud's metadata service, a misbehaving token endpoint, an
/// oversized answer) and counts requests; at most 32 connections are served.
pub struct Canned {
    pub port: u16,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Canned {
    /// `head` is the status line and headers without the final blank line;
    /// without a Content-Length the body ends when the connection closes.
    pub fn new(head: &str, body: Vec<u8>) -> Canned {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (head, count) = (format!("{head}\r\nConnection: close\r\n\r\n"), hits.clone());
        std::thread::spawn(move || {
            for mut s in l.incoming().take(32).flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                s.set_read_timeout(Some(Duration::from_secs(5))).ok();
                read_request(&mut s);
                let _ = s.write_all(head.as_bytes());
                let _ = s.write_all(&body);
            }
        });
        Canned { port, hits }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Reads one request's head and its Content-Length body (bounded: 1 MiB).
fn read_request(s: &mut TcpStream) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < 1 << 20 {
        let Ok(n) = s.read(&mut buf) else { return };
        if n == 0 {
            return;
        }
        got.extend_from_slice(&buf[..n]);
        let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if got.len() >= end + 4 + len {
            return;
        }
    }
}

/// Writes a Google service-account key file at `path` for `email` in
/// `project`, its private key `private_key` (PEM), tokens from `token_uri`.
pub fn service_account_file(
    path: &Path,
    email: &str,
    project: &str,
    private_key: &str,
    token_uri: &str,
) {
    let sa = serde_json::json!({
        "type": "service_account",
        "project_id": project,
        "private_key_id": "key-1",
        "private_key": private_key,
        "client_email": email,
        "client_id": "1",
        "token_uri": token_uri,
    });
    std::fs::write(path, sa.to_string()).expect("key file");
}
