//! Redaction of injected secret values in lines of server output.
//!
//! Owns [`Redactor`]: one aho-corasick automaton over every form of every
//! injected value (raw; JSON-escaped in the common serializer styles, also
//! escaped twice; base64 standard and URL-safe, padded and unpadded, whole and at
//! each of the three stream alignments; percent-encoded in the RFC 3986,
//! `encodeURIComponent` and form styles, upper and lower hex; hex lower and
//! upper; for a multi-line value, each of its lines), and the rewrite of a line
//! whose bytes match: inside a JSON message, only the bytes of string and scalar
//! tokens are replaced, widened to whole escape sequences and UTF-8 characters,
//! so the message stays valid JSON; in any other line (stderr, non-JSON stdout),
//! the matched bytes are replaced. A match becomes `[REDACTED:<VAR>]`.
//!
//! It must not log, format or keep values anywhere but inside the automaton;
//! the encoded forms are built in zeroizing buffers and dropped once the
//! automaton exists. Values shorter than [`MIN_SECRET_LEN`] bytes are not
//! redacted (too many false positives); the caller gets a warning naming the
//! variable. It works on whole lines only: framing guarantees a value split
//! across reads is seen whole.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use crate::secret::SecretValue;

/// Values shorter than this many bytes are not redacted.
pub const MIN_SECRET_LEN: usize = 6;
/// Lines of a multi-line value shorter than this are not matched on their own.
const MIN_FRAGMENT_LEN: usize = 8;

/// How a line is interpreted when it must be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Replace matched bytes as they are (stderr).
    Plain,
    /// The caller knows the line is valid JSON.
    Json,
    /// JSON-aware if the line is valid JSON, plain otherwise.
    Auto,
}

struct Label {
    plain: Box<[u8]>,
    json: Box<[u8]>,
}

/// Finds and replaces injected values. Cheap to query when nothing matches.
pub struct Redactor {
    /// Leftmost-first automaton: the fast "any match?" test (uses the SIMD
    /// packed searcher, which the standard match kind cannot use).
    fast: Option<AhoCorasick>,
    /// Standard automaton for overlapping search in lines that matched.
    ac: Option<AhoCorasick>,
    pattern_label: Vec<u32>,
    labels: Vec<Label>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("patterns", &self.pattern_label.len())
            .field("values", &self.labels.len())
            .finish()
    }
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    label: u32,
}

impl Redactor {
    /// Builds the automaton. Returns the redactor and warnings (names only).
    pub fn new(secrets: &[(String, SecretValue)]) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let mut patterns: Vec<Zeroizing<Vec<u8>>> = Vec::new();
        let mut pattern_label = Vec::new();
        let mut labels = Vec::new();
        for (name, value) in secrets {
            let v = value.expose();
            if v.len() < MIN_SECRET_LEN {
                warnings.push(format!(
                    "value of {name} is shorter than {MIN_SECRET_LEN} bytes; not redacted"
                ));
                continue;
            }
            let label = labels.len() as u32;
            labels.push(make_label(name));
            for form in forms(v) {
                if form.len() < MIN_SECRET_LEN || form.contains(&b'\n') {
                    continue;
                }
                if patterns.iter().any(|p| p.as_slice() == form.as_slice()) {
                    continue;
                }
                patterns.push(form);
                pattern_label.push(label);
            }
        }
        let build = |kind, automaton| {
            AhoCorasick::builder()
                .match_kind(kind)
                .kind(automaton)
                .build(patterns.iter().map(|p| p.as_slice()))
        };
        let (fast, ac) = if patterns.is_empty() {
            (None, None)
        } else {
            // the overlapping search runs only on lines that matched: a contiguous
            // NFA is cheap to build and fast enough there
            match (
                build(MatchKind::LeftmostFirst, None),
                build(MatchKind::Standard, Some(AhoCorasickKind::ContiguousNFA)),
            ) {
                (Ok(f), Ok(a)) => (Some(f), Some(a)),
                _ => {
                    warnings.push(
                        "could not build the redaction automaton; values not redacted".into(),
                    );
                    (None, None)
                }
            }
        };
        (
            Self {
                fast,
                ac,
                pattern_label,
                labels,
            },
            warnings,
        )
    }

    /// A redactor that redacts nothing (`--no-redact`).
    pub fn disabled() -> Self {
        Self {
            fast: None,
            ac: None,
            pattern_label: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Whether any value is being redacted.
    pub fn is_active(&self) -> bool {
        self.ac.is_some()
    }

    /// Whether `hay` holds any form of any value (the fast-path test).
    #[inline]
    pub fn matches(&self, hay: &[u8]) -> bool {
        match &self.fast {
            Some(ac) => ac.is_match(hay),
            None => false,
        }
    }

    /// Rewrites `line` into `out` (cleared first) if it holds a value; returns
    /// whether it did. When it returns false, `out` is untouched.
    pub fn redact(&self, line: &[u8], mode: Mode, out: &mut Vec<u8>) -> bool {
        let Some(ac) = &self.ac else { return false };
        if !self.matches(line) {
            return false;
        }
        let mut spans: Vec<Span> = ac
            .find_overlapping_iter(line)
            .map(|m| Span {
                start: m.start(),
                end: m.end(),
                label: self
                    .pattern_label
                    .get(m.pattern().as_usize())
                    .copied()
                    .unwrap_or(0),
            })
            .collect();
        if spans.is_empty() {
            return false;
        }
        spans.sort_unstable_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
        for s in spans {
            match merged.last_mut() {
                Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
                _ => merged.push(s),
            }
        }
        let json = match mode {
            Mode::Plain => false,
            Mode::Json => true,
            Mode::Auto => serde_json::from_slice::<serde::de::IgnoredAny>(line).is_ok(),
        };
        out.clear();
        out.reserve(line.len());
        if json {
            self.redact_json(line, &merged, out);
        } else {
            let mut last = 0;
            for s in &merged {
                out.extend_from_slice(&line[last..s.start]);
                out.extend_from_slice(&self.label(s.label).plain);
                last = s.end;
            }
            out.extend_from_slice(&line[last..]);
        }
        true
    }

    fn label(&self, i: u32) -> &Label {
        // Labels exist for every pattern; index 0 exists whenever the automaton does.
        &self.labels[(i as usize).min(self.labels.len().saturating_sub(1))]
    }

    fn redact_json(&self, line: &[u8], spans: &[Span], out: &mut Vec<u8>) {
        let n = line.len();
        let mut last = 0usize; // line[..last] is already emitted or replaced
        let mut si = 0usize;
        let mut i = 0usize;
        while i < n && si < spans.len() {
            match line[i] {
                b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'[' | b']' | b',' | b':' => i += 1,
                b'"' => {
                    let cs = i + 1;
                    let ce = string_end(line, cs);
                    while si < spans.len() && spans[si].end <= cs {
                        si += 1;
                    }
                    let mut cursor = cs; // always at a unit boundary inside the string
                    let mut k = si;
                    while k < spans.len() && spans[k].start < ce {
                        let s = spans[k];
                        let a = s.start.max(cs);
                        let e = s.end.min(ce);
                        // widen to unit boundaries
                        while cursor < a {
                            let u = unit_len(line, cursor, ce);
                            if cursor + u > a {
                                break;
                            }
                            cursor += u;
                        }
                        let a = cursor.max(last);
                        while cursor < e {
                            cursor += unit_len(line, cursor, ce);
                        }
                        let e = cursor.min(ce);
                        if e > a {
                            out.extend_from_slice(&line[last..a]);
                            out.extend_from_slice(&self.label(s.label).json);
                            last = e;
                        }
                        k += 1;
                    }
                    i = ce + 1;
                }
                _ => {
                    let ts = i;
                    let mut te = i;
                    while te < n
                        && !matches!(
                            line[te],
                            b' ' | b'\t'
                                | b'\r'
                                | b'\n'
                                | b','
                                | b':'
                                | b']'
                                | b'}'
                                | b'['
                                | b'{'
                                | b'"'
                        )
                    {
                        te += 1;
                    }
                    let te = te.max(ts + 1);
                    while si < spans.len() && spans[si].end <= ts {
                        si += 1;
                    }
                    if si < spans.len() && spans[si].start < te && ts >= last {
                        let label = spans[si].label;
                        out.extend_from_slice(&line[last..ts]);
                        out.push(b'"');
                        out.extend_from_slice(&self.label(label).json);
                        out.push(b'"');
                        last = te;
                    }
                    i = te;
                }
            }
            while si < spans.len() && spans[si].end <= i {
                si += 1;
            }
        }
        out.extend_from_slice(&line[last.min(n)..]);
    }
}

/// Index of the closing quote of the string whose content starts at `cs` (or `line.len()`).
fn string_end(line: &[u8], cs: usize) -> usize {
    let mut j = cs;
    while j < line.len() {
        match line[j] {
            b'"' => return j,
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    line.len()
}

/// Length of the unit (escape sequence, surrogate pair, UTF-8 character) at `p`.
fn unit_len(line: &[u8], p: usize, end: usize) -> usize {
    let b = line[p];
    let len = if b == b'\\' {
        if line.get(p + 1) == Some(&b'u') {
            let hi = parse_hex4(line.get(p + 2..p + 6));
            let is_pair = matches!(hi, Some(0xD800..=0xDBFF))
                && line.get(p + 6) == Some(&b'\\')
                && line.get(p + 7) == Some(&b'u')
                && matches!(parse_hex4(line.get(p + 8..p + 12)), Some(0xDC00..=0xDFFF));
            if is_pair { 12 } else { 6 }
        } else {
            2
        }
    } else if b < 0x80 {
        1
    } else {
        // a lead byte and its continuation bytes
        let mut l = 1;
        while p + l < end && (line[p + l] & 0xC0) == 0x80 && l < 4 {
            l += 1;
        }
        l
    };
    len.min(end - p).max(1)
}

fn parse_hex4(b: Option<&[u8]>) -> Option<u16> {
    let s = std::str::from_utf8(b?).ok()?;
    u16::from_str_radix(s, 16).ok()
}

fn make_label(name: &str) -> Label {
    let plain: String = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let plain = format!("[REDACTED:{plain}]");
    let quoted = serde_json::to_string(&plain).unwrap_or_else(|_| "\"[REDACTED]\"".into());
    let json = quoted
        .get(1..quoted.len().saturating_sub(1))
        .unwrap_or("[REDACTED]")
        .as_bytes()
        .into();
    Label {
        plain: plain.into_bytes().into(),
        json,
    }
}

/// Every encoded form of `v` that the redactor looks for (may hold duplicates).
fn forms(v: &[u8]) -> Vec<Zeroizing<Vec<u8>>> {
    let mut out: Vec<Zeroizing<Vec<u8>>> = Vec::new();
    let z = |v: Vec<u8>| Zeroizing::new(v);
    out.push(z(v.to_vec()));
    // JSON string escapes
    let utf8 = std::str::from_utf8(v).is_ok();
    let minimal = z(json_escape(v, Escape::Minimal));
    out.push(z(json_escape(&minimal, Escape::Minimal)));
    out.push(minimal);
    out.push(z(json_escape(v, Escape::Slash)));
    if utf8 {
        out.push(z(json_escape(v, Escape::AsciiLower)));
        out.push(z(json_escape(v, Escape::AsciiUpper)));
    }
    // base64: whole encodings, then the stable middle at each stream alignment
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        out.push(z(engine.encode(v).into_bytes()));
    }
    for shift in 0..3usize {
        let mut shifted = Zeroizing::new(vec![0u8; shift]);
        shifted.extend_from_slice(v);
        let first = (8 * shift).div_ceil(6);
        let last = 8 * shifted.len() / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let enc = Zeroizing::new(engine.encode(shifted.as_slice()).into_bytes());
            if let Some(mid) = enc.get(first..last) {
                out.push(z(mid.to_vec()));
            }
        }
    }
    // percent-encoding
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
    let component = |b: u8| unreserved(b) || matches!(b, b'!' | b'\'' | b'(' | b')' | b'*');
    let form = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_');
    let path = |b: u8| unreserved(b) || b == b'/';
    out.push(z(percent(v, &unreserved, true, false)));
    out.push(z(percent(v, &unreserved, false, false)));
    out.push(z(percent(v, &path, true, false)));
    out.push(z(percent(v, &component, true, false)));
    out.push(z(percent(v, &form, true, true)));
    out.push(z(percent(v, &|_| false, true, false)));
    // hex
    out.push(z(hex::encode(v).into_bytes()));
    out.push(z(hex::encode_upper(v).into_bytes()));
    // each line of a multi-line value (PEM keys), since lines are matched one at a time
    if v.contains(&b'\n') {
        for part in v.split(|&b| b == b'\n') {
            let part = part.strip_suffix(b"\r").unwrap_or(part);
            if part.len() >= MIN_FRAGMENT_LEN {
                out.push(z(part.to_vec()));
                let esc = z(json_escape(part, Escape::Minimal));
                out.push(esc);
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// serde_json / JavaScript: `"`, `\`, control characters.
    Minimal,
    /// Minimal plus `\/`.
    Slash,
    /// Python `ensure_ascii`: also everything above 0x7e as `\uxxxx`.
    AsciiLower,
    /// The same with upper-case hex digits (some Java serializers).
    AsciiUpper,
}

fn json_escape(v: &[u8], style: Escape) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() + 8);
    let upper = style == Escape::AsciiUpper;
    let ascii = matches!(style, Escape::AsciiLower | Escape::AsciiUpper);
    let push_u = |out: &mut Vec<u8>, u: u16| {
        let s = if upper {
            format!("\\u{u:04X}")
        } else {
            format!("\\u{u:04x}")
        };
        out.extend_from_slice(s.as_bytes());
    };
    let mut i = 0;
    while i < v.len() {
        let b = v[i];
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'/' if style == Escape::Slash => out.extend_from_slice(b"\\/"),
            0..=0x1f => push_u(&mut out, b as u16),
            0x7f if ascii => push_u(&mut out, 0x7f),
            0x80.. if ascii => {
                // decode one UTF-8 character (the caller checked validity)
                let len = match b {
                    0xF0.. => 4,
                    0xE0.. => 3,
                    _ => 2,
                };
                let ch = v
                    .get(i..i + len)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .and_then(|s| s.chars().next());
                match ch {
                    Some(c) => {
                        let mut buf = [0u16; 2];
                        for u in c.encode_utf16(&mut buf) {
                            push_u(&mut out, *u);
                        }
                        i += len;
                        continue;
                    }
                    None => out.push(b),
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out
}

fn percent(v: &[u8], keep: &dyn Fn(u8) -> bool, upper: bool, plus_space: bool) -> Vec<u8> {
    const UP: &[u8; 16] = b"0123456789ABCDEF";
    const LO: &[u8; 16] = b"0123456789abcdef";
    let digits = if upper { UP } else { LO };
    let mut out = Vec::with_capacity(v.len() * 3);
    for &b in v {
        if plus_space && b == b' ' {
            out.push(b'+');
        } else if keep(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', digits[(b >> 4) as usize], digits[(b & 15) as usize]]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "s3cr3t-Canary_Value/with+chars=é\"";

    fn redactor(v: &str) -> Redactor {
        Redactor::new(&[("API_KEY".into(), SecretValue::from_slice(v.as_bytes()))]).0
    }

    fn red(r: &Redactor, line: &[u8], mode: Mode) -> Vec<u8> {
        let mut out = Vec::new();
        if r.redact(line, mode, &mut out) {
            out
        } else {
            line.to_vec()
        }
    }

    fn json_line(s: &str) -> Vec<u8> {
        let mut v = serde_json::to_vec(&serde_json::json!({"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text": s}]}}))
            .expect("json");
        v.push(b'\n');
        v
    }

    fn assert_clean(out: &[u8], v: &[u8]) {
        for f in forms(v) {
            if f.len() >= MIN_SECRET_LEN && !f.contains(&b'\n') {
                assert!(
                    !out.windows(f.len()).any(|w| w == f.as_slice()),
                    "form {:?} left in {:?}",
                    String::from_utf8_lossy(&f),
                    String::from_utf8_lossy(out)
                );
            }
        }
    }

    #[test]
    fn short_values_warn_by_name_only() {
        let (r, w) = Redactor::new(&[("SHORT".into(), SecretValue::from_slice(b"abc12"))]);
        assert!(!r.is_active());
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("SHORT") && !w[0].contains("abc12"));
    }

    #[test]
    fn every_form_is_redacted_inside_json_and_stays_valid() {
        let r = redactor(CANARY);
        let v = CANARY.as_bytes();
        let mut texts: Vec<String> = vec![
            CANARY.into(),
            STANDARD.encode(v),
            STANDARD_NO_PAD.encode(v),
            URL_SAFE.encode(v),
            URL_SAFE_NO_PAD.encode(v),
            hex::encode(v),
            hex::encode_upper(v),
            String::from_utf8(percent(
                v,
                &|b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b),
                true,
                false,
            ))
            .expect("ascii"),
            String::from_utf8(percent(v, &|_| false, true, false)).expect("ascii"),
            serde_json::to_string(CANARY).expect("json"), // embedded JSON text: escaped twice on the wire
        ];
        // base64 of the value at each alignment inside a larger blob
        for pre in ["", "x", "xy"] {
            texts.push(STANDARD.encode(format!("{pre}token={CANARY};more").as_bytes()));
        }
        for t in &texts {
            let line = json_line(&format!("before {t} after"));
            let out = red(&r, &line, Mode::Auto);
            assert_ne!(out, line, "form not found: {t}");
            assert_clean(&out, v);
            let parsed: serde_json::Value = serde_json::from_slice(&out).expect("still JSON");
            let text = parsed["result"]["content"][0]["text"]
                .as_str()
                .expect("text");
            assert!(text.contains("[REDACTED:API_KEY]"), "{text}");
            assert!(out.ends_with(b"\n"));
        }
    }

    #[test]
    fn python_style_ascii_escapes_and_slash_escapes() {
        let r = redactor(CANARY);
        for style in [Escape::AsciiLower, Escape::AsciiUpper, Escape::Slash] {
            let esc = String::from_utf8(json_escape(CANARY.as_bytes(), style)).expect("ascii");
            let line = format!("{{\"id\":1,\"result\":\"x{esc}y\"}}\n");
            let out = red(&r, line.as_bytes(), Mode::Auto);
            let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
            assert_eq!(v["result"], "x[REDACTED:API_KEY]y");
        }
    }

    #[test]
    fn match_inside_escape_is_widened() {
        // value starts with the letter of an escape sequence: `\n` + "abcdef1"
        let r = redactor("nabcdef1");
        let line = b"{\"a\":\"x\\nabcdef1\\u00e9\"}\n";
        let out = red(&r, line, Mode::Auto);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["a"], "x[REDACTED:API_KEY]\u{e9}");
    }

    #[test]
    fn surrogate_pairs_are_not_split() {
        let r = redactor("\u{1F600}abcdef");
        let esc = "\\ud83d\\ude00abcdef";
        let line = format!("{{\"a\":\"{esc}\"}}");
        let out = red(&r, line.as_bytes(), Mode::Auto);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["a"], "[REDACTED:API_KEY]");
        // a match that starts at the low half widens to the pair
        let r = redactor("\\ude00abc");
        let out = red(&r, line.as_bytes(), Mode::Json);
        serde_json::from_slice::<serde_json::Value>(&out).expect("valid");
    }

    #[test]
    fn numbers_and_structure() {
        let r = redactor("12345678");
        let out = red(&r, b"{\"id\":12345678,\"n\":[1123456789]}\n", Mode::Auto);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["id"], "[REDACTED:API_KEY]");
        assert_eq!(v["n"][0], "[REDACTED:API_KEY]");
        // a value holding JSON structure, embedded structurally
        let r = redactor("a\",\"b\":\"c");
        let out = red(&r, b"{\"x\":\"a\",\"b\":\"c\"}", Mode::Auto);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert!(
            !String::from_utf8_lossy(&out).contains("a\",\"b\":\"c"),
            "{v}"
        );
    }

    #[test]
    fn plain_lines_and_non_json() {
        let r = redactor(CANARY);
        let line = format!("error: token {CANARY} rejected\n");
        let out = red(&r, line.as_bytes(), Mode::Plain);
        assert_eq!(out, b"error: token [REDACTED:API_KEY] rejected\n");
        let out = red(&r, line.as_bytes(), Mode::Auto);
        assert_eq!(out, b"error: token [REDACTED:API_KEY] rejected\n");
    }

    #[test]
    fn multi_line_values_are_caught_line_by_line() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7\n-----END KEY-----\n";
        let r = redactor(pem);
        let out = red(
            &r,
            b"stderr: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n",
            Mode::Plain,
        );
        assert_eq!(out, b"stderr: [REDACTED:API_KEY]\n");
        let line = json_line(pem);
        let out = red(&r, &line, Mode::Auto);
        assert!(!String::from_utf8_lossy(&out).contains("MIIEvQ"));
        serde_json::from_slice::<serde_json::Value>(&out).expect("valid");
    }

    #[test]
    fn labels_are_json_safe() {
        let (r, _) =
            Redactor::new(&[("we\"ird\nname".into(), SecretValue::from_slice(b"abcdefgh"))]);
        let out = red(&r, b"{\"a\":\"abcdefgh\"}", Mode::Auto);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["a"], "[REDACTED:we\"ird?name]");
        let out = red(&r, b"abcdefgh\n", Mode::Plain);
        assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1);
    }

    #[test]
    fn trailing_newline_in_value_never_eats_the_frame() {
        let r = redactor("abcdefgh\n");
        let out = red(&r, b"{\"a\":\"abcdefgh\"}\n", Mode::Auto);
        assert!(out.ends_with(b"\n"));
    }

    #[test]
    fn no_match_means_untouched() {
        let r = redactor(CANARY);
        let mut out = b"keep".to_vec();
        assert!(!r.redact(b"{\"a\":\"nothing here\"}\n", Mode::Auto, &mut out));
        assert_eq!(out, b"keep");
    }
}
