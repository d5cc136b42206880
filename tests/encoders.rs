//! Redaction against real producers: servers written in Python, Node, Go and
//! Java write the injected values back in every spelling their standard JSON,
//! base64, hex and URL encoders produce (tests/encoders/), and the client
//! sends them back escaped in ids and `tools/call` arguments. Nothing a reader
//! could decode may reach the client, our stderr or the audit log.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::process::wait_with_timeout;
use common::producers::{JSON_STYLES, json_string, leaks};
use common::{Home, bin_path, service_env};

/// The values: HTML and JSON metacharacters, non-ASCII (with a character
/// outside the BMP and U+2028), one long enough to wrap in base64, one stored
/// with a trailing newline, and one random per run.
fn values() -> Vec<String> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64)
        | 1;
    let mut x = seed;
    let random: String = (0..40)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pool = b"abcXYZ019&<>='\"\\/+ ~*%-_.";
            pool[(x % pool.len() as u64) as usize] as char
        })
        .collect();
    eprintln!("random value of this run: {random:?}");
    vec![
        "p@ss&<word>='single'\"double\"\\back/slash+plus sp~ace*star".into(),
        "pässwörd-ключ-中文-🔑-\u{2028}-end-42".into(),
        "LONG-0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTUVWXYZ-&=+/-tail".into(),
        "token-with-a-trailing-newline-1234567890\n".into(),
        // a random value that once made the views run out (it holds `%a9`)
        "'_*9* /c Z0=+-cc<%a9_-91b1+~Z0Y.'0<-9\\\\a".into(),
        random,
    ]
}

struct Emitter {
    name: &'static str,
    argv: Vec<String>,
}

fn emitters() -> Vec<Emitter> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/encoders");
    vec![
        Emitter {
            name: "python",
            argv: vec![
                service_env("MCP_WARDEN_TEST_PYTHON"),
                dir.join("encoders.py").display().to_string(),
            ],
        },
        Emitter {
            name: "node",
            argv: vec![
                service_env("MCP_WARDEN_TEST_NODE"),
                dir.join("encoders.mjs").display().to_string(),
            ],
        },
        Emitter {
            name: "go",
            argv: vec![service_env("MCP_WARDEN_TEST_ENCODERS_GO")],
        },
        Emitter {
            name: "java",
            argv: vec![
                "java".into(),
                "-cp".into(),
                service_env("MCP_WARDEN_TEST_ENCODERS_JAVA_CP"),
                "Encoders".into(),
            ],
        },
    ]
}

/// `tools/call` requests that carry the value escaped by each JSON style, in
/// the id and in the arguments.
fn requests(v: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for style in JSON_STYLES {
        let s = json_string(v, style);
        out.extend(format!(
            "{{\"jsonrpc\":\"2.0\",\"id\":{s},\"method\":\"tools/call\",\"params\":{{\"name\":\"echo\",\"arguments\":{{\"v\":{s}}}}}}}\n"
        ).into_bytes());
    }
    out
}

#[test]
fn no_spelling_of_a_real_encoder_leaks() {
    let values = values();
    for e in emitters() {
        let home = Home::new();
        // The emitters answer everything and exit at end of input; under a
        // loaded machine a JVM or a Python start can outlast the default
        // 5 s grace after stdin closes, and a SIGTERM then is not a leak.
        let mut args = vec![
            "run".to_string(),
            "--audit-arguments".into(),
            "--stdin-grace".into(),
            "60s".into(),
        ];
        for (i, v) in values.iter().enumerate() {
            home.set(&format!("enc{i}"), v.as_bytes());
            args.push(format!("MWENC_{i}=local://enc{i}"));
        }
        args.push("--".into());
        args.extend(e.argv.iter().cloned());
        let mut child = Command::new(bin_path())
            .args(&args)
            .env("MCP_WARDEN_HOME", home.path())
            .env("MCP_WARDEN_KEY_STORE", "file")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mcp-warden run");
        {
            let mut stdin = child.stdin.take().expect("stdin");
            for v in &values {
                stdin.write_all(&requests(v)).expect("write requests");
            }
        }
        let out = wait_with_timeout(child, Duration::from_secs(60));
        let audit = std::fs::read(home.path().join("audit/audit.jsonl")).expect("audit log");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}: {:?}\n{}",
            e.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout.lines().count(),
            values.len() * JSON_STYLES.len(),
            "{}: one answer per request",
            e.name
        );
        assert!(
            stdout.contains("[REDACTED:MWENC_0]"),
            "{}: nothing was redacted",
            e.name
        );
        for (i, v) in values.iter().enumerate() {
            for (what, bytes) in [
                ("client", &out.stdout),
                ("stderr", &out.stderr),
                ("audit", &audit),
            ] {
                assert!(
                    !leaks(bytes, v.as_bytes()),
                    "{}: value {i} reached the {what}:\n{}",
                    e.name,
                    String::from_utf8_lossy(bytes)
                );
            }
        }
        // every answer is still valid JSON
        for line in stdout.lines() {
            serde_json::from_str::<serde_json::Value>(line).expect("valid JSON-RPC");
        }
    }
}
