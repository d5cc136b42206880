//! The `azure-kv://` backend against the Azure Key Vault STAND-IN
//! (tests/standins/azure_kv.py: the documented Key Vault REST API with its
//! bearer challenge, the Entra ID token endpoint and the managed identity
//! endpoints, over TLS with a private CA made per test).
//!
//! Fidelity: Microsoft's official Python SDK (azure-keyvault-secrets +
//! azure-identity, tests/standins/sdk_azure.py) creates and versions secrets
//! through the stand-in, and mcp-warden reads them back (and the other way
//! round), so the stand-in speaks what Microsoft's own clients speak.

#![cfg(unix)]

mod common;
mod standins;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use common::{CANARY, Home, print_vars};
use serde_json::{Value, json};
use standins::{Canned, Pki, Silent, StandIn, clean_cloud_env, closed_port};

const TENANT: &str = "tenant-1";
/// The client secret: canary-marked, so a leak into any output shows.
fn app_secret() -> String {
    format!("{CANARY}-client-secret")
}

struct Az {
    home: Home,
    kv: StandIn,
    pki: Pki,
    cert: PathBuf,
}

impl Az {
    fn new(tweak: impl FnOnce(&mut Value)) -> Az {
        let home = Home::new();
        let work = home.path().join("work");
        let pki = Pki::new(&work);
        let (cert, cert_pem) = pki.client("cert-app");
        let mut cfg = json!({
            "tenant": TENANT,
            "clients": {
                "app-1": {"secret": app_secret(), "role": "officer"},
                "reader": {"secret": "reader-secret", "role": "user"},
                "nobody": {"secret": "nobody-secret", "role": "none"},
                "cert-app": {"cert": cert_pem, "role": "user"},
                "wl-app": {"federated_token": "federated-jwt-1", "role": "user"},
            },
            "managed": {"system": "user", "user_assigned": {"mi-client": "user"}},
            "identity_header": "hdr-1",
            "static_tokens": {"cli-token-1": ["cli:dev@example.com", "user"]},
        });
        tweak(&mut cfg);
        let kv = StandIn::start("azure_kv", &cfg, &pki, &work);
        Az {
            home,
            kv,
            pki,
            cert,
        }
    }

    /// mcp-warden with no ambient cloud settings: the stand-in as authority.
    fn bare_cmd(&self) -> Command {
        let mut c = self.home.cmd();
        clean_cloud_env(&mut c, &self.pki.ca(), self.home.path());
        c.env("AZURE_AUTHORITY_HOST", format!("{}/", self.kv.url()));
        c
    }

    /// With client-secret credentials of `app-1` (may set and delete).
    fn cmd(&self) -> Command {
        let mut c = self.bare_cmd();
        c.env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", "app-1")
            .env("AZURE_CLIENT_SECRET", app_secret());
        c
    }

    /// `azure-kv://127.0.0.1:PORT/NAME`
    fn r(&self, name: &str) -> String {
        format!("azure-kv://{}/{name}", self.kv.host())
    }

    fn sdk(&self, args: &[&str], stdin: &[u8]) -> String {
        let url = self.kv.url();
        let secret = app_secret();
        let mut a = vec![
            "--vault",
            &url,
            "--authority",
            &url,
            "--tenant",
            TENANT,
            "--client-id",
            "app-1",
            "--client-secret",
            &secret,
        ];
        a.extend_from_slice(args);
        String::from_utf8(self.kv.sdk("sdk_azure.py", &a, stdin)).expect("utf8")
    }
}

fn ok(o: std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "exit {:?}: {err}", o.status.code());
    assert!(!err.contains(CANARY), "a value leaked: {err}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: std::process::Output, code: i32, needles: &[&str]) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert!(o.stdout.is_empty(), "the child must not have run");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(!err.contains(CANARY), "a value leaked: {err}");
    err
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// --- reading what Microsoft's own SDK wrote ----------------------------------------

#[test]
fn sdk_written_versions_read_back_with_selectors() {
    let a = Az::new(|_| {});
    let v1 = a.sdk(&["set", "db"], format!("{CANARY}-v1").as_bytes());
    a.sdk(
        &["set", "db"],
        format!(r#"{{"password":"{CANARY}-v2"}}"#).as_bytes(),
    );
    let out = ok(print_vars(
        a.cmd(),
        &[
            &format!("P={}#password", a.r("db")),
            &format!("OLD={}?version={}", a.r("db"), v1.trim()),
        ],
    ));
    assert_eq!(out, format!("{CANARY}-v2|{CANARY}-v1|"));
}

#[test]
fn mcp_warden_writes_and_microsoft_sdk_reads() {
    let a = Az::new(|_| {});
    let set = |v: &str| {
        a.cmd()
            .args(["secret", "set", &a.r("new-one")])
            .write_stdin(v.to_string())
            .output()
            .expect("set")
    };
    assert!(String::from_utf8_lossy(&set(&format!("{CANARY}-a")).stderr).contains("created"));
    assert!(String::from_utf8_lossy(&set(&format!("{CANARY}-b")).stderr).contains("updated"));
    assert_eq!(a.sdk(&["get", "new-one"], b""), format!("{CANARY}-b"));
    let ls = ok(a
        .cmd()
        .args(["secret", "ls", &a.r("new")])
        .output()
        .expect("ls"));
    assert!(ls.contains("new-one") && !ls.contains(CANARY), "{ls}");
    let rm = a
        .cmd()
        .args(["secret", "rm", &a.r("new-one")])
        .output()
        .expect("rm");
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    assert_eq!(a.sdk(&["list"], b"").trim(), "");
    // Soft-deleted: the name stays taken until recovered or purged.
    let again = set("x");
    assert_eq!(again.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&again.stderr).contains("recover"));
}

#[test]
fn expired_not_yet_valid_and_disabled_secrets_name_the_reason() {
    let a = Az::new(|_| {});
    a.sdk(
        &["--exp", &(now() - 3600).to_string(), "set", "old"],
        CANARY.as_bytes(),
    );
    a.sdk(
        &["--nbf", &(now() + 86_400).to_string(), "set", "early"],
        CANARY.as_bytes(),
    );
    let v = a.sdk(&["set", "off"], CANARY.as_bytes());
    a.sdk(&["disable", "off", v.trim()], b"");
    fails(
        print_vars(a.cmd(), &[&format!("K={}", a.r("old"))]),
        78,
        &["K", "expired on"],
    );
    fails(
        print_vars(a.cmd(), &[&format!("K={}", a.r("early"))]),
        78,
        &["not valid before"],
    );
    fails(
        print_vars(a.cmd(), &[&format!("K={}", a.r("off"))]),
        78,
        &["disabled"],
    );
    fails(
        print_vars(a.cmd(), &[&format!("K={}", a.r("missing"))]),
        78,
        &["no secret missing"],
    );
}

#[test]
fn denied_is_77_and_names_the_client() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    let mut c = a.cmd();
    c.env("AZURE_CLIENT_ID", "nobody")
        .env("AZURE_CLIENT_SECRET", "nobody-secret");
    fails(
        print_vars(c, &[&format!("K={}", a.r("s"))]),
        77,
        &["client nobody", "Secrets User"],
    );
    let mut c = a.cmd();
    c.env("AZURE_CLIENT_ID", "reader")
        .env("AZURE_CLIENT_SECRET", "reader-secret");
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    let mut c = a.cmd();
    c.env("AZURE_CLIENT_ID", "reader")
        .env("AZURE_CLIENT_SECRET", "reader-secret");
    let o = c
        .args(["secret", "set", &a.r("s")])
        .write_stdin("x")
        .output()
        .expect("set");
    assert_eq!(
        o.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A wrong client secret: Entra's reason, never the secret.
    let mut c = a.cmd();
    c.env("AZURE_CLIENT_SECRET", format!("{CANARY}-wrong"));
    fails(
        print_vars(c, &[&format!("K={}", a.r("s"))]),
        77,
        &["AADSTS7000215"],
    );
}

// --- credential sources -----------------------------------------------------------------

#[test]
fn client_certificate_and_workload_identity() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    let mut c = a.bare_cmd();
    c.env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "cert-app")
        .env("AZURE_CLIENT_CERTIFICATE_PATH", &a.cert);
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    let token_file = a.home.path().join("work/federated");
    std::fs::write(&token_file, "federated-jwt-1\n").expect("token file");
    let mut c = a.bare_cmd();
    c.env("AZURE_TENANT_ID", TENANT)
        .env("AZURE_CLIENT_ID", "wl-app")
        .env("AZURE_FEDERATED_TOKEN_FILE", &token_file);
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    let how: Vec<String> =
        a.kv.log()
            .iter()
            .filter(|e| e["kind"] == "token")
            .map(|e| e["client_id"].as_str().unwrap_or("").to_string())
            .collect();
    assert!(
        how.contains(&"cert-app".to_string()) && how.contains(&"wl-app".to_string()),
        "{how:?}"
    );
}

#[test]
fn managed_identity_imds_and_app_service() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    let mut c = a.bare_cmd();
    c.env("AZURE_POD_IDENTITY_AUTHORITY_HOST", a.kv.plain_url());
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    let mut c = a.bare_cmd();
    c.env("AZURE_POD_IDENTITY_AUTHORITY_HOST", a.kv.plain_url())
        .env("AZURE_CLIENT_ID", "mi-client");
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    let mut c = a.bare_cmd();
    c.env(
        "IDENTITY_ENDPOINT",
        format!("{}/msi/token", a.kv.plain_url()),
    )
    .env("IDENTITY_HEADER", "hdr-1");
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    let kinds: Vec<Value> =
        a.kv.log()
            .into_iter()
            .filter(|e| e["kind"] == "managed")
            .collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    assert_eq!(kinds[1]["client_id"], "mi-client");
    assert_eq!(kinds[2]["via"], "appservice");
}

#[test]
fn azure_cli_is_the_last_resort_and_nothing_at_all_is_explained() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    // No credential anywhere: the chain says what it tried.
    let err = fails(
        print_vars(a.bare_cmd(), &[&format!("K={}", a.r("s"))]),
        78,
        &["no Azure credential found", "az login"],
    );
    assert!(err.contains("instance metadata"), "{err}");
    // A stand-in `az` on PATH (prints what `az account get-access-token` prints).
    let bin = a.home.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let az = bin.join("az");
    std::fs::write(&az, "#!/bin/sh\nprintf '{\"accessToken\":\"cli-token-1\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"tenant\":\"tenant-1\",\"tokenType\":\"Bearer\"}'\n").expect("az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = a.bare_cmd();
    c.env("PATH", &path).env("AZURE_TOKEN_CREDENTIALS", "dev");
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
}

#[test]
fn one_token_for_twenty_secrets_and_an_expired_token_refreshed_once() {
    let a = Az::new(|_| {});
    let mut refs = Vec::new();
    for i in 0..20 {
        a.sdk(
            &["set", &format!("s{i}")],
            format!("{CANARY}-{i}").as_bytes(),
        );
        refs.push(format!("K{i}={}", a.r(&format!("s{i}"))));
    }
    let tokens_before = a.kv.count("token");
    let r: Vec<&str> = refs.iter().map(String::as_str).collect();
    let want: String = (0..20).map(|i| format!("{CANARY}-{i}|")).collect();
    assert_eq!(ok(print_vars(a.cmd(), &r)), want);
    assert_eq!(
        a.kv.count("token") - tokens_before,
        1,
        "one token for the run"
    );
    a.kv.expire_next_token();
    assert_eq!(ok(print_vars(a.cmd(), &r[..1])), format!("{CANARY}-0|"));
    assert_eq!(
        a.kv.count("token") - tokens_before,
        3,
        "the refused token and one fresh one"
    );
}

// --- the network misbehaving -------------------------------------------------------------

#[test]
fn token_endpoint_down_is_69() {
    let a = Az::new(|_| {});
    let mut c = a.cmd();
    c.env(
        "AZURE_AUTHORITY_HOST",
        format!("https://127.0.0.1:{}/", closed_port()),
    );
    fails(print_vars(c, &[&format!("K={}", a.r("s"))]), 69, &["Entra"]);
}

#[test]
fn a_silent_vault_is_69_within_the_timeout() {
    let a = Az::new(|_| {});
    let silent = Silent::new();
    let start = Instant::now();
    let o = a
        .cmd()
        .args([
            "run",
            "--exec",
            "--timeout",
            "1s",
            &format!("K=azure-kv://127.0.0.1:{}/s", silent.port),
            "--",
            "true",
        ])
        .output()
        .expect("run");
    let took = start.elapsed();
    fails(o, 69, &["did not answer in time"]);
    assert!(took < Duration::from_secs(4), "took {took:?}");
}

#[test]
fn throttling_is_retried_and_tls_needs_the_private_ca() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    a.kv.fail_next(2, 503, Some(0));
    assert_eq!(
        ok(print_vars(a.cmd(), &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    a.kv.fail_next(3, 429, None);
    fails(
        print_vars(a.cmd(), &[&format!("K={}", a.r("s"))]),
        69,
        &["HTTP 429"],
    );
    let mut c = a.cmd();
    c.env_remove("SSL_CERT_FILE");
    fails(
        print_vars(c, &[&format!("K={}", a.r("s"))]),
        69,
        &["certificate"],
    );
}

#[test]
fn azure_settings_never_reach_the_child() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    let mut c = a.cmd();
    c.env("IDENTITY_HEADER", "x").env("MSI_SECRET", "y");
    let out = ok(c
        .args(["run", "--exec", &format!("K={}", a.r("s")), "--", "env"])
        .output()
        .expect("run"));
    for var in ["AZURE_", "IDENTITY_", "MSI_"] {
        assert!(!out.contains(var), "{var} reached the child");
    }
    assert!(!out.contains("client-secret"));
    assert!(out.contains(&format!("K={CANARY}")));
}

#[test]
fn references_are_checked_before_any_request() {
    let a = Az::new(|_| {});
    fails(
        print_vars(a.cmd(), &["K=azure-kv://my-vault/bad_name"]),
        78,
        &["secret name"],
    );
    fails(
        print_vars(a.cmd(), &["K=azure-kv://v/x"]),
        78,
        &["Key Vault name"],
    );
    fails(
        print_vars(a.cmd(), &["K=azure-kv://my-vault/x?region=y"]),
        78,
        &["region"],
    );
    assert_eq!(a.kv.count("api"), 0);
}

#[test]
fn a_local_vault_cannot_ask_for_another_services_token() {
    // The vault's challenge asks for Azure Resource Manager instead of Key Vault.
    let a = Az::new(|c| c["challenge_resource"] = json!("https://management.azure.com"));
    fails(
        print_vars(a.cmd(), &[&format!("K={}", a.r("s"))]),
        77,
        &["management.azure.com", "refusing"],
    );
    let asked: Vec<Value> =
        a.kv.log()
            .into_iter()
            .filter(|e| e["kind"] == "token")
            .collect();
    assert!(
        asked
            .iter()
            .all(|e| e["scope"] == "https://vault.azure.net/.default"),
        "a token for another audience was requested: {asked:?}"
    );
}

// --- the mcp-secret-wrapper invocation ------------------------------------------------

#[test]
fn mcp_secret_wrapper_azure_flags_and_environment() {
    let a = Az::new(|_| {});
    let v1 = a.sdk(&["set", "db"], format!("{CANARY}-1").as_bytes());
    a.sdk(
        &["set", "db"],
        format!(r#"{{"pw":"{CANARY}-2"}}"#).as_bytes(),
    );
    let mut c = a.bare_cmd();
    c.env("AZURE_CLIENT_SECRET", app_secret())
        .args(["run", "--exec", "--vault-type=azure"])
        .arg(format!("--vault-vaultUrl={}/", a.kv.url()))
        .args(["--vault-tenantId=tenant-1", "--vault-clientId=app-1"])
        .arg("NEW=db#pw")
        .arg(format!("OLD=db/{}", v1.trim()))
        .args(["--", "sh", "-c", "printf '%s|' \"$NEW\" \"$OLD\""]);
    assert_eq!(
        ok(c.output().expect("run")),
        format!("{CANARY}-2|{CANARY}-1|")
    );
    let mut c = a.bare_cmd();
    c.env("AZURE_CLIENT_SECRET", app_secret())
        .env("VAULT_TYPE", "azure")
        .env("AZURE_KEYVAULT_URL", a.kv.url())
        .env("VAULT_TENANTID", TENANT)
        .env("VAULT_CLIENTID", "app-1");
    assert_eq!(ok(print_vars(c, &["NEW=db#pw"])), format!("{CANARY}-2|"));
    let o = a
        .cmd()
        .args(["run", "--vault-type=azure", "--vault-vaultName=kv1"])
        .arg(format!("--vault-clientSecret={CANARY}"))
        .args(["A=x", "--", "true"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(64), "{err}");
    assert!(
        err.contains("AZURE_CLIENT_SECRET") && !err.contains(CANARY),
        "{err}"
    );
}

// --- inventory and doctor ------------------------------------------------------------

#[test]
fn inventory_ages_and_doctor_checks_never_show_values() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "db"], CANARY.as_bytes());
    a.sdk(
        &["--exp", &(now() - 60).to_string(), "set", "old"],
        CANARY.as_bytes(),
    );
    let user = a.home.path().join("user");
    let desktop = user.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(desktop.parent().expect("dir")).expect("dir");
    let cfg = json!({"mcpServers": {"db": {
        "command": "mcp-warden",
        "args": ["run", format!("DB={}", a.r("db")), format!("OLD={}", a.r("old")), "--", "srv"],
    }}});
    std::fs::write(&desktop, cfg.to_string()).expect("config");
    let inv = a
        .cmd()
        .args(["inventory", "--format", "json", "--no-system", "--home"])
        .arg(&user)
        .output()
        .expect("inventory");
    let text = String::from_utf8_lossy(&inv.stdout).into_owned();
    assert!(!text.contains(CANARY) && !String::from_utf8_lossy(&inv.stderr).contains(CANARY));
    let v: Value = serde_json::from_str(&text).expect("inventory json");
    let secrets = v.to_string();
    assert!(secrets.contains("\"age_days\":0"), "{secrets}");
    assert!(
        secrets.contains("expired on"),
        "the expired secret is reported: {secrets}"
    );
    let doc = a
        .cmd()
        .args(["doctor", "--no-system", "--home"])
        .arg(&user)
        .output()
        .expect("doctor");
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&doc.stdout),
        String::from_utf8_lossy(&doc.stderr)
    );
    assert!(!out.contains(CANARY), "{out}");
    assert!(
        out.contains("backend azure-kv") && out.contains("1/2"),
        "{out}"
    );
    assert!(out.contains("expired on"), "{out}");
}

#[test]
fn mcp_secret_wrapper_client_secret_comes_from_a_stored_reference() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    a.home.set("az-secret", app_secret().as_bytes());
    let mut c = a.bare_cmd();
    c.args(["run", "--exec", "--vault-type=azure"])
        .arg(format!("--vault-vaultUrl={}", a.kv.url()))
        .args(["--vault-tenantId=tenant-1", "--vault-clientId=app-1"])
        .arg("--vault-clientSecretRef=local://az-secret")
        .args(["K=s", "--", "sh", "-c", "printf %s \"$K\""]);
    assert_eq!(ok(c.output().expect("run")), CANARY);
}

#[test]
fn convert_wrappers_moves_the_client_secret_into_a_backend() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    let user = a.home.path().join("user");
    let desktop = user.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(desktop.parent().expect("dir")).expect("dir");
    let cfg = json!({"mcpServers": {"kv": {
        "command": "npx",
        "args": ["-y", "@astrixsecurity/mcp-secret-wrapper", "--vault-type=azure",
                 format!("--vault-vaultUrl={}", a.kv.url()), "--vault-tenantId=tenant-1",
                 "--vault-clientId=app-1", format!("--vault-clientSecret={}", app_secret()),
                 "K=s", "--", "sh", "-c", "printf %s \"$K\""],
    }}});
    std::fs::write(&desktop, cfg.to_string()).expect("config");
    let bin = common::bin_path();
    let out = a
        .home
        .cmd()
        .args([
            "protect",
            "--apply",
            "--convert-wrappers",
            "--to",
            "local://",
            "--warden",
        ])
        .arg(&bin)
        .arg("--home")
        .arg(&user)
        .output()
        .expect("protect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains(CANARY) && !String::from_utf8_lossy(&out.stdout).contains(CANARY),
        "{err}"
    );
    let text = std::fs::read_to_string(&desktop).expect("read");
    assert!(
        !text.contains(CANARY),
        "the secret stayed in the config: {text}"
    );
    let entry: Value = serde_json::from_str(&text).expect("json");
    let entry = &entry["mcpServers"]["kv"];
    let args: Vec<String> = entry["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    assert!(
        args.iter()
            .any(|a| a.starts_with("--vault-clientSecretRef=local://")),
        "{args:?}"
    );
    // The converted entry runs as the client would start it: the server got
    // the value, which the proxy replaced on its way out.
    let mut c = a.bare_cmd();
    c.args(&args);
    assert_eq!(ok(c.output().expect("run")), "[REDACTED:K]");
}

// --- review fixes: where the chain looks and what it accepts ---------------------------

/// A stand-in `az` in `dir` that runs `script` (sh); returns `dir`.
fn fake_az(dir: &std::path::Path, script: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("bin");
    let az = dir.join("az");
    std::fs::write(&az, format!("#!/bin/sh\n{script}\n")).expect("az");
    std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir.to_path_buf()
}

const AZ_TOKEN: &str = "printf '{\"accessToken\":\"cli-token-1\",\"expiresOn\":\"2099-01-01 00:00:00.000000\",\"tenant\":\"tenant-1\",\"tokenType\":\"Bearer\"}'";

fn system_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

#[test]
fn az_in_a_relative_path_entry_is_never_run() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    fake_az(&a.home.path().join("bin"), AZ_TOKEN);
    let mut c = a.bare_cmd();
    c.current_dir(a.home.path())
        .env("PATH", format!("bin::{}", system_path()))
        .env("AZURE_TOKEN_CREDENTIALS", "dev");
    fails(
        print_vars(c, &[&format!("K={}", a.r("s"))]),
        78,
        &["`az` is not on PATH"],
    );
}

#[test]
fn another_clouds_metadata_service_lets_the_chain_reach_the_cli() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    // What AWS's or Google's metadata service answers at Azure's path.
    let other = Canned::new(
        "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 22",
        b"<html>Not Found</html>".to_vec(),
    );
    let bin = fake_az(&a.home.path().join("bin"), AZ_TOKEN);
    let mut c = a.bare_cmd();
    c.env("AZURE_POD_IDENTITY_AUTHORITY_HOST", other.url())
        .env("PATH", format!("{}:{}", bin.display(), system_path()));
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
    assert!(other.hits() >= 1, "the metadata service was not asked");
}

#[test]
fn loopback_managed_identity_never_goes_through_a_proxy() {
    let a = Az::new(|_| {});
    a.sdk(&["set", "s"], CANARY.as_bytes());
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let mut c = a.bare_cmd();
    c.env(
        "IDENTITY_ENDPOINT",
        format!("{}/msi/token", a.kv.plain_url()),
    )
    .env("IDENTITY_HEADER", "hdr-1");
    for k in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        c.env(k, &proxy);
    }
    c.env_remove("NO_PROXY").env_remove("no_proxy");
    assert_eq!(
        ok(print_vars(c, &[&format!("K={}", a.r("s"))])),
        format!("{CANARY}|")
    );
}

#[test]
fn az_printing_far_more_than_a_token_is_refused() {
    let a = Az::new(|_| {});
    let bin = fake_az(
        &a.home.path().join("bin"),
        "head -c 3000000 /dev/zero | tr '\\000' a",
    );
    let mut c = a.bare_cmd();
    c.env("PATH", format!("{}:{}", bin.display(), system_path()))
        .env("AZURE_TOKEN_CREDENTIALS", "dev");
    fails(
        print_vars(c, &[&format!("K={}", a.r("s"))]),
        65,
        &["Azure CLI printed far more"],
    );
}
