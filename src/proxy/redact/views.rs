//! Decoded views of a line: undoing what a producer may vary when it writes a
//! string, so a value is found however it was spelled.
//!
//! Owns two decodings, each with a way back from a decoded range to the bytes
//! that produced it, applied in the order producers apply their encodings
//! in reverse:
//! - JSON string escapes (`\"`, `\/`, `\n`, `\u0026`, surrogate pairs, ...)
//!   over the whole text, so keys, values and JSON inside JSON strings
//!   (stacked escapes) are decoded: the line, then up to [`MAX_UNESCAPE`]
//!   levels;
//! - at each of those levels, the innermost encodings: percent-encoding
//!   (`%XX`, either case; twice for `%252B`) together with the line breaks
//!   inside wrapped base64 (76-column MIME, GNU `base64`, PEM), and JSON
//!   escapes once more below them (JSON carried in a URL parameter).
//!
//! Each decoding is applied to a window around its first and last trigger,
//! widened by [`MARGIN`] longest patterns, only where it changes something; at most
//! [`MAX_VIEWS`] views are built for a line, however it is written. A match in a view is mapped
//! back through every decoding to whole units of the line (an escape sequence,
//! a `%XX`, a byte), so a replacement never splits one. It must not decide how
//! a line is rewritten (`rewrite.rs` does).

use std::borrow::Cow;

use memchr::{memchr, memchr2, memchr2_iter, memrchr};

use super::{Redactor, Span};

/// JSON unescaping applied at most this many times (JSON in JSON in JSON).
const MAX_UNESCAPE: usize = 4;
/// Most views decoded for one line (besides the line itself).
const MAX_VIEWS: usize = 16;
/// How far (in longest patterns) a window reaches past its triggers: a value
/// percent-encoded twice below a JSON level is up to nine times its length
/// there, with only one JSON escape in it.
const MARGIN: usize = 9;
/// Base64 characters before a line break for the break to look like wrapping.
const WRAP_RUN: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    /// JSON string escapes.
    Unescape,
    /// `%XX` and the line breaks inside wrapped base64, in one pass.
    Inner,
}

/// One step of a decoding: bytes copied as they are, or one coded unit.
enum Unit {
    Run {
        start: usize,
        len: usize,
    },
    Coded {
        start: usize,
        len: usize,
        out: [u8; 4],
        out_len: usize,
    },
}

impl Transform {
    /// The start of the first and the end of the last unit this decoding
    /// may change, if any.
    fn triggers(self, text: &[u8]) -> Option<(usize, usize)> {
        let (first, last) = match self {
            Transform::Unescape => {
                memchr(b'\\', text).map(|f| (f, memrchr(b'\\', text).unwrap_or(f) + 12))
            }
            Transform::Inner => {
                let pct = memchr(b'%', text).map(|f| (f, memrchr(b'%', text).unwrap_or(f) + 3));
                let nl = memchr2(b'\n', b'\r', text)
                    .map(|f| (f, memchr::memrchr2(b'\n', b'\r', text).unwrap_or(f) + 2));
                [pct, nl]
                    .into_iter()
                    .flatten()
                    .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
            }
        }?;
        Some((first, last.min(text.len())))
    }

    /// Calls `f` with each unit of `text`, in order.
    fn units(self, text: &[u8], mut f: impl FnMut(Unit)) {
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let next = match self {
                Transform::Unescape => memchr(b'\\', rest),
                Transform::Inner => memchr2(b'%', b'\n', rest),
            };
            let Some(off) = next else {
                f(Unit::Run {
                    start: i,
                    len: rest.len(),
                });
                return;
            };
            let p = i + off;
            let (start, coded) = match (self, text[p]) {
                (Transform::Inner, b'%') => (p, pct_at(text, p).map(|b| (3, [b, 0, 0, 0], 1))),
                (Transform::Inner, _) => {
                    // a raw line break: dropped inside wrapped base64 (with its CR)
                    let start = if p > i && text[p - 1] == b'\r' {
                        p - 1
                    } else {
                        p
                    };
                    (
                        start,
                        wrapped_at(text, start).then_some((p + 1 - start, [0; 4], 0)),
                    )
                }
                (Transform::Unescape, _) => (p, unescape_at(text, p)),
            };
            if start > i {
                f(Unit::Run {
                    start: i,
                    len: start - i,
                });
            }
            match coded {
                Some((len, out, out_len)) => {
                    f(Unit::Coded {
                        start,
                        len,
                        out,
                        out_len,
                    });
                    i = start + len;
                }
                None => {
                    f(Unit::Run {
                        start,
                        len: p + 1 - start,
                    });
                    i = p + 1;
                }
            }
        }
    }

    fn decode(self, text: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len());
        self.units(text, |u| match u {
            Unit::Run { start, len } => out.extend_from_slice(&text[start..start + len]),
            Unit::Coded {
                out: o, out_len, ..
            } => out.extend_from_slice(&o[..out_len]),
        });
        out
    }

    /// Maps ranges of `decode(text)` back to ranges of `text` covering whole units.
    fn map_back(self, text: &[u8], ranges: &mut [Span]) {
        // (decoded position, which range, is it the range's start)
        let mut queries: Vec<(usize, usize, bool)> = Vec::with_capacity(ranges.len() * 2);
        for (i, r) in ranges.iter().enumerate() {
            queries.push((r.start, i, true));
            queries.push((r.end.saturating_sub(1).max(r.start), i, false));
        }
        queries.sort_unstable();
        let mut q = 0;
        let mut decoded = 0usize;
        self.units(text, |u| {
            let (width, start, len, coded) = match u {
                Unit::Run { start, len } => (len, start, len, false),
                Unit::Coded {
                    start,
                    len,
                    out_len,
                    ..
                } => (out_len, start, len, true),
            };
            while q < queries.len() && queries[q].0 < decoded + width {
                let (pos, i, is_start) = queries[q];
                let at = match (coded, is_start) {
                    (true, true) => start,
                    (true, false) => start + len,
                    (false, _) => start + (pos - decoded) + usize::from(!is_start),
                };
                if is_start {
                    ranges[i].start = at;
                } else {
                    ranges[i].end = at;
                }
                q += 1;
            }
            decoded += width;
        });
    }
}

/// The byte of a `%XX` escape at `p`, if there is one.
fn pct_at(text: &[u8], p: usize) -> Option<u8> {
    let hi = (*text.get(p + 1)? as char).to_digit(16)?;
    let lo = (*text.get(p + 2)? as char).to_digit(16)?;
    Some((hi * 16 + lo) as u8)
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// Whether the line break starting at `p` ends a run of base64 and another follows.
fn wrapped_at(text: &[u8], p: usize) -> bool {
    let run = text[..p].iter().rev().take_while(|&&b| is_b64(b)).count();
    let after = text[p..]
        .iter()
        .find(|&&b| b != b'\n' && b != b'\r')
        .copied();
    run >= WRAP_RUN && after.is_some_and(is_b64)
}

/// Whether the inner decoding changes `text`: a `%XX`, or a line break inside
/// wrapped base64.
fn needs_inner(text: &[u8]) -> bool {
    memchr::memchr_iter(b'%', text).any(|p| pct_at(text, p).is_some())
        || memchr2_iter(b'\n', b'\r', text).any(|p| wrapped_at(text, p))
}

/// The JSON escape at `p` (a backslash): (source length, UTF-8 bytes, their
/// count), or `None` when it is not a valid escape (then the backslash is kept).
fn unescape_at(text: &[u8], p: usize) -> Option<(usize, [u8; 4], usize)> {
    let one = |b: u8| Some((2, [b, 0, 0, 0], 1));
    match *text.get(p + 1)? {
        b'"' => one(b'"'),
        b'\\' => one(b'\\'),
        b'/' => one(b'/'),
        b'b' => one(0x08),
        b'f' => one(0x0c),
        b'n' => one(b'\n'),
        b'r' => one(b'\r'),
        b't' => one(b'\t'),
        b'u' => {
            let hi = hex4(text, p + 2)?;
            let (len, c) = if (0xD800..0xDC00).contains(&hi) {
                if text.get(p + 6) != Some(&b'\\') || text.get(p + 7) != Some(&b'u') {
                    return None;
                }
                let lo = hex4(text, p + 8)?;
                if !(0xDC00..0xE000).contains(&lo) {
                    return None;
                }
                let c = 0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00);
                (12, char::from_u32(c)?)
            } else {
                (6, char::from_u32(u32::from(hi))?)
            };
            let mut out = [0u8; 4];
            let n = c.encode_utf8(&mut out).len();
            Some((len, out, n))
        }
        _ => None,
    }
}

fn hex4(text: &[u8], at: usize) -> Option<u16> {
    let s = std::str::from_utf8(text.get(at..at + 4)?).ok()?;
    u16::from_str_radix(s, 16).ok()
}

/// One decoded view and how it hangs off its parent.
struct Node<'a> {
    text: Cow<'a, [u8]>,
    /// (parent index, offset of the decoded window in the parent, its length, decoding)
    from: Option<(usize, usize, usize, Transform)>,
}

/// Finds every match in the decoded views of `body` and appends it to `spans`
/// in `body`'s coordinates. Matches in `body` itself are the caller's.
pub(super) fn search(r: &Redactor, body: &[u8], spans: &mut Vec<Span>) {
    let mut nodes = vec![Node {
        text: Cow::Borrowed(body),
        from: None,
    }];
    // shallow first: at each JSON level, the innermost encodings below it,
    // then the next level; what lies below those comes last
    let mut at = 0;
    let mut inners = Vec::new();
    for depth in 0..=MAX_UNESCAPE {
        if needs_inner(&nodes[at].text)
            && let Some(inner) = grow(r, &mut nodes, at, Transform::Inner, spans)
        {
            inners.push(inner);
        }
        if depth == MAX_UNESCAPE {
            break;
        }
        match grow(r, &mut nodes, at, Transform::Unescape, spans) {
            Some(next) => at = next,
            None => break,
        }
    }
    for inner in inners {
        if needs_inner(&nodes[inner].text) {
            grow(r, &mut nodes, inner, Transform::Inner, spans);
        }
        grow(r, &mut nodes, inner, Transform::Unescape, spans);
    }
}

/// Adds the view of node `at` decoded by `t` and searches it; its index, or
/// `None` when `t` changes nothing there or the view budget is spent.
fn grow(
    r: &Redactor,
    nodes: &mut Vec<Node<'_>>,
    at: usize,
    t: Transform,
    spans: &mut Vec<Span>,
) -> Option<usize> {
    if nodes.len() > MAX_VIEWS {
        return None;
    }
    let child = step(r, nodes, at, t)?;
    nodes.push(child);
    let here = nodes.len() - 1;
    find(r, nodes, here, spans);
    Some(here)
}

/// Decodes a window of node `at` with `t`; `None` when nothing would change.
fn step<'a>(r: &Redactor, nodes: &[Node<'a>], at: usize, t: Transform) -> Option<Node<'a>> {
    let parent = &nodes[at].text;
    let (first, last) = t.triggers(parent)?;
    let margin = r.longest.saturating_mul(MARGIN);
    let lo = first.saturating_sub(margin);
    let hi = last.saturating_add(margin).min(parent.len());
    let window = &parent[lo..hi];
    let text = t.decode(window);
    if text == window {
        return None;
    }
    Some(Node {
        text: Cow::Owned(text),
        from: Some((at, lo, hi - lo, t)),
    })
}

fn find(r: &Redactor, nodes: &[Node<'_>], at: usize, spans: &mut Vec<Span>) {
    let mut found = r.find_all(&nodes[at].text);
    if !found.is_empty() {
        to_root(nodes, at, &mut found);
        spans.append(&mut found);
    }
}

/// Maps `ranges` of node `at` back to the line.
fn to_root(nodes: &[Node<'_>], mut at: usize, ranges: &mut [Span]) {
    while let Some((parent, offset, len, t)) = nodes[at].from {
        let window = &nodes[parent].text[offset..offset + len];
        t.map_back(window, ranges);
        for r in ranges.iter_mut() {
            r.start += offset;
            r.end += offset;
        }
        at = parent;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn back(t: Transform, text: &[u8], start: usize, end: usize) -> (usize, usize) {
        let mut r = [Span {
            start,
            end,
            label: 0,
        }];
        t.map_back(text, &mut r);
        (r[0].start, r[0].end)
    }

    #[test]
    fn unescape_decodes_every_json_escape() {
        let t = Transform::Unescape;
        let text = br#"a\u0026b\"\\\/\n\ud83d\ude00\u00E9\x"#;
        let d = t.decode(text);
        assert_eq!(d, "a&b\"\\/\n\u{1F600}\u{e9}\\x".as_bytes());
        // "&" maps to the whole `\u0026`
        assert_eq!(back(t, text, 1, 2), (1, 7));
        // the emoji (4 decoded bytes) maps to the whole surrogate pair
        assert_eq!(back(t, text, 7, 11), (16, 28));
        // a range inside the emoji still widens to the whole pair
        assert_eq!(back(t, text, 8, 9), (16, 28));
        // across the emoji and the next escape
        assert_eq!(back(t, text, 8, 12), (16, 34));
    }

    #[test]
    fn lone_surrogates_and_bad_escapes_stay() {
        let t = Transform::Unescape;
        assert_eq!(t.decode(br"\ud83dx\u12"), br"\ud83dx\u12");
    }

    #[test]
    fn the_order_producers_encode_in_is_undone() {
        // percent-encoded, then JSON-escaped twice (Go's \u0026 on the way)
        let r = crate::proxy::redact::Redactor::new(&[(
            "K".into(),
            crate::secret::SecretValue::from_slice(b"p@ss&<w>\\back"),
        )])
        .0;
        let line = br#"{"t":"{\"path\":\"p@ss\\u0026%3Cw%3E%5Cback\"}"}"#;
        let mut spans = Vec::new();
        search(&r, line, &mut spans);
        assert!(!spans.is_empty());
    }

    #[test]
    fn percent_any_case() {
        let t = Transform::Inner;
        assert_eq!(t.decode(b"a%2b%2Fc%zz%"), b"a+/c%zz%");
        assert_eq!(back(t, b"a%2b%2Fc", 1, 3), (1, 7));
    }

    #[test]
    fn unwrap_only_where_it_looks_wrapped() {
        let t = Transform::Inner;
        assert_eq!(
            t.decode(b"hello world\nsecond line"),
            b"hello world\nsecond line"
        );
        assert!(!needs_inner(b"hello world\nsecond line"));
        let text = b"QUJDREVGR0hJSktMTU5PUFFSU1RV\r\nVldYWVo=";
        assert!(t.triggers(text).is_some());
        assert_eq!(t.decode(text), b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=");
        // a range across the break maps over it
        assert_eq!(back(t, text, 26, 30), (26, 32));
    }
}
