//! `azure-token://` against the Azure STAND-IN (tests/standins/azure_kv.py:
//! the Entra ID token endpoint, and Azure Resource Manager's
//! `GET /subscriptions`, which takes only tokens issued for ARM's audience).
//!
//! Fidelity: azure-identity's `ClientSecretCredential.get_token(scope)`
//! (tests/standins/sdk_azure.py `token`) gets its token from the stand-in and
//! ARM accepts it; mcp-warden asks the token endpoint for the same scope and
//! the child it starts calls ARM with the minted token the same way.

#![cfg(unix)]

mod common;
mod standins;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use common::output::{stderr, stdout};
use common::{CANARY, Home};
use serde_json::{Value, json};
use standins::{Pki, StandIn, clean_cloud_env, python};

const TENANT: &str = "tenant-1";
const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// Every token the stand-in's Entra endpoint issues starts so.
const TOKEN_PREFIX: &str = "eyJ0eXAiOiJKV1QifQ.standin.";

fn app_secret() -> String {
    format!("{CANARY}-client-secret")
}

struct Az {
    home: Home,
    kv: StandIn,
    pki: Pki,
}

impl Az {
    fn new() -> Az {
        let home = Home::new();
        let work = home.path().join("work");
        let pki = Pki::new(&work);
        let cfg = json!({
            "tenant": TENANT,
            "clients": {"app-1": {"secret": app_secret(), "role": "user"}},
            "expires_in": 1800,
        });
        let kv = StandIn::start("azure_kv", &cfg, &pki, &work);
        Az { home, kv, pki }
    }

    fn cmd(&self, secret: &str) -> Command {
        let mut c = self.home.cmd();
        clean_cloud_env(&mut c, &self.pki.ca(), self.home.path());
        c.env("AZURE_AUTHORITY_HOST", format!("{}/", self.kv.url()))
            .env("AZURE_TENANT_ID", TENANT)
            .env("AZURE_CLIENT_ID", "app-1")
            .env("AZURE_CLIENT_SECRET", secret);
        c
    }

    /// `run` with `TOK=reference`; the child calls ARM with `$TOK` and prints
    /// the HTTP status and answer.
    fn run(&self, reference: &str, secret: &str, audit: Option<&Path>) -> Output {
        let mut c = self.cmd(secret);
        c.args(["-vv", "run", "--timeout", "20s"]);
        match audit {
            Some(a) => c.arg("--audit-log").arg(a),
            None => c.arg("--exec"),
        };
        c.arg(format!("TOK={reference}"))
            .args(["--", &python(), "-c", ARM_PY, &self.kv.url()])
            .arg(self.pki.ca())
            .output()
            .expect("run")
    }

    fn token_requests(&self) -> Vec<Value> {
        self.kv
            .log()
            .into_iter()
            .filter(|e| e["kind"] == "token")
            .collect()
    }

    fn none_leak(&self, texts: &[(&str, &str)]) {
        for (what, t) in texts {
            for s in [TOKEN_PREFIX, CANARY] {
                assert!(!t.contains(s), "{s:?} leaked into {what}:\n{t}");
            }
        }
    }
}

/// The child: ARM `GET /subscriptions` (argv[1], CA argv[2]) with `$TOK`.
const ARM_PY: &str = r#"
import json, os, ssl, sys, urllib.error, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
req = urllib.request.Request(sys.argv[1] + "/subscriptions?api-version=2022-12-01",
                             headers={"Authorization": "Bearer " + os.environ["TOK"]})
try:
    r = urllib.request.urlopen(req, context=ctx, timeout=10)
    print(json.dumps({"status": r.status, "arm": json.load(r)}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "arm": json.load(e)}))
"#;

fn answer(o: &Output) -> Value {
    assert!(o.status.success(), "{}", stderr(o));
    serde_json::from_str(stdout(o).trim()).expect("child json")
}

#[test]
fn azure_identity_and_mcp_warden_get_the_same_kind_of_token_and_arm_takes_both() {
    let az = Az::new();
    let url = az.kv.url();
    let secret = app_secret();
    let sdk = az.kv.sdk(
        "sdk_azure.py",
        &[
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
            "token",
            ARM_SCOPE,
        ],
        b"",
    );
    let sdk: Value = serde_json::from_slice(&sdk).expect("sdk json");
    assert_eq!(sdk["status"], 200, "{sdk}");
    assert_eq!(sdk["arm"]["value"][0]["subscriptionId"], "sub-1");

    let o = az.run(&format!("azure-token://{ARM_SCOPE}"), &secret, None);
    let err = stderr(&o);
    let got = answer(&o);
    assert_eq!(got["status"], 200, "{got}");
    assert_eq!(got["arm"], sdk["arm"]);
    let left = expires_in_of(&err);
    assert!((1770..=1800).contains(&left), "{left}");
    // Both asked the token endpoint the same: client credentials for the scope.
    let reqs = az.token_requests();
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    for r in &reqs {
        assert_eq!(r["scope"], ARM_SCOPE);
        assert_eq!(r["client_id"], "app-1");
        assert_eq!(r["how"], "secret");
    }
    az.none_leak(&[("stderr", &err)]);
}

#[test]
fn a_token_for_another_scope_is_refused_by_arm() {
    let az = Az::new();
    let o = az.run(
        "azure-token://https://vault.azure.net/.default",
        &app_secret(),
        None,
    );
    let got = answer(&o);
    assert_eq!(got["status"], 401, "{got}");
    assert_eq!(
        got["arm"]["error"]["code"],
        "InvalidAuthenticationTokenAudience"
    );
    assert_eq!(
        az.token_requests()[0]["scope"],
        "https://vault.azure.net/.default"
    );
}

#[test]
fn no_token_or_client_secret_reaches_output_or_audit_log() {
    let az = Az::new();
    let audit: PathBuf = az.home.path().join("audit.jsonl");
    let o = az.run(
        &format!("azure-token://{ARM_SCOPE}"),
        &app_secret(),
        Some(&audit),
    );
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(out.contains("sub-1"), "{out}");
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(!log.is_empty(), "no audit log");
    az.none_leak(&[("stdout", &out), ("stderr", &err), ("audit log", &log)]);
    // A wrong client secret: 77, nothing shown.
    let wrong = format!("{CANARY}-wrong");
    let o = az.run(&format!("azure-token://{ARM_SCOPE}"), &wrong, Some(&audit));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(77), "{err}");
    assert!(err.contains("azure-token://"), "{err}");
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    az.none_leak(&[
        ("stdout", &stdout(&o)),
        ("stderr", &err),
        ("audit log", &log),
    ]);
}

#[test]
fn bad_references_are_refused_before_any_request() {
    let az = Az::new();
    for (r, needle) in [
        ("azure-token://https://management.azure.com", "/.default"),
        (
            "azure-token://management.azure.com/.default",
            "resource scope",
        ),
        (
            "azure-token://https://management.azure.com/.default?tenant=x",
            "unknown parameter",
        ),
    ] {
        let o = az.run(r, &app_secret(), None);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(78), "{r}: {err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(az.token_requests().is_empty());
}

/// The lifetime in this backend's `-vv` line.
fn expires_in_of(err: &str) -> u64 {
    common::output::expires_in(err, "azure-token: minted")
}
