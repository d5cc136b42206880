//! `mcp-warden scan`: the fixture home (one real-shaped config per client,
//! described in tests/fixtures/home/EXPECTED.md) gives exactly the expected
//! findings; trees honour .gitignore; bad files are reported and the scan goes
//! on; no output format ever prints a secret.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::Home;
use common::expected::{fixture_home, table};
use predicates::prelude::*;
use serde_json::Value;

/// file -> the OS path sets (L, M, W) that read it.
fn locations() -> BTreeMap<String, String> {
    table("Locations")
        .into_iter()
        .map(|r| (r[0].clone(), r[3].clone()))
        .collect()
}

/// (file, server, pointer, line:col) for every planted secret the `os` set reads.
fn expected(os: char) -> BTreeSet<(String, String, String, String)> {
    let locs = locations();
    table("Planted plaintext secrets")
        .into_iter()
        .filter(|r| locs.get(&r[0]).is_some_and(|o| o.contains(os)))
        .map(|r| (r[0].clone(), r[1].clone(), r[3].clone(), r[4].clone()))
        .collect()
}

fn scan_json(args: &[&str]) -> Value {
    let out = Home::new()
        .cmd()
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

/// (file relative to the home, server or "-", pointer, line:col) of every finding.
fn found(report: &Value, home: &Path) -> BTreeSet<(String, String, String, String)> {
    let mut out = BTreeSet::new();
    for f in report["files"].as_array().unwrap() {
        let path = Path::new(f["path"].as_str().unwrap());
        let rel = path
            .strip_prefix(home)
            .unwrap_or(path)
            .display()
            .to_string();
        let row = |server: &str, x: &Value| {
            (
                rel.clone(),
                server.to_string(),
                x["pointer"].as_str().unwrap().to_string(),
                format!("{}:{}", x["line"], x["column"]),
            )
        };
        for s in f["servers"].as_array().unwrap() {
            for x in s["findings"].as_array().unwrap() {
                out.insert(row(s["name"].as_str().unwrap(), x));
            }
        }
        for x in f["findings"].as_array().unwrap() {
            out.insert(row("-", x));
        }
    }
    out
}

fn check_os(flag: &str, letter: char) {
    let home = std::fs::canonicalize(fixture_home()).unwrap();
    let report = scan_json(&["--home", home.to_str().unwrap(), "--os", flag]);
    let got = found(&report, &home);
    let want = expected(letter);
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    let tp = want.intersection(&got).count() as f64;
    let precision = tp / got.len().max(1) as f64;
    let recall = tp / want.len().max(1) as f64;
    assert!(
        missed.is_empty() && extra.is_empty(),
        "--os {flag}: precision {precision:.3}, recall {recall:.3}\nmissed: {missed:#?}\nextra: {extra:#?}"
    );
    // Every file of the set was found and read.
    let locs = locations();
    let files: BTreeSet<String> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(
                f["error"].is_null(),
                "{} unreadable: {}",
                f["path"],
                f["error"]
            );
            let p = Path::new(f["path"].as_str().unwrap());
            p.strip_prefix(&home).unwrap().display().to_string()
        })
        .collect();
    let want_files: BTreeSet<String> = locs
        .iter()
        .filter(|(_, os)| os.contains(letter))
        .map(|(f, _)| f.clone())
        .collect();
    assert_eq!(files, want_files, "--os {flag}: files read");
}

#[test]
fn fixture_home_linux_gives_exactly_the_expected_findings() {
    check_os("linux", 'L');
}

#[test]
fn fixture_home_macos_and_windows_path_sets() {
    check_os("macos", 'M');
    check_os("windows", 'W');
}

#[test]
fn posture_and_unpinned_flags() {
    let home = std::fs::canonicalize(fixture_home()).unwrap();
    let report = scan_json(&["--home", home.to_str().unwrap(), "--os", "linux"]);
    let mut by_name: BTreeMap<(String, String), Value> = BTreeMap::new();
    for f in report["files"].as_array().unwrap() {
        let rel = Path::new(f["path"].as_str().unwrap())
            .strip_prefix(&home)
            .unwrap()
            .display()
            .to_string();
        for s in f["servers"].as_array().unwrap() {
            by_name.insert(
                (rel.clone(), s["name"].as_str().unwrap().to_string()),
                s.clone(),
            );
        }
    }
    let get = |file: &str, name: &str| {
        by_name
            .get(&(file.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("no server {name} in {file}"))
            .clone()
    };
    let desk = ".config/Claude/claude_desktop_config.json";
    assert_eq!(get(desk, "slack")["posture"], "plaintext-secret");
    assert_eq!(get(desk, "github")["posture"], "vault-wrapped");
    assert_eq!(get(desk, "githubApi")["posture"], "vault-wrapped");
    assert_eq!(
        get(".cursor/mcp.json", "userjot")["posture"],
        "env-indirection"
    );
    assert_eq!(
        get(".config/Code/User/mcp.json", "context7")["posture"],
        "oauth"
    );
    assert_eq!(
        get(".codex/config.toml", "remote-server")["posture"],
        "env-indirection"
    );
    assert_eq!(
        get(".codex/config.toml", "filesystem")["posture"],
        "no-credentials"
    );
    let summary = &report["summary"];
    let total: u64 = summary["postures"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, summary["servers"].as_u64().unwrap());
    // `npx -y pkg` without a version is flagged; an exact version is not.
    let unpinned: Vec<String> = by_name
        .values()
        .filter_map(|s| s["unpinned"].as_str().map(str::to_string))
        .collect();
    assert!(unpinned.iter().any(|u| u.contains("npx")), "{unpinned:#?}");
    assert!(summary["unpinned"].as_u64().unwrap() > 0);
}

/// A config with the same canary token in every place a secret can hide.
fn canary_tree(dir: &Path) -> String {
    let token = "ghp_CanaryT0kenN3verPr1ntedInFu11x9Qz7Wk";
    std::fs::create_dir_all(dir.join(".vscode")).unwrap();
    std::fs::write(
        dir.join(".mcp.json"),
        serde_json::json!({"mcpServers": {
            "env": {"command": "npx", "args": ["-y", "pkg@1.0.0"], "env": {"GITHUB_TOKEN": token}},
            "arg": {"command": "npx", "args": ["-y", "pkg@1.0.0", format!("--api-key={token}")]},
            "hdr": {"type": "http", "url": format!("https://x.example.com/mcp?token={token}"),
                    "headers": {"Authorization": format!("Bearer {token}")}}
        }})
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join(".vscode/mcp.json"),
        format!("// comment\n{{\"servers\": {{\"s\": {{\"command\": \"x\", \"env\": {{\"T\": \"{token}\",}},}},}},}}\n"),
    )
    .unwrap();
    token.to_string()
}

#[test]
fn no_format_prints_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let token = canary_tree(dir.path());
    for format in ["table", "json", "sarif"] {
        let out = Home::new()
            .cmd()
            .args(["scan", "--format", format])
            .arg(dir.path())
            .assert()
            .success()
            .get_output()
            .clone();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!stdout.contains(&token), "{format}: the token was printed");
        assert!(
            !stdout.contains(&token[4..]),
            "{format}: the token's body was printed"
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains(&token[4..]));
        assert!(
            stdout.contains("ghp_"),
            "{format}: masked prefix missing: {stdout}"
        );
    }
}

#[test]
fn sarif_has_rules_results_and_regions() {
    let dir = tempfile::tempdir().unwrap();
    canary_tree(dir.path());
    let out = Home::new()
        .cmd()
        .args(["scan", "--format", "sarif"])
        .arg(dir.path())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .all(|r| r["properties"]["security-severity"].is_string())
    );
    let results = run["results"].as_array().unwrap();
    assert!(results.len() >= 5, "{results:#?}");
    for r in results {
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(uri == ".mcp.json" || uri == ".vscode/mcp.json", "{uri}");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "ROOT0");
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        assert!(r["partialFingerprints"]["mcpWardenFinding/v1"].is_string());
    }
}

#[test]
fn trees_honour_gitignore_and_bad_files_are_reported_while_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    canary_tree(root);
    std::fs::write(root.join(".gitignore"), "vendor/\n").unwrap();
    std::fs::create_dir_all(root.join("vendor/pkg")).unwrap();
    std::fs::write(
        root.join("vendor/pkg/.mcp.json"),
        r#"{"mcpServers":{"x":{"command":"y","env":{"GITHUB_TOKEN":"ghp_IgnoredT0kenInVendorDirx9Qz7Wk1234567"}}}}"#,
    )
    .unwrap();
    // Invalid syntax, a FIFO where a config would be, a directory loop, a huge file.
    std::fs::create_dir_all(root.join("broken/.cursor")).unwrap();
    std::fs::write(
        root.join("broken/.cursor/mcp.json"),
        "{\"mcpServers\": {\"a\": {\"env\": {\"K\": \"ghp_NotQuotedInErr0rs4x9Qz7WkAbCdEfGhIj12\"",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("fifo")).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(root.join("fifo/.mcp.json"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(root, root.join("loop")).unwrap();
    std::fs::create_dir_all(root.join("huge/.vscode")).unwrap();
    let f = std::fs::File::create(root.join("huge/.vscode/mcp.json")).unwrap();
    f.set_len(17 * 1024 * 1024).unwrap();

    let out = Home::new()
        .cmd()
        .args(["scan", "--format", "json"])
        .arg(root)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("ghp_NotQuoted"),
        "a syntax error quoted the file"
    );
    let report: Value = serde_json::from_str(&text).unwrap();
    let files = report["files"].as_array().unwrap();
    let by_suffix = |s: &str| {
        files
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(s))
            .unwrap_or_else(|| panic!("{s} not reported: {text}"))
    };
    assert!(
        !text.contains("vendor/pkg"),
        "a .gitignore'd file was scanned"
    );
    assert!(
        by_suffix("broken/.cursor/mcp.json")["error"]
            .as_str()
            .unwrap()
            .contains("line")
    );
    assert!(by_suffix("fifo/.mcp.json")["error"].is_string());
    assert!(
        by_suffix("huge/.vscode/mcp.json")["error"]
            .as_str()
            .unwrap()
            .contains("larger")
    );
    // The good files were still scanned.
    assert!(by_suffix("/.mcp.json")["servers"].as_array().unwrap().len() == 3);
    assert!(report["summary"]["findings"].as_u64().unwrap() >= 5);
}

#[test]
fn fail_on_sets_the_exit_status() {
    let dir = tempfile::tempdir().unwrap();
    canary_tree(dir.path());
    let home = Home::new();
    home.cmd()
        .args(["scan", "--fail-on", "high"])
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("findings"));
    home.cmd().arg("scan").arg(dir.path()).assert().success();
    let clean = tempfile::tempdir().unwrap();
    std::fs::write(
        clean.path().join(".mcp.json"),
        r#"{"mcpServers":{"a":{"command":"npx","args":["-y","pkg@1.0.0"],"env":{"T":"${T}"}}}}"#,
    )
    .unwrap();
    home.cmd()
        .args(["scan", "--fail-on", "low"])
        .arg(clean.path())
        .assert()
        .success()
        .stdout(predicate::str::contains("0 findings"));
}

/// Every path under `dir` with its bytes and modification time.
fn state(dir: &Path) -> BTreeMap<String, (Vec<u8>, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path().display().to_string(),
                    (std::fs::read(e.path()).unwrap(), m.modified().unwrap()),
                );
            }
        }
        out.insert(
            d.display().to_string(),
            (
                Vec::new(),
                std::fs::metadata(&d).unwrap().modified().unwrap(),
            ),
        );
    }
    out
}

#[test]
fn scan_never_writes() {
    let home = std::fs::canonicalize(fixture_home()).unwrap();
    let before = state(&home);
    Home::new()
        .cmd()
        .args(["scan", "--os", "all", "--format", "sarif", "--home"])
        .arg(&home)
        .assert()
        .success();
    assert!(before == state(&home), "scan changed a file or directory");
}
