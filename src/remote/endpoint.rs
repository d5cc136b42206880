//! The remote endpoint: the URL and the headers, filled from the injected
//! values and checked before anything is sent.
//!
//! Owns the `%{NAME}` placement rules of `connect` (in the URL's path or
//! query only, percent-encoded for its position; in header values as is),
//! the refusal of a value holding CR, LF or NUL (naming the variable), and
//! the URL policy (https, or plain http to loopback only; no credentials in
//! the authority). Errors name variables and headers, never values; the URL
//! is only ever shown as its origin. Must not send anything.

use http::{HeaderMap, HeaderName, HeaderValue};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use reqwest::Url;

use super::RemoteError;
use crate::resolve::Resolved;
use crate::template;

/// Bytes escaped when a value is placed in a path segment.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');
/// Bytes escaped when a value is placed in a query component.
const QUERY: &AsciiSet = &PATH.add(b'&').add(b'=').add(b'+').add(b';');

/// The longest filled header value, in bytes.
const MAX_HEADER: usize = 16 * 1024;

/// One `-H 'Name: template'`, parsed (the template not yet filled).
#[derive(Debug, Clone)]
pub struct HeaderTemplate {
    pub name: HeaderName,
    pub template: String,
}

/// `-H` number `n` (1-based): `Name: template`. The text is never echoed.
pub fn parse_header(n: usize, text: &str) -> Result<HeaderTemplate, RemoteError> {
    let bad = |why: &str| RemoteError::Usage(format!("-H number {n}: {why} (not shown)"));
    let (name, template) = text
        .split_once(':')
        .ok_or_else(|| bad("is not 'Name: TEMPLATE'"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .map_err(|_| bad("the header name is not a valid HTTP token"))?;
    if is_ours(&name) {
        return Err(RemoteError::Usage(format!(
            "-H {name}: mcp-warden sets this header itself for the MCP transport"
        )));
    }
    Ok(HeaderTemplate {
        name,
        template: template.trim().to_string(),
    })
}

/// Headers the transport owns: a template must not override them.
fn is_ours(name: &HeaderName) -> bool {
    const OURS: [&str; 9] = [
        "accept",
        "content-type",
        "content-length",
        "host",
        "mcp-session-id",
        "mcp-protocol-version",
        "mcp-method",
        "mcp-name",
        "last-event-id",
    ];
    OURS.contains(&name.as_str())
}

/// The filled endpoint. Holds secrets: never printed; `Debug` shows the origin only.
#[derive(Clone)]
pub struct Endpoint {
    pub url: Url,
    /// The filled headers, each marked sensitive.
    pub headers: HeaderMap,
    /// `scheme://host[:port]`, safe to show.
    pub origin: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("origin", &self.origin)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Fills the URL and the headers from `injected`, then checks the URL.
pub fn fill(
    url: &str,
    headers: &[HeaderTemplate],
    injected: &[Resolved],
) -> Result<Endpoint, RemoteError> {
    let url = fill_url(url, injected)?;
    let mut map = HeaderMap::new();
    for h in headers {
        let where_ = format!("header {}", h.name);
        refuse_breaks(h.template.as_bytes(), injected, &where_)?;
        let bytes = template::expand(h.template.as_bytes(), injected)
            .map_err(|e| RemoteError::Usage(format!("{where_}: {e}")))?;
        if bytes.len() > MAX_HEADER {
            let names: Vec<String> = placeholders(h.template.as_bytes())
                .iter()
                .map(|(_, n)| String::from_utf8_lossy(n).into_owned())
                .collect();
            return Err(RemoteError::Data(format!(
                "{}: {where_} filled with it is longer than {MAX_HEADER} bytes",
                names.join(", ")
            )));
        }
        let mut value = HeaderValue::from_bytes(&bytes).map_err(|_| {
            RemoteError::Data(format!(
                "{where_}: the filled value holds a control character no header may carry"
            ))
        })?;
        value.set_sensitive(true);
        map.append(h.name.clone(), value);
    }
    let origin = origin_of(&url);
    Ok(Endpoint {
        url,
        headers: map,
        origin,
    })
}

/// Checks the templates before any value is fetched: every placeholder
/// names one of `names`, and the URL obeys the policy (with placeholders
/// standing for a plain word).
pub fn precheck(url: &str, headers: &[HeaderTemplate], names: &[&str]) -> Result<(), RemoteError> {
    let texts = std::iter::once(("the URL".to_string(), url)).chain(
        headers
            .iter()
            .map(|h| (format!("header {}", h.name), h.template.as_str())),
    );
    for (where_, text) in texts {
        for (_, name) in placeholders(text.as_bytes()) {
            if !names.iter().any(|n| n.as_bytes() == name) {
                let name = String::from_utf8_lossy(name).chars().take(64).collect();
                return Err(RemoteError::Usage(format!(
                    "{where_}: {}",
                    template::TemplateError::Unknown(name)
                )));
            }
        }
    }
    let stand_ins: Vec<Resolved> = names
        .iter()
        .map(|n| Resolved {
            var: (*n).to_string(),
            value: crate::secret::SecretValue::from_string("x".to_string()),
        })
        .collect();
    fill_url(url, &stand_ins).map(drop)
}

/// The names of the `%{NAME}` placeholders of `text` (not `%%{`), in order.
fn placeholders(text: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"%%{") {
            i += 3;
        } else if text[i..].starts_with(b"%{") {
            let rest = &text[i + 2..];
            let end = rest.iter().position(|&b| b == b'}').unwrap_or(rest.len());
            out.push((i, &rest[..end]));
            i += 2 + end + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// Exit 65 naming the variable when a value used in `text` holds CR, LF or NUL.
fn refuse_breaks(text: &[u8], injected: &[Resolved], where_: &str) -> Result<(), RemoteError> {
    for (_, name) in placeholders(text) {
        if let Some(r) = injected.iter().find(|r| r.var.as_bytes() == name)
            && r.value
                .expose()
                .iter()
                .any(|&b| b == b'\r' || b == b'\n' || b == 0)
        {
            return Err(RemoteError::Data(format!(
                "{}: its value holds a line break or NUL, which {where_} must not carry",
                r.var
            )));
        }
    }
    Ok(())
}

/// Where the authority ends (the first `/`, `?` or `#` after `scheme://`).
fn authority_end(url: &str) -> usize {
    let start = url.find("://").map_or(0, |p| p + 3);
    url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |p| start + p)
}

fn fill_url(template_text: &str, injected: &[Resolved]) -> Result<Url, RemoteError> {
    let text = template_text.trim();
    refuse_breaks(text.as_bytes(), injected, "the URL")?;
    let auth_end = authority_end(text);
    let query_start = text.find('?').unwrap_or(text.len());
    let mut out = zeroize::Zeroizing::new(String::with_capacity(text.len()));
    let mut i = 0;
    for (at, name) in placeholders(text.as_bytes()) {
        if at < auth_end {
            return Err(RemoteError::Usage(
                "%{NAME} may appear only in the URL's path or query, not in its scheme or host"
                    .into(),
            ));
        }
        out.push_str(&text[i..at].replace("%%{", "%{"));
        let name = String::from_utf8_lossy(name);
        let value = injected
            .iter()
            .find(|r| r.var == name)
            .ok_or_else(|| {
                RemoteError::Usage(format!(
                    "the URL: {}",
                    template::TemplateError::Unknown(name.chars().take(64).collect())
                ))
            })?
            .value
            .expose();
        let value = std::str::from_utf8(value).map_err(|_| {
            RemoteError::Data(format!(
                "{name}: its value is not UTF-8 text, which a URL needs"
            ))
        })?;
        let set = if at > query_start { QUERY } else { PATH };
        out.extend(utf8_percent_encode(value, set));
        i = at + 2 + name.len() + 1;
        if i > text.len() {
            return Err(RemoteError::Usage(format!(
                "the URL: {}",
                template::TemplateError::Unterminated
            )));
        }
    }
    out.push_str(&text[i..].replace("%%{", "%{"));
    let url = Url::parse(&out)
        .map_err(|e| RemoteError::Usage(format!("the URL is not a valid URL ({e})")))?;
    check_url(&url)?;
    Ok(url)
}

/// `scheme://host[:port]` of `url`, which is safe to show.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// https anywhere; plain http only to a loopback host; no user or password.
pub fn check_url(url: &Url) -> Result<(), RemoteError> {
    let host = url.host_str().unwrap_or("");
    if host.is_empty() {
        return Err(RemoteError::Usage("the URL has no host".into()));
    }
    match url.scheme() {
        "https" => {}
        "http" if crate::backend::rest::is_loopback(host) => {}
        "http" => {
            return Err(RemoteError::Usage(format!(
                "plain http to {host} is refused: use https (plain http is allowed to loopback only)"
            )));
        }
        other => {
            return Err(RemoteError::Usage(format!(
                "the URL's scheme {other:?} is not http or https"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RemoteError::Usage(
            "the URL carries a user or password: put the credential in a header filled from a reference (-H)"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn injected(pairs: &[(&str, &str)]) -> Vec<Resolved> {
        pairs
            .iter()
            .map(|(k, v)| Resolved {
                var: (*k).into(),
                value: SecretValue::from_string((*v).to_string()),
            })
            .collect()
    }

    #[test]
    fn url_placeholders_are_encoded_for_their_position() {
        let v = injected(&[("T", "a/b c&d=e"), ("P", "x y")]);
        let u = fill_url("https://h.example/p/%{P}/mcp?token=%{T}&lit=%%{P}", &v).unwrap();
        assert_eq!(
            u.as_str(),
            "https://h.example/p/x%20y/mcp?token=a%2Fb%20c%26d%3De&lit=%{P}"
        );
        assert!(fill_url("https://%{T}.example/", &v).is_err());
        assert!(fill_url("https://h.example/%{NOPE}", &v).is_err());
    }

    #[test]
    fn policy_refuses_plain_http_and_breaks() {
        let v = injected(&[("T", "ok"), ("BAD", "a\r\nX-Evil: 1")]);
        assert!(fill_url("http://127.0.0.1:9/mcp", &v).is_ok());
        assert!(fill_url("http://localhost:9/mcp", &v).is_ok());
        let e = fill_url("http://example.com/mcp", &v).unwrap_err();
        assert!(e.to_string().contains("plain http"), "{e}");
        assert!(fill_url("https://u:p@example.com/", &v).is_err());
        let e = fill_url("https://example.com/?t=%{BAD}", &v).unwrap_err();
        assert!(e.to_string().starts_with("BAD:"), "{e}");
        let h = parse_header(1, "Authorization: Bearer %{BAD}").unwrap();
        let e = fill("https://example.com/", &[h], &v).unwrap_err();
        assert!(e.to_string().starts_with("BAD:") && !e.to_string().contains("X-Evil"));
        assert!(parse_header(1, "Mcp-Session-Id: x").is_err());
        let big = injected(&[("BIG", &"a".repeat(MAX_HEADER + 1))]);
        let h = parse_header(1, "X-Key: %{BIG}").unwrap();
        let e = fill("https://example.com/", &[h], &big).unwrap_err();
        assert!(
            matches!(e, RemoteError::Data(_)) && e.to_string().starts_with("BIG:"),
            "{e}"
        );
        assert!(parse_header(2, "no colon").is_err());
        let h = parse_header(1, "Authorization: Bearer %{T}").unwrap();
        let ep = fill("https://example.com/mcp", &[h], &v).unwrap();
        assert!(ep.headers["authorization"].is_sensitive());
        assert!(!format!("{ep:?}").contains("Bearer"));
    }
}
