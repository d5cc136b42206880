//! Small body adapters the proxy needs around [`super::swap::SwapBody`]: a
//! shared byte [`Counter`], and [`OnEnd`], which runs a closure once when a
//! body has been read to its end or dropped (the request's record is written
//! then, with the bytes that really went through).
//!
//! Owns nothing else. Must not look at the bytes.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};

/// Bytes that went through a body so far; cheap to clone and read later.
#[derive(Clone, Default, Debug)]
pub struct Counter(Arc<AtomicU64>);

impl From<Arc<AtomicU64>> for Counter {
    fn from(a: Arc<AtomicU64>) -> Self {
        Counter(a)
    }
}

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// `B`, running `on_end` once: at the end of the stream, on an error, or
/// when dropped before either.
pub struct OnEnd<B, F: FnOnce()> {
    inner: B,
    on_end: Option<F>,
}

impl<B, F: FnOnce()> OnEnd<B, F> {
    pub fn new(inner: B, on_end: F) -> Self {
        OnEnd {
            inner,
            on_end: Some(on_end),
        }
    }

    fn end(&mut self) {
        if let Some(f) = self.on_end.take() {
            f();
        }
    }
}

impl<B, F: FnOnce()> Drop for OnEnd<B, F> {
    fn drop(&mut self) {
        self.end();
    }
}

impl<B, F> Body for OnEnd<B, F>
where
    B: Body + Unpin,
    F: FnOnce() + Unpin,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            this.end();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
