//! `gcp-token://` against the GCP STAND-IN (tests/standins/gcp_sm.py: IAM
//! Credentials `generateAccessToken` and `tokeninfo`, over TLS with a private
//! CA made per test).
//!
//! Fidelity: google-auth's `impersonated_credentials.Credentials.refresh()`
//! (tests/standins/sdk_gcp.py `impersonate`) obtains its token from the
//! stand-in, and the stand-in's `tokeninfo` says who the token is for and
//! with which scopes; mcp-warden's minted token is read back the same way by
//! the child it starts.

#![cfg(unix)]

mod common;
mod standins;

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use common::output::{stderr, stdout};
use common::{CANARY, Home};
use serde_json::{Value, json};
use standins::{Pki, StandIn, clean_cloud_env, python, service_account_file};

/// The source identity: its key file is ADC.
const SA: &str = "runner@proj-1.iam.gserviceaccount.com";
/// The account mcp-warden impersonates.
const TARGET: &str = "deployer@proj-1.iam.gserviceaccount.com";
const DELEGATE: &str = "middle@proj-1.iam.gserviceaccount.com";
const RO: &str = "https://www.googleapis.com/auth/devstorage.read_only";
const EMAIL: &str = "https://www.googleapis.com/auth/userinfo.email";
/// Every token the stand-in issues starts so (source and minted).
const TOKEN_PREFIX: &str = "ya29.standin-";

struct Gcp {
    home: Home,
    iam: StandIn,
    key_file: PathBuf,
    pki: Pki,
    /// The source key's private key, a canary of its own.
    private_key: String,
}

impl Gcp {
    fn new(tweak: impl FnOnce(&mut Value)) -> Gcp {
        let home = Home::new();
        let work = home.path().join("work");
        let pki = Pki::new(&work);
        let (key, public) = pki.rsa("sa");
        let mut cfg = json!({
            "service_accounts": {SA: {"public_key": public}},
            "impersonation": {TARGET: [SA], DELEGATE: [SA]},
        });
        tweak(&mut cfg);
        let iam = StandIn::start("gcp_sm", &cfg, &pki, &work);
        let private_key = std::fs::read_to_string(&key).expect("key");
        let key_file = work.join("sa.json");
        let token_uri = format!("{}/token", iam.url());
        service_account_file(&key_file, SA, "proj-1", &private_key, &token_uri);
        Gcp {
            home,
            iam,
            key_file,
            pki,
            private_key,
        }
    }

    fn cmd(&self) -> Command {
        let mut c = self.home.cmd();
        clean_cloud_env(&mut c, &self.pki.ca(), self.home.path());
        c.env("GOOGLE_APPLICATION_CREDENTIALS", &self.key_file).env(
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS",
            format!("{}/", self.iam.url()),
        );
        c
    }

    /// `run` (`--exec`, or audited when `audit` is given) with `TOK=reference`;
    /// the child prints the stand-in's tokeninfo for `$TOK`.
    fn run(&self, reference: &str, audit: Option<&Path>) -> Output {
        let mut c = self.cmd();
        c.args(["-vv", "run", "--timeout", "20s"]);
        match audit {
            Some(a) => c.arg("--audit-log").arg(a),
            None => c.arg("--exec"),
        };
        c.arg(format!("TOK={reference}"))
            .args(["--", &python(), "-c", TOKENINFO_PY, &self.iam.url()])
            .arg(self.pki.ca())
            .output()
            .expect("run")
    }

    fn impersonations(&self) -> Vec<Value> {
        self.iam
            .log()
            .into_iter()
            .filter(|e| e["kind"] == "impersonate")
            .collect()
    }

    /// Asserts no token and no key material in `texts`.
    fn none_leak(&self, texts: &[(&str, &str)]) {
        let key_line = self
            .private_key
            .lines()
            .nth(1)
            .expect("a PEM body line")
            .to_string();
        for (what, t) in texts {
            for s in [TOKEN_PREFIX, key_line.as_str(), CANARY] {
                assert!(!t.contains(s), "{s:?} leaked into {what}:\n{t}");
            }
        }
    }
}

/// The child: asks the stand-in's tokeninfo (argv[1], CA argv[2]) about `$TOK`.
const TOKENINFO_PY: &str = r#"
import os, ssl, sys, urllib.parse, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
q = urllib.parse.urlencode({"access_token": os.environ["TOK"]})
print(urllib.request.urlopen(sys.argv[1] + "/tokeninfo?" + q, context=ctx, timeout=10).read().decode())
"#;

#[test]
fn google_auth_impersonated_credentials_get_their_token_from_the_stand_in() {
    let g = Gcp::new(|_| {});
    let args = [
        "--endpoint",
        &g.iam.url(),
        "--key-file",
        g.key_file.to_str().unwrap(),
        "impersonate",
        TARGET,
        &format!("{RO},{EMAIL}"),
        "1200",
    ];
    let out = g.iam.sdk("sdk_gcp.py", &args, b"");
    let info: Value = serde_json::from_slice(&out).expect("tokeninfo json");
    assert_eq!(info["email"], TARGET, "{info}");
    assert_eq!(info["scope"], format!("{RO} {EMAIL}"));
    let imp = g.impersonations();
    assert_eq!(imp.len(), 1, "{imp:?}");
    assert_eq!(imp[0]["source"], SA);
    assert_eq!(imp[0]["lifetime"], "1200s");
}

#[test]
fn mcp_warden_mints_the_token_google_auth_would_with_scopes_and_lifetime() {
    let g = Gcp::new(|_| {});
    let o = g.run(
        &format!("gcp-token://{TARGET}?scopes={RO},{EMAIL}&lifetime=20m"),
        None,
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    let info: Value = serde_json::from_str(stdout(&o).trim()).expect("tokeninfo");
    assert_eq!(info["email"], TARGET, "{info}");
    assert_eq!(info["scope"], format!("{RO} {EMAIL}"));
    let left: u64 = info["expires_in"].as_str().unwrap().parse().unwrap();
    assert!((1170..=1200).contains(&left), "{left}");
    assert!((1170..=1200).contains(&expires_in_of(&err)), "{err}");
    let imp = g.impersonations();
    assert_eq!(imp.len(), 1);
    assert_eq!(imp[0]["source"], SA);
    assert_eq!(imp[0]["lifetime"], "1200s");
    assert_eq!(imp[0]["scope"], json!([RO, EMAIL]));
    g.none_leak(&[("stderr", &err)]);
}

#[test]
fn defaults_are_cloud_platform_for_an_hour_and_delegates_form_a_chain() {
    let g = Gcp::new(|c| {
        c["impersonation"] = json!({TARGET: [DELEGATE], DELEGATE: [SA]});
    });
    let o = g.run(&format!("gcp-token://{TARGET}?delegates={DELEGATE}"), None);
    assert!(o.status.success(), "{}", stderr(&o));
    let info: Value = serde_json::from_str(stdout(&o).trim()).expect("tokeninfo");
    assert_eq!(info["email"], TARGET);
    assert_eq!(
        info["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );
    let imp = g.impersonations();
    assert_eq!(imp[0]["delegates"], json!([DELEGATE]));
    assert_eq!(imp[0]["lifetime"], "3600s");
    // Without the delegate, the runner may not impersonate the target.
    let o = g.run(&format!("gcp-token://{TARGET}"), None);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(77), "{err}");
    assert!(err.contains("iam.serviceAccounts.getAccessToken"), "{err}");
    assert!(err.contains(TARGET), "{err}");
    g.none_leak(&[("stdout", &stdout(&o)), ("stderr", &err)]);
}

#[test]
fn no_token_or_key_reaches_output_or_audit_log() {
    let g = Gcp::new(|_| {});
    let audit = g.home.path().join("audit.jsonl");
    let o = g.run(&format!("gcp-token://{TARGET}"), Some(&audit));
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(out.contains(TARGET), "{out}");
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(!log.is_empty(), "no audit log");
    g.none_leak(&[("stdout", &out), ("stderr", &err), ("audit log", &log)]);
    // A failure: a lifetime above 1h without the organisation policy.
    let o = g.run(&format!("gcp-token://{TARGET}?lifetime=2h"), Some(&audit));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(78), "{err}");
    assert!(err.contains("lifetime"), "{err}");
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    g.none_leak(&[
        ("stdout", &stdout(&o)),
        ("stderr", &err),
        ("audit log", &log),
    ]);
}

#[test]
fn bad_references_are_refused_before_any_request() {
    let g = Gcp::new(|_| {});
    for (r, needle) in [
        (
            "gcp-token://not-an-email".to_string(),
            "service account email",
        ),
        (
            format!("gcp-token://{TARGET}?scopes=cloud-platform"),
            "scope URL",
        ),
        (format!("gcp-token://{TARGET}?lifetime=13h"), "between"),
        (
            format!("gcp-token://{TARGET}?project=x"),
            "unknown parameter",
        ),
    ] {
        let o = g.run(&r, None);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(78), "{r}: {err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    assert!(g.impersonations().is_empty());
}

/// The lifetime in this backend's `-vv` line.
fn expires_in_of(err: &str) -> u64 {
    common::output::expires_in(err, "gcp-token: minted")
}
