//! `mcp-warden secret` on the embedded store: input paths, listing, removal,
//! locking, atomicity, the key's location, and undecryptable stores.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::output::json_lines;
use common::{CANARY, Home};
use predicates::prelude::*;

#[test]
fn set_from_stdin_strips_one_newline_and_get_prints_exact_bytes() {
    let home = Home::new();
    home.cmd()
        .args(["secret", "set", "gh"])
        .write_stdin(format!("{CANARY}\n"))
        .assert()
        .success()
        .stdout("")
        .stderr(
            predicate::str::contains("created local://gh")
                .and(predicate::str::contains(CANARY).not()),
        );
    home.cmd()
        .args(["secret", "get", "gh"])
        .assert()
        .success()
        .stdout(CANARY);
    home.cmd()
        .args(["secret", "set", "gh"])
        .write_stdin("second\n\n")
        .assert()
        .success()
        .stderr(predicate::str::contains("updated"));
    home.cmd()
        .args(["secret", "get", "local://gh"])
        .assert()
        .success()
        .stdout("second\n");
}

#[test]
fn set_from_file_is_byte_exact() {
    let home = Home::new();
    let f = home.path().join("pem");
    let body = b"-----BEGIN KEY-----\nabc\n-----END KEY-----\n\0\xff";
    std::fs::write(&f, body).unwrap();
    home.cmd()
        .args(["secret", "set", "pem", "--from-file"])
        .arg(&f)
        .assert()
        .success();
    let out = home
        .cmd()
        .args(["secret", "get", "pem"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(out, body);
}

#[test]
fn empty_values_are_refused() {
    let home = Home::new();
    home.cmd()
        .args(["secret", "set", "e"])
        .write_stdin("\n")
        .assert()
        .code(64);
    assert!(!home.path().join("store.age").exists());
}

#[test]
fn ls_shows_names_and_times_never_values() {
    let home = Home::new();
    home.set("alpha", CANARY.as_bytes());
    home.set("beta", b"x");
    let out = home
        .cmd()
        .args(["secret", "ls"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("NAME"));
    assert!(text.contains("alpha") && text.contains("beta"));
    assert!(!text.contains(CANARY));
    let json = home
        .cmd()
        .args(["secret", "ls", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines = json_lines(&String::from_utf8(json).unwrap());
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["name"], "alpha");
    assert!(lines[0]["created"].as_str().unwrap().ends_with('Z'));
    assert!(!lines[0].to_string().contains(CANARY));
}

#[test]
fn rm_deletes_and_missing_is_78() {
    let home = Home::new();
    home.set("gone", b"x");
    home.cmd().args(["secret", "rm", "gone"]).assert().success();
    home.cmd().args(["secret", "get", "gone"]).assert().code(78);
    home.cmd().args(["secret", "rm", "gone"]).assert().code(78);
}

#[test]
fn files_are_private_and_the_store_is_encrypted() {
    let home = Home::new();
    home.set("k", CANARY.as_bytes());
    for f in ["store.age", "store.key"] {
        let mode = std::fs::metadata(home.path().join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{f}");
    }
    let raw = std::fs::read(home.path().join("store.age")).unwrap();
    assert!(raw.starts_with(b"age-encryption.org/v1"));
    assert!(!raw.windows(CANARY.len()).any(|w| w == CANARY.as_bytes()));
    // No temp files left beside the store.
    let names: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")),
        "{names:?}"
    );
    home.cmd()
        .args(["secret", "info"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("key file").and(predicate::str::contains("secrets:        1")),
        );
}

#[test]
fn concurrent_writers_lose_nothing() {
    let home = Home::new();
    home.set("seed", b"x");
    let kids: Vec<_> = (0..12)
        .map(|i| {
            let mut c = home.std_cmd();
            c.args(["secret", "set", &format!("k{i}")])
                .stdin(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("v{i}").as_bytes())
                .unwrap();
            child
        })
        .collect();
    for mut k in kids {
        assert!(k.wait().unwrap().success());
    }
    for i in 0..12 {
        home.cmd()
            .args(["secret", "get", &format!("k{i}")])
            .assert()
            .success()
            .stdout(format!("v{i}"));
    }
}

#[test]
fn undecryptable_store_is_a_clear_error_and_never_overwritten() {
    let home = Home::new();
    home.set("k", b"x");
    let store = home.path().join("store.age");
    let before = std::fs::read(&store).unwrap();
    // Replace the key with another identity.
    let other = Home::new();
    other.set("z", b"y");
    std::fs::copy(
        other.path().join("store.key"),
        home.path().join("store.key"),
    )
    .unwrap();
    home.cmd()
        .args(["secret", "set", "k2"])
        .write_stdin("v")
        .assert()
        .code(78)
        .stderr(
            predicate::str::contains("cannot decrypt")
                .and(predicate::str::contains("left untouched")),
        );
    home.cmd()
        .args(["run", "K=local://k", "--", "true"])
        .assert()
        .code(78);
    assert_eq!(std::fs::read(&store).unwrap(), before);
}

#[test]
fn a_key_file_readable_by_others_is_refused() {
    let home = Home::new();
    home.set("k", b"x");
    let key = home.path().join("store.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    home.cmd()
        .args(["secret", "get", "k"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("chmod 600"));
}

#[test]
fn set_never_takes_a_value_from_argv() {
    let home = Home::new();
    home.cmd()
        .args(["secret", "set", "k", CANARY])
        .assert()
        .code(64)
        .stderr(predicate::str::contains(CANARY).not());
}

/// The key goes to the OS keychain when one is usable: a real, headless
/// gnome-keyring that scripts/test starts on a private D-Bus session.
#[test]
fn key_lives_in_the_os_keychain_when_usable() {
    if std::env::var_os("MCP_WARDEN_TEST_PYTHON").is_none() {
        panic!("run the suite through scripts/test, which starts a Secret Service");
    }
    if std::env::var_os("MCP_WARDEN_TEST_KEYRING").is_none() {
        panic!("scripts/test could not start gnome-keyring; see .cache/test-logs");
    }
    let home = Home::new();
    home.cmd()
        .env("MCP_WARDEN_KEY_STORE", "auto")
        .args(["secret", "set", "kr"])
        .write_stdin(CANARY)
        .assert()
        .success();
    assert!(
        !home.path().join("store.key").exists(),
        "the key went to a file although the keychain works"
    );
    home.cmd()
        .env("MCP_WARDEN_KEY_STORE", "auto")
        .args(["secret", "info"])
        .assert()
        .success()
        .stdout(predicate::str::contains("OS keychain"));
    home.cmd()
        .env("MCP_WARDEN_KEY_STORE", "auto")
        .args(["run", "--exec", "K=local://kr", "--", "printenv", "K"])
        .assert()
        .success()
        .stdout(format!("{CANARY}\n"));
}

/// Without a keychain (no D-Bus session), `auto` falls back to a 0600 key file.
#[test]
fn falls_back_to_a_key_file_without_a_keychain() {
    let home = Home::new();
    home.cmd()
        .env("MCP_WARDEN_KEY_STORE", "auto")
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
        .args(["secret", "set", "k"])
        .write_stdin("v")
        .assert()
        .success();
    assert!(home.path().join("store.key").exists());
}

/// On a terminal, `secret set` prompts twice without echo. A real pty from
/// Python's `pty` module stands in for the user's terminal.
#[test]
fn set_prompts_without_echo_on_a_terminal() {
    let py = common::service_env("MCP_WARDEN_TEST_PYTHON");
    let home = Home::new();
    let script = r#"
import os, pty, sys, termios, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "secret", "set", "typed"])
seen = b""
def read_until(token, limit=10.0):
    global seen
    end = time.time() + limit
    while token not in seen and time.time() < end:
        try:
            seen += os.read(fd, 1024)
        except OSError:
            break
def echo_off(limit=10.0):
    # Type only once the program has turned echo off, as a person would after the prompt.
    end = time.time() + limit
    while termios.tcgetattr(fd)[3] & termios.ECHO and time.time() < end:
        time.sleep(0.01)
read_until(b"Value")
echo_off()
os.write(fd, sys.argv[2].encode() + b"\r")
read_until(b"Again")
echo_off()
os.write(fd, sys.argv[2].encode() + b"\r")
read_until(b"created", 10.0)
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;
    let out = std::process::Command::new(py)
        .args(["-c", script])
        .arg(common::bin_path())
        .arg(CANARY)
        .env("MCP_WARDEN_HOME", home.path())
        .env("MCP_WARDEN_KEY_STORE", "file")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("Value") && screen.contains("Again"),
        "{screen}"
    );
    assert!(
        !screen.contains(CANARY),
        "the typed value was echoed: {screen}"
    );
    home.cmd()
        .args(["secret", "get", "typed"])
        .assert()
        .success()
        .stdout(CANARY);
}
