//! The fixture home: every client file is found by the right OS path sets,
//! and each one reads into exactly the values and positions that
//! `tests/fixtures/home/EXPECTED.md` lists (the tests read that file, so the
//! document and the fixtures cannot drift apart).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::expected::{fixture_home, table};
use mcp_warden::clients::catalog::machine_locations;
use mcp_warden::clients::read::parse;
use mcp_warden::clients::{ConfigFile, Located, Location, OsFamily, ServerField};

fn no_env(_: &str) -> Option<String> {
    None
}

fn rel(path: &Path) -> String {
    path.strip_prefix(fixture_home())
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default()
}

const SETS: [(char, OsFamily); 3] = [
    ('L', OsFamily::Linux),
    ('M', OsFamily::MacOs),
    ('W', OsFamily::Windows),
];

fn locations(os: OsFamily) -> Vec<Location> {
    machine_locations(&fixture_home(), os, &no_env, false)
}

fn read_file(loc: Location) -> ConfigFile {
    let shown = rel(&loc.path);
    let bytes = std::fs::read(&loc.path).unwrap_or_else(|e| panic!("{shown}: {e}"));
    parse(loc, &bytes).unwrap_or_else(|e| panic!("{shown}: {e}"))
}

/// Every value the reader produced, as (server, field label, located).
fn values(file: &ConfigFile) -> Vec<(String, String, Located)> {
    let mut out = Vec::new();
    for s in &file.servers {
        for (field, l) in s.values() {
            let label = match field {
                ServerField::Command => "command".to_string(),
                ServerField::Arg(i) => format!("args[{i}]"),
                ServerField::Env(k) => format!("env {k}"),
                ServerField::Url => "url".to_string(),
                ServerField::Header(k) => format!("header {k}"),
                ServerField::HeadersHelper => "headersHelper".to_string(),
                ServerField::EnvFile => "envFile".to_string(),
                ServerField::Credential(k) => format!("credential {k}"),
            };
            out.push((s.name.clone(), label, l.clone()));
        }
    }
    for (k, l) in &file.credentials {
        out.push(("-".into(), format!("credential {k}"), l.clone()));
    }
    out
}

/// The parsed file at `relative`, whichever OS set finds it.
fn parsed(relative: &str) -> ConfigFile {
    SETS.iter()
        .flat_map(|(_, os)| locations(*os))
        .find(|l| rel(&l.path) == relative)
        .map(read_file)
        .unwrap_or_else(|| panic!("{relative} not found by any OS path set"))
}

fn lookup(relative: &str, server: &str, field: &str, pointer: &str) -> Located {
    let file = parsed(relative);
    let all = values(&file);
    let hit = all.iter().find(|(_, _, l)| l.pointer == pointer);
    let Some((s, f, l)) = hit else {
        panic!("{relative}: nothing read at {pointer}")
    };
    assert_eq!(
        (s.as_str(), f.as_str()),
        (server, field),
        "{relative} {pointer}"
    );
    l.clone()
}

#[test]
fn each_os_path_set_finds_exactly_its_files() {
    let rows = table("Locations");
    for (letter, os) in SETS {
        let expected: BTreeSet<(String, String, String)> = rows
            .iter()
            .filter(|r| r[3].contains(letter))
            .map(|r| (r[0].clone(), r[1].clone(), r[2].clone()))
            .collect();
        let found: BTreeSet<(String, String, String)> = locations(os)
            .iter()
            .map(|l| {
                (
                    rel(&l.path),
                    l.client.to_string(),
                    l.scope.as_str().to_string(),
                )
            })
            .collect();
        assert_eq!(found, expected, "OS set {letter}");
    }
    // Every fixture file is listed, so none is silently ignored.
    let listed: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
    let mut stack = vec![fixture_home()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if rel(&path) != "EXPECTED.md" {
                assert!(
                    listed.contains(&rel(&path)),
                    "unlisted fixture {}",
                    rel(&path)
                );
            }
        }
    }
}

#[test]
fn every_planted_secret_is_read_at_its_position() {
    for row in table("Planted plaintext secrets") {
        let [file, server, field, pointer, position, _kind] = row.as_slice() else {
            panic!("bad row {row:?}")
        };
        let located = lookup(file, server, field, pointer);
        assert_eq!(
            format!("{}:{}", located.line, located.column),
            *position,
            "{file} {pointer}"
        );
        // Independently of the parser: the file has the value's start there.
        let text = std::fs::read_to_string(fixture_home().join(file)).unwrap_or_default();
        let line = text.lines().nth(located.line as usize - 1).unwrap_or("");
        let at: String = line.chars().skip(located.column as usize - 1).collect();
        let head: String = located.value.chars().take(8).collect();
        let at = at.strip_prefix(['"', '\'']).unwrap_or(&at);
        assert!(at.starts_with(&head), "{file} {pointer}: position is off");
        assert!(
            located.value.len() >= 16,
            "{file} {pointer}: too short to be a token"
        );
    }
}

#[test]
fn every_non_finding_is_read_where_listed() {
    for row in table("Non-findings") {
        let [file, server, field, pointer, _why] = row.as_slice() else {
            panic!("bad row {row:?}")
        };
        lookup(file, server, field, pointer);
    }
}

#[test]
fn totals_line_matches_the_table() {
    let rows = table("Planted plaintext secrets");
    let locs = table("Locations");
    let count = |letter: char| {
        rows.iter()
            .filter(|r| locs.iter().any(|l| l[0] == r[0] && l[3].contains(letter)))
            .count()
    };
    let text = std::fs::read_to_string(fixture_home().join("EXPECTED.md")).unwrap_or_default();
    let expected = format!(
        "Totals: Linux set {} rows, macOS set {}, Windows set {}",
        count('L'),
        count('M'),
        count('W')
    );
    assert!(text.replace('\n', " ").contains(&expected), "{expected}");
}

#[test]
fn shapes_of_the_fixture_entries() {
    use mcp_warden::clients::{Scope, Transport};
    let claude = parsed(".claude.json");
    let local: Vec<_> = claude
        .servers
        .iter()
        .filter(|s| s.scope == Scope::Local)
        .collect();
    assert_eq!(local.len(), 2);
    assert_eq!(local[0].project.as_deref(), Some("/home/dev/projects/shop"));

    let vscode = parsed(".config/Code/User/mcp.json");
    assert_eq!(vscode.inputs, ["perplexity-key"]);

    let codex = parsed(".codex/config.toml");
    let names: Vec<_> = codex.servers.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["filesystem", "sendgrid", "remote-server", "exa"]);
    assert_eq!(codex.servers[1].forwarded_env, ["HOME", "SENDGRID_REGION"]);
    assert_eq!(codex.servers[2].forwarded_env, ["MCP_TOKEN"]);
    assert_eq!(codex.servers[3].forwarded_env, ["EXA_API_KEY"]);
    assert!(codex.servers[3].disabled);

    let goose = parsed(".config/goose/config.yaml");
    let t: Vec<_> = goose.servers.iter().map(|s| s.transport).collect();
    assert_eq!(
        t,
        [
            Transport::Unknown,
            Transport::Stdio,
            Transport::Stdio,
            Transport::Http
        ]
    );
    assert_eq!(
        goose.servers[1].forwarded_env,
        ["GITHUB_PERSONAL_ACCESS_TOKEN"]
    );
    assert!(goose.servers[2].disabled);

    let opencode = parsed(".config/opencode/opencode.jsonc");
    let d = &opencode.servers[0];
    assert_eq!(
        d.command.as_ref().map(|c| c.pointer.as_str()),
        Some("/mcp/digitalocean/command/0")
    );
    assert_eq!(d.args.len(), 2);
    assert_eq!(opencode.servers[1].transport, Transport::Http);

    let gemini = parsed(".gemini/settings.json");
    let t: Vec<_> = gemini.servers.iter().map(|s| s.transport).collect();
    assert_eq!(
        t,
        [
            Transport::Http,
            Transport::Stdio,
            Transport::Stdio,
            Transport::Sse,
            Transport::Http,
        ]
    );

    let cont = parsed(".continue/config.yaml");
    let names: Vec<_> = cont
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.line))
        .collect();
    assert_eq!(
        names,
        [("Brave Search", 10), ("GitHub", 17), ("Remote", 23)]
    );

    let cline = parsed(
        ".config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
    );
    assert!(!cline.servers[0].disabled && cline.servers[1].disabled);

    let header = parsed(".claude.json")
        .servers
        .iter()
        .find(|s| s.name == "my-server")
        .and_then(|s| s.headers_helper.clone());
    assert_eq!(header.map(|h| h.value), Some("./get-token.sh".to_string()));
}

#[test]
fn entry_credentials_are_exactly_the_planted_ones() {
    let planted: BTreeSet<(String, String)> = table("Planted plaintext secrets")
        .into_iter()
        .filter(|r| r[1] != "-" && r[2].starts_with("credential "))
        .map(|r| (r[0].clone(), r[3].clone()))
        .collect();
    let mut read = BTreeSet::new();
    for (_, os) in SETS {
        for file in locations(os).into_iter().map(read_file) {
            for s in &file.servers {
                for (_, l) in &s.credentials {
                    read.insert((rel(&file.location.path), l.pointer.clone()));
                }
            }
        }
    }
    assert_eq!(read, planted);
}

/// RFC 6901 reference tokens of `pointer`, unescaped.
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The scalar at `pointer` according to an independent reader of the same
/// file (jsonc-parser's value API, toml_edit's document), as text.
fn independent(location: &Location, pointer: &str) -> Option<String> {
    let text = std::fs::read_to_string(&location.path).ok()?;
    match location.format {
        mcp_warden::clients::Format::Json => {
            use jsonc_parser::JsonValue;
            let root = jsonc_parser::parse_to_value(&text, &Default::default()).ok()??;
            let mut at = &root;
            for t in tokens(pointer) {
                at = match at {
                    JsonValue::Object(o) => o.get(&t)?,
                    JsonValue::Array(a) => a.get(t.parse().ok()?)?,
                    _ => return None,
                };
            }
            match at {
                JsonValue::String(s) => Some(s.to_string()),
                JsonValue::Number(n) => Some(n.to_string()),
                JsonValue::Boolean(b) => Some(b.to_string()),
                _ => None,
            }
        }
        mcp_warden::clients::Format::Toml => {
            let doc: toml_edit::DocumentMut = text.parse().ok()?;
            let mut at = doc.as_item();
            for t in tokens(pointer) {
                at = match t.parse::<usize>() {
                    Ok(i) if at.is_array() || at.is_array_of_tables() => at.get(i)?,
                    _ => at.get(t.as_str())?,
                };
            }
            let v = at.as_value()?;
            v.as_str()
                .map(str::to_string)
                .or_else(|| v.as_integer().map(|i| i.to_string()))
                .or_else(|| v.as_bool().map(|b| b.to_string()))
        }
        mcp_warden::clients::Format::Yaml => None,
    }
}

#[test]
fn every_pointer_resolves_to_its_value_in_an_independent_reader() {
    let mut seen = BTreeSet::new();
    let mut checked = 0;
    for (_, os) in SETS {
        for location in locations(os) {
            if location.format == mcp_warden::clients::Format::Yaml
                || !seen.insert(location.path.clone())
            {
                continue;
            }
            let file = read_file(location.clone());
            for (_, _, l) in values(&file) {
                let shown = format!("{} {}", rel(&location.path), l.pointer);
                assert_eq!(
                    independent(&location, &l.pointer).as_deref(),
                    Some(l.value.as_str()),
                    "{shown}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 250, "only {checked} values checked");
}
