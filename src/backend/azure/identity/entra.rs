//! The Microsoft Entra ID token endpoint (OAuth 2.0 client credentials):
//! `POST {authority}/{tenant}/oauth2/v2.0/token` with a client secret or a
//! signed client assertion (certificate, federated workload identity token).
//!
//! Owns the request body (built so the only copies of the credential are
//! zeroized ones) and the translation of Entra's `error` /
//! `error_description` into one-line failures. Must not put the secret, the
//! assertion or the token into an error.

use reqwest::Url;
use serde_json::Value;
use zeroize::Zeroizing;

use super::Ctx;
use crate::backend::ErrorKind;
use crate::backend::rest::{Fail, Peer, host_of, one_line};
use crate::secret::SecretValue;

/// What proves the client's identity.
pub(crate) enum Grant<'a> {
    Secret(&'a SecretValue),
    /// A signed JWT (certificate) or a federated token (workload identity).
    Assertion(Zeroizing<String>),
}

/// `{authority}{tenant}/oauth2/v2.0/token`
pub(crate) fn token_url(authority: &Url, tenant: &str) -> Result<Url, Fail> {
    let ok = !tenant.is_empty()
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
    if !ok {
        return Err(Fail::new(
            ErrorKind::Config,
            format!("{tenant:?} is not an Entra tenant id or domain"),
        ));
    }
    authority
        .join(&format!("{tenant}/oauth2/v2.0/token"))
        .map_err(|e| Fail::new(ErrorKind::Config, format!("bad authority URL: {e}")))
}

const FORM: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn field(out: &mut Zeroizing<Vec<u8>>, key: &str, value: &[u8]) {
    if !out.is_empty() {
        out.push(b'&');
    }
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    for part in percent_encoding::percent_encode(value, FORM) {
        out.extend_from_slice(part.as_bytes());
    }
}

/// Requests a token for `scope`.
pub(crate) async fn token(
    ctx: &Ctx<'_>,
    tenant: &str,
    client_id: &str,
    scope: &str,
    grant: Grant<'_>,
    who: &str,
) -> Result<Token, Fail> {
    let url = token_url(ctx.authority, tenant)?;
    let mut body = Zeroizing::new(Vec::with_capacity(4096));
    field(&mut body, "client_id", client_id.as_bytes());
    field(&mut body, "scope", scope.as_bytes());
    field(&mut body, "grant_type", b"client_credentials");
    match &grant {
        Grant::Secret(s) => field(&mut body, "client_secret", s.expose()),
        Grant::Assertion(jwt) => {
            field(
                &mut body,
                "client_assertion_type",
                b"urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            );
            field(&mut body, "client_assertion", jwt.as_bytes());
        }
    }
    let peer = Peer {
        service: "the Microsoft Entra token endpoint",
        host: host_of(&url),
    };
    let body = crate::backend::rest::secret_body(body);
    let send = |c: &reqwest::Client| {
        c.post(url.clone())
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body.clone())
    };
    let a = ctx
        .http
        .send(send, ctx.deadline, &peer)
        .await
        .map_err(|f| Fail::new(f.kind, format!("getting a token for {who}: {}", f.message)))?;
    if a.ok() {
        return access_token(&a.body).ok_or_else(|| {
            Fail::new(
                ErrorKind::Unreachable,
                format!("{peer} answered without an access token"),
            )
        });
    }
    Err(refusal(a.status, &a.body, who, &peer))
}

/// An access token and when it expires, where the answer says.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: SecretValue,
    pub expires: Option<std::time::SystemTime>,
}

/// The access token of a JSON token answer (`access_token`, or the Azure
/// CLI's `accessToken`), as a secret, with its expiry: `expires_in` seconds
/// (Entra, managed identity), else `expires_on` in Unix seconds (managed
/// identity, the Azure CLI since 2.54); numbers or numeric strings.
pub(crate) fn access_token(body: &[u8]) -> Option<Token> {
    #[derive(serde::Deserialize)]
    struct Tok {
        #[serde(alias = "accessToken")]
        access_token: Option<String>,
        expires_in: Option<Value>,
        expires_on: Option<Value>,
    }
    let t: Tok = serde_json::from_slice(body).ok()?;
    let number = |v: &Option<Value>| -> Option<i64> {
        match v.as_ref()? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let expires = match (number(&t.expires_in), number(&t.expires_on)) {
        (Some(secs), _) => u64::try_from(secs).ok().and_then(|s| {
            std::time::SystemTime::now().checked_add(std::time::Duration::from_secs(s))
        }),
        (None, Some(on)) => crate::backend::rest::unix_time(on),
        (None, None) => None,
    };
    let value = Zeroizing::new(t.access_token?);
    (!value.is_empty()).then(|| Token {
        value: SecretValue::from_slice(value.as_bytes()),
        expires,
    })
}

/// Entra's error answer as one line: `error` and the first line of `error_description`.
fn refusal(status: u16, body: &[u8], who: &str, peer: &Peer) -> Fail {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let code = v.get("error").and_then(Value::as_str).unwrap_or("");
    let desc = v
        .get("error_description")
        .and_then(Value::as_str)
        .and_then(|d| d.lines().next())
        .map(|d| one_line(d, 200))
        .unwrap_or_default();
    let said = match (code.is_empty(), desc.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" ({code})"),
        (_, false) => format!(" ({desc})"),
    };
    if crate::backend::rest::retryable(status) {
        return Fail::new(
            ErrorKind::Unreachable,
            format!("{peer} is unavailable (HTTP {status}){said}; retry later"),
        );
    }
    match code {
        "invalid_client" | "unauthorized_client" | "invalid_grant" | "access_denied" => Fail::new(
            ErrorKind::Denied,
            format!("Entra ID refused to issue a token for {who}{said}; check the credential"),
        ),
        _ if status == 404 || desc.contains("AADSTS90002") => Fail::new(
            ErrorKind::Config,
            format!("Entra ID does not know the tenant of {who}{said}; check AZURE_TENANT_ID"),
        ),
        _ => Fail::new(
            ErrorKind::Config,
            format!("Entra ID rejected the token request for {who} (HTTP {status}){said}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_carry_their_expiry() {
        use std::time::{Duration, SystemTime, UNIX_EPOCH};
        let t = access_token(br#"{"access_token":"a","expires_in":1800}"#).unwrap();
        let left = t
            .expires
            .unwrap()
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(left > Duration::from_secs(1790) && left <= Duration::from_secs(1800));
        let t =
            access_token(br#"{"access_token":"a","expires_in":"60","expires_on":"1"}"#).unwrap();
        assert!(t.expires.unwrap() > SystemTime::now());
        let t = access_token(br#"{"accessToken":"a","expires_on":2000000000}"#).unwrap();
        assert_eq!(
            t.expires,
            Some(UNIX_EPOCH + Duration::from_secs(2_000_000_000))
        );
        let t = access_token(br#"{"accessToken":"a","expiresOn":"2030-01-01 00:00:00"}"#).unwrap();
        assert_eq!(t.expires, None);
        assert!(access_token(br#"{"access_token":""}"#).is_none());
    }

    #[test]
    fn form_fields_are_encoded() {
        let mut b = Zeroizing::new(Vec::new());
        field(&mut b, "a", b"x y&z=1");
        field(&mut b, "scope", b"https://vault.azure.net/.default");
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            "a=x%20y%26z%3D1&scope=https%3A%2F%2Fvault.azure.net%2F.default"
        );
    }

    #[test]
    fn refusals_are_one_line_and_classified() {
        let peer = Peer {
            service: "the Microsoft Entra token endpoint",
            host: "login".into(),
        };
        let body = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1"}"#;
        let f = refusal(401, body, "client c", &peer);
        assert_eq!(f.kind, ErrorKind::Denied);
        assert!(
            f.message.contains("AADSTS7000215") && !f.message.contains("Trace"),
            "{}",
            f.message
        );
        assert_eq!(refusal(503, b"", "c", &peer).kind, ErrorKind::Unreachable);
        assert_eq!(refusal(400, br#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant not found"}"#, "c", &peer).kind, ErrorKind::Config);
    }

    #[test]
    fn tenants_are_checked() {
        let a = Url::parse("https://login.microsoftonline.com/").unwrap();
        assert_eq!(
            token_url(&a, "contoso.onmicrosoft.com").unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert!(token_url(&a, "../x").is_err());
        assert!(token_url(&a, "").is_err());
    }
}
