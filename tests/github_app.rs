//! The `github-app://` minting backend against the GitHub App STAND-IN
//! (tests/standins/github_app.py: GitHub's documented App authentication and
//! installation-token REST calls, over TLS with a private CA made per test).
//!
//! Fidelity: PyGithub (tests/standins/sdk_github.py) signs its own App JWT and
//! mints tokens through the stand-in, and uses the tokens mcp-warden minted,
//! so the stand-in speaks what GitHub's clients speak.
//!
//! Every run is checked for leaks: neither the App's private key (each line
//! of its PEM body) nor a minted token may appear in mcp-warden's stdout or
//! stderr (at `-vv`) or in its audit log, on success and on every failure.

#![cfg(unix)]

mod common;
mod standins;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Home;
use common::egress::{Lang, Live, clear_ambient};
use serde_json::{Value, json};
use standins::{Pki, Silent, StandIn, clean_cloud_env, closed_port};

const APP: &str = "123";
const INSTALLATION: &str = "456";
const ACCOUNT: &str = "octo-org";

struct Gh {
    home: Home,
    si: StandIn,
    pki: Pki,
    /// The App's private key, PKCS#1 as GitHub hands it out.
    key: PathBuf,
    /// Strings that must never show: the key's base64 lines.
    secrets: Vec<String>,
}

/// What one `mcp-warden run` did.
struct Ran {
    out: std::process::Output,
    /// What the child wrote: the minted token, when it ran.
    token: Option<String>,
    audit: String,
}

impl Ran {
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
}

impl Gh {
    /// A stand-in knowing App [`APP`] with installation [`INSTALLATION`] on
    /// alpha, beta and gamma; `tweak` edits its config.
    fn new(tweak: impl FnOnce(&mut Value)) -> Gh {
        Gh::with_key(true, tweak)
    }

    /// [`Gh::new`] with the App's key in PKCS#1 (GitHub's form) or PKCS#8.
    fn with_key(pkcs1: bool, tweak: impl FnOnce(&mut Value)) -> Gh {
        let home = Home::new();
        let work = home.path().join("work");
        let pki = Pki::new(&work);
        let (key, public) = if pkcs1 {
            pki.rsa_pkcs1("app")
        } else {
            pki.rsa("app")
        };
        let mut cfg = json!({
            "apps": {APP: {"public_key": public, "slug": "warden-test"}},
            "installations": {INSTALLATION: {
                "app_id": APP,
                "account": ACCOUNT,
                "permissions": {"contents": "write", "issues": "write", "metadata": "read"},
                "repositories": ["alpha", "beta", "gamma"],
                "repository_selection": "all",
            }},
        });
        tweak(&mut cfg);
        let si = StandIn::start("github_app", &cfg, &pki, &work);
        let pem = std::fs::read(&key).expect("key");
        home.set("gh-app-key", &pem);
        Gh {
            secrets: body_lines(&pem),
            home,
            si,
            pki,
            key,
        }
    }

    /// `github-app://APP/INST?key=local://gh-app-key&api=STAND-IN` + `more`.
    fn reference(&self, more: &str) -> String {
        format!(
            "github-app://{APP}/{INSTALLATION}?key=local://gh-app-key&api={}{more}",
            self.si.url()
        )
    }

    fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.home.cmd();
        clean_cloud_env(&mut c, &self.pki.ca(), self.home.path());
        c.env_remove("MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS");
        c
    }

    /// `mcp-warden -vv run --audit-log F GITHUB_TOKEN=REF -- sh -c 'write $GITHUB_TOKEN to a file'`,
    /// supervised (the proxy and its audit log in between).
    fn run(&self, reference: &str) -> Ran {
        self.run_with(reference, "8s", &[])
    }

    /// [`Gh::run`] with `--timeout TIMEOUT` and `env` set.
    fn run_with(&self, reference: &str, timeout: &str, env: &[(&str, &str)]) -> Ran {
        let work = self.home.path().join("work");
        let got = work.join("token.txt");
        let audit = work.join("audit.jsonl");
        let _ = std::fs::remove_file(&got);
        let _ = std::fs::remove_file(&audit);
        let mut c = self.cmd();
        c.envs(env.iter().copied());
        c.args(["-vv", "run", "--timeout", timeout, "--audit-log"])
            .arg(&audit)
            .arg(format!("GITHUB_TOKEN={reference}"))
            .args(["--", "sh", "-c", "printf %s \"$GITHUB_TOKEN\" > \"$0\""])
            .arg(&got)
            .timeout(Duration::from_secs(60));
        let out = c.output().expect("run mcp-warden");
        let ran = Ran {
            out,
            token: std::fs::read_to_string(&got).ok(),
            audit: std::fs::read_to_string(&audit).unwrap_or_default(),
        };
        self.no_leak(&ran);
        ran
    }

    /// Neither the key nor the minted token anywhere mcp-warden wrote.
    fn no_leak(&self, ran: &Ran) {
        let mut secrets = self.secrets.clone();
        secrets.extend(ran.token.clone().filter(|t| !t.is_empty()));
        let stdout = String::from_utf8_lossy(&ran.out.stdout);
        let stderr = ran.stderr();
        for s in &secrets {
            for (what, text) in [
                ("stdout", &*stdout),
                ("stderr", &*stderr),
                ("audit log", &*ran.audit),
            ] {
                assert!(
                    !text.contains(s.as_str()),
                    "a secret leaked into {what}: {text}"
                );
            }
        }
        assert!(
            !stderr.contains("ghs_"),
            "a token-shaped string in stderr: {stderr}"
        );
    }

    /// Uses `token` with PyGithub: (repositories it lists, status per repo).
    fn use_token(&self, token: &str, repos: &[&str]) -> Value {
        let api = self.si.url();
        let mut args = vec!["--api", &api, "use", ACCOUNT];
        args.extend(repos);
        let out = self.si.sdk("sdk_github.py", &args, token.as_bytes());
        serde_json::from_slice(&out).expect("sdk json")
    }

    /// The bodies the stand-in got at the access_tokens endpoint.
    fn token_requests(&self) -> Vec<Value> {
        self.si
            .log()
            .into_iter()
            .filter(|e| e["kind"] == "access_tokens")
            .collect()
    }
}

/// The base64 lines of a PEM key.
fn body_lines(pem: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(pem)
        .lines()
        .filter(|l| !l.starts_with("-----") && l.trim().len() > 16)
        .map(str::to_string)
        .collect()
}

fn succeeded(ran: &Ran) -> String {
    assert!(
        ran.out.status.success(),
        "exit {:?}: {}",
        ran.out.status.code(),
        ran.stderr()
    );
    let token = ran.token.clone().expect("the child ran");
    assert!(
        token.starts_with("ghs_") && token.len() == 40,
        "not a token"
    );
    token
}

/// A one-line failure with exit `code`, the child not started.
fn failed(ran: &Ran, code: i32, needles: &[&str]) -> String {
    let err = ran.stderr();
    assert_eq!(ran.out.status.code(), Some(code), "stderr: {err}");
    assert!(ran.token.is_none(), "the child must not have run");
    // -vv lines carry a time (`mcp-warden: +1.5ms debug: ...`); the error does not.
    let errors: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("mcp-warden:") && !l.starts_with("mcp-warden: +"))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {err}");
    for n in needles {
        assert!(errors[0].contains(n), "{n:?} not in: {}", errors[0]);
    }
    errors[0].to_string()
}

// --- minting ----------------------------------------------------------------------

#[test]
fn a_minted_token_works_only_on_the_listed_repositories() {
    let g = Gh::new(|_| {});
    let ran =
        g.run(&g.reference("&repositories=alpha,beta&permissions=contents:read,issues:write"));
    let token = succeeded(&ran);
    assert!(
        ran.audit.contains("\"start\""),
        "the audit log was written (so its leak check means something): {}",
        ran.audit
    );
    let used = g.use_token(&token, &["alpha", "beta", "gamma"]);
    assert_eq!(used["listed"], json!(["alpha", "beta"]));
    assert_eq!(
        used["repos"],
        json!({"alpha": 200, "beta": 200, "gamma": 404})
    );

    let asked = g.token_requests();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let a = &asked[0];
    assert_eq!(a["installation"], INSTALLATION);
    assert_eq!(a["app"], APP);
    assert_eq!(
        a["body"],
        json!({"repositories": ["alpha", "beta"],
               "permissions": {"contents": "read", "issues": "write"}})
    );
    assert_eq!(a["accept"], "application/vnd.github+json");
    assert_eq!(a["api_version"], "2022-11-28");
    assert!(
        a["user_agent"]
            .as_str()
            .is_some_and(|u| u.starts_with("mcp-warden")),
        "{a}"
    );
    let jwt =
        g.si.log()
            .into_iter()
            .find(|e| e["kind"] == "jwt")
            .expect("jwt");
    assert!(jwt["lifetime"].as_i64().is_some_and(|l| l <= 600), "{jwt}");
}

#[test]
fn without_a_scope_the_token_covers_the_installation_and_each_run_mints_anew() {
    // A PKCS#8 key in a file, and GitHub Enterprise Server's /api/v3 layout.
    let g = Gh::with_key(false, |_| {});
    let reference = format!(
        "github-app://{APP}/{INSTALLATION}?key=file://{}&api={}/api/v3",
        g.key.display(),
        g.si.url()
    );
    let first = succeeded(&g.run(&reference));
    let second = succeeded(&g.run(&reference));
    assert_ne!(first, second, "every fetch mints a new token");
    let used = g.use_token(&second, &["alpha", "gamma"]);
    assert_eq!(used["listed"], json!(["alpha", "beta", "gamma"]));
    assert_eq!(used["repos"], json!({"alpha": 200, "gamma": 200}));
    let asked = g.token_requests();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0]["body"], json!({}));
}

#[test]
fn expired_tokens_are_refused_by_the_stand_in() {
    let g = Gh::new(|cfg| cfg["token_lifetime"] = json!(1));
    let token = succeeded(&g.run(&g.reference("")));
    std::thread::sleep(Duration::from_millis(1500));
    let used = g.use_token(&token, &["alpha"]);
    assert_eq!(used["listed"], json!(401));
}

// --- fidelity: PyGithub ------------------------------------------------------------

#[test]
fn pygithub_mints_and_uses_tokens_through_the_stand_in() {
    let g = Gh::new(|_| {});
    let api = g.si.url();
    let key = g.key.to_string_lossy().into_owned();
    let out = g.si.sdk(
        "sdk_github.py",
        &[
            "--api",
            &api,
            "mint",
            APP,
            &key,
            INSTALLATION,
            "contents:read",
        ],
        b"",
    );
    let minted: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(minted["permissions"], json!({"contents": "read"}));
    let token = minted["token"].as_str().expect("token");
    assert!(token.starts_with("ghs_"));
    let used = g.use_token(token, &["gamma", "nope"]);
    assert_eq!(used["repos"], json!({"gamma": 200, "nope": 404}));

    let ghe = format!("{api}/api/v3");
    let out = g.si.sdk(
        "sdk_github.py",
        &["--api", &ghe, "installation", APP, &key, INSTALLATION],
        b"",
    );
    let inst: Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(inst["account"], ACCOUNT);
    assert_eq!(inst["repositories"], json!(["alpha", "beta", "gamma"]));

    // PyGithub's own requests carried what mcp-warden's carry.
    let asked = g.token_requests();
    assert!(asked.len() >= 2, "{asked:?}");
    assert!(asked.iter().all(|a| a["app"] == APP));
    // ... and a token mcp-warden minted works in PyGithub.
    let ours = succeeded(&g.run(&g.reference("&repositories=beta")));
    assert_eq!(g.use_token(&ours, &[])["listed"], json!(["beta"]));
}

// --- refusals ------------------------------------------------------------------------

#[test]
fn github_refusals_are_one_line_with_their_exit_code() {
    let mut g = Gh::new(|_| {});
    // 401: a key that is not the App's.
    let (other, _) = g.pki.rsa_pkcs1("other");
    let other_pem = std::fs::read(&other).expect("key");
    g.home.set("other-key", &other_pem);
    g.secrets.extend(body_lines(&other_pem));
    let wrong = g
        .reference("")
        .replace("local://gh-app-key", "local://other-key");
    let e = failed(
        &g.run(&wrong),
        77,
        &[
            "GitHub refused the App JWT",
            "APP_ID (123)",
            "github-app://",
        ],
    );
    assert!(!e.contains("eyJ"), "{e}");

    // 404: no such installation.
    let missing = g.reference("").replace("/456?", "/999?");
    failed(
        &g.run(&missing),
        78,
        &["has no installation 999", "INSTALLATION_ID"],
    );

    // 422: a repository or a permission the installation does not have.
    failed(
        &g.run(&g.reference("&repositories=alpha,zeta")),
        77,
        &["cannot grant", "repositories alpha, zeta"],
    );
    failed(
        &g.run(&g.reference("&permissions=administration:write")),
        77,
        &["cannot grant", "administration:write"],
    );
    failed(
        &g.run(&g.reference("&permissions=metadata:write")),
        77,
        &["The permissions requested are not granted"],
    );
}

#[test]
fn references_are_checked_before_the_network() {
    let g = Gh::new(|_| {});
    let api = g.si.url();
    let cases = [
        (
            format!("github-app://app/{INSTALLATION}?key=local://gh-app-key&api={api}"),
            "not a number",
        ),
        (
            format!("github-app://{APP}/{INSTALLATION}?api={api}"),
            "?key= is required",
        ),
        (
            g.reference("&permissions=contents:owner"),
            "read, write or admin",
        ),
        (
            g.reference("&repositories=octo-org/alpha"),
            "without its owner",
        ),
        (g.reference("&scope=all"), "unknown parameter"),
        (
            format!(
                "github-app://{APP}/{INSTALLATION}?key=local://gh-app-key&api=http://127.0.0.1:{}",
                g.si.plain_port
            ),
            "MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS",
        ),
        // A nested reference that itself mints is refused.
        (
            format!(
                "github-app://{APP}/{INSTALLATION}?key=github-app://1/2%3Fkey=local://k&api={api}"
            ),
            "mints credentials",
        ),
        (
            format!(
                "github-app://{APP}/{INSTALLATION}?key=aws-sts://arn:aws:iam::1:role/r&api={api}"
            ),
            "mints credentials",
        ),
    ];
    for (reference, needle) in cases {
        failed(&g.run(&reference), 78, &[needle]);
    }
    // The key's absence is named with where it was looked for.
    failed(
        &g.run(&g.reference("").replace("gh-app-key", "absent-key")),
        78,
        &["reading the App's private key from local://absent-key"],
    );
    // A key that is not PEM is refused without being quoted.
    g.home.set("not-a-key", b"just some text, not a key");
    let e = failed(
        &g.run(&g.reference("").replace("gh-app-key", "not-a-key")),
        78,
        &["not a PEM private key"],
    );
    assert!(!e.contains("just some text"), "{e}");
    assert!(g.token_requests().is_empty(), "nothing reached GitHub");
}

#[test]
fn plain_http_to_loopback_needs_the_environment_switch() {
    let g = Gh::new(|_| {});
    let reference = format!(
        "github-app://{APP}/{INSTALLATION}?key=local://gh-app-key&api=http://127.0.0.1:{}",
        g.si.plain_port
    );
    let token = succeeded(&g.run_with(
        &reference,
        "8s",
        &[("MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS", "1")],
    ));
    assert_eq!(
        g.use_token(&token, &[])["listed"].as_array().map(Vec::len),
        Some(3)
    );
}

#[test]
fn server_errors_are_retried_and_silence_times_out() {
    let g = Gh::new(|_| {});
    g.si.fail_next(1, 502, None);
    succeeded(&g.run(&g.reference("")));
    assert_eq!(g.si.count("injected"), 1);

    g.si.fail_next(5, 503, None);
    failed(&g.run(&g.reference("")), 69, &["HTTP 503"]);

    let silent = Silent::new();
    let reference = format!(
        "github-app://{APP}/{INSTALLATION}?key=local://gh-app-key&api=https://127.0.0.1:{}",
        silent.port
    );
    let started = Instant::now();
    let ran = g.run_with(&reference, "2s", &[]);
    failed(&ran, 69, &[]);
    assert!(started.elapsed() < Duration::from_secs(20));

    let closed = format!(
        "github-app://{APP}/{INSTALLATION}?key=local://gh-app-key&api=https://127.0.0.1:{}",
        closed_port()
    );
    failed(&g.run(&closed), 69, &["cannot reach the GitHub API"]);
}

// --- long sessions ------------------------------------------------------------------

/// Requests the loop below makes, at most, and how long it may take.
const LOOP_CALLS: usize = 120;
const LOOP_LIMIT: Duration = Duration::from_secs(90);

impl Gh {
    /// `mcp-warden run --audit-log F <args> -- egress_server.py` (the official
    /// Python SDK and httpx, reading GITHUB_TOKEN) on pipes, handshake done.
    fn live(&self, args: &[String]) -> (Live, PathBuf) {
        let work = self.home.path().join("work");
        let audit = work.join("session-audit.jsonl");
        let mut c = self.home.std_cmd();
        clear_ambient(&mut c);
        c.env("SSL_CERT_FILE", self.pki.ca())
            .env("EGRESS_TOKEN_VAR", "GITHUB_TOKEN")
            .env_remove("MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS")
            .args(["run", "--audit-log"])
            .arg(&audit)
            .args(args)
            .arg("--")
            .args(Lang::Python.command());
        (Live::start(c, &work.join("session-stderr.log")), audit)
    }

    /// Every token the stand-in minted.
    fn minted(&self) -> Vec<String> {
        self.si
            .log()
            .into_iter()
            .filter(|e| e["kind"] == "minted")
            .filter_map(|e| e["token"].as_str().map(str::to_string))
            .collect()
    }

    /// The canary search of a session: no minted token (nor the key) in `texts`.
    fn no_minted_token_in(&self, texts: &[&str]) {
        let minted = self.minted();
        assert!(!minted.is_empty(), "nothing was minted");
        for t in texts {
            for s in minted.iter().chain(&self.secrets) {
                assert!(!t.contains(s.as_str()), "a secret leaked: {t}");
            }
        }
    }

    /// `GET /repos/octo-org/alpha` with the server's token, through its tool.
    fn repo_status(&self, live: &mut Live) -> Value {
        let url = format!("{}/repos/{ACCOUNT}/alpha", self.si.url());
        live.call("call", json!({"url": url}))["status"].clone()
    }
}

fn records(audit: &Path, kind: &str) -> Vec<Value> {
    common::output::json_lines(&std::fs::read_to_string(audit).unwrap_or_default())
        .into_iter()
        .filter(|r| r["type"] == kind)
        .collect()
}

#[test]
fn under_secretless_the_token_is_minted_anew_and_a_request_loop_outlives_each_one() {
    // Tokens live 9 s: mcp-warden mints a new one 6 s into each.
    let g = Gh::new(|cfg| cfg["token_lifetime"] = json!(9));
    let reference = g.reference("&repositories=alpha&permissions=contents:read");
    let (mut live, audit) = g.live(&[
        "--secretless".into(),
        format!("GITHUB_TOKEN={}", g.si.host()),
        format!("GITHUB_TOKEN={reference}"),
    ]);
    let env = live.call("env", json!({}));
    let held = env["value"].as_str().expect("value").to_string();
    assert!(held.starts_with("ghs_") && held.len() == 40, "{env}");
    let start = Instant::now();
    let mut calls = 0;
    // Past the end of the second token's life: two refreshes at least.
    while start.elapsed() < Duration::from_secs(21) {
        assert!(
            calls < LOOP_CALLS && start.elapsed() < LOOP_LIMIT,
            "loop bound"
        );
        let status = g.repo_status(&mut live);
        assert_eq!(
            status,
            200,
            "request {calls} at {:?} failed",
            start.elapsed()
        );
        calls += 1;
        std::thread::sleep(Duration::from_millis(300));
    }
    assert_eq!(live.close(Duration::from_secs(20)), Some(0));
    let stderr = live.stderr();
    let minted = g.minted().len();
    assert!(minted >= 3, "{minted} tokens minted in 21 s of 9 s tokens");
    assert!(
        stderr.contains("secretless mode mints a new one ahead of expiry"),
        "{stderr}"
    );
    assert!(!stderr.contains("cannot refresh"), "{stderr}");
    let start_rec = &records(&audit, "start")[0]["credentials"][0];
    assert_eq!(start_rec["vars"], json!(["GITHUB_TOKEN"]));
    assert_eq!(start_rec["refresh"], "secretless");
    assert_eq!(start_rec["kind"], "GitHub App installation token");
    let refreshed = records(&audit, "credential_refreshed");
    assert_eq!(refreshed.len(), minted - 1, "one record per new token");
    assert!(refreshed[0]["credentials"][0]["expires"].is_string());
    // The server only ever held its placeholder: the stand-in never saw it.
    assert!(!g.si.log().iter().any(|e| e.to_string().contains(&held)));
    g.no_minted_token_in(&[
        &stderr,
        &std::fs::read_to_string(&audit).unwrap_or_default(),
    ]);
}

#[test]
fn without_secretless_a_tool_call_after_expiry_is_answered_with_an_error() {
    let g = Gh::new(|cfg| cfg["token_lifetime"] = json!(15));
    let reference = g.reference("&repositories=alpha&permissions=contents:read");
    let (mut live, audit) = g.live(&[format!("GITHUB_TOKEN={reference}")]);
    let stderr = live.stderr();
    assert!(
        stderr.contains(
            "GITHUB_TOKEN: GitHub App installation token (repositories alpha; contents:read"
        ) && stderr.contains("expires in")
            && stderr.contains("--secretless"),
        "{stderr}"
    );
    assert_eq!(g.repo_status(&mut live), 200);
    // Until the expiry the start record names (to the second) has passed.
    let expires = records(&audit, "start")[0]["credentials"][0]["expires"]
        .as_str()
        .and_then(|t| humantime::parse_rfc3339(t).ok())
        .expect("the start record's expiry");
    let wait = (expires + Duration::from_secs(2))
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(wait < Duration::from_secs(20), "{wait:?}");
    std::thread::sleep(wait);
    let url = format!("{}/repos/{ACCOUNT}/alpha", g.si.url());
    let answer = live.request(
        "tools/call",
        json!({"name": "call", "arguments": {"url": url}}),
    );
    assert_eq!(answer["error"]["code"], -32001, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("GITHUB_TOKEN") && message.contains("expired at"),
        "{message}"
    );
    // Only tool calls are answered for the server: the session itself goes on.
    let list = live.request("tools/list", json!({}));
    assert!(list["result"]["tools"].is_array(), "{list}");
    assert_eq!(live.close(Duration::from_secs(20)), Some(0));
    let stderr = live.stderr();
    let start_rec = &records(&audit, "start")[0]["credentials"][0];
    assert_eq!(start_rec["refresh"], "none");
    assert!(
        start_rec["scope"]
            .as_str()
            .unwrap_or_default()
            .contains("alpha")
    );
    let expired: Vec<Value> = records(&audit, "request")
        .into_iter()
        .filter(|r| r["outcome"] == "credential_expired")
        .collect();
    assert_eq!(expired.len(), 1, "{expired:?}");
    assert_eq!(expired[0]["error_code"], -32001);
    assert_eq!(expired[0]["tool"], "call");
    g.no_minted_token_in(&[
        &stderr,
        &std::fs::read_to_string(&audit).unwrap_or_default(),
    ]);
}
