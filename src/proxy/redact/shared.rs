//! A redactor to which values learned while running are added.
//!
//! Owns [`Shared`]: the [`Redactor`] in use, rebuilt whenever a value is
//! added (the OAuth tokens a bridge obtains after it started, which no
//! reference named). Readers take the current redactor per line. Must not
//! keep values anywhere but the zeroizing [`SecretValue`]s it rebuilds from
//! and the automaton; must never stop redacting a value it was given.

use std::sync::{Arc, Mutex, PoisonError, RwLock};

use super::Redactor;
use crate::secret::SecretValue;

/// Values learned while running, at most (the oldest are dropped first;
/// a token that old has long been replaced).
pub const MAX_LEARNED: usize = 64;

/// The redactor in use, and what it is built from.
pub struct Shared {
    /// False for `--no-redact`: values are not added.
    active: bool,
    given: Vec<(String, SecretValue)>,
    learned: Mutex<Vec<(String, SecretValue)>>,
    current: RwLock<Arc<Redactor>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("current", &*self.get())
            .finish_non_exhaustive()
    }
}

impl Shared {
    /// Redacts `secrets` (and what is added later). Returns the warnings of
    /// [`Redactor::new`].
    pub fn new(secrets: &[(String, SecretValue)]) -> (Self, Vec<String>) {
        let (r, warnings) = Redactor::new(secrets);
        let s = Self {
            active: true,
            given: secrets.to_vec(),
            learned: Mutex::new(Vec::new()),
            current: RwLock::new(Arc::new(r)),
        };
        (s, warnings)
    }

    /// Redacts nothing, and adds nothing (`--no-redact`).
    pub fn disabled() -> Self {
        Self {
            active: false,
            given: Vec::new(),
            learned: Mutex::new(Vec::new()),
            current: RwLock::new(Arc::new(Redactor::disabled())),
        }
    }

    /// The redactor for the next line.
    pub fn get(&self) -> Arc<Redactor> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Redacts `value` (labelled `name`) from now on. A value already
    /// redacted changes nothing.
    pub fn add(&self, name: &str, value: &SecretValue) {
        if !self.active || value.is_empty() {
            return;
        }
        let mut learned = self.learned.lock().unwrap_or_else(PoisonError::into_inner);
        let known = |v: &SecretValue| v.expose() == value.expose();
        if self
            .given
            .iter()
            .chain(learned.iter())
            .any(|(_, v)| known(v))
        {
            return;
        }
        if learned.len() >= MAX_LEARNED {
            learned.remove(0);
        }
        learned.push((name.to_string(), value.clone()));
        let all: Vec<(String, SecretValue)> =
            self.given.iter().chain(learned.iter()).cloned().collect();
        let (r, _) = Redactor::new(&all);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::redact::Mode;

    fn redacted(s: &Shared, line: &str) -> String {
        let mut out = Vec::new();
        if s.get().redact(line.as_bytes(), Mode::Auto, &mut out) {
            String::from_utf8(out).expect("utf8")
        } else {
            line.to_string()
        }
    }

    #[test]
    fn a_value_added_while_running_is_redacted_with_the_given_ones() {
        let given = vec![(
            "KEY".to_string(),
            SecretValue::from_slice(b"given-canary-1234"),
        )];
        let (s, _) = Shared::new(&given);
        let line = r#"{"a":"tok-canary-98765 given-canary-1234"}"#;
        assert!(redacted(&s, line).contains("tok-canary-98765"));
        s.add(
            "OAUTH_ACCESS_TOKEN",
            &SecretValue::from_slice(b"tok-canary-98765"),
        );
        s.add(
            "OAUTH_ACCESS_TOKEN",
            &SecretValue::from_slice(b"tok-canary-98765"),
        );
        let out = redacted(&s, line);
        assert!(!out.contains("canary"), "{out}");
        assert!(out.contains("[REDACTED:OAUTH_ACCESS_TOKEN]"), "{out}");
    }

    #[test]
    fn disabled_adds_nothing() {
        let s = Shared::disabled();
        s.add("T", &SecretValue::from_slice(b"tok-canary-98765"));
        assert!(!s.get().is_active());
    }
}
