//! What the egress proxy reports: one [`Exchange`] per request it saw, to a
//! [`Recorder`] (the audit log, plugged in by launch), and one stderr line
//! per kind of refusal and destination.
//!
//! Owns the shape of those reports and saying each refusal once. Must not
//! write the audit file itself or hold a value: an exchange names variables,
//! never what they hold.

use std::collections::HashSet;
use std::sync::Mutex;

/// What happened to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Forwarded; `status` is what the destination answered (`None`: no answer).
    Forwarded,
    /// Refused by the proxy (the child got 403).
    Blocked,
    /// A connection that did not go through the proxy at all (seen, not stopped).
    Direct,
}

/// One request through the proxy. Borrowed: the recorder copies what it keeps.
#[derive(Debug, Clone, Copy)]
pub struct Exchange<'a> {
    pub outcome: Outcome,
    pub host: &'a str,
    pub port: u16,
    pub method: &'a str,
    /// Without the query (which may carry a placeholder or other credentials).
    pub path: &'a str,
    pub status: Option<u16>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Forwarded: the variables whose value was swapped in. Blocked: the
    /// variables whose placeholder the request carried.
    pub vars: &'a [&'a str],
    /// Why it was blocked, or how a forward ended early.
    pub detail: Option<&'a str>,
}

/// Where exchanges go (the audit log). Called from the proxy's tasks.
pub trait Recorder: Send + Sync {
    fn exchange(&self, e: &Exchange<'_>);
}

/// A recorder that keeps nothing (no audit log).
pub struct Discard;

impl Recorder for Discard {
    fn exchange(&self, _: &Exchange<'_>) {}
}

/// Blocked requests named one by one on stderr, at most this many; the
/// audit log has every one.
const MAX_BLOCK_LINES: usize = 100;

/// Stderr lines: said once per key (a refused host is named once, not per
/// request), or once per blocked request up to [`MAX_BLOCK_LINES`].
#[derive(Default)]
pub struct Said(Mutex<HashSet<String>>, std::sync::atomic::AtomicUsize);

impl Said {
    /// Prints `line` for one blocked request, while under the limit.
    pub fn each(&self, line: impl FnOnce() -> String) {
        use std::sync::atomic::Ordering;
        match self.1.fetch_add(1, Ordering::Relaxed) {
            n if n < MAX_BLOCK_LINES => eprintln!("mcp-warden: secretless: {}", line()),
            MAX_BLOCK_LINES => eprintln!(
                "mcp-warden: secretless: more blocked requests; from now on only in the audit log"
            ),
            _ => {}
        }
    }

    /// Prints `line` on stderr unless `key` was already said.
    pub fn once(&self, key: String, line: impl FnOnce() -> String) {
        let first = self
            .0
            .lock()
            .map(|mut s| s.len() < 1024 && s.insert(key))
            .unwrap_or(false);
        if first {
            eprintln!("mcp-warden: secretless: {}", line());
        }
    }
}
