//! `aws-ssm:///param/path?region=&profile=&version=`: AWS Systems Manager
//! Parameter Store. The location is the parameter name (with its leading `/`)
//! or its ARN; SecureString values are decrypted.
//!
//! Owns the SSM calls: GetParameters for two or more plain names of one group
//! (up to 10 a call), GetParameter for versioned names, ARNs and whatever a
//! batch did not answer; PutParameter (SecureString, overwrite),
//! DeleteParameter, DescribeParameters. Must not decode values.

use std::sync::Arc;

use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType};
use zeroize::Zeroizing;

use super::error::{Action, from_code, from_sdk};
use super::setup::{Group, Sdk};
use super::sm::check_scope_params;
use super::{Fetched, Job, Scope, Service, fetch_all, run_jobs, settle_rest, system_time};
use crate::backend::{Backend, BackendError, BoxFuture, ErrorKind, SecretInfo, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

const READ_PARAMS: &[&str] = &["region", "profile", "version"];
const SCOPE_PARAMS: &[&str] = &["region", "profile"];
/// GetParameters takes at most 10 names.
const BATCH_MAX: usize = 10;

const SERVICE: Service = Service::Ssm;

fn action(iam: &'static str) -> Action {
    Action {
        service: SERVICE,
        iam,
        noun: "parameter",
    }
}

const GET: &str = "ssm:GetParameter and kms:Decrypt";

pub(crate) struct SsmBackend {
    sdk: Arc<Sdk>,
}

impl SsmBackend {
    pub fn new(sdk: Arc<Sdk>) -> Self {
        Self { sdk }
    }
}

impl Backend for SsmBackend {
    fn scheme(&self) -> Scheme {
        Scheme::AwsSsm
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(fetch_all(&self.sdk, SERVICE, READ_PARAMS, refs))
    }

    /// PutParameter as a SecureString (the account's default KMS key), overwriting.
    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let group = self.sdk.group_for(r, SERVICE, SCOPE_PARAMS).await?;
            let Some(text) = value.as_str() else {
                return Err(BackendError::new(
                    ErrorKind::BadData,
                    r,
                    "SSM parameters hold text; this value is not UTF-8",
                ));
            };
            let out = group
                .ssm()
                .put_parameter()
                .name(&r.location)
                .value(text)
                .r#type(ParameterType::SecureString)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| from_sdk(&e, &group, action("ssm:PutParameter")).at(r))?;
            Ok(if out.version <= 1 {
                WriteOutcome::Created
            } else {
                WriteOutcome::Updated
            })
        })
    }

    /// DeleteParameter: immediate; SSM has no recovery window.
    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let group = self.sdk.group_for(r, SERVICE, SCOPE_PARAMS).await?;
            group
                .ssm()
                .delete_parameter()
                .name(&r.location)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| from_sdk(&e, &group, action("ssm:DeleteParameter")).at(r))
        })
    }

    /// DescribeParameters, names beginning with `prefix`.
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let subject = "aws-ssm://";
            check_scope_params(subject, params)?;
            let scope = Scope::from_parts(None, params, SERVICE, self.sdk.settings())
                .map_err(|m| BackendError::new(ErrorKind::Config, subject, m))?;
            let group = self.sdk.group(&scope).await.map_err(|f| f.at(subject))?;
            let filter = (!prefix.is_empty()).then_some(("BeginsWith", prefix));
            let mut out = describe(&group, filter).await.map_err(|f| f.at(subject))?;
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        })
    }

    /// DescribeParameters for one name: last modified and version (SSM keeps no
    /// creation or rotation time).
    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let group = self.sdk.group_for(r, SERVICE, READ_PARAMS).await?;
            let name = name_of(&r.location);
            let found = describe(&group, Some(("Equals", name)))
                .await
                .map_err(|f| f.at(r))?;
            found.into_iter().find(|p| p.name == name).ok_or_else(|| {
                from_code(Some("ParameterNotFound"), None, None, &group, action(GET)).at(r)
            })
        })
    }
}

/// The parameter name in an SSM ARN (`arn:...:parameter/a/b` -> `/a/b`), or
/// the location itself.
fn name_of(location: &str) -> &str {
    if location.starts_with("arn:")
        && let Some(i) = location.find(":parameter/")
    {
        return &location[i + ":parameter".len()..];
    }
    location
}

/// DescribeParameters with an optional name filter, all pages.
async fn describe(
    group: &Group,
    filter: Option<(&str, &str)>,
) -> Result<Vec<SecretInfo>, super::Fail> {
    let filters = match filter {
        Some((option, value)) => Some(vec![
            ParameterStringFilter::builder()
                .key("Name")
                .option(option)
                .values(value)
                .build()
                .map_err(|e| super::Fail::new(ErrorKind::Config, e.to_string()))?,
        ]),
        None => None,
    };
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = group
            .ssm()
            .describe_parameters()
            .set_parameter_filters(filters.clone())
            .max_results(50)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| from_sdk(&e, group, action("ssm:DescribeParameters")))?;
        for p in page.parameters.unwrap_or_default() {
            let Some(name) = p.name else { continue };
            out.push(SecretInfo {
                name,
                created: None,
                updated: system_time(p.last_modified_date.as_ref()),
                rotated: None,
                version: Some(p.version.to_string()),
            });
        }
        match page.next_token {
            Some(t) if !t.is_empty() => token = Some(t),
            _ => break,
        }
    }
    Ok(out)
}

fn batchable(r: &SecretRef) -> bool {
    r.param("version").is_none() && !r.location.starts_with("arn:")
}

/// Fetches one group's references: GetParameters for plain names when there
/// are two or more, GetParameter for the rest, all concurrently.
pub(super) async fn fetch_group(group: &Group, refs: &[&SecretRef]) -> Vec<Fetched> {
    let (plain, mut singles): (Vec<usize>, Vec<usize>) =
        (0..refs.len()).partition(|&i| batchable(refs[i]));
    let mut jobs: Vec<Job<'_>> = Vec::new();
    if plain.len() >= 2 {
        for chunk in plain.chunks(BATCH_MAX) {
            jobs.push(Box::pin(batch(group, refs, chunk.to_vec())));
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

/// GetParameter (decrypted) for one reference; `?version=N` asks for `NAME:N`.
async fn get_one(group: &Group, r: &SecretRef) -> Result<SecretValue, BackendError> {
    let name = match r.param("version") {
        Some(v) => format!("{}:{v}", r.location),
        None => r.location.clone(),
    };
    let out = group
        .ssm()
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| from_sdk(&e, group, action(GET)).at(r))?;
    match out.parameter.and_then(|p| p.value) {
        Some(v) => Ok(SecretValue::from_string(v)),
        None => Err(BackendError::new(
            ErrorKind::BadData,
            r,
            "SSM returned the parameter without a value",
        )),
    }
}

/// GetParameters (decrypted) for up to 10 plain names; names the answer does
/// not mention, or a refused call, fall back to GetParameter.
async fn batch(group: &Group, refs: &[&SecretRef], members: Vec<usize>) -> Vec<(usize, Fetched)> {
    let mut names: Vec<String> = members.iter().map(|&i| refs[i].location.clone()).collect();
    names.sort();
    names.dedup();
    let mut settled: Vec<Option<Fetched>> = members.iter().map(|_| None).collect();
    match group
        .ssm()
        .get_parameters()
        .set_names(Some(names))
        .with_decryption(true)
        .send()
        .await
    {
        Ok(page) => {
            for p in page.parameters.unwrap_or_default() {
                let value = p.value.map(Zeroizing::new);
                let (Some(name), Some(value)) = (p.name.as_deref(), value.as_deref()) else {
                    continue;
                };
                for (slot, &i) in settled.iter_mut().zip(&members) {
                    if slot.is_none() && refs[i].location == name {
                        *slot = Some(Ok(SecretValue::from_slice(value.as_bytes())));
                    }
                }
            }
            let not_found = from_code(Some("ParameterNotFound"), None, None, group, action(GET));
            for name in page.invalid_parameters.unwrap_or_default() {
                for (slot, &i) in settled.iter_mut().zip(&members) {
                    if slot.is_none() && refs[i].location == name {
                        *slot = Some(Err(not_found.at(refs[i])));
                    }
                }
            }
        }
        Err(e) => {
            let f = from_sdk(&e, group, action("ssm:GetParameters and kms:Decrypt"));
            if matches!(f.kind, ErrorKind::Unreachable | ErrorKind::TimedOut) {
                for (slot, &i) in settled.iter_mut().zip(&members) {
                    *slot = Some(Err(f.at(refs[i])));
                }
            }
        }
    }
    settle_rest(settled, members, |i| get_one(group, refs[i])).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_names() {
        assert_eq!(
            name_of("arn:aws:ssm:us-east-1:123456789012:parameter/app/key"),
            "/app/key"
        );
        assert_eq!(name_of("/app/key"), "/app/key");
    }
}
