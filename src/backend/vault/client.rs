//! One Vault server: an HTTP client, its address, and the translation of
//! answers into values or one-line failures.
//!
//! Owns the wire protocol (`/v1/` paths, `X-Vault-Token`, `X-Vault-Namespace`,
//! the `errors` array) and the mapping of statuses and transport errors to
//! [`ErrorKind`]s. Must not decide which path to call (that is `kv`, `auth`,
//! `lease`), and must not put a token, a request body or a response body in
//! an error: messages quote only Vault's own one-line error text.

use std::error::Error as StdError;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::config::Tls;
use crate::backend::ErrorKind;
use crate::secret::SecretValue;

/// A failure before a reference is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub kind: ErrorKind,
    pub message: String,
}

impl Fail {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}

/// What a call needs, for the hint in a permission error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cap {
    Read,
    Write,
    List,
    Delete,
    Login,
}

impl Cap {
    fn policy_word(self) -> &'static str {
        match self {
            Cap::Read => "read",
            Cap::Write => "create/update",
            Cap::List => "list",
            Cap::Delete => "delete",
            Cap::Login => "update",
        }
    }
}

pub(crate) struct Client {
    http: reqwest::Client,
    /// Without a trailing slash.
    pub addr: String,
}

/// Characters escaped inside one API path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Escapes an API path for a URL, keeping its slashes.
pub(crate) fn escape_path(path: &str) -> String {
    percent_encoding::utf8_percent_encode(path, SEGMENT).to_string()
}

impl Client {
    pub fn new(addr: &str, tls: &Tls, timeout: Duration) -> Result<Client, String> {
        let addr = addr.trim_end_matches('/').to_string();
        let tls = super::tls::client_config(tls, addr.starts_with("https://"))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot set up the HTTP client: {}", root_cause(&e)))?;
        Ok(Client { http, addr })
    }

    /// Calls `method /v1/{path}?{query}`. `Ok(None)` is an answer without a body (204).
    #[allow(clippy::too_many_arguments)]
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, String)],
        token: Option<&SecretValue>,
        namespace: Option<&str>,
        body: Option<Vec<u8>>,
        cap: Cap,
    ) -> Result<Option<Value>, Fail> {
        let url = format!("{}/v1/{}", self.addr, escape_path(path));
        let mut headers = HeaderMap::new();
        if let Some(t) = token {
            let mut v = HeaderValue::from_bytes(t.expose()).map_err(|_| {
                Fail::new(
                    ErrorKind::Config,
                    "the Vault token holds characters no HTTP header can carry; check where it comes from",
                )
            })?;
            v.set_sensitive(true);
            headers.insert("x-vault-token", v);
        }
        if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
            let v = HeaderValue::from_str(ns).map_err(|_| {
                Fail::new(
                    ErrorKind::Config,
                    "the namespace is not a valid header value",
                )
            })?;
            headers.insert("x-vault-namespace", v);
        }
        let mut req = self.http.request(method, &url).headers(headers);
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.map_err(|e| self.transport(&e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| self.transport(&e))?;
        if (200..300).contains(&status) {
            if bytes.is_empty() {
                return Ok(None);
            }
            return serde_json::from_slice(&bytes).map(Some).map_err(|_| {
                Fail::new(
                    ErrorKind::Unreachable,
                    format!(
                        "{} answered with something that is not JSON; check VAULT_ADDR points at Vault",
                        self.addr
                    ),
                )
            });
        }
        Err(self.status_fail(status, &bytes, path, cap))
    }

    fn transport(&self, e: &reqwest::Error) -> Fail {
        if e.is_timeout() {
            return Fail::new(
                ErrorKind::TimedOut,
                format!(
                    "Vault at {} did not answer in time; check it is reachable, or raise --timeout",
                    self.addr
                ),
            );
        }
        let cause = root_cause(e);
        let lower = cause.to_ascii_lowercase();
        let hint = if lower.contains("alert") && lower.contains("certificate") {
            // The server refused us: it wants (another) client certificate.
            "the server asks for a client certificate: check VAULT_CLIENT_CERT and VAULT_CLIENT_KEY"
        } else if lower.contains("certificate") {
            "check VAULT_CACERT names the CA that signed the server's certificate"
        } else {
            "check VAULT_ADDR and that the server is running"
        };
        Fail::new(
            ErrorKind::Unreachable,
            format!("cannot reach Vault at {} ({cause}); {hint}", self.addr),
        )
    }

    fn status_fail(&self, status: u16, body: &[u8], path: &str, cap: Cap) -> Fail {
        let said = vault_message(body);
        let said_part = said
            .as_deref()
            .map(|m| format!(" (Vault said: {m})"))
            .unwrap_or_default();
        match status {
            403 if cap == Cap::Login => Fail::new(
                ErrorKind::Denied,
                format!(
                    "login at {path} was refused{said_part}; check the role and the credentials"
                ),
            ),
            403 => Fail::new(
                ErrorKind::Denied,
                format!(
                    "permission denied on {path}{said_part}; check the token is valid and not \
                     expired, and that one of its policies grants \"{}\" on \"{path}\"",
                    cap.policy_word()
                ),
            ),
            401 => Fail::new(
                ErrorKind::Denied,
                format!("Vault refused the credentials for {path}{said_part}"),
            ),
            400 if cap == Cap::Login => Fail::new(
                ErrorKind::Denied,
                format!("login at {path} failed{said_part}; check the role and the credentials"),
            ),
            404 => Fail::new(ErrorKind::NotFound, format!("nothing at {path}{said_part}")),
            503 if said.as_deref().is_some_and(|m| m.contains("sealed")) => Fail::new(
                ErrorKind::Unreachable,
                format!(
                    "Vault at {} is sealed; ask an operator to unseal it",
                    self.addr
                ),
            ),
            429 | 500..=599 => Fail::new(
                ErrorKind::Unreachable,
                format!(
                    "Vault at {} is unavailable (HTTP {status}){said_part}; retry later or check \
                     its health",
                    self.addr
                ),
            ),
            _ => Fail::new(
                ErrorKind::Config,
                format!("Vault rejected the request to {path} (HTTP {status}){said_part}"),
            ),
        }
    }
}

/// Vault's first error message, on one line and bounded, if the body has one.
fn vault_message(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let errors = v.get("errors")?.as_array()?;
    let text: Vec<&str> = errors.iter().filter_map(Value::as_str).collect();
    let joined = text.join("; ");
    let line: String = joined
        .split(|c: char| c.is_control())
        .map(|p| p.trim_start_matches('*').trim())
        .filter(|p| !p.is_empty() && *p != "1 error occurred:")
        .collect::<Vec<_>>()
        .join(" ");
    let line: String = line.chars().take(200).collect();
    (!line.is_empty()).then_some(line)
}

/// The innermost cause of a transport error, without the URL-bearing outer text.
pub(crate) fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string().lines().next().unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_messages_are_one_bounded_line() {
        let body = br#"{"errors":["1 error occurred:\n\t* permission denied\n\n"]}"#;
        assert_eq!(vault_message(body).as_deref(), Some("permission denied"));
        assert_eq!(vault_message(br#"{"errors":[]}"#), None);
        let long = format!(r#"{{"errors":["{}"]}}"#, "x".repeat(500));
        assert_eq!(vault_message(long.as_bytes()).unwrap().len(), 200);
    }

    #[test]
    fn paths_keep_slashes_and_escape_the_rest() {
        assert_eq!(escape_path("secret/data/a b#c"), "secret/data/a%20b%23c");
    }
}
