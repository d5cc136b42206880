//! AWS Secrets Manager (`aws-sm://`) and Systems Manager Parameter Store
//! (`aws-ssm://`), through the official SDK; STS session credentials
//! (`aws-sts://`, AssumeRole) minted with the same configuration.
//!
//! Owns: reading AWS references (name or ARN, `?region=&profile=` and the
//! version parameters), the per-process cache of SDK configurations (one per
//! region and profile, shared by both services; credentials resolved once per
//! profile), grouping references per (service, region, profile) with one client
//! per group, batching and concurrency, the timeout and retry policy, and the
//! translation of SDK failures into one-line [`BackendError`]s.
//!
//! Must not: apply selectors (the resolver does), know about environments,
//! processes or MCP, print anything, or put a value or an SDK debug dump into
//! an error. Values leave the SDK's response types straight into [`SecretValue`].
//!
//! Region, first that applies: the ARN's region; `?region=`; `Settings::aws_region`
//! (`--vault-region`, `VAULT_REGION`); the SDK's own chain (`AWS_REGION`, the
//! profile). Profile: `?profile=`; `Settings::aws_profile` (`--vault-profile`,
//! `VAULT_PROFILE`); the SDK's own (`AWS_PROFILE`). A named profile supplies the
//! credentials even when `AWS_ACCESS_KEY_ID` is set (as `aws --profile` does);
//! without one the SDK's default chain applies (environment, profiles, SSO,
//! `credential_process`, web identity, ECS, IMDS). Endpoints follow the SDK's
//! `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_SSM`,
//! `AWS_ENDPOINT_URL_STS`.

mod error;
mod setup;
mod sm;
mod ssm;
pub mod sts;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use super::{Backend, BackendError, BoxFuture, ErrorKind, Settings};
use crate::reference::SecretRef;
use crate::secret::SecretValue;

pub(crate) use setup::Sdk;

/// The AWS backends, sharing one SDK configuration cache (and so one
/// credentials chain).
pub struct AwsBackends {
    pub sm: Arc<dyn Backend>,
    pub ssm: Arc<dyn Backend>,
    /// `aws-sts://`: mints with the same configuration and credentials.
    pub sts: Arc<dyn Backend>,
}

impl AwsBackends {
    /// Builds nothing on the network: configurations load on first use.
    pub fn new(settings: &Settings) -> Self {
        let sdk = Arc::new(Sdk::new(settings));
        Self {
            sm: Arc::new(sm::SmBackend::new(sdk.clone())),
            ssm: Arc::new(ssm::SsmBackend::new(sdk.clone())),
            sts: Arc::new(sts::StsBackend::new(sdk)),
        }
    }
}

/// Which AWS service a reference addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Service {
    SecretsManager,
    Ssm,
    Sts,
}

impl Service {
    /// The name users know, for messages.
    fn title(self) -> &'static str {
        match self {
            Service::SecretsManager => "AWS Secrets Manager",
            Service::Ssm => "AWS SSM Parameter Store",
            Service::Sts => "AWS STS",
        }
    }

    /// The SDK's service-specific endpoint variable.
    fn endpoint_env(self) -> &'static str {
        match self {
            Service::SecretsManager => "AWS_ENDPOINT_URL_SECRETS_MANAGER",
            Service::Ssm => "AWS_ENDPOINT_URL_SSM",
            Service::Sts => "AWS_ENDPOINT_URL_STS",
        }
    }

    /// The service name inside an ARN.
    fn arn_service(self) -> &'static str {
        match self {
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
            // A role ARN is an IAM one.
            Service::Sts => "iam",
        }
    }
}

/// Region and profile a reference is fetched with: one SDK configuration each.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Scope {
    /// `None`: the SDK's own region chain decides.
    pub region: Option<String>,
    /// `None`: the SDK's default credentials chain and `AWS_PROFILE`.
    pub profile: Option<String>,
}

impl Scope {
    /// The scope of `r`, from its ARN, its parameters and the settings' defaults.
    fn of(r: &SecretRef, service: Service, settings: &Settings) -> Result<Scope, BackendError> {
        Self::from_parts(Some(&r.location), &r.params, service, settings)
            .map_err(|m| BackendError::new(ErrorKind::Config, r, m))
    }

    fn from_parts(
        location: Option<&str>,
        params: &[(String, String)],
        service: Service,
        settings: &Settings,
    ) -> Result<Scope, String> {
        let param = |k: &str| {
            params
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let arn = match location {
            Some(l) => parse_arn(l)?,
            None => None,
        };
        if let Some(arn) = &arn
            && arn.service != service.arn_service()
        {
            return Err(format!(
                "this ARN is for the {} service, not {}",
                arn.service,
                service.title()
            ));
        }
        let from_param = param("region").filter(|r| !r.is_empty());
        let region = match (arn.and_then(|a| a.region), from_param) {
            (Some(a), Some(p)) if a != p => {
                return Err(format!(
                    "the ARN names region {a} but ?region= says {p}; drop ?region="
                ));
            }
            (Some(a), _) => Some(a),
            (None, Some(p)) => Some(p),
            (None, None) => settings.aws_region.clone().filter(|r| !r.is_empty()),
        };
        if let Some(r) = &region
            && !valid_region(r)
        {
            return Err(format!(
                "{r:?} is not an AWS region name (expected something like us-east-1)"
            ));
        }
        let profile = param("profile")
            .or_else(|| settings.aws_profile.clone())
            .filter(|p| !p.is_empty());
        Ok(Scope { region, profile })
    }
}

/// The parts of an ARN we read.
#[derive(Debug, PartialEq, Eq)]
struct Arn {
    service: String,
    region: Option<String>,
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`; `Ok(None)` for a plain name.
fn parse_arn(location: &str) -> Result<Option<Arn>, String> {
    if !location.starts_with("arn:") {
        return Ok(None);
    }
    let parts: Vec<&str> = location.splitn(6, ':').collect();
    if parts.len() < 6 || parts[5].is_empty() {
        return Err("malformed ARN; expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE".into());
    }
    Ok(Some(Arn {
        service: parts[2].to_string(),
        region: Some(parts[3].to_string()).filter(|r| !r.is_empty()),
    }))
}

fn valid_region(r: &str) -> bool {
    (1..=40).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !r.starts_with('-')
        && !r.ends_with('-')
}

/// A failure shared by several references (a group that could not be set up,
/// a batch that failed as a whole): becomes one [`BackendError`] per reference.
#[derive(Debug, Clone)]
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

    /// This failure, about `subject` (a reference or a scheme; never a value).
    pub fn at(&self, subject: impl fmt::Display) -> BackendError {
        BackendError::new(self.kind, subject, self.message.clone())
    }
}

/// Fetches `refs` of one service: deduplicated, validated, grouped per
/// (region, profile), the groups concurrently. One result per reference, in order.
async fn fetch_all(
    sdk: &Sdk,
    service: Service,
    known: &[&str],
    refs: &[SecretRef],
) -> Vec<Result<SecretValue, BackendError>> {
    // The same secret named twice (say with two selectors) is fetched once.
    let mut unique: Vec<SecretRef> = Vec::new();
    let mut index_of: HashMap<SecretRef, usize> = HashMap::new();
    let slots: Vec<usize> = refs
        .iter()
        .map(|r| {
            let bare = r.without_selector();
            *index_of.entry(bare.clone()).or_insert_with(|| {
                unique.push(bare);
                unique.len() - 1
            })
        })
        .collect();

    let mut results: Vec<Option<Fetched>> = (0..unique.len()).map(|_| None).collect();
    let mut groups: BTreeMap<Scope, Vec<usize>> = BTreeMap::new();
    for (i, r) in unique.iter().enumerate() {
        let checked = BackendError::check_params(r, known)
            .and_then(|()| Scope::of(r, service, sdk.settings()));
        match checked {
            Ok(scope) => groups.entry(scope).or_default().push(i),
            Err(e) => results[i] = Some(Err(e)),
        }
    }

    let jobs: Vec<Job<'_>> = groups
        .into_iter()
        .map(|(scope, members)| {
            let unique = &unique;
            let fut: Job<'_> = Box::pin(async move {
                let group_refs: Vec<&SecretRef> = members.iter().map(|&i| &unique[i]).collect();
                let values = match sdk.group(&scope).await {
                    Ok(group) => {
                        tracing::debug!(
                            "aws {}: {} reference(s), {}, {}",
                            service.title(),
                            group_refs.len(),
                            group.scope_text(),
                            group.endpoint(service)
                        );
                        let work = async {
                            match service {
                                Service::SecretsManager => {
                                    sm::fetch_group(&group, &group_refs).await
                                }
                                Service::Ssm => ssm::fetch_group(&group, &group_refs).await,
                                // Minting never goes through here (sts.rs fetches).
                                Service::Sts => Vec::new(),
                            }
                        };
                        // The SDK's own timeouts fire first; this bounds everything else.
                        match tokio::time::timeout(sdk.deadline(), work).await {
                            Ok(v) => v,
                            Err(_) => {
                                let f = group.timed_out(service);
                                group_refs.iter().map(|r| Err(f.at(r))).collect()
                            }
                        }
                    }
                    Err(f) => group_refs.iter().map(|r| Err(f.at(r))).collect(),
                };
                members.into_iter().zip(values).collect()
            });
            fut
        })
        .collect();
    for (i, v) in join_all(jobs).await.into_iter().flatten() {
        results[i] = Some(v);
    }

    slots
        .into_iter()
        .map(|i| match &results[i] {
            Some(Ok(v)) => Ok(v.clone()),
            Some(Err(e)) => Err(e.clone()),
            None => Err(BackendError::new(
                ErrorKind::Config,
                &unique[i],
                "internal error: no result for this reference",
            )),
        })
        .collect()
}

/// One reference's outcome.
type Fetched = Result<SecretValue, BackendError>;
/// Work on some of a group's references: their indices and outcomes.
type Job<'a> = BoxFuture<'a, Vec<(usize, Fetched)>>;

/// Runs `jobs` concurrently; returns one outcome per reference of `refs`.
async fn run_jobs(refs: &[&SecretRef], jobs: Vec<Job<'_>>) -> Vec<Fetched> {
    let mut results: Vec<Option<Fetched>> = refs.iter().map(|_| None).collect();
    for (i, v) in join_all(jobs).await.into_iter().flatten() {
        results[i] = Some(v);
    }
    results
        .into_iter()
        .zip(refs)
        .map(|(v, r)| {
            v.unwrap_or_else(|| {
                Err(BackendError::new(
                    ErrorKind::Config,
                    r,
                    "internal error: not fetched",
                ))
            })
        })
        .collect()
}

/// Finishes a batch: what it settled, plus `single(i)` for each member it did not.
async fn settle_rest<F, Fut>(
    settled: Vec<Option<Fetched>>,
    members: Vec<usize>,
    single: F,
) -> Vec<(usize, Fetched)>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Fetched>,
{
    let leftovers: Vec<usize> = settled
        .iter()
        .zip(&members)
        .filter(|(s, _)| s.is_none())
        .map(|(_, &i)| i)
        .collect();
    let rest = join_all(
        leftovers
            .iter()
            .map(|&i| {
                let f = single(i);
                async move { (i, f.await) }
            })
            .collect(),
    )
    .await;
    let mut out: Vec<(usize, Fetched)> = settled
        .into_iter()
        .zip(members)
        .filter_map(|(s, i)| s.map(|v| (i, v)))
        .collect();
    out.extend(rest);
    out
}

/// Polls all futures concurrently on the current task; outputs in input order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (fut, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match fut.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

/// A service message or error cause made safe for one line of stderr: control
/// characters become spaces, and it is cut at `max` characters.
fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut last_space = false;
    for (n, c) in s.chars().enumerate() {
        if n >= max {
            out.push('…');
            break;
        }
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        out.push(c);
    }
    out.trim().to_string()
}

/// Converts an SDK timestamp; `None` when it does not fit.
fn system_time(t: Option<&aws_smithy_types::DateTime>) -> Option<std::time::SystemTime> {
    t.and_then(|t| std::time::SystemTime::try_from(*t).ok())
}

#[cfg(test)]
mod tests;
