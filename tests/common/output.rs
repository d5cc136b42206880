//! What the binary printed: its streams as text, the success and one-line
//! failure checks the backend tests share, and JSON read back from output.
//! Asserts only; it never runs anything.

use std::process::Output;

use serde_json::Value;

use super::CANARY;

/// The process's stdout as text (lossy UTF-8).
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The process's stderr as text (lossy UTF-8).
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Both streams, stdout first, for assertion messages.
pub fn text(o: &Output) -> String {
    format!("{}\n{}", stdout(o), stderr(o))
}

/// Asserts success (showing the exit code and stderr when not); returns stdout.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}, stderr: {}",
        o.status.code(),
        stderr(&o)
    );
    stdout(&o)
}

/// Asserts mcp-warden failed with `code` before starting the child: nothing
/// on stdout, one line of stderr containing each of `needles` and no
/// [`CANARY`]; returns that line.
pub fn fails(o: Output, code: i32, needles: &[&str]) -> String {
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(code), "stderr: {err}");
    assert_eq!(stdout(&o), "", "the child must not have run");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in: {err}");
    }
    assert!(!err.contains(CANARY), "a value leaked: {err}");
    err
}

/// One JSON value per line of `text` (JSON lines output, the audit log).
pub fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not a JSON line: {l}")))
        .collect()
}

/// The strings of a JSON array (panics on anything else).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect()
}

/// The seconds of the `-vv` line holding `marker` ("gcp-token: minted"):
/// `... expires in Ns`.
pub fn expires_in(err: &str, marker: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("no {marker:?} line in:\n{err}"));
    let tail = &line[line.find("expires in ").expect("expires in") + "expires in ".len()..];
    tail.trim_end_matches(|c: char| !c.is_ascii_digit())
        .parse()
        .unwrap_or_else(|_| panic!("{line}"))
}
