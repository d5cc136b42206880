//! Why Google issued no token, as one fixed line: which credential, which
//! issuer (token endpoint, STS / IAM Credentials, metadata server), transient
//! or not, the HTTP status when there was one, and what to check for that kind
//! of credential.
//!
//! Must not quote google-cloud-auth's messages: they carry the bodies of
//! failed HTTP answers (`body=<...>`) and whole subject-token JSON. Only the
//! three digits of an HTTP status are taken from them.

use serde_json::Value;

use super::auth::Source;
use crate::backend::ErrorKind;
use crate::backend::rest::Fail;

/// The crate could not build the credentials. Its message is not shown: it
/// may quote the file's content.
pub(super) fn build_failure(_e: &(dyn std::error::Error + 'static), identity: &str) -> Fail {
    Fail::new(
        ErrorKind::Config,
        format!(
            "cannot use {identity}: the credentials are incomplete or malformed; check the file \
             (or create a new one) and that its type is one mcp-warden supports"
        ),
    )
}

/// No token. The crate's message is never shown: it may carry the body of a
/// failed HTTP answer (a token endpoint, STS, the metadata server, a subject
/// token URL) or a subject token. One fixed line instead: which source,
/// transient or not, the HTTP status when there was one, what to check.
pub(super) fn token_failure(
    e: &google_cloud_auth::errors::CredentialsError,
    identity: &str,
    source: &Source,
    kind: CredKind,
) -> Fail {
    let status = http_status(e)
        .map(|c| format!(" (HTTP {c})"))
        .unwrap_or_default();
    if e.is_transient() {
        let hint = if *source == Source::Adc && kind == CredKind::Metadata {
            "; outside Google Cloud set GOOGLE_APPLICATION_CREDENTIALS or run \
             `gcloud auth application-default login`"
        } else {
            ""
        };
        return Fail::new(
            ErrorKind::Unreachable,
            format!(
                "cannot get a Google access token for {identity}: {} did not answer usably{status}; \
                 check the network (proxy, DNS, firewall) and retry{hint}",
                kind.issuer()
            ),
        );
    }
    Fail::new(
        ErrorKind::Denied,
        format!(
            "no Google access token for {identity}: {} refused or could not be asked{status}; {}",
            kind.issuer(),
            kind.hint()
        ),
    )
}

/// What kind of credential a source is, for the line that says why it gave no token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CredKind {
    ServiceAccount,
    User,
    Impersonated,
    External,
    Metadata,
    Unknown,
}

impl CredKind {
    pub(super) fn of_json(v: &Value) -> CredKind {
        match v.get("type").and_then(Value::as_str).unwrap_or("") {
            "service_account" => CredKind::ServiceAccount,
            "authorized_user" => CredKind::User,
            "impersonated_service_account" => CredKind::Impersonated,
            "external_account" => CredKind::External,
            _ => CredKind::Unknown,
        }
    }

    /// Which service issues its tokens.
    fn issuer(self) -> &'static str {
        match self {
            CredKind::ServiceAccount | CredKind::User => "the Google token endpoint",
            CredKind::Impersonated => "the token endpoint or IAM Credentials",
            CredKind::External => "the subject token source, Google STS or IAM Credentials",
            CredKind::Metadata => "the metadata server",
            CredKind::Unknown => "the token issuer",
        }
    }

    fn hint(self) -> &'static str {
        match self {
            CredKind::ServiceAccount => {
                "check the key is not deleted or disabled and the system clock is right"
            }
            CredKind::User => "sign in again: `gcloud auth application-default login`",
            CredKind::Impersonated => {
                "check the source credentials, and that they hold \
                 roles/iam.serviceAccountTokenCreator on the impersonated account"
            }
            CredKind::External => {
                "check the credential_source (the subject token file, URL or field name), the \
                 audience, and the workload identity pool provider"
            }
            CredKind::Metadata => {
                "check this machine has a service account with the cloud-platform scope"
            }
            CredKind::Unknown => "check the credentials",
        }
    }
}

/// The HTTP status of a failed token request, when the error chain holds
/// one (reqwest's "HTTP status … (NNN …)"): three digits, nothing else.
fn http_status(e: &(dyn std::error::Error + 'static)) -> Option<u16> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let t = err.to_string();
        if let Some(rest) = t.strip_prefix("HTTP status ")
            && let Some((_, after)) = rest.split_once('(')
            && let Some(code) = after.get(..3).and_then(|c| c.parse::<u16>().ok())
            && (100..600).contains(&code)
        {
            return Some(code);
        }
        cur = err.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(String, Option<Box<E>>);
    impl std::fmt::Display for E {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn only_the_status_digits_are_taken() {
        let inner = E(
            "HTTP status client error (400 Bad Request) for url (https://sts.example/)".into(),
            None,
        );
        let outer = E("failed, body=<SECRET>".into(), Some(Box::new(inner)));
        assert_eq!(http_status(&outer), Some(400));
        let fake = E("HTTP status (SECRET)".into(), None);
        assert_eq!(http_status(&fake), None);
    }
}
