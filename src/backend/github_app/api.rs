//! GitHub's REST call that mints an installation token:
//! `POST {api}/app/installations/{id}/access_tokens`, authenticated with the
//! App's JWT, and the reading of its answer.
//!
//! Owns the request (headers, the `repositories`/`permissions` body), the
//! reading of the 201 answer (token, `expires_at`, granted permissions and
//! repositories) and the mapping of GitHub's refusals to one-line [`Fail`]s.
//! Must not put the JWT, the token or an answer body into a message: only
//! GitHub's `message` field is quoted, and only when it holds nothing that
//! looks like a credential.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime};

use reqwest::header::HeaderValue;
use zeroize::Zeroizing;

use super::target::Target;
use crate::backend::ErrorKind;
use crate::backend::rest::{self, Answer, Fail, Http, Peer};
use crate::secret::SecretValue;

/// GitHub's REST API version this code speaks.
const API_VERSION: &str = "2022-11-28";

/// A token GitHub minted, and what it grants.
pub(crate) struct Granted {
    pub token: SecretValue,
    pub expires: SystemTime,
    /// Permission name -> level, as GitHub granted them.
    pub permissions: BTreeMap<String, String>,
    /// The repositories named in the answer (GitHub lists them when asked for some).
    pub repositories: Vec<String>,
    /// `all` or `selected`.
    pub selection: Option<String>,
}

impl std::fmt::Debug for Granted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Granted")
            .field("token", &"<redacted>")
            .field("expires", &self.expires)
            .field("permissions", &self.permissions)
            .field("repositories", &self.repositories)
            .finish()
    }
}

/// The 201 answer, borrowing from the (zeroized) body where it can.
#[derive(serde::Deserialize)]
struct Answer201<'a> {
    #[serde(borrow)]
    token: Cow<'a, str>,
    expires_at: String,
    #[serde(default)]
    permissions: BTreeMap<String, String>,
    #[serde(default)]
    repository_selection: Option<String>,
    #[serde(default)]
    repositories: Vec<Repo>,
}

#[derive(serde::Deserialize)]
struct Repo {
    name: String,
}

#[derive(serde::Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: Option<String>,
}

pub(crate) fn peer(t: &Target) -> Peer {
    Peer {
        service: "the GitHub API",
        host: rest::host_of(&t.api),
    }
}

/// Asks GitHub for an installation token for `t`, authenticated with `jwt`.
pub(crate) async fn mint(
    http: &Http,
    t: &Target,
    jwt: &Zeroizing<String>,
    deadline: Instant,
) -> Result<Granted, Fail> {
    let peer = peer(t);
    let url = t
        .api
        .join(&format!(
            "app/installations/{}/access_tokens",
            t.installation_id
        ))
        .map_err(|_| {
            Fail::new(
                ErrorKind::Config,
                "?api= cannot be joined with the API path",
            )
        })?;
    let auth = bearer(jwt)?;
    let body = request_body(t);
    let answer = http
        .send(
            |c| {
                c.post(url.clone())
                    .header(reqwest::header::AUTHORIZATION, auth.clone())
                    .header(reqwest::header::ACCEPT, "application/vnd.github+json")
                    .header("X-GitHub-Api-Version", API_VERSION)
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            },
            deadline,
            &peer,
        )
        .await?;
    if answer.status == 201 || answer.status == 200 {
        return read_granted(&answer, &peer);
    }
    Err(refusal(&answer, t, jwt))
}

/// `Bearer JWT`, marked sensitive so no HTTP layer logs it.
fn bearer(jwt: &Zeroizing<String>) -> Result<HeaderValue, Fail> {
    let mut text = Zeroizing::new(String::with_capacity(jwt.len() + 7));
    text.push_str("Bearer ");
    text.push_str(jwt);
    let mut v = HeaderValue::from_str(&text)
        .map_err(|_| Fail::new(ErrorKind::Config, "the App JWT is not a valid header value"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// `{"repositories": [...], "permissions": {...}}`, leaving out what was not asked for.
fn request_body(t: &Target) -> Vec<u8> {
    let mut body = serde_json::Map::new();
    if !t.repositories.is_empty() {
        body.insert("repositories".into(), serde_json::json!(t.repositories));
    }
    if !t.permissions.is_empty() {
        body.insert("permissions".into(), serde_json::json!(t.permissions));
    }
    serde_json::Value::Object(body).to_string().into_bytes()
}

fn read_granted(answer: &Answer, peer: &Peer) -> Result<Granted, Fail> {
    // The parse error is not shown: it could quote the token.
    let a: Answer201<'_> = serde_json::from_slice(&answer.body).map_err(|_| {
        Fail::new(
            ErrorKind::BadData,
            format!(
                "{peer} answered without a token and expires_at; check ?api= names the REST API"
            ),
        )
    })?;
    if a.token.is_empty() {
        return Err(Fail::new(
            ErrorKind::BadData,
            format!("{peer} answered with an empty token"),
        ));
    }
    let expires = rest::rfc3339(&a.expires_at).ok_or_else(|| {
        Fail::new(
            ErrorKind::BadData,
            format!("{peer} answered with an expires_at that is not an RFC 3339 time"),
        )
    })?;
    Ok(Granted {
        token: SecretValue::from_slice(a.token.as_bytes()),
        expires,
        permissions: a.permissions,
        repositories: a.repositories.into_iter().map(|r| r.name).collect(),
        selection: a.repository_selection,
    })
}

/// GitHub's refusal as one line: the kind per status, what to check, and
/// GitHub's own `message` when it is safe to show.
fn refusal(answer: &Answer, t: &Target, jwt: &str) -> Fail {
    let said = said(&answer.body, jwt)
        .map(|m| format!(" (GitHub: {m})"))
        .unwrap_or_default();
    let app = &t.app_id;
    let inst = &t.installation_id;
    let (kind, text) = match answer.status {
        401 => (
            ErrorKind::Denied,
            format!(
                "GitHub refused the App JWT{said}: check APP_ID ({app}) and that the private key \
                 is this App's, and this machine's clock"
            ),
        ),
        403 => (
            ErrorKind::Denied,
            format!(
                "GitHub refused to mint a token for installation {inst}{said}: the installation \
                 may be suspended, or the App may not act on it"
            ),
        ),
        404 => (
            ErrorKind::NotFound,
            format!(
                "App {app} has no installation {inst}{said}: check INSTALLATION_ID (the number \
                 in the installation's settings URL) and APP_ID"
            ),
        ),
        422 => (
            ErrorKind::Denied,
            format!(
                "installation {inst} cannot grant what was asked{said}: {}",
                asked(t)
            ),
        ),
        s => (
            ErrorKind::Unreachable,
            format!(
                "{} answered HTTP {s}{said}; try again later, or check ?api=",
                peer(t)
            ),
        ),
    };
    Fail::new(kind, text)
}

/// What the reference asked for, for a 422.
fn asked(t: &Target) -> String {
    let mut parts = Vec::new();
    if !t.repositories.is_empty() {
        parts.push(format!(
            "repositories {} must be installed",
            t.repositories.join(", ")
        ));
    }
    if !t.permissions.is_empty() {
        parts.push(format!(
            "permissions {} must be within the App's",
            super::permission_list(&t.permissions)
        ));
    }
    if parts.is_empty() {
        "check the installation in GitHub's settings".into()
    } else {
        parts.join("; ")
    }
}

/// GitHub's `message`, when it is short, holds neither the JWT nor anything
/// shaped like a credential (a long run of token characters).
fn said(body: &[u8], jwt: &str) -> Option<String> {
    let b: ErrorBody = serde_json::from_slice(body).ok()?;
    let m = rest::one_line(b.message?.as_str(), 200);
    let mut run = 0usize;
    for c in m.chars() {
        run = if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=') {
            run + 1
        } else {
            0
        };
        if run >= 32 {
            return None;
        }
    }
    if m.is_empty() || (jwt.len() > 8 && m.contains(jwt)) {
        return None;
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::SecretRef;

    fn target(text: &str) -> Target {
        super::super::target::parse(&SecretRef::parse(text).unwrap(), &|_| None).unwrap()
    }

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: Default::default(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn the_body_holds_only_what_was_asked() {
        let t = target("github-app://1/2?key=local://k");
        assert_eq!(request_body(&t), b"{}");
        let t = target(
            "github-app://1/2?key=local://k&repositories=a,b&permissions=issues:write,contents:read",
        );
        let v: serde_json::Value = serde_json::from_slice(&request_body(&t)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"repositories": ["a", "b"],
                "permissions": {"contents": "read", "issues": "write"}})
        );
    }

    #[test]
    fn a_201_answer_is_read() {
        let p = peer(&target("github-app://1/2?key=local://k"));
        let a = answer(
            201,
            r#"{"token":"ghs_16C7e42F292c6912E7710c838347Ae178B4a","expires_at":"2016-07-11T22:14:10Z",
               "permissions":{"issues":"write","contents":"read"},"repository_selection":"selected",
               "repositories":[{"id":1,"name":"Hello-World"}]}"#,
        );
        let g = read_granted(&a, &p).unwrap();
        assert_eq!(
            g.token.expose(),
            b"ghs_16C7e42F292c6912E7710c838347Ae178B4a"
        );
        assert_eq!(g.repositories, ["Hello-World"]);
        assert_eq!(g.permissions["issues"], "write");
        assert_eq!(g.expires, rest::rfc3339("2016-07-11T22:14:10Z").unwrap());
        assert!(!format!("{g:?}").contains("ghs_"));
        for bad in [
            r#"{"token":"ghs_x"}"#,
            r#"{"token":"ghs_x","expires_at":"soon"}"#,
            r#"{"token":"","expires_at":"2016-07-11T22:14:10Z"}"#,
            "ghs_x",
        ] {
            let e = read_granted(&answer(201, bad), &p).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadData);
            assert!(!e.message.contains("ghs_"), "{}", e.message);
        }
    }

    #[test]
    fn refusals_map_to_kinds_without_values() {
        let t = target("github-app://1/2?key=local://k&repositories=a&permissions=issues:write");
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl";
        let cases = [
            (401, ErrorKind::Denied, "GitHub refused the App JWT"),
            (403, ErrorKind::Denied, "suspended"),
            (404, ErrorKind::NotFound, "no installation 2"),
            (422, ErrorKind::Denied, "repositories a must be installed"),
            (500, ErrorKind::Unreachable, "HTTP 500"),
        ];
        for (status, kind, needle) in cases {
            let f = refusal(&answer(status, r#"{"message":"Nope"}"#), &t, jwt);
            assert_eq!(f.kind, kind, "{status}");
            assert!(f.message.contains(needle), "{}", f.message);
            assert!(f.message.contains("(GitHub: Nope)"), "{}", f.message);
        }
        let echo = format!(r#"{{"message":"bad token {jwt}"}}"#);
        let f = refusal(&answer(401, &echo), &t, jwt);
        assert!(!f.message.contains("eyJ"), "{}", f.message);
        let long = r#"{"message":"ghs_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa is bad"}"#;
        assert!(
            !refusal(&answer(422, long), &t, jwt)
                .message
                .contains("ghs_")
        );
        let raw = refusal(&answer(502, "<html>ghs_leak</html>"), &t, jwt);
        assert!(!raw.message.contains("ghs_leak"));
    }
}
