//! The string literals of a document (values and keys) with their byte spans
//! and decoded values, and the raw bytes that spell a part of a decoded
//! value whatever escapes were used (`\u0073`, `\/`, `\x73`, `''`), for
//! masking secrets in text shown to people. Also the same alignment over a
//! whole text read as if it were one double-quoted string, for spellings
//! outside any literal (comments).
//!
//! Read-only: never edits, and never puts text or values in errors.

use std::ops::Range;

use super::text;
use super::tree::{Kind, Node, StrStyle};
use super::{EditError, Format};

/// One piece of a literal: raw bytes and the decoded bytes they produce.
#[derive(Clone)]
struct Unit {
    raw: Range<usize>,
    decoded: Range<usize>,
}

/// A string literal (or scalar) of the document.
pub struct Literal {
    /// The whole token in the document's bytes (quotes included).
    pub span: Range<usize>,
    /// Its decoded value.
    pub value: String,
    /// Between the quotes (the whole span for unquoted scalars).
    interior: Range<usize>,
    /// How the raw bytes align with the value; `None` when they cannot be
    /// aligned piece by piece (folded or block scalars).
    units: Option<Vec<Unit>>,
}

impl Literal {
    /// The bytes (in the document) that spell `range` of the decoded value:
    /// exactly, or the whole interior when the spelling cannot be aligned.
    pub fn raw_range(&self, range: Range<usize>) -> Range<usize> {
        self.units
            .as_deref()
            .and_then(|u| align(u, &range))
            .unwrap_or_else(|| self.interior.clone())
    }
}

/// Every string value, scalar and key of the document, in no set order.
pub fn literals(format: Format, bytes: &[u8]) -> Result<Vec<Literal>, EditError> {
    let (bom, text) = text::split_bom(bytes)?;
    let root = super::parse(format, text)?;
    let mut out = Vec::new();
    collect(&root, text, format, bom.len(), &mut out, 0);
    Ok(out)
}

fn collect(
    node: &Node,
    text: &str,
    format: Format,
    base: usize,
    out: &mut Vec<Literal>,
    depth: usize,
) {
    if depth > 512 {
        return;
    }
    match &node.kind {
        Kind::Str { value, style } => {
            if let Some(span) = &node.span {
                out.extend(literal(text, format, base, span, value, *style));
            }
        }
        Kind::Other { raw } => {
            if let Some(span) = &node.span {
                out.extend(literal(text, format, base, span, raw, StrStyle::Plain));
            }
        }
        Kind::Map { entries, .. } => {
            for e in entries {
                let style = match text.as_bytes().get(e.key_span.start) {
                    Some(b'"') => StrStyle::Double,
                    Some(b'\'') => StrStyle::Single,
                    _ => StrStyle::Plain,
                };
                out.extend(literal(text, format, base, &e.key_span, &e.key, style));
                collect(&e.value, text, format, base, out, depth + 1);
            }
        }
        Kind::Seq { items, .. } => {
            for n in items {
                collect(n, text, format, base, out, depth + 1);
            }
        }
        Kind::Alias => {}
    }
}

fn literal(
    text: &str,
    format: Format,
    base: usize,
    span: &Range<usize>,
    value: &str,
    style: StrStyle,
) -> Option<Literal> {
    let raw = text.get(span.clone())?;
    let quote = match style {
        StrStyle::Double => Some('"'),
        StrStyle::Single => Some('\''),
        StrStyle::Plain | StrStyle::Other => None,
    };
    let inner = match quote {
        Some(q) if raw.len() >= 2 && raw.starts_with(q) && raw.ends_with(q) => {
            span.start + 1..span.end - 1
        }
        _ => span.clone(),
    };
    let units = match style {
        StrStyle::Other => None,
        _ => text
            .get(inner.clone())
            .and_then(|t| units(t, inner.start + base, format, style))
            .filter(|(_, decoded)| decoded == value)
            .map(|(u, _)| u),
    };
    Some(Literal {
        span: span.start + base..span.end + base,
        value: value.to_owned(),
        interior: inner.start + base..inner.end + base,
        units,
    })
}

/// Splits the raw interior of a literal into pieces and decodes them; `None`
/// for a line break inside (folding or continuation lines) or an unknown escape.
fn units(raw: &str, base: usize, format: Format, style: StrStyle) -> Option<(Vec<Unit>, String)> {
    if raw.contains(['\n', '\r']) {
        return None;
    }
    let mut out = Vec::new();
    let mut decoded = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let (len, piece) = match style {
            StrStyle::Double if raw[i..].starts_with('\\') => escape(&raw[i..], format)?,
            StrStyle::Single if format == Format::Yaml && raw[i..].starts_with("''") => (2, '\''),
            _ => {
                let c = raw[i..].chars().next()?;
                (c.len_utf8(), c)
            }
        };
        let start = decoded.len();
        decoded.push(piece);
        out.push(Unit {
            raw: base + i..base + i + len,
            decoded: start..decoded.len(),
        });
        i += len;
    }
    Some((out, decoded))
}

/// One escape sequence at the start of `s`: its length and the character it stands for.
fn escape(s: &str, format: Format) -> Option<(usize, char)> {
    let b = s.as_bytes();
    let hex = |from: usize, n: usize| -> Option<u32> {
        let digits = s.get(from..from + n)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_hexdigit())
            .then(|| u32::from_str_radix(digits, 16).ok())
            .flatten()
    };
    let c = match b.get(1)? {
        b'u' => {
            let code = hex(2, 4)?;
            if (0xD800..0xDC00).contains(&code) && format == Format::Json {
                // A UTF-16 surrogate pair, as JSON writes characters beyond the BMP.
                if s.get(6..8)? != "\\u" {
                    return None;
                }
                let low = hex(8, 4)?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let c = char::from_u32(0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00))?;
                return Some((12, c));
            }
            return Some((6, char::from_u32(code)?));
        }
        b'U' => return Some((10, char::from_u32(hex(2, 8)?)?)),
        b'x' => return Some((4, char::from_u32(hex(2, 2)?)?)),
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' | b'\t' => '\t',
        b'e' => '\u{1b}',
        b'0' => '\0',
        b'a' => '\u{7}',
        b'v' => '\u{b}',
        b' ' => ' ',
        b'N' => '\u{85}',
        b'_' => '\u{a0}',
        b'L' => '\u{2028}',
        b'P' => '\u{2029}',
        _ => return None,
    };
    Some((2, c))
}

/// The raw range of decoded `range`, when it starts and ends on piece boundaries.
fn align(units: &[Unit], range: &Range<usize>) -> Option<Range<usize>> {
    let first = units.iter().position(|u| u.decoded.start == range.start)?;
    let last = units[first..]
        .iter()
        .position(|u| u.decoded.end == range.end)?;
    Some(units[first].raw.start..units[first + last].raw.end)
}

/// A whole text read as one double-quoted string: escapes decoded where they
/// are valid, every other byte kept. For finding escaped spellings anywhere
/// (comments, unparsed text).
pub struct Unescaped {
    pub text: String,
    /// Decoded and raw ranges of each escape, in order (bytes between them map one to one).
    escapes: Vec<Unit>,
}

impl Unescaped {
    pub fn new(raw: &str) -> Self {
        let mut text = String::with_capacity(raw.len());
        let mut escapes = Vec::new();
        let mut i = 0;
        while let Some(off) = raw[i..].find('\\') {
            let at = i + off;
            text.push_str(&raw[i..at]);
            match escape(&raw[at..], Format::Json).or_else(|| escape(&raw[at..], Format::Yaml)) {
                Some((len, c)) => {
                    let start = text.len();
                    text.push(c);
                    escapes.push(Unit {
                        raw: at..at + len,
                        decoded: start..text.len(),
                    });
                    i = at + len;
                }
                None => {
                    text.push('\\');
                    i = at + 1;
                }
            }
        }
        text.push_str(&raw[i..]);
        Self { text, escapes }
    }

    /// The raw range of decoded `range`, or `None` when it cuts an escape.
    pub fn raw_range(&self, range: Range<usize>) -> Option<Range<usize>> {
        Some(self.raw_at(range.start)?..self.raw_at(range.end)?)
    }

    fn raw_at(&self, d: usize) -> Option<usize> {
        // The last escape starting at or before `d`.
        let n = self.escapes.partition_point(|u| u.decoded.start <= d);
        let Some(prev) = n.checked_sub(1).map(|i| &self.escapes[i]) else {
            return Some(d);
        };
        if d == prev.decoded.start {
            return Some(prev.raw.start);
        }
        if d < prev.decoded.end {
            return None;
        }
        Some(prev.raw.end + (d - prev.decoded.end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(lits: &'a [Literal], value: &str) -> &'a Literal {
        lits.iter().find(|l| l.value == value).expect("literal")
    }

    #[test]
    fn escaped_spellings_align_with_their_decoded_text() {
        let doc = br#"{"a": "x \u0073k-AB\/C y", "k\u0065y": 1}"#;
        let lits = literals(Format::Json, doc).unwrap();
        let l = find(&lits, "x sk-AB/C y");
        let r = l.raw_range(2..9);
        assert_eq!(&doc[r], br"\u0073k-AB\/C");
        assert!(lits.iter().any(|l| l.value == "key"));

        let toml = b"a = \"\\u0073k-\\U00000041B\"\nb = 'lit'\n";
        let lits = literals(Format::Toml, toml).unwrap();
        let l = find(&lits, "sk-AB");
        assert_eq!(&toml[l.raw_range(0..5)], b"\\u0073k-\\U00000041B");

        let yaml = b"a: \"\\x73k-AB\"\nb: 'it''s sk'\nc: |\n  sk-AB\n";
        let lits = literals(Format::Yaml, yaml).unwrap();
        assert_eq!(&yaml[find(&lits, "sk-AB").raw_range(0..5)], b"\\x73k-AB");
        assert_eq!(&yaml[find(&lits, "it's sk").raw_range(2..7)], b"''s sk");
        // A block scalar cannot be aligned: its whole text is given.
        let block = find(&lits, "sk-AB\n");
        assert_eq!(block.raw_range(0..2), block.interior);
    }

    #[test]
    fn surrogate_pairs_and_a_whole_text() {
        let doc = r#"{"a": "\ud83d\ude00z"}"#.as_bytes();
        let lits = literals(Format::Json, doc).unwrap();
        let l = find(&lits, "\u{1F600}z");
        assert_eq!(&doc[l.raw_range(0..4)], br"\ud83d\ude00");

        let raw = r"// \u0073k-AB and \q sk-CD";
        let u = Unescaped::new(raw);
        assert_eq!(u.text, r"// sk-AB and \q sk-CD");
        let at = u.text.find("sk-AB").unwrap();
        assert_eq!(&raw[u.raw_range(at..at + 5).unwrap()], r"\u0073k-AB");
        let at = u.text.find("sk-CD").unwrap();
        assert_eq!(&raw[u.raw_range(at..at + 5).unwrap()], "sk-CD");
        // A range that starts inside an escape's output cannot be mapped.
        let u = Unescaped::new(r"\u00e9x");
        assert_eq!(u.raw_range(1..3), None);
        assert_eq!(u.raw_range(0..2), Some(0..6));
        let u = Unescaped::new(r"abé");
        assert_eq!(u.raw_range(0..2), Some(0..2));
    }
}
