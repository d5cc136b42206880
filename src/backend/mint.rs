//! Minted credentials: what a minting backend (`github-app://`, `aws-sts://`,
//! `gcp-token://`, `azure-token://`) made at fetch time, and what its
//! reference asks for before anything is minted.
//!
//! Owns [`MintSpec`] (read from a reference alone, no network: what kind of
//! credential, its scope, how long it lives), [`Minted`] (one credential made,
//! with its expiry), [`MintLog`] (where a backend keeps what it minted until
//! the caller takes it) and [`spec`], which asks the scheme's backend module.
//! Must not fetch, print, or hold a credential's value.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use super::BackendError;
use crate::reference::{Scheme, SecretRef};

/// What a minting reference asks for, read from the reference alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintSpec {
    /// The kind of credential, e.g. "GitHub App installation token".
    pub what: &'static str,
    /// What it may touch, for people: "repositories a, b; contents:read".
    pub scope: String,
    /// How long it lives: the lifetime asked for, or the provider's fixed one.
    pub lifetime: Duration,
}

/// One credential a backend minted. Never holds the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The reference it was minted for, without a selector.
    pub reference: SecretRef,
    /// What was asked for; `scope` says what the provider granted where it says.
    pub spec: MintSpec,
    /// When the provider says it expires.
    pub expires: SystemTime,
}

impl Minted {
    /// Time left before it expires (zero once expired).
    pub fn left(&self, now: SystemTime) -> Duration {
        self.expires.duration_since(now).unwrap_or_default()
    }
}

/// The longest a minted credential is taken to live.
const MAX_LIFE: Duration = Duration::from_secs(24 * 3600);

/// Parameters of minting references that hold references to stored secrets.
const NESTED: &[&str] = &["key", "session-policy", "external-id"];

/// The stored secrets a minting reference reads (`key=`, `session-policy=`,
/// `external-id=`), with their parameter: long-lived, so their age counts.
pub fn nested(r: &SecretRef) -> Vec<(&'static str, SecretRef)> {
    if !r.scheme.mints() {
        return Vec::new();
    }
    NESTED
        .iter()
        .filter_map(|k| {
            let inner = SecretRef::parse(r.param(k)?).ok()?;
            (!inner.scheme.mints()).then_some((*k, inner))
        })
        .collect()
}

/// What a backend minted since the caller last took it.
#[derive(Debug, Default)]
pub struct MintLog(Mutex<Vec<Minted>>);

impl MintLog {
    /// Keeps `m`, its expiry brought within now .. now + 24 h (a provider's
    /// nonsense must not overflow a timer or a date).
    pub fn record(&self, mut m: Minted) {
        let now = SystemTime::now();
        let most = (m.spec.lifetime * 2).clamp(Duration::from_secs(3600), MAX_LIFE);
        if m.expires > now + most {
            tracing::warn!(
                "{}: the provider's expiry is beyond {}; taken as that",
                m.reference,
                humantime::format_duration(most)
            );
        }
        m.expires = m.expires.clamp(now, now + most);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(m);
    }

    /// Everything recorded so far; the log is empty afterwards.
    pub fn take(&self) -> Vec<Minted> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What `r` would mint, when its scheme mints (`None` otherwise); an error
/// when its parameters are wrong.
pub fn spec(r: &SecretRef) -> Option<Result<MintSpec, BackendError>> {
    let s = match r.scheme {
        Scheme::GithubApp => super::github_app::spec(r),
        Scheme::AwsSts => super::aws::sts::spec(r),
        Scheme::GcpToken => super::gcp::token::spec(r),
        Scheme::AzureToken => super::azure::token::spec(r),
        _ => return None,
    };
    Some(s)
}

/// Parses a lifetime parameter (`15m`, `3600s`, `1h`) within `min..=max`.
pub fn lifetime_param(
    r: &SecretRef,
    key: &str,
    default: Duration,
    min: Duration,
    max: Duration,
) -> Result<Duration, BackendError> {
    let Some(text) = r.param(key) else {
        return Ok(default);
    };
    let bad = |why: String| BackendError::new(super::ErrorKind::Config, r, why);
    let d = humantime::parse_duration(text).map_err(|_| {
        bad(format!(
            "?{key}= {text:?} is not a duration; write e.g. 15m or 1h"
        ))
    })?;
    if d < min || d > max {
        return Err(bad(format!(
            "?{key}= must be between {} and {}",
            humantime::format_duration(min),
            humantime::format_duration(max)
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_bounded_and_named() {
        let r = SecretRef::parse("aws-sts://arn:aws:iam::1:role/r?duration=10s").unwrap();
        let e = lifetime_param(
            &r,
            "duration",
            Duration::from_secs(3600),
            Duration::from_secs(900),
            Duration::from_secs(43_200),
        )
        .unwrap_err();
        assert!(e.message.contains("between 15m and 12h"), "{e}");
        let r = SecretRef::parse("aws-sts://arn:aws:iam::1:role/r?duration=20m").unwrap();
        let d = lifetime_param(
            &r,
            "duration",
            Duration::from_secs(3600),
            Duration::from_secs(900),
            Duration::from_secs(43_200),
        )
        .unwrap();
        assert_eq!(d, Duration::from_secs(1200));
    }

    #[test]
    fn nested_stored_secrets_are_found() {
        let r =
            SecretRef::parse("github-app://1/2?key=vault://secret/gh%23private_key&repositories=a")
                .unwrap();
        let n = nested(&r);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].0, "key");
        assert_eq!(n[0].1.to_string(), "vault://secret/gh#private_key");
        assert!(nested(&SecretRef::parse("local://x?key=local://y").unwrap()).is_empty());
    }

    #[test]
    fn a_log_hands_over_once() {
        let log = MintLog::default();
        log.record(Minted {
            reference: SecretRef::parse("azure-token://https://x/.default").unwrap(),
            spec: MintSpec {
                what: "t",
                scope: "s".into(),
                lifetime: Duration::from_secs(60),
            },
            expires: SystemTime::now(),
        });
        assert_eq!(log.take().len(), 1);
        assert!(log.take().is_empty());
    }
}
