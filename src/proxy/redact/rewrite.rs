//! Writing a line back with matched spans replaced by labels.
//!
//! Owns the two rewrites: plain (the matched bytes are replaced as they are)
//! and JSON-aware (only the bytes of string and scalar tokens are replaced,
//! widened to whole escape sequences and UTF-8 characters, a number becomes a
//! string, so the message stays valid JSON). Labels hold only characters that
//! need no escaping at any JSON nesting depth, so a replacement inside JSON
//! text stacked in a string keeps the inner text valid too. It must not
//! search for values (`mod.rs` and `views.rs` find the spans).

use super::Span;

/// Replaces each span of `line` with `label(span)`. `spans` are sorted and disjoint.
pub(super) fn plain<'l>(
    line: &[u8],
    spans: &[Span],
    label: impl Fn(u32) -> &'l [u8],
    out: &mut Vec<u8>,
) {
    let mut last = 0;
    for s in spans {
        out.extend_from_slice(&line[last..s.start]);
        out.extend_from_slice(label(s.label));
        last = s.end;
    }
    out.extend_from_slice(&line[last..]);
}

/// Replaces each span inside the string and scalar tokens of the JSON `line`.
/// `spans` are sorted and disjoint.
pub(super) fn json<'l>(
    line: &[u8],
    spans: &[Span],
    label: impl Fn(u32) -> &'l [u8],
    out: &mut Vec<u8>,
) {
    let mut w = Writer {
        line,
        spans,
        out,
        last: 0,
        si: 0,
    };
    let n = line.len();
    let mut i = 0usize;
    while i < n && w.si < spans.len() {
        match line[i] {
            b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'[' | b']' | b',' | b':' => i += 1,
            b'"' => {
                let cs = i + 1;
                let ce = string_end(line, cs);
                w.string(cs, ce, &label);
                i = ce + 1;
            }
            _ => {
                let te = scalar_end(line, i);
                w.scalar(i, te, &label);
                i = te;
            }
        }
        w.skip_before(i);
    }
    w.out.extend_from_slice(&line[w.last.min(n)..]);
}

struct Writer<'a> {
    line: &'a [u8],
    spans: &'a [Span],
    out: &'a mut Vec<u8>,
    /// `line[..last]` is already emitted or replaced.
    last: usize,
    /// The first span that may still matter.
    si: usize,
}

impl<'l> Writer<'_> {
    fn skip_before(&mut self, pos: usize) {
        while self.si < self.spans.len() && self.spans[self.si].end <= pos {
            self.si += 1;
        }
    }

    /// The string whose content is `line[cs..ce]`.
    fn string(&mut self, cs: usize, ce: usize, label: &impl Fn(u32) -> &'l [u8]) {
        self.skip_before(cs);
        let mut cursor = cs; // always at a unit boundary inside the string
        let mut k = self.si;
        while k < self.spans.len() && self.spans[k].start < ce {
            let s = self.spans[k];
            let (a, e) = (s.start.max(cs), s.end.min(ce));
            // widen to unit boundaries
            while cursor < a {
                let u = unit_len(self.line, cursor, ce);
                if cursor + u > a {
                    break;
                }
                cursor += u;
            }
            let a = cursor.max(self.last);
            while cursor < e {
                cursor += unit_len(self.line, cursor, ce);
            }
            let e = cursor.min(ce);
            if e > a {
                self.out.extend_from_slice(&self.line[self.last..a]);
                self.out.extend_from_slice(label(s.label));
                self.last = e;
            }
            k += 1;
        }
    }

    /// A number, `true`, `false` or `null` at `line[ts..te]`: replaced whole by a
    /// quoted label when a span touches it.
    fn scalar(&mut self, ts: usize, te: usize, label: &impl Fn(u32) -> &'l [u8]) {
        self.skip_before(ts);
        if self.si < self.spans.len() && self.spans[self.si].start < te && ts >= self.last {
            let l = self.spans[self.si].label;
            self.out.extend_from_slice(&self.line[self.last..ts]);
            self.out.push(b'"');
            self.out.extend_from_slice(label(l));
            self.out.push(b'"');
            self.last = te;
        }
    }
}

/// The end of the scalar token starting at `ts` (at least one byte).
fn scalar_end(line: &[u8], ts: usize) -> usize {
    let mut te = ts;
    while te < line.len()
        && !matches!(
            line[te],
            b' ' | b'\t' | b'\r' | b'\n' | b',' | b':' | b']' | b'}' | b'[' | b'{' | b'"'
        )
    {
        te += 1;
    }
    te.max(ts + 1)
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
