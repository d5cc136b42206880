//! How often the authorizer may authorize, and what a refusal of a token
//! means given how recently that token was obtained.
//!
//! Owns the pure rules (no I/O, no tokens): a sliding window of new
//! authorizations made after refusals ([`Budget`]), and the decision after a
//! 401 ([`after_refusal`]): a token this process obtained moments ago and
//! the server refuses is a final answer; an older one is refreshed first.
//! Must not count routine renewals (a client-credentials token that simply
//! expired) and must not keep a bridge dead forever.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// New authorizations after refusals, at most, within [`WINDOW`].
pub const MAX_AUTHORIZATIONS: usize = 4;
/// The window [`MAX_AUTHORIZATIONS`] applies to.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// A refusal of a token obtained this recently is an answer about that token.
pub const FRESH: Duration = Duration::from_secs(30);

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

/// How the token in use came to this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the store (obtained by an earlier run or another process).
    Stored,
    /// Refreshed (by this or another process, adopted under the lock).
    Refreshed,
    /// A new authorization or client-credentials grant.
    Authorized,
}

/// What to do after the server refused the token in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The server refuses a token it issued moments ago: stop.
    GiveUp,
    /// Refresh it (and authorize anew if that cannot be done).
    Refresh,
    /// A refreshed token was refused at once: authorize anew.
    Authorize,
}

/// The decision after a 401 to the token in use, which came by `origin`
/// `age` ago.
pub fn after_refusal(origin: Origin, age: Duration) -> Next {
    match origin {
        Origin::Authorized if age < FRESH => Next::GiveUp,
        Origin::Refreshed if age < FRESH => Next::Authorize,
        _ => Next::Refresh,
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

    #[test]
    fn a_refusal_is_final_only_for_a_token_obtained_moments_ago() {
        let now = Duration::from_secs(1);
        let old = FRESH + Duration::from_secs(1);
        assert_eq!(after_refusal(Origin::Authorized, now), Next::GiveUp);
        assert_eq!(after_refusal(Origin::Authorized, old), Next::Refresh);
        assert_eq!(after_refusal(Origin::Refreshed, now), Next::Authorize);
        // a routine refresh long ago does not make every later 401 final
        assert_eq!(after_refusal(Origin::Refreshed, old), Next::Refresh);
        assert_eq!(after_refusal(Origin::Stored, now), Next::Refresh);
    }
}
