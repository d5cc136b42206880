//! Substitution between placeholders and real values, in place and streamed.
//!
//! Owns [`Swapper`] (both automata over a run's bindings), [`StreamSwap`]
//! (the same across chunk boundaries) and [`SwapBody`] (an HTTP body adapter
//! for the egress proxy). A placeholder and its real value have the same
//! length, so every replacement is in place and a body's length never changes.
//! It decides nothing about where a value may go: the caller says which
//! bindings may become real ([`Swapper::to_real`]'s `permit`). It must never
//! print a value (`Debug` shows variable names only) and must zeroize every
//! buffer it owns that may hold part of a real value.
//!
//! The automata keep their own copies of the patterns, which aho-corasick does
//! not zeroize; they live as long as the run.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use aho_corasick::{AhoCorasick, MatchKind};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use zeroize::Zeroizing;

use crate::secret::SecretValue;

/// One variable's placeholder (what the child holds) and real value.
#[derive(Clone)]
pub struct Binding {
    pub var: String,
    pub placeholder: SecretValue,
    pub real: SecretValue,
}

impl fmt::Debug for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding")
            .field("var", &self.var)
            .finish_non_exhaustive()
    }
}

/// Why a [`Swapper`] could not be built. Never carries a value.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    #[error("the placeholder for {var} is not as long as its real value")]
    LengthMismatch { var: String },
    #[error("the placeholder or real value for {var} is empty")]
    Empty { var: String },
    #[error("{var} is not a secretless variable")]
    Unknown { var: String },
    #[error("cannot build the substitution automaton: {0}")]
    Automaton(#[from] aho_corasick::BuildError),
}

/// Both substitution automata over a run's bindings (leftmost-longest).
/// Values a refresh replaced stay in `retired`: still masked in answers
/// (they are valid until they expire), never put into a request.
pub struct Swapper {
    bindings: Vec<Binding>,
    retired: Vec<Binding>,
    placeholders: AhoCorasick,
    reals: AhoCorasick,
    longest: usize,
}

impl fmt::Debug for Swapper {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Swapper")
            .field("vars", &self.vars().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// Which way a substitution goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToReal,
    ToPlaceholder,
}

impl Swapper {
    /// Builds the automata. Every binding's placeholder and real value must be
    /// non-empty and of the same length.
    pub fn new(bindings: Vec<Binding>) -> Result<Swapper, SwapError> {
        Self::with_retired(bindings, Vec::new())
    }

    fn with_retired(bindings: Vec<Binding>, retired: Vec<Binding>) -> Result<Swapper, SwapError> {
        for b in bindings.iter().chain(&retired) {
            if b.placeholder.is_empty() || b.real.is_empty() {
                return Err(SwapError::Empty { var: b.var.clone() });
            }
            if b.placeholder.len() != b.real.len() {
                return Err(SwapError::LengthMismatch { var: b.var.clone() });
            }
        }
        let build = |of: &mut dyn Iterator<Item = &[u8]>| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(of)
        };
        let placeholders = build(&mut bindings.iter().map(|b| b.placeholder.expose()))?;
        let reals = build(&mut bindings.iter().chain(&retired).map(|b| b.real.expose()))?;
        let longest = bindings.iter().map(|b| b.real.len()).max().unwrap_or(0);
        Ok(Swapper {
            bindings,
            retired,
            placeholders,
            reals,
            longest,
        })
    }

    /// The same bindings with `var`'s real value now `real` (a credential
    /// minted anew); the value it replaces is kept as retired (the last two
    /// per variable). The new value must be as long as the placeholder.
    pub fn refreshed(&self, var: &str, real: &SecretValue) -> Result<Swapper, SwapError> {
        let mut bindings = self.bindings.clone();
        let Some(b) = bindings.iter_mut().find(|b| b.var == var) else {
            return Err(SwapError::Unknown { var: var.into() });
        };
        if real.len() != b.placeholder.len() {
            return Err(SwapError::LengthMismatch { var: var.into() });
        }
        let old = std::mem::replace(&mut b.real, real.clone());
        let mut retired: Vec<Binding> = self.retired.clone();
        if let Some(first) = retired.iter().position(|r| r.var == var)
            && retired.iter().filter(|r| r.var == var).count() >= 2
        {
            retired.remove(first);
        }
        retired.push(Binding {
            var: var.into(),
            placeholder: b.placeholder.clone(),
            real: old,
        });
        Self::with_retired(bindings, retired)
    }

    /// The binding behind match `i` of the real-value automaton.
    fn of_real(&self, i: usize) -> &Binding {
        self.bindings
            .get(i)
            .unwrap_or_else(|| &self.retired[i - self.bindings.len()])
    }

    /// The bindings' variable names, in binding order.
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.bindings.iter().map(|b| b.var.as_str())
    }

    /// The length of the longest placeholder (and real value).
    pub fn longest(&self) -> usize {
        self.longest
    }

    /// Indices of bindings whose placeholder occurs in `bytes` (sorted, once each).
    pub fn placeholders_in(&self, bytes: &[u8]) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .placeholders
            .find_iter(bytes)
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Replaces, in place, placeholders of bindings for which `permit(i)` is
    /// true with their real values. Returns the indices replaced (sorted, once each).
    pub fn to_real(&self, bytes: &mut [u8], permit: &dyn Fn(usize) -> bool) -> Vec<usize> {
        let (mut done, _) = self.replace(Direction::ToReal, bytes, bytes.len(), permit);
        done.sort_unstable();
        done.dedup();
        done
    }

    /// Replaces every real value with its placeholder, in place. Returns the count.
    pub fn to_placeholder(&self, bytes: &mut [u8]) -> usize {
        self.replace(Direction::ToPlaceholder, bytes, bytes.len(), &|_| true)
            .0
            .len()
    }

    /// Replaces the matches that start before `limit` (for permitted
    /// bindings). Returns the binding of every replacement and the end of the
    /// last match seen (replaced or not), at least `limit`.
    fn replace(
        &self,
        direction: Direction,
        bytes: &mut [u8],
        limit: usize,
        permit: &dyn Fn(usize) -> bool,
    ) -> (Vec<usize>, usize) {
        let automaton = match direction {
            Direction::ToReal => &self.placeholders,
            Direction::ToPlaceholder => &self.reals,
        };
        let mut found = Vec::new();
        let mut end = limit;
        for m in automaton.find_iter(&*bytes) {
            if m.start() >= limit {
                break;
            }
            end = end.max(m.end());
            found.push((m.start(), m.pattern().as_usize()));
        }
        let mut done = Vec::new();
        for (start, i) in found {
            if !permit(i) {
                continue;
            }
            let with = match direction {
                Direction::ToReal => self.bindings[i].real.expose(),
                Direction::ToPlaceholder => self.of_real(i).placeholder.expose(),
            };
            bytes[start..start + with.len()].copy_from_slice(with);
            done.push(i);
        }
        (done, end)
    }
}

/// The run's current [`Swapper`], replaced whole when a credential is
/// minted anew; each request works on the one it started with.
#[derive(Debug)]
pub struct SwapCell(std::sync::RwLock<Arc<Swapper>>);

impl SwapCell {
    pub fn new(swapper: Swapper) -> Self {
        Self(std::sync::RwLock::new(Arc::new(swapper)))
    }

    pub fn current(&self) -> Arc<Swapper> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Puts `real` in `var`'s binding (see [`Swapper::refreshed`]).
    pub fn refresh(&self, var: &str, real: &SecretValue) -> Result<(), SwapError> {
        let mut slot = self.0.write().unwrap_or_else(|e| e.into_inner());
        let next = slot.refreshed(var, real)?;
        *slot = Arc::new(next);
        Ok(())
    }
}

/// Replacement across chunk boundaries: holds back at most `longest - 1`
/// bytes, and only the end of a chunk that is the start of a value the next
/// chunk may complete.
pub struct StreamSwap {
    swapper: Arc<Swapper>,
    direction: Direction,
    permitted: Vec<bool>,
    held: Zeroizing<Vec<u8>>,
    swapped: usize,
}

impl fmt::Debug for StreamSwap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamSwap")
            .field("direction", &self.direction)
            .field("held", &self.held.len())
            .field("swapped", &self.swapped)
            .finish_non_exhaustive()
    }
}

impl StreamSwap {
    /// Placeholders to real values, for the bindings `permitted[i]` allows
    /// (a missing entry is not permitted).
    pub fn to_real(swapper: Arc<Swapper>, permitted: Vec<bool>) -> Self {
        Self::new(swapper, Direction::ToReal, permitted)
    }

    /// Real values to placeholders, every binding.
    pub fn to_placeholder(swapper: Arc<Swapper>) -> Self {
        let all = vec![true; swapper.bindings.len() + swapper.retired.len()];
        Self::new(swapper, Direction::ToPlaceholder, all)
    }

    fn new(swapper: Arc<Swapper>, direction: Direction, permitted: Vec<bool>) -> Self {
        Self {
            swapper,
            direction,
            permitted,
            held: Zeroizing::new(Vec::new()),
            swapped: 0,
        }
    }

    /// Takes the next chunk; returns what can be passed on now. Only a tail
    /// that could still become a value is held back, so a stream of small
    /// messages (server-sent events, WebSocket frames) is never delayed by
    /// bytes that cannot be part of one.
    pub fn push(&mut self, chunk: &[u8]) -> Bytes {
        self.run(chunk, false)
    }

    /// [`push`](Self::push) for a chunk already in a `Bytes`: when nothing is
    /// held and the chunk holds no value, it is passed on as it is (a slice,
    /// no copy), keeping back only a tail that could start a value.
    pub fn push_bytes(&mut self, chunk: Bytes) -> Bytes {
        if !self.held.is_empty() || self.automaton().is_match(&chunk[..]) {
            return self.push(&chunk);
        }
        let keep = self.partial_tail(&chunk);
        if keep > 0 {
            self.held = Zeroizing::new(chunk[chunk.len() - keep..].to_vec());
        }
        chunk.slice(..chunk.len() - keep)
    }

    fn automaton(&self) -> &AhoCorasick {
        match self.direction {
            Direction::ToReal => &self.swapper.placeholders,
            Direction::ToPlaceholder => &self.swapper.reals,
        }
    }

    /// Ends the stream: returns everything held back, replaced.
    pub fn finish(&mut self) -> Bytes {
        self.run(&[], true)
    }

    /// The length of the longest end of `buf` that is the start (not all) of
    /// a value this stream replaces.
    fn partial_tail(&self, buf: &[u8]) -> usize {
        let retired = match self.direction {
            Direction::ToReal => &[][..],
            Direction::ToPlaceholder => &self.swapper.retired[..],
        };
        let patterns = self
            .swapper
            .bindings
            .iter()
            .chain(retired)
            .map(|b| match self.direction {
                Direction::ToReal => b.placeholder.expose(),
                Direction::ToPlaceholder => b.real.expose(),
            });
        let mut keep = 0;
        for p in patterns {
            let Some(&first) = p.first() else { continue };
            let from = buf.len().saturating_sub(p.len() - 1);
            let found = (from..buf.len())
                .find(|&i| buf[i] == first && p.starts_with(&buf[i..]))
                .map_or(0, |i| buf.len() - i);
            keep = keep.max(found);
        }
        keep
    }

    /// How many values were replaced so far.
    pub fn swapped(&self) -> usize {
        self.swapped
    }

    /// Bytes held back (a possible partial value).
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// Joins the held bytes and `chunk`, replaces matches starting before the
    /// held-back tail (none at the end), and emits through that point or the
    /// end of the last match.
    fn run(&mut self, chunk: &[u8], at_end: bool) -> Bytes {
        // Sized exactly, so it never reallocates and leaves an unzeroized copy.
        let mut buf = Zeroizing::new(Vec::with_capacity(self.held.len() + chunk.len()));
        buf.extend_from_slice(&self.held);
        buf.extend_from_slice(chunk);
        let limit = if at_end {
            buf.len()
        } else {
            buf.len() - self.partial_tail(&buf)
        };
        let permitted = &self.permitted;
        let permit = |i: usize| permitted.get(i).copied().unwrap_or(false);
        let (done, end) = self
            .swapper
            .replace(self.direction, &mut buf, limit, &permit);
        self.swapped += done.len();
        self.held = Zeroizing::new(buf[end..].to_vec());
        buf.truncate(end);
        secret_bytes(buf)
    }
}

/// Bytes that zeroize their buffer when the last reference drops.
fn secret_bytes(buf: Zeroizing<Vec<u8>>) -> Bytes {
    if buf.is_empty() {
        return Bytes::new();
    }
    Bytes::from_owner(ZeroizingBuf(buf))
}

struct ZeroizingBuf(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for ZeroizingBuf {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// An HTTP body whose data frames go through a [`StreamSwap`]; trailers pass
/// through, after the held-back tail. Counts the bytes passed and the values
/// replaced, readable after the body ends through the shared counters.
pub struct SwapBody<B> {
    inner: Pin<Box<B>>,
    swap: StreamSwap,
    pending: VecDeque<Frame<Bytes>>,
    ended: bool,
    bytes: Arc<AtomicU64>,
    swaps: Arc<AtomicUsize>,
}

impl<B> fmt::Debug for SwapBody<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SwapBody")
            .field("swap", &self.swap)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl<B> SwapBody<B> {
    pub fn new(inner: B, swap: StreamSwap) -> Self {
        Self {
            inner: Box::pin(inner),
            swap,
            pending: VecDeque::new(),
            ended: false,
            bytes: Arc::new(AtomicU64::new(0)),
            swaps: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Data bytes passed on so far (the same going in and out).
    pub fn bytes_counter(&self) -> Arc<AtomicU64> {
        self.bytes.clone()
    }

    /// Values replaced so far.
    pub fn swaps_counter(&self) -> Arc<AtomicUsize> {
        self.swaps.clone()
    }

    /// Queues a data frame for `data` (unless empty) and updates the counters.
    fn emit(&mut self, data: Bytes) {
        self.swaps.store(self.swap.swapped(), Ordering::Relaxed);
        if data.is_empty() {
            return;
        }
        self.bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        self.pending.push_back(Frame::data(data));
    }

    /// Handles one frame from the inner body: data is swapped (maybe all held
    /// back); trailers queue behind the held-back tail.
    fn take(&mut self, frame: Frame<Bytes>) {
        match frame.into_data() {
            Ok(data) => {
                let out = self.swap.push_bytes(data);
                self.emit(out);
            }
            Err(trailers) => {
                let tail = self.swap.finish();
                self.emit(tail);
                self.pending.push_back(trailers);
            }
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl<B> Body for SwapBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            if let Some(frame) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(frame)));
            }
            if this.ended {
                return Poll::Ready(None);
            }
            match this.inner.as_mut().poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e.into()))),
                Poll::Ready(Some(Ok(frame))) => this.take(frame),
                Poll::Ready(None) => {
                    this.ended = true;
                    let tail = this.swap.finish();
                    this.emit(tail);
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.pending.is_empty()
    }

    /// Exact when the inner body's is: swapping never changes a length.
    fn size_hint(&self) -> SizeHint {
        let inner = self.inner.size_hint();
        let extra = (self.swap.held()
            + self
                .pending
                .iter()
                .filter_map(|f| f.data_ref().map(Bytes::len))
                .sum::<usize>()) as u64;
        let mut hint = SizeHint::new();
        hint.set_lower(inner.lower().saturating_add(extra));
        if let Some(upper) = inner.upper() {
            hint.set_upper(upper.saturating_add(extra));
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderMap;
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    const REAL_A: &str = "ghp_REALrealREALrealREALreal0123456789";
    const HOLD_A: &str = "ghp_PLACplacPLACplacPLACplac9876543210";
    const REAL_B: &str = "sk-realvalue-bbbbbbbbbbbbbbbb";
    const HOLD_B: &str = "sk-placeholdr-ccccccccccccccc";

    fn swapper() -> Arc<Swapper> {
        Arc::new(owned_swapper())
    }

    fn owned_swapper() -> Swapper {
        let bind = |var: &str, placeholder: &str, real: &str| Binding {
            var: var.into(),
            placeholder: SecretValue::from_slice(placeholder.as_bytes()),
            real: SecretValue::from_slice(real.as_bytes()),
        };
        Swapper::new(vec![
            bind("GITHUB_TOKEN", HOLD_A, REAL_A),
            bind("OPENAI_KEY", HOLD_B, REAL_B),
        ])
        .unwrap()
    }

    #[test]
    fn in_place_both_ways() {
        let s = swapper();
        let mut text = format!("Bearer {HOLD_A} and {HOLD_B}").into_bytes();
        assert_eq!(s.placeholders_in(&text), vec![0, 1]);
        assert_eq!(s.to_real(&mut text, &|i| i == 0), vec![0]);
        assert_eq!(text, format!("Bearer {REAL_A} and {HOLD_B}").as_bytes());
        assert_eq!(s.to_placeholder(&mut text), 1);
        assert_eq!(text, format!("Bearer {HOLD_A} and {HOLD_B}").as_bytes());
        assert_eq!(s.vars().collect::<Vec<_>>(), ["GITHUB_TOKEN", "OPENAI_KEY"]);
    }

    #[test]
    fn a_refresh_swaps_in_the_new_value_and_still_masks_the_old_ones() {
        let cell = SwapCell::new(owned_swapper());
        let new_a = "ghp_NEWnewNEWnewNEWnewNEWnew0123456789";
        let newer_a = "ghp_NEXTnextNEXTnextNEXTnext0123456789";
        cell.refresh("GITHUB_TOKEN", &SecretValue::from_slice(new_a.as_bytes()))
            .unwrap();
        let s = cell.current();
        let mut text = format!("Bearer {HOLD_A}").into_bytes();
        s.to_real(&mut text, &|_| true);
        assert_eq!(text, format!("Bearer {new_a}").as_bytes());
        let mut answer = format!("{REAL_A} {new_a}").into_bytes();
        assert_eq!(s.to_placeholder(&mut answer), 2);
        assert_eq!(answer, format!("{HOLD_A} {HOLD_A}").as_bytes());
        let mut stream = StreamSwap::to_placeholder(s.clone());
        let mut out = stream.push(&REAL_A.as_bytes()[..10]).to_vec();
        out.extend_from_slice(&stream.push(&REAL_A.as_bytes()[10..]));
        out.extend_from_slice(&stream.finish());
        assert_eq!(out, HOLD_A.as_bytes());
        cell.refresh("GITHUB_TOKEN", &SecretValue::from_slice(newer_a.as_bytes()))
            .unwrap();
        // two retired values are kept per variable
        assert_eq!(cell.current().retired.len(), 2);
        let short = cell.refresh("GITHUB_TOKEN", &SecretValue::from_slice(b"ghp_short"));
        assert!(matches!(short, Err(SwapError::LengthMismatch { .. })));
        let unknown = cell.refresh("NOPE", &SecretValue::from_slice(new_a.as_bytes()));
        assert!(matches!(unknown, Err(SwapError::Unknown { .. })));
    }

    #[test]
    fn debug_shows_names_only() {
        let s = swapper();
        let text = format!("{s:?} {:?}", s.bindings[0]);
        assert!(text.contains("GITHUB_TOKEN"));
        assert!(!text.contains("REAL") && !text.contains("PLAC"));
    }

    #[test]
    fn bad_bindings_refused() {
        let b = Binding {
            var: "X".into(),
            placeholder: SecretValue::from_slice(b"abc"),
            real: SecretValue::from_slice(b"abcd"),
        };
        assert!(matches!(
            Swapper::new(vec![b]),
            Err(SwapError::LengthMismatch { .. })
        ));
    }

    #[test]
    fn split_at_every_position() {
        let s = swapper();
        let input = format!("{{\"auth\":\"{HOLD_A}\",\"k\":\"{HOLD_B}\"}}");
        let want = format!("{{\"auth\":\"{REAL_A}\",\"k\":\"{REAL_B}\"}}");
        for cut in 0..=input.len() {
            let mut st = StreamSwap::to_real(s.clone(), vec![true, true]);
            let mut out = st.push(&input.as_bytes()[..cut]).to_vec();
            assert!(st.held() < s.longest());
            out.extend_from_slice(&st.push(&input.as_bytes()[cut..]));
            out.extend_from_slice(&st.finish());
            assert_eq!(out, want.as_bytes(), "cut at {cut}");
            assert_eq!(st.swapped(), 2);
        }
    }

    /// A chunk without a value passes as the same bytes (no copy); one with
    /// a value, or after a held tail, is swapped as by `push`.
    #[test]
    fn push_bytes_passes_clean_chunks_through() {
        let s = swapper();
        let mut st = StreamSwap::to_placeholder(s);
        let clean = Bytes::from_static(b"nothing to see here");
        let out = st.push_bytes(clean.clone());
        assert_eq!(out.as_ptr(), clean.as_ptr(), "not copied");
        let start = &REAL_A.as_bytes()[..5];
        let out = st.push_bytes(Bytes::from([b"ab", start].concat()));
        assert_eq!(&out[..], b"ab");
        let rest = Bytes::from(format!("{}!", &REAL_A[5..]).into_bytes());
        let out = st.push_bytes(rest);
        assert_eq!(&out[..], format!("{HOLD_A}!").as_bytes());
        let out = st.push_bytes(Bytes::from(format!("x{REAL_B}y").into_bytes()));
        assert_eq!(&out[..], format!("x{HOLD_B}y").as_bytes());
        assert_eq!(st.swapped(), 2);
    }

    /// Small messages that cannot be the start of a value pass at once;
    /// only a possible start is held.
    #[test]
    fn only_a_possible_start_is_held_back() {
        let s = swapper();
        let mut st = StreamSwap::to_placeholder(s);
        assert_eq!(&st.push(b"data: {\"n\":1}\n\n")[..], b"data: {\"n\":1}\n\n");
        assert_eq!(st.held(), 0);
        let start = &REAL_A.as_bytes()[..6];
        let out = st.push(&[b"x=", start].concat());
        assert_eq!(&out[..], b"x=");
        assert_eq!(st.held(), 6);
        // Not a value after all: released with the next chunk.
        assert_eq!(&st.push(b"!")[..], [start, b"!"].concat().as_slice());
        assert_eq!(st.held(), 0);
    }

    #[test]
    fn byte_at_a_time_to_placeholder() {
        let s = swapper();
        let input = format!("echo {REAL_B}{REAL_A}!");
        let mut st = StreamSwap::to_placeholder(s);
        let mut out = Vec::new();
        for b in input.as_bytes() {
            out.extend_from_slice(&st.push(&[*b]));
        }
        out.extend_from_slice(&st.finish());
        assert_eq!(out, format!("echo {HOLD_B}{HOLD_A}!").as_bytes());
        assert_eq!(st.swapped(), 2);
    }

    #[test]
    fn not_permitted_left_alone() {
        let s = swapper();
        let input = format!("{HOLD_A} {HOLD_B}");
        let mut st = StreamSwap::to_real(s, vec![false, true]);
        let mut out = st.push(input.as_bytes()).to_vec();
        out.extend_from_slice(&st.finish());
        assert_eq!(out, format!("{HOLD_A} {REAL_B}").as_bytes());
        assert_eq!(st.swapped(), 1);
    }

    fn frames(parts: &[&str], trailers: bool) -> Vec<Result<Frame<Bytes>, std::io::Error>> {
        let mut v: Vec<_> = parts
            .iter()
            .map(|p| Ok(Frame::data(Bytes::copy_from_slice(p.as_bytes()))))
            .collect();
        if trailers {
            let mut t = HeaderMap::new();
            t.insert("grpc-status", "0".parse().unwrap());
            v.push(Ok(Frame::trailers(t)));
        }
        v
    }

    #[tokio::test]
    async fn body_to_real_with_trailers() {
        let s = swapper();
        let (a1, a2) = HOLD_A.split_at(10);
        let parts = ["token=", a1, a2, "&x=", HOLD_B];
        let inner = StreamBody::new(futures_util::stream::iter(frames(&parts, true)));
        let body = SwapBody::new(inner, StreamSwap::to_real(s, vec![true, true]));
        let (bytes, swaps) = (body.bytes_counter(), body.swaps_counter());
        let collected = body.collect().await.unwrap();
        let trailers = collected.trailers().cloned().unwrap();
        assert_eq!(trailers.get("grpc-status").unwrap(), "0");
        let out = collected.to_bytes();
        let want = format!("token={REAL_A}&x={REAL_B}");
        assert_eq!(out, want.as_bytes());
        assert_eq!(bytes.load(Ordering::Relaxed), want.len() as u64);
        assert_eq!(swaps.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn body_to_placeholder_ends_with_tail() {
        let s = swapper();
        let (r1, r2) = REAL_A.split_at(7);
        let parts = ["{\"echo\":\"", r1, r2];
        let inner = StreamBody::new(futures_util::stream::iter(frames(&parts, false)));
        let body = SwapBody::new(inner, StreamSwap::to_placeholder(s));
        let swaps = body.swaps_counter();
        let collected = body.collect().await.unwrap();
        assert!(collected.trailers().is_none());
        assert_eq!(
            collected.to_bytes(),
            format!("{{\"echo\":\"{HOLD_A}").as_bytes()
        );
        assert_eq!(swaps.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn exact_size_kept() {
        let s = swapper();
        let input = format!("x{HOLD_A}y");
        let inner = http_body_util::Full::new(Bytes::from(input.clone()));
        let body = SwapBody::new(inner, StreamSwap::to_real(s, vec![true, true]));
        assert_eq!(body.size_hint().exact(), Some(input.len() as u64));
        let out = body.collect().await.unwrap().to_bytes();
        assert_eq!(out, format!("x{REAL_A}y").as_bytes());
    }

    proptest::proptest! {
        /// Any chunking gives what one in-place pass over the whole input gives.
        #[test]
        fn chunking_never_matters(
            pieces in proptest::collection::vec(0usize..4, 0..12),
            cuts in proptest::collection::vec(0usize..200, 0..8),
        ) {
            let s = swapper();
            let words = [HOLD_A, HOLD_B, "ghp_", "-x-"];
            let input: String = pieces.iter().map(|&i| words[i]).collect();
            let mut want = input.clone().into_bytes();
            s.to_real(&mut want, &|_| true);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
            cuts.sort_unstable();
            let mut st = StreamSwap::to_real(s.clone(), vec![true, true]);
            let (mut out, mut at) = (Vec::new(), 0);
            for c in cuts.into_iter().chain([input.len()]) {
                out.extend_from_slice(&st.push(&input.as_bytes()[at..c]));
                at = c;
            }
            out.extend_from_slice(&st.finish());
            proptest::prop_assert_eq!(out, want);
        }
    }
}
