//! How often the authorizer may authorize.
//!
//! Owns the pure rule (no I/O, no tokens): a sliding window of new
//! authorizations made after refusals ([`Budget`]). Must not count routine
//! renewals (a client-credentials token that simply expired) and must not
//! keep a bridge dead forever.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// New authorizations after refusals, at most, within [`WINDOW`].
pub const MAX_AUTHORIZATIONS: usize = 4;
/// The window [`MAX_AUTHORIZATIONS`] applies to.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);

/// The recent authorizations this process made after refusals.
#[derive(Debug, Default)]
pub struct Budget {
    recent: VecDeque<Instant>,
}

impl Budget {
    /// Takes one authorization at `now`; false when [`MAX_AUTHORIZATIONS`]
    /// were made within the last [`WINDOW`].
    pub fn take(&mut self, now: Instant) -> bool {
        while self
            .recent
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= MAX_AUTHORIZATIONS {
            return false;
        }
        self.recent.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_budget_is_a_sliding_window() {
        let t0 = Instant::now();
        let mut b = Budget::default();
        for i in 0..MAX_AUTHORIZATIONS as u64 {
            assert!(b.take(t0 + Duration::from_secs(i)));
        }
        assert!(!b.take(t0 + Duration::from_secs(60)));
        // a long-running bridge is never dead for good
        assert!(b.take(t0 + WINDOW));
        assert!(!b.take(t0 + WINDOW));
        assert!(b.take(t0 + WINDOW * 3));
    }
}
