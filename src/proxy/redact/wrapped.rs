//! Base64 of a value wrapped across lines of plain text (GNU `base64`, MIME,
//! Python's `encodebytes`, PEM), where no single line holds the whole encoding.
//!
//! Owns matching one line's edges against each value's base64 streams (the
//! stable middles from `forms.rs`): a line that ends with the start of a
//! stream, a line that starts with the end of one, and a line that lies wholly
//! inside one are redacted at those edges. Lines are framed one at a time and
//! already written when the next arrives, so each line is judged alone; an edge
//! shorter than [`MIN_EDGE`] characters (at most 5 bytes of a value) is not
//! matched, so chance matches of common words stay out.
//!
//! Knuth-Morris-Pratt failure tables make each edge check linear in the
//! stream's length. It must not look inside a line (the automaton does that).

use memchr::memmem;
use zeroize::Zeroizing;

use super::Span;

/// Shortest edge (in base64 characters) redacted on its own.
pub const MIN_EDGE: usize = 8;

struct Stream {
    text: Zeroizing<Vec<u8>>,
    /// The text reversed (for "a line starts with the end of the stream").
    rev: Zeroizing<Vec<u8>>,
    fail: Vec<u32>,
    rev_fail: Vec<u32>,
    label: u32,
}

/// Every value's base64 streams.
#[derive(Default)]
pub(super) struct Streams {
    items: Vec<Stream>,
    longest: usize,
}

impl Streams {
    pub fn add(&mut self, text: &[u8], label: u32) {
        if text.len() <= MIN_EDGE {
            return;
        }
        let rev: Zeroizing<Vec<u8>> = Zeroizing::new(text.iter().rev().copied().collect());
        self.longest = self.longest.max(text.len());
        self.items.push(Stream {
            fail: failure(text),
            rev_fail: failure(&rev),
            text: Zeroizing::new(text.to_vec()),
            rev,
            label,
        });
    }

    /// Appends the edges of `body` (a line without its terminator) that hold
    /// part of a stream.
    pub fn edges(&self, body: &[u8], spans: &mut Vec<Span>) {
        let end = body
            .iter()
            .rposition(|b| !b.is_ascii_whitespace())
            .map_or(0, |p| p + 1);
        let start = body
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .unwrap_or(end);
        if end < start + MIN_EDGE {
            return;
        }
        let text = &body[start..end];
        let tail_run = text.iter().rev().take_while(|&&b| is_b64(b)).count();
        let head_run = text.iter().take_while(|&&b| is_b64(b)).count();
        if tail_run < MIN_EDGE && head_run < MIN_EDGE {
            return;
        }
        for s in &self.items {
            let whole = head_run == text.len() && memmem::find(&s.text, text).is_some();
            if whole {
                spans.push(span(start, end, s.label));
                continue;
            }
            if tail_run >= MIN_EDGE {
                let tail = &text[text.len() - tail_run.min(s.text.len())..];
                let k = overlap(tail.iter().copied(), &s.text, &s.fail);
                if k >= MIN_EDGE {
                    spans.push(span(end - k, end, s.label));
                }
            }
            if head_run >= MIN_EDGE {
                let head = &text[..head_run.min(s.text.len())];
                let k = overlap(head.iter().rev().copied(), &s.rev, &s.rev_fail);
                if k >= MIN_EDGE {
                    spans.push(span(start, start + k, s.label));
                }
            }
        }
    }
}

fn span(start: usize, end: usize, label: u32) -> Span {
    Span { start, end, label }
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_' | b'=')
}

/// The KMP failure table of `p`: for each prefix, the length of its longest
/// proper border.
fn failure(p: &[u8]) -> Vec<u32> {
    let mut f = vec![0u32; p.len()];
    let mut k = 0usize;
    for i in 1..p.len() {
        while k > 0 && p[i] != p[k] {
            k = f[k - 1] as usize;
        }
        if p[i] == p[k] {
            k += 1;
        }
        f[i] = k as u32;
    }
    f
}

/// The length of the longest suffix of `hay` that is a proper prefix of `p`.
fn overlap(hay: impl Iterator<Item = u8>, p: &[u8], fail: &[u32]) -> usize {
    let mut k = 0usize;
    for b in hay {
        if k == p.len() {
            k = fail[k - 1] as usize;
        }
        while k > 0 && b != p[k] {
            k = fail[k - 1] as usize;
        }
        if b == p[k] {
            k += 1;
        }
    }
    if k == p.len() { 0 } else { k }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streams(s: &[u8]) -> Streams {
        let mut st = Streams::default();
        st.add(s, 0);
        st
    }

    fn found(st: &Streams, line: &[u8]) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        st.edges(line, &mut v);
        v.iter().map(|s| (s.start, s.end)).collect()
    }

    #[test]
    fn overlap_is_the_longest_border() {
        let p = b"abcabd";
        let f = failure(p);
        assert_eq!(overlap(b"xxabcab".iter().copied(), p, &f), 5);
        assert_eq!(overlap(b"xxabca".iter().copied(), p, &f), 4);
        assert_eq!(overlap(b"xxabcabd".iter().copied(), p, &f), 0);
    }

    #[test]
    fn each_edge_of_a_wrapped_stream() {
        let s = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0MTIzNDU2Nzg5";
        let st = streams(s);
        // a line ending with the stream's first 20 characters
        let line = [b"prefix stuff ".as_slice(), &s[..20]].concat();
        assert_eq!(found(&st, &line), vec![(13, 33)]);
        // a line starting with its last 12
        let line = [&s[s.len() - 12..], b"==".as_slice()].concat();
        assert_eq!(found(&st, &line), vec![(0, 12)]);
        // a line wholly inside it
        assert_eq!(found(&st, &s[5..30]), vec![(0, 25)]);
        // short edges and unrelated lines are left alone
        assert!(found(&st, &s[..6]).is_empty());
        assert!(found(&st, b"just some ordinary words here").is_empty());
    }
}
