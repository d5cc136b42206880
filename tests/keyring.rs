//! `keyring://SERVICE/ACCOUNT` against a real, headless gnome-keyring on the
//! private D-Bus session `scripts/test` starts, and against what other
//! programs do there: `secret-tool` (libsecret) and Python's `keyring` store
//! and read the same items. Locked collections are made and locked over D-Bus
//! by tests/py/keyring_tool.py; a D-Bus daemon of the test's own proves the
//! "nothing provides the Secret Service" and "access refused" diagnoses.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use common::output::{fails, ok, stderr, stdout};
use common::{CANARY, Home, service_env, unique};
use serde_json::Value;

/// Every test here but the no-D-Bus ones needs the keyring scripts/test starts.
fn require_keyring() {
    service_env("MCP_WARDEN_TEST_PYTHON");
    if std::env::var_os("MCP_WARDEN_TEST_KEYRING").is_none() {
        panic!("scripts/test could not start gnome-keyring; see .cache/test-logs");
    }
}

/// mcp-warden in an isolated home, with no desktop to prompt on.
fn warden(home: &Home) -> Command {
    let mut c = home.cmd();
    c.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    c
}

/// A fresh service name and the reference to ACCOUNT under it.
fn item(account: &str) -> (String, String) {
    let service = unique("kr");
    let r = format!("keyring://{service}/{account}");
    (service, r)
}

fn set(home: &Home, r: &str, value: &[u8]) -> String {
    let out = warden(home)
        .args(["secret", "set", r, "--keep-newline"])
        .write_stdin(value.to_vec())
        .output()
        .expect("run mcp-warden");
    let err = stderr(&out);
    ok(out);
    err
}

fn get(home: &Home, r: &str) -> Vec<u8> {
    let out = warden(home)
        .args(["secret", "get", r])
        .output()
        .expect("run mcp-warden");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(CANARY));
    out.stdout
}

/// No file under `dir` (audit log, journal, store) holds `needle`.
fn assert_not_in_files(dir: &Path, needle: &str) {
    for e in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = e.path();
        if path.is_dir() {
            assert_not_in_files(&path, needle);
        } else {
            let bytes = std::fs::read(&path).expect("read file");
            assert!(
                !String::from_utf8_lossy(&bytes).contains(needle),
                "a value leaked into {}",
                path.display()
            );
        }
    }
}

fn tool(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let py = service_env("MCP_WARDEN_TEST_PYTHON");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/keyring_tool.py");
    let mut c = StdCommand::new(py);
    c.arg(script).args(args);
    common::process::pipe_within(&mut c, stdin, Duration::from_secs(30))
}

/// What secret-tool printed, without the newline it may add.
fn looked_up(o: &std::process::Output) -> String {
    stdout(o).trim_end_matches('\n').to_string()
}

fn secret_tool(args: &[&str], stdin: &[u8]) -> std::process::Output {
    // secret-tool is libsecret-tools, installed by scripts/setup
    let mut c = StdCommand::new("secret-tool");
    c.args(args);
    common::process::pipe_within(&mut c, stdin, Duration::from_secs(30))
}

#[test]
fn round_trip_with_unicode_and_a_large_value() {
    require_keyring();
    let home = Home::new();
    let service = format!("{}-dienst-ü", unique("kr"));
    let r = format!("keyring://{service}/konto-✓");
    let value = format!("pässwörd 🔑 ключ {CANARY}");
    let said = set(&home, &r, value.as_bytes());
    assert!(said.contains("created") && !said.contains(CANARY), "{said}");
    assert_eq!(get(&home, &r), value.as_bytes());
    // A second write updates the same item.
    let said = set(&home, &r, b"second");
    assert!(said.contains("updated"), "{said}");
    assert_eq!(get(&home, &r), b"second");
    // Half a mebibyte goes through D-Bus and back byte for byte.
    let large: Vec<u8> = (0..512 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let (_, big) = item("large");
    set(&home, &big, &large);
    assert_eq!(get(&home, &big), large);
    for r in [&r, &big] {
        warden(&home).args(["secret", "rm", r]).assert().success();
    }
    fails(
        warden(&home)
            .args(["secret", "get", &r])
            .output()
            .expect("run"),
        78,
        &["no keychain item", "secret set keyring://"],
    );
}

#[test]
fn a_missing_item_is_78_naming_service_and_account() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("absent");
    let line = fails(
        warden(&home)
            .args(["run", &format!("K={r}"), "--", "true"])
            .output()
            .expect("run"),
        78,
        &[&service, "\"absent\"", "mcp-warden secret set"],
    );
    assert!(line.starts_with("mcp-warden: "), "{line}");
    fails(
        warden(&home)
            .args(["secret", "rm", &r])
            .output()
            .expect("run"),
        78,
        &["no keychain item"],
    );
    // A location without an account is a configuration error, before any D-Bus call.
    fails(
        warden(&home)
            .args(["secret", "get", "keyring://only-a-service"])
            .output()
            .expect("run"),
        78,
        &["keyring://SERVICE/ACCOUNT"],
    );
}

#[test]
fn secret_tool_items_read_and_ours_are_found_by_secret_tool() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("alice");
    let stored = secret_tool(
        &[
            "store",
            "--label=stored by secret-tool",
            "service",
            &service,
            "username",
            "alice",
        ],
        CANARY.as_bytes(),
    );
    assert!(stored.status.success(), "{}", stderr(&stored));
    assert_eq!(get(&home, &r), CANARY.as_bytes());
    // What mcp-warden writes, secret-tool finds by the same two attributes.
    let (service2, r2) = item("bob");
    set(&home, &r2, format!("w-{CANARY}").as_bytes());
    let found = secret_tool(&["lookup", "service", &service2, "username", "bob"], b"");
    assert_eq!(
        looked_up(&found),
        format!("w-{CANARY}"),
        "{}",
        stderr(&found)
    );
    // Updating the secret-tool item keeps it one item, and secret-tool sees the change.
    set(&home, &r, b"rotated");
    let found = secret_tool(&["lookup", "service", &service, "username", "alice"], b"");
    assert_eq!(looked_up(&found), "rotated");
    warden(&home).args(["secret", "rm", &r]).assert().success();
    let gone = secret_tool(&["lookup", "service", &service, "username", "alice"], b"");
    assert!(
        !gone.status.success(),
        "secret-tool still finds a deleted item"
    );
    secret_tool(&["clear", "service", &service2, "username", "bob"], b"");
}

#[test]
fn python_keyring_reads_ours_and_we_read_its() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("carol");
    let out = tool(&["py-set", &service, "carol"], CANARY.as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(get(&home, &r), CANARY.as_bytes());
    let (service2, r2) = item("dave");
    set(&home, &r2, "ours ✓".as_bytes());
    let out = tool(&["py-get", &service2, "dave"], b"");
    assert_eq!(stdout(&out), "ours ✓", "{}", stderr(&out));
    // Python then writes its own item for the same service and account (it
    // adds an attribute of its own): the newer one wins a read, and our next
    // write updates both, so every program reads the same value again.
    std::thread::sleep(Duration::from_millis(1100));
    let out = tool(&["py-set", &service2, "dave"], b"python's");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(get(&home, &r2), b"python's");
    set(&home, &r2, b"both");
    let out = tool(&["py-get", &service2, "dave"], b"");
    assert_eq!(stdout(&out), "both");
    let found = secret_tool(&["lookup", "service", &service2, "username", "dave"], b"");
    assert_eq!(looked_up(&found), "both");
    // rm removes none of two items when Python stored one of them: it says
    // how many match and how to remove them, never a value.
    let out = warden(&home)
        .args(["secret", "rm", &r2])
        .output()
        .expect("rm");
    let line = fails(
        out,
        78,
        &[
            "2 keychain items",
            "other applications",
            &format!("secret-tool clear service {service2} username dave"),
        ],
    );
    assert!(!line.contains("both"), "{line}");
    let out = tool(&["py-get", &service2, "dave"], b"");
    assert_eq!(stdout(&out), "both", "rm removed an item");
    // Once Python removed one, the single item left is removed.
    let out = tool(&["py-delete", &service2, "dave"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    warden(&home).args(["secret", "rm", &r2]).assert().success();
    let out = tool(&["py-get", &service2, "dave"], b"");
    assert_eq!(
        out.status.code(),
        Some(3),
        "an item is left: {}",
        stdout(&out)
    );
    tool(&["py-delete", &service, "carol"], b"");
}

#[test]
fn run_injects_keychain_values_and_vault_type_keyring_takes_bare_names() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("token");
    set(&home, &r, CANARY.as_bytes());
    let out = warden(&home)
        .args(["run", "--exec", &format!("K={r}"), "--", "printenv", "K"])
        .output()
        .expect("run");
    assert_eq!(ok(out), format!("{CANARY}\n"));
    // Astrix-style short names: a bare SERVICE/ACCOUNT under --vault-type=keyring.
    let out = warden(&home)
        .args([
            "run",
            "--exec",
            "--vault-type=keyring",
            &format!("K={service}/token"),
            "--",
            "printenv",
            "K",
        ])
        .output()
        .expect("run");
    let err = stderr(&out);
    assert_eq!(ok(out), format!("{CANARY}\n"));
    assert!(!err.contains(CANARY), "{err}");
    // Guarded (not --exec): the server's own output of the value is redacted.
    let out = warden(&home)
        .args(["run", &format!("K={r}"), "--", "printenv", "K"])
        .output()
        .expect("run");
    let err = stderr(&out);
    let text = ok(out);
    assert!(
        !text.contains(CANARY) && !err.contains(CANARY),
        "{text}{err}"
    );
    assert!(text.contains("[REDACTED:K]"), "{text}");
    // Nor in the audit log or any other file mcp-warden keeps.
    assert_not_in_files(home.path(), CANARY);
    let out = warden(&home)
        .args(["secret", "rm", &r])
        .output()
        .expect("rm");
    assert!(!stderr(&out).contains(CANARY));
    ok(out);
}

#[test]
fn twenty_references_resolve_in_one_run() {
    require_keyring();
    let home = Home::new();
    let service = unique("kr20");
    let mut args = vec!["run".to_string(), "--exec".to_string()];
    for i in 0..20 {
        set(
            &home,
            &format!("keyring://{service}/a{i}"),
            format!("v{i}").as_bytes(),
        );
        args.push(format!("K{i}=keyring://{service}/a{i}"));
    }
    args.extend([
        "--".into(),
        "sh".into(),
        "-c".into(),
        "echo $K0 $K19".into(),
    ]);
    let out = warden(&home).args(&args).output().expect("run");
    assert_eq!(ok(out), "v0 v19\n");
    let listed = warden(&home)
        .args(["secret", "ls", &format!("keyring://{service}"), "--json"])
        .output()
        .expect("ls");
    let names: Vec<String> = ok(listed)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["name"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(names.len(), 20, "{names:?}");
    assert!(names.contains(&format!("{service}/a7")), "{names:?}");
    for i in 0..20 {
        warden(&home)
            .args(["secret", "rm", &format!("keyring://{service}/a{i}")])
            .assert()
            .success();
    }
}

#[test]
fn ls_shows_a_service_or_what_mcp_warden_created_with_times() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("ours");
    set(&home, &r, CANARY.as_bytes());
    let foreign = secret_tool(
        &[
            "store",
            "--label=theirs",
            "service",
            &service,
            "username",
            "theirs",
        ],
        CANARY.as_bytes(),
    );
    assert!(foreign.status.success());
    let by_service = ok(warden(&home)
        .args(["secret", "ls", &format!("keyring://{service}"), "--json"])
        .output()
        .expect("ls"));
    assert!(!by_service.contains(CANARY), "{by_service}");
    let lines: Vec<Value> = by_service
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 2, "{by_service}");
    let created =
        humantime::parse_rfc3339(lines[0]["created"].as_str().expect("created")).expect("time");
    let age = std::time::SystemTime::now()
        .duration_since(created)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(600), "{by_service}");
    // Without a service: the items mcp-warden created, not secret-tool's.
    let ours = ok(warden(&home)
        .args(["secret", "ls", "keyring://"])
        .output()
        .expect("ls"));
    assert!(ours.contains(&format!("{service}/ours")), "{ours}");
    assert!(!ours.contains(&format!("{service}/theirs")), "{ours}");
    warden(&home).args(["secret", "rm", &r]).assert().success();
    secret_tool(&["clear", "service", &service, "username", "theirs"], b"");
}

#[test]
fn rm_removes_several_items_only_when_all_are_ours() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("erin");
    set(&home, &r, b"first");
    // A second item with the same service and account, also marked as ours.
    let out = secret_tool(
        &[
            "store",
            "--label=second",
            "service",
            &service,
            "username",
            "erin",
            "application",
            "mcp-warden",
        ],
        b"second",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    warden(&home).args(["secret", "rm", &r]).assert().success();
    let gone = secret_tool(&["lookup", "service", &service, "username", "erin"], b"");
    assert!(!gone.status.success(), "an item of ours is left");
}

#[test]
fn a_stale_duplicate_in_a_locked_collection_does_not_stop_a_headless_read() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("frank");
    let stored = secret_tool(
        &[
            "store",
            "--label=current",
            "service",
            &service,
            "username",
            "frank",
        ],
        CANARY.as_bytes(),
    );
    assert!(stored.status.success(), "{}", stderr(&stored));
    // The newer duplicate sits in a locked collection: no desktop can unlock it.
    std::thread::sleep(Duration::from_millis(1100));
    let locked = LockedItem::new(&service, "frank", b"stale");
    let start = Instant::now();
    assert_eq!(get(&home, &r), CANARY.as_bytes());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    drop(locked);
    secret_tool(&["clear", "service", &service, "username", "frank"], b"");
}

/// A collection of the test's own, locked over D-Bus; unlocked and deleted on drop.
struct LockedItem {
    collection: String,
    password: String,
}

impl LockedItem {
    fn new(service: &str, account: &str, value: &[u8]) -> LockedItem {
        let password = unique("pw");
        let out = tool(&["locked-item", service, account, &password], value);
        assert!(out.status.success(), "{}", stderr(&out));
        LockedItem {
            collection: stdout(&out).trim().to_string(),
            password,
        }
    }

    fn unlock(&self) {
        let out = tool(&["unlock", &self.collection, &self.password], b"");
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

impl Drop for LockedItem {
    fn drop(&mut self) {
        let _ = tool(&["unlock", &self.collection, &self.password], b"");
        let _ = tool(&["delete", &self.collection], b"");
    }
}

#[test]
fn a_locked_collection_without_a_desktop_is_69_at_once_then_reads_once_unlocked() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("locked");
    let locked = LockedItem::new(&service, "locked", CANARY.as_bytes());
    let start = Instant::now();
    let line = fails(
        warden(&home)
            .args(["run", "--timeout", "5s", &format!("K={r}"), "--", "true"])
            .output()
            .expect("run"),
        69,
        &[
            "locked",
            "no desktop session",
            "gnome-keyring-daemon --unlock",
        ],
    );
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "took {:?}: {line}",
        start.elapsed()
    );
    // Writing to it and listing its service say the same.
    let out = warden(&home)
        .args(["secret", "set", &r])
        .write_stdin("x")
        .output()
        .expect("run");
    fails(out, 69, &["locked"]);
    locked.unlock();
    assert_eq!(get(&home, &r), CANARY.as_bytes());
}

#[test]
fn with_a_desktop_a_locked_collection_prompts_and_an_unanswered_prompt_ends_within_the_timeout() {
    require_keyring();
    let home = Home::new();
    let (service, r) = item("prompt");
    let _locked = LockedItem::new(&service, "prompt", CANARY.as_bytes());
    // DISPLAY names a desktop no one answers on: the keyring is asked to
    // prompt; mcp-warden gives up at --timeout (or when the keyring reports
    // the prompt dismissed) with a line that says it is locked, never hanging.
    let start = Instant::now();
    let out = home
        .cmd()
        .env("DISPLAY", ":97")
        .env_remove("WAYLAND_DISPLAY")
        .args(["run", "--timeout", "3s", &format!("K={r}"), "--", "true"])
        .timeout(Duration::from_secs(30))
        .output()
        .expect("run");
    let err = stderr(&out);
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}: {err}",
        start.elapsed()
    );
    assert!(matches!(out.status.code(), Some(69 | 77)), "{err}");
    assert!(err.contains("unlock prompt"), "{err}");
    assert!(!err.contains(CANARY) && stdout(&out).is_empty());
}

#[test]
fn no_dbus_session_is_69_with_the_fix() {
    let home = Home::new();
    fails(
        warden(&home)
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("XDG_RUNTIME_DIR")
            .args(["run", "K=keyring://svc/acct", "--", "true"])
            .output()
            .expect("run"),
        69,
        &[
            "no D-Bus session",
            "export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus",
        ],
    );
    fails(
        warden(&home)
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/mcp-warden-bus",
            )
            .args(["secret", "get", "keyring://svc/acct"])
            .output()
            .expect("run"),
        69,
        &["does not answer", "session has ended"],
    );
}

/// A D-Bus daemon of the test's own: no service files (nothing is activated),
/// and optionally a policy that refuses every call to the Secret Service.
struct Bus {
    daemon: Child,
    owner: Option<Child>,
    address: String,
    _dir: tempfile::TempDir,
}

impl Bus {
    fn start(refuse_secrets: bool) -> Bus {
        let dir = tempfile::tempdir().expect("tempdir");
        let deny = if refuse_secrets {
            r#"<deny send_destination="org.freedesktop.secrets"/>"#
        } else {
            ""
        };
        let config = format!(
            r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
    {deny}
  </policy>
</busconfig>
"#,
            dir.path().display()
        );
        let conf = dir.path().join("bus.conf");
        std::fs::write(&conf, config).expect("write bus.conf");
        let mut daemon = StdCommand::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (dbus, installed by scripts/setup)");
        let mut line = String::new();
        BufReader::new(daemon.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        Bus {
            daemon,
            owner: None,
            address: line.trim().to_string(),
            _dir: dir,
        }
    }

    /// Someone owns org.freedesktop.secrets (and never answers).
    fn own_secrets(&mut self) {
        let py = service_env("MCP_WARDEN_TEST_PYTHON");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/keyring_tool.py");
        let mut owner = StdCommand::new(py)
            .arg(script)
            .args(["own-name", "60"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("keyring_tool.py own-name");
        let mut line = String::new();
        BufReader::new(owner.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("owner reports");
        assert_eq!(line.trim(), "owned");
        self.owner = Some(owner);
    }
}

impl Bus {
    /// A throw-away gnome-keyring of this bus's own, its login keyring
    /// unlocked with `password`, its files under the bus's folder.
    fn start_keyring(&mut self, password: &str) -> Child {
        let data = self._dir.path().join("data");
        std::fs::create_dir_all(&data).expect("data dir");
        let mut daemon = StdCommand::new("gnome-keyring-daemon")
            .args(["--components=secrets", "--foreground", "--unlock"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", self._dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (installed by scripts/setup)");
        let mut stdin = daemon.stdin.take().expect("stdin");
        stdin.write_all(password.as_bytes()).expect("password");
        drop(stdin);
        let up = common::wait_until(Duration::from_secs(15), || {
            StdCommand::new("dbus-send")
                .args([
                    "--print-reply",
                    &format!("--bus={}", self.address),
                    "--dest=org.freedesktop.DBus",
                    "/org/freedesktop/DBus",
                    "org.freedesktop.DBus.NameHasOwner",
                    "string:org.freedesktop.secrets",
                ])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("true"))
        });
        assert!(up, "gnome-keyring did not take org.freedesktop.secrets");
        daemon
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        if let Some(o) = self.owner.as_mut() {
            let _ = o.kill();
            let _ = o.wait();
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

#[test]
fn a_bus_without_a_secret_service_and_a_refusing_bus_each_say_so() {
    service_env("MCP_WARDEN_TEST_PYTHON");
    let home = Home::new();
    let bus = Bus::start(false);
    fails(
        warden(&home)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .args(["secret", "get", "keyring://svc/acct"])
            .output()
            .expect("run"),
        69,
        &[
            "no Secret Service on this D-Bus session",
            "gnome-keyring-daemon",
        ],
    );
    drop(bus);
    let mut bus = Bus::start(true);
    bus.own_secrets();
    fails(
        warden(&home)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .args(["secret", "get", "keyring://svc/acct"])
            .output()
            .expect("run"),
        77,
        &["refused access", "AccessDenied", "org.freedesktop.secrets"],
    );
}

#[test]
fn a_secret_service_that_never_answers_is_69_within_the_timeout() {
    service_env("MCP_WARDEN_TEST_PYTHON");
    let home = Home::new();
    let mut bus = Bus::start(false);
    bus.own_secrets();
    let start = Instant::now();
    fails(
        warden(&home)
            .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
            .args([
                "run",
                "--timeout",
                "2s",
                "K=keyring://svc/acct",
                "--",
                "true",
            ])
            .timeout(Duration::from_secs(30))
            .output()
            .expect("run"),
        69,
        &["the keychain did not answer in time", "raise --timeout"],
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    // doctor asks once for the keychain and once per reference: after the
    // first call is abandoned, the later ones fail at once and say why,
    // so the whole check takes about one --timeout, not one per call.
    let user = tempfile::tempdir().expect("tempdir");
    let dir = user.path().join(".config/Claude");
    std::fs::create_dir_all(&dir).expect("dir");
    let server = |r: &str| {
        serde_json::json!({"command": "mcp-warden",
        "args": ["run", format!("T={r}"), "--", "npx", "-y", "pkg@1.0.0"]})
    };
    let cfg = serde_json::json!({"mcpServers": {
        "a": server("keyring://svc/a"), "b": server("keyring://svc/b")}});
    std::fs::write(dir.join("claude_desktop_config.json"), cfg.to_string()).expect("config");
    let start = Instant::now();
    let out = warden(&home)
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .args(["doctor", "--timeout", "2s", "--home"])
        .arg(user.path())
        .timeout(Duration::from_secs(60))
        .output()
        .expect("doctor");
    let took = start.elapsed();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("did not answer in time"), "{text}");
    assert!(text.contains("did not answer an earlier request"), "{text}");
    assert!(took < Duration::from_millis(3500), "took {took:?}: {text}");
}

// --- protect, inventory, doctor ----------------------------------------------------------

/// A Claude Desktop config under `user` with one server using `token` in env.
fn plaintext_config(user: &Path, token: &str) -> std::path::PathBuf {
    let desktop = user.join(".config/Claude/claude_desktop_config.json");
    std::fs::create_dir_all(desktop.parent().expect("dir")).expect("dir");
    let cfg = serde_json::json!({"mcpServers": {"github": {
        "command": "npx", "args": ["-y", "@modelcontextprotocol/server-github@2025.4.8"],
        "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": token}
    }}});
    std::fs::write(&desktop, cfg.to_string()).expect("config");
    desktop
}

/// A Claude Desktop config whose one server takes `T` from `reference`.
fn referencing_config(user: &Path, reference: &str) {
    let dir = user.join(".config/Claude");
    std::fs::create_dir_all(&dir).expect("dir");
    let cfg = serde_json::json!({"mcpServers": {"kr": {
        "command": "mcp-warden",
        "args": ["run", format!("T={reference}"), "--", "npx", "-y", "pkg@1.0.0"]
    }}});
    std::fs::write(dir.join("claude_desktop_config.json"), cfg.to_string()).expect("config");
}

#[test]
fn protect_to_the_keychain_then_restore() {
    require_keyring();
    let home = Home::new();
    let user = tempfile::tempdir().expect("tempdir");
    let token = format!("ghp_{}", "u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d");
    let desktop = plaintext_config(user.path(), &token);
    let service = unique("protect");
    let out = warden(&home)
        .args([
            "protect",
            "--apply",
            "--to",
            &format!("keyring://{service}"),
            "--home",
        ])
        .arg(user.path())
        .output()
        .expect("protect");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        !err.contains(&token) && !stdout(&out).contains(&token),
        "{err}"
    );
    let text = std::fs::read_to_string(&desktop).expect("read");
    assert!(!text.contains(&token), "{text}");
    let want = format!(
        "GITHUB_PERSONAL_ACCESS_TOKEN=keyring://{service}/claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN"
    );
    assert!(text.contains(&want), "{text}");
    // The journal that makes restore possible holds no plaintext.
    assert_not_in_files(home.path(), &token);
    // The platform's own tool finds it under the service and account protect chose.
    let found = secret_tool(
        &[
            "lookup",
            "service",
            &service,
            "username",
            "claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN",
        ],
        b"",
    );
    assert_eq!(looked_up(&found), token);
    let out = warden(&home)
        .args(["restore", "--apply"])
        .output()
        .expect("restore");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&desktop).expect("read");
    assert!(
        text.contains(&token),
        "restore did not put the value back: {text}"
    );
    secret_tool(
        &[
            "clear",
            "service",
            &service,
            "username",
            "claude-desktop/github/GITHUB_PERSONAL_ACCESS_TOKEN",
        ],
        b"",
    );
}

#[test]
fn inventory_shows_when_a_keychain_item_changed() {
    require_keyring();
    let home = Home::new();
    let user = tempfile::tempdir().expect("tempdir");
    let (_, r) = item("inv");
    set(&home, &r, CANARY.as_bytes());
    referencing_config(user.path(), &r);
    let out = warden(&home)
        .args(["inventory", "--format", "json", "--home"])
        .arg(user.path())
        .output()
        .expect("inventory");
    let text = ok(out);
    assert!(!text.contains(CANARY), "a value reached the inventory");
    let inv: Value = serde_json::from_str(&text).expect("json");
    let reference = &inv["servers"][0]["references"][0];
    assert!(reference["error"].is_null(), "{reference}");
    assert_eq!(reference["backend"], "keyring");
    let changed =
        humantime::parse_rfc3339(reference["changed"].as_str().expect("changed")).expect("time");
    let age = std::time::SystemTime::now()
        .duration_since(changed)
        .unwrap_or_default();
    assert!(age < Duration::from_secs(600), "{reference}");
    warden(&home).args(["secret", "rm", &r]).assert().success();
}

/// `doctor`'s text for a config referencing `reference`, with `tweak` applied.
fn doctor(home: &Home, user: &Path, tweak: impl FnOnce(&mut Command)) -> (Option<i32>, String) {
    let mut c = warden(home);
    tweak(&mut c);
    let out = c
        .args(["doctor", "--timeout", "5s", "--home"])
        .arg(user)
        .timeout(Duration::from_secs(60))
        .output()
        .expect("doctor");
    assert!(!stderr(&out).contains(CANARY));
    let text = stdout(&out);
    assert!(!text.contains(CANARY), "doctor printed a value: {text}");
    (out.status.code(), text)
}

/// The line of `text` containing `needle`, and the one after it.
fn line_and_next<'a>(text: &'a str, needle: &str) -> (&'a str, &'a str) {
    let lines: Vec<&str> = text.lines().collect();
    let i = lines
        .iter()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle}: {text}"));
    (lines[i], lines.get(i + 1).copied().unwrap_or(""))
}

#[test]
fn doctor_diagnoses_no_session_locked_and_refused_each_with_a_fix() {
    require_keyring();
    let home = Home::new();
    let user = tempfile::tempdir().expect("tempdir");
    let (_, r) = item("doc");
    set(&home, &r, CANARY.as_bytes());
    referencing_config(user.path(), &r);
    let (code, text) = doctor(&home, user.path(), |_| {});
    assert_eq!(code, Some(0), "{text}");
    let (keychain, _) = line_and_next(&text, "keychain (keyring://)");
    assert!(keychain.starts_with("ok"), "{text}");
    assert!(text.contains("backend keyring: 1/1"), "{text}");
    // No D-Bus session.
    let (code, text) = doctor(&home, user.path(), |c| {
        c.env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("XDG_RUNTIME_DIR");
    });
    assert_eq!(code, Some(1), "{text}");
    let (keychain, fix) = line_and_next(&text, "keychain (keyring://)");
    assert!(
        keychain.starts_with("FAIL") && keychain.contains("no D-Bus session"),
        "{text}"
    );
    assert!(
        fix.contains("fix:") && fix.contains("DBUS_SESSION_BUS_ADDRESS"),
        "{text}"
    );
    // Access refused by the bus.
    let mut bus = Bus::start(true);
    bus.own_secrets();
    let (code, text) = doctor(&home, user.path(), |c| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    });
    assert_eq!(code, Some(1), "{text}");
    let (keychain, fix) = line_and_next(&text, "keychain (keyring://)");
    assert!(
        keychain.starts_with("FAIL") && keychain.contains("refused access"),
        "{text}"
    );
    assert!(fix.contains("fix:") && fix.contains("talk-name"), "{text}");
    drop(bus);
    // The default keyring locked, no desktop: the keychain line says so.
    let mut bus = Bus::start(false);
    let mut keyring = bus.start_keyring("doctor-pw");
    let (_, text) = doctor(&home, user.path(), |c| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    });
    let (keychain, _) = line_and_next(&text, "keychain (keyring://)");
    assert!(
        keychain.starts_with("ok"),
        "not unlocked to begin with: {text}"
    );
    let out = StdCommand::new(service_env("MCP_WARDEN_TEST_PYTHON"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/keyring_tool.py"))
        .arg("lock-default")
        .env("DBUS_SESSION_BUS_ADDRESS", &bus.address)
        .output()
        .expect("lock-default");
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, text) = doctor(&home, user.path(), |c| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    });
    let _ = keyring.kill();
    let _ = keyring.wait();
    drop(bus);
    assert_eq!(code, Some(1), "{text}");
    let (keychain, fix) = line_and_next(&text, "keychain (keyring://)");
    assert!(
        keychain.starts_with("FAIL") && keychain.contains("locked"),
        "{text}"
    );
    assert!(fix.contains("gnome-keyring-daemon --unlock"), "{text}");
    // A locked item: its reference fails with the locked diagnosis and fix.
    let (service, locked_ref) = item("doclocked");
    let _locked = LockedItem::new(&service, "doclocked", CANARY.as_bytes());
    referencing_config(user.path(), &locked_ref);
    let (code, text) = doctor(&home, user.path(), |_| {});
    assert_eq!(code, Some(1), "{text}");
    let (line, _) = line_and_next(&text, &locked_ref);
    assert!(
        line.starts_with("FAIL") && line.contains("locked"),
        "{text}"
    );
    assert!(line.contains("gnome-keyring-daemon --unlock"), "{text}");
    warden(&home).args(["secret", "rm", &r]).assert().success();
}
