//! OAuth end to end: `mcp-warden login` / `logout` / `login --list` and
//! `connect` against real components only: the OpenID Certified
//! `oidc-provider` (dynamic registration, PKCE, resource indicators, rotating
//! refresh tokens, client credentials, revocation, RFC 9207 `iss`) and an MCP
//! server built on the TypeScript SDK's bearer auth that introspects every
//! token at that provider (tests/servers/). The sign-in is done by headless
//! Chromium or by a plain-HTTP browser, handed over as `BROWSER`. One test
//! keeps the tokens in the OpenBao dev server scripts/test starts
//! (`--token-store vault://...`).
//!
//! Every test runs its own provider and server on ephemeral loopback ports,
//! with `MCP_WARDEN_HOME` and `HOME` both fresh temporary directories, and
//! ends with the token canary: no credential the provider issued appears in
//! any file under either home (the store, the index, the audit log), nor in
//! anything mcp-warden printed.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use common::oauth::{
    Bridge, Browser, Options, Transcript, UserHome, World, assert_no_token_bytes, bridge,
    server_tools,
};
use common::output::{stderr, text};
use serde_json::Value;

/// The most any one mcp-warden run may take here (a Chromium sign-in is ~4 s).
const LIMIT: Duration = Duration::from_secs(90);

/// `mcp-warden login URL` with `browser` (none: no BROWSER, no desktop).
fn login(home: &UserHome, world: &World, browser: Option<Browser>, extra: &[&str]) -> Output {
    let mut c = match browser {
        Some(b) => home.with_browser(&world.browser(b)),
        None => home.cmd(),
    };
    c.arg("login").arg(&world.mcp_url).args(extra);
    home.run(c, LIMIT)
}

/// `login`, asserted to succeed.
fn login_ok(home: &UserHome, world: &World, browser: Browser, seen: &mut Transcript) {
    let out = login(home, world, Some(browser), &[]);
    seen.output("login", &out);
    assert!(
        out.status.success(),
        "login failed ({:?}): {}\n{}",
        out.status.code(),
        text(&out),
        world.logs()
    );
}

/// `connect URL extra...` with `browser` set as BROWSER (or none).
fn connect_cmd(home: &UserHome, world: &World, browser: Option<&Path>, extra: &[&str]) -> Command {
    let mut c = match browser {
        Some(b) => home.with_browser(b),
        None => home.cmd(),
    };
    c.arg("connect").arg(&world.mcp_url).args(extra);
    c
}

/// `connect` driven through initialize, tools/list and `calls`.
fn connect(
    home: &UserHome,
    world: &World,
    browser: Option<&Path>,
    extra: &[&str],
    calls: &[&str],
) -> Bridge {
    bridge(connect_cmd(home, world, browser, extra), calls, LIMIT)
}

/// Asserts `b` listed the server's tools.
fn assert_listed(b: &Bridge, world: &World, what: &str) {
    assert_eq!(
        b.tools(),
        server_tools(),
        "{what}: no tool list; answers {:?}\nstderr: {}\n{}",
        b.answers,
        b.stderr,
        world.logs()
    );
}

/// `login --list --json`, parsed.
fn list_json(home: &UserHome, seen: &mut Transcript) -> Vec<Value> {
    let mut c = home.cmd();
    c.args(["login", "--list", "--json"]);
    let out = home.run(c, LIMIT);
    seen.output("login --list --json", &out);
    assert!(out.status.success(), "login --list --json: {}", text(&out));
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login --list --json is not JSON ({e}): {}", text(&out)));
    match v {
        Value::Array(a) => a,
        other => other["grants"].as_array().cloned().unwrap_or_default(),
    }
}

/// The one grant `login --list --json` shows for the world's server.
fn listed_grant(home: &UserHome, world: &World, seen: &mut Transcript) -> Value {
    let grants = list_json(home, seen);
    let mine: Vec<&Value> = grants
        .iter()
        .filter(|g| g["resource"] == world.mcp_url.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "one grant for {}: {grants:?}", world.mcp_url);
    mine[0].clone()
}

/// The names in the local store (`secret ls`).
fn store_names(home: &UserHome, seen: &mut Transcript) -> String {
    let mut c = home.cmd();
    c.args(["secret", "ls"]);
    let out = home.run(c, LIMIT);
    seen.output("secret ls", &out);
    assert!(out.status.success(), "secret ls: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The token sets (`oauth-HASH`) among the store's names; registrations
/// (`oauth-client-HASH`) are not counted.
fn token_sets(names: &str) -> usize {
    names
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|w| w.starts_with("oauth-") && !w.starts_with("oauth-client-"))
        .count()
}

/// The JSON-RPC error message of answer `id`, or "".
fn error_message(b: &Bridge, id: u64) -> String {
    b.answer(id)
        .and_then(|a| a["error"]["message"].as_str())
        .unwrap_or("")
        .to_string()
}

#[test]
fn first_authorization_in_chromium_then_tokens_are_reused_across_runs() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let chromium = world.browser(Browser::Chromium);

    // The server answers 401; connect discovers, registers, and signs in
    // through headless Chromium.
    let first = connect(&home, &world, Some(&chromium), &[], &["whoami"]);
    seen.bridge("first connect", &first);
    assert_listed(&first, &world, "first connect");
    let steps = world.browser_steps();
    for step in ["login", "consent"] {
        assert!(
            steps.iter().any(|s| s["form"] == step),
            "Chromium did not pass the {step} page: {steps:?}"
        );
    }
    assert!(
        steps.iter().any(|s| s["done"]
            .as_str()
            .is_some_and(|d| d.starts_with("http://127.0.0.1:"))),
        "Chromium never reached the loopback redirect: {steps:?}"
    );
    let after_first = world.state();
    assert_eq!(after_first.count("registrations"), 1, "{:?}", after_first.0);
    assert_eq!(after_first.count("authorizations"), 1);
    assert_eq!(after_first.token_success("authorization_code"), 1);
    let whoami = first.answer(3).map(|a| a.to_string()).unwrap_or_default();
    assert!(whoami.contains("mcp:tools"), "whoami: {whoami}");

    // The next runs find the tokens: no browser, no new grant, no token request.
    for extra in [&[][..], &["--no-browser"][..]] {
        let again = connect(&home, &world, None, extra, &[]);
        seen.bridge("later connect", &again);
        assert_listed(&again, &world, "later connect");
    }
    let later = world.state();
    assert_eq!(later.count("authorizations"), 1, "{:?}", later.0);
    assert_eq!(later.count("registrations"), 1);
    assert_eq!(later.token_requests("authorization_code"), 1);
    assert_eq!(later.token_requests("refresh_token"), 0);

    let grant = listed_grant(&home, &world, &mut seen);
    assert_eq!(grant["issuer"], world.issuer.as_str(), "{grant}");
    // The audit log the canary reads is there (under MCP_WARDEN_HOME).
    let audit = home.warden.path().join("audit/audit.jsonl");
    let records = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(
        records.contains("whoami"),
        "no audit record of the tool call in {}",
        audit.display()
    );
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn login_stores_tokens_that_a_headless_connect_then_uses() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_ok(&home, &world, Browser::Http, &mut seen);
    let state = world.state();
    assert_eq!(state.count("authorizations"), 1);
    assert_eq!(state.token_success("authorization_code"), 1);
    // The provider advertises offline_access: the client asks for it.
    assert_eq!(
        state.0["offline_access_requested"],
        serde_json::json!([true]),
        "offline_access must be requested where advertised"
    );

    // The table names the grant, never a token.
    let mut c = home.cmd();
    c.args(["login", "--list"]);
    let table = home.run(c, LIMIT);
    seen.output("login --list", &table);
    let shown = String::from_utf8_lossy(&table.stdout);
    assert!(table.status.success(), "{}", text(&table));
    assert!(shown.contains(&world.mcp_url), "{shown}");
    assert!(shown.contains(&world.issuer), "{shown}");
    let grant = listed_grant(&home, &world, &mut seen);
    assert!(
        grant["client_id"].as_str().is_some_and(|c| !c.is_empty()),
        "{grant}"
    );
    assert!(
        grant["scope"].as_str().unwrap_or("").contains("mcp:tools"),
        "{grant}"
    );
    assert_eq!(grant["has_refresh"], true, "{grant}");
    assert_eq!(token_sets(&store_names(&home, &mut seen)), 1);

    // A client-launched connect (no browser, no desktop) uses them.
    let b = connect(&home, &world, None, &[], &["echo"]);
    seen.bridge("connect", &b);
    assert_listed(&b, &world, "connect after login");
    let later = world.state();
    assert_eq!(later.count("authorizations"), 1);
    assert_eq!(later.token_requests("authorization_code"), 1);
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn a_verbose_login_names_the_discovery_steps_never_a_token_or_code() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let mut c = home.with_browser(&world.browser(Browser::Http));
    c.env("MCP_WARDEN_LOG", "trace")
        .args(["-vv", "login"])
        .arg(&world.mcp_url);
    let out = home.run(c, LIMIT);
    seen.output("login -vv", &out);
    let err = stderr(&out);
    assert!(out.status.success(), "{}\n{}", text(&out), world.logs());
    for needle in [
        "info: oauth: discovering how http://127.0.0.1:",
        "debug: oauth: protected resource metadata: GET http://127.0.0.1:",
        "info: oauth: the resource metadata names the authorization server ",
        "debug: oauth: authorization server metadata: GET ",
        "info: oauth: registering mcp-warden as a client at ",
        "info: oauth: authorization code flow with PKCE; waiting for the redirect to http://127.0.0.1:",
        "info: oauth: token request (authorization_code) to ",
    ] {
        assert!(err.contains(needle), "{needle:?} not in:\n{err}");
    }
    assert!(err.contains(&world.issuer), "{err}");
    // Every token, code and registration the provider issued: nowhere.
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn an_expired_access_token_is_refreshed_and_the_rotated_refresh_token_kept() {
    let world = World::start(Options {
        access_ttl: Some(2),
        ..Options::default()
    });
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_ok(&home, &world, Browser::Http, &mut seen);

    for round in 1..=2u64 {
        std::thread::sleep(Duration::from_secs(3));
        let b = connect(&home, &world, None, &["--no-browser"], &[]);
        seen.bridge("connect after expiry", &b);
        assert_listed(&b, &world, &format!("connect {round} after expiry"));
        let state = world.state();
        assert!(
            state.token_success("refresh_token") >= round,
            "round {round}: no refresh: {:?}",
            state.0["counts"]
        );
        // A rotated refresh token used twice would be invalid_grant (and
        // revoke the grant): the new one must have been stored each time.
        assert_eq!(
            state.token_errors(),
            &serde_json::json!({}),
            "round {round}"
        );
        assert_eq!(state.count("authorizations"), 1, "round {round}");
    }
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn ten_bridges_started_together_redeem_the_rotating_refresh_token_once() {
    let world = World::start(Options {
        access_ttl: Some(2),
        ..Options::default()
    });
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_ok(&home, &world, Browser::Http, &mut seen);
    // The stored access token expires; the one the refresh brings lives long,
    // so a second refresh would be a bug, not a need.
    world.set_access_ttl(3600);
    std::thread::sleep(Duration::from_secs(3));

    let bridges: Vec<Bridge> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| s.spawn(|| connect(&home, &world, None, &["--no-browser"], &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bridge thread"))
            .collect()
    });
    for (i, b) in bridges.iter().enumerate() {
        seen.bridge(&format!("bridge {i}"), b);
        assert_listed(b, &world, &format!("bridge {i} of 10"));
    }
    let state = world.state();
    assert_eq!(
        state.token_requests("refresh_token"),
        1,
        "the refresh token must be redeemed exactly once: {:?}",
        state.0["counts"]
    );
    assert_eq!(state.count("grants_revoked"), 0);
    assert_eq!(state.count("authorizations"), 1);
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn ten_bridges_refused_with_401_refresh_once_and_retry() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_ok(&home, &world, Browser::Http, &mut seen);
    // The server stops accepting the stored access token long before it
    // expires; the refresh token stays valid. (Revoking the access token at
    // the provider would not do: oidc-provider then revokes the refresh
    // token of the grant too.)
    world.forget_access_tokens();

    let bridges: Vec<Bridge> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..10)
            .map(|_| s.spawn(|| connect(&home, &world, None, &["--no-browser"], &[])))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bridge thread"))
            .collect()
    });
    for (i, b) in bridges.iter().enumerate() {
        seen.bridge(&format!("bridge {i}"), b);
        assert_listed(b, &world, &format!("bridge {i} of 10 after a 401"));
    }
    let state = world.state();
    assert_eq!(
        state.token_requests("refresh_token"),
        1,
        "ten bridges refused with 401 must redeem the refresh token once: {:?}",
        state.0["counts"]
    );
    assert_eq!(state.count("authorizations"), 1);
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn login_without_a_browser_prints_the_url_and_waits_for_the_redirect() {
    use std::io::BufRead as _;
    use std::process::Stdio;
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let mut c = home.cmd();
    c.arg("login")
        .arg(&world.mcp_url)
        .args(["--no-browser", "--login-timeout", "60s"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn login");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    // The user copies the URL from the terminal into a browser.
    let prefix = format!("{}/auth?", world.issuer);
    let mut printed = Vec::new();
    let url = loop {
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no authorization URL on stderr: {printed:?}");
        };
        printed.push(line.clone());
        if let Some(at) = line.find(&prefix) {
            let url: String = line[at..]
                .chars()
                .take_while(|c| !c.is_whitespace())
                .collect();
            break url;
        }
    };
    let mut b = Command::new(world.browser(Browser::Http));
    b.arg(&url);
    let opened = common::process::pipe_within(&mut b, b"", LIMIT);
    assert!(opened.status.success(), "browser: {}", world.logs());
    let out = common::process::wait_with_timeout(child, LIMIT);
    printed.extend(rx.try_iter());
    let all = printed.join("\n");
    seen.add("login --no-browser", &all);
    seen.output("login --no-browser (rest)", &out);
    assert!(out.status.success(), "login: {all}");
    assert_eq!(world.state().token_success("authorization_code"), 1);
    assert_eq!(listed_grant(&home, &world, &mut seen)["has_refresh"], true);
    assert_no_token_bytes(&world, &home, &seen);
}

/// Logs in, then revokes the refresh token at the provider (which revokes
/// the whole grant, access token included), as a user removing the app does.
fn login_then_revoke(home: &UserHome, world: &World, seen: &mut Transcript) {
    login_ok(home, world, Browser::Http, seen);
    let grant = listed_grant(home, world, seen);
    let client_id = grant["client_id"].as_str().expect("client id").to_string();
    let refresh = world.state().issued_of("RefreshToken");
    let rt = refresh.last().expect("a refresh token was issued");
    world.revoke(rt, &client_id);
    assert!(world.state().count("revocations") >= 1);
}

#[test]
fn a_revoked_refresh_token_falls_back_to_a_new_authorization_and_says_so() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_then_revoke(&home, &world, &mut seen);

    let http = world.browser(Browser::Http);
    let b = connect(&home, &world, Some(&http), &[], &[]);
    seen.bridge("connect after revocation", &b);
    assert_listed(&b, &world, "connect after revocation");
    let state = world.state();
    assert_eq!(state.count("authorizations"), 2, "{:?}", state.0["counts"]);
    let err = b.stderr.to_lowercase();
    assert!(
        err.contains("refresh") && err.contains("authoriz"),
        "stderr must say the refresh failed and a new authorization is done: {}",
        b.stderr
    );
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn a_revoked_refresh_token_without_a_browser_fails_with_the_login_hint() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_then_revoke(&home, &world, &mut seen);

    let b = connect(&home, &world, None, &[], &[]);
    seen.bridge("connect without a browser", &b);
    let hint = format!("mcp-warden login {}", world.mcp_url);
    let message = error_message(&b, 1);
    assert!(
        message.contains(&hint),
        "the client must get a JSON-RPC error naming `{hint}`: {:?}",
        b.answers
    );
    let lines: Vec<&str> = b.stderr.lines().filter(|l| l.contains(&hint)).collect();
    assert_eq!(
        lines.len(),
        1,
        "one stderr line with the hint: {}",
        b.stderr
    );
    assert_eq!(world.state().count("authorizations"), 1);
    assert_no_token_bytes(&world, &home, &seen);
}

/// `login` through the tamper fixture: refused, the code never redeemed,
/// nothing stored; returns stderr.
fn refused_login(tamper: &'static str) -> String {
    let world = World::start(Options {
        tamper: Some(tamper),
        ..Options::default()
    });
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let out = login(
        &home,
        &world,
        Some(Browser::Http),
        &["--login-timeout", "20s"],
    );
    seen.output("login", &out);
    assert_eq!(
        out.status.code(),
        Some(77),
        "login must be refused (77) when the response is tampered ({tamper}): {}",
        text(&out)
    );
    let state = world.state();
    assert_eq!(state.count("authorizations"), 1, "{:?}", state.0["counts"]);
    assert_eq!(
        state.token_requests("authorization_code"),
        0,
        "the code of a tampered response must not be redeemed"
    );
    assert!(list_json(&home, &mut seen).is_empty());
    // A client registration may be kept; no token set is.
    assert_eq!(token_sets(&store_names(&home, &mut seen)), 0);
    assert_no_token_bytes(&world, &home, &seen);
    stderr(&out)
}

#[test]
fn an_authorization_response_from_another_issuer_is_refused() {
    let err = refused_login("iss");
    assert!(err.contains("iss"), "stderr must name the iss check: {err}");
}

#[test]
fn an_authorization_response_without_iss_is_refused_when_the_server_promises_one() {
    let err = refused_login("no-iss");
    assert!(err.contains("iss"), "stderr must name the iss check: {err}");
}

#[test]
fn an_authorization_response_with_another_state_is_refused() {
    let err = refused_login("state");
    assert!(
        err.contains("state"),
        "stderr must name the state check: {err}"
    );
}

/// Logs in (with `extra` OAuth flags), then calls the step-up tool through
/// `connect` with the same flags and a browser: the 403 insufficient_scope
/// must lead to a new authorization with both scopes and one retry.
fn step_up(extra: &[&str]) {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let out = login(&home, &world, Some(Browser::Http), extra);
    seen.output("login", &out);
    assert!(
        out.status.success(),
        "login: {}\n{}",
        text(&out),
        world.logs()
    );
    let http = world.browser(Browser::Http);

    let b = connect(&home, &world, Some(&http), extra, &["admin_op", "whoami"]);
    seen.bridge("connect with step-up", &b);
    assert_listed(&b, &world, "connect with step-up");
    let admin = b.answer(3).map(|a| a.to_string()).unwrap_or_default();
    assert!(
        admin.contains("admin ok"),
        "admin_op after step-up: {admin}\n{}\n{}",
        b.stderr,
        world.logs()
    );
    let whoami = b.answer(4).map(|a| a.to_string()).unwrap_or_default();
    assert!(
        whoami.contains("mcp:tools") && whoami.contains("mcp:admin"),
        "the new token carries both scopes: {whoami}"
    );
    let calls: Vec<u64> = world
        .mcp_requests()
        .into_iter()
        .filter(|r| r["tool"] == "admin_op")
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(calls, vec![403, 200], "refused once, then served");
    assert_eq!(world.state().count("authorizations"), 2);
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn a_tool_that_needs_more_scope_is_stepped_up_and_retried() {
    // The client registered itself (RFC 7591).
    step_up(&[]);
}

#[test]
fn step_up_with_a_pre_registered_client() {
    step_up(&["--client-id", "native-public"]);
}

/// `connect --client-credentials --client-id CLIENT extra...` in a fresh
/// home: lists the tools, and the token is CLIENT's.
fn client_credentials(world: &World, client: &str, secret: (&str, &[u8]), seen: &mut Transcript) {
    let home = UserHome::new();
    let (flag, value) = secret;
    let name = format!("{client}-credential");
    home.set(&name, value);
    let reference = format!("local://{name}");
    let b = connect(
        &home,
        world,
        None,
        &[
            "--client-credentials",
            "--client-id",
            client,
            flag,
            &reference,
        ],
        &["whoami"],
    );
    seen.bridge(client, &b);
    assert_listed(&b, world, client);
    let whoami = b.answer(3).map(|a| a.to_string()).unwrap_or_default();
    assert!(whoami.contains(&format!("client={client} ")), "{whoami}");
    assert_no_token_bytes(world, &home, seen);
}

#[test]
fn client_credentials_with_a_client_secret_reference() {
    let world = World::start(Options::default());
    let mut seen = Transcript::default();
    let secret = world.state().client_secret();
    for client in ["cc-secret-basic", "cc-secret-post"] {
        client_credentials(
            &world,
            client,
            ("--client-secret", secret.as_bytes()),
            &mut seen,
        );
    }
    let state = world.state();
    assert_eq!(
        state.token_success("client_credentials"),
        2,
        "{:?}",
        state.0["counts"]
    );
    assert_eq!(state.count("authorizations"), 0);
    assert_eq!(state.count("registrations"), 0);
}

#[test]
fn client_credentials_with_a_private_key_jwt_rsa_and_p256() {
    let world = World::start(Options::default());
    let mut seen = Transcript::default();
    let state = world.state();
    for (which, client) in [("rsa", "cc-jwt-rsa"), ("ec", "cc-jwt-ec")] {
        let pem = state.private_key_pem(which);
        client_credentials(&world, client, ("--private-key", pem.as_bytes()), &mut seen);
        // The key's own bytes never show either.
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let leaked = seen.contains(&body[..40]);
        assert!(!leaked, "{client}: the private key leaked");
    }
    let after = world.state();
    assert_eq!(
        after.token_success("client_credentials"),
        2,
        "{:?}",
        after.0["counts"]
    );
}

#[test]
fn another_client_id_is_never_given_the_first_clients_tokens() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    home.set("cc-secret", world.state().client_secret().as_bytes());
    for client in ["cc-secret-basic", "cc-secret-post"] {
        let b = connect(
            &home,
            &world,
            None,
            &[
                "--client-credentials",
                "--client-id",
                client,
                "--client-secret",
                "local://cc-secret",
            ],
            &["whoami"],
        );
        seen.bridge(client, &b);
        assert_listed(&b, &world, client);
        let whoami = b.answer(3).map(|a| a.to_string()).unwrap_or_default();
        assert!(
            whoami.contains(&format!("client={client} ")),
            "--client-id {client} must use {client}'s own token: {whoami}"
        );
    }
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn logout_revokes_at_the_provider_and_forgets_the_tokens() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_ok(&home, &world, Browser::Http, &mut seen);
    assert_eq!(token_sets(&store_names(&home, &mut seen)), 1);

    let mut c = home.cmd();
    c.arg("logout").arg(&world.mcp_url).arg("--forget-client");
    let out = home.run(c, LIMIT);
    seen.output("logout", &out);
    assert!(out.status.success(), "logout: {}", text(&out));
    let state = world.state();
    assert!(
        state.count("revocations") >= 1,
        "logout must revoke at the provider: {:?}",
        state.0["counts"]
    );
    assert!(state.count("grants_revoked") >= 1);

    assert!(list_json(&home, &mut seen).is_empty());
    let mut c = home.cmd();
    c.args(["login", "--list"]);
    let table = home.run(c, LIMIT);
    seen.output("login --list", &table);
    assert!(!String::from_utf8_lossy(&table.stdout).contains(&world.mcp_url));
    assert!(
        !store_names(&home, &mut seen).contains("oauth-"),
        "tokens and registration must be gone from the store"
    );

    // And a headless connect now asks for a login.
    let b = connect(&home, &world, None, &[], &[]);
    seen.bridge("connect after logout", &b);
    assert!(
        error_message(&b, 1).contains("mcp-warden login"),
        "{:?}",
        b.answers
    );
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn tokens_go_to_openbao_with_token_store_and_nothing_to_the_local_store() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let addr = common::service_env("MCP_WARDEN_TEST_BAO_ADDR");
    let token = common::service_env("MCP_WARDEN_TEST_BAO_TOKEN");
    let prefix = format!("vault://secret/{}/", common::unique("oauth"));
    let with_bao = |mut c: Command| {
        c.env("VAULT_ADDR", &addr).env("VAULT_TOKEN", &token);
        c
    };

    let mut c = with_bao(home.with_browser(&world.browser(Browser::Http)));
    c.arg("login")
        .arg(&world.mcp_url)
        .args(["--token-store", &prefix]);
    let out = home.run(c, LIMIT);
    seen.output("login --token-store", &out);
    assert!(
        out.status.success(),
        "login: {}\n{}",
        text(&out),
        world.logs()
    );
    let grant = listed_grant(&home, &world, &mut seen);
    let store = grant["store"].as_str().unwrap_or("");
    assert!(
        store.starts_with(&prefix),
        "stored in {store}, not under {prefix}"
    );
    assert_eq!(token_sets(&store_names(&home, &mut seen)), 0);

    // What OpenBao holds is the provider's latest access token.
    let path = store.trim_start_matches("vault://");
    let path = path.split(['#', '?']).next().unwrap_or(path);
    let mut bao = Command::new(common::service_env("MCP_WARDEN_TEST_BAO"));
    bao.args(["kv", "get", "-format=json", path])
        .env("BAO_ADDR", &addr)
        .env("BAO_TOKEN", &token);
    let read = common::process::pipe_within(&mut bao, b"", LIMIT);
    let held = String::from_utf8_lossy(&read.stdout).into_owned();
    let access = world.state().issued_of("AccessToken");
    let latest = access.last().expect("an access token");
    assert!(
        held.contains(latest.as_str()),
        "OpenBao does not hold the tokens at {path}: {}",
        String::from_utf8_lossy(&read.stderr)
    );

    // connect finds them there (from the index), without a browser.
    let b = bridge(
        with_bao(connect_cmd(&home, &world, None, &["--no-browser"])),
        &[],
        LIMIT,
    );
    seen.bridge("connect", &b);
    assert_listed(&b, &world, "connect with tokens in OpenBao");
    assert_eq!(world.state().count("authorizations"), 1);
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn the_canary_finds_the_plaintext_tokens_mcp_remote_leaves_in_its_home() {
    // The canary can fail: mcp-remote, authorized by the same provider,
    // keeps the tokens in plaintext under ~/.mcp-auth, and the canary says so.
    let world = World::start(Options::default());
    let home = tempfile::tempdir().expect("tempdir");
    let files = common::oauth::mcp_remote_cache(&world, home.path());
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with("_tokens.json")),
        "{files:?}"
    );
    let found =
        common::oauth::token_findings(&world, &[home.path().to_path_buf()], &Transcript::default());
    assert!(
        found.iter().any(|f| f.ends_with("_tokens.json")),
        "the canary must find mcp-remote's plaintext tokens: {found:?}"
    );
}

#[test]
fn connect_with_oauth_authorizes_before_the_first_request() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    let http = world.browser(Browser::Http);
    let b = connect(&home, &world, Some(&http), &["--oauth"], &[]);
    seen.bridge("connect --oauth", &b);
    assert_listed(&b, &world, "connect --oauth");
    // At most a `ping` probe (to read the challenge) goes out without a
    // token; the client's own initialize is never refused.
    let requests = world.mcp_requests();
    let refused: Vec<&Value> = requests
        .iter()
        .filter(|r| r["status"].as_u64().unwrap_or(0) >= 400)
        .collect();
    assert!(
        refused.iter().all(|r| r["rpc"] == "ping") && refused.len() <= 1,
        "with --oauth only a probe may be refused: {requests:?}"
    );
    let inits: Vec<u64> = requests
        .iter()
        .filter(|r| r["rpc"] == "initialize")
        .map(|r| r["status"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(inits, vec![200], "initialize went out once, with a token");
    assert_eq!(world.state().count("authorizations"), 1);
    assert_no_token_bytes(&world, &home, &seen);
}

#[test]
fn logout_keeps_the_client_registration_unless_told_to_forget_it() {
    let world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    login_ok(&home, &world, Browser::Http, &mut seen);
    let mut c = home.cmd();
    c.arg("logout").arg(&world.mcp_url);
    let out = home.run(c, LIMIT);
    seen.output("logout", &out);
    assert!(out.status.success(), "logout: {}", text(&out));
    assert_eq!(token_sets(&store_names(&home, &mut seen)), 0);
    assert!(
        store_names(&home, &mut seen).contains("oauth-client-"),
        "the registration stays"
    );

    // The next login reuses it: a new authorization, no new registration.
    login_ok(&home, &world, Browser::Http, &mut seen);
    let state = world.state();
    assert_eq!(state.count("registrations"), 1, "{:?}", state.0["counts"]);
    assert_eq!(state.count("authorizations"), 2);
    assert_no_token_bytes(&world, &home, &seen);
}
