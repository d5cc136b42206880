//! `aws-sts://` against a real moto server: AssumeRole with the lifetime,
//! session policy and external id asked for, the minted keys accepted by
//! moto for a further call (boto3's `get_caller_identity` in the child), and
//! no source or minted credential in mcp-warden's output or audit log.
//!
//! `scripts/test` starts moto and exports `MCP_WARDEN_TEST_MOTO_URL` and
//! `MCP_WARDEN_TEST_PYTHON` (a venv python with boto3). Every test uses its
//! own role name, so tests share one moto and run in parallel. What moto was
//! asked is read back from its state (`/moto-api/data.json`, the STS
//! backend's `AssumedRole` records: policy, external id, session name).

#![cfg(unix)]

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command as StdCommand, Output};

use assert_cmd::Command;
use common::env::moto_env;
use common::moto::AuthMoto;
use common::output::{fails, ok, stderr, stdout};
use common::{CANARY, Home, service_env, unique};
use serde_json::Value;

fn moto_url() -> String {
    service_env("MCP_WARDEN_TEST_MOTO_URL")
}

fn python() -> String {
    service_env("MCP_WARDEN_TEST_PYTHON")
}

/// The source credentials' secret key: moto (no auth) accepts any.
fn source_secret() -> String {
    format!("src-{CANARY}")
}

/// mcp-warden with moto's endpoint, region and a canary source secret key.
fn warden(home: &Home) -> Command {
    let mut c = home.cmd();
    c.env("HOME", home.path());
    moto_env(&mut c, home.path(), &moto_url());
    c.env("AWS_SECRET_ACCESS_KEY", source_secret());
    c
}

/// The child: asks moto (at argv[1]; the child's environment holds only what
/// mcp-warden passes) who it is with the credentials it was given.
const WHOAMI_PY: &str = r#"
import sys, boto3
c = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1")
print(c.get_caller_identity()["Arn"])
"#;

/// Every AssumeRole moto recorded for `role_arn`.
fn assumed(role_arn: &str) -> Vec<Value> {
    let py = r#"
import json, sys, urllib.request
d = json.load(urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=10))
roles = d.get("sts", {}).get("AssumedRole", [])
print(json.dumps([r for r in roles if r.get("role_arn") == sys.argv[2]]))
"#;
    let out = StdCommand::new(python())
        .args(["-c", py, &moto_url(), role_arn])
        .output()
        .expect("python");
    assert!(out.status.success(), "data.json: {}", stderr(&out));
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(v)) => v,
        other => panic!("data.json output: {other:?}"),
    }
}

fn role(tag: &str) -> (String, String) {
    let name = unique(tag);
    (
        name.clone(),
        format!("arn:aws:iam::123456789012:role/{name}"),
    )
}

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

/// Like `fails`, for `-vv` runs (several lines): the exit code, each needle
/// in stderr, nothing on stdout; returns stderr.
fn fails_vv(o: Output, code: i32, needles: &[&str]) -> String {
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(stdout(&o), "", "the child must not have run");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    err
}

/// Asserts none of `secrets` appears in `texts`.
fn none_leak(secrets: &[&str], texts: &[(&str, &str)]) {
    for s in secrets {
        assert!(!s.is_empty());
        for (what, t) in texts {
            assert!(!t.contains(s), "a credential leaked into {what}:\n{t}");
        }
    }
}

#[test]
fn assume_role_mints_keys_moto_accepts_with_the_asked_policy_and_lifetime() {
    let home = Home::new();
    let (name, arn) = role("sts-ok");
    let external = format!("ext-{}", unique("x"));
    home.set("pol", POLICY.as_bytes());
    home.set("ext", external.as_bytes());
    let reference =
        format!("aws-sts://{arn}?duration=20m&session-policy=local://pol&external-id=local://ext");
    let o = warden(&home)
        .args(["-vv", "run", "--exec", &format!("AWS_*={reference}")])
        .args(["--", &python(), "-c", WHOAMI_PY, &moto_url()])
        .output()
        .expect("run");
    let err = stderr(&o);
    let who = ok(o);
    assert!(
        who.trim().starts_with(&format!(
            "arn:aws:sts::123456789012:assumed-role/{name}/mcp-warden-"
        )),
        "{who}"
    );
    let left = expires_in_of(&err);
    assert!((20 * 60 - 30..=20 * 60).contains(&left), "{left}s left");
    let calls = assumed(&arn);
    assert_eq!(calls.len(), 1, "{calls:?}");
    let call = &calls[0];
    assert_eq!(call["policy"].as_str(), Some(POLICY), "{call}");
    assert_eq!(call["external_id"].as_str(), Some(external.as_str()));
    assert!(
        call["session_name"]
            .as_str()
            .is_some_and(|s| s.starts_with("mcp-warden-"))
    );
    // Neither the minted secret key and token nor the source key in the -vv output.
    let secret = call["secret_access_key"].as_str().expect("secret");
    let token = call["session_token"].as_str().expect("token");
    none_leak(
        &[secret, token, &source_secret(), &external],
        &[("stderr", &err)],
    );
}

#[test]
fn default_lifetime_is_an_hour_without_policy_and_selectors_pick_each_key() {
    let home = Home::new();
    let (_, arn) = role("sts-plain");
    let reference = format!("aws-sts://{arn}");
    let o = warden(&home)
        .args(["-vv", "run", "--exec"])
        .arg(format!("A={reference}#AWS_ACCESS_KEY_ID"))
        .arg(format!("B={reference}#AWS_SECRET_ACCESS_KEY"))
        .arg(format!("C={reference}#AWS_SESSION_TOKEN"))
        .args(["--", "sh", "-c", "printf '%s|%s|%s' \"$A\" \"$B\" \"$C\""])
        .output()
        .expect("run");
    let err = stderr(&o);
    let out = ok(o);
    let left = expires_in_of(&err);
    assert!((3600 - 30..=3600).contains(&left), "{left}s left");
    let calls = assumed(&arn);
    assert_eq!(
        calls.len(),
        1,
        "one AssumeRole for three selectors: {calls:?}"
    );
    let c = &calls[0];
    assert!(c["policy"].is_null() && c["external_id"].is_null(), "{c}");
    let want = format!(
        "{}|{}|{}",
        c["access_key_id"].as_str().unwrap(),
        c["secret_access_key"].as_str().unwrap(),
        c["session_token"].as_str().unwrap()
    );
    assert_eq!(out, want);
}

/// Proxy mode writes the audit log; the child proves the keys work.
fn audited(home: &Home, audit: &Path, reference: &str) -> Output {
    warden(home)
        .args(["-vv", "run", "--audit-log"])
        .arg(audit)
        .arg(format!("AWS_*={reference}"))
        .args(["--", &python(), "-c", WHOAMI_PY, &moto_url()])
        .output()
        .expect("run")
}

#[test]
fn no_credential_reaches_output_or_audit_log() {
    let home = Home::new();
    let (name, arn) = role("sts-canary");
    let audit = home.path().join("audit.jsonl");
    let ext = format!("ext-{CANARY}");
    home.set("ext", ext.as_bytes());
    let o = audited(
        &home,
        &audit,
        &format!("aws-sts://{arn}?external-id=local://ext"),
    );
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(o.status.success(), "{err}");
    assert!(out.contains(&format!("assumed-role/{name}/")), "{out}");
    let calls = assumed(&arn);
    let c = &calls[0];
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(
        log.contains("\"start\"") || !log.is_empty(),
        "no audit log written"
    );
    none_leak(
        &[
            c["secret_access_key"].as_str().unwrap(),
            c["session_token"].as_str().unwrap(),
            &source_secret(),
            CANARY,
        ],
        &[("stdout", &out), ("stderr", &err), ("audit log", &log)],
    );
}

#[test]
fn a_policy_that_is_not_json_is_65_and_not_quoted() {
    let home = Home::new();
    let (_, arn) = role("sts-badpol");
    let audit = home.path().join("audit.jsonl");
    home.set("pol", format!("not json {CANARY}").as_bytes());
    let o = audited(
        &home,
        &audit,
        &format!("aws-sts://{arn}?session-policy=local://pol"),
    );
    let line = fails_vv(o, 65, &["aws-sts://", "not a JSON object"]);
    let log = std::fs::read_to_string(&audit).unwrap_or_default();
    none_leak(
        &[CANARY, &source_secret()],
        &[("stderr", &line), ("audit log", &log)],
    );
    assert!(assumed(&arn).is_empty(), "nothing is minted");
}

#[test]
fn bad_references_are_refused_before_any_call() {
    let home = Home::new();
    let (_, arn) = role("sts-bad");
    for (reference, needle) in [
        (
            format!("aws-sts://{arn}?duration=5m"),
            "between 15m and 12h",
        ),
        ("aws-sts://not-an-arn".to_string(), "role ARN"),
        (format!("aws-sts://{arn}?colour=red"), "unknown parameter"),
        (
            format!("aws-sts://{arn}?external-id={CANARY}"),
            "not a reference",
        ),
    ] {
        let o = warden(&home)
            .args(["run", "--exec", &format!("AWS_*={reference}"), "--", "true"])
            .output()
            .expect("run");
        let line = fails(o, 78, &[needle]);
        assert!(!line.contains(CANARY), "{line}");
    }
    assert!(assumed(&arn).is_empty());
}

#[test]
fn a_closed_endpoint_is_69_naming_it() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let home = Home::new();
    let (_, arn) = role("sts-closed");
    let o = warden(&home)
        .env("AWS_ENDPOINT_URL_STS", format!("http://127.0.0.1:{port}"))
        .args(["-vv", "run", "--exec", "--timeout", "10s"])
        .arg(format!("AWS_*=aws-sts://{arn}"))
        .args(["--", "true"])
        .output()
        .expect("run");
    let line = fails_vv(
        o,
        69,
        &["cannot reach AWS STS", &format!("127.0.0.1:{port}")],
    );
    none_leak(&[CANARY, &source_secret()], &[("stderr", &line)]);
}

#[test]
fn access_denied_is_77_and_shows_no_key() {
    let moto = AuthMoto::start(3);
    // An IAM user whose only policy allows S3: AssumeRole is implicitly denied.
    let py = r#"
import json, sys, boto3
iam = boto3.client("iam", region_name="us-east-1", endpoint_url=sys.argv[1],
                   aws_access_key_id="testing", aws_secret_access_key="testing")
iam.create_user(UserName="u")
k = iam.create_access_key(UserName="u")["AccessKey"]
iam.put_user_policy(UserName="u", PolicyName="p", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
print(json.dumps([k["AccessKeyId"], k["SecretAccessKey"]]))
"#;
    let out = StdCommand::new(python())
        .args(["-c", py, &moto.url])
        .output()
        .expect("fixtures");
    assert!(out.status.success(), "{}", stderr(&out));
    let keys: Vec<String> = serde_json::from_slice(&out.stdout).expect("keys");
    let home = Home::new();
    let (_, arn) = role("sts-denied");
    let o = warden(&home)
        .env("AWS_ENDPOINT_URL", &moto.url)
        .env("AWS_ACCESS_KEY_ID", &keys[0])
        .env("AWS_SECRET_ACCESS_KEY", &keys[1])
        .args(["-vv", "run", "--exec", "--timeout", "20s"])
        .arg(format!("AWS_*=aws-sts://{arn}"))
        .args(["--", "true"])
        .output()
        .expect("run");
    let err = fails_vv(o, 77, &["sts:AssumeRole", &arn]);
    none_leak(&[&keys[1]], &[("stderr", &err)]);
}

/// The lifetime in this backend's `-vv` line.
fn expires_in_of(err: &str) -> u64 {
    common::output::expires_in(err, "aws-sts: assumed")
}
