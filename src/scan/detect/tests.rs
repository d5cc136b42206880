//! Corpus tests: every typed rule has a detected positive; placeholders and
//! documentation examples are not findings; precision and recall over both
//! corpora are at least 0.95; ranges are exact; nothing panics.
//!
//! The corpora (`tests/fixtures/detect/*.jsonl`) hold templates, not tokens:
//! `{a:36}` expands to 36 random alphanumerics from a PRNG seeded by the line
//! number, so the fakes are random-looking, stable across runs, and no
//! credential-shaped string is committed. `⟦...⟧` marks the secret, the exact
//! range a hit must cover. Failure messages name lines and rule ids, never
//! values.

use std::collections::BTreeMap;
use std::ops::Range;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use proptest::prelude::*;
use serde_json::Value;

use super::fakes::{self, Rng, alphabet};
use super::*;

const POSITIVES: &str = include_str!("../../../tests/fixtures/detect/positives.jsonl");
const NEGATIVES: &str = include_str!("../../../tests/fixtures/detect/negatives.jsonl");

/// Expands `{class:n}` and `{@special}` templates.
fn expand(template: &str, rng: &mut Rng) -> String {
    fakes::expand(template, ("{", "}"), rng, special)
}

fn special(name: &str, rng: &mut Rng) -> Option<String> {
    let b64 = alphabet("b")?;
    let w = alphabet("w")?;
    Some(match name {
        "@jwt" | "@jwt-anon" => {
            let role = if name == "@jwt-anon" {
                "anon"
            } else {
                "service_role"
            };
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
            let payload = URL_SAFE_NO_PAD.encode(format!(
                r#"{{"iss":"svc","sub":"{}","role":"{role}","exp":{}}}"#,
                rng.pick(alphabet("l")?, 12),
                1_900_000_000 + rng.next() % 100_000_000
            ));
            format!("{header}.{payload}.{}", rng.pick(w, 43))
        }
        "@pem" | "@pem-rsa" | "@pem-esc" => {
            let kind = if name == "@pem-rsa" { "RSA " } else { "" };
            let nl = if name == "@pem-esc" { "\\n" } else { "\n" };
            let body: Vec<String> = (0..8).map(|_| rng.pick(b64, 64)).collect();
            format!(
                "-----BEGIN {kind}PRIVATE KEY-----{nl}{}{nl}-----END {kind}PRIVATE KEY-----",
                body.join(nl)
            )
        }
        "@discord" => {
            let id = format!("1{}", rng.pick(alphabet("d")?, 17));
            format!(
                "{}.{}.{}",
                STANDARD_NO_PAD.encode(id),
                rng.pick(w, 6),
                rng.pick(w, 38)
            )
        }
        "@basic" => STANDARD.encode(format!("svc-bot:{}", rng.pick(alphabet("a")?, 16))),
        "@uuid" => {
            let h = alphabet("h")?;
            format!(
                "{}-{}-4{}-a{}-{}",
                rng.pick(h, 8),
                rng.pick(h, 4),
                rng.pick(h, 3),
                rng.pick(h, 3),
                rng.pick(h, 12)
            )
        }
        _ => return None,
    })
}

const OPEN: char = '\u{27E6}';
const CLOSE: char = '\u{27E7}';

/// Removes the `⟦...⟧` marks, returning the text and the marked range.
fn unmark(s: &str) -> (String, Option<Range<usize>>) {
    match (s.find(OPEN), s.find(CLOSE)) {
        (Some(o), Some(c)) if o < c => {
            let text = format!(
                "{}{}{}",
                &s[..o],
                &s[o + OPEN.len_utf8()..c],
                &s[c + CLOSE.len_utf8()..]
            );
            (text, Some(o..c - OPEN.len_utf8()))
        }
        _ => (s.to_string(), None),
    }
}

/// One corpus case after expansion.
struct Case {
    line: usize,
    rule: Option<String>,
    /// The marked secret: (argument index or 0, range).
    secret: Option<(usize, Range<usize>)>,
    /// (argument index or 0, rule, range) of every hit.
    hits: Vec<(usize, &'static str, Range<usize>)>,
    /// The texts scanned, to check ranges against.
    texts: Vec<String>,
}

fn run_corpus(src: &str) -> Vec<Case> {
    src.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .map(|(i, l)| {
            let line = i + 1;
            let v: Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("corpus line {line}: bad JSON: {e}"));
            let mut rng = Rng::new(line as u64);
            let mut ex = |key: &str| {
                v.get(key)
                    .and_then(Value::as_str)
                    .map(|s| expand(s, &mut rng))
            };
            let rule = v.get("rule").and_then(Value::as_str).map(str::to_string);
            let mut secret = None;
            let mut texts = Vec::new();
            let hits: Vec<(usize, &'static str, Range<usize>)> =
                if let Some(args) = v.get("args").and_then(Value::as_array) {
                    for (idx, a) in args.iter().enumerate() {
                        let (text, r) = unmark(&expand(a.as_str().unwrap_or_default(), &mut rng));
                        if let Some(r) = r {
                            secret = Some((idx, r));
                        }
                        texts.push(text);
                    }
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    scan_args(&refs)
                        .into_iter()
                        .map(|h| (h.index, h.hit.rule, h.hit.range))
                        .collect()
                } else {
                    let env = ex("env");
                    let header = ex("header");
                    let cred = ex("cred");
                    let url = ex("url");
                    let raw = url.clone().or_else(|| ex("value")).unwrap_or_default();
                    let (text, r) = unmark(&raw);
                    secret = r.map(|r| (0, r));
                    let field = if let Some(n) = env.as_deref() {
                        Field::Env { name: n }
                    } else if let Some(n) = header.as_deref() {
                        Field::Header { name: n }
                    } else if let Some(n) = cred.as_deref() {
                        Field::Credential { key: n }
                    } else {
                        Field::Url
                    };
                    let hits = scan_value(field, &text)
                        .into_iter()
                        .map(|h| (0, h.rule, h.range))
                        .collect();
                    texts.push(text);
                    hits
                };
            Case {
                line,
                rule,
                secret,
                hits,
                texts,
            }
        })
        .collect()
}

#[test]
fn rules_compile() {
    warm_up();
    let ids: Vec<&str> = rules().iter().map(|r| r.id).collect();
    assert!(ids.len() >= 60, "{} rule ids", ids.len());
    for id in &ids {
        assert!(
            id.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
            "rule id {id} is not kebab-case"
        );
    }
}

#[test]
fn every_positive_has_a_secret_and_a_known_rule() {
    let known: Vec<&str> = rules().iter().map(|r| r.id).collect();
    for c in run_corpus(POSITIVES) {
        assert!(
            c.secret.is_some(),
            "positive line {} has no marked secret",
            c.line
        );
        let rule = c.rule.as_deref().unwrap_or_default();
        assert!(
            known.contains(&rule),
            "line {}: unknown rule {rule}",
            c.line
        );
    }
}

#[test]
fn every_typed_rule_is_detected_in_the_positive_corpus() {
    let cases = run_corpus(POSITIVES);
    let mut missing = Vec::new();
    for (id, _, _) in rules::catalog() {
        let detected = cases.iter().any(|c| {
            c.rule.as_deref() == Some(id)
                && c.secret.as_ref().is_some_and(|(i, r)| {
                    c.hits
                        .iter()
                        .any(|(hi, rule, hr)| hi == i && hr == r && *rule == id)
                })
        });
        if !detected {
            missing.push(id);
        }
    }
    assert!(
        missing.is_empty(),
        "rules without a detected positive: {missing:?}"
    );
}

#[test]
fn negatives_are_not_findings() {
    let bad: Vec<(usize, &str)> = run_corpus(NEGATIVES)
        .iter()
        .flat_map(|c| c.hits.iter().map(|(_, rule, _)| (c.line, *rule)))
        .collect();
    assert!(bad.is_empty(), "negative lines with hits: {bad:?}");
}

#[test]
fn precision_and_recall() {
    let pos = run_corpus(POSITIVES);
    let neg = run_corpus(NEGATIVES);
    let (mut tp, mut fp, mut fn_, mut right_rule) = (0usize, 0usize, 0usize, 0usize);
    let mut misses = BTreeMap::new();
    for c in &pos {
        let Some((idx, range)) = &c.secret else {
            continue;
        };
        let found = c.hits.iter().find(|(i, _, r)| i == idx && r == range);
        match found {
            Some((_, rule, _)) => {
                tp += 1;
                if Some(*rule) == c.rule.as_deref() {
                    right_rule += 1;
                } else {
                    misses.insert(c.line, format!("rule {rule}"));
                }
            }
            None => {
                fn_ += 1;
                misses.insert(c.line, "missed".to_string());
            }
        }
        let extra = c
            .hits
            .iter()
            .filter(|(i, _, r)| !(i == idx && r == range))
            .count();
        if extra > 0 {
            misses.insert(c.line, format!("{extra} extra hit(s)"));
        }
        fp += extra;
    }
    fp += neg.iter().map(|c| c.hits.len()).sum::<usize>();
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let rule_accuracy = right_rule as f64 / tp.max(1) as f64;
    eprintln!(
        "detect corpus: {} positives, {} negatives; precision {precision:.3}, recall {recall:.3}, \
         rule accuracy {rule_accuracy:.3}; positive lines off: {misses:?}",
        pos.len(),
        neg.len()
    );
    assert!(pos.len() >= 100 && neg.len() >= 100);
    assert!(precision >= 0.95, "precision {precision:.3}");
    assert!(recall >= 0.95, "recall {recall:.3}");
    assert!(rule_accuracy >= 0.95, "rule accuracy {rule_accuracy:.3}");
}

#[test]
fn ranges_are_inside_their_text() {
    for c in run_corpus(POSITIVES)
        .into_iter()
        .chain(run_corpus(NEGATIVES))
    {
        for (i, _, r) in &c.hits {
            let text = &c.texts[*i];
            assert!(
                r.start < r.end && text.get(r.clone()).is_some(),
                "line {}: bad range",
                c.line
            );
        }
    }
}

#[test]
fn masked_part_is_exactly_the_secret() {
    let tok = "ghp_Q7mZ2kLp9XvR4tYw8NcB3hJd6FsA1eGu5TiK";
    let v = format!("Bearer {tok}");
    let hits = scan_value(
        Field::Header {
            name: "Authorization",
        },
        &v,
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(&v[hits[0].range.clone()], tok);

    let url = "postgresql://app:Vq7pL2zR9xkT@db.internal:5432/app?sslmode=require";
    let hits = scan_value(Field::Url, url);
    assert_eq!(hits.len(), 1);
    assert_eq!(&url[hits[0].range.clone()], "Vq7pL2zR9xkT");

    let args = [
        "--header",
        "Authorization: Bearer Zk3pQ9vX2mLr8TfWq4HnB7",
        "--x",
    ];
    let hits = scan_args(&args);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].index, 1);
    assert_eq!(
        &args[1][hits[0].hit.range.clone()],
        "Zk3pQ9vX2mLr8TfWq4HnB7"
    );

    let args = ["--api-key=Zk3pQ9vX2mLr8TfWq4HnB7"];
    let hits = scan_args(&args);
    assert_eq!(hits.len(), 1);
    assert_eq!(
        &args[0][hits[0].hit.range.clone()],
        "Zk3pQ9vX2mLr8TfWq4HnB7"
    );
}

#[test]
fn references_are_not_findings() {
    for v in [
        "${GITHUB_TOKEN}",
        "${env:GITHUB_TOKEN}",
        "${input:gh}",
        "$GITHUB_TOKEN",
        "Bearer ${TOKEN}",
        "Bearer %{TOKEN}",
        "%{GITHUB_TOKEN}",
        "local://gh",
        "op://v/i/f",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:gh-AbCdEf",
    ] {
        assert!(
            scan_value(
                Field::Env {
                    name: "GITHUB_TOKEN"
                },
                v
            )
            .is_empty(),
            "{v}"
        );
        assert!(indirection(v).is_some(), "{v}");
    }
    assert_eq!(indirection("Bearer ${TOKEN}"), Some(Indirection::Env));
    assert_eq!(
        indirection("ghp_Q7mZ2kLp9XvR4tYw8NcB3hJd6FsA1eGu5TiK"),
        None
    );
    // A default after `:-` is plaintext.
    let v = "${GITHUB_TOKEN:-ghp_Q7mZ2kLp9XvR4tYw8NcB3hJd6FsA1eGu5TiK}";
    let hits = scan_value(
        Field::Env {
            name: "GITHUB_TOKEN",
        },
        v,
    );
    assert_eq!(hits.len(), 1);
    assert_eq!(&v[hits[0].range.clone()], &v[16..v.len() - 1]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_and_ranges_are_char_boundaries(s in "\\PC{0,200}", name in "[A-Za-z_-]{0,20}") {
        for field in [
            Field::Env { name: &name },
            Field::Header { name: &name },
            Field::Url,
            Field::Credential { key: &name },
        ] {
            for h in scan_value(field, &s) {
                prop_assert!(h.range.start < h.range.end && h.range.end <= s.len());
                prop_assert!(s.is_char_boundary(h.range.start) && s.is_char_boundary(h.range.end));
            }
        }
        for name in ["DB_PASSWORD", "API_KEY", "Authorization", "Cookie"] {
            for field in [Field::Env { name }, Field::Header { name }] {
                for h in scan_value(field, &s) {
                    prop_assert!(s.is_char_boundary(h.range.start) && s.is_char_boundary(h.range.end));
                    prop_assert!(h.range.start < h.range.end && h.range.end <= s.len());
                }
            }
        }
        let args: Vec<&str> = s.split(' ').collect();
        for h in scan_args(&args) {
            let a = args[h.index];
            prop_assert!(h.hit.range.end <= a.len());
            prop_assert!(a.is_char_boundary(h.hit.range.start) && a.is_char_boundary(h.hit.range.end));
        }
        let _ = indirection(&s);
    }

    #[test]
    fn token_like_strings_never_panic(
        s in "(ghp_|sk-|xox[bp]-|eyJ|AKIA|-----BEGIN |https://u:|\\$\\{|Bearer |\\{\"a\":\")[A-Za-z0-9_.:/@=+\"{}é-]{0,120}"
    ) {
        for h in scan_value(Field::Env { name: "API_TOKEN" }, &s) {
            prop_assert!(s.get(h.range.clone()).is_some());
        }
        let _ = scan_args(&["--token", &s, "-e", &s, "--header", &s]);
    }
}

/// Quick throughput check, not a gate:
/// `cargo test --release --lib scan::detect::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run by hand in release"]
fn throughput() {
    let started = std::time::Instant::now();
    warm_up();
    let compile = started.elapsed();
    let values: Vec<String> = run_corpus(POSITIVES)
        .into_iter()
        .chain(run_corpus(NEGATIVES))
        .flat_map(|c| c.texts)
        .collect();
    let bytes: usize = values.iter().map(String::len).sum();
    let rounds = 20;
    let started = std::time::Instant::now();
    let mut hits = 0usize;
    for _ in 0..rounds {
        for v in &values {
            hits += scan_value(Field::Env { name: "API_TOKEN" }, v).len();
        }
    }
    let took = started.elapsed();
    let per_value = took / (rounds * values.len()) as u32;
    let mib_s = (bytes * rounds) as f64 / took.as_secs_f64() / (1024.0 * 1024.0);
    eprintln!(
        "detect throughput: compile {compile:?}; {} values ({bytes} bytes) x {rounds}: \
         {per_value:?} per value, {mib_s:.1} MiB/s, {hits} hits",
        values.len()
    );
    assert!(hits > 0);
}
