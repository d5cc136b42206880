//! Newline-delimited framing: splitting a byte stream into whole lines.
//!
//! Owns [`LineReader`], a growable buffer that hands out complete lines (each with
//! its trailing `\n`, plus the unterminated tail at end of stream) without any
//! length limit, and [`find_newline`]. It must not interpret bytes: no JSON, no
//! redaction, no I/O of its own (the caller reads into [`LineReader::spare`] and
//! commits), so it can be driven by the async relays, tests and the fuzzer alike.
//!
//! Cost model: each byte is scanned for `\n` once (the scan resumes where it
//! stopped), the buffer grows by doubling, and compaction only happens when at
//! least half of the buffer is consumed, so a 50 MB line costs O(50 MB), not
//! O(n²). Memory is bounded by the longest line plus one read; after a long line
//! the buffer shrinks back.

use std::ops::Range;

/// Smallest read the reader offers to the caller.
const MIN_READ: usize = 16 * 1024;
/// A buffer larger than this is shrunk as soon as its long line is gone.
const SHRINK_AT_ONCE: usize = 16 * 1024 * 1024;
/// Otherwise it is shrunk after this many consecutive short lines.
const SHORT_RUN: u32 = 32;

/// Finds the first `\n` in `hay` (word-at-a-time scan).
pub fn find_newline(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    #[inline(always)]
    fn zero_byte(x: u64) -> u64 {
        x.wrapping_sub(LO) & !x & HI
    }
    let mut i = 0;
    let mut chunks = hay.chunks_exact(16);
    for chunk in &mut chunks {
        let (a, b) = chunk.split_at(8);
        let a = u64::from_le_bytes(<[u8; 8]>::try_from(a).unwrap_or_default()) ^ NL;
        let b = u64::from_le_bytes(<[u8; 8]>::try_from(b).unwrap_or_default()) ^ NL;
        let (za, zb) = (zero_byte(a), zero_byte(b));
        if za | zb != 0 {
            // The lowest flagged byte is always a real zero (borrows only travel upwards).
            return Some(if za != 0 {
                i + (za.trailing_zeros() / 8) as usize
            } else {
                i + 8 + (zb.trailing_zeros() / 8) as usize
            });
        }
        i += 16;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| i + p)
}

/// A buffer that yields whole lines from a stream of chunks.
///
/// Protocol: call [`next_line`](Self::next_line) until it returns `None`; then, unless
/// [`is_eof`](Self::is_eof), read into [`spare`](Self::spare) and [`commit`](Self::commit)
/// the count (or [`set_eof`](Self::set_eof) on a zero-byte read), and repeat.
#[derive(Debug)]
pub struct LineReader {
    buf: Vec<u8>,
    /// Start of the first byte not yet handed out.
    start: usize,
    /// Bytes `start..scanned` are known to hold no `\n`.
    scanned: usize,
    /// Bytes `..filled` hold data; the rest of `buf` is spare room.
    filled: usize,
    eof: bool,
    initial: usize,
    /// Consecutive lines shorter than an eighth of the buffer.
    short_lines: u32,
}

impl LineReader {
    /// A reader whose buffer starts at (and shrinks back to) `initial` bytes.
    pub fn new(initial: usize) -> Self {
        let initial = initial.max(MIN_READ);
        Self {
            buf: vec![0; initial],
            start: 0,
            scanned: 0,
            filled: 0,
            eof: false,
            initial,
            short_lines: 0,
        }
    }

    /// The next complete line (including its `\n`), or at end of stream the
    /// unterminated remainder. The range indexes [`bytes`](Self::bytes).
    pub fn next_line(&mut self) -> Option<Range<usize>> {
        if self.start == self.filled {
            return None;
        }
        match find_newline(&self.buf[self.scanned..self.filled]) {
            Some(p) => {
                let end = self.scanned + p + 1;
                let r = self.start..end;
                if r.len() <= self.buf.len() / 8 {
                    self.short_lines = self.short_lines.saturating_add(1);
                } else {
                    self.short_lines = 0;
                }
                self.start = end;
                self.scanned = end;
                Some(r)
            }
            None if self.eof => {
                let r = self.start..self.filled;
                self.start = self.filled;
                self.scanned = self.filled;
                Some(r)
            }
            None => {
                self.scanned = self.filled;
                None
            }
        }
    }

    /// The buffer the ranges from [`next_line`](Self::next_line) refer to.
    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    /// Whether the stream ended (and every byte was handed out once `next_line` is `None`).
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Marks the end of the stream: the remainder becomes the last line.
    pub fn set_eof(&mut self) {
        self.eof = true;
    }

    /// Bytes held that are not yet handed out (a partial line).
    pub fn pending(&self) -> usize {
        self.filled - self.start
    }

    /// Room to read into; never empty. Compacts or grows the buffer as needed
    /// (amortised O(1) per byte) and shrinks it after a long line.
    pub fn spare(&mut self) -> &mut [u8] {
        let live = self.filled - self.start;
        // Shrink back after a long line once it is gone: at once when the buffer is
        // huge, else after a run of short lines (so steady 1 MB traffic keeps its buffer).
        if self.buf.len() > 4 * self.initial
            && live <= self.buf.len() / 8
            && (self.buf.len() > SHRINK_AT_ONCE || self.short_lines >= SHORT_RUN)
        {
            self.short_lines = 0;
            self.compact();
            let keep = (live * 2).max(self.initial);
            self.buf.truncate(keep);
            self.buf.shrink_to(keep);
        }
        if self.buf.len() - self.filled < MIN_READ {
            if self.start > 0 && self.start >= self.buf.len() / 2 {
                self.compact();
            }
            if self.buf.len() - self.filled < MIN_READ {
                let new_len = (self.buf.len() * 2).max(self.filled + MIN_READ);
                self.buf.resize(new_len, 0);
            }
        }
        &mut self.buf[self.filled..]
    }

    /// Records that `n` bytes were read into [`spare`](Self::spare).
    pub fn commit(&mut self, n: usize) {
        self.filled = (self.filled + n).min(self.buf.len());
    }

    /// Copies `data` in (for callers that already hold the bytes: tests, the fuzzer).
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let spare = self.spare();
            let n = spare.len().min(data.len());
            spare[..n].copy_from_slice(&data[..n]);
            self.commit(n);
            data = &data[n..];
        }
    }

    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        self.buf.copy_within(self.start..self.filled, 0);
        self.filled -= self.start;
        self.scanned -= self.start;
        self.start = 0;
    }

    /// Current buffer size (for tests of the memory bound).
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut lr = LineReader::new(0);
        let mut out = Vec::new();
        for c in chunks {
            lr.push(c);
            while let Some(r) = lr.next_line() {
                out.push(lr.bytes()[r].to_vec());
            }
        }
        lr.set_eof();
        while let Some(r) = lr.next_line() {
            out.push(lr.bytes()[r].to_vec());
        }
        out
    }

    #[test]
    fn newline_finder_matches_naive() {
        let mut v = vec![b'a'; 100];
        assert_eq!(find_newline(&v), None);
        for i in 0..100 {
            v[i] = b'\n';
            assert_eq!(find_newline(&v), Some(i));
            // high bytes next to the newline must not confuse the word trick
            if i + 1 < 100 {
                v[i + 1] = 0x8b;
            }
            assert_eq!(find_newline(&v), Some(i));
            v[i] = 0x0b;
        }
        assert_eq!(find_newline(&[0x0b, 0x8a, 0x0a]), Some(2));
    }

    #[test]
    fn splits_lines_and_keeps_tail() {
        let got = split_all(&[b"ab\ncd", b"\n\nef"]);
        assert_eq!(
            got,
            vec![
                b"ab\n".to_vec(),
                b"cd\n".to_vec(),
                b"\n".to_vec(),
                b"ef".to_vec()
            ]
        );
    }

    #[test]
    fn long_line_is_linear_and_shrinks_after() {
        let mut lr = LineReader::new(0);
        let chunk = vec![b'x'; 4096];
        for _ in 0..(8 * 1024 * 1024 / 4096) {
            lr.push(&chunk);
            assert!(lr.next_line().is_none());
        }
        lr.push(b"\nshort\n");
        let r = lr.next_line().expect("long line");
        assert_eq!(r.len(), 8 * 1024 * 1024 + 1);
        assert!(lr.capacity() < 32 * 1024 * 1024);
        let r = lr.next_line().expect("short line");
        assert_eq!(&lr.bytes()[r], b"short\n");
        let _ = lr.spare();
        assert!(
            lr.capacity() > 8 * 1024 * 1024,
            "an 8 MB buffer is kept for a while"
        );
        for _ in 0..SHORT_RUN {
            lr.push(b"short\n");
            assert!(lr.next_line().is_some());
        }
        let _ = lr.spare();
        assert!(
            lr.capacity() <= 4 * MIN_READ,
            "buffer shrank: {}",
            lr.capacity()
        );
        // a huge line's buffer goes at once
        lr.push(&vec![b'x'; 20 * 1024 * 1024]);
        lr.push(b"\n");
        assert!(lr.next_line().is_some());
        let _ = lr.spare();
        assert!(
            lr.capacity() <= 4 * MIN_READ,
            "buffer shrank: {}",
            lr.capacity()
        );
    }

    proptest! {
        #[test]
        fn concatenation_is_identity(data in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..2000),
                                     cuts in proptest::collection::vec(0usize..2000, 0..20)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.sort_unstable();
            let mut chunks = Vec::new();
            let mut prev = 0;
            for c in cuts { chunks.push(&data[prev..c]); prev = c; }
            chunks.push(&data[prev..]);
            let lines = split_all(&chunks);
            prop_assert_eq!(lines.concat(), data.clone());
            for (i, l) in lines.iter().enumerate() {
                let nl = l.iter().filter(|&&b| b == b'\n').count();
                if i + 1 < lines.len() { prop_assert!(nl == 1 && l.ends_with(b"\n")); } else { prop_assert!(nl <= 1); }
            }
        }
    }
}
