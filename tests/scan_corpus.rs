//! Independent evaluation corpus: MCP configs as they appear in public
//! server READMEs and client docs (`tests/fixtures/scan-corpus/negatives`),
//! and the same configs with the value a user would paste
//! (`.../positives`, one `<file>.expect` per file listing the JSON pointers
//! that hold a secret). Every case is scanned as a project tree with
//! `mcp-warden scan --format json`; findings are compared pointer by pointer
//! and precision and recall must both reach 0.95.
//!
//! Files are templates: `{{a:36}}` expands to 36 random alphanumerics,
//! `{{@pw:14}}` to a mixed password, `{{@jwt}}` to a JWT, ... (see
//! `special`). The generator is seeded from the file name, so runs are
//! reproducible; `SCAN_CORPUS_SEED=<n>` draws other fakes. No token-shaped
//! string is committed; `SCAN_CORPUS_KEEP=<dir>` keeps the expanded files. `build.py` regenerates the files from `cases.py`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use common::fakes::{self, DIGITS, Rng, UPPER, alphabet};
use serde_json::Value;

const MIN_PRECISION: f64 = 0.95;
const MIN_RECALL: f64 = 0.95;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scan-corpus")
}

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
/// Symbols a user might put in a password that survive JSON, TOML, YAML and
/// URL userinfo unescaped.
const SYMBOLS: &[u8] = b"!*_-.~";

/// A password of `n` characters with at least one lower, upper, digit and symbol.
fn password(rng: &mut Rng, n: usize) -> String {
    let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
    let mut chars: Vec<char> = rng.pick(&all, n.saturating_sub(4)).chars().collect();
    for class in [LOWER, UPPER, DIGITS, SYMBOLS] {
        let c = rng.pick(class, 1).chars().next().unwrap_or('x');
        let at = (rng.next() % (chars.len() as u64 + 1)) as usize;
        chars.insert(at, c);
    }
    // A password starting with a symbol reads oddly in a URL; users rarely do it.
    if SYMBOLS.contains(&(chars[0] as u8)) {
        chars.swap(0, n - 1);
    }
    chars.into_iter().collect()
}

fn special(name: &str, rng: &mut Rng) -> Option<String> {
    let w = alphabet("w")?;
    let h = alphabet("h")?;
    if let Some(n) = name.strip_prefix("@pw:") {
        return Some(password(rng, n.parse().ok()?));
    }
    if let Some(n) = name.strip_prefix("@b64url:") {
        return Some(rng.pick(w, n.parse().ok()?));
    }
    Some(match name {
        "@jwt" => {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
            let payload = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"iss":"{}","sub":"{}","iat":{}}}"#,
                rng.pick(h, 32),
                rng.pick(alphabet("l")?, 12),
                1_700_000_000 + rng.next() % 100_000_000
            ));
            format!("{header}.{payload}.{}", rng.pick(w, 43))
        }
        // Mapbox-style `sk.`/`pk.` bodies: base64url JSON, then a signature.
        "@jwtbody" => {
            let body = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"u":"{}","a":"{}"}}"#,
                rng.pick(LOWER, 8),
                rng.pick(alphabet("l")?, 25)
            ));
            format!("{body}.{}", rng.pick(w, 22))
        }
        "@openssh" => {
            let b64 = alphabet("b")?;
            let mut lines = vec![format!("b3BlbnNzaC1rZXktdjEAAAAA{}", rng.pick(b64, 46))];
            lines.extend((0..5).map(|_| rng.pick(b64, 70)));
            format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\\n{}\\n-----END OPENSSH PRIVATE KEY-----\\n",
                lines.join("\\n")
            )
        }
        "@pem-esc" | "@pem-real" => {
            let b64 = alphabet("b")?;
            let body: Vec<String> = (0..12).map(|_| rng.pick(b64, 64)).collect();
            format!(
                "-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n",
                body.join("\\n")
            )
        }
        "@discord" => {
            let id = format!("1{}", rng.pick(DIGITS, 17));
            format!(
                "{}.{}.{}",
                STANDARD_NO_PAD.encode(id),
                rng.pick(w, 6),
                rng.pick(w, 38)
            )
        }
        "@basic" => {
            let user = rng.pick(LOWER, 6);
            let pw = password(rng, 16);
            STANDARD.encode(format!("{user}:{pw}"))
        }
        "@sentryorg" => {
            let org = rng.pick(LOWER, 8);
            let payload = STANDARD_NO_PAD.encode(format!(
                r#"{{"iat":{},"url":"https://sentry.io","region_url":"https://us.sentry.io","org":"{org}"}}"#,
                1_700_000_000 + rng.next() % 100_000_000
            ));
            format!("{payload}_{}", rng.pick(alphabet("a")?, 43))
        }
        // A Google app password as shown: four groups of four letters.
        "@apppw" => (0..4)
            .map(|_| rng.pick(LOWER, 4))
            .collect::<Vec<_>>()
            .join(" "),
        // A user-chosen password: a word, digits and a symbol.
        "@wordpw" => {
            const WORDS: &[&str] = &[
                "Maple", "Harbor", "Falcon", "Quartz", "Willow", "Copper", "Nebula", "Orchid",
            ];
            let word = WORDS[(rng.next() % WORDS.len() as u64) as usize];
            let n = 2 + (rng.next() % 3) as usize;
            let digits = rng.pick(DIGITS, n);
            let symbol = rng.pick(SYMBOLS, 1);
            format!("{word}{digits}{symbol}")
        }
        "@uuid" => format!(
            "{}-{}-4{}-a{}-{}",
            rng.pick(h, 8),
            rng.pick(h, 4),
            rng.pick(h, 3),
            rng.pick(h, 3),
            rng.pick(h, 12)
        ),
        _ => return None,
    })
}

/// Expands `{{class:n}}` and `{{@special}}`; anything else (e.g. Continue's
/// `${{ secrets.X }}`) is left as written.
fn expand(template: &str, rng: &mut Rng) -> String {
    fakes::expand(template, ("{{", "}}"), rng, special)
}

/// Where a case file goes in the scanned tree, from its `<client>--` prefix,
/// so that project discovery reads it as that client would.
fn layout(file_name: &str) -> String {
    let (client, rest) = file_name.split_once("--").expect("<client>--<case>.<ext>");
    let case = rest.rsplit_once('.').map_or(rest, |(c, _)| c);
    match client {
        "mcp" => ".mcp.json".into(),
        "claude" => "claude_desktop_config.json".into(),
        "cursor" => ".cursor/mcp.json".into(),
        "vscode" => ".vscode/mcp.json".into(),
        "windsurf" => ".codeium/windsurf/mcp_config.json".into(),
        "gemini" => ".gemini/settings.json".into(),
        "roo" => ".roo/mcp.json".into(),
        "cline" => ".cline/data/settings/cline_mcp_settings.json".into(),
        "zed" => ".zed/settings.json".into(),
        "opencode" => "opencode.json".into(),
        "codex" => ".codex/config.toml".into(),
        "goose" => ".config/goose/config.yaml".into(),
        "continue" => format!(".continue/mcpServers/{case}.yaml"),
        other => panic!("{file_name}: unknown client prefix {other}"),
    }
}

fn seed_for(name: &str) -> u64 {
    let base: u64 = std::env::var("SCAN_CORPUS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // FNV-1a over the file name.
    name.bytes().fold(0xcbf2_9ce4_8422_2325 ^ base, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Case {
    /// `negatives/<file>` or `positives/<file>`.
    id: String,
    expected: BTreeSet<String>,
}

/// Writes every case of `set` under `root/<set>/<file>/...`.
fn materialise(set: &str, root: &Path) -> Vec<Case> {
    let dir = corpus_dir().join(set);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| [".json", ".toml", ".yaml"].iter().any(|x| n.ends_with(x)))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name)).expect("read case");
            let mut rng = Rng::new(seed_for(&name));
            let target = root.join(set).join(&name).join(layout(&name));
            std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
            std::fs::write(&target, expand(&text, &mut rng)).expect("write case");
            let expect = dir.join(format!("{name}.expect"));
            let expected: BTreeSet<String> = if set == "positives" {
                std::fs::read_to_string(&expect)
                    .unwrap_or_else(|e| panic!("{}: {e}", expect.display()))
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect()
            } else {
                BTreeSet::new()
            };
            Case {
                id: format!("{set}/{name}"),
                expected,
            }
        })
        .collect()
}

#[derive(Default)]
struct Seen {
    findings: BTreeMap<String, BTreeSet<String>>,
    /// rule id per (case, pointer), for the report.
    rules: BTreeMap<(String, String), String>,
    servers: BTreeMap<String, usize>,
    errors: Vec<String>,
}

fn collect(report: &Value, root: &Path, seen: &mut Seen) {
    let root = root.canonicalize().expect("canonical root");
    for file in report["files"].as_array().expect("files") {
        let path = PathBuf::from(file["path"].as_str().expect("path"));
        let path = path.canonicalize().unwrap_or(path);
        let Ok(rel) = path.strip_prefix(&root) else {
            continue;
        };
        let mut parts = rel.components().map(|c| c.as_os_str().to_string_lossy());
        let (Some(set), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        let id = format!("{set}/{name}");
        if !file["error"].is_null() {
            seen.errors.push(format!("{id}: {}", file["error"]));
        }
        let servers = file["servers"].as_array().cloned().unwrap_or_default();
        *seen.servers.entry(id.clone()).or_default() += servers.len();
        let findings = file["findings"].as_array().into_iter().flatten().chain(
            servers
                .iter()
                .flat_map(|s| s["findings"].as_array().into_iter().flatten()),
        );
        for f in findings {
            let pointer = f["pointer"].as_str().unwrap_or("?").to_string();
            seen.rules.insert(
                (id.clone(), pointer.clone()),
                f["rule"].as_str().unwrap_or("?").to_string(),
            );
            seen.findings.entry(id.clone()).or_default().insert(pointer);
        }
    }
}

#[test]
fn realistic_corpus_precision_and_recall() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // SCAN_CORPUS_KEEP=<dir> writes the expanded corpus there for inspection.
    let root = std::env::var_os("SCAN_CORPUS_KEEP")
        .map_or_else(|| tmp.path().join("corpus"), PathBuf::from);
    let mut cases = materialise("negatives", &root);
    let negatives = cases.len();
    cases.extend(materialise("positives", &root));
    let positives = cases.len() - negatives;
    assert!(
        negatives >= 60 && positives >= 60,
        "corpus too small: {negatives} negatives, {positives} positives"
    );

    let home = common::Home::new();
    let out = home
        .cmd()
        .args(["scan", "--format", "json"])
        .arg(&root)
        .output()
        .expect("run scan");
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let mut seen = Seen::default();
    collect(&report, &root, &mut seen);

    // Every case must have been read as a config with at least one server,
    // or the corpus would be measuring nothing.
    let unread: Vec<&str> = cases
        .iter()
        .filter(|c| seen.servers.get(&c.id).copied().unwrap_or(0) == 0)
        .map(|c| c.id.as_str())
        .collect();
    assert!(seen.errors.is_empty(), "unreadable: {:#?}", seen.errors);
    assert!(unread.is_empty(), "no servers read from: {unread:#?}");

    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let mut report_lines = Vec::new();
    for case in &cases {
        let found = seen.findings.get(&case.id).cloned().unwrap_or_default();
        for p in found.difference(&case.expected) {
            fp += 1;
            let rule = &seen.rules[&(case.id.clone(), p.clone())];
            report_lines.push(format!("FALSE POSITIVE {} {p} ({rule})", case.id));
        }
        for p in case.expected.difference(&found) {
            fn_ += 1;
            report_lines.push(format!("MISSED         {} {p}", case.id));
        }
        tp += case.expected.intersection(&found).count();
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    eprintln!(
        "scan corpus: {negatives} negative files, {positives} positive files; \
         tp={tp} fp={fp} fn={fn_}; precision={precision:.3} recall={recall:.3}"
    );
    for line in &report_lines {
        eprintln!("  {line}");
    }
    assert!(
        precision >= MIN_PRECISION && recall >= MIN_RECALL,
        "precision {precision:.3} / recall {recall:.3} below {MIN_PRECISION}/{MIN_RECALL}:\n{}",
        report_lines.join("\n")
    );
}

#[test]
fn templates_expand_and_leave_other_braces() {
    let mut rng = Rng::new(7);
    let s = expand("x{{h:8}}y ${{ secrets.T }} {{@pw:12}}", &mut rng);
    assert!(s.starts_with('x') && s.contains("${{ secrets.T }}"));
    assert!(!s.contains("{{h:") && !s.contains("{{@pw"));
    let pw = password(&mut rng, 12);
    assert_eq!(pw.len(), 12);
    assert!(pw.bytes().any(|b| b.is_ascii_digit()) && pw.bytes().any(|b| SYMBOLS.contains(&b)));
}
