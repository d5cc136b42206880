//! The `aws-sm://` and `aws-ssm://` backends and the mcp-secret-wrapper
//! invocation, against a real moto server.
//!
//! `scripts/test` starts moto and exports `MCP_WARDEN_TEST_MOTO_URL` and
//! `MCP_WARDEN_TEST_PYTHON` (a venv python with boto3 and moto). Without them
//! these tests fail, saying to run `scripts/test`. Every test makes its own
//! fixtures under unique names, so tests share one moto and run in parallel.
//! The access-denied test starts its own moto with signature checking on.

#![cfg(unix)]

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::env::{aws_isolated, moto_env};
use common::moto::AuthMoto;
use common::output::{fails, json_lines, ok, stderr, stdout};
use common::process::pipe;
use common::{CANARY, Home, service_env, unique};
use serde_json::{Value, json};

const REGION: &str = "us-east-1";

fn moto_url() -> String {
    service_env("MCP_WARDEN_TEST_MOTO_URL")
}

fn python() -> String {
    service_env("MCP_WARDEN_TEST_PYTHON")
}

/// Creates fixtures with boto3. Each op is a JSON object; returns one JSON
/// result per op (ARNs, version ids, access keys).
const FIXTURES_PY: &str = r#"
import base64, json, os, sys
import boto3
ops = json.load(sys.stdin)
clients = {}
def client(service, region):
    key = (service, region)
    if key not in clients:
        clients[key] = boto3.client(
            service, region_name=region, endpoint_url=os.environ["MW_MOTO"],
            aws_access_key_id="testing", aws_secret_access_key="testing")
    return clients[key]
out = []
for op in ops:
    region = op.get("region", "us-east-1")
    kind = op["op"]
    if kind == "sm_create":
        args = {"Name": op["name"]}
        if "string" in op:
            args["SecretString"] = op["string"]
        if "binary_b64" in op:
            args["SecretBinary"] = base64.b64decode(op["binary_b64"])
        r = client("secretsmanager", region).create_secret(**args)
        out.append({"arn": r["ARN"], "version": r["VersionId"]})
    elif kind == "sm_put":
        args = {"SecretId": op["name"], "SecretString": op["string"]}
        if "stages" in op:
            args["VersionStages"] = op["stages"]
        r = client("secretsmanager", region).put_secret_value(**args)
        out.append({"arn": r["ARN"], "version": r["VersionId"]})
    elif kind == "ssm_put":
        r = client("ssm", region).put_parameter(
            Name=op["name"], Value=op["value"], Type=op.get("type", "SecureString"),
            Overwrite=True)
        out.append({"version": r["Version"]})
    elif kind == "ssm_arn":
        r = client("ssm", region).get_parameter(Name=op["name"])
        out.append({"arn": r["Parameter"]["ARN"]})
    elif kind == "iam_user":
        iam = client("iam", region)
        iam.create_user(UserName=op["name"])
        key = iam.create_access_key(UserName=op["name"])["AccessKey"]
        iam.put_user_policy(UserName=op["name"], PolicyName="p",
                            PolicyDocument=json.dumps(op["policy"]))
        out.append({"key_id": key["AccessKeyId"], "secret": key["SecretAccessKey"]})
    else:
        raise SystemExit("unknown fixture op " + kind)
print(json.dumps(out))
"#;

fn fixtures_at(url: &str, ops: Value) -> Vec<Value> {
    let out = pipe(
        StdCommand::new(python())
            .args(["-c", FIXTURES_PY])
            .env("MW_MOTO", url)
            .env_remove("AWS_PROFILE"),
        ops.to_string().as_bytes(),
    );
    assert!(out.status.success(), "fixtures failed: {}", stderr(&out));
    match serde_json::from_slice(&out.stdout) {
        Ok(Value::Array(v)) => v,
        other => panic!("fixture output: {other:?}"),
    }
}

fn fixtures(ops: Value) -> Vec<Value> {
    fixtures_at(&moto_url(), ops)
}

fn sm_secret(name: &str, value: &str) -> Value {
    json!({"op": "sm_create", "name": name, "string": value})
}

/// mcp-warden with an isolated home and AWS settings pointing at moto only:
/// no ambient AWS or VAULT settings, no ~/.aws, no instance metadata.
fn warden(home: &Home) -> Command {
    let mut c = home.cmd();
    c.env("HOME", home.path());
    moto_env(&mut c, home.path(), &moto_url());
    c
}

/// Only the isolation part of [`warden`]: no credentials, no region.
fn aws_env(c: &mut Command, dir: &Path, url: &str) {
    c.env("HOME", dir);
    aws_isolated(c, dir, url);
}

/// `run ASSIGNMENTS -- sh -c 'printf %s "$K"'`: what the child saw in `$K`.
fn run_print(home: &Home, args: &[&str]) -> std::process::Output {
    warden(home)
        .args(["run", "--exec"])
        .args(args)
        .args(["--", "sh", "-c", "printf %s \"$K\""])
        .output()
        .expect("run mcp-warden")
}

// --- values ------------------------------------------------------------------

#[test]
fn plain_string_reaches_the_child_whole() {
    let home = Home::new();
    let name = unique("plain");
    // `=` inside the value must not truncate it (mcp-secret-wrapper users hit that).
    let value = format!("{CANARY}=p@ss w0rd==");
    fixtures(json!([sm_secret(&name, &value)]));
    let out = ok(run_print(&home, &[&format!("K=aws-sm://{name}")]));
    assert_eq!(out, value);
}

#[test]
fn json_selectors_pick_one_field() {
    let home = Home::new();
    let name = unique("json");
    let doc = json!({"db": {"users": [{"pw": "first"}, {"pw": "second"}]}, "port": 5432});
    fixtures(json!([sm_secret(&name, &doc.to_string())]));
    assert_eq!(
        ok(run_print(
            &home,
            &[&format!("K=aws-sm://{name}#db.users[1].pw")]
        )),
        "second"
    );
    assert_eq!(
        ok(run_print(
            &home,
            &[&format!("K=aws-sm://{name}#/db/users/0/pw")]
        )),
        "first"
    );
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-sm://{name}#port")])),
        "5432"
    );
    // Two selectors on one secret in one run.
    let o = warden(&home)
        .args([
            "run",
            "--exec",
            &format!("A=aws-sm://{name}#db.users[0].pw"),
            &format!("B=aws-sm://{name}#db.users[1].pw"),
            "--",
            "sh",
            "-c",
            "printf '%s,%s' \"$A\" \"$B\"",
        ])
        .output()
        .expect("run");
    assert_eq!(ok(o), "first,second");
    let miss = run_print(&home, &[&format!("K=aws-sm://{name}#db.nope")]);
    fails(miss, 65, &["K", "nope", "available keys"]);
}

#[test]
fn secret_binary_must_be_text_without_nul() {
    let home = Home::new();
    let (text, latin, nul) = (unique("bin"), unique("bin-latin"), unique("bin-nul"));
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    fixtures(json!([
        {"op": "sm_create", "name": text, "binary_b64": b64(b"binary but text")},
        {"op": "sm_create", "name": latin, "binary_b64": b64(&[0xff, 0xfe, 0x41])},
        {"op": "sm_create", "name": nul, "binary_b64": b64(b"a\0b")},
    ]));
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-sm://{text}")])),
        "binary but text"
    );
    fails(
        run_print(&home, &[&format!("K=aws-sm://{latin}")]),
        65,
        &["K", &latin, "not UTF-8"],
    );
    fails(
        run_print(&home, &[&format!("K=aws-sm://{nul}")]),
        65,
        &["K", &nul, "NUL"],
    );
}

#[test]
fn version_stage_and_version_id_pick_old_versions() {
    let home = Home::new();
    let name = unique("ver");
    let made = fixtures(json!([
        sm_secret(&name, "v1"),
        {"op": "sm_put", "name": name, "string": "v2"},
        {"op": "sm_put", "name": name, "string": "v3", "stages": ["STAGING"]},
    ]));
    let v1 = made[0]["version"].as_str().expect("version id");
    let get = |q: &str| ok(run_print(&home, &[&format!("K=aws-sm://{name}{q}")]));
    assert_eq!(get(""), "v2");
    assert_eq!(get("?version-stage=AWSCURRENT"), "v2");
    assert_eq!(get("?version-stage=AWSPREVIOUS"), "v1");
    assert_eq!(get("?version-stage=STAGING"), "v3");
    assert_eq!(get(&format!("?version-id={v1}")), "v1");
    // Versioned and plain references of one secret in one run.
    let o = warden(&home)
        .args([
            "run",
            "--exec",
            &format!("A=aws-sm://{name}"),
            &format!("B=aws-sm://{name}?version-stage=AWSPREVIOUS"),
            "--",
            "sh",
            "-c",
            "printf '%s,%s' \"$A\" \"$B\"",
        ])
        .output()
        .expect("run");
    assert_eq!(ok(o), "v2,v1");
    fails(
        run_print(&home, &[&format!("K=aws-sm://{name}?version-stage=NOPE")]),
        78,
        &["K", "no such secret version"],
    );
    fails(
        run_print(&home, &[&format!("K=aws-sm://{name}?versionstage=X")]),
        78,
        &["unknown parameter", "version-stage"],
    );
}

#[test]
fn arn_forms_take_their_region_from_the_arn() {
    let home = Home::new();
    let name = unique("arn");
    // Only in eu-west-1, while AWS_REGION says us-east-1.
    let made = fixtures(
        json!([{"op": "sm_create", "name": name, "string": "from-arn", "region": "eu-west-1"}]),
    );
    let arn = made[0]["arn"].as_str().expect("arn").to_string();
    assert!(arn.contains(":eu-west-1:"), "{arn}");
    assert_eq!(ok(run_print(&home, &[&format!("K={arn}")])), "from-arn");
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-sm://{arn}")])),
        "from-arn"
    );
    // With --vault-type=aws too, and with a selector-free ARN among others.
    assert_eq!(
        ok(run_print(&home, &["--vault-type=aws", &format!("K={arn}")])),
        "from-arn"
    );
    // The name alone is not in us-east-1.
    fails(
        run_print(&home, &[&format!("K=aws-sm://{name}")]),
        78,
        &["us-east-1"],
    );
    // A conflicting ?region= is a configuration error, not a silent pick.
    fails(
        run_print(&home, &[&format!("K={arn}?region=us-west-2")]),
        78,
        &["region"],
    );
}

#[test]
fn names_with_equals_and_encoded_hash() {
    let home = Home::new();
    let name = format!("{}=x=y", unique("eq"));
    fixtures(json!([sm_secret(
        &name,
        &json!({"a#b": "hashed", "c": "plain"}).to_string()
    )]));
    // NAME=REF splits at the first '=' only.
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-sm://{name}#c")])),
        "plain"
    );
    assert_eq!(
        ok(run_print(
            &home,
            &["--vault-type=aws", &format!("K={name}#c")]
        )),
        "plain"
    );
    // A JSON key with '#' in it, through the pointer form.
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-sm://{name}#/a#b")])),
        "hashed"
    );
    // `%23` is part of the name, not a selector: the lookup is for "NAME#c".
    fails(
        run_print(&home, &[&format!("K=aws-sm://{name}%23c")]),
        78,
        &["K", "%23c"],
    );
}

// --- SSM -----------------------------------------------------------------------

#[test]
fn ssm_parameters_securestring_decrypted() {
    let home = Home::new();
    let base = format!("/{}", unique("ssm"));
    let (a, b, c, s) = (
        format!("{base}/a"),
        format!("{base}/b"),
        format!("{base}/c"),
        format!("{base}/s"),
    );
    let made = fixtures(json!([
        {"op": "ssm_put", "name": a, "value": "secure-a"},
        {"op": "ssm_put", "name": b, "value": json!({"k": "v"}).to_string()},
        {"op": "ssm_put", "name": c, "value": "c-one"},
        {"op": "ssm_put", "name": c, "value": "c-two"},
        {"op": "ssm_put", "name": s, "value": "plain-string", "type": "String"},
        {"op": "ssm_arn", "name": a},
    ]));
    let arn = made[5]["arn"].as_str().expect("arn").to_string();
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-ssm://{a}")])),
        "secure-a"
    );
    assert_eq!(ok(run_print(&home, &[&format!("K=aws-ssm://{b}#k")])), "v");
    assert_eq!(
        ok(run_print(&home, &[&format!("K=aws-ssm://{c}?version=1")])),
        "c-one"
    );
    assert_eq!(ok(run_print(&home, &[&format!("K={arn}")])), "secure-a");
    // Several in one run (GetParameters batch), plus a versioned one.
    let o = warden(&home)
        .args([
            "run",
            "--exec",
            &format!("A=aws-ssm://{a}"),
            &format!("B=aws-ssm://{b}#k"),
            &format!("C=aws-ssm://{c}"),
            &format!("D=aws-ssm://{c}?version=1"),
            &format!("S=aws-ssm://{s}"),
            "--",
            "sh",
            "-c",
            "printf '%s,%s,%s,%s,%s' \"$A\" \"$B\" \"$C\" \"$D\" \"$S\"",
        ])
        .output()
        .expect("run");
    assert_eq!(ok(o), "secure-a,v,c-two,c-one,plain-string");
    // A missing one in a batch names itself.
    let o = warden(&home)
        .args([
            "run",
            "--exec",
            &format!("A=aws-ssm://{a}"),
            &format!("M=aws-ssm://{base}/missing"),
            "--",
            "true",
        ])
        .output()
        .expect("run");
    fails(o, 78, &["M", "missing", "no such parameter"]);
}

// --- failures ------------------------------------------------------------------

#[test]
fn not_found_is_78_and_names_the_reference() {
    let home = Home::new();
    let name = unique("missing");
    let line = fails(
        run_print(&home, &[&format!("K=aws-sm://{name}")]),
        78,
        &["K", &name, "no such secret", "region us-east-1"],
    );
    assert!(
        !line.contains("ResourceNotFoundException {"),
        "debug dump: {line}"
    );
    // In a batch with a present one.
    let present = unique("present");
    fixtures(json!([sm_secret(&present, CANARY)]));
    let o = warden(&home)
        .args([
            "run",
            "--exec",
            &format!("A=aws-sm://{present}"),
            &format!("B=aws-sm://{name}"),
            "--",
            "true",
        ])
        .output()
        .expect("run");
    let line = fails(o, 78, &["B", &name]);
    assert!(!line.contains(CANARY));
}

#[test]
fn access_denied_is_77() {
    // Four unauthenticated calls for the fixtures; moto checks every later one:
    // the signature against its IAM keys, then the user's policies.
    let moto = AuthMoto::start(4);
    let name = unique("denied");
    let made = fixtures_at(
        &moto.url,
        json!([
            sm_secret(&name, CANARY),
            {"op": "iam_user", "name": "reader", "policy": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "secretsmanager:*", "Resource": "*"},
                    // moto evaluates actions, not resource ARNs, so the deny covers all.
                    {"Effect": "Deny", "Action": ["secretsmanager:GetSecretValue",
                                                  "secretsmanager:BatchGetSecretValue"],
                     "Resource": "*"}
                ]
            }},
        ]),
    );
    let key_id = made[1]["key_id"].as_str().expect("key id").to_string();
    let secret = made[1]["secret"].as_str().expect("key secret").to_string();
    let home = Home::new();
    let cmd = |key: &str, sk: &str| {
        let mut c = home.cmd();
        aws_env(&mut c, home.path(), &moto.url);
        c.env("AWS_ACCESS_KEY_ID", key)
            .env("AWS_SECRET_ACCESS_KEY", sk)
            .env("AWS_REGION", REGION)
            .args([
                "run",
                "--exec",
                &format!("K=aws-sm://{name}"),
                "--",
                "sh",
                "-c",
                "printf %s \"$K\"",
            ]);
        c.output().expect("run")
    };
    // A valid key whose policy denies reading.
    let line = fails(cmd(&key_id, &secret), 77, &["K", &name]);
    assert!(!line.contains(CANARY) && !line.contains(&secret), "{line}");
    // A wrong secret key for a known key id: the signature fails.
    let line = fails(
        cmd(&key_id, "wrong-secret-key"),
        77,
        &["K", &name, "credentials"],
    );
    assert!(!line.contains(CANARY), "{line}");
    // An unknown key id.
    fails(cmd("AKIAUNKNOWNUNKNOWN12", "x"), 77, &["K"]);
}

#[test]
fn closed_port_fails_fast_and_clearly() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let home = Home::new();
    let started = Instant::now();
    let o = warden(&home)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .args([
            "run",
            "--exec",
            "--timeout",
            "10s",
            "K=aws-sm://anything",
            "--",
            "true",
        ])
        .output()
        .expect("run");
    let took = started.elapsed();
    fails(
        o,
        69,
        &[
            "K",
            "cannot reach AWS Secrets Manager",
            &format!("127.0.0.1:{port}"),
            "refused",
        ],
    );
    assert!(
        took < Duration::from_secs(3),
        "took {took:?}: no retries on a refused connection"
    );
}

#[test]
fn silent_listener_fails_within_the_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    // Accept and hold every connection, never answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            match conn {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
    });
    let home = Home::new();
    for refs in [
        vec!["K=aws-sm://silent".to_string()],
        vec![
            "K=aws-sm://s1".into(),
            "L=aws-sm://s2".into(),
            "M=aws-ssm:///s3".into(),
        ],
    ] {
        let started = Instant::now();
        let o = warden(&home)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .args(["run", "--exec", "--timeout", "1500ms"])
            .args(&refs)
            .args(["--", "true"])
            .output()
            .expect("run");
        let took = started.elapsed();
        fails(o, 69, &["K", "did not answer", &port.to_string()]);
        assert!(took >= Duration::from_millis(1000), "took {took:?}");
        assert!(
            took < Duration::from_millis(4000),
            "took {took:?}: over --timeout"
        );
    }
}

#[test]
fn missing_region_and_missing_credentials_are_78_with_a_hint() {
    let home = Home::new();
    let mut c = home.cmd();
    aws_env(&mut c, home.path(), &moto_url());
    let o = c
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(["run", "--exec", "K=aws-sm://x", "--", "true"])
        .output()
        .expect("run");
    fails(
        o,
        78,
        &["K", "no AWS region", "--vault-region", "AWS_REGION"],
    );

    let mut c = home.cmd();
    aws_env(&mut c, home.path(), &moto_url());
    let o = c
        .env("AWS_REGION", REGION)
        .args(["run", "--exec", "K=aws-sm://x", "--", "true"])
        .output()
        .expect("run");
    fails(o, 78, &["K", "no AWS credentials", "AWS_ACCESS_KEY_ID"]);
}

#[test]
fn service_specific_endpoint_variables_win() {
    let home = Home::new();
    let name = unique("ep");
    let param = format!("/{}", unique("ep"));
    fixtures(json!([
        sm_secret(&name, "via-service-endpoint"),
        {"op": "ssm_put", "name": param, "value": "ssm-via-service-endpoint"},
    ]));
    let closed = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let o = warden(&home)
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
        .env("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_url())
        .env("AWS_ENDPOINT_URL_SSM", moto_url())
        .args([
            "run",
            "--exec",
            &format!("A=aws-sm://{name}"),
            &format!("B=aws-ssm://{param}"),
            "--",
            "sh",
            "-c",
            "printf '%s,%s' \"$A\" \"$B\"",
        ])
        .output()
        .expect("run");
    assert_eq!(ok(o), "via-service-endpoint,ssm-via-service-endpoint");
}

#[test]
fn twenty_secrets_in_one_run() {
    let home = Home::new();
    let names: Vec<String> = (0..20).map(|i| unique(&format!("twenty{i}"))).collect();
    fixtures(Value::Array(
        names
            .iter()
            .enumerate()
            .map(|(i, n)| sm_secret(n, &format!("value-{i}")))
            .collect(),
    ));
    let mut cmd = warden(&home);
    cmd.args(["run", "--exec"]);
    for (i, n) in names.iter().enumerate() {
        cmd.arg(format!("S{i}=aws-sm://{n}"));
    }
    let script: String = (0..20)
        .map(|i| format!("printf '%s\\n' \"$S{i}\";"))
        .collect();
    let started = Instant::now();
    let o = cmd.args(["--", "sh", "-c", &script]).output().expect("run");
    let took = started.elapsed();
    let out = ok(o);
    let want: String = (0..20).map(|i| format!("value-{i}\n")).collect();
    assert_eq!(out, want);
    eprintln!("20 secrets from moto: {took:?} wall (including process start)");
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

// --- mcp-secret-wrapper invocation -------------------------------------------------

/// An AWS config dir with profile `mw` (region `region`, static keys) and
/// profile `mwproc` (credentials from credential_process).
fn profile_files(dir: &Path, region: &str) -> (PathBuf, PathBuf) {
    let config = dir.join("aws-config");
    let creds = dir.join("aws-credentials");
    let process = r#"printf '{"Version":1,"AccessKeyId":"procid","SecretAccessKey":"procsecret"}'"#;
    std::fs::write(
        &config,
        format!(
            "[profile mw]\nregion = {region}\n\n[profile mwproc]\nregion = {region}\n\
             credential_process = {process}\n"
        ),
    )
    .expect("write config");
    std::fs::write(
        &creds,
        "[mw]\naws_access_key_id = profileid\naws_secret_access_key = profilesecret\n",
    )
    .expect("write credentials");
    (config, creds)
}

/// mcp-warden against moto with neither region nor credentials in the environment.
fn bare_warden(home: &Home) -> Command {
    let mut c = home.cmd();
    aws_env(&mut c, home.path(), &moto_url());
    c
}

#[test]
fn wrapper_bare_ids_with_vault_type_flag_or_env() {
    let home = Home::new();
    let name = unique("wrap");
    fixtures(json!([sm_secret(
        &name,
        &json!({"token": "tok-1"}).to_string()
    )]));
    let flag = warden(&home)
        .args([
            "run",
            "--exec",
            "--vault-type=aws",
            &format!("K={name}#token"),
            "--",
        ])
        .args(["sh", "-c", "printf %s \"$K\""])
        .output()
        .expect("run");
    assert_eq!(ok(flag), "tok-1");
    let env = warden(&home)
        .env("VAULT_TYPE", "aws")
        .args([
            "run",
            "--exec",
            &format!("K={name}#token"),
            "--",
            "sh",
            "-c",
            "printf %s \"$K\"",
        ])
        .output()
        .expect("run");
    assert_eq!(ok(env), "tok-1");
    // Arguments after `--` are the child's, even when they look like ours.
    let passthrough = warden(&home)
        .args([
            "run",
            "--exec",
            "--vault-type",
            "aws",
            &format!("K={name}#token"),
            "--",
        ])
        .args([
            "printf",
            "%s|",
            "--vault-region=zz-nowhere-1",
            "X=aws-sm://nope",
        ])
        .output()
        .expect("run");
    assert_eq!(
        ok(passthrough),
        "--vault-region=zz-nowhere-1|X=aws-sm://nope|"
    );
}

#[test]
fn wrapper_vault_region_flag_and_env() {
    let home = Home::new();
    let name = unique("wrapregion");
    fixtures(
        json!([{"op": "sm_create", "name": name, "string": "in-eu-west-2", "region": "eu-west-2"}]),
    );
    let with_flag = bare_warden(&home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args([
            "run",
            "--exec",
            "--vault-type=aws",
            "--vault-region=eu-west-2",
            &format!("K={name}"),
        ])
        .args(["--", "sh", "-c", "printf %s \"$K\""])
        .output()
        .expect("run");
    assert_eq!(ok(with_flag), "in-eu-west-2");
    // CLI wins over the environment, per key.
    let cli_wins = bare_warden(&home)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("VAULT_TYPE", "aws")
        .env("VAULT_REGION", "ap-northeast-1")
        .args([
            "run",
            "--exec",
            "--vault-region=eu-west-2",
            &format!("K={name}"),
        ])
        .args(["--", "sh", "-c", "printf %s \"$K\""])
        .output()
        .expect("run");
    assert_eq!(ok(cli_wins), "in-eu-west-2");
    // --vault-region also beats AWS_REGION.
    let over_aws_region = warden(&home)
        .args([
            "run",
            "--exec",
            "--vault-type=aws",
            "--vault-region",
            "eu-west-2",
            &format!("K={name}"),
        ])
        .args(["--", "sh", "-c", "printf %s \"$K\""])
        .output()
        .expect("run");
    assert_eq!(ok(over_aws_region), "in-eu-west-2");
}

#[test]
fn wrapper_vault_profile_reads_the_aws_config_files() {
    let home = Home::new();
    let name = unique("wrapprofile");
    fixtures(
        json!([{"op": "sm_create", "name": name, "string": "via-profile", "region": "ap-southeast-2"}]),
    );
    let (config, creds) = profile_files(home.path(), "ap-southeast-2");
    for profile in ["mw", "mwproc"] {
        let o = bare_warden(&home)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .args([
                "run",
                "--exec",
                "--vault-type=aws",
                &format!("--vault-profile={profile}"),
                &format!("K={name}"),
            ])
            .args(["--", "sh", "-c", "printf %s \"$K\""])
            .output()
            .expect("run");
        assert_eq!(ok(o), "via-profile", "profile {profile}");
    }
    // ?profile= on the reference, and a profile that does not exist.
    let o = bare_warden(&home)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .args([
            "run",
            "--exec",
            &format!("K=aws-sm://{name}?profile=mw"),
            "--",
            "sh",
            "-c",
            "printf %s \"$K\"",
        ])
        .output()
        .expect("run");
    assert_eq!(ok(o), "via-profile");
    let o = bare_warden(&home)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("AWS_REGION", REGION)
        .args([
            "run",
            "--exec",
            &format!("K=aws-sm://{name}?profile=nosuch"),
            "--",
            "true",
        ])
        .output()
        .expect("run");
    fails(o, 78, &["K", "nosuch"]);
}

#[test]
fn wrapper_env_only_configuration_and_nothing_leaks_to_the_child() {
    let home = Home::new();
    let name = unique("wrapenv");
    fixtures(
        json!([{"op": "sm_create", "name": name, "string": "env-only", "region": "eu-west-3"}]),
    );
    let (config, creds) = profile_files(home.path(), "us-west-1");
    let o = bare_warden(&home)
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
        .env("VAULT_TYPE", "aws")
        .env("VAULT_REGION", "eu-west-3")
        .env("VAULT_PROFILE", "mw")
        .env("UNRELATED_SETTING", "kept")
        .args(["run", "--exec", &format!("K={name}"), "--", "env"])
        .output()
        .expect("run");
    let env = ok(o);
    assert!(env.lines().any(|l| l == "K=env-only"), "{env}");
    assert!(env.lines().any(|l| l == "UNRELATED_SETTING=kept"), "{env}");
    let leaked: Vec<&str> = env
        .lines()
        .filter(|l| l.starts_with("VAULT_") || l.starts_with("AWS_"))
        .collect();
    assert!(leaked.is_empty(), "reached the child: {leaked:?}");
}

#[test]
fn wrapper_credentials_in_argv_are_refused_without_echo() {
    let home = Home::new();
    let o = warden(&home)
        .args([
            "run",
            "--exec",
            "--vault-type=aws",
            &format!("--vault-secretAccessKey={CANARY}"),
            "K=x",
        ])
        .args(["--", "true"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    assert!(!stderr(&o).contains(CANARY));
}

// --- secret set/get/ls/rm on AWS ----------------------------------------------------

fn secret_cmd(home: &Home, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut c = warden(home);
    c.arg("secret").args(args);
    if let Some(s) = stdin {
        c.write_stdin(s.to_string());
    }
    c.output().expect("secret")
}

#[test]
fn secret_verbs_on_secrets_manager() {
    let home = Home::new();
    let prefix = unique("verb");
    let r = format!("aws-sm://{prefix}/db");
    let o = secret_cmd(&home, &["set", &r], Some("first"));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("created"), "{}", stderr(&o));
    let o = secret_cmd(&home, &["set", &r], Some("second"));
    assert!(stderr(&o).contains("updated"), "{}", stderr(&o));
    assert_eq!(ok(secret_cmd(&home, &["get", &r], None)), "second");
    assert_eq!(
        ok(run_print(
            &home,
            &[&format!("K={r}?version-stage=AWSPREVIOUS")]
        )),
        "first"
    );
    let listed = ok(secret_cmd(
        &home,
        &["ls", &format!("aws-sm://{prefix}/"), "--json"],
        None,
    ));
    let rows = json_lines(&listed);
    assert_eq!(rows.len(), 1, "{listed}");
    assert_eq!(rows[0]["name"], format!("{prefix}/db"));
    assert!(
        rows[0]["created"].is_string() && rows[0]["updated"].is_string(),
        "{listed}"
    );
    assert!(!listed.contains("second"));
    let o = secret_cmd(&home, &["rm", &r], None);
    assert!(o.status.success(), "{}", stderr(&o));
    // Scheduled for deletion (30-day recovery window): no longer readable.
    let o = secret_cmd(&home, &["get", &r], None);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
}

#[test]
fn secret_verbs_on_parameter_store() {
    let home = Home::new();
    let base = format!("/{}", unique("verb-ssm"));
    let r = format!("aws-ssm://{base}/key");
    let o = secret_cmd(&home, &["set", &r], Some("one"));
    assert!(stderr(&o).contains("created"), "{}", stderr(&o));
    let o = secret_cmd(&home, &["set", &r], Some("two"));
    assert!(stderr(&o).contains("updated"), "{}", stderr(&o));
    assert_eq!(ok(secret_cmd(&home, &["get", &r], None)), "two");
    let listed = ok(secret_cmd(
        &home,
        &["ls", &format!("aws-ssm://{base}/"), "--json"],
        None,
    ));
    assert!(listed.contains(&format!("{base}/key")), "{listed}");
    assert!(listed.contains("\"version\":\"2\""), "{listed}");
    assert!(ok(secret_cmd(&home, &["rm", &r], None)).is_empty());
    let o = secret_cmd(&home, &["get", &r], None);
    assert_eq!(o.status.code(), Some(78), "{}", stderr(&o));
}

// --- hygiene ---------------------------------------------------------------------------

#[test]
fn values_never_reach_stderr_on_failure() {
    let home = Home::new();
    let (json_name, plain) = (unique("canary-json"), unique("canary-plain"));
    fixtures(json!([
        sm_secret(
            &json_name,
            &json!({"user": CANARY, "list": [CANARY]}).to_string()
        ),
        sm_secret(&plain, CANARY),
    ]));
    let cases: Vec<Vec<String>> = vec![
        // Selector misses on a secret that holds the canary.
        vec![format!("K=aws-sm://{json_name}#nope")],
        vec![format!("K=aws-sm://{json_name}#list")],
        vec![format!("K=aws-sm://{json_name}#user.deeper")],
        // The canary resolves, another reference fails.
        vec![
            format!("A=aws-sm://{plain}"),
            format!("K=aws-sm://{}", unique("gone")),
        ],
        vec![
            format!("A=aws-sm://{plain}"),
            "K=aws-sm://x?bogus=1".to_string(),
        ],
        // A selector on a non-JSON value.
        vec![format!("K=aws-sm://{plain}#field")],
    ];
    for args in cases {
        let o = warden(&home)
            .args(["run", "--exec"])
            .args(&args)
            .args(["--", "true"])
            .output()
            .expect("run");
        assert!(!o.status.success(), "{args:?} succeeded");
        let err = stderr(&o);
        assert!(!err.contains(CANARY), "{args:?} leaked: {err}");
        assert!(!err.is_empty());
    }
    // Nor on a timeout of one reference while another resolved.
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let o = warden(&home)
        .env("AWS_ENDPOINT_URL_SSM", format!("http://127.0.0.1:{port}"))
        .args([
            "run",
            "--exec",
            "--timeout",
            "1s",
            &format!("A=aws-sm://{plain}"),
            "K=aws-ssm:///x",
        ])
        .args(["--", "true"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(69), "{}", stderr(&o));
    assert!(!stderr(&o).contains(CANARY));
}

// --- metadata (library level) ----------------------------------------------------------

/// `describe` and `list` through the library. The SDK reads its settings from the
/// process environment, so the checks run in a child process of this test binary
/// (`metadata_child`) with the AWS environment set, not by mutating ours.
#[test]
fn describe_and_list_give_metadata_never_values() {
    let name = unique("meta");
    let param = format!("/{}/p", unique("meta"));
    fixtures(json!([
        sm_secret(&name, CANARY),
        {"op": "sm_put", "name": name, "string": CANARY},
        {"op": "ssm_put", "name": param, "value": CANARY},
        {"op": "ssm_put", "name": param, "value": CANARY},
    ]));
    let home = Home::new();
    let mut c = Command::new(std::env::current_exe().expect("test binary"));
    c.env("HOME", home.path());
    moto_env(&mut c, home.path(), &moto_url());
    let o = c
        .env("MW_META_SECRET", &name)
        .env("MW_META_PARAM", &param)
        .env("MW_META_HOME", home.path())
        .args([
            "--exact",
            "metadata_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .output()
        .expect("run the metadata child");
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(o.status.success(), "{all}");
    assert!(all.contains("1 passed"), "the child ran no test: {all}");
    assert!(!all.contains(CANARY), "a value leaked: {all}");
}

#[test]
#[ignore = "run by describe_and_list_give_metadata_never_values in a child process"]
fn metadata_child() {
    use mcp_warden::backend::{ErrorKind, Registry, Settings};
    use mcp_warden::paths::Paths;
    use mcp_warden::reference::{Scheme, SecretRef};

    let var =
        |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} unset: run by its parent test"));
    let (name, param, home) = (
        var("MW_META_SECRET"),
        var("MW_META_PARAM"),
        var("MW_META_HOME"),
    );
    let registry = Registry::new(Settings {
        paths: Paths::at(PathBuf::from(home)),
        aws_region: None,
        aws_profile: None,
        timeout: Duration::from_secs(10),
        cloud: Default::default(),
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let reference = |s: String| SecretRef::parse(&s).expect("reference");
        let sm = registry.get(Scheme::AwsSm).expect("aws-sm backend");
        let info = sm
            .describe(&reference(format!("aws-sm://{name}")))
            .await
            .expect("describe secret");
        assert_eq!(info.name, name);
        assert!(info.created.is_some() && info.updated.is_some(), "{info:?}");
        assert!(info.version.is_some(), "{info:?}");
        let listed = sm.list(&name, &[]).await.expect("list secrets");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].name, name);
        let missing = sm
            .describe(&reference(format!("aws-sm://{name}-absent")))
            .await
            .expect_err("absent secret");
        assert_eq!(missing.kind, ErrorKind::NotFound);

        let ssm = registry.get(Scheme::AwsSsm).expect("aws-ssm backend");
        let info = ssm
            .describe(&reference(format!("aws-ssm://{param}")))
            .await
            .expect("describe parameter");
        assert_eq!(info.name, param);
        assert_eq!(info.version.as_deref(), Some("2"));
        assert!(info.updated.is_some(), "{info:?}");
        let prefix = param.trim_end_matches("/p");
        let listed = ssm.list(prefix, &[]).await.expect("list parameters");
        assert_eq!(listed.len(), 1, "{listed:?}");
        let bad = ssm
            .list(prefix, &[("version".into(), "1".into())])
            .await
            .expect_err("unknown list parameter");
        assert_eq!(bad.kind, ErrorKind::Config);
        eprintln!("{info:?}");
    });
}

#[test]
fn mcp_secret_wrapper_keys_come_from_a_stored_reference() {
    let name = unique("stored-keys");
    fixtures(json!([sm_secret(&name, CANARY)]));
    let home = Home::new();
    home.set("aws-secret-key", b"testing");
    // No AWS credentials in the environment: only the stored ones can work.
    let mut c = home.cmd();
    aws_env(&mut c, home.path(), &moto_url());
    let o = c
        .env("AWS_REGION", REGION)
        .args([
            "run",
            "--exec",
            "--vault-type=aws",
            "--vault-accessKeyId=testing",
        ])
        .arg("--vault-secretAccessKeyRef=local://aws-secret-key")
        .arg(format!("K={name}"))
        .args(["--", "sh", "-c", "printf %s \"$K\""])
        .output()
        .expect("run");
    assert_eq!(ok(o), CANARY);
}
