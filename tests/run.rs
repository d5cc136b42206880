//! `mcp-warden run`: argument passing, environment, exit status, signals,
//! stdio transparency and secret hygiene, on the embedded store.

mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::Duration;

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
    // An unbuilt backend is a resolve-time configuration error, not a parse error.
    home.cmd()
        .args(["run", "K=op://vault/item/field", "--", "true"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains("not built"));
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
