//! SDK failures -> [`Fail`]: the kind that decides the exit code and one line
//! saying what to check.
//!
//! Owns the mapping of AWS error codes and transport failures. Must not format
//! an SDK error with `{:?}` or pass its whole `Display` chain through: messages
//! are built from the error code, AWS's one-line message and the root cause.

use std::error::Error as StdError;

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};

use super::setup::Group;
use super::{Fail, Service, one_line};
use crate::backend::ErrorKind;

/// What the failed call was trying to do, for the permission hint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Action {
    pub service: Service,
    /// The IAM action, e.g. `secretsmanager:GetSecretValue`.
    pub iam: &'static str,
    /// "secret" or "parameter".
    pub noun: &'static str,
}

/// Maps any SDK failure of a call made through `group`.
pub(crate) fn from_sdk<E>(err: &SdkError<E, HttpResponse>, group: &Group, action: Action) -> Fail
where
    E: ProvideErrorMetadata + StdError + 'static,
{
    let service = action.service;
    match err {
        SdkError::ServiceError(ctx) => from_code(
            ctx.err().code(),
            ctx.err().message(),
            Some(ctx.raw().status().as_u16()),
            group,
            action,
        ),
        SdkError::TimeoutError(_) => group.timed_out(service),
        SdkError::DispatchFailure(d) if d.is_timeout() => group.timed_out(service),
        SdkError::DispatchFailure(d) if d.is_user() => Fail::new(
            ErrorKind::Config,
            format!(
                "the request to {} could not be sent: {}; check the endpoint setting",
                service.title(),
                root_cause(err)
            ),
        ),
        SdkError::DispatchFailure(_) => Fail::new(
            ErrorKind::Unreachable,
            format!(
                "cannot reach {} at {} ({}); check the endpoint (AWS_ENDPOINT_URL), the region \
                 and the network",
                service.title(),
                group.endpoint(service),
                root_cause(err)
            ),
        ),
        SdkError::ResponseError(_) => Fail::new(
            ErrorKind::Unreachable,
            format!(
                "{} at {} sent an answer that is not an AWS response; check the endpoint \
                 (AWS_ENDPOINT_URL) and any proxy",
                service.title(),
                group.endpoint(service)
            ),
        ),
        SdkError::ConstructionFailure(_) => Fail::new(
            ErrorKind::Config,
            format!("the request could not be built: {}", root_cause(err)),
        ),
        _ => Fail::new(
            ErrorKind::Unreachable,
            format!("{} call failed: {}", service.title(), root_cause(err)),
        ),
    }
}

const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "ParameterNotFound",
    "ParameterVersionNotFound",
];
const BAD_CREDENTIALS: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "MissingAuthenticationTokenException",
    "AuthFailure",
];
const EXPIRED: &[&str] = &["ExpiredTokenException", "ExpiredToken", "RequestExpired"];
const DENIED: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "NotAuthorized",
    "UnauthorizedOperation",
    "DecryptionFailure",
    "KMSAccessDeniedException",
];
const THROTTLED: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Maps an AWS error code (from a failed call, or one entry of a batch answer).
pub(crate) fn from_code(
    code: Option<&str>,
    message: Option<&str>,
    status: Option<u16>,
    group: &Group,
    action: Action,
) -> Fail {
    let code_str = code.unwrap_or("");
    let status = status.unwrap_or(0);
    // A write's rejection can quote the value it was given (a validation
    // message echoing the input): for writes only the code is shown.
    let writes = action.iam.contains(":Put") || action.iam.contains(":Create");
    let message = message.filter(|_| !writes);
    let said = match (
        code,
        message.map(|m| one_line(m, 300)).filter(|m| !m.is_empty()),
    ) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        (None, Some(m)) => format!("HTTP {status}: {m}"),
        (None, None) => format!("HTTP {status}"),
    };
    let title = action.service.title();
    let scope = group.scope_text();
    let has = |list: &[&str]| list.contains(&code_str);
    if has(NOT_FOUND) || (code.is_none() && status == 404) {
        return Fail::new(
            ErrorKind::NotFound,
            format!(
                "no such {} in {title} ({scope}); check the name, the region and the account",
                action.noun
            ),
        );
    }
    if has(BAD_CREDENTIALS) {
        return Fail::new(
            ErrorKind::Denied,
            format!(
                "{title} rejected the credentials ({said}); check the access key, secret key and \
                 session token ({scope})"
            ),
        );
    }
    if has(EXPIRED) {
        return Fail::new(
            ErrorKind::Denied,
            format!(
                "the AWS credentials have expired ({code_str}); refresh them (e.g. `aws sso \
                 login`) ({scope})"
            ),
        );
    }
    if code.is_none() && matches!(status, 401 | 403) {
        return Fail::new(
            ErrorKind::Denied,
            format!(
                "{title} answered HTTP {status} (forbidden); check the credentials (access key, \
                 secret key, session token) and that the IAM and resource policies allow {} \
                 ({scope})",
                action.iam
            ),
        );
    }
    if has(DENIED) || code_str.starts_with("AccessDenied") || matches!(status, 401 | 403) {
        return Fail::new(
            ErrorKind::Denied,
            format!(
                "access denied ({said}); check that the IAM and resource policies allow {} for \
                 these credentials ({scope})",
                action.iam
            ),
        );
    }
    if has(THROTTLED) || status == 429 {
        return Fail::new(
            ErrorKind::Unreachable,
            format!("{title} kept throttling the requests ({said}); retry later ({scope})"),
        );
    }
    if status >= 500 {
        return Fail::new(
            ErrorKind::Unreachable,
            format!(
                "{title} failed ({said}) at {}; retry later or check the endpoint",
                group.endpoint(action.service)
            ),
        );
    }
    Fail::new(
        ErrorKind::Config,
        format!("{title} refused the request ({said}) ({scope})"),
    )
}

/// The innermost cause's message, on one line: "Connection refused (os error 111)".
pub(crate) fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut current: &(dyn StdError + 'static) = err;
    while let Some(next) = current.source() {
        current = next;
    }
    let text = current.to_string();
    // A failed credential_process's stderr is quoted after "Stderr:"; it may
    // hold anything the helper printed, so it never reaches a message.
    let text = match text.find("Stderr:") {
        Some(i) => text[..i].trim_end().to_string(),
        None => text,
    };
    one_line(&text, 200)
}
