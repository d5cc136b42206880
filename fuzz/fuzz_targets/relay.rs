//! Fuzzes framing + redaction (and the message readers behind them).
//!
//! Input layout: byte 0 picks the value's length, the next bytes are the value
//! (mapped to `[a-z0-9]`, so a leftover match can only come from the input, never
//! from a `[REDACTED:...]` label), byte after picks the chunk size, the rest is
//! the server's stdout stream. Invariants checked:
//! - framing: the lines, concatenated, are the stream, whatever the chunking;
//! - a line holding no form of the value comes out byte for byte;
//! - no output line holds the raw value; every line keeps its terminator and
//!   gains no newline;
//! - a line that was valid JSON is still valid JSON;
//! - the client direction (policy on) never panics.
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use mcp_warden::proxy::framing::LineReader;
use mcp_warden::proxy::{AuditConfig, Guard, GuardConfig, Scratch, Verdict};
use mcp_warden::secret::SecretValue;

fn audit_dir() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir"))
        .path()
}

/// Guards for `value`: one without policy for server lines (a `tools/list` filter
/// would rightly change lines), one with a policy for client lines. Cached, since
/// building the automata dominates a run.
fn guards(value: &[u8]) -> (Arc<Guard>, Arc<Guard>) {
    thread_local! {
        static CACHE: RefCell<HashMap<Vec<u8>, (Arc<Guard>, Arc<Guard>)>> = RefCell::new(HashMap::new());
    }
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 256 {
            c.clear();
        }
        c.entry(value.to_vec())
            .or_insert_with(|| {
                let mut audit = AuditConfig::new(audit_dir().join("audit.jsonl"), "fuzz");
                audit.max_bytes = 1 << 20;
                audit.keep_files = 1;
                audit.record_arguments = true;
                let make = |deny: Vec<String>| {
                    Arc::new(
                        Guard::new(GuardConfig {
                            secrets: vec![(
                                "FUZZ_SECRET".to_string(),
                                SecretValue::from_slice(value),
                            )],
                            redact: true,
                            allow_tools: vec![],
                            deny_tools: deny,
                            audit: Some(audit.clone()),
                        })
                        .expect("guard"),
                    )
                };
                (make(vec![]), make(vec!["deny*".into()]))
            })
            .clone()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = 6 + (n as usize % 20);
    if rest.len() < n + 1 {
        return;
    }
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let value: Vec<u8> = rest[..n]
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()])
        .collect();
    let chunk = 1 + rest[n] as usize;
    let stream = &rest[n + 1..];

    let (guard, client_guard) = guards(&value);

    let mut lr = LineReader::new(0);
    let mut s = Scratch::default();
    let mut c = Scratch::default();
    let mut lines = Vec::new();
    let mut check = |lr: &mut LineReader, lines: &mut Vec<u8>| {
        while let Some(r) = lr.next_line() {
            let line = &lr.bytes()[r];
            lines.extend_from_slice(line);
            let _ = client_guard.client_line(line, &mut c);
            let out: &[u8] = match guard.server_line(line, &mut s) {
                Verdict::Original => line,
                Verdict::Rewritten => &s.out,
                Verdict::Drop => panic!("server lines are never dropped"),
            };
            let raw_present = line.windows(value.len()).any(|w| w == value.as_slice());
            if !raw_present && !out.windows(12).any(|w| w == b"[REDACTED:FU") {
                assert_eq!(out, line, "a line without a value changed");
            }
            assert!(
                !out.windows(value.len()).any(|w| w == value.as_slice()),
                "value left in output"
            );
            let nl = |b: &[u8]| b.iter().filter(|&&x| x == b'\n').count();
            assert_eq!(nl(out), nl(line), "newlines changed");
            assert_eq!(out.ends_with(b"\n"), line.ends_with(b"\n"));
            if serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok() {
                assert!(
                    serde_json::from_slice::<serde::de::IgnoredAny>(out).is_ok(),
                    "JSON became invalid"
                );
            }
        }
    };
    for piece in stream.chunks(chunk) {
        lr.push(piece);
        check(&mut lr, &mut lines);
    }
    lr.set_eof();
    check(&mut lr, &mut lines);
    assert_eq!(lines, stream, "framing lost or reordered bytes");
    guard.flush_audit();
});
