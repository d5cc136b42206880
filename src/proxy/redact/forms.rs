//! The byte patterns that stand for one injected value.
//!
//! Owns which spellings of a value are searched for as bytes: the value
//! itself (and, for a value stored with a trailing newline, the value without
//! it), `+` for space (HTML form encoding), base64 in both alphabets (whole, and
//! the stable middle at each of the three stream alignments, so a value inside
//! a larger encoded blob is found), hex in both cases, and each line of a
//! multi-line value. Spellings a producer varies character by character (JSON
//! escapes, percent-encoding, line wrapping) are not enumerated here: the
//! decoded views (`views.rs`) undo them before these patterns are searched.
//!
//! Also owns the base64 streams (the stable middles) that `wrapped.rs` matches
//! across line ends. It must not search, log or keep values beyond the
//! zeroizing buffers it returns.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

/// Values (after trimming a trailing newline) shorter than this are not redacted.
pub const MIN_SECRET_LEN: usize = 6;
/// Lines of a multi-line value shorter than this are not matched on their own.
const MIN_FRAGMENT_LEN: usize = 8;

type Bytes = Zeroizing<Vec<u8>>;

/// The spellings of one value.
pub(super) struct Forms {
    /// Searched for as bytes in the line and in each decoded view.
    pub patterns: Vec<Bytes>,
    /// Base64 stable middles, matched across line ends by `wrapped.rs`.
    pub streams: Vec<Bytes>,
}

/// The value without its trailing line ending (`\n`, `\r\n`, repeated), as a
/// `file://` mount or `secret set --keep-newline` stores it.
pub(super) fn trimmed(v: &[u8]) -> &[u8] {
    let mut end = v.len();
    while end > 0 && matches!(v[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &v[..end]
}

/// Every spelling of `v` the redactor looks for (deduplicated, each at least
/// [`MIN_SECRET_LEN`] bytes). The caller has checked `trimmed(v)` is long enough.
pub(super) fn forms(v: &[u8]) -> Forms {
    let mut f = Forms {
        patterns: Vec::new(),
        streams: Vec::new(),
    };
    spellings(v, &mut f);
    let short = trimmed(v);
    if short.len() != v.len() {
        spellings(short, &mut f);
    }
    f.patterns
        .retain(|p| p.len() >= MIN_SECRET_LEN && !p.iter().all(|&b| b == b'\n' || b == b'\r'));
    dedup(&mut f.patterns);
    dedup(&mut f.streams);
    f
}

fn dedup(list: &mut Vec<Bytes>) {
    let mut kept: Vec<Bytes> = Vec::with_capacity(list.len());
    for p in list.drain(..) {
        if !kept.iter().any(|k| k.as_slice() == p.as_slice()) {
            kept.push(p);
        }
    }
    *list = kept;
}

fn spellings(w: &[u8], f: &mut Forms) {
    let z = |v: Vec<u8>| Zeroizing::new(v);
    f.patterns.push(z(w.to_vec()));
    if w.contains(&b' ') {
        // HTML form encoding (`quote_plus`, `URLSearchParams`, Java's
        // URLEncoder): the percent view decodes `%XX` but keeps `+`.
        f.patterns.push(z(w
            .iter()
            .map(|&b| if b == b' ' { b'+' } else { b })
            .collect()));
    }
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        f.patterns.push(z(engine.encode(w).into_bytes()));
    }
    for shift in 0..3usize {
        let mut shifted = Zeroizing::new(vec![0u8; shift]);
        shifted.extend_from_slice(w);
        let first = (8 * shift).div_ceil(6);
        let last = 8 * shifted.len() / 6;
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            let enc = Zeroizing::new(engine.encode(shifted.as_slice()).into_bytes());
            if let Some(mid) = enc.get(first..last) {
                f.patterns.push(z(mid.to_vec()));
                f.streams.push(z(mid.to_vec()));
            }
        }
    }
    f.patterns.push(z(hex::encode(w).into_bytes()));
    f.patterns.push(z(hex::encode_upper(w).into_bytes()));
    // each line of a multi-line value (PEM keys): raw lines are framed one at a time
    if w.contains(&b'\n') {
        for part in w.split(|&b| b == b'\n') {
            let part = part.strip_suffix(b"\r").unwrap_or(part);
            if part.len() >= MIN_FRAGMENT_LEN {
                f.patterns.push(z(part.to_vec()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(f: &Forms, p: &[u8]) -> bool {
        f.patterns.iter().any(|x| x.as_slice() == p)
    }

    #[test]
    fn a_trailing_newline_adds_the_value_without_it() {
        let f = forms(b"abcdefg\n");
        assert!(has(&f, b"abcdefg\n"));
        assert!(has(&f, b"abcdefg"));
        assert!(has(&f, STANDARD.encode(b"abcdefg").as_bytes()));
        assert!(has(&f, hex::encode(b"abcdefg").as_bytes()));
        let f = forms(b"abcdefg\r\n");
        assert!(has(&f, b"abcdefg"));
    }

    #[test]
    fn spaces_also_as_plus() {
        let f = forms(b"pass phrase 1");
        assert!(has(&f, b"pass+phrase+1"));
    }

    #[test]
    fn no_duplicates_and_no_short_forms() {
        let f = forms(b"abcdef");
        let mut seen = std::collections::HashSet::new();
        for p in &f.patterns {
            assert!(p.len() >= MIN_SECRET_LEN);
            assert!(seen.insert(p.to_vec()));
        }
        assert!(!f.streams.is_empty());
    }
}
