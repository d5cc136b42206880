//! HTTP header values: the credential after an auth scheme
//! (`Bearer V`, `token V`), HTTP Basic credentials (decoded to check the
//! password), cookies, and `Name: value` header lines as passed to
//! `--header`.

use std::ops::Range;

use super::{Detector, Hit, Severity, checks, heuristic, reference};

/// Heuristic hits in the value of header `name` (typed tokens are found by
/// the caller). Ranges are relative to `value`.
pub(super) fn scan(name: &str, value: &str) -> Vec<Hit> {
    if reference::whole(value).is_some() {
        return Vec::new();
    }
    if name.eq_ignore_ascii_case("cookie") {
        return cookies(value);
    }
    let lead = value.len() - value.trim_start().len();
    let (scheme, cred) = match reference::split_auth_scheme(value) {
        Some((scheme, r)) => (Some(scheme), r),
        None => (None, lead..value.trim_end().len()),
    };
    if cred.is_empty() || reference::whole(&value[cred.clone()]).is_some() {
        return Vec::new();
    }
    if scheme.as_deref() == Some("basic") {
        match checks::basic_password(&value[cred.clone()]) {
            Some(true) => {
                return vec![Hit {
                    rule: "http-basic-auth",
                    title: "HTTP Basic credentials",
                    severity: Severity::High,
                    detector: Detector::Heuristic,
                    range: cred,
                }];
            }
            Some(false) => return Vec::new(),
            None => {}
        }
    }
    let authz = name.eq_ignore_ascii_case("authorization")
        || name.eq_ignore_ascii_case("proxy-authorization");
    let hit = if authz || scheme.is_some() {
        heuristic::judge_as(
            name,
            value,
            cred,
            (
                "http-authorization",
                "Credential in an Authorization header",
            ),
        )
    } else {
        heuristic::judge(name, value, cred)
    };
    hit.into_iter().collect()
}

fn cookies(value: &str) -> Vec<Hit> {
    let mut out = Vec::new();
    let mut pos = 0;
    for pair in value.split(';') {
        let start = pos;
        pos += pair.len() + 1;
        let Some((k, _)) = pair.split_once('=') else {
            continue;
        };
        let v_start = start + k.len() + 1;
        let v = &pair[k.len() + 1..];
        let lead = v.len() - v.trim_start().len();
        let r = v_start + lead..v_start + v.trim_end().len();
        if !r.is_empty()
            && let Some(h) = heuristic::judge_as(
                "session_token",
                value,
                r,
                ("http-cookie", "Session cookie value"),
            )
        {
            out.push(h);
        }
    }
    out
}

/// Splits a `Name: value` header line (as given to `--header`/`-H`) into the
/// name and the value's range. `None` when there is no colon or the name is
/// not a header token.
pub(super) fn split_line(line: &str) -> Option<(&str, Range<usize>)> {
    let colon = line.find(':')?;
    let name = line[..colon].trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    {
        return None;
    }
    let rest = &line[colon + 1..];
    if rest.starts_with("//") {
        return None;
    }
    let lead = rest.len() - rest.trim_start().len();
    Some((name, colon + 1 + lead..line.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines() {
        let l = "Authorization: Bearer abc";
        let (n, r) = split_line(l).expect("line");
        assert_eq!((n, &l[r]), ("Authorization", "Bearer abc"));
        let l = "X-Api-Key:abc";
        let (n, r) = split_line(l).expect("line");
        assert_eq!((n, &l[r]), ("X-Api-Key", "abc"));
        assert!(split_line("https://x").is_none());
        assert!(split_line("no colon").is_none());
    }

    #[test]
    fn credentials() {
        let v = "Bearer Zk3pQ9vX2mLr8TfWq4Hn";
        let hits = scan("Authorization", v);
        assert_eq!(hits.len(), 1);
        assert_eq!(&v[hits[0].range.clone()], "Zk3pQ9vX2mLr8TfWq4Hn");
        assert!(scan("Authorization", "Bearer <token>").is_empty());
        assert!(scan("Authorization", "Bearer your-api-token").is_empty());
        assert!(scan("Authorization", "Bearer ${env:T}").is_empty());
        assert!(scan("X-Custom-Header", "custom-value").is_empty());
        assert!(scan("X-ZM-Harness", "cline").is_empty());
    }
}
