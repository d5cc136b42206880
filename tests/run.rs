//! `mcp-warden run`: argument passing, environment, exit status, signals,
//! stdio transparency and secret hygiene, on the embedded store.

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

use common::process::proc_state;
use common::{CANARY, Home, kill, process_gone, read_pid, wait_until};
use predicates::prelude::*;

/// Both launchers, for tests that must hold in each.
const MODES: [&[&str]; 2] = [&["--exec"], &[]];

#[test]
fn arguments_reach_the_child_unchanged_and_no_shell_runs() {
    let home = Home::new();
    let marker = home.path().join("pwned");
    let m = marker.display().to_string();
    let tricky = [
        "a b  c".to_string(),
        "$HOME".to_string(),
        "`id`".to_string(),
        format!("x; touch {m}"),
        format!("y && touch {m}"),
        format!("z | touch {m}"),
        "--vault-type=x".to_string(),
        "--timeout".to_string(),
        "--".to_string(),
        "*".to_string(),
    ];
    for mode in MODES {
        let mut expected = String::new();
        for t in &tricky {
            expected.push_str(t);
            expected.push('\n');
        }
        home.cmd()
            .arg("run")
            .args(mode)
            .args(["--", "printf", "%s\\n"])
            .args(&tricky)
            .assert()
            .success()
            .stdout(expected);
        assert!(!marker.exists(), "a shell ran an argument");
    }
}

#[test]
fn the_child_sees_the_secret_in_its_environment() {
    let home = Home::new();
    home.set("api", CANARY.as_bytes());
    home.cmd()
        .args([
            "run",
            "--exec",
            "K=local://api",
            "--",
            "sh",
            "-c",
            "echo \"[$K]\"",
        ])
        .assert()
        .success()
        .stdout(format!("[{CANARY}]\n"))
        .stderr("");
    home.cmd()
        .args([
            "run",
            "--no-redact",
            "K=local://api",
            "--",
            "sh",
            "-c",
            "echo \"[$K]\"",
        ])
        .assert()
        .success()
        .stdout(format!("[{CANARY}]\n"));
    // Supervised with the proxy on, the child has the value and the client sees it redacted.
    home.cmd()
        .args([
            "run",
            "--no-audit",
            "K=local://api",
            "--",
            "sh",
            "-c",
            "echo \"[$K]\"",
        ])
        .assert()
        .success()
        .stdout("[[REDACTED:K]]\n");
}

#[test]
fn reference_with_equals_and_encoded_hash() {
    let home = Home::new();
    // The name is `a=b#c`: '=' needs no escape after the first one, '#' is %23.
    home.cmd()
        .args(["secret", "set", "local://a=b%23c"])
        .write_stdin("v=1=2")
        .assert()
        .success();
    for mode in MODES {
        home.cmd()
            .arg("run")
            .args(mode)
            .args(["--no-redact", "X=local://a=b%23c", "--", "printenv", "X"])
            .assert()
            .success()
            .stdout("v=1=2\n");
    }
    // A JSON secret with a selector in both spellings.
    home.set("db", br#"{"user":"u","pw":{"list":["p0","p1"]}}"#);
    home.cmd()
        .args([
            "run",
            "--exec",
            "U=local://db#user",
            "P=local://db#pw.list[1]",
            "Q=local://db#/pw/list/0",
            "--",
        ])
        .args(["sh", "-c", "echo $U $P $Q"])
        .assert()
        .success()
        .stdout("u p1 p0\n");
}

#[test]
fn exit_codes_pass_through() {
    let home = Home::new();
    for mode in MODES {
        home.cmd()
            .arg("run")
            .args(mode)
            .args(["--", "sh", "-c", "exit 7"])
            .assert()
            .code(7);
    }
    // Killed by SIGKILL: 128 + 9.
    home.cmd()
        .args(["run", "--", "sh", "-c", "kill -9 $$"])
        .assert()
        .code(137);
    home.cmd()
        .args(["run", "--", "no-such-command-mcp-warden"])
        .assert()
        .code(127)
        .stderr(predicate::str::starts_with("mcp-warden: command not found"));
}

#[test]
fn sigterm_is_forwarded_and_leaves_no_orphan() {
    let home = Home::new();
    let pidfile = home.path().join("child.pid");
    let script = format!("echo $$ > {}; exec sleep 600", pidfile.display());
    let mut p = home
        .std_cmd()
        .args(["run", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let child = read_pid(&pidfile);
    kill(p.id() as i32, "TERM");
    let status = p.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(128 + 15),
        "exit status passes on the child's SIGTERM death"
    );
    assert!(
        wait_until(Duration::from_secs(5), || process_gone(child)),
        "child {child} outlived mcp-warden"
    );
}

#[test]
fn other_signals_are_forwarded() {
    let home = Home::new();
    let dir = home.path();
    let script = format!(
        "trap 'echo usr1 >> {d}/got' USR1; trap 'echo hup >> {d}/got' HUP; trap 'echo int >> {d}/got; exit 3' INT; \
         echo $$ > {d}/child.pid; while :; do sleep 0.05; done",
        d = dir.display()
    );
    let mut p = home
        .std_cmd()
        .args(["run", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    read_pid(&dir.join("child.pid"));
    let got = dir.join("got");
    let lines = |n: usize| {
        wait_until(Duration::from_secs(5), || {
            std::fs::read_to_string(&got)
                .map(|s| s.lines().count() >= n)
                .unwrap_or(false)
        })
    };
    kill(p.id() as i32, "USR1");
    assert!(lines(1));
    kill(p.id() as i32, "HUP");
    assert!(lines(2));
    kill(p.id() as i32, "INT");
    assert_eq!(p.wait().unwrap().code(), Some(3));
    assert_eq!(std::fs::read_to_string(&got).unwrap(), "usr1\nhup\nint\n");
}

#[test]
fn sigkill_of_mcp_warden_takes_the_child_with_it() {
    let home = Home::new();
    let pidfile = home.path().join("child.pid");
    let script = format!("echo $$ > {}; exec sleep 600", pidfile.display());
    let mut p = home
        .std_cmd()
        .args(["run", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let child = read_pid(&pidfile);
    kill(p.id() as i32, "KILL");
    let _ = p.wait();
    assert!(
        wait_until(Duration::from_secs(5), || process_gone(child)),
        "child {child} survived SIGKILL of its parent"
    );
}

#[test]
fn exec_mode_replaces_the_process() {
    let home = Home::new();
    let out = home
        .std_cmd()
        .args(["run", "--exec", "--", "sh", "-c", "echo $$"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = out.id();
    let o = out.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), pid.to_string());
}

#[test]
fn backend_credentials_do_not_reach_the_child() {
    let home = Home::new();
    let creds = [
        ("AWS_SECRET_ACCESS_KEY", "aws-canary"),
        ("AWS_ACCESS_KEY_ID", "AKIA-canary"),
        ("VAULT_TOKEN", "vault-canary"),
        ("VAULT_TYPE", "local"),
        ("BAO_TOKEN", "bao-canary"),
        ("GOOGLE_APPLICATION_CREDENTIALS", "/gcp-canary.json"),
        ("AZURE_CLIENT_SECRET", "azure-canary"),
        ("OP_SERVICE_ACCOUNT_TOKEN", "op-canary"),
    ];
    for mode in MODES {
        let mut c = home.cmd();
        c.arg("run").args(mode).args(["--", "env"]);
        for (k, v) in creds {
            c.env(k, v);
        }
        c.env("UNRELATED_SETTING", "kept");
        let out = c.assert().success().get_output().stdout.clone();
        let env = String::from_utf8_lossy(&out);
        for (k, _) in creds {
            assert!(
                !env.lines().any(|l| l.starts_with(&format!("{k}="))),
                "{k} reached the child"
            );
        }
        assert!(
            !env.contains("MCP_WARDEN_HOME"),
            "our own settings reached the child"
        );
        assert!(env.contains("UNRELATED_SETTING=kept"));
    }
    // --pass-env keeps one on purpose.
    home.cmd()
        .args([
            "run",
            "--exec",
            "--pass-env",
            "AWS_SECRET_ACCESS_KEY",
            "--",
            "printenv",
            "AWS_SECRET_ACCESS_KEY",
        ])
        .env("AWS_SECRET_ACCESS_KEY", "aws-canary")
        .assert()
        .success()
        .stdout("aws-canary\n");
    // --clean-env passes only the allowlist.
    let out = home
        .cmd()
        .args(["run", "--exec", "--clean-env", "--", "env"])
        .env("UNRELATED_SETTING", "dropped")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let env = String::from_utf8_lossy(&out);
    assert!(env.contains("PATH=") && !env.contains("UNRELATED_SETTING"));
}

#[test]
fn ten_megabytes_of_random_bytes_pass_through_byte_identical() {
    let home = Home::new();
    home.set("k", CANARY.as_bytes());
    let data = random_bytes(10 * 1024 * 1024);
    // exec, supervise with the proxy (audit only), and the proxy redacting a value.
    let with_secret: &[&str] = &["K=local://k"];
    for mode in MODES.into_iter().chain([with_secret]) {
        let out = home
            .cmd()
            .arg("run")
            .args(mode)
            .args(["--", "cat"])
            .write_stdin(data.clone())
            .timeout(Duration::from_secs(60))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        assert!(
            out == data,
            "mode {mode:?}: {} bytes out, {} in",
            out.len(),
            data.len()
        );
    }
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut f = std::fs::File::open("/dev/urandom").unwrap();
    let mut v = vec![0u8; n];
    f.read_exact(&mut v).unwrap();
    v
}

#[test]
fn missing_secret_is_one_clear_line_and_nothing_starts() {
    let home = Home::new();
    home.set("present", b"x");
    let marker = home.path().join("started");
    for mode in MODES {
        home.cmd()
            .arg("run")
            .args(mode)
            .args(["A=local://present", "B=local://absent", "--", "touch"])
            .arg(&marker)
            .assert()
            .code(78)
            .stdout("")
            .stderr(
                predicate::str::is_match(
                    "^mcp-warden: B: local://absent: no secret named \"absent\".*\n$",
                )
                .unwrap(),
            );
        assert!(
            !marker.exists(),
            "the child started although a secret was missing"
        );
    }
    // A backend that cannot be reached as configured (1Password without
    // Connect settings or an `op` on PATH) is a resolve-time configuration
    // error, not a parse error.
    home.cmd()
        .env_remove("OP_CONNECT_HOST")
        .env_remove("OP_CONNECT_TOKEN")
        .env("PATH", "/nonexistent")
        .args(["run", "K=op://vault/item/field", "--", "true"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("`op` is not on PATH"));
    // A malformed reference is a usage error pointing at the position.
    home.cmd()
        .args(["run", "K=local://a%zz", "--", "true"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("at character 10"));
}

#[test]
fn nul_in_a_value_is_exit_65_naming_the_variable_not_the_value() {
    let home = Home::new();
    let mut v = CANARY.as_bytes().to_vec();
    v.push(0);
    v.extend_from_slice(b"tail");
    home.set("nul", &v);
    home.cmd()
        .args(["run", "MY_VAR=local://nul", "--", "true"])
        .assert()
        .code(65)
        .stderr(predicate::str::contains("MY_VAR").and(predicate::str::contains(CANARY).not()));
}

#[test]
fn selector_miss_names_keys_never_values() {
    let home = Home::new();
    home.set(
        "json",
        format!(r#"{{"token":"{CANARY}","user":"u"}}"#).as_bytes(),
    );
    home.cmd()
        .args(["run", "T=local://json#password", "--", "true"])
        .assert()
        .code(65)
        .stderr(
            predicate::str::contains("\"token\"")
                .and(predicate::str::contains("\"user\""))
                .and(predicate::str::contains(CANARY).not()),
        );
    home.cmd()
        .args(["run", "T=local://json#token.x", "--", "true"])
        .assert()
        .code(65)
        .stderr(predicate::str::contains(CANARY).not());
}

#[test]
fn canary_is_not_in_our_stderr_cmdline_or_environ() {
    let home = Home::new();
    home.set("canary", CANARY.as_bytes());
    let pidfile = home.path().join("child.pid");
    let script = format!("echo $$ > {}; exec sleep 600", pidfile.display());
    let mut p = home
        .std_cmd()
        .args(["run", "K=local://canary", "--", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let child = read_pid(&pidfile);
    let me = p.id();
    let cmdline = std::fs::read(format!("/proc/{me}/cmdline")).unwrap();
    let environ = std::fs::read(format!("/proc/{me}/environ")).unwrap();
    let child_env = std::fs::read(format!("/proc/{child}/environ")).unwrap();
    let has = |hay: &[u8]| hay.windows(CANARY.len()).any(|w| w == CANARY.as_bytes());
    assert!(!has(&cmdline), "canary in mcp-warden's cmdline");
    assert!(!has(&environ), "canary in mcp-warden's environ");
    assert!(
        has(&child_env),
        "the child must have the value (sanity check)"
    );
    // Hardened: no core dumps for mcp-warden; the child keeps its own limit.
    let limits = std::fs::read_to_string(format!("/proc/{me}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    let ours = std::fs::read_to_string("/proc/self/limits").unwrap();
    let child_limits = std::fs::read_to_string(format!("/proc/{child}/limits")).unwrap();
    let line = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Max core file size"))
            .map(String::from)
    };
    assert_eq!(
        line(&child_limits),
        line(&ours),
        "the child gets the core limit it would have had"
    );
    kill(me as i32, "TERM");
    let mut err = Vec::new();
    p.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let _ = p.wait();
    assert!(!has(&err), "canary in mcp-warden's stderr");
}

#[test]
fn usage_errors_are_one_line_exit_64() {
    let home = Home::new();
    home.cmd()
        .args(["run", "K=local://x"])
        .assert()
        .code(64)
        .stderr(predicate::str::starts_with("mcp-warden: "));
    // --exec removes the proxy, so a policy given with it is refused, not ignored.
    home.cmd()
        .args(["run", "--exec", "--deny-tool", "delete_*", "--", "true"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("--deny-tool needs the proxy"));
    home.cmd()
        .args(["run", "NOEQUALS", "--", "true"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("NAME=REF"));
    // An unknown flag is named without its value, which could be a credential.
    home.cmd()
        .args(["run", &format!("--token={CANARY}"), "--", "true"])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("--token").and(predicate::str::contains(CANARY).not()));
    home.cmd()
        .args([
            "run",
            "T=ghp_0123456789abcdefghijklmnopqrstuvwxyz",
            "--",
            "true",
        ])
        .assert()
        .code(64)
        .stderr(predicate::str::contains("ghp_0123").not());
    let out = home
        .cmd()
        .args(["run", "--timeout", "soon", "--", "true"])
        .assert()
        .code(64)
        .get_output()
        .stderr
        .clone();
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "one line");
}

#[test]
fn stdout_stays_the_childs() {
    let home = Home::new();
    home.set("k", b"value-123456");
    for mode in MODES {
        home.cmd()
            .arg("run")
            .args(mode)
            .args(["K=local://k", "--", "true"])
            .assert()
            .success()
            .stdout("");
    }
    // A warning-free run writes nothing to stderr either.
    let mut child = home.std_cmd();
    child.args(["run", "--exec", "K=local://k", "--", "true"]);
    let o = child.output().unwrap();
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::io::stderr().flush();
}

#[test]
fn file_references_read_mounted_secrets_with_selectors() {
    let home = Home::new();
    let dir = home.path().join("run-secrets");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("token"), CANARY).unwrap();
    std::fs::write(dir.join("db.json"), r#"{"db":{"user":"app","port":5432}}"#).unwrap();
    let token = format!("T=file://{}", dir.join("token").display());
    let user = format!("U=file://{}#db.user", dir.join("db.json").display());
    let port = format!("P=file://{}#/db/port", dir.join("db.json").display());
    home.cmd()
        .args([
            "run",
            "--exec",
            &token,
            &user,
            &port,
            "--",
            "sh",
            "-c",
            "echo \"$T $U $P\"",
        ])
        .assert()
        .success()
        .stdout(format!("{CANARY} app 5432\n"));
    let missing = format!("M=file://{}", dir.join("absent").display());
    home.cmd()
        .args(["run", &missing, "--", "true"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("absent"));
    home.cmd()
        .args(["run", "R=file://relative/path", "--", "true"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("absolute path"));
}

#[test]
fn malformed_arguments_are_never_echoed() {
    let home = Home::new();
    let cases: Vec<Vec<String>> = vec![
        vec![
            "run".into(),
            format!("--exec={CANARY}"),
            "--".into(),
            "true".into(),
        ],
        vec!["run".into(), CANARY.into(), "--".into(), "true".into()],
        vec![
            "run".into(),
            format!("={CANARY}"),
            "--".into(),
            "true".into(),
        ],
        vec![
            "run".into(),
            format!("K=local://{CANARY}%zz"),
            "--".into(),
            "true".into(),
        ],
        vec![
            "run".into(),
            "--timeout".into(),
            CANARY.into(),
            "--".into(),
            "true".into(),
        ],
        vec![CANARY.into()],
        vec!["secret".into(), "get".into(), format!("{CANARY}%q")],
    ];
    for args in cases {
        let o = home.cmd().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(64), "{args:?}: {err}");
        assert!(!err.contains(CANARY), "{args:?} echoed: {err}");
        assert!(
            err.starts_with("mcp-warden: ") && err.lines().count() == 1,
            "{err}"
        );
    }
}

#[test]
fn expand_args_places_a_value_in_the_arguments_only_when_asked() {
    let home = Home::new();
    home.set("api", CANARY.as_bytes());
    let out = home.path().join("args.txt");
    let o = out.display().to_string();
    // The child writes its arguments to a file: stdout would be redacted by the proxy.
    let script = format!("printf '%s\\n' \"$@\" > {o}");
    for mode in MODES {
        // Opt-in: %{K} becomes the value; %%{ is a literal %{; $0 (the program) is never touched.
        home.cmd()
            .arg("run")
            .args(mode)
            .args([
                "--expand-args",
                "K=local://api",
                "--",
                "sh",
                "-c",
                &script,
                "sh",
            ])
            .args(["--api-key=%{K}", "%%{K}", "100%"])
            .assert()
            .success();
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            format!("--api-key={CANARY}\n%{{K}}\n100%\n")
        );
        // Without the flag, everything after -- is untouched.
        home.cmd()
            .arg("run")
            .args(mode)
            .args([
                "K=local://api",
                "--",
                "sh",
                "-c",
                &script,
                "sh",
                "--api-key=%{K}",
            ])
            .assert()
            .success();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "--api-key=%{K}\n");
    }
    // A name that was not injected is a usage error naming the placeholder, never a value.
    home.cmd()
        .args([
            "run",
            "--expand-args",
            "K=local://api",
            "--",
            "true",
            "%{KEY}",
        ])
        .assert()
        .code(64)
        .stdout("")
        .stderr(predicate::str::contains("%{KEY}").and(predicate::str::contains(CANARY).not()));
}

/// A server that records every SIGINT it receives, with its sender, as a
/// line `int <si_pid> <si_code>` in `DIR/got`, and keeps running (SIGINT is
/// blocked and taken with sigwaitinfo, so none is lost to a handler race).
/// With `read`, it first reads a line from stdin into `DIR/read`.
/// `DIR/child.pid` says it is ready.
const COUNTING_PY: &str = r#"import os, signal, sys
d, read = sys.argv[1], sys.argv[2] == "read"
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
if read:
    open(os.path.join(d, "read"), "w").write(sys.stdin.readline())
open(os.path.join(d, "child.pid"), "w").write(str(os.getpid()))
while True:
    i = signal.sigwaitinfo({signal.SIGINT})
    with open(os.path.join(d, "got"), "a") as f:
        f.write("int %d %d\n" % (i.si_pid, i.si_code))
"#;

fn counting_server(dir: &std::path::Path, read: bool) -> Vec<String> {
    vec![
        common::service_env("MCP_WARDEN_TEST_PYTHON"),
        "-c".into(),
        COUNTING_PY.into(),
        dir.display().to_string(),
        if read { "read" } else { "no" }.into(),
    ]
}

/// The senders of the SIGINTs recorded in `got` once there are `n`, after a
/// settle time in which a second delivery of the same signal would arrive.
fn senders(got: &std::path::Path, n: usize) -> Vec<(i32, i32)> {
    let read = || {
        std::fs::read_to_string(got)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                let f: Vec<i32> = l.split(' ').skip(1).map(|x| x.parse().unwrap()).collect();
                (f[0], f[1])
            })
            .collect::<Vec<_>>()
    };
    assert!(
        wait_until(Duration::from_secs(5), || read().len() >= n),
        "SIGINT {n} never arrived"
    );
    std::thread::sleep(Duration::from_millis(400));
    read()
}

/// Field `n` (1-based, as in proc(5)) of `/proc/PID/stat`.
fn stat_field(pid: i32, n: usize) -> i32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let rest = stat.rsplit_once(')').expect("comm").1;
    rest.split_whitespace()
        .nth(n - 3)
        .expect("field")
        .parse()
        .expect("number")
}

/// mcp-warden, killed (and with it, its server) if a test fails before it ends.
struct Running(std::process::Child);

impl Running {
    fn id(&self) -> i32 {
        self.0.id() as i32
    }

    fn wait(&mut self) -> std::process::ExitStatus {
        self.0.wait().expect("wait for mcp-warden")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// SIGINT sent to mcp-warden, or to its whole process group (what a
/// terminal's ^C does), reaches the server exactly once, from mcp-warden:
/// with the proxy between them and without.
#[test]
fn sigint_reaches_the_server_exactly_once() {
    use std::os::unix::process::CommandExt;
    for proxy in [true, false] {
        let home = Home::new();
        let dir = home.path();
        let mut c = home.std_cmd();
        c.arg("run");
        if !proxy {
            c.args(["--no-audit", "--no-redact"]);
        }
        let mut p = Running(
            c.arg("--")
                .args(counting_server(dir, false))
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap(),
        );
        let child = read_pid(&dir.join("child.pid"));
        let ours = p.id();
        assert_eq!(
            stat_field(child, 5),
            child,
            "the server leads its own group"
        );
        let got = dir.join("got");
        kill(ours, "INT");
        assert_eq!(
            senders(&got, 1),
            [(ours, 0)],
            "kill -INT <pid>, proxy: {proxy}"
        );
        // SAFETY: kill(2) on the process group this test started.
        assert_eq!(unsafe { libc::kill(-ours, libc::SIGINT) }, 0);
        assert_eq!(
            senders(&got, 2),
            [(ours, 0), (ours, 0)],
            "kill -INT -<pgid>, proxy: {proxy}"
        );
        kill(ours, "TERM");
        assert_eq!(p.wait().code(), Some(128 + 15));
        assert!(wait_until(Duration::from_secs(5), || process_gone(child)));
    }
}

/// A pseudo-terminal whose slave becomes the controlling terminal (and
/// stdio) of the process spawned with it.
struct Pty {
    master: std::fs::File,
    slave: std::fs::File,
}

impl Pty {
    fn open() -> Pty {
        use std::os::fd::FromRawFd;
        // SAFETY: plain libc calls on descriptors this function owns.
        unsafe {
            let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
            assert!(m >= 0, "posix_openpt");
            assert_eq!(libc::grantpt(m), 0);
            assert_eq!(libc::unlockpt(m), 0);
            let name = std::ffi::CStr::from_ptr(libc::ptsname(m)).to_owned();
            let s = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
            assert!(s >= 0, "open the pty slave");
            Pty {
                master: std::fs::File::from_raw_fd(m),
                slave: std::fs::File::from_raw_fd(s),
            }
        }
    }

    /// `c` in a new session with this terminal as stdio and controlling terminal.
    fn attach(&self, c: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let io = || Stdio::from(self.slave.try_clone().expect("dup"));
        c.stdin(io()).stdout(io()).stderr(io());
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            c.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }

    fn type_in(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).expect("write to the terminal");
    }
}

/// ^C typed in a real terminal reaches the server once: through our
/// forward when the proxy holds its stdio; from the terminal itself when it
/// shares our terminal (it is then the terminal's foreground group, so it
/// can also read the terminal).
#[test]
fn ctrl_c_in_a_terminal_reaches_the_server_exactly_once() {
    for proxy in [true, false] {
        let home = Home::new();
        let dir = home.path();
        let mut pty = Pty::open();
        let mut c = home.std_cmd();
        c.arg("run");
        if !proxy {
            c.args(["--no-audit", "--no-redact"]);
        }
        pty.attach(&mut c);
        let mut p = Running(
            c.arg("--")
                .args(counting_server(dir, !proxy))
                .spawn()
                .unwrap(),
        );
        let ours = p.id();
        if !proxy {
            pty.type_in(b"hello\n");
        }
        let child = read_pid(&dir.join("child.pid"));
        // Field 8: the foreground process group of the controlling terminal.
        let foreground = if proxy { ours } else { child };
        assert_eq!(stat_field(child, 8), foreground, "proxy: {proxy}");
        if !proxy {
            assert_eq!(
                std::fs::read_to_string(dir.join("read")).unwrap_or_default(),
                "hello\n",
                "the server reads the terminal it shares"
            );
        }
        if !proxy {
            // ^Z stops the server's group; mcp-warden takes the terminal and
            // stops too (here its group has no shell to stop for: the kernel
            // discards that), then continues the server in the foreground.
            pty.type_in(b"\x1a");
            std::thread::sleep(Duration::from_millis(300));
            assert!(
                wait_until(Duration::from_secs(5), || proc_state(child) != Some('T')
                    && stat_field(child, 8) == child),
                "the server stayed stopped, or lost the terminal"
            );
        }
        pty.type_in(b"\x03");
        // From mcp-warden (SI_USER), or from the terminal (SI_KERNEL, no sender).
        let want = if proxy { (ours, 0) } else { (0, 0x80) };
        assert_eq!(senders(&dir.join("got"), 1), [want], "^C, proxy: {proxy}");
        kill(ours, "TERM");
        assert_eq!(p.wait().code(), Some(128 + 15), "proxy: {proxy}");
        assert!(wait_until(Duration::from_secs(5), || process_gone(child)));
    }
}
