//! Name heuristics: a value under a secret-like name (`*_TOKEN`, `*_KEY`,
//! `*_PASSWORD`, `X-Api-Key`, `--api-key`) is a finding when it is long and
//! random enough to be real, or password-like under a password name.

use std::ops::Range;

use super::names::{self, NameKind};
use super::{Detector, Hit, Severity, checks, placeholder, reference};

/// Judges `value[range]` under `name`; `None` unless the name is secret-like
/// and the candidate passes the gate.
pub(super) fn judge(name: &str, value: &str, range: Range<usize>) -> Option<Hit> {
    let kind = names::classify(name);
    if kind == NameKind::Other {
        return None;
    }
    judge_kind(name, kind, value, range, None)
}

/// Like [`judge`], for positions that hold a credential whatever the name
/// (`Authorization`, cookies); `default` names the rule when no provider does.
pub(super) fn judge_as(
    name: &str,
    value: &str,
    range: Range<usize>,
    default: (&'static str, &'static str),
) -> Option<Hit> {
    let kind = match names::classify(name) {
        NameKind::Other => NameKind::Secret,
        k => k,
    };
    judge_kind(name, kind, value, range, Some(default))
}

fn judge_kind(
    name: &str,
    kind: NameKind,
    value: &str,
    range: Range<usize>,
    default: Option<(&'static str, &'static str)>,
) -> Option<Hit> {
    let range = unquote(value, range);
    let candidate = value.get(range.clone())?;
    if candidate.is_empty() || reference::whole(candidate).is_some() {
        return None;
    }
    // A JWT the format check turned down (a public `anon` key, the jwt.io
    // example) is not a secret under any name.
    if candidate.starts_with("eyJ")
        && candidate.matches('.').count() == 2
        && !checks::jwt(candidate)
    {
        return None;
    }
    let pass = match kind {
        NameKind::Password => placeholder::password_like(candidate),
        NameKind::Mnemonic => placeholder::mnemonic_like(candidate),
        // A short value with upper and lower case, digits and symbols is a
        // password-grade secret under any secret-like name
        // (`--jira-token=Pa55!word-ish`), though too short to judge by
        // randomness.
        _ => placeholder::random_enough(candidate) || placeholder::short_strong(candidate),
    };
    if !pass {
        return None;
    }
    let (rule, title, severity) = if let Some(p) = names::provider(name) {
        (p.id, p.title, p.severity)
    } else if let Some((id, title)) = default {
        (id, title, Severity::Medium)
    } else if kind == NameKind::Mnemonic {
        (
            "wallet-mnemonic",
            "Wallet recovery phrase",
            Severity::Critical,
        )
    } else if kind == NameKind::Password {
        (
            "generic-password",
            "Password in a password-named field",
            Severity::Medium,
        )
    } else {
        (
            "generic-secret-name",
            "Random value in a secret-named field",
            Severity::Medium,
        )
    };
    Some(Hit {
        rule,
        title,
        severity,
        detector: Detector::Heuristic,
        range,
    })
}

/// Narrows `range` past surrounding whitespace and one pair of quotes.
fn unquote(value: &str, range: Range<usize>) -> Range<usize> {
    let Some(s) = value.get(range.clone()) else {
        return range;
    };
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    let mut start = range.start + lead;
    let mut end = start + t.len();
    let b = t.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        start += 1;
        end -= 1;
    }
    start..end
}

/// Ids, titles and severities of the heuristic rules.
pub(super) const CATALOG: &[(&str, &str, Severity)] = &[
    (
        "generic-secret-name",
        "Random value in a secret-named field",
        Severity::Medium,
    ),
    (
        "generic-password",
        "Password in a password-named field",
        Severity::Medium,
    ),
    (
        "http-authorization",
        "Credential in an Authorization header",
        Severity::Medium,
    ),
    ("http-basic-auth", "HTTP Basic credentials", Severity::High),
    (
        "wallet-mnemonic",
        "Wallet recovery phrase",
        Severity::Critical,
    ),
    ("http-cookie", "Session cookie value", Severity::Medium),
    ("url-password", "Password in a URL", Severity::High),
    (
        "url-userinfo-token",
        "Token as the user name of a URL",
        Severity::High,
    ),
    (
        "url-query-secret",
        "Credential in a URL query parameter",
        Severity::High,
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_gate_values() {
        let v = "Zk3pQ9vX2mLr8TfWq4Hn";
        let h = judge("MISTRAL_API_KEY", v, 0..v.len()).expect("hit");
        assert_eq!(h.rule, "mistral-api-key");
        assert!(judge("SLACK_TEAM_ID", v, 0..v.len()).is_none());
        let v = "\"Zk3pQ9vX2mLr8TfWq4Hn\"";
        let h = judge("API_KEY", v, 0..v.len()).expect("hit");
        assert_eq!(h.range, 1..v.len() - 1);
        let v = "s9Vq!2rLm";
        assert_eq!(
            judge("DB_PASSWORD", v, 0..v.len()).map(|h| h.rule),
            Some("generic-password")
        );
        assert!(judge("API_KEY", v, 0..v.len()).is_none());
        let v = "s9Vq!2rLm_k4";
        assert!(judge("--jira-token", v, 0..v.len()).is_some());
        for v in ["Secret123!", "Team-Alpha-01", "v1.2.3-Beta", "Zk3pQ9vX2m"] {
            assert!(judge("API_KEY", v, 0..v.len()).is_none(), "{v}");
        }
    }
}
