//! The `op://` backend against two STAND-INS: a 1Password Connect server
//! (tests/standins/op_connect.py: the documented Connect REST API over TLS
//! with a private CA made per test, tokens scoped to vaults) and the `op`
//! CLI (tests/standins/op_cli.py: the CLI's documented commands, JSON output
//! and error lines).
//!
//! Fidelity: 1Password's official Connect Python SDK (onepasswordconnectsdk,
//! tests/standins/sdk_op.py) creates the items, fields, sections and reads
//! attachments through the Connect stand-in, and mcp-warden reads the same
//! items (and the SDK reads back what mcp-warden writes), so the stand-in
//! speaks what 1Password's own client speaks.

#![cfg(unix)]

mod common;
mod standins;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::output::{fails, ok};
use common::{CANARY, Home, print_vars};
use serde_json::{Value, json};
use standins::{Pki, StandIn};

/// Vault and item names with spaces, as 1Password users write them.
const VAULT: &str = "Dev Vault";
const OTHER_VAULT: &str = "Other";
const ITEM: &str = "GitHub Deploy";

/// Tokens are canary-marked: a leak into any output shows.
fn token() -> String {
    format!("{CANARY}-connect-rw")
}
fn read_token() -> String {
    format!("{CANARY}-connect-ro")
}
fn other_token() -> String {
    format!("{CANARY}-connect-other")
}
fn sa_token() -> String {
    format!("ops_{CANARY}-service-account")
}

fn value(tag: &str) -> String {
    format!("{CANARY}-{tag}")
}

struct Op {
    home: Home,
    connect: StandIn,
    pki: Pki,
    bin: PathBuf,
}

impl Op {
    fn new() -> Op {
        Op::with(|_| {})
    }

    fn with(tweak: impl FnOnce(&mut Value)) -> Op {
        let home = Home::new();
        let work = home.path().join("work");
        let pki = Pki::new(&work);
        let mut cfg = json!({
            "vaults": [{"name": VAULT}, {"name": OTHER_VAULT}],
            "tokens": {
                token(): {"vaults": "*", "write": true},
                read_token(): {"vaults": [VAULT], "write": false},
                other_token(): {"vaults": [OTHER_VAULT], "write": true},
            },
            "items": [{
                "vault": VAULT, "title": "Deploy Keys", "category": "SECURE_NOTE",
                "sections": [{"id": "keys", "label": "Keys"}],
                "fields": [{"id": "notesPlain", "type": "STRING", "purpose": "NOTES", "label": "notesPlain", "value": "n"}],
                "files": [{"name": "key.pem", "content": value("attachment"), "section": "keys"}],
            }],
        });
        tweak(&mut cfg);
        let connect = StandIn::start("op_connect", &cfg, &pki, &work);
        let bin = home.path().join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        Op {
            home,
            connect,
            pki,
            bin,
        }
    }

    /// The official SDK, with the read-write token.
    fn sdk(&self, args: &[&str], stdin: &[u8]) -> String {
        let url = self.connect.url();
        let ca = self.pki.ca().to_string_lossy().into_owned();
        let t = token();
        let mut a = vec!["--url", &url, "--token", &t, "--ca", &ca];
        a.extend_from_slice(args);
        String::from_utf8(self.connect.sdk("sdk_op.py", &a, stdin)).expect("utf8")
    }

    /// Creates the standard item through the SDK: a password, `token` in two
    /// sections, a field with a known ID and a label with spaces.
    fn seed(&self) {
        let spec = json!({
            "title": ITEM, "category": "LOGIN",
            "sections": [{"id": "admin", "label": "Admin"}, {"id": "ops", "label": "Ops"}],
            "fields": [
                {"label": "password", "value": value("password"), "type": "CONCEALED", "purpose": "PASSWORD"},
                {"label": "token", "value": value("admin-token"), "type": "CONCEALED", "section": "admin"},
                {"label": "token", "value": value("ops-token"), "type": "CONCEALED", "section": "ops"},
                {"label": "api key", "value": value("api-key"), "type": "CONCEALED", "section": "admin"},
            ],
        });
        let id = self.sdk(&["create", VAULT], spec.to_string().as_bytes());
        assert_eq!(id.trim().len(), 26, "{id}");
    }

    /// mcp-warden with Connect configured (the read-write token) and no other 1Password setting.
    fn cmd(&self) -> Command {
        self.cmd_with(&token())
    }

    fn cmd_with(&self, t: &str) -> Command {
        let mut c = self.home.cmd();
        common::env::strip_env(&mut c, &["OP_"]);
        c.env("OP_CONNECT_HOST", self.connect.url())
            .env("OP_CONNECT_TOKEN", t)
            .env("SSL_CERT_FILE", self.pki.ca())
            .env_remove("SSL_CERT_DIR");
        c
    }

    /// mcp-warden with the `op` stand-in first on PATH and a service account token.
    fn cli_cmd(&self, account: &Value) -> Command {
        self.install_op(account);
        let mut c = self.home.cmd();
        common::env::strip_env(&mut c, &["OP_"]);
        c.env(
            "PATH",
            format!(
                "{}:{}",
                self.bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("OP_SERVICE_ACCOUNT_TOKEN", sa_token());
        c
    }

    fn op_log_path(&self) -> PathBuf {
        self.home.path().join("op-log.jsonl")
    }

    /// The argv of every `op` run so far.
    fn op_runs(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.op_log_path())
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("log line");
                common::output::strings(&v["argv"])
            })
            .collect()
    }

    /// The names of the `OP_*` variables each `op` run saw.
    fn op_envs(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.op_log_path())
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("log line");
                common::output::strings(&v["env"])
            })
            .collect()
    }

    /// Writes the account file and an `op` on PATH that runs the stand-in with it.
    fn install_op(&self, account: &Value) {
        let mut account = account.clone();
        account["log"] = json!(self.op_log_path());
        let data = self.home.path().join("op-account.json");
        std::fs::write(&data, account.to_string()).expect("account");
        let op = self.bin.join("op");
        std::fs::write(
            &op,
            format!(
                "#!/bin/sh\nexec '{}' '{}' --standin-data '{}' \"$@\"\n",
                standins::python(),
                standins::script("op_cli.py"),
                data.display()
            ),
        )
        .expect("op");
        std::fs::set_permissions(&op, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

/// References to SDK-made fields and the `print_vars` output they give.
struct Fields {
    assignments: Vec<String>,
    expected: String,
}

impl Op {
    /// `items` items titled "`title` N" with `fields` concealed fields f0,
    /// f1, ... each, made with the official SDK; referenced by name as
    /// "item N" (lower case) from VAULT.
    fn items(&self, title: &str, items: usize, fields: usize) -> Fields {
        let mut out = Fields {
            assignments: Vec::new(),
            expected: String::new(),
        };
        for i in 0..items {
            let list: Vec<Value> = (0..fields)
                .map(|f| json!({"label": format!("f{f}"), "value": value(&format!("{i}-{f}")), "type": "CONCEALED"}))
                .collect();
            let spec =
                json!({"title": format!("{title} {i}"), "category": "LOGIN", "fields": list});
            self.sdk(&["create", VAULT], spec.to_string().as_bytes());
            for f in 0..fields {
                let at = r(&format!("{VAULT}/item {i}/f{f}"));
                out.assignments.push(format!("V{i}_{f}={at}"));
                out.expected.push_str(&value(&format!("{i}-{f}")));
                out.expected.push('|');
            }
        }
        out
    }
}

/// An account for the `op` stand-in: the standard item, an attachment and an OTP field.
fn cli_account() -> Value {
    json!({
        "service_account_token": sa_token(),
        "whoami": {"url": "standin.1password.com", "user_type": "SERVICE_ACCOUNT"},
        "vaults": [{"id": "vvvvvvvvvvvvvvvvvvvvvvvvv1", "name": VAULT}],
        "items": [
            {"vault": VAULT, "id": "iiiiiiiiiiiiiiiiiiiiiiiii1", "title": ITEM,
             "created_at": "2024-01-02T03:04:05Z", "updated_at": "2024-03-04T05:06:07Z",
             "sections": [{"id": "admin", "label": "Admin"}, {"id": "ops", "label": "Ops"}],
             "fields": [
                {"id": "password", "type": "CONCEALED", "purpose": "PASSWORD", "label": "password", "value": value("password")},
                {"id": "t1", "type": "CONCEALED", "label": "token", "value": value("admin-token"), "section": "admin"},
                {"id": "t2", "type": "CONCEALED", "label": "token", "value": value("ops-token"), "section": "ops"},
                {"id": "otp1", "type": "OTP", "label": "one-time password", "value": "otpauth://totp/x?secret=ABC"},
             ],
             "files": [{"id": "file1", "name": "key.pem", "content": value("attachment")}]},
            {"vault": VAULT, "id": "iiiiiiiiiiiiiiiiiiiiiiiii2", "title": "Second",
             "fields": [{"id": "credential", "type": "CONCEALED", "label": "credential", "value": value("second")}]},
        ],
    })
}

/// stdout of a successful run; no canary on stderr.
fn got(o: std::process::Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains(CANARY), "a value leaked: {err}");
    ok(o)
}

fn r(loc: &str) -> String {
    format!("op://{loc}")
}

// --- Connect: reading what 1Password's own SDK wrote -------------------------------

#[test]
fn sdk_written_fields_read_by_label_id_and_section_in_one_item_request() {
    let o = Op::new();
    o.seed();
    let fields = o.sdk(&["fields", VAULT, ITEM], b"");
    assert!(
        fields.contains("\"Admin/token\"") && fields.contains("\"Ops/token\""),
        "{fields}"
    );
    // The SDK reads its own values back through the stand-in.
    assert_eq!(
        o.sdk(&["get", VAULT, ITEM, "token", "Ops"], b""),
        value("ops-token")
    );
    let before = o.connect.count("item_get");
    let out = got(print_vars(
        o.cmd(),
        &[
            &format!("P={}", r(&format!("{VAULT}/{ITEM}/password"))),
            &format!("A={}", r(&format!("{VAULT}/{ITEM}/Admin/token"))),
            &format!("B={}", r(&format!("{VAULT}/{ITEM}/ops/TOKEN"))),
            &format!("K={}", r(&format!("{VAULT}/{ITEM}/api key"))),
        ],
    ));
    assert_eq!(
        out,
        format!(
            "{}|{}|{}|{}|",
            value("password"),
            value("admin-token"),
            value("ops-token"),
            value("api-key")
        )
    );
    assert_eq!(
        o.connect.count("item_get") - before,
        1,
        "four fields of one item: one item request"
    );
}

#[test]
fn fields_and_items_by_id() {
    let o = Op::new();
    let spec = json!({"title": "By Id", "category": "API_CREDENTIAL",
        "fields": [{"label": "credential", "value": value("by-id"), "type": "CONCEALED"}]});
    let item_id = o.sdk(&["create", VAULT], spec.to_string().as_bytes());
    let item_id = item_id.trim();
    // The field's ID as Connect assigned it, read with the SDK's own model.
    let spec = json!({"title": "Known Field", "category": "LOGIN",
        "fields": [{"label": "pw", "value": value("known"), "type": "CONCEALED"}]});
    o.sdk(&["create", VAULT], spec.to_string().as_bytes());
    let out = got(print_vars(
        o.cmd(),
        &[
            &format!("A={}", r(&format!("{VAULT}/{item_id}/credential"))),
            &format!(
                "T={}",
                r(&format!("{VAULT}/{item_id}/credential?attribute=type"))
            ),
        ],
    ));
    assert_eq!(out, format!("{}|CONCEALED|", value("by-id")));
    // A field named by its ID: ask for the ID first, then use it.
    let id = got(print_vars(
        o.cmd(),
        &[&format!(
            "I={}",
            r(&format!("{VAULT}/Known Field/pw?attribute=id"))
        )],
    ));
    let id = id.trim_end_matches('|');
    assert_eq!(id.len(), 26, "{id}");
    let out = got(print_vars(
        o.cmd(),
        &[&format!("V={}", r(&format!("{VAULT}/Known Field/{id}")))],
    ));
    assert_eq!(out, format!("{}|", value("known")));
}

#[test]
fn twenty_fields_in_five_items_are_five_concurrent_item_requests() {
    let o = Op::new();
    let Fields {
        assignments,
        expected,
    } = o.items("item", 5, 4);
    let (gets, lists, vaults) = (
        o.connect.count("item_get"),
        o.connect.count("item_list"),
        o.connect.count("vault_list"),
    );
    let a: Vec<&str> = assignments.iter().map(String::as_str).collect();
    assert_eq!(got(print_vars(o.cmd(), &a)), expected);
    assert_eq!(
        o.connect.count("item_get") - gets,
        5,
        "one request per item"
    );
    assert_eq!(
        o.connect.count("item_list") - lists,
        5,
        "one title lookup per item"
    );
    assert_eq!(
        o.connect.count("vault_list") - vaults,
        1,
        "the vault is looked up once"
    );
    // The five item requests overlapped in time.
    let log = o.connect.log();
    let times: Vec<f64> = log
        .iter()
        .filter(|e| e["kind"] == "item_get")
        .rev()
        .take(5)
        .map(|e| e["t"].as_f64().unwrap_or(0.0))
        .collect();
    let spread = times.iter().cloned().fold(f64::MIN, f64::max)
        - times.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread < 1.0, "item requests were not concurrent: {times:?}");
}

#[test]
fn attachments_read_as_the_sdk_reads_them() {
    let o = Op::new();
    assert_eq!(
        o.sdk(&["file", VAULT, "Deploy Keys", "key.pem"], b""),
        value("attachment")
    );
    let out = got(print_vars(
        o.cmd(),
        &[
            &format!("F={}", r(&format!("{VAULT}/Deploy Keys/key.pem"))),
            &format!(
                "S={}",
                r(&format!("{VAULT}/Deploy Keys/Keys/key.pem?attribute=size"))
            ),
            &format!(
                "N={}",
                r(&format!("{VAULT}/Deploy Keys/key.pem?attribute=name"))
            ),
        ],
    ));
    let size = value("attachment").len();
    assert_eq!(out, format!("{}|{size}|key.pem|", value("attachment")));
    assert_eq!(o.connect.count("file_content"), 2, "the SDK's and ours");
}

// --- Connect: errors ------------------------------------------------------------

#[test]
fn refused_missing_and_throttled_answers_are_one_line_with_the_right_code() {
    let o = Op::new();
    o.seed();
    let pw = format!("P={}", r(&format!("{VAULT}/{ITEM}/password")));
    // 401: a token the server does not know.
    let e = fails(
        print_vars(o.cmd_with(&format!("{CANARY}-unknown")), &[&pw]),
        77,
        &["401", "OP_CONNECT_TOKEN was refused"],
    );
    assert!(!e.contains("Bearer"), "{e}");
    // 403: a token for another vault (its ID given, so no name lookup hides it).
    let vault_id = {
        got(print_vars(
            o.cmd(),
            &[&format!(
                "I={}",
                r(&format!("{VAULT}/{ITEM}/password?attribute=id"))
            )],
        ));
        // The vault's ID, as the item request named it.
        o.connect
            .log()
            .iter()
            .rev()
            .find(|e| e["kind"] == "item_get")
            .and_then(|e| e["vault"].as_str().map(str::to_string))
            .expect("vault id")
    };
    fails(
        print_vars(
            o.cmd_with(&other_token()),
            &[&format!("P={}", r(&format!("{vault_id}/{ITEM}/password")))],
        ),
        77,
        &["403", "not in scope"],
    );
    // 404: no such item, no such field.
    fails(
        print_vars(
            o.cmd(),
            &[&format!("P={}", r(&format!("{VAULT}/Nope/password")))],
        ),
        78,
        &["no item \"Nope\""],
    );
    fails(
        print_vars(
            o.cmd(),
            &[&format!("P={}", r(&format!("{VAULT}/{ITEM}/nope")))],
        ),
        78,
        &["no field or file \"nope\""],
    );
    // 429 twice, then an answer: retried, honouring Retry-After. One
    // request (the vault by ID, the item's ID cached), so both meet it in turn.
    let one = format!("P={}", r(&format!("{vault_id}/{ITEM}/password")));
    o.connect.fail_next(2, 429, Some(1));
    let start = Instant::now();
    assert_eq!(
        got(print_vars(o.cmd(), &[&one])),
        format!("{}|", value("password"))
    );
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "Retry-After was not honoured"
    );
    // Throttled past the retries: unreachable (69).
    o.connect.fail_next(3, 429, None);
    fails(print_vars(o.cmd(), &[&one]), 69, &["429", "throttled"]);
}

#[test]
fn a_label_in_two_sections_is_refused_naming_both() {
    let o = Op::new();
    o.seed();
    let e = fails(
        print_vars(
            o.cmd(),
            &[&format!("T={}", r(&format!("{VAULT}/{ITEM}/token")))],
        ),
        78,
        &["ambiguous", "\"Admin\"", "\"Ops\""],
    );
    assert!(
        !e.contains("admin-token") && !e.contains("ops-token"),
        "{e}"
    );
}

#[test]
fn via_connect_without_connect_settings_is_a_config_error() {
    let o = Op::new();
    let mut c = o.home.cmd();
    common::env::strip_env(&mut c, &["OP_"]);
    fails(
        print_vars(c, &["P=op://v/i/f?via=connect"]),
        78,
        &["OP_CONNECT_HOST and OP_CONNECT_TOKEN"],
    );
}

// --- Connect: writes, ls, protect and restore ------------------------------------

#[test]
fn mcp_warden_writes_through_connect_and_the_sdk_reads() {
    let o = Op::new();
    let target = r(&format!("{VAULT}/New Item/api key"));
    let set = |c: Command, v: &str| {
        let mut c = c;
        c.args(["secret", "set", &target])
            .write_stdin(v.to_string())
            .output()
            .expect("set")
    };
    let out = set(o.cmd(), &value("first"));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success() && err.contains("created"), "{err}");
    assert!(!err.contains(CANARY), "{err}");
    assert!(
        err.contains("op://Dev Vault/New Item/api key"),
        "spaces kept: {err}"
    );
    assert_eq!(
        o.sdk(&["get", VAULT, "New Item", "api key"], b""),
        value("first")
    );
    let out = set(o.cmd(), &value("second"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("updated"));
    assert_eq!(
        o.sdk(&["get", VAULT, "New Item", "api key"], b""),
        value("second")
    );
    // A second field goes into the same item.
    o.cmd()
        .args(["secret", "set", &r(&format!("{VAULT}/New Item/other"))])
        .write_stdin(value("other"))
        .assert()
        .success();
    let fields = o.sdk(&["fields", VAULT, "New Item"], b"");
    assert!(
        fields.contains("\"/api key\"") && fields.contains("\"/other\""),
        "{fields}"
    );
    // What the SDK writes (a whole-item PUT), mcp-warden reads.
    o.sdk(
        &["set", VAULT, "New Item", "other"],
        value("by-sdk").as_bytes(),
    );
    assert_eq!(
        got(print_vars(
            o.cmd(),
            &[&format!("V={}", r(&format!("{VAULT}/New Item/other")))]
        )),
        format!("{}|", value("by-sdk"))
    );
    // ls: the vault's items, with times, no values.
    let ls = got(o
        .cmd()
        .args(["secret", "ls", &r(&format!("{VAULT}/New"))])
        .output()
        .expect("ls"));
    assert!(
        ls.contains("Dev Vault/New Item") && !ls.contains(CANARY),
        "{ls}"
    );
    // get prints the value itself.
    let g = o
        .cmd()
        .args(["secret", "get", &target])
        .output()
        .expect("get");
    assert_eq!(String::from_utf8_lossy(&g.stdout), value("second"));
    // rm removes the field, then the item with its last field.
    o.cmd().args(["secret", "rm", &target]).assert().success();
    let fields = o.sdk(&["fields", VAULT, "New Item"], b"");
    assert!(!fields.contains("api key"), "{fields}");
    o.cmd()
        .args(["secret", "rm", &r(&format!("{VAULT}/New Item/other"))])
        .assert()
        .success();
    fails(
        print_vars(
            o.cmd(),
            &[&format!("V={}", r(&format!("{VAULT}/New Item/other")))],
        ),
        78,
        &["no item \"New Item\""],
    );
    // A read-only token cannot write: 403, denied.
    let out = set(o.cmd_with(&read_token()), &value("ro"));
    assert_eq!(
        out.status.code(),
        Some(77),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains(CANARY));
}

#[test]
fn an_item_titled_like_an_id_is_found_by_its_title() {
    let o = Op::new();
    let title = "abcdefghijklmnopqrstuvwxy9";
    let spec = json!({
        "title": title, "category": "LOGIN",
        "fields": [{"label": "credential", "value": value("id-like"), "type": "CONCEALED"}],
    });
    o.sdk(&["create", VAULT], spec.to_string().as_bytes());
    let target = r(&format!("{VAULT}/{title}/credential"));
    assert_eq!(
        got(print_vars(o.cmd(), &[&format!("C={target}")])),
        format!("{}|", value("id-like"))
    );
    o.cmd()
        .args(["secret", "set", &target])
        .write_stdin(value("id-like-2"))
        .assert()
        .success();
    assert_eq!(
        o.sdk(&["get", VAULT, title, "credential"], b""),
        value("id-like-2")
    );
    // In a vault that does not exist, the ID stays not found.
    fails(
        print_vars(
            o.cmd(),
            &[&format!(
                "C={}",
                r(&format!("zzzzzzzzzzzzzzzzzzzzzzzzz1/{title}/credential"))
            )],
        ),
        78,
        &["404"],
    );
}

#[test]
fn a_new_field_lands_in_the_section_reads_look_in() {
    let o = Op::new();
    // SECTION "prod" is one section's ID and another's label: the ID wins.
    let spec = json!({
        "title": "Sections", "category": "LOGIN",
        "sections": [{"id": "s1", "label": "prod"}, {"id": "prod", "label": "Other"},
                     {"id": "k1", "label": "Keys"}, {"id": "k2", "label": "keys"}],
        "fields": [{"label": "user", "value": "u", "type": "STRING", "section": "s1"}],
    });
    o.sdk(&["create", VAULT], spec.to_string().as_bytes());
    let target = r(&format!("{VAULT}/Sections/prod/new"));
    o.cmd()
        .args(["secret", "set", &target])
        .write_stdin(value("new"))
        .assert()
        .success();
    let fields = o.sdk(&["fields", VAULT, "Sections"], b"");
    assert!(fields.contains("\"Other/new\""), "{fields}");
    assert_eq!(
        got(print_vars(o.cmd(), &[&format!("N={target}")])),
        format!("{}|", value("new"))
    );
    // Two sections with one label: refused, nothing added.
    fails(
        o.cmd()
            .args(["secret", "set", &r(&format!("{VAULT}/Sections/Keys/x"))])
            .write_stdin(value("x"))
            .output()
            .expect("set"),
        78,
        &["ambiguous"],
    );
    assert!(!o.sdk(&["fields", VAULT, "Sections"], b"").contains("/x\""));
}

#[test]
fn rm_of_the_last_field_deletes_only_items_mcp_warden_made() {
    let o = Op::new();
    // A Secure Note made in 1Password (no mcp-warden tag), one field.
    let spec = json!({
        "title": "Note", "category": "SECURE_NOTE",
        "fields": [{"label": "notesPlain", "value": value("note"), "type": "STRING", "purpose": "NOTES"}],
    });
    o.sdk(&["create", VAULT], spec.to_string().as_bytes());
    o.cmd()
        .args(["secret", "rm", &r(&format!("{VAULT}/Note/notesPlain"))])
        .assert()
        .success();
    // The item is still there for the SDK to read (it fails on a missing
    // item), without the field.
    let fields = o.sdk(&["fields", VAULT, "Note"], b"");
    assert_eq!(fields.trim(), "{}", "{fields}");
}

#[test]
fn writes_through_the_cli_path_are_refused() {
    let o = Op::new();
    let out = o
        .cli_cmd(&cli_account())
        .args(["secret", "set", &r(&format!("{VAULT}/{ITEM}/new"))])
        .write_stdin(value("x"))
        .output()
        .expect("set");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(78), "{err}");
    assert!(err.contains("1Password Connect only"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(o.op_runs().is_empty(), "nothing was run: {:?}", o.op_runs());
}

#[test]
fn protect_to_op_writes_one_item_per_server_and_restore_undoes_it() {
    let o = Op::new();
    let user = o.home.path().join("user");
    let desktop = user.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(desktop.parent().expect("dir")).expect("dir");
    let token = "ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d";
    let other = "ghp_Q7mZ2kLp9XvR4tYw8NcB3hJd6FsA1eGu5TiK";
    let cfg = json!({"mcpServers": {"github": {
        "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": token, "GITHUB_HOST_TOKEN": other}
    }}});
    let original = cfg.to_string();
    std::fs::write(&desktop, &original).expect("config");
    let out = o
        .cmd()
        .args([
            "protect",
            "--apply",
            "--to",
            &format!("op://{VAULT}/"),
            "--home",
        ])
        .arg(&user)
        .output()
        .expect("protect");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains(token) && !String::from_utf8_lossy(&out.stdout).contains(token));
    let text = std::fs::read_to_string(&desktop).expect("read");
    assert!(!text.contains(token) && !text.contains(other), "{text}");
    let expected = format!("op://{VAULT}/claude-desktop github/GITHUB_PERSONAL_ACCESS_TOKEN");
    assert!(text.contains(&expected), "{text}");
    // One item for the server, both fields in it; 1Password's SDK reads them.
    assert_eq!(
        o.sdk(
            &[
                "get",
                VAULT,
                "claude-desktop github",
                "GITHUB_PERSONAL_ACCESS_TOKEN"
            ],
            b""
        ),
        token
    );
    assert_eq!(
        o.sdk(
            &["get", VAULT, "claude-desktop github", "GITHUB_HOST_TOKEN"],
            b""
        ),
        other
    );
    assert_eq!(o.connect.count("create"), 1, "one item per server");
    o.cmd().args(["restore", "--apply"]).assert().success();
    assert_eq!(std::fs::read_to_string(&desktop).expect("read"), original);
}

// --- inventory and doctor ---------------------------------------------------------

#[test]
fn inventory_shows_item_times_and_doctor_checks_connect_and_the_cli() {
    let o = Op::new();
    o.seed();
    let user = o.home.path().join("user");
    let desktop = user.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(desktop.parent().expect("dir")).expect("dir");
    let cfg = json!({"mcpServers": {"db": {
        "command": "mcp-warden",
        "args": ["run", format!("P=op://{VAULT}/{ITEM}/password"),
                 format!("M=op://{VAULT}/{ITEM}/missing"), "--", "srv"],
    }}});
    std::fs::write(&desktop, cfg.to_string()).expect("config");
    let inv = o
        .cmd()
        .args(["inventory", "--format", "json", "--no-system", "--home"])
        .arg(&user)
        .output()
        .expect("inventory");
    let text = String::from_utf8_lossy(&inv.stdout).into_owned();
    assert!(!text.contains(CANARY) && !String::from_utf8_lossy(&inv.stderr).contains(CANARY));
    let v: Value = serde_json::from_str(&text).expect("inventory json");
    let refs = &v["servers"][0]["references"];
    assert_eq!(refs[0]["age_days"], json!(0), "{text}");
    assert!(
        refs[0]["changed"].is_string(),
        "the item's updated time: {text}"
    );
    assert!(
        refs[1]["error"]
            .as_str()
            .is_some_and(|e| e.contains("no field or file \"missing\"")),
        "{text}"
    );
    o.install_op(&cli_account());
    let mut doc = o.cmd();
    doc.env(
        "PATH",
        format!(
            "{}:{}",
            o.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .env("OP_SERVICE_ACCOUNT_TOKEN", sa_token());
    let doc = doc
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
    assert!(out.contains("backend op") && out.contains("1/2"), "{out}");
    assert!(out.contains("no field or file \"missing\""), "{out}");
    assert!(
        out.contains("ok    1Password Connect: 1Password Connect at 127.0.0.1")
            && out.contains("token accepted (2 vaults)"),
        "{out}"
    );
    assert!(
        out.contains("ok    1Password CLI:") && out.contains("signed in as SERVICE_ACCOUNT"),
        "{out}"
    );
    // A refused token and a signed-out CLI: each a FAIL line with its fix.
    let mut bad = o.cmd_with(&format!("{CANARY}-bad"));
    bad.env(
        "PATH",
        format!(
            "{}:{}",
            o.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    );
    let doc = bad
        .args(["doctor", "--no-system", "--home"])
        .arg(&user)
        .output()
        .expect("doctor");
    let out = String::from_utf8_lossy(&doc.stdout).into_owned();
    assert!(!out.contains(CANARY), "{out}");
    assert!(
        out.contains("FAIL  1Password Connect:") && out.contains("401"),
        "{out}"
    );
    assert!(
        out.contains("FAIL  1Password CLI:") && out.contains("not currently signed in"),
        "{out}"
    );
}

// --- the op CLI path -------------------------------------------------------------

#[test]
fn cli_path_runs_op_once_per_item_and_op_read_for_attachments() {
    let o = Op::new();
    let out = got(print_vars(
        o.cli_cmd(&cli_account()),
        &[
            &format!("P={}", r(&format!("{VAULT}/{ITEM}/password"))),
            &format!("A={}", r(&format!("{VAULT}/{ITEM}/Admin/token"))),
            &format!("B={}", r(&format!("{VAULT}/{ITEM}/t2"))),
            &format!("F={}", r(&format!("{VAULT}/{ITEM}/key.pem"))),
            &format!(
                "O={}",
                r(&format!("{VAULT}/{ITEM}/one-time password?attribute=otp"))
            ),
            &format!("S={}", r(&format!("{VAULT}/Second/credential"))),
        ],
    ));
    assert_eq!(
        out,
        format!(
            "{}|{}|{}|{}|123456|{}|",
            value("password"),
            value("admin-token"),
            value("ops-token"),
            value("attachment"),
            value("second")
        )
    );
    let runs = o.op_runs();
    let gets = runs
        .iter()
        .filter(|a| a.starts_with(&["item".into(), "get".into()]))
        .count();
    let reads: Vec<&Vec<String>> = runs
        .iter()
        .filter(|a| a.first().map(String::as_str) == Some("read"))
        .collect();
    assert_eq!(gets, 2, "one `op item get` per item: {runs:?}");
    assert_eq!(
        reads.len(),
        1,
        "`op read` for the attachment only: {runs:?}"
    );
    // By the IDs our selection chose, never names op could resolve otherwise.
    assert!(
        reads[0]
            .contains(&"op://vvvvvvvvvvvvvvvvvvvvvvvvv1/iiiiiiiiiiiiiiiiiiiiiiiii1/file1".into()),
        "{reads:?}"
    );
    for argv in &runs {
        assert!(
            !argv.iter().any(|a| a.contains(CANARY)),
            "a value in argv: {argv:?}"
        );
    }
    // ls through `op item list`: titles and times, no values.
    let ls = got(o
        .cli_cmd(&cli_account())
        .args(["secret", "ls", &format!("op://{VAULT}/")])
        .output()
        .expect("ls"));
    assert!(
        ls.contains("Dev Vault/GitHub Deploy")
            && ls.contains("Dev Vault/Second")
            && ls.contains("2024-03-04T05:06:07Z")
            && !ls.contains(CANARY),
        "{ls}"
    );
    // The ambiguous label: refused by our selection, naming both sections.
    fails(
        print_vars(
            o.cli_cmd(&cli_account()),
            &[&format!("T={}", r(&format!("{VAULT}/{ITEM}/token")))],
        ),
        78,
        &["\"Admin\" and \"Ops\""],
    );
}

#[test]
fn cli_that_hangs_is_killed_at_the_timeout() {
    let o = Op::new();
    let mut account = cli_account();
    account["mode"] = json!("hang");
    let mut c = o.cli_cmd(&account);
    let start = Instant::now();
    let out = c
        .args(["run", "--exec", "--timeout", "2s"])
        .arg(format!("P={}", r(&format!("{VAULT}/{ITEM}/password"))))
        .args(["--", "true"])
        .output()
        .expect("run");
    let took = start.elapsed();
    fails(out, 69, &["did not answer in time"]);
    assert!(took < Duration::from_secs(6), "took {took:?}");
    // The hanging `op` is gone (killed, not left behind).
    let data = o.home.path().join("op-account.json");
    let alive = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|cmd| String::from_utf8_lossy(&cmd).contains(&*data.to_string_lossy()))
    };
    assert!(
        common::wait_until(Duration::from_secs(3), || !alive()),
        "the op process was left running"
    );
}

#[test]
fn cli_failures_are_summarised_in_one_line_without_what_follows() {
    let o = Op::new();
    let mut account = cli_account();
    account["mode"] = json!("fail");
    account["fail_message"] = json!("connection reset by peer while syncing");
    account["fail_detail"] = json!(format!("debug: field value {}", value("leak")));
    let e = fails(
        print_vars(
            o.cli_cmd(&account),
            &[&format!("P={}", r(&format!("{VAULT}/{ITEM}/password")))],
        ),
        69,
        &["the 1Password CLI said: connection reset by peer"],
    );
    assert!(!e.contains("[ERROR]") && !e.contains("debug"), "{e}");
    // Throttled or failing 1Password: unreachable (69), not a configuration error.
    for said in ["(429) Too Many Requests", "(500) Internal Server Error"] {
        let mut busy = cli_account();
        busy["mode"] = json!("fail");
        busy["fail_message"] = json!(said);
        fails(
            print_vars(
                o.cli_cmd(&busy),
                &[&format!("P={}", r(&format!("{VAULT}/{ITEM}/password")))],
            ),
            69,
            &["try again later"],
        );
    }
    // Not signed in: denied, with the fix.
    let mut c = o.cli_cmd(&cli_account());
    c.env("OP_SERVICE_ACCOUNT_TOKEN", format!("ops_{CANARY}-wrong"));
    fails(
        print_vars(
            c,
            &[&format!("P={}", r(&format!("{VAULT}/{ITEM}/password")))],
        ),
        77,
        &["not currently signed in", "OP_SERVICE_ACCOUNT_TOKEN"],
    );
    // Missing item: not found, 78.
    fails(
        print_vars(
            o.cli_cmd(&cli_account()),
            &[&format!("P={}", r(&format!("{VAULT}/Nope/password")))],
        ),
        78,
        &["isn't an item"],
    );
    // No `op` at all.
    let mut c = o.home.cmd();
    common::env::strip_env(&mut c, &["OP_"]);
    c.env("PATH", "/usr/bin:/bin");
    fails(
        print_vars(
            c,
            &[&format!("P={}", r(&format!("{VAULT}/{ITEM}/password")))],
        ),
        78,
        &["`op` is not on PATH"],
    );
}

#[test]
fn via_chooses_the_path_over_the_environment() {
    let o = Op::new();
    o.seed();
    // Connect is configured, but ?via=cli runs `op`.
    o.install_op(&cli_account());
    let mut c = o.cmd();
    c.env(
        "PATH",
        format!(
            "{}:{}",
            o.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .env("OP_SERVICE_ACCOUNT_TOKEN", sa_token());
    let before = o.connect.count("item_get");
    assert_eq!(
        got(print_vars(
            c,
            &[&format!(
                "S={}",
                r(&format!("{VAULT}/Second/credential?via=cli"))
            )]
        )),
        format!("{}|", value("second"))
    );
    assert_eq!(o.connect.count("item_get"), before, "Connect was not asked");
    assert_eq!(o.op_runs().len(), 1);
}

#[test]
fn an_item_title_starting_with_a_dash_is_an_item_not_a_flag() {
    let o = Op::new();
    let mut account = cli_account();
    account["items"].as_array_mut().expect("items").push(json!(
        {"vault": VAULT, "id": "iiiiiiiiiiiiiiiiiiiiiiiii3", "title": "--vault=Nope",
         "fields": [{"id": "credential", "type": "CONCEALED", "label": "credential", "value": value("dash")}],
         "files": [{"id": "file1", "name": "-k.pem", "content": value("dash-file")}]}
    ));
    assert_eq!(
        got(print_vars(
            o.cli_cmd(&account),
            &[
                &format!("D={}", r(&format!("{VAULT}/--vault=Nope/credential"))),
                &format!("F={}", r(&format!("{VAULT}/--vault=Nope/-k.pem"))),
            ]
        )),
        format!("{}|{}|", value("dash"), value("dash-file"))
    );
    for argv in o.op_runs() {
        let end = argv.iter().position(|a| a == "--");
        let last = argv.len().checked_sub(1);
        if argv.first().map(String::as_str) != Some("whoami") {
            assert!(
                end.is_some() && end < last,
                "`--` before the name: {argv:?}"
            );
        }
    }
}

#[test]
fn a_question_mark_in_a_name_cannot_change_what_op_read_reads() {
    let o = Op::new();
    let mut account = cli_account();
    account["items"].as_array_mut().expect("items").push(json!(
        {"vault": VAULT, "id": "iiiiiiiiiiiiiiiiiiiiiiiii4", "title": "Odd?attribute=type",
         "sections": [{"id": "s1", "label": "Keys"}],
         "fields": [{"id": "otp9", "type": "OTP", "label": "code", "value": "otpauth://totp/x?secret=ABC", "section": "s1"}],
         "files": [{"id": "file9", "name": "k?attribute=id", "content": value("odd-file")}]}
    ));
    assert_eq!(
        got(print_vars(
            o.cli_cmd(&account),
            &[
                &format!(
                    "C={}",
                    r(&format!(
                        "{VAULT}/Odd%3Fattribute=type/Keys/code?attribute=otp"
                    ))
                ),
                &format!(
                    "F={}",
                    r(&format!("{VAULT}/Odd%3Fattribute=type/k%3Fattribute=id"))
                ),
            ]
        )),
        format!("123456|{}|", value("odd-file"))
    );
    let reads: Vec<String> = o
        .op_runs()
        .into_iter()
        .filter(|a| a.first().map(String::as_str) == Some("read"))
        .filter_map(|a| a.last().cloned())
        .collect();
    // The code came with the item; the file through `op read`, by IDs.
    assert_eq!(
        reads,
        ["op://vvvvvvvvvvvvvvvvvvvvvvvvv1/iiiiiiiiiiiiiiiiiiiiiiiii4/file9"]
    );
}

#[test]
fn op_runs_without_connect_settings_or_archive_reads() {
    let o = Op::new();
    o.seed();
    o.install_op(&cli_account());
    // A Connect host mcp-warden would refuse (plain http, not loopback):
    // `op` must not be handed it, nor the token, nor OP_INCLUDE_ARCHIVE.
    let mut c = o.home.cmd();
    common::env::strip_env(&mut c, &["OP_"]);
    c.env(
        "PATH",
        format!(
            "{}:{}",
            o.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ),
    )
    .env("OP_CONNECT_HOST", "http://connect.invalid:8080")
    .env("OP_CONNECT_TOKEN", format!("{CANARY}-connect-token"))
    .env("OP_INCLUDE_ARCHIVE", "true")
    .env("OP_SERVICE_ACCOUNT_TOKEN", sa_token());
    assert_eq!(
        got(print_vars(
            c,
            &[&format!(
                "S={}",
                r(&format!("{VAULT}/Second/credential?via=cli"))
            )]
        )),
        format!("{}|", value("second"))
    );
    let envs = o.op_envs();
    assert_eq!(envs.len(), 1, "{envs:?}");
    assert_eq!(envs[0], vec!["OP_SERVICE_ACCOUNT_TOKEN".to_string()]);
}

// --- the server's environment and short names -------------------------------------

#[test]
fn op_settings_never_reach_the_server() {
    let o = Op::new();
    o.seed();
    let mut c = o.cmd();
    c.env("OP_SERVICE_ACCOUNT_TOKEN", sa_token())
        .env("OP_SESSION_my", format!("{CANARY}-session"));
    let out = c
        .args(["run", "--exec", "--timeout", "8s"])
        .arg(format!("P=op://{VAULT}/{ITEM}/password"))
        .args([
            "--",
            "sh",
            "-c",
            "env | grep -c '^OP_' ; printf '%s' \"$P\" | wc -c",
        ])
        .output()
        .expect("run");
    let stdout = got(out);
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("0"), "OP_* reached the server: {stdout}");
    assert_eq!(
        lines.next().map(str::trim),
        Some(value("password").len().to_string().as_str())
    );
}

#[test]
fn vault_type_op_makes_bare_ids_op_references() {
    let o = Op::new();
    o.seed();
    let mut c = o.cmd();
    c.args(["run", "--exec", "--vault-type=op"])
        .arg(format!("P={VAULT}/{ITEM}/password"))
        .args(["--", "sh", "-c", "printf %s \"$P\""]);
    assert_eq!(got(c.output().expect("run")), value("password"));
}

// --- Connect: the name -> ID cache ------------------------------------------------

impl Op {
    /// Creates an item of one concealed field through the SDK; its ID.
    fn create(&self, vault: &str, title: &str, label: &str, v: &str) -> String {
        let spec = json!({"title": title, "category": "API_CREDENTIAL",
            "fields": [{"label": label, "value": v, "type": "CONCEALED"}]});
        let id = self.sdk(&["create", vault], spec.to_string().as_bytes());
        id.trim().to_string()
    }

    /// mcp-warden with this home and `server`'s Connect stand-in.
    fn cmd_on(&self, server: &Op) -> Command {
        let mut c = self.home.cmd();
        common::env::strip_env(&mut c, &["OP_"]);
        c.env("OP_CONNECT_HOST", server.connect.url())
            .env("OP_CONNECT_TOKEN", token())
            .env("SSL_CERT_FILE", server.pki.ca())
            .env_remove("SSL_CERT_DIR");
        c
    }

    fn ids_file(&self) -> PathBuf {
        self.home.path().join("op-connect-ids.json")
    }

    /// How many stand-in log entries of each kind `f` caused.
    fn requests(&self, f: impl FnOnce()) -> std::collections::BTreeMap<String, usize> {
        let before = self.connect.log().len();
        f();
        let mut n = std::collections::BTreeMap::new();
        for e in self.connect.log().iter().skip(before) {
            *n.entry(e["kind"].as_str().unwrap_or("?").to_string())
                .or_default() += 1;
        }
        n
    }

    /// Reads `loc` (a location under op://) with `run`; the value.
    fn read(&self, loc: &str) -> String {
        let out = got(print_vars(self.cmd(), &[&format!("V={}", r(loc))]));
        out.trim_end_matches('|').to_string()
    }
}

fn kinds(pairs: &[(&str, usize)]) -> std::collections::BTreeMap<String, usize> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

#[test]
fn by_name_a_warm_run_is_one_request_per_item_and_the_cache_holds_no_value() {
    let o = Op::new();
    // The items are titled "Item N" and referenced as "item N": Connect
    // matches titles without regard to case.
    let Fields {
        assignments,
        expected,
    } = o.items("Item", 3, 2);
    let a: Vec<&str> = assignments.iter().map(String::as_str).collect();
    let cold = o.requests(|| assert_eq!(got(print_vars(o.cmd(), &a)), expected));
    assert_eq!(
        cold,
        kinds(&[("vault_list", 1), ("item_list", 3), ("item_get", 3)]),
        "cold: the three lookups"
    );
    let warm = o.requests(|| assert_eq!(got(print_vars(o.cmd(), &a)), expected));
    assert_eq!(
        warm,
        kinds(&[("vault_get", 1), ("item_get", 3)]),
        "warm: the items by their cached IDs, and the vault's name checked once"
    );
    let file = o.ids_file();
    let text = std::fs::read_to_string(&file).expect("cache file");
    assert!(
        !text.contains(CANARY),
        "a value or token in the cache: {text}"
    );
    assert!(text.contains(&o.connect.url()), "keyed by server: {text}");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The vault by ID and the item by name: the item's cached ID still serves.
    let vault_id = o.sdk(&["vaults"], b"");
    let vault_id = vault_id
        .lines()
        .find(|l| l.ends_with(VAULT))
        .and_then(|l| l.split(' ').next())
        .expect("vault id")
        .to_string();
    let n = o.requests(|| {
        assert_eq!(o.read(&format!("{vault_id}/Item 0/f1")), value("0-1"));
    });
    assert_eq!(n, kinds(&[("item_get", 1)]));
}

#[test]
fn a_renamed_item_is_never_read_under_its_old_name() {
    let o = Op::new();
    o.create(VAULT, "Alpha", "key", &value("alpha"));
    assert_eq!(o.read(&format!("{VAULT}/Alpha/key")), value("alpha"));
    // Renamed with 1Password's SDK: the cached ID still answers, with another title.
    o.sdk(&["rename", VAULT, "Alpha", "Alpha (old)"], b"");
    fails(
        print_vars(
            o.cmd(),
            &[&format!("V={}", r(&format!("{VAULT}/Alpha/key")))],
        ),
        78,
        &["no item \"Alpha\""],
    );
    assert_eq!(o.read(&format!("{VAULT}/Alpha (old)/key")), value("alpha"));
    // Its old name now belongs to ANOTHER item: that one is read.
    o.create(VAULT, "Alpha", "key", &value("new-alpha"));
    let n = o.requests(|| assert_eq!(o.read(&format!("{VAULT}/Alpha/key")), value("new-alpha")));
    assert_eq!(n["item_list"], 1, "looked up by title again: {n:?}");
    let n = o.requests(|| assert_eq!(o.read(&format!("{VAULT}/Alpha/key")), value("new-alpha")));
    assert_eq!(
        n,
        kinds(&[("vault_get", 1), ("item_get", 1)]),
        "and remembered"
    );
}

#[test]
fn an_item_deleted_and_made_again_with_its_title_reads_the_new_one() {
    let o = Op::new();
    let first = o.create(VAULT, "Beta", "key", &value("beta-1"));
    assert_eq!(o.read(&format!("{VAULT}/Beta/key")), value("beta-1"));
    o.sdk(&["delete", VAULT, "Beta"], b"");
    let second = o.create(VAULT, "Beta", "key", &value("beta-2"));
    assert_ne!(first, second);
    let n = o.requests(|| assert_eq!(o.read(&format!("{VAULT}/Beta/key")), value("beta-2")));
    assert_eq!(
        n["item_get"], 2,
        "the cached ID answered 404, then the new item: {n:?}"
    );
    let text = std::fs::read_to_string(o.ids_file()).expect("cache");
    assert!(text.contains(&second) && !text.contains(&first), "{text}");
}

#[test]
fn a_vault_renamed_or_made_again_is_looked_up_by_name() {
    let o = Op::new();
    o.create(OTHER_VAULT, "Gamma", "key", &value("gamma-1"));
    assert_eq!(
        o.read(&format!("{OTHER_VAULT}/Gamma/key")),
        value("gamma-1")
    );
    // Deleted and made again with the same name: a new ID, the old one 404s.
    o.connect.post(&format!(
        "/__standin-op/vault?name={OTHER_VAULT}&recreate=1"
    ));
    o.create(OTHER_VAULT, "Gamma", "key", &value("gamma-2"));
    let n = o.requests(|| {
        assert_eq!(
            o.read(&format!("{OTHER_VAULT}/Gamma/key")),
            value("gamma-2")
        )
    });
    assert_eq!(
        n["vault_list"], 1,
        "the vault looked up by name again: {n:?}"
    );
    // Renamed: its ID still answers, but no longer under the reference's name.
    o.connect.post(&format!(
        "/__standin-op/vault?name={OTHER_VAULT}&rename=Archive"
    ));
    fails(
        print_vars(
            o.cmd(),
            &[&format!("V={}", r(&format!("{OTHER_VAULT}/Gamma/key")))],
        ),
        78,
        &["no vault named \"Other\""],
    );
    assert_eq!(o.read("Archive/Gamma/key"), value("gamma-2"));
}

#[test]
fn a_corrupt_cache_is_ignored_and_rewritten() {
    let o = Op::new();
    o.create(VAULT, "Delta", "key", &value("delta"));
    std::fs::write(o.ids_file(), b"\x00{\"version\": 1, \"entries\": [").expect("garbage");
    std::fs::set_permissions(o.ids_file(), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let n = o.requests(|| assert_eq!(o.read(&format!("{VAULT}/Delta/key")), value("delta")));
    assert_eq!(
        n,
        kinds(&[("vault_list", 1), ("item_list", 1), ("item_get", 1)])
    );
    let v: Value =
        serde_json::from_slice(&std::fs::read(o.ids_file()).expect("read")).expect("json");
    assert_eq!(v["entries"].as_array().map(Vec::len), Some(2), "{v}");
    let mode = std::fs::metadata(o.ids_file())
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // IDs that are not 1Password IDs are never put into a URL.
    let text = std::fs::read_to_string(o.ids_file())
        .expect("read")
        .replace("\"id\":\"", "\"id\":\"../");
    std::fs::write(o.ids_file(), text).expect("write");
    let n = o.requests(|| assert_eq!(o.read(&format!("{VAULT}/Delta/key")), value("delta")));
    assert_eq!(
        n,
        kinds(&[("vault_list", 1), ("item_list", 1), ("item_get", 1)])
    );
}

#[test]
fn two_connect_servers_do_not_share_cached_ids() {
    let a = Op::new();
    let b = Op::new();
    a.create(VAULT, "Shared", "key", &value("on-a"));
    b.create(VAULT, "Shared", "key", &value("on-b"));
    // One home, two servers: each is resolved by name on its own.
    let read = |server: &Op| {
        let out = got(print_vars(
            a.cmd_on(server),
            &[&format!("V={}", r(&format!("{VAULT}/Shared/key")))],
        ));
        out.trim_end_matches('|').to_string()
    };
    assert_eq!(read(&a), value("on-a"));
    let n = b.requests(|| assert_eq!(read(&b), value("on-b")));
    assert_eq!(
        n,
        kinds(&[("vault_list", 1), ("item_list", 1), ("item_get", 1)])
    );
    let n = a.requests(|| assert_eq!(read(&a), value("on-a")));
    assert_eq!(n, kinds(&[("vault_get", 1), ("item_get", 1)]));
    let n = b.requests(|| assert_eq!(read(&b), value("on-b")));
    assert_eq!(n, kinds(&[("vault_get", 1), ("item_get", 1)]));
}

#[test]
fn writes_keep_the_cached_ids_in_step() {
    let o = Op::new();
    let target = r(&format!("{VAULT}/Written/key"));
    let out = o
        .cmd()
        .args(["secret", "set", &target])
        .write_stdin(value("written"))
        .output()
        .expect("set");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The item created is remembered: a read needs no lookup.
    let n = o.requests(|| assert_eq!(o.read(&format!("{VAULT}/Written/key")), value("written")));
    assert_eq!(n, kinds(&[("vault_get", 1), ("item_get", 1)]));
    let text = std::fs::read_to_string(o.ids_file()).expect("cache");
    assert!(text.contains("written") && !text.contains(CANARY), "{text}");
    // Its last field removed, the item is deleted and forgotten.
    o.cmd().args(["secret", "rm", &target]).assert().success();
    let text = std::fs::read_to_string(o.ids_file()).expect("cache");
    assert!(!text.contains("written"), "{text}");
    fails(
        print_vars(o.cmd(), &[&format!("V={target}")]),
        78,
        &["no item \"Written\""],
    );
}
