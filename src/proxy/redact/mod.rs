//! Redaction of injected secret values in lines of server output and in audit
//! records.
//!
//! Owns [`Redactor`]: one aho-corasick automaton over the byte spellings of
//! every injected value (`forms.rs`), searched in the line and in its decoded
//! views (`views.rs`: JSON escapes of any character, stacked; percent-encoding
//! in any style; wrapped base64), plus the edges of plain lines against base64
//! wrapped across lines (`wrapped.rs`). What matched is replaced by
//! `[REDACTED:<VAR>]` (`rewrite.rs`): inside a JSON message only within string
//! and scalar tokens, widened to whole escape sequences, so the message stays
//! valid JSON; in any other line the matched bytes themselves.
//!
//! It must not log, format or keep values anywhere but inside the automaton and
//! the zeroizing stream buffers. Values shorter than [`MIN_SECRET_LEN`] bytes
//! (after dropping a trailing newline) are not redacted (too many false
//! positives); the caller gets a warning naming the variable. It works on
//! whole lines; framing guarantees a value split across reads is seen whole.
//! The line terminator is never part of a match.

mod forms;
mod rewrite;
mod shared;
mod views;
mod wrapped;

use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use zeroize::Zeroizing;

use crate::secret::SecretValue;

pub use forms::MIN_SECRET_LEN;
pub use shared::Shared;

/// How a line is interpreted when it must be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Replace matched bytes as they are.
    Plain,
    /// The caller knows the line is valid JSON.
    Json,
    /// JSON-aware if the line is valid JSON, plain otherwise.
    Auto,
}

/// A matched range of a line and the value it belongs to.
#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    label: u32,
}

/// Finds and replaces injected values. Cheap to query when nothing matches.
pub struct Redactor {
    /// The fast "any match?" test.
    fast: Option<Fast>,
    /// Standard automaton for overlapping search in texts that matched: built
    /// the first time a text matches, since most runs never need it.
    ac: OnceLock<Option<AhoCorasick>>,
    /// What `ac` is built from (kept zeroizing until then and after).
    patterns: Vec<Zeroizing<Vec<u8>>>,
    pattern_label: Vec<u32>,
    /// `[REDACTED:<VAR>]` per value, in characters that never need escaping.
    labels: Vec<Box<[u8]>>,
    /// The longest pattern, in bytes (how far a decoded view reaches past its triggers).
    longest: usize,
    streams: wrapped::Streams,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("patterns", &self.pattern_label.len())
            .field("values", &self.labels.len())
            .finish()
    }
}

impl Redactor {
    /// Builds the automaton. Returns the redactor and warnings (names only).
    pub fn new(secrets: &[(String, SecretValue)]) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut patterns = Vec::new();
        let mut pattern_label = Vec::new();
        let mut labels = Vec::new();
        let mut streams = wrapped::Streams::default();
        for (name, value) in secrets {
            let v = value.expose();
            if forms::trimmed(v).len() < MIN_SECRET_LEN {
                warnings.push(short_warning(name, v));
                continue;
            }
            let label = labels.len() as u32;
            labels.push(make_label(name));
            let f = forms::forms(v);
            for p in f.patterns {
                if !patterns
                    .iter()
                    .any(|q: &zeroize::Zeroizing<Vec<u8>>| q == &p)
                {
                    patterns.push(p);
                    pattern_label.push(label);
                }
            }
            for s in &f.streams {
                streams.add(s, label);
            }
        }
        let longest = patterns.iter().map(|p| p.len()).max().unwrap_or(0);
        // An automaton that cannot be built leaves the slow search, never no search.
        let fast = Fast::build(&patterns).unwrap_or_else(|()| {
            warnings.push("redaction uses a slower search (automaton too large)".into());
            Some(Fast::Each)
        });
        (
            Self {
                fast,
                ac: OnceLock::new(),
                patterns,
                pattern_label,
                labels,
                longest,
                streams,
            },
            warnings,
        )
    }

    /// A redactor that redacts nothing (`--no-redact`).
    pub fn disabled() -> Self {
        Self {
            fast: None,
            ac: OnceLock::new(),
            patterns: Vec::new(),
            pattern_label: Vec::new(),
            labels: Vec::new(),
            longest: 0,
            streams: wrapped::Streams::default(),
        }
    }

    /// Whether any value is being redacted.
    pub fn is_active(&self) -> bool {
        self.fast.is_some()
    }

    /// Whether `hay` holds a byte spelling of any value, as it is (the raw
    /// scan; decoded views are not searched).
    #[inline]
    pub fn matches(&self, hay: &[u8]) -> bool {
        match &self.fast {
            None => false,
            Some(Fast::Each) => self
                .patterns
                .iter()
                .any(|p| memchr::memmem::find(hay, p).is_some()),
            Some(f) => f.is_match(hay),
        }
    }

    /// Rewrites `line` into `out` (cleared first) if it holds a value in any
    /// spelling; returns whether it did. When it returns false, `out` is untouched.
    pub fn redact(&self, line: &[u8], mode: Mode, out: &mut Vec<u8>) -> bool {
        if !self.is_active() {
            return false;
        }
        let (body, term) = split_terminator(line);
        let mut spans = self.find_all(body);
        views::search(self, body, &mut spans);
        if mode != Mode::Json {
            self.streams.edges(body, &mut spans);
        }
        if spans.is_empty() {
            return false;
        }
        let spans = merge(spans);
        let json = match mode {
            Mode::Plain => false,
            Mode::Json => true,
            Mode::Auto => serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok(),
        };
        out.clear();
        out.reserve(line.len());
        let label = |i: u32| self.label(i);
        if json {
            rewrite::json(body, &spans, label, out);
        } else {
            rewrite::plain(body, &spans, label, out);
        }
        out.extend_from_slice(term);
        true
    }

    /// Every match of a pattern in `text` (overlapping), unsorted.
    fn find_all(&self, text: &[u8]) -> Vec<Span> {
        if !self.matches(text) {
            return Vec::new();
        }
        let ac = self
            .ac
            .get_or_init(|| build(&self.patterns, MatchKind::Standard).ok().flatten());
        let Some(ac) = ac else {
            // Fail closed: the fast test matched, so find the matches the slow way.
            return self.find_all_each(text);
        };
        ac.find_overlapping_iter(text)
            .map(|m| Span {
                start: m.start(),
                end: m.end(),
                label: self
                    .pattern_label
                    .get(m.pattern().as_usize())
                    .copied()
                    .unwrap_or(0),
            })
            .collect()
    }

    /// Every match of each pattern, overlapping, without an automaton: what
    /// `find_all` falls back to if the overlapping automaton cannot be built.
    fn find_all_each(&self, text: &[u8]) -> Vec<Span> {
        let mut spans = Vec::new();
        for (p, &label) in self.patterns.iter().zip(&self.pattern_label) {
            let finder = memchr::memmem::Finder::new(p.as_slice());
            let mut from = 0;
            while let Some(at) = text.get(from..).and_then(|t| finder.find(t)) {
                let start = from + at;
                spans.push(Span {
                    start,
                    end: start + p.len(),
                    label,
                });
                from = start + 1;
            }
        }
        spans
    }

    fn label(&self, i: u32) -> &[u8] {
        // a label exists for every pattern; index 0 exists whenever the automaton does
        self.labels
            .get(i as usize)
            .or_else(|| self.labels.first())
            .map_or(b"[REDACTED]".as_slice(), |l| l)
    }
}

/// The "any match?" test: the SIMD packed searcher (Teddy) on its own when
/// the patterns fit it (its speed does not depend on how often the text holds
/// bytes the patterns start with, unlike the automaton's own prefilter
/// choice), else a leftmost-first automaton.
enum Fast {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
    /// No automaton could be built: each pattern is searched on its own
    /// (`Redactor::matches`, `Redactor::find_all_each`).
    Each,
}

impl Fast {
    fn build(patterns: &[Zeroizing<Vec<u8>>]) -> Result<Option<Self>, ()> {
        if patterns.is_empty() {
            return Ok(None);
        }
        let packed = aho_corasick::packed::Config::new()
            .match_kind(aho_corasick::packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(patterns.iter().map(|p| p.as_slice()))
            .build();
        if let Some(p) = packed {
            return Ok(Some(Fast::Packed(p)));
        }
        Ok(build(patterns, MatchKind::LeftmostFirst)?.map(Fast::Automaton))
    }

    #[inline]
    fn is_match(&self, hay: &[u8]) -> bool {
        match self {
            Fast::Packed(p) => p.find(hay).is_some(),
            Fast::Automaton(a) => a.is_match(hay),
            // `Redactor::matches` searches each pattern itself; here, fail closed.
            Fast::Each => true,
        }
    }
}

/// One automaton over `patterns` (`None` for none): a contiguous NFA, cheap to
/// build at start-up.
fn build(patterns: &[Zeroizing<Vec<u8>>], kind: MatchKind) -> Result<Option<AhoCorasick>, ()> {
    if patterns.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .match_kind(kind)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(patterns.iter().map(|p| p.as_slice()))
        .map(Some)
        .map_err(|_| ())
}

fn short_warning(name: &str, v: &[u8]) -> String {
    if forms::trimmed(v).len() != v.len() {
        format!(
            "value of {name} is shorter than {MIN_SECRET_LEN} bytes without its trailing newline; not redacted"
        )
    } else {
        format!("value of {name} is shorter than {MIN_SECRET_LEN} bytes; not redacted")
    }
}

/// The line without its terminator (`\n` or `\r\n`), and the terminator.
fn split_terminator(line: &[u8]) -> (&[u8], &[u8]) {
    if let Some(body) = line.strip_suffix(b"\r\n") {
        (body, b"\r\n")
    } else if let Some(body) = line.strip_suffix(b"\n") {
        (body, b"\n")
    } else {
        (line, b"")
    }
}

/// Sorts spans and merges overlapping ones (the first one's label wins).
fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort_unstable_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        match merged.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => merged.push(s),
        }
    }
    merged
}

/// `[REDACTED:<VAR>]`, with every character of the name outside
/// `[A-Za-z0-9_.-]` shown as `?`: no quote, backslash or control character,
/// so the label is valid inside JSON text at any nesting depth.
fn make_label(name: &str) -> Box<[u8]> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '?'
            }
        })
        .collect();
    format!("[REDACTED:{safe}]").into_bytes().into()
}

#[cfg(test)]
pub(crate) mod producers;
#[cfg(test)]
mod tests;
