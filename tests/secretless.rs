//! `mcp-warden run --secretless`: the MCP server child gets a placeholder of
//! the token's shape instead of the token, and mcp-warden's egress proxy puts
//! the real value into the requests it lets through to the bound hosts only.
//! Each test asserts what a user would notice, end to end: a real Python
//! server (the official SDK and httpx) and a real TypeScript server (the
//! official SDK and Node 24's fetch) call a real HTTPS API
//! (tests/servers/egress_api.mjs) through mcp-warden, driven by the official
//! Python MCP client; the API's request log says what reached it.
//! Harness: tests/common/egress.rs. Loopback only, every wait bounded.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::egress::{Api, Fixture, Lang, Live, SECRET, VAR, call, contains, files_under};
use common::{kill, process_gone, wait_until};
use serde_json::{Value, json};

/// One test per server language: `NAME::python` and `NAME::node`.
macro_rules! per_lang {
    ($case:ident) => {
        mod $case {
            #[test]
            fn python() {
                super::$case(super::Lang::Python)
            }
            #[test]
            fn node() {
                super::$case(super::Lang::Node)
            }
        }
    };
}

/// `--secretless API_TOKEN=<hosts> API_TOKEN=local://api<query>` and `extra`.
fn secretless(hosts: &[&Api], query: &str, extra: &[&str]) -> Vec<String> {
    let bound: Vec<String> = hosts.iter().map(|a| a.authority()).collect();
    let mut args = vec![
        "--secretless".to_string(),
        format!("{VAR}={}", bound.join(",")),
        format!("{VAR}=local://{SECRET}{query}"),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The placeholder the server holds, checked against the real token's shape.
fn placeholder(fx: &Fixture, env: &Value) -> String {
    let p = env["value"].as_str().expect("env value").to_string();
    assert_ne!(p, fx.token, "the server holds the real token");
    assert_eq!(
        p.len(),
        fx.token.len(),
        "same length as the real token: {p}"
    );
    assert!(p.starts_with("ghp_"), "same prefix as the real token: {p}");
    p
}

/// The variable names a record says were swapped or carried (`vars` or `swapped`).
fn vars(r: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["vars", "swapped", "swapped_vars"] {
        match &r[key] {
            Value::Array(a) => out.extend(a.iter().filter_map(|v| v.as_str().map(String::from))),
            Value::String(s) => out.push(s.clone()),
            _ => {}
        }
    }
    out
}

/// Whether a record names `api` as its host (`host` "H:P", or "H" with `port` P or none).
fn names(r: &Value, api: &Api) -> bool {
    let host = r["host"].as_str().unwrap_or("");
    host == api.authority()
        || (host == api.host && r["port"].as_u64().is_none_or(|p| p == u64::from(api.port)))
}

/// The API's requests to `path`.
fn requests_to(api: &Api, path: &str) -> Vec<Value> {
    api.requests()
        .into_iter()
        .filter(|r| r["path"] == path)
        .collect()
}

/// The audit log holds neither the real token nor the placeholder.
fn audit_holds_no_value(fx: &Fixture, placeholder: &str) {
    let text =
        std::fs::read_to_string(fx.home.path().join("audit/audit.jsonl")).unwrap_or_default();
    assert!(!text.contains(&fx.token), "the token is in the audit log");
    assert!(
        !text.contains(placeholder),
        "the placeholder is in the audit log: {text}"
    );
}

per_lang!(without_secretless_the_server_holds_the_real_token);
/// The control: without --secretless the server holds the real token, the
/// call works, and the canary search finds the value in the server's
/// environment dump. So the searches of the tests below can fail, and the
/// fixtures work without the egress proxy.
fn without_secretless_the_server_holds_the_real_token(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let dump = fx.work.path().join("environ");
    let assignment = format!("{VAR}=local://{SECRET}");
    // The child trusts the test CA itself here (no bundle from mcp-warden).
    let ca = fx.ca();
    let s = fx.session_env(
        std::slice::from_ref(&assignment),
        lang,
        &[
            call("env", json!({"dump": dump})),
            call("call", json!({"url": api.url("/whoami")})),
        ],
        &[("NODE_EXTRA_CA_CERTS", &ca)],
    );
    s.ok();
    assert_eq!(s.answer(1)["status"], 200, "{lang:?}: {}", s.answer(1));
    assert!(
        requests_to(&api, "/whoami")
            .iter()
            .all(|r| r["token"] == "real")
    );
    let environ = std::fs::read(&dump).expect("the server's /proc/self/environ");
    assert!(contains(&environ, fx.token.as_bytes()), "{lang:?}");
    let search = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fx.assert_no_leak(&[])));
    assert!(
        search.is_err(),
        "the canary search missed the value in {}",
        dump.display()
    );
    // The raw driver too: a whole session, then a clean exit.
    let mut live = fx.live(std::slice::from_ref(&assignment), lang);
    assert_eq!(live.call("env", json!({}))["length"], fx.token.len());
    assert_eq!(live.close(Duration::from_secs(20)), Some(0));
}

per_lang!(the_call_succeeds_while_the_server_only_ever_holds_a_placeholder);
fn the_call_succeeds_while_the_server_only_ever_holds_a_placeholder(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let dump = fx.work.path().join("environ");
    let s = fx.session(
        &secretless(&[&api], "", &[]),
        lang,
        &[
            call("env", json!({"dump": dump})),
            call("call", json!({"url": api.url("/whoami")})),
            call("call", json!({"url": api.url("/whoami"), "where": "query"})),
        ],
    );
    s.ok();
    let env = s.answer(0);
    let p = placeholder(&fx, &env);
    assert_eq!(env["environ_has_value"], true, "{lang:?}: {env}");
    let environ = std::fs::read(&dump).expect("the server's /proc/self/environ");
    assert!(
        contains(&environ, p.as_bytes()),
        "{lang:?}: the placeholder is its value"
    );
    // What secretless mode sets for the child.
    let proxy = &env["proxy"];
    let url = proxy["HTTPS_PROXY"].as_str().unwrap_or("");
    assert!(url.starts_with("http://127.0.0.1:"), "{lang:?}: {proxy}");
    for k in [
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        assert_eq!(proxy[k], url, "{lang:?}: {k}: {proxy}");
    }
    assert_eq!(proxy["NO_PROXY"], "", "{lang:?}: {proxy}");
    assert_eq!(proxy["no_proxy"], "", "{lang:?}: {proxy}");
    assert_eq!(proxy["NODE_USE_ENV_PROXY"], "1", "{lang:?}: {proxy}");
    for k in [
        "NODE_EXTRA_CA_CERTS",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ] {
        assert_eq!(proxy[k], proxy["SSL_CERT_FILE"], "{lang:?}: {k}: {proxy}");
    }
    assert_eq!(env["ca_file_exists"], true, "{lang:?}: {env}");
    // The API got the real token, in the header and in the query.
    for i in [1, 2] {
        let a = s.answer(i);
        assert_eq!(a["status"], 200, "{lang:?}: call {i}: {a}");
    }
    let got = requests_to(&api, "/whoami");
    assert_eq!(got.len(), 2, "{lang:?}: {got:?}");
    assert!(
        got.iter().all(|r| r["token"] == "real"),
        "{lang:?}: {got:?}"
    );
    // One egress record per request: host, method, path without query, status, sizes, var.
    let egress = fx.audit_of("egress");
    let whoami: Vec<&Value> = egress.iter().filter(|r| names(r, &api)).collect();
    assert_eq!(whoami.len(), 2, "{lang:?}: {egress:?}");
    for r in whoami {
        assert_eq!(r["method"], "GET", "{r}");
        assert_eq!(r["path"], "/whoami", "the query is never recorded: {r}");
        assert_eq!(r["http_status"], 200, "{r}");
        assert!(
            r["request_bytes"].is_u64() && r["response_bytes"].is_u64(),
            "{r}"
        );
        assert!(vars(r).contains(&VAR.to_string()), "{r}");
    }
    audit_holds_no_value(&fx, &p);
    assert!(
        s.stderr.contains("starts with 'ghp_'"),
        "{lang:?}: {}",
        s.stderr
    );
    // The canary: the real value in no output, no file of the home, TMPDIR or dumps.
    fx.assert_no_leak(&s.outputs());
}

per_lang!(a_placeholder_sent_to_another_host_is_blocked);
fn a_placeholder_sent_to_another_host_is_blocked(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let other = fx.api("127.0.0.2");
    let s = fx.session(
        &secretless(&[&api], "", &["--egress-allow", &other.authority()]),
        lang,
        &[
            call("call", json!({"url": other.url("/whoami")})),
            call("call", json!({"url": other.url("/echo"), "where": "query"})),
            call(
                "call",
                json!({"url": other.url("/whoami"), "where": "none"}),
            ),
            call("call", json!({"url": api.url("/whoami")})),
        ],
    );
    s.ok();
    for i in [0, 1] {
        let a = s.answer(i);
        assert_eq!(a["status"], 403, "{lang:?}: call {i}: {a}");
        let body = a["body"].as_str().unwrap_or("");
        assert!(body.contains("mcp-warden secretless"), "{lang:?}: {body}");
    }
    // The allowed host itself is reachable without the token; the bound one works.
    assert_eq!(s.answer(2)["status"], 401, "{lang:?}: {}", s.answer(2));
    assert_eq!(s.answer(3)["status"], 200, "{lang:?}: {}", s.answer(3));
    let reached = other.requests();
    assert!(
        reached.iter().all(|r| r["token"] == "none"),
        "{lang:?}: the other host received a token: {reached:?}"
    );
    assert_eq!(
        reached.len(),
        1,
        "{lang:?}: only the tokenless call: {reached:?}"
    );
    let blocked: Vec<Value> = fx
        .audit_of("egress_blocked")
        .into_iter()
        .filter(|r| names(r, &other))
        .collect();
    assert_eq!(blocked.len(), 2, "{lang:?}: {:?}", fx.audit());
    for r in &blocked {
        assert!(vars(r).contains(&VAR.to_string()), "{r}");
        assert_eq!(r["method"], "GET", "{r}");
    }
    let lines: Vec<&str> = s
        .stderr
        .lines()
        .filter(|l| l.contains(&other.host) && !l.starts_with("HTTP Request:"))
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "{lang:?}: one stderr line per block: {}",
        s.stderr
    );
    assert!(lines.iter().all(|l| l.contains(VAR)), "{lang:?}: {lines:?}");
    fx.assert_no_leak(&s.outputs());
}

per_lang!(strict_mode_reaches_only_bound_and_allowed_hosts);
fn strict_mode_reaches_only_bound_and_allowed_hosts(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let unlisted = fx.api("127.0.0.2");
    // Strict is the default with --secretless; and said explicitly.
    for extra in [&[][..], &["--egress", "strict"][..]] {
        let s = fx.session(
            &secretless(&[&api], "", extra),
            lang,
            &[
                call(
                    "call",
                    json!({"url": unlisted.url("/whoami"), "where": "none"}),
                ),
                call("call", json!({"url": api.url("/whoami")})),
            ],
        );
        s.ok();
        let refused = s.answer(0);
        assert!(refused["status"].is_null(), "{lang:?} {extra:?}: {refused}");
        assert!(
            refused["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{refused}"
        );
        assert_eq!(s.answer(1)["status"], 200, "{lang:?} {extra:?}");
        fx.assert_no_leak(&s.outputs());
    }
    assert!(
        unlisted.requests().is_empty(),
        "{lang:?}: {:?}",
        unlisted.requests()
    );
    let blocked: Vec<Value> = fx
        .audit_of("egress_blocked")
        .into_iter()
        .filter(|r| names(r, &unlisted))
        .collect();
    assert_eq!(blocked.len(), 2, "{lang:?}: {:?}", fx.audit());
    assert!(
        blocked
            .iter()
            .all(|r| r["detail"].as_str().is_some_and(|d| d.contains("strict"))),
        "{blocked:?}"
    );
}

per_lang!(open_mode_tunnels_other_hosts_untouched);
fn open_mode_tunnels_other_hosts_untouched(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let unlisted = fx.api("127.0.0.2");
    let s = fx.session(
        &secretless(&[&api], "", &["--egress", "open"]),
        lang,
        &[
            call(
                "call",
                json!({"url": unlisted.url("/whoami"), "where": "none"}),
            ),
            call("call", json!({"url": unlisted.url("/echo")})),
            call("call", json!({"url": api.url("/whoami")})),
            call("env", json!({})),
        ],
    );
    s.ok();
    let p = placeholder(&fx, &s.answer(3));
    assert_eq!(
        s.answer(0)["status"],
        401,
        "{lang:?}: reached, untouched: {}",
        s.answer(0)
    );
    // Untouched: the unlisted host gets the placeholder, never the value.
    let echo = s.answer(1);
    assert_eq!(echo["status"], 200, "{lang:?}: {echo}");
    assert_eq!(echo["x_echo_token"], p.as_str(), "{lang:?}: {echo}");
    let got = unlisted.requests();
    assert_eq!(got.len(), 2, "{lang:?}: {got:?}");
    assert!(
        got.iter().all(|r| r["token"] != "real"),
        "{lang:?}: {got:?}"
    );
    assert_eq!(
        s.answer(2)["status"],
        200,
        "{lang:?}: the bound host still works"
    );
    assert!(
        requests_to(&api, "/whoami")
            .iter()
            .all(|r| r["token"] == "real")
    );
    fx.assert_no_leak(&s.outputs());
}

per_lang!(an_echoed_token_comes_back_as_the_placeholder);
fn an_echoed_token_comes_back_as_the_placeholder(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let s = fx.session(
        &secretless(&[&api], "", &[]),
        lang,
        &[
            call("env", json!({})),
            call("call", json!({"url": api.url("/echo")})),
            call("call", json!({"url": api.url("/echo"), "where": "query"})),
        ],
    );
    s.ok();
    let p = placeholder(&fx, &s.answer(0));
    for i in [1, 2] {
        let a = s.answer(i);
        assert_eq!(a["status"], 200, "{lang:?}: {a}");
        assert_eq!(a["x_echo_token"], p.as_str(), "{lang:?}: the header: {a}");
        let body: Value =
            serde_json::from_str(a["body"].as_str().expect("body")).expect("JSON body");
        assert_eq!(body["token"], p.as_str(), "{lang:?}: the body: {body}");
    }
    let got = requests_to(&api, "/echo");
    assert_eq!(got.len(), 2, "{lang:?}: {got:?}");
    assert!(
        got.iter().all(|r| r["token"] == "real"),
        "{lang:?}: the API got the value: {got:?}"
    );
    fx.assert_no_leak(&s.outputs());
}

#[test]
fn http2_goes_through_the_proxy() {
    // httpx with http2=True (h2 pinned in scripts/requirements.txt); Node's fetch speaks HTTP/1.1 only.
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let s = fx.session(
        &secretless(&[&api], "", &[]),
        Lang::Python,
        &[
            call("call", json!({"url": api.url("/whoami"), "http2": true})),
            call("call", json!({"url": api.url("/echo"), "http2": true})),
            call("env", json!({})),
        ],
    );
    s.ok();
    let p = placeholder(&fx, &s.answer(2));
    let a = s.answer(0);
    assert_eq!(a["status"], 200, "{a}");
    assert_eq!(
        a["http_version"], "HTTP/2",
        "the client spoke h2 to the proxy: {a}"
    );
    assert!(
        a["body"]
            .as_str()
            .unwrap_or("")
            .contains("\"protocol\":\"h2\""),
        "the API saw h2: {a}"
    );
    assert_eq!(
        s.answer(1)["x_echo_token"],
        p.as_str(),
        "re-masked over h2 too"
    );
    let got = api.requests();
    assert!(
        got.iter()
            .all(|r| r["protocol"] == "h2" && r["token"] == "real"),
        "{got:?}"
    );
    fx.assert_no_leak(&s.outputs());
}

/// Asserts an upload answer: status 200 and the API got `bytes` bytes.
fn uploaded(a: &Value, bytes: u64) -> &Value {
    assert_eq!(a["status"], 200, "{a}");
    assert_eq!(a["sent_bytes"], bytes, "{a}");
    assert_eq!(a["answer"]["bytes"], bytes, "{a}");
    &a["answer"]
}

per_lang!(a_large_streamed_upload_arrives_intact);
fn a_large_streamed_upload_arrives_intact(lang: Lang) {
    const MIB: u64 = 1 << 20;
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let s = fx.session(
        &secretless(&[&api], "", &[]),
        lang,
        &[call(
            "upload",
            json!({"url": api.url("/upload"), "megabytes": 64}),
        )],
    );
    s.ok();
    let big = s.answer(0);
    let answer = uploaded(&big, 64 * MIB);
    assert_eq!(answer["sha256"], big["sent_sha256"], "{lang:?}: {big}");
    assert_eq!(answer["token_in_body"], false, "{lang:?}");
    let got = requests_to(&api, "/upload");
    assert!(
        got.iter().all(|r| r["token"] == "real"),
        "{lang:?}: the header was swapped: {got:?}"
    );
    let records: Vec<Value> = fx
        .audit_of("egress")
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["path"] == "/upload")
        .collect();
    assert!(
        records
            .iter()
            .any(|r| r["request_bytes"].as_u64().is_some_and(|b| b >= 64 * MIB)),
        "{lang:?}: {records:?}"
    );
    fx.assert_no_leak(&s.outputs());
}

per_lang!(a_token_in_the_body_is_swapped_only_with_body_1);
fn a_token_in_the_body_is_swapped_only_with_body_1(lang: Lang) {
    const MIB: u64 = 1 << 20;
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let upload = call(
        "upload",
        json!({"url": api.url("/upload"), "megabytes": 2, "token_in_body": true}),
    );
    // Without ?body=1 the body passes untouched: the placeholder, not the value.
    let s = fx.session(
        &secretless(&[&api], "", &[]),
        lang,
        std::slice::from_ref(&upload),
    );
    s.ok();
    let plain = s.answer(0);
    let answer = uploaded(&plain, 2 * MIB);
    assert_eq!(
        answer["token_in_body"], false,
        "{lang:?}: swapped without ?body=1"
    );
    assert_eq!(answer["sha256"], plain["sent_sha256"], "{lang:?}: {plain}");
    fx.assert_no_leak(&s.outputs());
    // With ?body=1 the placeholder in the body reaches the API as the value.
    let s = fx.session(&secretless(&[&api], "?body=1", &[]), lang, &[upload]);
    s.ok();
    let swapped = s.answer(0);
    let answer = uploaded(&swapped, 2 * MIB);
    assert_eq!(answer["token_in_body"], true, "{lang:?}: {swapped}");
    let got = requests_to(&api, "/upload");
    assert!(
        got.iter().all(|r| r["token"] == "real"),
        "{lang:?}: {got:?}"
    );
    fx.assert_no_leak(&s.outputs());
}

/// The "PRIVATE KEY" search: no key material under `dirs`.
fn no_private_key(dirs: &[&Path]) {
    for dir in dirs {
        for (path, bytes) in files_under(dir) {
            assert!(
                !contains(&bytes, b"PRIVATE KEY"),
                "a private key on disk: {}",
                path.display()
            );
        }
    }
}

/// Starts a session, reads the bundle path from the server, checks the bundle.
fn live_bundle(fx: &Fixture, api: &Api) -> (Live, PathBuf, i32) {
    let mut live = fx.live(&secretless(&[api], "", &[]), Lang::Python);
    let env = live.call("env", json!({}));
    let bundle = PathBuf::from(
        env["proxy"]["SSL_CERT_FILE"]
            .as_str()
            .expect("SSL_CERT_FILE"),
    );
    assert!(
        bundle.is_file(),
        "the bundle exists while running: {}",
        bundle.display()
    );
    let pem = std::fs::read_to_string(&bundle).expect("read the bundle");
    assert!(
        pem.matches("BEGIN CERTIFICATE").count() >= 2,
        "system roots + the ephemeral CA"
    );
    let bundle_dir = bundle.parent().expect("bundle dir").to_path_buf();
    no_private_key(&[fx.home.path(), fx.tmp.path(), &bundle_dir]);
    // The proxy works meanwhile.
    assert_eq!(
        live.call("call", json!({"url": api.url("/whoami")}))["status"],
        200
    );
    let pid = env["pid"].as_i64().expect("pid") as i32;
    (live, bundle, pid)
}

/// After the session: the bundle is gone, the child too, no key on disk, no value in stderr.
fn all_gone(fx: &Fixture, live: &Live, bundle: &Path, child: i32, how: &str) {
    assert!(
        !bundle.exists(),
        "the bundle outlived {how}: {}",
        bundle.display()
    );
    assert!(
        wait_until(Duration::from_secs(10), || process_gone(child)),
        "the child outlived {how}"
    );
    no_private_key(&[fx.home.path(), fx.tmp.path()]);
    fx.assert_no_leak(&[&live.stderr()]);
}

#[test]
fn the_ca_bundle_is_removed_when_the_session_ends() {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let (mut live, bundle, child) = live_bundle(&fx, &api);
    assert_eq!(live.close(Duration::from_secs(20)), Some(0));
    all_gone(&fx, &live, &bundle, child, "a normal exit");
}

#[test]
fn the_ca_bundle_is_removed_when_the_child_is_killed() {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let (mut live, bundle, child) = live_bundle(&fx, &api);
    kill(child, "KILL");
    live.wait(Duration::from_secs(20));
    all_gone(&fx, &live, &bundle, child, "the child's SIGKILL");
}

#[test]
fn the_ca_bundle_is_removed_when_mcp_warden_is_terminated() {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let (mut live, bundle, child) = live_bundle(&fx, &api);
    kill(live.pid(), "TERM");
    live.wait(Duration::from_secs(20));
    all_gone(&fx, &live, &bundle, child, "mcp-warden's SIGTERM");
}

per_lang!(a_websocket_goes_through_the_proxy);
fn a_websocket_goes_through_the_proxy(lang: Lang) {
    let fx = Fixture::new();
    let api = fx.api("127.0.0.1");
    let s = fx.session(
        &secretless(&[&api], "", &[]),
        lang,
        &[call(
            "ws",
            json!({"url": api.wss("/ws"), "message": "hello through mcp-warden"}),
        )],
    );
    s.ok();
    let a = s.answer(0);
    assert_eq!(a["status"], 101, "{lang:?}: {a}");
    assert_eq!(a["accept_ok"], true, "{lang:?}: {a}");
    assert_eq!(a["echo"], "hello through mcp-warden", "{lang:?}: {a}");
    let got = requests_to(&api, "/ws");
    assert_eq!(got.len(), 1, "{lang:?}: {got:?}");
    assert_eq!(
        got[0]["token"], "real",
        "{lang:?}: the upgrade carried the value"
    );
    fx.assert_no_leak(&s.outputs());
}
