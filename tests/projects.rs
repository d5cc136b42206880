//! Machine mode follows the project folders clients remember: the fixture
//! home `tests/fixtures/projects/home` (recorded on a machine whose home was
//! `/home/alice`, `/Users/alice` or `C:\Users\alice`; see its README) names
//! roots through every source, and scan, inventory, doctor and protect read
//! the project-level files at those roots, each once, saying which sources
//! named the root; what must not be followed is not; `--no-projects` turns
//! it off; the number of roots is bounded; no output prints a secret.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::output::strings;
use common::{CANARY, Home, copy_tree};
use serde_json::Value;

const FIXTURE: &str = "tests/fixtures/projects/home";

fn fixture() -> PathBuf {
    std::fs::canonicalize(FIXTURE).unwrap()
}

fn scan(home: &Path, extra: &[&str]) -> Value {
    let out = Home::new()
        .cmd()
        .args(["scan", "--format", "json", "--home"])
        .arg(home)
        .args(extra)
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        out.stderr.is_empty(),
        "scan wrote to stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn rel(home: &Path, p: &str) -> String {
    Path::new(p)
        .strip_prefix(home)
        .map_or_else(|_| p.to_string(), |r| r.display().to_string())
}

/// file (relative to the home) -> (client, scope, sources of its root or none, servers).
type Files = BTreeMap<String, (String, String, Vec<String>, Vec<String>)>;

fn files(report: &Value, home: &Path) -> Files {
    let mut out = BTreeMap::new();
    for f in report["files"].as_array().unwrap() {
        assert!(f["error"].is_null(), "{f:#}");
        let path = rel(home, f["path"].as_str().unwrap());
        let sources = match &f["project_root"] {
            Value::Null => Vec::new(),
            r => {
                // A project file sits at its root's known relative path.
                let root = r["path"].as_str().unwrap();
                assert!(f["path"].as_str().unwrap().starts_with(root), "{f:#}");
                strings(&r["sources"])
            }
        };
        let servers = f["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect();
        let row = (
            f["client"].as_str().unwrap().to_string(),
            f["scope"].as_str().unwrap().to_string(),
            sources,
            servers,
        );
        assert!(out.insert(path.clone(), row).is_none(), "{path} twice");
    }
    out
}

fn row(
    client: &str,
    scope: &str,
    sources: &[&str],
    server: &str,
) -> (String, String, Vec<String>, Vec<String>) {
    (
        client.to_string(),
        scope.to_string(),
        sources.iter().map(|s| s.to_string()).collect(),
        vec![server.to_string()],
    )
}

/// The project files every path set finds (the sources that are not per OS).
fn common_project_files(app_sources: &[&str], shared_sources: &[&str]) -> Files {
    let mut want = BTreeMap::new();
    // The home itself is a Claude Code project: its .mcp.json is read, its
    // user files (.gemini/settings.json) are not listed a second time.
    want.insert(
        ".mcp.json".into(),
        row(
            "claude-code",
            "project",
            &["claude-code projects"],
            "home-project",
        ),
    );
    want.insert(
        "src/app/.mcp.json".into(),
        row("claude-code", "project", app_sources, "app"),
    );
    want.insert(
        "src/app/.vscode/mcp.json".into(),
        row("vscode", "project", app_sources, "app-vscode"),
    );
    want.insert(
        "src/shared/.cursor/mcp.json".into(),
        row("cursor", "project", shared_sources, "shared"),
    );
    want.insert(
        "src/api/.codex/config.toml".into(),
        row("codex", "project", &["codex trust"], "api"),
    );
    want.insert(
        "src/gem/.gemini/settings.json".into(),
        row(
            "gemini-cli",
            "project",
            &["gemini-cli trustedFolders"],
            "gem",
        ),
    );
    // TRUST_PARENT on work/mono/pkg: the parent is followed.
    want.insert(
        "work/mono/.kiro/settings/mcp.json".into(),
        row("kiro", "project", &["gemini-cli trustedFolders"], "mono"),
    );
    want
}

fn project_files(all: &Files) -> Files {
    all.iter()
        .filter(|(_, r)| !r.2.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn every_source_names_its_roots_on_the_linux_path_set() {
    let home = fixture();
    let report = scan(&home, &["--os", "linux"]);
    let all = files(&report, &home);
    let mut want = common_project_files(
        &[
            "claude-code projects",
            "cursor workspaceStorage",
            "vscode workspaceStorage",
        ],
        &[
            "claude-code projects",
            "codex trust",
            "vscode-insiders workspaceStorage",
            "vscode workspaceStorage",
        ],
    );
    // A folder URI with a percent-encoded space.
    want.insert(
        "src/with space/.vscode/mcp.json".into(),
        row("vscode", "project", &["vscode workspaceStorage"], "spaced"),
    );
    // Windsurf's workspaceStorage; an opencode file at the root.
    want.insert(
        "src/surf/opencode.json".into(),
        row(
            "opencode",
            "project",
            &["windsurf workspaceStorage"],
            "surf",
        ),
    );
    // A folder of the multi-root workspace ws/team.code-workspace.
    want.insert(
        "src/lib/.continue/mcpServers/db.yaml".into(),
        row(
            "continue",
            "project",
            &["vscode workspaceStorage"],
            "lib-slack",
        ),
    );
    assert_eq!(project_files(&all), want);
    // The user-level files are there once, as before.
    let user: BTreeSet<&str> = all
        .iter()
        .filter(|(_, r)| r.2.is_empty())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(
        user,
        BTreeSet::from([
            ".claude.json",
            ".codex/config.toml",
            ".gemini/settings.json"
        ])
    );
    assert_eq!(all[".gemini/settings.json"].1, "user");
    // Every planted project secret is a finding (one per file).
    for f in report["files"].as_array().unwrap() {
        if !f["project_root"].is_null() {
            let n: usize = f["servers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["findings"].as_array().unwrap().len())
                .sum();
            assert_eq!(n, 1, "{f:#}");
        }
    }
    // The roots followed, each once with all its sources.
    let followed: BTreeMap<String, Vec<String>> = report["projects"]["followed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                rel(&home, r["path"].as_str().unwrap()),
                strings(&r["sources"]),
            )
        })
        .collect();
    let roots: BTreeSet<&str> = followed.keys().map(String::as_str).collect();
    assert_eq!(
        roots,
        BTreeSet::from([
            "",
            "src/app",
            "src/shared",
            "src/api",
            "src/gem",
            "work/mono",
            "work/mono/pkg",
            "src/with space",
            "src/surf",
            "src/lib",
        ])
    );
    assert_eq!(report["projects"]["limit"], 500);
    assert_eq!(report["projects"]["over_limit"], 0);
}

#[test]
fn what_is_not_a_local_trusted_root_of_this_home_is_not_followed() {
    let home = fixture();
    let report = scan(&home, &["--os", "all"]);
    let all = files(&report, &home);
    for (path, why) in [
        // Named only by a vscode-remote:// folder and workspace folder URI.
        ("src/remote-only/.mcp.json", "remote URI"),
        // Codex trust_level = "untrusted"; and /home/bob/src/untrusted is another user's home.
        ("src/untrusted/.mcp.json", "untrusted / another home"),
        // Gemini DO_NOT_TRUST.
        ("src/evil/.mcp.json", "DO_NOT_TRUST"),
        // Below a root: a root's own files only, no walk into the project.
        ("work/mono/packages/deep/.mcp.json", "depth"),
    ] {
        assert!(!all.contains_key(path), "{path} was read ({why})");
    }
    let text = report.to_string();
    // /home/alice/src/gone does not exist: skipped silently (scan() checks stderr is empty).
    assert!(!text.contains("src/gone"), "a missing root was reported");
    assert!(!text.contains("/srv/elsewhere"));
    // Every path set together: the Windows and macOS workspaces too, each file once.
    assert_eq!(all["src/win/.roo/mcp.json"].2, ["vscode workspaceStorage"]);
    assert_eq!(
        all["src/mac/.amazonq/mcp.json"].2,
        ["cursor workspaceStorage"]
    );
}

#[test]
fn windows_and_macos_paths_map_onto_the_home() {
    let home = fixture();
    let windows = project_files(&files(&scan(&home, &["--os", "windows"]), &home));
    let mut want = common_project_files(
        &["claude-code projects"],
        &["claude-code projects", "codex trust"],
    );
    // file:///c%3A/Users/alice/src/win -> DIR/src/win
    want.insert(
        "src/win/.roo/mcp.json".into(),
        row("roo-code", "project", &["vscode workspaceStorage"], "win"),
    );
    assert_eq!(windows, want);
    let macos = project_files(&files(&scan(&home, &["--os", "macos"]), &home));
    let mut want = common_project_files(
        &["claude-code projects"],
        &["claude-code projects", "codex trust"],
    );
    // file:///Users/alice/src/mac -> DIR/src/mac
    want.insert(
        "src/mac/.amazonq/mcp.json".into(),
        row("amazon-q", "project", &["cursor workspaceStorage"], "mac"),
    );
    assert_eq!(macos, want);
}

#[test]
fn the_table_says_which_sources_named_the_root() {
    let home = fixture();
    let out = Home::new()
        .cmd()
        .args(["scan", "--os", "linux", "--home"])
        .arg(&home)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.contains(
            "  ~/src/shared/.cursor/mcp.json (project; via claude-code projects, codex trust, \
             vscode-insiders workspaceStorage, vscode workspaceStorage)"
        ),
        "{text}"
    );
    assert!(
        text.contains("  ~/.gemini/settings.json (user)\n"),
        "{text}"
    );
}

#[test]
fn no_projects_turns_it_off_for_every_verb() {
    let home = fixture();
    let report = scan(&home, &["--os", "linux", "--no-projects"]);
    assert!(report["projects"].is_null());
    let all = files(&report, &home);
    assert!(project_files(&all).is_empty());
    assert_eq!(all.len(), 3);

    let warden = Home::new();
    let inventory = |extra: &[&str]| -> BTreeSet<String> {
        let out = warden
            .cmd()
            .args(["inventory", "--format", "json", "--os", "linux", "--home"])
            .arg(&home)
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let v: Value = serde_json::from_slice(&out).unwrap();
        v["servers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let with = inventory(&[]);
    for name in [
        "app",
        "app-vscode",
        "shared",
        "api",
        "gem",
        "mono",
        "surf",
        "lib-slack",
    ] {
        assert!(with.contains(name), "inventory misses {name}: {with:?}");
    }
    assert_eq!(
        inventory(&["--no-projects"]),
        BTreeSet::from(["docs".to_string(), "gemini-user".to_string()])
    );

    let protect = |extra: &[&str]| -> String {
        let out = warden
            .cmd()
            .args(["protect", "--os", "linux", "--home"])
            .arg(&home)
            .args(extra)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8_lossy(&out).into_owned()
    };
    let diff = protect(&[]);
    assert!(diff.contains("+++ ~/src/app/.mcp.json"), "{diff}");
    assert!(
        diff.contains("+++ ~/work/mono/.kiro/settings/mcp.json"),
        "{diff}"
    );
    let diff = protect(&["--no-projects"]);
    assert!(!diff.contains("~/src/"), "{diff}");
    assert!(diff.contains("+++ ~/.gemini/settings.json"), "{diff}");

    let doctor = |extra: &[&str]| -> String {
        let out = warden
            .cmd()
            .args(["doctor", "--os", "linux", "--home"])
            .arg(&home)
            .args(extra)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(doctor(&[]).contains("~/src/app/.mcp.json holds 1 plaintext"));
    assert!(!doctor(&["--no-projects"]).contains("~/src/"));
}

/// Copies the fixture home to a temporary directory.
fn copy_fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(Path::new(FIXTURE), dir.path());
    dir
}

#[test]
fn doctor_checks_the_references_in_project_files() {
    let user = copy_fixture();
    let home = std::fs::canonicalize(user.path()).unwrap();
    std::fs::write(
        home.join("src/api/.mcp.json"),
        r#"{"mcpServers": {"wrapped": {"command": "mcp-warden",
            "args": ["run", "API_TOKEN=local://project-only-ref", "--", "npx", "-y", "example-mcp@1.0.0"]}}}"#,
    )
    .unwrap();
    let warden = Home::new();
    warden.set("unrelated", b"x");
    let out = warden
        .cmd()
        .args(["doctor", "--os", "linux", "--home"])
        .arg(&home)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("local://project-only-ref"))
        .unwrap_or_else(|| panic!("doctor did not check the project reference: {text}"));
    assert!(line.starts_with("FAIL"), "{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
}

#[test]
fn this_machines_own_home_is_read_in_place() {
    // No --home: the recorded paths are this machine's, used as they are,
    // including a project outside the home.
    let home = tempfile::tempdir().unwrap();
    let home = std::fs::canonicalize(home.path()).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let outside = std::fs::canonicalize(outside.path()).unwrap();
    let inside = home.join("code/site");
    for root in [&inside, &outside] {
        std::fs::create_dir_all(root.join(".cursor")).unwrap();
        std::fs::write(
            root.join(".cursor/mcp.json"),
            r#"{"mcpServers": {"x": {"command": "x", "env": {"GITHUB_TOKEN": "ghp_N996pJD30rNGNe0za3qYdqUcgQ0VnGFkLudN"}}}}"#,
        )
        .unwrap();
    }
    let projects: serde_json::Map<String, Value> = [&inside, &outside]
        .iter()
        .map(|p| (p.display().to_string(), serde_json::json!({})))
        .collect();
    std::fs::write(
        home.join(".claude.json"),
        serde_json::json!({ "projects": projects }).to_string(),
    )
    .unwrap();
    let mut cmd = Home::new().cmd();
    for var in [
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "APPDATA",
        "LOCALAPPDATA",
        "CODEX_HOME",
        "CLAUDE_CONFIG_DIR",
        "COPILOT_HOME",
        "GEMINI_CLI_TRUSTED_FOLDERS_PATH",
        "CONTINUE_GLOBAL_DIR",
        "OPENCODE_CONFIG",
        "CLINE_MCP_SETTINGS_PATH",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .env("HOME", &home)
        .args(["scan", "--format", "json", "--no-system", "--os", "linux"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let report: Value = serde_json::from_slice(&out).unwrap();
    let paths: BTreeSet<PathBuf> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["project_root"].is_null())
        .map(|f| PathBuf::from(f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            inside.join(".cursor/mcp.json"),
            outside.join(".cursor/mcp.json")
        ])
    );
}

#[test]
fn the_number_of_roots_is_bounded() {
    let home = tempfile::tempdir().unwrap();
    let home = std::fs::canonicalize(home.path()).unwrap();
    let mut projects = serde_json::Map::new();
    for i in 0..520 {
        let dir = home.join(format!("p/{i:03}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(".mcp.json"), r#"{"mcpServers": {}}"#).unwrap();
        projects.insert(format!("/home/alice/p/{i:03}"), serde_json::json!({}));
    }
    std::fs::write(
        home.join(".claude.json"),
        serde_json::json!({ "projects": projects }).to_string(),
    )
    .unwrap();
    let out = Home::new()
        .cmd()
        .args(["scan", "--format", "json", "--os", "linux", "--home"])
        .arg(&home)
        .assert()
        .success()
        .get_output()
        .clone();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["projects"]["followed"].as_array().unwrap().len(),
        500
    );
    assert_eq!(report["projects"]["over_limit"], 20);
    let project_files = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["project_root"].is_null())
        .count();
    assert_eq!(project_files, 500);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("20 more project folders"), "{err}");
}

#[test]
fn no_output_prints_a_secret_found_through_a_project_root() {
    let user = copy_fixture();
    let home = std::fs::canonicalize(user.path()).unwrap();
    let token = "ghp_RWrc7reJSMvYUsDBnHkRbn8RQpBB1RoN6gJB";
    let heuristic = format!("{CANARY}-Zk4Qw9Lm2Xv7Rt5Bn8Jp");
    std::fs::write(
        home.join("src/app/.mcp.json"),
        serde_json::json!({"mcpServers": {"app": {
            "command": "npx", "args": ["-y", "example-mcp@1.0.0", format!("--token={token}")],
            "env": {"GITHUB_TOKEN": token, "SERVICE_API_SECRET": heuristic}
        }}})
        .to_string(),
    )
    .unwrap();
    let warden = Home::new();
    let mut runs: Vec<(String, std::process::Output)> = Vec::new();
    for format in ["table", "json", "sarif"] {
        let out = warden
            .cmd()
            .args(["scan", "--os", "linux", "--format", format, "--home"])
            .arg(&home)
            .output()
            .unwrap();
        runs.push((format!("scan {format}"), out));
    }
    for args in [
        vec!["inventory", "--format", "json"],
        vec!["inventory"],
        vec!["doctor"],
        vec!["protect"],
    ] {
        let out = warden
            .cmd()
            .args(&args)
            .args(["--os", "linux", "--home"])
            .arg(&home)
            .output()
            .unwrap();
        runs.push((args.join(" "), out));
    }
    for (what, out) in &runs {
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains(&token[4..]), "{what} printed the token");
        assert!(!all.contains(CANARY), "{what} printed the canary");
    }
    // The file was found and its secrets were seen (masked).
    let json = String::from_utf8_lossy(&runs[1].1.stdout);
    let report: Value = serde_json::from_str(&json).unwrap();
    let app = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"].as_str().unwrap().ends_with("src/app/.mcp.json"))
        .unwrap();
    let findings = app["servers"][0]["findings"].as_array().unwrap();
    assert!(findings.len() >= 3, "{findings:#?}");
}
