//! The `vault://` backend (alias `bao://`) against a real OpenBao dev server.
//!
//! `scripts/test` starts `bao server -dev` and exports
//! `MCP_WARDEN_TEST_BAO_ADDR`, `MCP_WARDEN_TEST_BAO_TOKEN` (root) and
//! `MCP_WARDEN_TEST_BAO` (the `bao` CLI, used here to make fixtures and to
//! watch leases through `sys/leases`). Every test mounts and names its own
//! engines, policies and roles, so tests share the server and run in parallel.
//! Tests that need a sealed server start their own.

#![cfg(unix)]

mod common;

use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use base64::Engine as _;
use common::env::strip_env;
use common::output::{fails, json_lines, ok, stderr};
use common::process::pipe;
use common::{
    CANARY, Home, kill, print_vars, process_gone, read_pid, service_env, unique, wait_until,
};
use predicates::prelude::*;
use serde_json::Value;

fn addr() -> String {
    service_env("MCP_WARDEN_TEST_BAO_ADDR")
}

/// Runs the `bao` CLI as root against `at`; returns stdout, panics with stderr on failure.
fn bao_at(at: &str, args: &[&str]) -> String {
    let out = StdCommand::new(service_env("MCP_WARDEN_TEST_BAO"))
        .args(args)
        .env("BAO_ADDR", at)
        .env("BAO_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"))
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .expect("run bao");
    assert!(
        out.status.success(),
        "bao {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn bao(args: &[&str]) -> String {
    bao_at(&addr(), args)
}

fn bao_json(args: &[&str]) -> Value {
    let mut a = vec![args[0], "-format=json"];
    a.extend(&args[1..]);
    serde_json::from_str(&bao(&a)).expect("bao json")
}

/// A KV mount of `version` at a fresh path; returns the path.
fn kv_mount(version: u8) -> String {
    let m = unique("kv");
    bao(&[
        "secrets",
        "enable",
        &format!("-path={m}"),
        &format!("-version={version}"),
        "kv",
    ]);
    m
}

/// `mcp-warden` with only our Vault address in its environment; no token.
fn warden(home: &Home) -> Command {
    let mut c = home.cmd();
    strip_env(&mut c, &["VAULT_", "BAO_", "MCP_WARDEN_VAULT_"]);
    c.env("HOME", home.path()).env("VAULT_ADDR", addr());
    c
}

/// [`warden`] with the root token.
fn root(home: &Home) -> Command {
    let mut c = warden(home);
    c.env("VAULT_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"));
    c
}

// --- KV ------------------------------------------------------------------------

#[test]
fn kv_v2_latest_old_versions_and_fields() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&[
        "kv",
        "put",
        &format!("{m}/app"),
        "user=alice",
        "password=first",
    ]);
    bao(&[
        "kv",
        "put",
        &format!("{m}/app"),
        "user=alice",
        "password=second",
    ]);
    let out = ok(print_vars(
        root(&home),
        &[
            &format!("A=vault://{m}/app#password"),
            &format!("B=vault://{m}/app?version=1#password"),
            &format!("C=bao://{m}/app#user"),
            &format!("D=openbao://{m}/app#/password"),
        ],
    ));
    assert_eq!(out, "second|first|alice|second|");
    // Without a selector the child gets the fields as one JSON object.
    let whole = ok(print_vars(root(&home), &[&format!("A=vault://{m}/app")]));
    let v: Value = serde_json::from_str(whole.trim_end_matches('|')).expect("json");
    assert_eq!(v["password"], "second");
}

#[test]
fn mounts_sharing_a_first_segment_are_told_apart() {
    let home = Home::new();
    let team = unique("team");
    bao(&[
        "secrets",
        "enable",
        &format!("-path={team}/a"),
        "-version=2",
        "kv",
    ]);
    bao(&[
        "secrets",
        "enable",
        &format!("-path={team}/b"),
        "-version=1",
        "kv",
    ]);
    bao(&["kv", "put", &format!("{team}/a/x"), "k=from-a"]);
    bao(&["kv", "put", &format!("{team}/b/x"), "k=from-b"]);
    let refs: Vec<String> = (0..6)
        .map(|i| {
            let m = if i % 2 == 0 { "a" } else { "b" };
            format!("V{i}=vault://{team}/{m}/x#k")
        })
        .collect();
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    assert_eq!(
        ok(print_vars(root(&home), &refs)),
        "from-a|from-b|from-a|from-b|from-a|from-b|"
    );
}

#[test]
fn kv_v1_is_detected_and_refuses_versions() {
    let home = Home::new();
    let m = kv_mount(1);
    bao(&["kv", "put", &format!("{m}/db"), "url=postgres://h/db"]);
    assert_eq!(
        ok(print_vars(root(&home), &[&format!("A=vault://{m}/db#url")])),
        "postgres://h/db|"
    );
    fails(
        print_vars(root(&home), &[&format!("A=vault://{m}/db?version=2#url")]),
        78,
        &["?version= needs a KV v2 mount", "KV v1 mount"],
    );
}

#[test]
fn a_missing_field_is_65_and_names_the_fields_never_values() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), &format!("token={CANARY}")]);
    fails(
        print_vars(root(&home), &[&format!("A=vault://{m}/app#tokn")]),
        65,
        &["\"tokn\"", "available keys: \"token\""],
    );
}

#[test]
fn a_missing_secret_or_version_is_78_naming_the_path() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), &format!("k={CANARY}")]);
    fails(
        print_vars(root(&home), &[&format!("A=vault://{m}/nope#k")]),
        78,
        &[&format!("no secret at {m}/nope")],
    );
    fails(
        print_vars(root(&home), &[&format!("A=vault://{m}/app?version=7#k")]),
        78,
        &["version 7"],
    );
    fails(
        print_vars(root(&home), &[&format!("A=vault://{m}/app?verison=1#k")]),
        78,
        &["unknown parameter \"verison\""],
    );
}

#[test]
fn namespaces_from_the_reference_or_the_environment() {
    let home = Home::new();
    let ns = unique("ns");
    bao(&["namespace", "create", &ns]);
    let in_ns = |args: &[&str]| {
        let out = StdCommand::new(service_env("MCP_WARDEN_TEST_BAO"))
            .args(args)
            .env("BAO_ADDR", addr())
            .env("BAO_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"))
            .env("BAO_NAMESPACE", &ns)
            .env("HOME", std::env::temp_dir())
            .output()
            .expect("bao");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    in_ns(&["secrets", "enable", "-path=kvn", "-version=2", "kv"]);
    in_ns(&["kv", "put", "kvn/app", "k=in-namespace"]);
    assert_eq!(
        ok(print_vars(
            root(&home),
            &[&format!("A=vault://kvn/app?namespace={ns}#k")]
        )),
        "in-namespace|"
    );
    let mut c = root(&home);
    c.env("BAO_NAMESPACE", &ns);
    assert_eq!(ok(print_vars(c, &["A=vault://kvn/app#k"])), "in-namespace|");
    // Outside the namespace the mount does not exist.
    fails(
        print_vars(root(&home), &["A=vault://kvn/app#k"]),
        77,
        &["no secrets engine is mounted there"],
    );
}

#[test]
fn vault_and_bao_variables_do_not_reach_the_child() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), "k=v1"]);
    let mut c = root(&home);
    c.env("BAO_NAMESPACE", "")
        .env("VAULT_CACERT", "/nonexistent-unused-for-http");
    let out = ok(c
        .args([
            "run",
            "--exec",
            &format!("K=vault://{m}/app#k"),
            "--",
            "env",
        ])
        .output()
        .expect("run"));
    assert!(out.contains("K=v1"), "{out}");
    assert!(
        !out.lines()
            .any(|l| l.starts_with("VAULT_") || l.starts_with("BAO_")),
        "{out}"
    );
}

#[test]
fn write_new_versions_and_expose_metadata_never_values() {
    let home = Home::new();
    let m = kv_mount(2);
    let r = format!("vault://{m}/svc");
    let set = |stdin: String, target: &str| {
        root(&home)
            .args(["secret", "set", target])
            .write_stdin(stdin)
            .output()
            .expect("set")
    };
    let o = set(format!("{{\"token\":\"{CANARY}\"}}"), &r);
    assert!(stderr(&o).contains("created"), "{}", stderr(&o));
    let o = set("second".into(), &format!("{r}?field=other"));
    assert!(stderr(&o).contains("updated"), "{}", stderr(&o));
    let meta = bao_json(&["read", &format!("{m}/metadata/svc")]);
    assert_eq!(meta["data"]["current_version"], 2);
    // The field write merged into the secret.
    let out = ok(print_vars(
        root(&home),
        &[&format!("A={r}#token"), &format!("B={r}#other")],
    ));
    assert_eq!(out, format!("{CANARY}|second|"));
    // Text without ?field= is refused: a Vault secret is a set of fields.
    let o = set("plain".into(), &r);
    assert_eq!(o.status.code(), Some(65), "{}", stderr(&o));
    assert!(stderr(&o).contains("?field=NAME"), "{}", stderr(&o));

    let o = root(&home)
        .args(["secret", "ls", &format!("vault://{m}/"), "--json"])
        .output()
        .expect("ls");
    let listed = ok(o);
    let rows = json_lines(&listed);
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["name"], format!("{m}/svc"));
    assert_eq!(rows[0]["version"], "2", "{listed}");
    assert!(
        rows[0]["created"].is_string() && rows[0]["updated"].is_string(),
        "{listed}"
    );
    assert!(!listed.contains(CANARY) && !listed.contains("second"));

    let o = root(&home).args(["secret", "rm", &r]).output().expect("rm");
    assert!(o.status.success(), "{}", stderr(&o));
    fails(
        print_vars(root(&home), &[&format!("A={r}#token")]),
        78,
        &["version 2 of", "is deleted"],
    );
}

#[test]
fn verbose_run_names_the_server_and_mount_never_the_value_or_token() {
    let home = Home::new();
    let m = kv_mount(2);
    let value = format!("{CANARY}-{}", unique("diag"));
    bao(&[
        "kv",
        "put",
        &format!("{m}/diag"),
        &format!("password={value}"),
    ]);
    // A token of its own (not "root"), so its absence from the output means something.
    let token = bao(&["token", "create", "-field=token", "-ttl=10m"]);
    let token = token.trim();
    let o = warden(&home)
        .env("VAULT_TOKEN", token)
        .env("MCP_WARDEN_LOG", "trace")
        .args(["-vv", "run", &format!("P=vault://{m}/diag#password"), "--"])
        .args(["sh", "-c", "printf '%s' \"${#P}\""])
        .output()
        .expect("run");
    let (out, err) = (common::output::stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert_eq!(out, value.len().to_string());
    for needle in [
        format!("info: vault://{m}/diag: fetched by the vault backend in "),
        format!("debug: vault://{m}/diag: vault at {}, mount {m}/", addr()),
        format!("debug: vault at {}: session ready (with a token)", addr()),
        "info: starting /".to_string(),
    ] {
        assert!(err.contains(&needle), "{needle:?} not in:\n{err}");
    }
    for text in [&out, &err] {
        assert!(!text.contains(&value), "the value leaked: {text}");
        assert!(!text.contains(token), "the token leaked: {text}");
    }
}

// --- auth ----------------------------------------------------------------------

/// A policy allowing only `read` on one KV v2 mount; returns its name.
fn read_only_policy(mount: &str, dir: &Path) -> String {
    let name = unique("ro");
    let file = dir.join(format!("{name}.hcl"));
    std::fs::write(
        &file,
        format!(
            "path \"{mount}/data/*\" {{ capabilities = [\"read\"] }}\n\
             path \"{mount}/metadata/*\" {{ capabilities = [\"read\", \"list\"] }}\n"
        ),
    )
    .expect("policy file");
    bao(&["policy", "write", &name, &file.display().to_string()]);
    name
}

/// An AppRole role with `policy` and a custom secret id (the canary); returns (mount, role id).
fn approle(policy: &str, token_ttl: &str) -> (String, String) {
    let mount = unique("approle");
    bao(&["auth", "enable", &format!("-path={mount}"), "approle"]);
    bao(&[
        "write",
        &format!("auth/{mount}/role/app"),
        &format!("token_policies={policy}"),
        &format!("token_ttl={token_ttl}"),
        "token_max_ttl=10m",
    ]);
    let role_id = bao(&[
        "read",
        "-field=role_id",
        &format!("auth/{mount}/role/app/role-id"),
    ]);
    bao(&[
        "write",
        &format!("auth/{mount}/role/app/custom-secret-id"),
        &format!("secret_id={CANARY}"),
    ]);
    (mount, role_id.trim().to_string())
}

fn with_approle(c: &mut Command, mount: &str, role_id: &str) {
    c.env("MCP_WARDEN_VAULT_AUTH", "approle")
        .env("MCP_WARDEN_VAULT_AUTH_MOUNT", mount)
        .env("MCP_WARDEN_VAULT_ROLE_ID", role_id)
        .env("MCP_WARDEN_VAULT_SECRET_ID", "local://approle-secret-id");
}

#[test]
fn approle_with_a_read_only_policy_reads_and_is_denied_writing() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), "k=from-approle"]);
    let policy = read_only_policy(&m, home.path());
    let (mount, role_id) = approle(&policy, "5m");
    home.set("approle-secret-id", CANARY.as_bytes());

    let mut c = warden(&home);
    with_approle(&mut c, &mount, &role_id);
    assert_eq!(
        ok(print_vars(c, &[&format!("A=vault://{m}/app#k")])),
        "from-approle|"
    );
    // No lease depends on the login token, so it was revoked before the exec.
    assert_eq!(
        leases(&format!("auth/{mount}/login/")),
        Vec::<String>::new()
    );

    let mut c = warden(&home);
    with_approle(&mut c, &mount, &role_id);
    let o = c
        .args(["secret", "set", &format!("vault://{m}/app?field=k")])
        .write_stdin(CANARY)
        .output()
        .expect("set");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(77), "{err}");
    assert!(
        err.contains(&format!("permission denied on {m}/data/app"))
            && err.contains("\"create/update\""),
        "{err}"
    );
    assert!(!err.contains(CANARY), "{err}");
    assert_eq!(
        bao(&["kv", "get", "-field=k", &format!("{m}/app")]),
        "from-approle"
    );

    // A wrong secret id: the login is refused (77), and no credential is echoed.
    home.set("approle-secret-id", b"wrong-secret-id");
    let mut c = warden(&home);
    with_approle(&mut c, &mount, &role_id);
    let err = fails(
        print_vars(c, &[&format!("A=vault://{m}/app#k")]),
        77,
        &[&format!("login at auth/{mount}/login")],
    );
    assert!(!err.contains("wrong-secret-id"), "{err}");
}

/// An RSA key pair made with openssl: (private key path, public key PEM).
fn key_pair(dir: &Path) -> (std::path::PathBuf, String) {
    let key = dir.join("jwt-key.pem");
    let status = StdCommand::new("openssl")
        .args(["genrsa", "-out"])
        .arg(&key)
        .arg("2048")
        .stderr(Stdio::null())
        .status()
        .expect("openssl genrsa");
    assert!(status.success());
    let out = StdCommand::new("openssl")
        .args(["rsa", "-pubout", "-in"])
        .arg(&key)
        .stderr(Stdio::null())
        .output()
        .expect("openssl rsa");
    assert!(out.status.success());
    (key, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An RS256 JWT for `claims`, signed with `key` by openssl.
fn sign_jwt(key: &Path, claims: &Value) -> String {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = b64(claims.to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let out = pipe(
        StdCommand::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(key),
        input.as_bytes(),
    );
    assert!(out.status.success(), "openssl dgst: {}", stderr(&out));
    format!("{input}.{}", b64(&out.stdout))
}

/// A jwt auth method at `mount` trusting a fresh key; a role `app` with `policy`.
/// Returns the path of a file holding a valid JWT.
fn jwt_login_setup(home: &Home, mount: &str, policy: &str) -> std::path::PathBuf {
    let (key, public) = key_pair(home.path());
    bao(&["auth", "enable", &format!("-path={mount}"), "jwt"]);
    bao(&[
        "write",
        &format!("auth/{mount}/config"),
        &format!("jwt_validation_pubkeys={public}"),
    ]);
    bao(&[
        "write",
        &format!("auth/{mount}/role/app"),
        "role_type=jwt",
        "user_claim=sub",
        "bound_audiences=mcp-warden-test",
        &format!("token_policies={policy}"),
        "token_ttl=5m",
    ]);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let jwt = sign_jwt(
        &key,
        &serde_json::json!({
            "sub": "workload-1", "aud": "mcp-warden-test",
            "iat": now, "nbf": now - 5, "exp": now + 600
        }),
    );
    let file = home.path().join("jwt");
    std::fs::write(&file, format!("{jwt}\n")).expect("jwt file");
    file
}

#[test]
fn jwt_login_with_a_key_pair_made_here() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), "k=from-jwt"]);
    let policy = read_only_policy(&m, home.path());
    let mount = unique("jwt");
    let jwt = jwt_login_setup(&home, &mount, &policy);

    let mut c = warden(&home);
    c.env("MCP_WARDEN_VAULT_AUTH", "jwt")
        .env("MCP_WARDEN_VAULT_AUTH_MOUNT", &mount)
        .env("MCP_WARDEN_VAULT_ROLE", "app")
        .env("MCP_WARDEN_VAULT_JWT", &jwt);
    assert_eq!(
        ok(print_vars(c, &[&format!("A=vault://{m}/app#k")])),
        "from-jwt|"
    );

    // A JWT signed by another key is refused: 77, and the JWT is not echoed.
    let other_dir = home.path().join("other");
    std::fs::create_dir(&other_dir).expect("dir");
    let (other, _) = key_pair(&other_dir);
    let forged = sign_jwt(&other, &serde_json::json!({"sub": "x", "aud": "nope"}));
    std::fs::write(&jwt, &forged).expect("jwt file");
    let mut c = warden(&home);
    c.env("MCP_WARDEN_VAULT_AUTH", "jwt")
        .env("MCP_WARDEN_VAULT_AUTH_MOUNT", &mount)
        .env("MCP_WARDEN_VAULT_ROLE", "app")
        .env("MCP_WARDEN_VAULT_JWT", format!("file://{}", jwt.display()));
    let err = fails(
        print_vars(c, &[&format!("A=vault://{m}/app#k")]),
        77,
        &["login at auth/"],
    );
    assert!(!err.contains(&forged[..40]), "{err}");
}

/// Kubernetes login is a JWT login at `auth/kubernetes/login` with the pod's
/// service-account token. No cluster here: OpenBao's jwt method mounted at the
/// Kubernetes path accepts the same request, so this checks our request, the
/// token file and the default mount, not Kubernetes' TokenReview.
#[test]
fn kubernetes_login_sends_the_service_account_token() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), "k=from-k8s"]);
    let policy = read_only_policy(&m, home.path());
    let mount = format!("kubernetes-{}", unique("k"));
    let jwt = jwt_login_setup(&home, &mount, &policy);
    let mut c = warden(&home);
    c.env("MCP_WARDEN_VAULT_AUTH", "kubernetes")
        .env("MCP_WARDEN_VAULT_AUTH_MOUNT", &mount)
        .env("MCP_WARDEN_VAULT_ROLE", "app")
        .env("MCP_WARDEN_VAULT_JWT", &jwt);
    assert_eq!(
        ok(print_vars(c, &[&format!("A=vault://{m}/app#k")])),
        "from-k8s|"
    );
}

#[test]
fn userpass_with_the_password_from_a_reference() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), "k=from-userpass"]);
    let policy = read_only_policy(&m, home.path());
    let mount = unique("up");
    bao(&["auth", "enable", &format!("-path={mount}"), "userpass"]);
    bao(&[
        "write",
        &format!("auth/{mount}/users/alice"),
        &format!("password={CANARY}"),
        &format!("token_policies={policy}"),
    ]);
    let pw = home.path().join("pw");
    std::fs::write(&pw, format!("{CANARY}\n")).expect("pw");
    let run = |password: &str| {
        let mut c = warden(&home);
        c.env("MCP_WARDEN_VAULT_AUTH", "userpass")
            .env("MCP_WARDEN_VAULT_AUTH_MOUNT", &mount)
            .env("MCP_WARDEN_VAULT_USERNAME", "alice")
            .env("MCP_WARDEN_VAULT_PASSWORD", password);
        print_vars(c, &[&format!("A=vault://{m}/app#k")])
    };
    assert_eq!(
        ok(run(&format!("file://{}", pw.display()))),
        "from-userpass|"
    );
    home.set("pw", b"not-the-password");
    fails(run("local://pw"), 77, &["login at auth/"]);
    // A pasted password instead of a reference is refused without echo.
    fails(
        run(CANARY),
        78,
        &["MCP_WARDEN_VAULT_PASSWORD", "not a reference"],
    );
}

#[test]
fn an_expired_token_is_77_and_says_what_to_check() {
    let home = Home::new();
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), &format!("k={CANARY}")]);
    let token = bao(&[
        "token",
        "create",
        "-ttl=1s",
        "-field=token",
        "-policy=default",
    ]);
    std::thread::sleep(Duration::from_millis(2500));
    let mut c = warden(&home);
    c.env("VAULT_TOKEN", token.trim());
    let err = fails(
        print_vars(c, &[&format!("A=vault://{m}/app#k")]),
        77,
        &["permission denied", "not expired"],
    );
    assert!(!err.contains(token.trim()), "{err}");
}

#[test]
fn no_token_and_unreachable_and_skip_verify_are_explained() {
    let home = Home::new();
    fails(
        print_vars(warden(&home), &["A=vault://secret/x#k"]),
        78,
        &["no Vault token", "VAULT_TOKEN"],
    );
    // A token from ~/.vault-token, as `vault login` leaves it.
    let m = kv_mount(2);
    bao(&["kv", "put", &format!("{m}/app"), "k=from-file"]);
    std::fs::write(
        home.path().join(".vault-token"),
        service_env("MCP_WARDEN_TEST_BAO_TOKEN"),
    )
    .expect("token file");
    assert_eq!(
        ok(print_vars(
            warden(&home),
            &[&format!("A=vault://{m}/app#k")]
        )),
        "from-file|"
    );
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let mut c = root(&home);
    c.env("VAULT_ADDR", format!("http://127.0.0.1:{closed}"));
    fails(
        print_vars(c, &["A=vault://secret/x#k"]),
        69,
        &["cannot reach Vault"],
    );
    let mut c = root(&home);
    c.env("VAULT_SKIP_VERIFY", "true");
    fails(
        print_vars(c, &["A=vault://secret/x#k"]),
        78,
        &["never skips TLS verification"],
    );
}

/// A private OpenBao dev server (root token `root`), killed on drop.
struct PrivateBao {
    server: std::process::Child,
    addr: String,
}

impl PrivateBao {
    /// Starts one on a free port; with `tls_dir`, over TLS with its CA written there.
    fn start(home: &Path, tls_dir: Option<&Path>) -> PrivateBao {
        Self::start_with(home, tls_dir, &[])
    }

    fn start_with(home: &Path, tls_dir: Option<&Path>, extra: &[&str]) -> PrivateBao {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let mut c = StdCommand::new(service_env("MCP_WARDEN_TEST_BAO"));
        c.args(["server", "-dev", "-dev-root-token-id=root"])
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .args(extra)
            .env("HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(d) = tls_dir {
            c.arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", d.display()));
        }
        let server = c.spawn().expect("start bao");
        let scheme = if tls_dir.is_some() { "https" } else { "http" };
        let bao = PrivateBao {
            server,
            addr: format!("{scheme}://127.0.0.1:{port}"),
        };
        let up = wait_until(Duration::from_secs(15), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
                && tls_dir.is_none_or(|d| d.join("vault-ca.pem").exists())
        });
        assert!(up, "private OpenBao did not start");
        bao
    }
}

impl Drop for PrivateBao {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[test]
fn a_sealed_server_is_69() {
    let home = Home::new();
    let bao = PrivateBao::start(home.path(), None);
    bao_at(&bao.addr, &["operator", "seal"]);
    let mut c = root(&home);
    c.env("VAULT_ADDR", &bao.addr).env("VAULT_TOKEN", "root");
    fails(print_vars(c, &["A=vault://secret/x#k"]), 69, &["sealed"]);
}

#[test]
fn tls_is_verified_against_vault_cacert_or_capath() {
    let home = Home::new();
    let certs = home.path().join("tls");
    std::fs::create_dir(&certs).expect("dir");
    let bao = PrivateBao::start(home.path(), Some(&certs));
    let ca = certs.join("vault-ca.pem");
    let put = StdCommand::new(service_env("MCP_WARDEN_TEST_BAO"))
        .args(["kv", "put", "secret/app", "k=over-tls"])
        .env("BAO_ADDR", &bao.addr)
        .env("BAO_TOKEN", "root")
        .env("BAO_CACERT", &ca)
        .env("HOME", home.path())
        .output()
        .expect("bao kv put");
    assert!(
        put.status.success(),
        "{}",
        String::from_utf8_lossy(&put.stderr)
    );
    let tls = |var: Option<(&str, &Path)>| {
        let mut c = root(&home);
        c.env("VAULT_ADDR", &bao.addr).env("VAULT_TOKEN", "root");
        if let Some((k, v)) = var {
            c.env(k, v);
        }
        print_vars(c, &["A=vault://secret/app#k"])
    };
    // The dev CA is in no system store: refused, with the variable to set.
    fails(tls(None), 69, &["UnknownIssuer", "VAULT_CACERT"]);
    assert_eq!(ok(tls(Some(("VAULT_CACERT", &ca)))), "over-tls|");
    let dir = home.path().join("capath");
    std::fs::create_dir(&dir).expect("dir");
    std::fs::copy(&ca, dir.join("ca.pem")).expect("copy");
    std::fs::write(dir.join("README"), "not a certificate").expect("write");
    assert_eq!(ok(tls(Some(("BAO_CAPATH", &dir)))), "over-tls|");
    // A CA that did not sign the server's certificate is refused too.
    let other = home.path().join("other-ca.pem");
    let key = home.path().join("other-key.pem");
    let made = StdCommand::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=other"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&other)
        .stderr(Stdio::null())
        .status()
        .expect("openssl req");
    assert!(made.success());
    fails(tls(Some(("VAULT_CACERT", &other))), 69, &["VAULT_CACERT"]);
}

/// Runs openssl quietly; panics when it fails.
fn openssl(args: &[&str], dir: &Path) {
    let ok = StdCommand::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl")
        .success();
    assert!(ok, "openssl {args:?}");
}

#[test]
fn mutual_tls_with_vault_client_cert_and_key() {
    let home = Home::new();
    let d = home.path().join("mtls");
    std::fs::create_dir(&d).expect("dir");
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=test-ca",
        ],
        &d,
    );
    std::fs::write(d.join("srv.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
    std::fs::write(d.join("cli.ext"), "extendedKeyUsage=clientAuth\n").expect("ext");
    for n in ["srv", "cli"] {
        openssl(
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{n}.key"),
                "-out",
                &format!("{n}.csr"),
                "-subj",
                &format!("/CN={n}"),
            ],
            &d,
        );
        openssl(
            &[
                "x509",
                "-req",
                "-in",
                &format!("{n}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &format!("{n}.pem"),
                "-days",
                "1",
                "-extfile",
                &format!("{n}.ext"),
            ],
            &d,
        );
    }
    // A dev server with a second listener that requires a client certificate.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let p = |f: &str| d.join(f).display().to_string();
    std::fs::write(
        d.join("listener.hcl"),
        format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  \
             tls_key_file = \"{}\"\n  tls_require_and_verify_client_cert = true\n  \
             tls_client_ca_file = \"{}\"\n}}\n",
            p("srv.pem"),
            p("srv.key"),
            p("ca.pem")
        ),
    )
    .expect("config");
    let bao = PrivateBao::start_with(
        home.path(),
        None,
        &[&format!("-config={}", p("listener.hcl"))],
    );
    assert!(
        wait_until(Duration::from_secs(15), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "the mTLS listener did not open"
    );
    bao_at(&bao.addr, &["kv", "put", "secret/m", "k=over-mtls"]);
    let run = |client: bool| {
        let mut c = root(&home);
        c.env("VAULT_ADDR", format!("https://127.0.0.1:{port}"))
            .env("VAULT_TOKEN", "root")
            .env("VAULT_CACERT", d.join("ca.pem"));
        if client {
            c.env("VAULT_CLIENT_CERT", d.join("cli.pem"))
                .env("VAULT_CLIENT_KEY", d.join("cli.key"));
        }
        print_vars(c, &["A=vault://secret/m#k"])
    };
    fails(run(false), 69, &["VAULT_CLIENT_CERT"]);
    assert_eq!(ok(run(true)), "over-mtls|");
    // One without the other is a configuration error.
    let mut c = root(&home);
    c.env("VAULT_CLIENT_CERT", d.join("cli.pem"));
    fails(
        print_vars(c, &["A=vault://secret/m#k"]),
        78,
        &["go together"],
    );
}

// --- leases --------------------------------------------------------------------

/// A PKI mount with a role that issues certificates with a lease; returns the mount.
fn pki_with_leases() -> String {
    let m = unique("pki");
    bao(&["secrets", "enable", &format!("-path={m}"), "pki"]);
    bao(&["secrets", "tune", "-max-lease-ttl=2h", &format!("{m}/")]);
    bao(&[
        "write",
        "-f",
        &format!("{m}/root/generate/internal"),
        "common_name=test.local",
        "ttl=2h",
    ]);
    bao(&[
        "write",
        &format!("{m}/roles/web"),
        "allowed_domains=test.local",
        "allow_subdomains=true",
        "generate_lease=true",
        "ttl=1h",
    ]);
    m
}

/// Lease ids under `prefix` (e.g. `pki/issue/web/`), through `sys/leases/lookup`.
fn leases(prefix: &str) -> Vec<String> {
    let out = StdCommand::new(service_env("MCP_WARDEN_TEST_BAO"))
        .args([
            "list",
            "-format=json",
            &format!("sys/leases/lookup/{prefix}"),
        ])
        .env("BAO_ADDR", addr())
        .env("BAO_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"))
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("bao list");
    // "No value found" (exit 2) means none.
    serde_json::from_slice::<Vec<String>>(&out.stdout)
        .unwrap_or_default()
        .into_iter()
        .map(|k| format!("{prefix}{k}"))
        .collect()
}

/// `sys/leases/lookup` for one lease: `None` once it is revoked.
fn lease_lookup(id: &str) -> Option<Value> {
    let out = StdCommand::new(service_env("MCP_WARDEN_TEST_BAO"))
        .args(["write", "-format=json", "sys/leases/lookup"])
        .arg(format!("lease_id={id}"))
        .env("BAO_ADDR", addr())
        .env("BAO_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"))
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("bao lookup");
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice::<Value>(&out.stdout)
        .ok()
        .map(|v| v["data"].clone())
}

/// A child that writes its pid, then waits for a signal.
// The loop's `sleep` is in the server's process group, so a forwarded SIGTERM
// reaches it too: sh's "Terminated" report must not pass as mcp-warden's stderr.
const WAIT_CHILD: &str = "echo $$ > \"$PIDFILE\"; printf %s \"${#C}:${#K}\" > \"$PIDFILE.len\"; \
                          trap 'exit 0' TERM; while :; do sleep 0.1; done 2>/dev/null";

#[test]
fn a_dynamic_secret_is_read_once_then_revoked_when_the_server_exits() {
    let home = Home::new();
    let pki = pki_with_leases();
    let r = format!("vault://{pki}/issue/web?arg.common_name=app.test.local");
    let out = ok(root(&home)
        .args([
            "run",
            &format!("C={r}#certificate"),
            &format!("K={r}#private_key"),
            "--",
            "sh",
            "-c",
            &format!(
                "test -n \"$K\" && printf %s \"$C\" | head -c 27 > {dir}/first-line",
                dir = home.path().display()
            ),
        ])
        .output()
        .expect("run"));
    assert_eq!(out, "");
    assert_eq!(
        std::fs::read_to_string(home.path().join("first-line")).expect("child ran"),
        "-----BEGIN CERTIFICATE-----"
    );
    // After the server exited: no lease left on the role (revoked, not expired: TTL 1h).
    assert_eq!(leases(&format!("{pki}/issue/web/")), Vec::<String>::new());
}

#[test]
fn leases_and_the_login_token_are_renewed_while_running_and_revoked_on_sigterm() {
    let home = Home::new();
    let pki = pki_with_leases();
    let name = unique("leasepol");
    let file = home.path().join("p.hcl");
    std::fs::write(
        &file,
        format!("path \"{pki}/issue/web\" {{ capabilities = [\"update\"] }}\n"),
    )
    .expect("policy");
    bao(&["policy", "write", &name, &file.display().to_string()]);
    // A login token that lives 6 s unless renewed.
    let (mount, role_id) = approle(&name, "6s");
    home.set("approle-secret-id", CANARY.as_bytes());

    let pidfile = home.path().join("child.pid");
    let r = format!("vault://{pki}/issue/web?arg.common_name=app.test.local");
    let mut c = home.std_cmd();
    strip_env(&mut c, &["VAULT_", "BAO_"]);
    c.env("VAULT_ADDR", addr())
        .env("HOME", home.path())
        .env("PIDFILE", &pidfile)
        .env("MCP_WARDEN_VAULT_AUTH", "approle")
        .env("MCP_WARDEN_VAULT_AUTH_MOUNT", &mount)
        .env("MCP_WARDEN_VAULT_ROLE_ID", &role_id)
        .env("MCP_WARDEN_VAULT_SECRET_ID", "local://approle-secret-id")
        .args([
            "run",
            &format!("C={r}#certificate"),
            &format!("K={r}#private_key"),
            "--",
            "sh",
            "-c",
            WAIT_CHILD,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut warden = c.spawn().expect("spawn mcp-warden");
    let child_pid = read_pid(&pidfile);

    let token_leases = leases(&format!("auth/{mount}/login/"));
    assert_eq!(token_leases.len(), 1, "one login: {token_leases:?}");
    let cert_leases = leases(&format!("{pki}/issue/web/"));
    assert_eq!(
        cert_leases.len(),
        1,
        "two fields, one read: {cert_leases:?}"
    );
    assert!(lease_lookup(&token_leases[0]).is_some(), "token lease");
    // Renewed at two thirds of 6 s, again and again: alive well past its first TTL.
    let renewed = wait_until(Duration::from_secs(15), || {
        lease_lookup(&token_leases[0]).is_some_and(|l| !l["last_renewal"].is_null())
    });
    if !renewed {
        let _ = warden.kill();
        let out = warden.wait_with_output().expect("output");
        panic!(
            "the login token was not renewed: {:?}; mcp-warden said: {}",
            lease_lookup(&token_leases[0]),
            stderr(&out)
        );
    }
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        lease_lookup(&token_leases[0]).is_some(),
        "the token must outlive its first 6 s TTL"
    );
    assert!(lease_lookup(&cert_leases[0]).is_some());

    kill(warden.id() as i32, "TERM");
    let exited = wait_until(Duration::from_secs(15), || {
        matches!(warden.try_wait(), Ok(Some(_)))
    });
    assert!(exited, "mcp-warden did not exit after SIGTERM");
    assert!(process_gone(child_pid));
    let out = warden.wait_with_output().expect("output");
    let err = stderr(&out);
    assert!(!err.contains(CANARY), "{err}");
    assert_eq!(err, "", "no problems to report");
    assert!(
        lease_lookup(&cert_leases[0]).is_none(),
        "certificate lease revoked"
    );
    assert!(
        lease_lookup(&token_leases[0]).is_none(),
        "login token revoked"
    );
    assert_eq!(
        std::fs::read_to_string(format!("{}.len", pidfile.display()))
            .map(|s| !s.starts_with("0:"))
            .ok(),
        Some(true)
    );
}

#[test]
fn with_exec_leases_are_left_to_their_ttl_and_that_is_said() {
    let home = Home::new();
    let pki = pki_with_leases();
    let r = format!("vault://{pki}/issue/web?arg.common_name=app.test.local");
    let o = root(&home)
        .args(["run", "--exec", &format!("C={r}#certificate"), "--", "true"])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("with --exec nothing renews or revokes the 1 lease(s)"),
        "{err}"
    );
    assert_eq!(leases(&format!("{pki}/issue/web/")).len(), 1);
}

#[test]
fn a_failed_run_revokes_what_it_obtained() {
    let home = Home::new();
    let pki = pki_with_leases();
    let r = format!("vault://{pki}/issue/web?arg.common_name=app.test.local");
    fails(
        print_vars(
            root(&home),
            &[&format!("C={r}#certificate"), "X=local://absent"],
        ),
        78,
        &["X: local://absent"],
    );
    assert_eq!(leases(&format!("{pki}/issue/web/")), Vec::<String>::new());
}

#[test]
fn a_signal_while_resolving_revokes_what_was_obtained() {
    let home = Home::new();
    let pki = pki_with_leases();
    // A second "Vault" that accepts connections and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let silent_addr = format!("http://{}", silent.local_addr().expect("addr"));
    let ran = home.path().join("ran");
    let mut c = home.std_cmd();
    strip_env(&mut c, &["VAULT_", "BAO_"]);
    c.env("VAULT_ADDR", addr())
        .env("VAULT_TOKEN", service_env("MCP_WARDEN_TEST_BAO_TOKEN"))
        .env("MCP_WARDEN_VAULT_ADDRS", &silent_addr)
        .env("HOME", home.path())
        .args([
            "run",
            "--timeout",
            "60s",
            &format!("C=vault://{pki}/issue/web?arg.common_name=a.test.local#certificate"),
            &format!("S=vault://secret/x?addr={silent_addr}#k"),
            "--",
            "touch",
        ])
        .arg(&ran)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut warden = c.spawn().expect("spawn");
    let prefix = format!("{pki}/issue/web/");
    assert!(
        wait_until(Duration::from_secs(20), || leases(&prefix).len() == 1),
        "the certificate was not issued"
    );
    let sent = std::time::Instant::now();
    kill(warden.id() as i32, "TERM");
    assert!(
        wait_until(Duration::from_secs(10), || matches!(
            warden.try_wait(),
            Ok(Some(_))
        )),
        "mcp-warden kept waiting for the silent server after SIGTERM"
    );
    assert!(sent.elapsed() < Duration::from_secs(10));
    let out = warden.wait_with_output().expect("output");
    assert_eq!(out.status.code(), Some(143), "{}", stderr(&out));
    assert!(!ran.exists(), "the server must not start");
    assert_eq!(
        leases(&prefix),
        Vec::<String>::new(),
        "the lease was revoked"
    );
    drop(silent);
}

#[test]
fn twenty_kv_secrets_in_one_run() {
    let home = Home::new();
    let m = kv_mount(2);
    let mut refs = Vec::new();
    for i in 0..20 {
        bao(&["kv", "put", &format!("{m}/s{i}"), &format!("v=value{i}")]);
        refs.push(format!("S{i}=vault://{m}/s{i}#v"));
    }
    let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
    let out = ok(print_vars(root(&home), &refs));
    let want: String = (0..20).map(|i| format!("value{i}|")).collect();
    assert_eq!(out, want);
}

#[test]
fn a_reference_cannot_send_the_vault_token_to_a_server_it_names() {
    let home = Home::new();
    // A listener standing in for a server an attacker controls: it must never be contacted.
    let trap = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    trap.set_nonblocking(true).unwrap();
    let trap_addr = format!("http://{}", trap.local_addr().unwrap());
    let mut c = home.cmd();
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("VAULT_") || k.starts_with("BAO_") || k.starts_with("MCP_WARDEN_VAULT") {
            c.env_remove(&k);
        }
    }
    c.env("VAULT_ADDR", addr())
        .env("VAULT_TOKEN", CANARY)
        .args([
            "run",
            "--exec",
            &format!("K=vault://secret/x?addr={trap_addr}#k"),
            "--",
            "true",
        ])
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("MCP_WARDEN_VAULT_ADDRS")
                .and(predicate::str::contains(CANARY).not()),
        );
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        trap.accept().is_err(),
        "mcp-warden connected to a server a reference named"
    );
}
