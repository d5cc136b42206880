//! Profiles (`run @NAME`), command pins checked before any secret is
//! fetched, and policy that a project file or the command line may only
//! narrow.
//!
//! "No backend request was made" is proved with a counting TCP forwarder in
//! front of moto (a stand-in for a backend's access log): every connection
//! the AWS SDK opens is counted, then relayed to moto. The same runs that
//! succeed show a count above zero, so a zero after a refusal means something.
//! `scripts/test` starts moto and exports `MCP_WARDEN_TEST_MOTO_URL` and
//! `MCP_WARDEN_TEST_PYTHON`.

#![cfg(unix)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use common::env::moto_env;
use common::output::{json_lines, stderr, stdout};
use common::process::pipe;
use common::{CANARY, Home, service_env, unique};

/// A test's world: an isolated mcp-warden home, a working directory that is
/// its own repository root (so no stray `.mcp-warden.toml` above applies),
/// and a bin directory first on PATH.
struct World {
    home: Home,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(".git")).expect("mkdir .git");
        std::fs::create_dir(dir.path().join("bin")).expect("mkdir bin");
        World {
            home: Home::new(),
            dir,
        }
    }

    fn cwd(&self) -> &Path {
        self.dir.path()
    }

    fn config(&self) -> PathBuf {
        self.home.path().join("config.toml")
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.config(), text).expect("write config");
    }

    /// An executable script in the bin directory.
    fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.cwd().join("bin").join(name);
        std::fs::write(&p, body).expect("write script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }

    /// Where the servers below write what they saw in `$K`.
    fn out(&self) -> PathBuf {
        self.cwd().join("seen")
    }

    fn cmd(&self) -> Command {
        let mut c = self.home.cmd();
        let path = format!(
            "{}:{}",
            self.cwd().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        c.current_dir(self.cwd())
            .env_remove("MCP_WARDEN_CONFIG")
            .env("PATH", path)
            .env("OUT", self.out());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run mcp-warden")
    }

    fn audit_log(&self) -> String {
        std::fs::read_to_string(self.home.path().join("audit/audit.jsonl")).unwrap_or_default()
    }
}

/// No secret in any output, and the exit code expected.
fn check(o: &Output, code: i32) -> String {
    let (out, err) = (stdout(o), stderr(o));
    assert_eq!(o.status.code(), Some(code), "stdout: {out}\nstderr: {err}");
    assert!(
        !out.contains(CANARY) && !err.contains(CANARY),
        "secret leaked: {out} {err}"
    );
    err
}

/// A server that records what it got in `$K` in `$OUT`, then exits 0.
const SERVER_SH: &str = "#!/bin/sh\nprintf %s \"$K\" > \"$OUT\"\n";

// --- a backend with an access counter -----------------------------------------

/// Counts connections to a loopback port and relays them to `upstream`
/// (or drops them when there is none).
struct Counter {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Counter {
    fn start(upstream: Option<SocketAddr>) -> Counter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { break };
                h.fetch_add(1, Ordering::SeqCst);
                let Some(up) = upstream else { continue };
                let Ok(server) = TcpStream::connect(up) else {
                    continue;
                };
                relay(client, server);
            }
        });
        Counter { port, hits }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn reset(&self) {
        self.hits.store(0, Ordering::SeqCst);
    }
}

/// A loopback port in front of moto that holds the first connection until
/// the test lets it through: a backend request still in flight, on cue.
struct Gate {
    port: u16,
    arrived: mpsc::Receiver<()>,
    release: mpsc::Sender<()>,
}

impl Gate {
    fn start(upstream: SocketAddr) -> Gate {
        let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
        let port = listener.local_addr().expect("addr").port();
        let (arrived_tx, arrived) = mpsc::channel();
        let (release, release_rx) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            for (n, conn) in listener.incoming().enumerate() {
                let Ok(client) = conn else { break };
                if n == 0 {
                    let _ = arrived_tx.send(());
                    let _ = release_rx.recv_timeout(Duration::from_secs(30));
                }
                if let Ok(server) = TcpStream::connect(upstream) {
                    relay(client, server);
                }
            }
        });
        Gate {
            port,
            arrived,
            release,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn relay(a: TcpStream, b: TcpStream) {
    let pipe = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            let _ = to.shutdown(Shutdown::Write);
        });
    };
    if let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) {
        pipe(a, b2);
        pipe(b, a2);
    }
}

fn moto_addr() -> SocketAddr {
    let url = service_env("MCP_WARDEN_TEST_MOTO_URL");
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    hostport
        .parse()
        .expect("MCP_WARDEN_TEST_MOTO_URL is http://IP:PORT")
}

/// Creates a Secrets Manager secret in moto with boto3; returns its name.
fn aws_secret(tag: &str, value: &str) -> String {
    let name = unique(&format!("govern-{tag}"));
    let py = "import boto3, os, sys\n\
boto3.client('secretsmanager', region_name='us-east-1', endpoint_url=os.environ['MW_MOTO'],\n\
  aws_access_key_id='testing', aws_secret_access_key='testing')\\\n\
  .create_secret(Name=sys.argv[1], SecretString=sys.stdin.read())\n";
    let out = pipe(
        StdCommand::new(service_env("MCP_WARDEN_TEST_PYTHON"))
            .args(["-c", py, &name])
            .env("MW_MOTO", service_env("MCP_WARDEN_TEST_MOTO_URL")),
        value.as_bytes(),
    );
    assert!(out.status.success(), "fixture: {}", stderr(&out));
    name
}

/// AWS settings that reach moto only through `counter`.
fn aws(c: &mut Command, w: &World, endpoint: &str) {
    c.env("HOME", w.home.path());
    moto_env(c, w.cwd(), endpoint);
}

fn run_aws(w: &World, counter: &Counter, args: &[&str]) -> Output {
    let mut c = w.cmd();
    aws(&mut c, w, &counter.url());
    c.args(args).output().expect("run mcp-warden")
}

// --- tests ---------------------------------------------------------------------

#[test]
fn profile_errors_name_the_key_and_line_and_exit_78() {
    let w = World::new();
    w.write_config(
        "[defaults]\naudit = true\n\n[servers.demo]\ncommand = \"true\"\npinn = \"required\"\n",
    );
    let err = check(&w.run(&["run", "@demo"]), 78);
    let line = format!(
        "{}:6:1: unknown key `pinn` in [servers.demo]",
        w.config().display()
    );
    assert!(err.contains(&line), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");

    // A value in a wrong place is never echoed: it may be a pasted token.
    w.write_config(&format!(
        "[servers.demo]\ncommand = \"true\"\ntimeout = \"{CANARY}\"\n"
    ));
    let err = check(&w.run(&["run", "@demo"]), 78);
    assert!(err.contains("config.toml:3:1: `timeout`"), "{err}");

    // A server may not weaken the [defaults] floor.
    w.write_config(
        "[defaults]\nredact = true\n[servers.demo]\ncommand = \"true\"\nredact = false\n",
    );
    let err = check(&w.run(&["pin", "@demo"]), 78);
    assert!(
        err.contains("config.toml:5:1") && err.contains("turns redaction off"),
        "{err}"
    );

    // Unknown profiles list the known ones.
    w.write_config("[servers.demo]\ncommand = \"true\"\n");
    let err = check(&w.run(&["run", "@nope"]), 78);
    assert!(
        err.contains("no profile @nope") && err.contains("demo"),
        "{err}"
    );
    // @NAME takes neither NAME=REF nor a command after --.
    check(&w.run(&["run", "@demo", "K=local://x"]), 64);
    check(&w.run(&["run", "@demo", "--", "sh"]), 64);
}

#[test]
fn run_profile_starts_the_server_with_its_secrets() {
    let w = World::new();
    w.home.set("api", CANARY.as_bytes());
    let srv = w.script("srv", SERVER_SH);
    w.write_config(&format!(
        "# my servers\n[servers.demo]  # keep this comment\ncommand = \"{}\"\nenv = {{ K = \"local://api\" }}\nowner = \"me@example.com\"\nrotate_after = \"90d\"\npin = \"required\"\n",
        srv.display()
    ));
    // Required and not pinned yet: refused, nothing ran.
    let err = check(&w.run(&["run", "@demo"]), 77);
    assert!(err.contains("has no pin"), "{err}");
    assert!(!w.out().exists());

    let o = w.run(&["pin", "@demo"]);
    check(&o, 0);
    assert!(stdout(&o).contains("first pin"), "{}", stdout(&o));
    let cfg = std::fs::read_to_string(w.config()).expect("config");
    assert!(
        cfg.starts_with("# my servers\n[servers.demo]  # keep this comment\n"),
        "{cfg}"
    );
    assert!(
        cfg.contains("[servers.demo.pinned]") && !cfg.contains(CANARY),
        "{cfg}"
    );

    let err = check(&w.run(&["run", "@demo"]), 0);
    assert_eq!(err, "", "a pinned profile starts quietly");
    assert_eq!(std::fs::read_to_string(w.out()).expect("seen"), CANARY);
    let log = w.audit_log();
    assert!(
        log.contains("\"server\":\"demo\"") && log.contains("\"type\":\"start\""),
        "{log}"
    );
    assert!(!log.contains(CANARY));
}

/// Pins, then runs: the first run fetches (count > 0), the run after the
/// change is refused with no connection at all, and a re-pin runs again.
fn refused_before_any_backend_request(w: &World, profile: &str, change: impl FnOnce(), what: &str) {
    let counter = Counter::start(Some(moto_addr()));
    check(&run_aws(w, &counter, &["pin", profile]), 0);
    check(&run_aws(w, &counter, &["run", profile]), 0);
    assert_eq!(std::fs::read_to_string(w.out()).expect("seen"), CANARY);
    assert!(
        counter.hits() > 0,
        "the counter sees the backend requests of a run"
    );
    std::fs::remove_file(w.out()).expect("rm seen");

    change();
    counter.reset();
    let err = check(&run_aws(w, &counter, &["run", profile]), 77);
    assert_eq!(counter.hits(), 0, "a backend was contacted: {err}");
    assert!(!w.out().exists(), "the server ran");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("does not match its pin") && err.contains(what),
        "{err}"
    );
    assert!(
        err.contains("no secret was fetched") && err.contains("--update-pin"),
        "{err}"
    );
    // Expected and actual hash prefixes are both named.
    assert!(err.matches('…').count() >= 2, "{err}");
    // `pin --check` agrees, and plain `pin` does not overwrite a mismatch.
    check(&run_aws(w, &counter, &["pin", profile, "--check"]), 77);
    check(&run_aws(w, &counter, &["pin", profile]), 77);
    assert_eq!(counter.hits(), 0);

    // After review: re-record, then it runs.
    let o = run_aws(w, &counter, &["pin", profile, "--update-pin"]);
    check(&o, 0);
    assert!(stdout(&o).contains(what), "{}", stdout(&o));
    check(&run_aws(w, &counter, &["run", profile]), 0);
    assert_eq!(std::fs::read_to_string(w.out()).expect("seen"), CANARY);
    assert!(counter.hits() > 0);
}

#[test]
fn replaced_executable_is_refused_before_any_backend_request() {
    let w = World::new();
    let secret = aws_secret("exe", CANARY);
    let srv = w.script("srv", SERVER_SH);
    w.write_config(&format!(
        "[servers.exe]\ncommand = \"{}\"\nenv = {{ K = \"aws-sm://{secret}\" }}\n",
        srv.display()
    ));
    let srv2 = srv.clone();
    refused_before_any_backend_request(
        &w,
        "@exe",
        move || std::fs::write(&srv2, format!("{SERVER_SH}echo extra >&2\n")).expect("modify"),
        &format!("executable {}", srv.display()),
    );
}

#[test]
fn changed_interpreter_script_is_refused_before_any_backend_request() {
    let w = World::new();
    let secret = aws_secret("script", CANARY);
    let py = service_env("MCP_WARDEN_TEST_PYTHON");
    let script = w.cwd().join("server.py");
    std::fs::write(
        &script,
        "import os\nopen(os.environ['OUT'], 'w').write(os.environ['K'])\n",
    )
    .expect("write script");
    // A relative script path: resolved against the working directory.
    w.write_config(&format!(
        "[servers.py]\ncommand = \"{py}\"\nargs = [\"server.py\"]\nenv = {{ K = \"aws-sm://{secret}\" }}\npin = \"required\"\n"
    ));
    let s2 = script.clone();
    let canonical = script.canonicalize().expect("canonical");
    refused_before_any_backend_request(
        &w,
        "@py",
        move || {
            std::fs::write(
                &s2,
                "import os\nopen(os.environ['OUT'], 'w').write(os.environ['K'])\nprint('x')\n",
            )
            .expect("modify");
        },
        &format!("script {}", canonical.display()),
    );
}

#[test]
fn run_update_pin_re_records_then_runs() {
    let w = World::new();
    w.home.set("api", CANARY.as_bytes());
    let srv = w.script("srv", SERVER_SH);
    w.write_config(&format!(
        "[servers.demo]\ncommand = \"{}\"\nenv = {{ K = \"local://api\" }}\n",
        srv.display()
    ));
    check(&w.run(&["pin", "@demo"]), 0);
    std::fs::write(&srv, format!("{SERVER_SH}# reviewed\n")).expect("modify");
    check(&w.run(&["run", "@demo"]), 77);
    let err = check(&w.run(&["run", "--update-pin", "@demo"]), 0);
    assert!(err.contains("pinned") && err.contains("changed"), "{err}");
    assert_eq!(std::fs::read_to_string(w.out()).expect("seen"), CANARY);
    std::fs::remove_file(w.out()).expect("rm");
    check(&w.run(&["run", "@demo"]), 0);
    assert!(w.out().exists());
    // Editing the profile's arguments also needs a re-pin.
    let cfg = std::fs::read_to_string(w.config()).expect("config");
    w.write_config(&cfg.replacen("env =", "args = [\"--verbose\"]\nenv =", 1));
    let err = check(&w.run(&["run", "@demo"]), 77);
    assert!(err.contains("command or arguments were edited"), "{err}");
}

#[test]
fn npx_without_a_version_is_flagged_and_refused_under_required() {
    let w = World::new();
    let ran = w.cwd().join("npx-ran");
    w.script("npx", &format!("#!/bin/sh\ntouch {}\n", ran.display()));
    // Its secret lives behind a counter with no backend: any fetch is seen.
    let counter = Counter::start(None);
    let profile = |pin: &str, pkg: &str| {
        format!(
            "[servers.gh]\ncommand = \"npx\"\nargs = [\"-y\", \"{pkg}\"]\nenv = {{ K = \"aws-sm://x\" }}\npin = \"{pin}\"\n"
        )
    };
    // pin = "warn" (the default): one warning line, then it runs.
    w.write_config(&profile("warn", "@modelcontextprotocol/server-github"));
    let o = run_aws(&w, &counter, &["run", "--timeout", "1s", "@gh"]);
    let err = stderr(&o);
    assert!(
        err.lines().any(|l| l.contains(
            "warning: unpinned: npx runs @modelcontextprotocol/server-github without a version"
        )),
        "{err}"
    );
    // pin = "required": refused before anything, npx never ran, no connection.
    counter.reset();
    w.write_config(&profile("required", "@modelcontextprotocol/server-github"));
    let err = check(&run_aws(&w, &counter, &["run", "@gh"]), 77);
    assert!(
        err.contains("npx runs @modelcontextprotocol/server-github without a version"),
        "{err}"
    );
    assert_eq!(counter.hits(), 0);
    assert!(!ran.exists());
    // `pin` will not record something that can change under it.
    let err = check(&w.run(&["pin", "@gh"]), 78);
    assert!(err.contains("cannot pin @gh"), "{err}");
    // Ad hoc, without a profile.
    let err = check(
        &run_aws(
            &w,
            &counter,
            &[
                "run",
                "--pin-required",
                "K=aws-sm://x",
                "--",
                "npx",
                "-y",
                "some-mcp",
            ],
        ),
        77,
    );
    assert!(err.contains("npx runs some-mcp without a version"), "{err}");
    assert_eq!(counter.hits(), 0);
    assert!(!ran.exists());
    // An exact version is pinnable, and its spec is recorded.
    w.home.set("k", CANARY.as_bytes());
    w.write_config(
        &profile("required", "@modelcontextprotocol/server-github@2025.4.8")
            .replace("aws-sm://x", "local://k"),
    );
    check(&w.run(&["pin", "@gh"]), 0);
    let cfg = std::fs::read_to_string(w.config()).expect("config");
    assert!(
        cfg.contains("package = \"npx @modelcontextprotocol/server-github@2025.4.8\""),
        "{cfg}"
    );
    check(&w.run(&["run", "@gh"]), 0);
    assert!(ran.exists());
}

#[test]
fn a_project_file_cannot_disable_audit_but_an_explicit_override_can() {
    let w = World::new();
    w.home.set("api", CANARY.as_bytes());
    let srv = w.script("srv", SERVER_SH);
    w.write_config(&format!(
        "[servers.demo]\ncommand = \"{}\"\nenv = {{ K = \"local://api\" }}\npin = \"off\"\n",
        srv.display()
    ));
    let project = w.cwd().join(".mcp-warden.toml");
    std::fs::write(&project, "[servers.demo]\naudit = false\n").expect("project");
    let err = check(&w.run(&["run", "@demo"]), 78);
    assert!(
        err.contains(".mcp-warden.toml:2:1") && err.contains("turns audit off"),
        "{err}"
    );
    // Not even with the override: the project file must say nothing weaker.
    check(&w.run(&["run", "--insecure-no-audit", "@demo"]), 78);
    // A project file may narrow: pin off -> required refuses the unpinned profile.
    std::fs::write(&project, "[servers.demo]\npin = \"required\"\n").expect("project");
    check(&w.run(&["run", "@demo"]), 77);
    std::fs::remove_file(&project).expect("rm project");

    // The command line cannot weaken either, without the explicit flag.
    let err = check(&w.run(&["run", "--no-audit", "@demo"]), 64);
    assert!(err.contains("--insecure-no-audit"), "{err}");
    check(&w.run(&["run", "--exec", "@demo"]), 64);
    assert_eq!(w.audit_log(), "", "nothing ran, nothing was recorded");
    assert!(!w.out().exists());

    let err = check(&w.run(&["run", "--insecure-no-audit", "@demo"]), 0);
    assert!(err.contains("warning: --insecure-no-audit"), "{err}");
    assert_eq!(std::fs::read_to_string(w.out()).expect("seen"), CANARY);
    let log = w.audit_log();
    let records = json_lines(&log);
    assert_eq!(
        records.len(),
        1,
        "only the override, then audit was off: {log}"
    );
    assert_eq!(records[0]["type"], "override");
    assert_eq!(records[0]["server"], "demo");
    assert_eq!(
        records[0]["overrides"],
        serde_json::json!(["--insecure-no-audit"])
    );
    assert!(!log.contains(CANARY));
    // `audit` shows it.
    let o = w.run(&["audit"]);
    assert!(
        stdout(&o).contains("override --insecure-no-audit"),
        "{}",
        stdout(&o)
    );
    // Overrides belong to profiles.
    check(&w.run(&["run", "--insecure-no-audit", "--", "true"]), 64);
}

/// A stdio JSON-RPC server: logs every line it receives to `$OUT`, answers each request with `{}`.
const ECHO_PY: &str = r#"import json, os, sys
log = open(os.environ["OUT"], "a")
for line in sys.stdin:
    log.write(line); log.flush()
    msg = json.loads(line)
    if "id" in msg:
        print(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": {"content": []}}), flush=True)
"#;

#[test]
fn project_tool_rules_are_enforced_by_the_proxy() {
    let w = World::new();
    w.home.set("api", CANARY.as_bytes());
    std::fs::write(w.cwd().join("server.py"), ECHO_PY).expect("server");
    let py = service_env("MCP_WARDEN_TEST_PYTHON");
    w.write_config(&format!(
        "[servers.t]\ncommand = \"{py}\"\nargs = [\"server.py\"]\nenv = {{ K = \"local://api\" }}\nallow_tools = [\"search_*\", \"delete_*\"]\npin = \"off\"\n"
    ));
    std::fs::write(
        w.cwd().join(".mcp-warden.toml"),
        "[defaults]\ndeny_tools = [\"delete_*\"]\n[servers.t]\nallow_tools = [\"search_*\"]\n",
    )
    .expect("project");
    let call = |id: u32, tool: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{}}}}}}"#
        )
    };
    let input = format!(
        "{}\n{}\n{}\n",
        call(1, "search_code"),
        call(2, "delete_repo"),
        call(3, "get_issue")
    );
    let o = w
        .cmd()
        .args(["run", "@t"])
        .write_stdin(input)
        .output()
        .expect("run");
    let out = stdout(&o);
    check(&o, 0);
    let replies = json_lines(&out);
    let by_id = |id: u64| {
        replies
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert!(by_id(1).get("result").is_some(), "{out}");
    assert!(by_id(2).get("error").is_some(), "project deny: {out}");
    assert!(
        by_id(3).get("error").is_some(),
        "outside the narrowed allow list: {out}"
    );
    let seen = std::fs::read_to_string(w.out()).expect("server log");
    assert!(
        seen.contains("search_code")
            && !seen.contains("delete_repo")
            && !seen.contains("get_issue"),
        "{seen}"
    );
    // The command line cannot widen the project's narrowing back.
    let err = check(&w.run(&["run", "--allow-tool", "get_*", "@t"]), 64);
    assert!(err.contains("--insecure-no-tool-policy"), "{err}");
}

/// `change` happens while `run @NAME` waits for its secret, after the pin
/// was checked: the run is refused (exit 77, one line naming `what`) and
/// nothing starts; the original never runs with a changed file, and the
/// changed file never runs.
fn changed_during_the_backend_request(w: &World, profile: &str, change: impl FnOnce(), what: &str) {
    let gate = Gate::start(moto_addr());
    let url = gate.url();
    let o = std::thread::scope(|s| {
        let run = s.spawn(|| {
            let mut c = w.cmd();
            aws(&mut c, w, &url);
            c.args(["run", profile]).output().expect("run mcp-warden")
        });
        if gate.arrived.recv_timeout(Duration::from_secs(20)).is_err() {
            let o = run.join().expect("the run");
            panic!("the run never asked the backend: {}", stderr(&o));
        }
        change();
        gate.release.send(()).expect("release the request");
        run.join().expect("the run")
    });
    let err = check(&o, 77);
    assert!(!w.out().exists(), "a server ran: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(what)
            && err.contains("after its pin was checked")
            && err.contains("nothing was started"),
        "{err}"
    );
}

/// The file a pin hashed is opened once and held through the backend round
/// trip: an executable renamed over, or written in place, while the secret
/// is being fetched is caught at the last check before the start.
#[test]
fn an_executable_swapped_after_the_pin_check_never_runs() {
    let w = World::new();
    let secret = aws_secret("swap", CANARY);
    let srv = w.cwd().join("bin").join("srv");
    // A real executable (ELF): run from the descriptor it was hashed through.
    std::fs::copy("/bin/sh", &srv).expect("copy /bin/sh");
    w.write_config(&format!(
        "[servers.elf]\ncommand = \"{}\"\nargs = [\"-c\", \"printf 'original:%s' \\\"$K\\\" > \\\"$OUT\\\"\"]\nenv = {{ K = \"aws-sm://{secret}\" }}\npin = \"required\"\n",
        srv.display()
    ));
    check(&w.run(&["pin", "@elf"]), 0);
    let counter = Counter::start(Some(moto_addr()));
    check(&run_aws(&w, &counter, &["run", "@elf"]), 0);
    assert_eq!(
        std::fs::read_to_string(w.out()).expect("seen"),
        format!("original:{CANARY}")
    );
    std::fs::remove_file(w.out()).expect("rm seen");

    let swapped = w.cwd().join("swapped");
    let srv2 = srv.clone();
    changed_during_the_backend_request(
        &w,
        "@elf",
        move || {
            std::fs::write(&swapped, format!("{SERVER_SH}echo swapped\n")).expect("write");
            std::fs::set_permissions(&swapped, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
            std::fs::rename(&swapped, &srv2).expect("rename over the pinned file");
        },
        &format!("{} was replaced", srv.display()),
    );

    // A `#!` script is run by its path (its interpreter opens it by name):
    // the last check compares that path with the file that was hashed.
    let script = w.script("script", SERVER_SH);
    w.write_config(&format!(
        "[servers.sh]\ncommand = \"{}\"\nenv = {{ K = \"aws-sm://{secret}\" }}\npin = \"required\"\n",
        script.display()
    ));
    check(&w.run(&["pin", "@sh"]), 0);
    let s2 = script.clone();
    changed_during_the_backend_request(
        &w,
        "@sh",
        move || {
            let tmp = s2.with_extension("new");
            std::fs::write(&tmp, format!("{SERVER_SH}echo swapped\n")).expect("write");
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)).expect("chmod");
            std::fs::rename(&tmp, &s2).expect("rename over the pinned script");
        },
        &format!("{} was replaced", script.display()),
    );
    // Written in place (same inode, same size), after a fresh pin.
    w.script("script", SERVER_SH);
    check(&w.run(&["pin", "@sh", "--update-pin"]), 0);
    let s3 = script.clone();
    changed_during_the_backend_request(
        &w,
        "@sh",
        move || {
            std::thread::sleep(Duration::from_millis(20));
            std::fs::write(&s3, SERVER_SH.replace("$K", "$X")).expect("write in place");
        },
        &format!("{} was modified", script.display()),
    );
}

/// An interpreter's script is read by the interpreter by name: renamed over
/// while the secret is fetched, it is caught by the last check.
#[test]
fn an_interpreter_script_swapped_after_the_pin_check_never_runs() {
    let w = World::new();
    let secret = aws_secret("swap-py", CANARY);
    let py = service_env("MCP_WARDEN_TEST_PYTHON");
    let script = w.cwd().join("server.py");
    let body = "import os\nopen(os.environ['OUT'], 'w').write(os.environ['K'])\n";
    std::fs::write(&script, body).expect("write script");
    w.write_config(&format!(
        "[servers.py]\ncommand = \"{py}\"\nargs = [\"server.py\"]\nenv = {{ K = \"aws-sm://{secret}\" }}\npin = \"required\"\n"
    ));
    check(&w.run(&["pin", "@py"]), 0);
    let s2 = script.clone();
    changed_during_the_backend_request(
        &w,
        "@py",
        move || {
            let tmp = s2.with_extension("new");
            std::fs::write(
                &tmp,
                "import os\nopen(os.environ['OUT'], 'w').write('swapped')\n",
            )
            .expect("write");
            std::fs::rename(&tmp, &s2).expect("rename over the pinned script");
        },
        &format!("{} was replaced", script.display()),
    );
}
