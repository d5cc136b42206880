//! Secrets inside URLs: the password of the userinfo
//! (`postgresql://user:pass@host`, `redis://:pass@host`) and credential query
//! parameters (`?token=`, `?api_key=`, `?sig=`). Finds every URL in a string,
//! so a connection URL inside an argument or an env value is covered too.
//! Secret path segments of known webhook formats are typed rules.

use std::ops::Range;
use std::sync::LazyLock;

use regex::bytes::{Regex, RegexBuilder};

use super::names::{self, NameKind};
use super::{Detector, Hit, Severity, placeholder, reference};

static URL: LazyLock<Regex> = LazyLock::new(|| {
    RegexBuilder::new(r"[A-Za-z][A-Za-z0-9+.-]{0,20}://[A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%{}|^]+")
        .unicode(false)
        .build()
        .expect("the URL pattern is a constant that compiles (tested)")
});

/// Forces compilation.
pub(super) fn warm() {
    LazyLock::force(&URL);
}

/// Query parameter names (lowercase, `-`/`_` removed) that carry a credential
/// whatever the name heuristics say.
const SECRET_PARAMS: &[&str] = &[
    "token",
    "accesstoken",
    "apikey",
    "key",
    "secret",
    "clientsecret",
    "password",
    "pass",
    "pwd",
    "auth",
    "authtoken",
    "apitoken",
    "sig",
    "signature",
    "xamzsignature",
    "xgoogsignature",
    "privatetoken",
    "jwt",
    "bearer",
    "appsecret",
    "hmac",
    "session",
    "sessiontoken",
    "xamzsecuritytoken",
];

/// Every URL credential in `text`, ranges relative to `text`.
pub(super) fn scan_text(text: &str) -> Vec<Hit> {
    if !text.contains("://") {
        return Vec::new();
    }
    let mut hits = Vec::new();
    for m in URL.find_iter(text.as_bytes()) {
        let (start, end) = (m.start(), m.end());
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        scan_one(text, start..end, &mut hits);
    }
    hits
}

fn scan_one(text: &str, url: Range<usize>, hits: &mut Vec<Hit>) {
    let s = &text[url.clone()];
    let Some(scheme_end) = s.find("://") else {
        return;
    };
    let after = scheme_end + 3;
    let rest = &s[after..];
    let auth_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..auth_len];
    if let Some(at) = authority.rfind('@') {
        let userinfo = &authority[..at];
        if let Some((user, pass)) = userinfo.split_once(':') {
            let pass_start = url.start + after + user.len() + 1;
            if url_password(user, pass) {
                hits.push(Hit {
                    rule: "url-password",
                    title: "Password in a URL",
                    severity: Severity::High,
                    detector: Detector::Url,
                    range: pass_start..pass_start + pass.len(),
                });
            }
        }
    }
    let tail_start = after + auth_len;
    let tail = &s[tail_start..];
    if let Some(q) = tail.find('?') {
        let query_start = tail_start + q + 1;
        let query_end = s[query_start..]
            .find('#')
            .map_or(s.len(), |f| query_start + f);
        let mut pos = query_start;
        for pair in s[query_start..query_end].split('&') {
            let pair_start = pos;
            pos += pair.len() + 1;
            let Some((k, v)) = pair.split_once('=') else {
                continue;
            };
            if !secret_param(k) {
                continue;
            }
            let v_start = url.start + pair_start + k.len() + 1;
            if query_secret(v) {
                hits.push(Hit {
                    rule: "url-query-secret",
                    title: "Credential in a URL query parameter",
                    severity: Severity::High,
                    detector: Detector::Url,
                    range: v_start..v_start + v.len(),
                });
            }
        }
    }
}

fn secret_param(k: &str) -> bool {
    let norm: String = k
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .collect::<String>()
        .to_ascii_lowercase();
    SECRET_PARAMS.contains(&norm.as_str()) || names::classify(k) != NameKind::Other
}

/// A real password: not empty, not a reference, not a placeholder, not the
/// user name repeated (`guest:guest`, `postgres:postgres`).
fn url_password(user: &str, pass: &str) -> bool {
    if pass.is_empty() || pass == user || reference::indirection(pass).is_some() {
        return false;
    }
    if pass.len() < 4 || placeholder::has_marker(pass) || placeholder::is_non_secret_shape(pass) {
        return false;
    }
    // `[password]`, `{password}`, `PASSWORD`, `pass123`, `mypass`
    let bracketed = pass.starts_with(['[', '{', '(']) || pass.ends_with([']', '}', ')']);
    !bracketed && !placeholder::is_default_password(pass) && !placeholder::is_word_like(pass)
}

fn query_secret(v: &str) -> bool {
    if v.len() < 8 || reference::indirection(v).is_some() || v.starts_with('{') {
        return false;
    }
    if placeholder::has_marker(v) || placeholder::is_word_like(v) {
        return false;
    }
    let b = v.as_bytes();
    super::entropy::shannon(b) >= 3.0 && super::entropy::class_count(b) >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(text: &str) -> Vec<&str> {
        scan_text(text)
            .into_iter()
            .map(|h| &text[h.range])
            .collect()
    }

    #[test]
    fn userinfo_passwords() {
        assert_eq!(
            secrets("postgresql://app:Xk29vLq7Tz@db:5432/x"),
            ["Xk29vLq7Tz"]
        );
        assert_eq!(secrets("redis://:Xk29vLq7Tz@cache:6379"), ["Xk29vLq7Tz"]);
        assert_eq!(
            secrets("mongodb+srv://svc:Xk29vLq7Tz@c0.ab.mongodb.net/?retryWrites=true"),
            ["Xk29vLq7Tz"]
        );
        assert!(secrets("postgresql://user:password@localhost/db").is_empty());
        assert!(secrets("amqp://guest:guest@localhost:5672").is_empty());
        assert!(secrets("postgresql://u:${DB_PASSWORD}@h/db").is_empty());
        assert!(secrets("postgresql://localhost/mydb").is_empty());
        assert!(secrets("https://ghp_x@github.com").is_empty());
    }

    #[test]
    fn query_parameters() {
        assert_eq!(
            secrets("https://mcp.x.io/mcp?token=Zk3pQ9vX2mLr8TfW&v=1"),
            ["Zk3pQ9vX2mLr8TfW"]
        );
        assert_eq!(
            secrets("https://x.io/sse?apiKey=Zk3pQ9vX2mLr8TfW#top"),
            ["Zk3pQ9vX2mLr8TfW"]
        );
        assert!(secrets("https://mcp.browserless.io/mcp?token=<BROWSERLESS_TOKEN>").is_empty());
        assert!(secrets("https://x.io/mcp?token=${TOKEN}").is_empty());
        assert!(secrets("https://x.io/mcp?page=Zk3pQ9vX2mLr8TfW").is_empty());
        assert!(secrets("https://x.io/mcp?key=value").is_empty());
    }
}
