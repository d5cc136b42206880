//! `aws-sts://ROLE_ARN[?duration=&session-policy=REF&external-id=REF&region=&profile=]`:
//! AWS STS session credentials minted by AssumeRole.
//!
//! Owns reading the reference (role ARN, lifetime, nested policy and external
//! id references), the AssumeRole call through the SDK configuration and
//! credentials the other AWS backends use ([`Sdk`]), and the value it yields:
//! a JSON object with the keys of [`AWS_STS_VARS`]. Every fetch mints anew and
//! records a [`Minted`] (the role, whether a session policy narrowed it, the
//! expiry AWS gave).
//!
//! Must not: cache credentials, put a key, token, policy or external id in an
//! error or a log line, or accept a minting reference as a nested one.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sdk_sts::error::ProvideErrorMetadata;
use zeroize::Zeroizing;

use super::error::{Action, from_sdk};
use super::setup::{Group, Sdk};
use super::{Fail, Service, join_all, system_time};
use crate::backend::mint::{MintLog, MintSpec, Minted, lifetime_param};
use crate::backend::{Backend, BackendError, BoxFuture, ErrorKind};
use crate::reference::{AWS_STS_VARS, Scheme, SecretRef};
use crate::secret::SecretValue;

/// Parameters an `aws-sts://` reference may carry.
const PARAMS: &[&str] = &[
    "duration",
    "session-policy",
    "external-id",
    "region",
    "profile",
];
/// A nested reference can never mint: it would mint at every refresh, unseen.
const MINTING: &[Scheme] = &[
    Scheme::GithubApp,
    Scheme::AwsSts,
    Scheme::GcpToken,
    Scheme::AzureToken,
];
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
const MIN_LIFETIME: Duration = Duration::from_secs(15 * 60);
const MAX_LIFETIME: Duration = Duration::from_secs(12 * 3600);
const WHAT: &str = "AWS STS session (AssumeRole)";
const ACTION: Action = Action {
    service: Service::Sts,
    iam: "sts:AssumeRole",
    noun: "role",
};

pub struct StsBackend {
    sdk: Arc<Sdk>,
    log: MintLog,
}

impl StsBackend {
    /// Shares `sdk` (configurations and credentials) with aws-sm and aws-ssm.
    pub(crate) fn new(sdk: Arc<Sdk>) -> Self {
        Self {
            sdk,
            log: MintLog::default(),
        }
    }
}

/// What `r` asks for, checked without the network: a role ARN, known
/// parameters, a lifetime of 15m..12h, nested references that parse.
pub fn spec(r: &SecretRef) -> Result<MintSpec, BackendError> {
    BackendError::check_params(r, PARAMS)?;
    let bad = |m: &str| BackendError::new(ErrorKind::Config, r, m);
    if !is_role_arn(&r.location) {
        return Err(bad(
            "expected a role ARN: aws-sts://arn:aws:iam::ACCOUNT:role/NAME (12-digit account)",
        ));
    }
    let lifetime = lifetime_param(r, "duration", DEFAULT_LIFETIME, MIN_LIFETIME, MAX_LIFETIME)?;
    let policy = nested(r, "session-policy")?;
    nested(r, "external-id")?;
    let scope = match policy {
        Some(_) => format!("role {}; session policy", r.location),
        None => format!("role {} (the role's full permissions)", r.location),
    };
    Ok(MintSpec {
        what: WHAT,
        scope,
        lifetime,
    })
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn is_role_arn(location: &str) -> bool {
    let parts: Vec<&str> = location.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn == "arn"
        && partition.starts_with("aws")
        && service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.len() > "role/".len()
        && resource.starts_with("role/")
}

/// The nested reference in parameter `key`, when there is one. Never echoes
/// the text: a mistake here is often a pasted value.
fn nested(r: &SecretRef, key: &str) -> Result<Option<SecretRef>, BackendError> {
    let Some(text) = r.param(key) else {
        return Ok(None);
    };
    // Named without its parameters: the text may be a pasted value.
    let subject = format!("{}://{}", r.scheme, r.location);
    let bad = |m: String| BackendError::new(ErrorKind::Config, &subject, m);
    let inner = SecretRef::parse(text).map_err(|_| {
        bad(format!(
            "?{key}= is not a reference (value not shown); give where it is stored, such as \
             local://NAME (percent-encode its own ? & #)"
        ))
    })?;
    if MINTING.contains(&inner.scheme) {
        return Err(bad(format!(
            "?{key}= cannot be a {}:// reference; store it elsewhere (local://, keyring://, \
             a vault)",
            inner.scheme
        )));
    }
    Ok(Some(inner))
}

impl Backend for StsBackend {
    fn scheme(&self) -> Scheme {
        Scheme::AwsSts
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(async move {
            let jobs = refs.iter().map(|r| self.mint(r)).collect();
            join_all(jobs).await
        })
    }

    fn minted(&self) -> Vec<Minted> {
        self.log.take()
    }
}

/// The session policy and external id fetched for one AssumeRole.
struct Inputs {
    policy: Option<SecretValue>,
    external_id: Option<SecretValue>,
}

impl StsBackend {
    /// One AssumeRole for `r`, bounded by the call deadline.
    async fn mint(&self, r: &SecretRef) -> Result<SecretValue, BackendError> {
        let r = &r.without_selector();
        let spec = spec(r)?;
        let deadline = self.sdk.deadline();
        let work = async {
            let group = self.sdk.group_for(r, Service::Sts, PARAMS).await?;
            let inputs = self.inputs(r).await?;
            let (value, expires) = assume_role(&group, r, &spec, &inputs)
                .await
                .map_err(|f| f.at(r))?;
            Ok::<_, BackendError>((value, expires, group))
        };
        let (value, expires, group) = match tokio::time::timeout(deadline, work).await {
            Ok(v) => v?,
            Err(_) => {
                return Err(BackendError::new(
                    ErrorKind::TimedOut,
                    r,
                    format!(
                        "AssumeRole did not finish within {}; check the STS endpoint \
                         (AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL) and the network",
                        humantime::format_duration(deadline)
                    ),
                ));
            }
        };
        let left = expires
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        tracing::debug!(
            "aws-sts: assumed {} ({}, {}); expires in {}s",
            r.location,
            group.scope_text(),
            group.endpoint(Service::Sts),
            left.as_secs()
        );
        self.log.record(Minted {
            reference: r.clone(),
            spec,
            expires,
        });
        Ok(value)
    }

    /// Fetches the nested session policy and external id.
    async fn inputs(&self, r: &SecretRef) -> Result<Inputs, BackendError> {
        let fetcher = crate::backend::registry::credential_fetcher(self.sdk.settings(), MINTING);
        let read = |e: BackendError| {
            BackendError::new(e.kind, r, format!("reading a parameter's reference: {e}"))
        };
        let mut out = Inputs {
            policy: None,
            external_id: None,
        };
        if let Some(p) = nested(r, "session-policy")? {
            let v = fetcher.fetch(&p).await.map_err(read)?;
            check_policy(&v).map_err(|m| BackendError::new(ErrorKind::BadData, r, m))?;
            out.policy = Some(v);
        }
        if let Some(x) = nested(r, "external-id")? {
            let v = fetcher.fetch(&x).await.map_err(read)?;
            check_external_id(&v).map_err(|m| BackendError::new(ErrorKind::BadData, r, m))?;
            out.external_id = Some(v);
        }
        Ok(out)
    }
}

/// A session policy is a JSON object (IAM checks the rest).
fn check_policy(v: &SecretValue) -> Result<(), String> {
    match serde_json::from_slice::<serde_json::Value>(v.expose()) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        _ => Err(
            "the ?session-policy= value is not a JSON object (an IAM policy document); \
                  value not shown"
                .into(),
        ),
    }
}

/// AWS takes 2 to 1224 characters of `[\w+=,.@:/-]`.
fn check_external_id(v: &SecretValue) -> Result<(), String> {
    let ok = v.as_str().is_some_and(|s| {
        (2..=1224).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(
            "the ?external-id= value is not a valid external id (2 to 1224 characters of \
             letters, digits and _+=,.@:/-); value not shown"
                .into(),
        )
    }
}

/// The session name AWS shows in CloudTrail and the assumed-role ARN.
fn session_name() -> String {
    format!("mcp-warden-{}", std::process::id())
}

/// AssumeRole; the credentials as the JSON value, and their expiry.
async fn assume_role(
    group: &Group,
    r: &SecretRef,
    spec: &MintSpec,
    inputs: &Inputs,
) -> Result<(SecretValue, SystemTime), Fail> {
    let seconds = i32::try_from(spec.lifetime.as_secs()).unwrap_or(i32::MAX);
    let mut req = group
        .sts()
        .assume_role()
        .role_arn(&r.location)
        .role_session_name(session_name())
        .duration_seconds(seconds);
    if let Some(p) = inputs.policy.as_ref().and_then(SecretValue::as_str) {
        req = req.policy(p);
    }
    if let Some(x) = inputs.external_id.as_ref().and_then(SecretValue::as_str) {
        req = req.external_id(x);
    }
    let out = req.send().await.map_err(|e| failure(&e, group))?;
    let creds = out.credentials.ok_or_else(|| {
        Fail::new(
            ErrorKind::Unreachable,
            "AWS STS answered AssumeRole without credentials; check the endpoint",
        )
    })?;
    let expires = system_time(Some(&creds.expiration)).ok_or_else(|| {
        Fail::new(
            ErrorKind::BadData,
            "AWS STS gave an expiry that is not a valid time",
        )
    })?;
    let value = to_value(
        &creds.access_key_id,
        &creds.secret_access_key,
        &creds.session_token,
    );
    Ok((value, expires))
}

/// AssumeRole's failure. A rejected policy is named, never quoted.
fn failure<E>(
    e: &aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
    group: &Group,
) -> Fail
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e.as_service_error().and_then(|s| s.code()) {
        Some(code @ ("MalformedPolicyDocument" | "PackedPolicyTooLarge")) => Fail::new(
            ErrorKind::BadData,
            format!(
                "AWS STS rejected the session policy ({code}); check the policy document \
                 stored at ?session-policy="
            ),
        ),
        // AWS's validation messages may quote what was sent (the policy): the code only.
        Some(code @ "ValidationError") => Fail::new(
            ErrorKind::BadData,
            format!(
                "AWS STS refused the request ({code}); check the role ARN, ?duration= and the \
                 session policy (at most 2048 characters, printable ASCII and Latin-1)"
            ),
        ),
        _ => from_sdk(e, group, ACTION),
    }
}

/// `{"AWS_ACCESS_KEY_ID": …, "AWS_SECRET_ACCESS_KEY": …, "AWS_SESSION_TOKEN": …}`,
/// written into a buffer that is wiped afterwards.
fn to_value(key_id: &str, secret: &str, token: &str) -> SecretValue {
    let mut buf = Zeroizing::new(Vec::with_capacity(
        key_id.len() + secret.len() + token.len() + 256,
    ));
    buf.push(b'{');
    for (i, (k, v)) in AWS_STS_VARS.iter().zip([key_id, secret, token]).enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *buf, k);
        buf.push(b':');
        let _ = serde_json::to_writer(&mut *buf, v);
    }
    buf.push(b'}');
    SecretValue::from_slice(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SecretRef {
        SecretRef::parse(s).unwrap()
    }

    const ARN: &str = "arn:aws:iam::123456789012:role/deploy";

    #[test]
    fn spec_reads_the_reference_alone() {
        let s = spec(&parse(&format!("aws-sts://{ARN}"))).unwrap();
        assert_eq!(s.lifetime, Duration::from_secs(3600));
        assert_eq!(s.what, WHAT);
        assert!(s.scope.contains("full permissions"), "{}", s.scope);
        let s = spec(&parse(&format!(
            "aws-sts://{ARN}?duration=15m&session-policy=local://pol&external-id=local://x"
        )))
        .unwrap();
        assert_eq!(s.lifetime, Duration::from_secs(900));
        assert!(s.scope.ends_with("; session policy"), "{}", s.scope);
    }

    #[test]
    fn spec_refuses_bad_references() {
        let cases = [
            format!("aws-sts://{ARN}?duration=14m"),
            format!("aws-sts://{ARN}?duration=13h"),
            format!("aws-sts://{ARN}?nope=1"),
            "aws-sts://arn:aws:iam::123:role/x".to_string(),
            "aws-sts://arn:aws:s3:::bucket".to_string(),
            "aws-sts://deploy".to_string(),
            "aws-sts://arn:aws:iam::123456789012:user/u".to_string(),
            format!("aws-sts://{ARN}?session-policy=aws-sts://{ARN}"),
            format!("aws-sts://{ARN}?external-id=s3cr3t-pasted"),
        ];
        for c in cases {
            let e = spec(&parse(&c)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config, "{c}: {e}");
            assert!(!e.to_string().contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn policies_must_be_objects_and_are_not_quoted() {
        assert!(check_policy(&SecretValue::from_slice(br#"{"Version":"2012-10-17"}"#)).is_ok());
        let e = check_policy(&SecretValue::from_slice(b"[\"s3cr3t\"]")).unwrap_err();
        assert!(!e.contains("s3cr3t"));
        assert!(check_policy(&SecretValue::from_slice(b"s3cr3t")).is_err());
    }

    #[test]
    fn external_ids_are_checked() {
        assert!(check_external_id(&SecretValue::from_slice(b"ext-1234")).is_ok());
        assert!(check_external_id(&SecretValue::from_slice(b"x")).is_err());
        assert!(check_external_id(&SecretValue::from_slice(b"has space")).is_err());
    }

    #[test]
    fn the_value_is_one_object_with_three_keys() {
        let v = to_value("AKIA1", "sec\"ret", "tok");
        let doc: serde_json::Value = serde_json::from_slice(v.expose()).unwrap();
        assert_eq!(doc["AWS_ACCESS_KEY_ID"], "AKIA1");
        assert_eq!(doc["AWS_SECRET_ACCESS_KEY"], "sec\"ret");
        assert_eq!(doc["AWS_SESSION_TOKEN"], "tok");
        assert_eq!(doc.as_object().unwrap().len(), 3);
    }

    #[test]
    fn session_names_are_valid() {
        let n = session_name();
        assert!((2..=64).contains(&n.len()));
        assert!(n.starts_with("mcp-warden-"));
    }
}
