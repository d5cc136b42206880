//! `aws-sm://NAME-or-ARN?region=&profile=&version-stage=&version-id=`: AWS
//! Secrets Manager.
//!
//! Owns the Secrets Manager calls: BatchGetSecretValue for two or more plain
//! references of one group (up to 20 a call), GetSecretValue for the rest and
//! for whatever a batch did not answer; CreateSecret/PutSecretValue,
//! DeleteSecret, ListSecrets, DescribeSecret, RotateSecret (only for a secret
//! with rotation configured). Must not decode values beyond
//! "is it UTF-8": JSON selection is the resolver's.

use std::sync::Arc;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::primitives::Blob;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use zeroize::Zeroizing;

use super::error::{Action, from_code, from_sdk};
use super::setup::{Group, Sdk};
use super::{Fail, Fetched, Job, Scope, Service, fetch_all, run_jobs, settle_rest, system_time};
use crate::backend::{Backend, BackendError, BoxFuture, ErrorKind, SecretInfo, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

/// Parameters an `aws-sm://` reference may carry.
const READ_PARAMS: &[&str] = &["region", "profile", "version-stage", "version-id"];
/// Parameters for writing, deleting and listing: a write always makes the new
/// current version, so version parameters would mislead.
const SCOPE_PARAMS: &[&str] = &["region", "profile"];
/// BatchGetSecretValue takes at most 20 ids.
const BATCH_MAX: usize = 20;
/// A batch answer is paged only when values are large; bound the pages anyway.
const MAX_PAGES: usize = 50;
/// The recovery window DeleteSecret applies when none is given (AWS's default).
pub(crate) const RECOVERY_DAYS: i64 = 30;

const SERVICE: Service = Service::SecretsManager;

fn action(iam: &'static str, noun: &'static str) -> Action {
    Action {
        service: SERVICE,
        iam,
        noun,
    }
}

pub(crate) struct SmBackend {
    sdk: Arc<Sdk>,
}

impl SmBackend {
    pub fn new(sdk: Arc<Sdk>) -> Self {
        Self { sdk }
    }
}

impl Backend for SmBackend {
    fn scheme(&self) -> Scheme {
        Scheme::AwsSm
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(fetch_all(&self.sdk, SERVICE, READ_PARAMS, refs))
    }

    /// PutSecretValue (a new AWSCURRENT version); CreateSecret when the secret
    /// does not exist yet. Text goes to SecretString, other bytes to SecretBinary.
    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let group = self.sdk.group_for(r, SERVICE, SCOPE_PARAMS).await?;
            let client = group.sm();
            let put_action = action("secretsmanager:PutSecretValue", "secret");
            let put = || {
                let req = client.put_secret_value().secret_id(&r.location);
                match value.as_str() {
                    Some(s) => req.secret_string(s),
                    None => req.secret_binary(Blob::new(value.expose())),
                }
            };
            let err = match put().send().await {
                Ok(_) => return Ok(WriteOutcome::Updated),
                Err(e) => from_sdk(&e, &group, put_action),
            };
            if err.kind != ErrorKind::NotFound || r.location.starts_with("arn:") {
                return Err(err.at(r));
            }
            let create = client.create_secret().name(&r.location);
            let create = match value.as_str() {
                Some(s) => create.secret_string(s),
                None => create.secret_binary(Blob::new(value.expose())),
            };
            match create.send().await {
                Ok(_) => Ok(WriteOutcome::Created),
                // Created by someone else in between: add our value as a version.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_exists_exception()) =>
                {
                    put()
                        .send()
                        .await
                        .map(|_| WriteOutcome::Updated)
                        .map_err(|e| from_sdk(&e, &group, put_action).at(r))
                }
                Err(e) => {
                    Err(from_sdk(&e, &group, action("secretsmanager:CreateSecret", "secret")).at(r))
                }
            }
        })
    }

    /// DeleteSecret with AWS's default 30-day recovery window: the secret can be
    /// restored (`aws secretsmanager restore-secret`) until then, and its name
    /// stays taken.
    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let group = self.sdk.group_for(r, SERVICE, SCOPE_PARAMS).await?;
            group
                .sm()
                .delete_secret()
                .secret_id(&r.location)
                .recovery_window_in_days(RECOVERY_DAYS)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| {
                    from_sdk(&e, &group, action("secretsmanager:DeleteSecret", "secret")).at(r)
                })
        })
    }

    /// ListSecrets with a name filter (secrets pending deletion are not listed).
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let subject = "aws-sm://";
            check_scope_params(subject, params)?;
            let scope = Scope::from_parts(None, params, SERVICE, self.sdk.settings())
                .map_err(|m| BackendError::new(ErrorKind::Config, subject, m))?;
            let group = self.sdk.group(&scope).await.map_err(|f| f.at(subject))?;
            let mut out = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let mut req = group
                    .sm()
                    .list_secrets()
                    .max_results(100)
                    .set_next_token(token.take());
                if !prefix.is_empty() {
                    req = req.filters(
                        Filter::builder()
                            .key(FilterNameStringType::Name)
                            .values(prefix)
                            .build(),
                    );
                }
                let page = req.send().await.map_err(|e| {
                    from_sdk(&e, &group, action("secretsmanager:ListSecrets", "secret")).at(subject)
                })?;
                for s in page.secret_list.unwrap_or_default() {
                    let Some(name) = s.name else { continue };
                    // The service's name filter is looser (case, word prefixes): be exact.
                    if !name.starts_with(prefix) {
                        continue;
                    }
                    out.push(SecretInfo {
                        version: current_version(s.secret_versions_to_stages.as_ref()),
                        name,
                        created: system_time(s.created_date.as_ref()),
                        updated: system_time(s.last_changed_date.as_ref()),
                        rotated: system_time(s.last_rotated_date.as_ref()),
                    });
                }
                match page.next_token {
                    Some(t) if !t.is_empty() => token = Some(t),
                    _ => break,
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    /// DescribeSecret: created, last changed, last rotated, the AWSCURRENT version.
    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let group = self.sdk.group_for(r, SERVICE, READ_PARAMS).await?;
            let d = describe_secret(&group, r).await?;
            Ok(SecretInfo {
                name: d.name.clone().unwrap_or_else(|| r.location.clone()),
                created: system_time(d.created_date.as_ref()),
                updated: system_time(d.last_changed_date.as_ref()),
                rotated: system_time(d.last_rotated_date.as_ref()),
                version: current_version(d.version_ids_to_stages.as_ref()),
            })
        })
    }

    fn rotate<'a>(
        &'a self,
        r: &'a SecretRef,
    ) -> BoxFuture<'a, Result<Option<String>, BackendError>> {
        Box::pin(rotate(&self.sdk, r))
    }
}

/// DescribeSecret for `r` (no value in the answer).
async fn describe_secret(
    group: &Group,
    r: &SecretRef,
) -> Result<DescribeSecretOutput, BackendError> {
    group
        .sm()
        .describe_secret()
        .secret_id(&r.location)
        .send()
        .await
        .map_err(|e| from_sdk(&e, group, action("secretsmanager:DescribeSecret", "secret")).at(r))
}

/// RotateSecret, for a secret whose rotation (a Lambda) is configured;
/// returns the version the rotation creates. Without one, AWS has nothing to
/// run: refused before the call, saying how to store a new value instead.
async fn rotate(sdk: &Sdk, r: &SecretRef) -> Result<Option<String>, BackendError> {
    let group = sdk.group_for(r, SERVICE, SCOPE_PARAMS).await?;
    let d = describe_secret(&group, r).await?;
    let configured = d.rotation_enabled == Some(true)
        || d.rotation_lambda_arn
            .as_deref()
            .is_some_and(|a| !a.is_empty());
    if !configured {
        return Err(BackendError::new(
            ErrorKind::Unsupported,
            r,
            "the secret has no rotation configured (a rotation Lambda); store a new value with \
             `mcp-warden rotate REF` without --provider",
        ));
    }
    let out = group
        .sm()
        .rotate_secret()
        .secret_id(&r.location)
        .send()
        .await
        .map_err(|e| from_sdk(&e, &group, action("secretsmanager:RotateSecret", "secret")).at(r))?;
    Ok(out.version_id)
}

pub(super) fn check_scope_params(
    subject: &str,
    params: &[(String, String)],
) -> Result<(), BackendError> {
    match params
        .iter()
        .find(|(k, _)| !SCOPE_PARAMS.contains(&k.as_str()))
    {
        Some((k, _)) => Err(BackendError::new(
            ErrorKind::Config,
            subject,
            format!("unknown parameter {k:?} here (allowed: region, profile)"),
        )),
        None => Ok(()),
    }
}

fn current_version(
    stages: Option<&std::collections::HashMap<String, Vec<String>>>,
) -> Option<String> {
    stages?
        .iter()
        .find(|(_, s)| s.iter().any(|s| s == "AWSCURRENT"))
        .map(|(id, _)| id.clone())
}

fn has_version(r: &SecretRef) -> bool {
    r.param("version-stage").is_some() || r.param("version-id").is_some()
}

/// Fetches one group's references: batches for plain ones when there are two
/// or more, single calls for the rest, all concurrently.
pub(super) async fn fetch_group(group: &Group, refs: &[&SecretRef]) -> Vec<Fetched> {
    let (plain, versioned): (Vec<usize>, Vec<usize>) =
        (0..refs.len()).partition(|&i| !has_version(refs[i]));
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let mut singles = versioned;
    if plain.len() >= 2 {
        for chunk in plain.chunks(BATCH_MAX) {
            let chunk = chunk.to_vec();
            jobs.push(Box::pin(batch(group, refs, chunk)));
        }
    } else {
        singles.extend(plain);
    }
    for i in singles {
        jobs.push(Box::pin(
            async move { vec![(i, get_one(group, refs[i]).await)] },
        ));
    }
    run_jobs(refs, jobs).await
}

/// GetSecretValue for one reference.
async fn get_one(group: &Group, r: &SecretRef) -> Result<SecretValue, BackendError> {
    let noun = if has_version(r) {
        "secret version"
    } else {
        "secret"
    };
    let out = group
        .sm()
        .get_secret_value()
        .secret_id(&r.location)
        .set_version_stage(r.param("version-stage").map(str::to_string))
        .set_version_id(r.param("version-id").map(str::to_string))
        .send()
        .await
        .map_err(|e| from_sdk(&e, group, action("secretsmanager:GetSecretValue", noun)).at(r))?;
    let string = out.secret_string.map(Zeroizing::new);
    let binary = out.secret_binary.map(|b| Zeroizing::new(b.into_inner()));
    value_of(
        string.as_deref().map(String::as_str),
        binary.as_deref().map(Vec::as_slice),
        r,
    )
}

/// BatchGetSecretValue for up to 20 plain references; what the batch does not
/// settle (the call itself refused, say for lack of
/// `secretsmanager:BatchGetSecretValue`, or an id it did not echo) is fetched
/// one by one, so the batch never makes a result worse than single calls.
async fn batch(group: &Group, refs: &[&SecretRef], members: Vec<usize>) -> Vec<(usize, Fetched)> {
    let mut ids: Vec<String> = members.iter().map(|&i| refs[i].location.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut settled: Vec<Option<Fetched>> = members.iter().map(|_| None).collect();
    let batch_action = action("secretsmanager:BatchGetSecretValue", "secret");
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let answer = group
            .sm()
            .batch_get_secret_value()
            .set_secret_id_list(Some(ids.clone()))
            .set_next_token(token.take())
            .send()
            .await;
        let page = match answer {
            Ok(page) => page,
            Err(e) => {
                let f = from_sdk(&e, group, batch_action);
                // Nothing to gain from single calls to an endpoint we cannot reach.
                if matches!(f.kind, ErrorKind::Unreachable | ErrorKind::TimedOut) {
                    for (slot, &i) in settled.iter_mut().zip(&members) {
                        slot.get_or_insert_with(|| Err(f.at(refs[i])));
                    }
                }
                break;
            }
        };
        for entry in page.secret_values.unwrap_or_default() {
            let (name, arn) = (entry.name.as_deref(), entry.arn.as_deref());
            let slots: Vec<usize> = (0..members.len())
                .filter(|&s| settled[s].is_none() && answers(&refs[members[s]].location, name, arn))
                .collect();
            let string = entry.secret_string.map(Zeroizing::new);
            let binary = entry.secret_binary.map(|b| Zeroizing::new(b.into_inner()));
            let Some(&first) = slots.first() else {
                continue;
            };
            let value = value_of(
                string.as_deref().map(String::as_str),
                binary.as_deref().map(Vec::as_slice),
                refs[members[first]],
            );
            for s in slots {
                let r = refs[members[s]];
                settled[s] = Some(match &value {
                    Ok(v) => Ok(v.clone()),
                    Err(e) => Err(BackendError::new(e.kind, r, e.message.clone())),
                });
            }
        }
        for err in page.errors.unwrap_or_default() {
            let Some(id) = err.secret_id.as_deref() else {
                continue;
            };
            let f = from_code(
                err.error_code.as_deref(),
                err.message.as_deref(),
                None,
                group,
                action("secretsmanager:GetSecretValue", "secret"),
            );
            for (slot, &i) in settled.iter_mut().zip(&members) {
                if slot.is_none() && refs[i].location == id {
                    *slot = Some(Err(f.at(refs[i])));
                }
            }
        }
        match page.next_token {
            Some(t) if !t.is_empty() && settled.iter().any(Option::is_none) => token = Some(t),
            _ => break,
        }
    }
    settle_rest(settled, members, |i| get_one(group, refs[i])).await
}

/// Whether a batch entry answers the id we asked with: its name, its full ARN,
/// or its ARN without the six random characters AWS appends.
fn answers(id: &str, name: Option<&str>, arn: Option<&str>) -> bool {
    if name == Some(id) || arn == Some(id) {
        return true;
    }
    match arn {
        Some(arn) if id.starts_with("arn:") => arn
            .strip_prefix(id)
            .is_some_and(|rest| rest.len() == 7 && rest.starts_with('-')),
        _ => false,
    }
}

/// A secret's value as bytes: SecretString as is; SecretBinary only when it is
/// UTF-8 text, since it is headed for an environment variable.
fn value_of(
    string: Option<&str>,
    binary: Option<&[u8]>,
    r: &SecretRef,
) -> Result<SecretValue, BackendError> {
    if let Some(s) = string {
        return Ok(SecretValue::from_slice(s.as_bytes()));
    }
    if let Some(bytes) = binary {
        if std::str::from_utf8(bytes).is_err() {
            return Err(BackendError::new(
                ErrorKind::BadData,
                r,
                "the secret's SecretBinary is not UTF-8 text, and an environment variable can \
                 only hold text; store it base64-encoded as a SecretString",
            ));
        }
        return Ok(SecretValue::from_slice(bytes));
    }
    Err(Fail::new(
        ErrorKind::BadData,
        "the secret version has neither SecretString nor SecretBinary",
    )
    .at(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_entries_match_names_and_arns() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db-AbCdEf";
        assert!(answers("app/db", Some("app/db"), Some(arn)));
        assert!(answers(arn, Some("app/db"), Some(arn)));
        assert!(answers(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db",
            Some("app/db"),
            Some(arn)
        ));
        assert!(!answers("app/d", Some("app/db"), Some(arn)));
        assert!(!answers(
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:app",
            Some("app/db"),
            Some(arn)
        ));
    }

    #[test]
    fn binary_must_be_text() {
        let r = SecretRef::parse("aws-sm://bin").unwrap_or_else(|e| panic!("{e}"));
        let ok = value_of(None, Some(b"text"), &r);
        assert_eq!(ok.map(|v| v.expose().to_vec()).ok(), Some(b"text".to_vec()));
        let bad = value_of(None, Some(&[0xff, 0xfe]), &r);
        match bad {
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::BadData);
                assert!(e.to_string().starts_with("aws-sm://bin: "));
            }
            Ok(_) => panic!("non-UTF-8 binary accepted"),
        }
        assert!(value_of(None, None, &r).is_err());
    }

    #[test]
    fn current_version_is_the_awscurrent_one() {
        let mut m = std::collections::HashMap::new();
        m.insert("v1".to_string(), vec!["AWSPREVIOUS".to_string()]);
        m.insert("v2".to_string(), vec!["AWSCURRENT".to_string()]);
        assert_eq!(current_version(Some(&m)).as_deref(), Some("v2"));
        assert_eq!(current_version(None), None);
    }
}
