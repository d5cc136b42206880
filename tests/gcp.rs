//! The `gcp-sm://` backend against the GCP Secret Manager STAND-IN
//! (tests/standins/gcp_sm.py: the documented REST API and Google's token
//! endpoints, over TLS with a private CA made per test).
//!
//! Fidelity: Google's official Python client (google-cloud-secret-manager +
//! google-auth, tests/standins/sdk_gcp.py) creates and versions secrets
//! through the stand-in, and mcp-warden reads them back (and the other way
//! round), so the stand-in speaks what Google's own clients speak.

#![cfg(unix)]

mod common;
mod standins;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::{CANARY, Home, print_vars};
use serde_json::{Value, json};
use standins::{Canned, Pki, Silent, StandIn, clean_cloud_env, closed_port, service_account_file};

const SA: &str = "reader@proj-1.iam.gserviceaccount.com";
const PROJECT: &str = "proj-1";

struct Gcp {
    home: Home,
    sm: StandIn,
    /// A service account key whose token_uri is the stand-in's.
    key_file: PathBuf,
    pki: Pki,
}

impl Gcp {
    /// A stand-in knowing service account [`SA`]; `tweak` edits its config.
    fn new(tweak: impl FnOnce(&mut Value)) -> Gcp {
        let home = Home::new();
        let pki = Pki::new(&home.path().join("work"));
        let (key, public) = pki.rsa("sa");
        let mut cfg = json!({
            "service_accounts": {SA: {"public_key": public}},
            "metadata": {"email": "vm@proj-1.iam.gserviceaccount.com"},
        });
        tweak(&mut cfg);
        let sm = StandIn::start("gcp_sm", &cfg, &pki, &home.path().join("work"));
        let key_file = home.path().join("work/sa.json");
        let pem = std::fs::read_to_string(&key).expect("key");
        service_account_file(&key_file, SA, PROJECT, &pem, &format!("{}/token", sm.url()));
        Gcp {
            home,
            sm,
            key_file,
            pki,
        }
    }

    /// mcp-warden with no ambient cloud settings, the stand-in as endpoint,
    /// and ADC = the service account key.
    fn cmd(&self) -> Command {
        let mut c = self.bare_cmd();
        c.env("GOOGLE_APPLICATION_CREDENTIALS", &self.key_file);
        c
    }

    /// Like `cmd` but without any credentials.
    fn bare_cmd(&self) -> Command {
        let mut c = self.home.cmd();
        clean_cloud_env(&mut c, &self.pki.ca(), self.home.path());
        c.env(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
            format!("{}/", self.sm.url()),
        );
        c
    }

    fn sdk_args(&self) -> Vec<String> {
        vec![
            "--endpoint".into(),
            self.sm.url(),
            "--key-file".into(),
            self.key_file.to_string_lossy().into_owned(),
        ]
    }

    /// The official SDK adds a version (creating the secret); returns its number.
    fn sdk_put(&self, secret: &str, value: &[u8]) -> String {
        let mut args = self.sdk_args();
        args.extend(["put".into(), PROJECT.into(), secret.into()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        String::from_utf8(self.sm.sdk("sdk_gcp.py", &a, value))
            .expect("utf8")
            .trim()
            .to_string()
    }

    fn sdk(&self, cmd: &[&str]) -> Vec<u8> {
        let mut args = self.sdk_args();
        args.extend(cmd.iter().map(|s| s.to_string()));
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        self.sm.sdk("sdk_gcp.py", &a, b"")
    }

    /// A credentials file in the work dir.
    fn write_json(&self, name: &str, v: &Value) -> PathBuf {
        let p = self.home.path().join("work").join(name);
        std::fs::write(&p, v.to_string()).expect("write");
        p
    }
}

fn ok(o: std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "exit {:?}: {err}", o.status.code());
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A one-line failure with exit `code`, the child not started, no value shown.
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

// --- reading what Google's own client wrote --------------------------------------

#[test]
fn sdk_written_versions_read_back_with_selectors_and_resource_names() {
    let g = Gcp::new(|_| {});
    let v1 = g.sdk_put("api-key", format!("{CANARY}-v1").as_bytes());
    let v2 = g.sdk_put(
        "api-key",
        format!(r#"{{"token":"{CANARY}-v2","n":7}}"#).as_bytes(),
    );
    assert_eq!((v1.as_str(), v2.as_str()), ("1", "2"));
    let out = ok(print_vars(
        g.cmd(),
        &[
            "A=gcp-sm://proj-1/api-key#token",
            "B=gcp-sm://proj-1/api-key?version=1",
            "C=projects/proj-1/secrets/api-key/versions/1",
            "D=projects/proj-1/secrets/api-key#/n",
            "E=gcp-sm://projects/proj-1/secrets/api-key?version=latest#token",
        ],
    ));
    assert_eq!(
        out,
        format!("{CANARY}-v2|{CANARY}-v1|{CANARY}-v1|7|{CANARY}-v2|")
    );
    // The same version named twice is fetched once.
    let access =
        g.sm.log()
            .iter()
            .filter(|e| e["kind"] == "api" && e["path"].as_str().unwrap_or("").ends_with(":access"))
            .count();
    assert_eq!(access, 2, "{:?}", g.sm.log());
}

#[test]
fn mcp_warden_writes_and_google_client_reads() {
    let g = Gcp::new(|_| {});
    let set = |v: &str| {
        g.cmd()
            .args(["secret", "set", "gcp-sm://proj-1/new-secret"])
            .write_stdin(v.to_string())
            .output()
            .expect("set")
    };
    let first = set(&format!("{CANARY}-a"));
    assert!(first.status.success());
    assert!(String::from_utf8_lossy(&first.stderr).contains("created"));
    let second = set(&format!("{CANARY}-b"));
    assert!(String::from_utf8_lossy(&second.stderr).contains("updated"));
    assert_eq!(
        g.sdk(&["get", PROJECT, "new-secret"]),
        format!("{CANARY}-b").as_bytes()
    );
    assert_eq!(
        g.sdk(&["get", PROJECT, "new-secret", "1"]),
        format!("{CANARY}-a").as_bytes()
    );
    // Listing and metadata show names and times, never values.
    let ls = ok(g
        .cmd()
        .args(["secret", "ls", "gcp-sm://proj-1/new"])
        .output()
        .expect("ls"));
    assert!(ls.contains("proj-1/new-secret"), "{ls}");
    assert!(!ls.contains(CANARY));
    let rm = g
        .cmd()
        .args(["secret", "rm", "gcp-sm://proj-1/new-secret"])
        .output()
        .expect("rm");
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&g.sdk(&["list", PROJECT])).trim(),
        ""
    );
}

// --- bad data and missing things ----------------------------------------------

#[test]
fn binary_payload_is_65_and_names_the_variable() {
    let g = Gcp::new(|_| {});
    g.sdk_put("bin", &[0xff, 0xfe, 0x00, 0x01]);
    fails(
        print_vars(g.cmd(), &["BLOB=gcp-sm://proj-1/bin"]),
        65,
        &["BLOB", "gcp-sm://proj-1/bin", "not UTF-8"],
    );
}

#[test]
fn missing_secret_version_and_disabled_version_are_78() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/nope"]),
        78,
        &["K", "projects/proj-1/secrets/nope"],
    );
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/s?version=9"]),
        78,
        &["versions/9"],
    );
    g.sdk(&["disable", PROJECT, "s", "1"]);
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/s?version=1"]),
        78,
        &["DISABLED"],
    );
}

#[test]
fn denied_is_77_and_names_the_service_account() {
    let g = Gcp::new(|c| c["denied"] = json!([SA]));
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/s"]),
        77,
        &[SA, "secretmanager.versions.access"],
    );
}

#[test]
fn references_are_checked_before_any_request() {
    let g = Gcp::new(|_| {});
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/a.b"]),
        78,
        &["secret id"],
    );
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/s?colour=red"]),
        78,
        &["colour"],
    );
    // A config file cannot send the caller's Google token to a host of its choosing.
    fails(
        print_vars(
            g.cmd(),
            &["K=gcp-sm://proj-1/s?endpoint=https://collector.example/"],
        ),
        78,
        &["googleapis.com"],
    );
    assert_eq!(g.sm.count("api"), 0);
}

// --- credential sources -----------------------------------------------------------

#[test]
fn service_account_key_signs_its_own_jwt() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    assert_eq!(
        ok(print_vars(g.cmd(), &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
    assert!(g.sm.count("self-signed-jwt") >= 1, "{:?}", g.sm.log());
}

#[test]
fn authorized_user_refresh_token_and_gcloud_adc_file() {
    let g = Gcp::new(|c| {
        c["users"] = json!({"refresh-1": {"client_id": "cid", "client_secret": "csecret", "account": "dev@example.com"}});
    });
    g.sdk_put("s", CANARY.as_bytes());
    let user = json!({
        "type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
        "refresh_token": "refresh-1", "token_uri": format!("{}/token", g.sm.url()),
    });
    // The gcloud ADC file, found through CLOUDSDK_CONFIG.
    let cfg_dir = g.home.path().join("gcloud");
    std::fs::create_dir_all(&cfg_dir).expect("dir");
    std::fs::write(
        cfg_dir.join("application_default_credentials.json"),
        user.to_string(),
    )
    .expect("adc");
    let mut c = g.bare_cmd();
    c.env("CLOUDSDK_CONFIG", &cfg_dir);
    assert_eq!(
        ok(print_vars(c, &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
    let tokens: Vec<Value> =
        g.sm.log()
            .into_iter()
            .filter(|e| e["kind"] == "token" && e["grant"] == "refresh_token")
            .collect();
    assert_eq!(tokens.len(), 1);
}

#[test]
fn metadata_server_one_token_for_twenty_secrets() {
    let g = Gcp::new(|_| {});
    let mut refs = Vec::new();
    for i in 0..20 {
        g.sdk_put(&format!("s{i}"), format!("{CANARY}-{i}").as_bytes());
        refs.push(format!("K{i}=gcp-sm://proj-1/s{i}"));
    }
    let mut c = g.bare_cmd();
    c.env(
        "GCE_METADATA_HOST",
        format!("127.0.0.1:{}", g.sm.plain_port),
    );
    let a: Vec<&str> = refs.iter().map(String::as_str).collect();
    let out = ok(print_vars(c, &a));
    let want: String = (0..20).map(|i| format!("{CANARY}-{i}|")).collect();
    assert_eq!(out, want);
    let log = g.sm.log();
    let mds_tokens = log
        .iter()
        .filter(|e| e["kind"] == "metadata" && e["path"].as_str().unwrap_or("").ends_with("/token"))
        .count();
    assert_eq!(mds_tokens, 1, "one token for the run: {log:?}");
}

#[test]
fn impersonation_and_workload_identity_federation() {
    let g = Gcp::new(|c| {
        c["users"] = json!({"refresh-1": {"client_id": "cid", "client_secret": "cs", "account": "dev@example.com"}});
        c["impersonation"] = json!({SA: ["dev@example.com", "principal://federated"]});
        c["external"] = json!({"audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x", "subject_token": "subject-jwt-1", "identity": "principal://federated"});
    });
    g.sdk_put("s", CANARY.as_bytes());
    let imp_url = format!(
        "{}/v1/projects/-/serviceAccounts/{SA}:generateAccessToken",
        g.sm.url()
    );
    let imp = g.write_json("imp.json", &json!({
        "type": "impersonated_service_account",
        "service_account_impersonation_url": imp_url,
        "source_credentials": {"type": "authorized_user", "client_id": "cid", "client_secret": "cs",
            "refresh_token": "refresh-1", "token_uri": format!("{}/token", g.sm.url())},
    }));
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &imp);
    assert_eq!(
        ok(print_vars(c, &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );

    let subject = g.home.path().join("work/subject-token");
    std::fs::write(&subject, "subject-jwt-1").expect("subject");
    let ext = g.write_json("ext.json", &json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/v1/token", g.sm.url()),
        "service_account_impersonation_url": imp_url,
        "credential_source": {"file": subject},
    }));
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &ext);
    assert_eq!(
        ok(print_vars(c, &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
    assert_eq!(g.sm.count("sts"), 1);
    assert_eq!(g.sm.count("impersonate"), 2);
}

#[test]
fn an_expired_token_is_refreshed_once() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    g.sm.expire_next_token();
    let mut c = g.bare_cmd();
    c.env(
        "GCE_METADATA_HOST",
        format!("127.0.0.1:{}", g.sm.plain_port),
    );
    assert_eq!(
        ok(print_vars(c, &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
    let tokens = g
        .sm
        .log()
        .iter()
        .filter(|e| e["kind"] == "metadata" && e["path"].as_str().unwrap_or("").ends_with("/token"))
        .count();
    assert_eq!(tokens, 2, "one refused token, one fresh one");
}

// --- the network misbehaving ---------------------------------------------------------

#[test]
fn token_endpoint_down_is_69() {
    let g = Gcp::new(|_| {});
    let user = g.write_json(
        "user.json",
        &json!({
            "type": "authorized_user", "client_id": "cid", "client_secret": "cs",
            "refresh_token": "r", "token_uri": format!("https://127.0.0.1:{}/token", closed_port()),
        }),
    );
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &user);
    fails(
        print_vars(c, &["K=gcp-sm://proj-1/s"]),
        69,
        &["your gcloud user account"],
    );
}

#[test]
fn a_silent_endpoint_is_69_within_the_timeout() {
    let g = Gcp::new(|_| {});
    let silent = Silent::new();
    let mut c = g.cmd();
    c.env(
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
        format!("https://127.0.0.1:{}/", silent.port),
    );
    let start = Instant::now();
    let o = c
        .args([
            "run",
            "--exec",
            "--timeout",
            "1s",
            "K=gcp-sm://proj-1/s",
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
fn throttling_and_server_errors_are_retried_then_reported() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    g.sm.fail_next(2, 503, None);
    assert_eq!(
        ok(print_vars(g.cmd(), &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
    g.sm.fail_next(1, 429, Some(0));
    assert_eq!(
        ok(print_vars(g.cmd(), &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
    g.sm.fail_next(3, 500, None);
    fails(
        print_vars(g.cmd(), &["K=gcp-sm://proj-1/s"]),
        69,
        &["HTTP 500"],
    );
}

#[test]
fn tls_needs_the_private_ca() {
    let g = Gcp::new(|_| {});
    let mut c = g.cmd();
    c.env_remove("SSL_CERT_FILE");
    fails(
        print_vars(c, &["K=gcp-sm://proj-1/s"]),
        69,
        &["certificate", "SSL_CERT_FILE"],
    );
}

// --- hygiene -------------------------------------------------------------------------

#[test]
fn google_settings_never_reach_the_child() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    let mut c = g.cmd();
    c.env("CLOUDSDK_CORE_PROJECT", "proj-1")
        .env("GOOGLE_CLOUD_PROJECT", "proj-1");
    let out = ok(c
        .args(["run", "--exec", "K=gcp-sm://proj-1/s", "--", "env"])
        .output()
        .expect("run"));
    for var in [
        "GOOGLE_APPLICATION_CREDENTIALS",
        "CLOUDSDK_",
        "GOOGLE_CLOUD_PROJECT",
        "GCE_METADATA_HOST",
    ] {
        assert!(!out.contains(var), "{var} reached the child");
    }
    assert!(out.contains(&format!("K={CANARY}")));
}

#[test]
fn the_key_file_is_never_quoted() {
    let g = Gcp::new(|_| {});
    let broken = g.home.path().join("work/broken.json");
    std::fs::write(
        &broken,
        format!("{{\"type\": \"service_account\", \"private_key\": \"{CANARY}"),
    )
    .expect("w");
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &broken);
    fails(print_vars(c, &["K=gcp-sm://proj-1/s"]), 78, &[]);
}

// --- the mcp-secret-wrapper invocation ------------------------------------------------

#[test]
fn mcp_secret_wrapper_gcp_flags_and_environment() {
    let g = Gcp::new(|_| {});
    g.sdk_put("api-key", format!(r#"{{"token":"{CANARY}"}}"#).as_bytes());
    let key = g.key_file.to_string_lossy().into_owned();
    // Its flags, camelCase as its README writes them; our lower-cased names too.
    let mut c = g.bare_cmd();
    c.args([
        "run",
        "--exec",
        "--vault-type=gcp",
        "--vault-projectId=proj-1",
    ])
    .arg(format!("--vault-keyfilename={key}"))
    .args([
        "A=api-key#token",
        "B=projects/proj-1/secrets/api-key/versions/latest#token",
    ])
    .args(["--", "sh", "-c", "printf '%s|' \"$A\" \"$B\""]);
    assert_eq!(ok(c.output().expect("run")), format!("{CANARY}|{CANARY}|"));
    // Its environment forms.
    let mut c = g.bare_cmd();
    c.env("VAULT_TYPE", "gcp")
        .env("VAULT_PROJECTID", "proj-1")
        .env("VAULT_KEYFILENAME", &key);
    assert_eq!(
        ok(print_vars(c, &["A=api-key#token"])),
        format!("{CANARY}|")
    );
    // Without a project a bare id cannot be placed.
    let mut c = g.bare_cmd();
    c.args(["run", "--vault-type=gcp", "A=api-key", "--", "true"]);
    let o = c.output().expect("run");
    assert_eq!(o.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--vault-projectId"));
}

#[test]
fn mcp_secret_wrapper_inline_credentials_are_refused_without_echo() {
    let g = Gcp::new(|_| {});
    for arg in [
        format!("--vault-credentials={{\"private_key\":\"{CANARY}\"}}"),
        format!("--vault-clientSecret={CANARY}"),
        format!("--vault-secretAccessKey={CANARY}"),
    ] {
        let o = g
            .cmd()
            .args(["run", "--vault-type=gcp", &arg, "A=x", "--", "true"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(64), "{err}");
        assert!(!err.contains(CANARY) && err.contains("credential"), "{err}");
    }
    let o = g
        .cmd()
        .env("VAULT_TYPE", "gcp")
        .env("VAULT_CREDENTIALS", CANARY)
        .args(["run", "A=x", "--", "true"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(64));
    assert!(!String::from_utf8_lossy(&o.stderr).contains(CANARY));
}

// --- protect ------------------------------------------------------------------------------

#[test]
fn protect_moves_a_plaintext_token_into_secret_manager() {
    let g = Gcp::new(|_| {});
    let user = g.home.path().join("user");
    let desktop = user.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(desktop.parent().expect("dir")).expect("dir");
    let token = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
    let cfg = json!({"mcpServers": {"github": {
        "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": token}
    }}});
    std::fs::write(&desktop, cfg.to_string()).expect("config");
    let out = g
        .cmd()
        .args([
            "protect",
            "--apply",
            "--to",
            "gcp-sm://proj-1/mcp/",
            "--home",
        ])
        .arg(&user)
        .output()
        .expect("protect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains(token) && !String::from_utf8_lossy(&out.stdout).contains(token));
    let text = std::fs::read_to_string(&desktop).expect("read");
    assert!(!text.contains(token), "{text}");
    let rewritten: Value = serde_json::from_str(&text).expect("json");
    let args: Vec<String> = rewritten["mcpServers"]["github"]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    let reference = args
        .iter()
        .find_map(|a| a.strip_prefix("GITHUB_PERSONAL_ACCESS_TOKEN="))
        .expect("the entry names a reference")
        .to_string();
    assert!(
        reference.starts_with("gcp-sm://proj-1/mcp_s"),
        "{reference}"
    );
    // Google's client finds the value under the mapped secret id.
    let id = reference.trim_start_matches("gcp-sm://proj-1/");
    assert_eq!(g.sdk(&["get", PROJECT, id]), token.as_bytes());
}

#[test]
fn mcp_secret_wrapper_credentials_come_from_a_stored_reference() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    g.home
        .set("gcp-key", &std::fs::read(&g.key_file).expect("key"));
    let mut c = g.bare_cmd();
    c.args([
        "run",
        "--exec",
        "--vault-type=gcp",
        "--vault-projectId=proj-1",
    ])
    .arg("--vault-credentialsRef=local://gcp-key")
    .args(["K=s", "--", "sh", "-c", "printf %s \"$K\""]);
    assert_eq!(ok(c.output().expect("run")), CANARY);
    // A credential cannot come from the backend it unlocks.
    let mut c = g.bare_cmd();
    c.args(["run", "--vault-type=gcp", "--vault-projectId=proj-1"])
        .arg("--vault-credentialsRef=gcp-sm://proj-1/key")
        .args(["K=s", "--", "true"]);
    let o = c.output().expect("run");
    assert_eq!(
        o.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

// --- review fixes: what a credentials file, a reference or an answer may do -----------

/// `run` (audited) and everything it left behind: (exit, stderr, stdout, audit log).
fn run_audited(mut c: Command, assignment: &str, home: &Home) -> (Option<i32>, String, String) {
    let o = c
        .args(["run", "--timeout", "8s", assignment, "--", "true"])
        .output()
        .expect("run");
    let audit = std::fs::read_to_string(home.path().join("audit/audit.jsonl")).unwrap_or_default();
    assert!(
        !audit.contains(CANARY),
        "the audit log holds a canary: {audit}"
    );
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

#[test]
fn google_auth_errors_never_show_answer_bodies_or_subject_tokens() {
    let g = Gcp::new(|_| {});
    let audience =
        "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/x";
    // A token endpoint whose error body carries a canary.
    let body = format!(r#"{{"error":"invalid_grant","error_description":"{CANARY}-sts-body"}}"#);
    let sts = Canned::new(
        &format!(
            "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {}",
            body.len()
        ),
        body.into_bytes(),
    );
    let subject = g.home.path().join("work/subject-plain");
    std::fs::write(&subject, "subject-jwt-1").expect("subject");
    let ext = g.write_json(
        "ext-canned.json",
        &json!({
            "type": "external_account", "audience": audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": format!("{}/v1/token", sts.url()),
            "credential_source": {"file": subject},
        }),
    );
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &ext);
    let (code, err, out) = run_audited(c, "K=gcp-sm://proj-1/s", &g.home);
    assert!(sts.hits() >= 1, "the token endpoint was not asked");
    assert_eq!(code, Some(77), "{err}");
    assert!(!err.contains(CANARY) && !out.contains(CANARY), "{err}");
    assert!(
        err.contains("HTTP 400") && err.contains("credential_source"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A subject-token file holding a token under another field name.
    let subject = g.home.path().join("work/subject.json");
    std::fs::write(&subject, format!(r#"{{"tok":"{CANARY}-subject"}}"#)).expect("subject");
    let ext = g.write_json(
        "ext-field.json",
        &json!({
            "type": "external_account", "audience": audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": format!("{}/v1/token", g.sm.url()),
            "credential_source": {"file": subject,
                "format": {"type": "json", "subject_token_field_name": "access_token"}},
        }),
    );
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &ext);
    let (code, err, out) = run_audited(c, "K=gcp-sm://proj-1/s", &g.home);
    assert_eq!(code, Some(77), "{err}");
    assert!(!err.contains(CANARY) && !out.contains(CANARY), "{err}");
    assert!(err.contains("federated identity"), "{err}");
    assert_eq!(g.sm.count("sts"), 0);
}

#[test]
fn credentials_from_a_command_line_must_talk_to_google() {
    let g = Gcp::new(|c| {
        c["external"] = json!({"audience": "//iam.googleapis.com/x", "subject_token": "subject-jwt-1", "identity": "principal://federated"});
    });
    // Where the user's own refresh token lives.
    let adc = g.home.path().join("work/adc.json");
    std::fs::write(&adc, r#"{"type":"authorized_user","refresh_token":"r"}"#).expect("adc");
    let ext = g.write_json(
        "evil.json",
        &json!({
            "type": "external_account", "audience": "//iam.googleapis.com/x",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": format!("{}/v1/token", g.sm.url()),
            "credential_source": {"file": adc,
                "format": {"type": "json", "subject_token_field_name": "refresh_token"}},
        }),
    );
    let wrapper = |c: &mut Command| {
        c.args([
            "run",
            "--exec",
            "--vault-type=gcp",
            "--vault-projectId=proj-1",
        ]);
    };
    let mut c = g.bare_cmd();
    wrapper(&mut c);
    c.arg(format!("--vault-keyFilename={}", ext.display()))
        .args(["K=s", "--", "true"]);
    fails(
        c.output().expect("run"),
        78,
        &["token_url", "sts.googleapis.com"],
    );
    // The same through a stored credentials JSON, and an executable source.
    g.home.set(
        "evil",
        json!({"type": "external_account", "audience": "//iam.googleapis.com/x",
               "token_url": "https://sts.googleapis.com/v1/token",
               "credential_source": {"executable": {"command": "/bin/true"}}})
        .to_string()
        .as_bytes(),
    );
    let mut c = g.bare_cmd();
    wrapper(&mut c);
    c.arg("--vault-credentialsRef=local://evil")
        .args(["K=s", "--", "true"]);
    fails(c.output().expect("run"), 78, &["executable"]);
    assert_eq!(g.sm.count("sts"), 0, "{:?}", g.sm.log());
    // The user's own GOOGLE_APPLICATION_CREDENTIALS is the user's choice.
    let mut c = g.bare_cmd();
    c.env("GOOGLE_APPLICATION_CREDENTIALS", &ext);
    let o = print_vars(c, &["K=gcp-sm://proj-1/s"]);
    assert_ne!(o.status.code(), Some(78));
    assert_eq!(g.sm.count("sts"), 1);
}

#[test]
fn a_reference_cannot_send_the_token_over_plain_http() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    let before = g.sm.count("api");
    let r = format!("K=gcp-sm://proj-1/s?endpoint={}/", g.sm.plain_url());
    fails(print_vars(g.cmd(), &[&r]), 78, &["plain http"]);
    assert_eq!(g.sm.count("api"), before, "nothing may be sent");
    let mut c = g.cmd();
    c.env("MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS", "1");
    assert_eq!(ok(print_vars(c, &[&r])), format!("{CANARY}|"));
}

#[test]
fn loopback_requests_never_go_through_a_proxy() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    let proxy = format!("http://127.0.0.1:{}", closed_port());
    let mut c = g.cmd();
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
        ok(print_vars(c, &["K=gcp-sm://proj-1/s"])),
        format!("{CANARY}|")
    );
}

#[test]
fn an_oversized_answer_is_65_and_a_missing_payload_too() {
    let g = Gcp::new(|_| {});
    let huge = Canned::new(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json",
        vec![b' '; 5 << 20],
    );
    let mut c = g.cmd();
    c.env(
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
        format!("{}/", huge.url()),
    );
    fails(
        print_vars(c, &["K=gcp-sm://proj-1/s"]),
        65,
        &["larger than 4 MiB"],
    );
    let empty = Canned::new(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2",
        b"{}".to_vec(),
    );
    let mut c = g.cmd();
    c.env(
        "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER",
        format!("{}/", empty.url()),
    );
    fails(
        print_vars(c, &["K=gcp-sm://proj-1/s"]),
        65,
        &["K", "no payload"],
    );
}

#[test]
fn a_new_version_is_never_posted_twice() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", b"old");
    g.sm.fail_next(3, 503, None);
    let o = g
        .cmd()
        .args(["secret", "set", "gcp-sm://proj-1/s"])
        .write_stdin(CANARY)
        .output()
        .expect("set");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(69), "{err}");
    assert!(!err.contains(CANARY), "{err}");
    assert_eq!(g.sm.count("injected"), 1, "{:?}", g.sm.log());
}

#[test]
fn a_bare_resource_name_follows_another_vault_type() {
    let g = Gcp::new(|_| {});
    g.sdk_put("s", CANARY.as_bytes());
    // Under --vault-type=aws it is an AWS secret name: Secret Manager is not asked.
    let before = g.sm.count("api");
    let mut c = g.cmd();
    let closed = format!("http://127.0.0.1:{}", closed_port());
    common::env::moto_env(&mut c, &g.home.path().join("work"), &closed);
    c.args([
        "run",
        "--exec",
        "--timeout",
        "3s",
        "--vault-type=aws",
        "K=projects/proj-1/secrets/s",
        "--",
        "true",
    ]);
    let o = c.output().expect("run");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "read from Secret Manager: {err}");
    assert!(!err.contains("gcp-sm://"), "{err}");
    assert_eq!(g.sm.count("api"), before);
}
