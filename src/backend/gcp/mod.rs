//! GCP Secret Manager (`gcp-sm://PROJECT/SECRET[?version=N|latest]`, and the
//! bare resource names `projects/P/secrets/S[/versions/V]`).
//!
//! Owns: grouping references per (endpoint, credential) with one HTTP client
//! and one credential per backend (so one token per run), fetching every
//! version concurrently within the reference's deadline, and the writable
//! side (`secret set` adds a version and creates the secret when missing;
//! `rm`, `ls`, metadata for `inventory`). Credentials are Google's ADC, through
//! the official `google-cloud-auth` crate ([`auth`]); the calls are the
//! documented REST API ([`api`]). `gcp-token://` ([`token`]) mints with the
//! same credentials. Must not apply selectors, print, or put a token or value
//! into an error.

mod api;
mod auth;
mod crc32c;
mod foreign;
mod refusal;
mod target;
pub mod token;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use self::api::Api;
use self::auth::{Auth, Source};
use self::target::Target;
use super::rest::{self, Fail, Http};
use super::{Backend, BackendError, BoxFuture, ErrorKind, SecretInfo, Settings, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub struct GcpBackend {
    settings: Settings,
    http: OnceLock<Result<Http, Fail>>,
    auths: Mutex<HashMap<Source, Arc<Auth>>>,
}

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

impl GcpBackend {
    /// Reads nothing and touches no network until first use.
    pub fn new(settings: &Settings) -> Self {
        Self {
            settings: settings.clone(),
            http: OnceLock::new(),
            auths: Mutex::new(HashMap::new()),
        }
    }

    fn http(&self) -> Result<&Http, Fail> {
        self.http
            .get_or_init(|| Http::new(rest::call_timeout(self.settings.timeout)))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The credential for this run: the key file the caller named, else ADC.
    fn auth(&self) -> Arc<Auth> {
        let cloud = &self.settings.cloud;
        let source = Source::resolve(
            cloud.gcp_credentials.as_ref(),
            cloud.gcp_key_file.as_deref(),
            &env,
        );
        let mut map = self.auths.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(source.clone())
            .or_insert_with(|| {
                let stored = super::registry::credential_fetcher(
                    &self.settings,
                    &[Scheme::GcpSm, Scheme::GcpToken],
                );
                Arc::new(Auth::new(source, stored, &env))
            })
            .clone()
    }

    fn deadline(&self) -> Instant {
        Instant::now() + rest::call_timeout(self.settings.timeout)
    }

    fn target(&self, r: &SecretRef) -> Result<Target, BackendError> {
        BackendError::check_params(r, target::PARAMS)?;
        target::parse(&r.location, &r.params, &env)
            .map_err(|m| BackendError::new(ErrorKind::Config, r, m))
    }

    /// A write, delete or metadata call addresses the secret, not a version.
    fn secret_target(&self, r: &SecretRef, verb: &str) -> Result<Target, BackendError> {
        let t = self.target(r)?;
        let versioned = r.param("version").is_some() || r.location.contains("/versions/");
        if versioned {
            return Err(BackendError::new(
                ErrorKind::Config,
                r,
                format!("{verb} works on the whole secret: drop the version"),
            ));
        }
        Ok(t)
    }

    async fn fetch_all(&self, refs: &[SecretRef]) -> Vec<Result<SecretValue, BackendError>> {
        let mut results: Vec<Option<Result<SecretValue, BackendError>>> =
            refs.iter().map(|_| None).collect();
        // (endpoint, version name) -> the references asking for it.
        let mut groups: BTreeMap<String, BTreeMap<String, (Target, Vec<usize>)>> = BTreeMap::new();
        for (i, r) in refs.iter().enumerate() {
            match self.target(r) {
                Ok(t) => {
                    tracing::debug!("{r}: gcp {} at {}", t.version_name(), t.endpoint);
                    groups
                        .entry(t.endpoint.to_string())
                        .or_default()
                        .entry(t.version_name())
                        .or_insert_with(|| (t, Vec::new()))
                        .1
                        .push(i);
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let http = match self.http() {
            Ok(h) => h,
            Err(f) => return refs.iter().map(|r| Err(f.at(r))).collect(),
        };
        let auth = self.auth();
        let deadline = self.deadline();
        let jobs: Vec<_> = groups
            .into_values()
            .flat_map(|g| g.into_values())
            .map(|(t, members)| {
                let auth = auth.clone();
                async move {
                    let api = Api {
                        service: api::SECRET_MANAGER,
                        http,
                        endpoint: &t.endpoint,
                        auth: &auth,
                        deadline,
                    };
                    (members, api.access(&t.version_name()).await)
                }
            })
            .collect();
        for (members, got) in rest::join_all(jobs).await {
            for i in members {
                results[i] = Some(got.clone().map_err(|f| f.at(&refs[i])));
            }
        }
        results
            .into_iter()
            .zip(refs)
            .map(|(v, r)| {
                v.unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::Io,
                        r,
                        "internal error: not fetched",
                    ))
                })
            })
            .collect()
    }

    fn api<'a>(&'a self, t: &'a Target, auth: &'a Auth) -> Result<Api<'a>, Fail> {
        Ok(Api {
            service: api::SECRET_MANAGER,
            http: self.http()?,
            endpoint: &t.endpoint,
            auth,
            deadline: self.deadline(),
        })
    }
}

impl Backend for GcpBackend {
    fn scheme(&self) -> Scheme {
        Scheme::GcpSm
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(self.fetch_all(refs))
    }

    /// Adds a version; creates the secret (automatic replication) when missing.
    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let t = self.secret_target(r, "writing")?;
            let auth = self.auth();
            let api = self.api(&t, &auth).map_err(|f| f.at(r))?;
            let name = t.secret_name();
            if api.add_version(&name, value).await.map_err(|f| f.at(r))? {
                return Ok(WriteOutcome::Updated);
            }
            // Created by someone else in between is fine: add our version to it.
            let created = api
                .create(&t.project, &t.secret)
                .await
                .map_err(|f| f.at(r))?;
            if api.add_version(&name, value).await.map_err(|f| f.at(r))? {
                Ok(if created {
                    WriteOutcome::Created
                } else {
                    WriteOutcome::Updated
                })
            } else {
                Err(BackendError::new(
                    ErrorKind::NotFound,
                    r,
                    "the secret vanished right after it was created; try again",
                ))
            }
        })
    }

    /// Deletes the secret and every version. Secret Manager has no undo.
    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let t = self.secret_target(r, "deleting")?;
            let auth = self.auth();
            let api = self.api(&t, &auth).map_err(|f| f.at(r))?;
            api.delete(&t.secret_name()).await.map_err(|f| f.at(r))
        })
    }

    /// `gcp-sm://PROJECT/[PREFIX]`: the project's secrets whose ids start with PREFIX.
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let subject = format!("gcp-sm://{prefix}");
            let fail = |m: String| BackendError::new(ErrorKind::Config, &subject, m);
            let (project, name_prefix) = prefix.split_once('/').unwrap_or((prefix, ""));
            if project.is_empty() || !target::valid_project(project) {
                return Err(fail(
                    "name the project to list: gcp-sm://PROJECT/[PREFIX]".into(),
                ));
            }
            if let Some((k, _)) = params.iter().find(|(k, _)| k != "endpoint") {
                return Err(fail(format!(
                    "unknown parameter {k:?} here (allowed: endpoint)"
                )));
            }
            let from_param = params.iter().rev().find(|(k, _)| k == "endpoint");
            let endpoint =
                target::endpoint(from_param.map(|(_, v)| v.as_str()), &env).map_err(fail)?;
            let t = Target {
                project: project.to_string(),
                secret: String::new(),
                version: String::new(),
                endpoint,
            };
            let auth = self.auth();
            let api = self.api(&t, &auth).map_err(|f| f.at(&subject))?;
            let found = api
                .list(project, name_prefix)
                .await
                .map_err(|f| f.at(&subject))?;
            Ok(found
                .into_iter()
                .map(|(id, created)| SecretInfo {
                    name: format!("{project}/{id}"),
                    created,
                    ..SecretInfo::default()
                })
                .collect())
        })
    }

    /// Created (the secret), last changed and version (its latest version).
    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let t = self.target(r)?;
            let auth = self.auth();
            let api = self.api(&t, &auth).map_err(|f| f.at(r))?;
            let name = t.secret_name();
            let (created, latest) =
                tokio::join!(api.secret_created(&name), api.latest_version(&name));
            let created = created.map_err(|f| f.at(r))?;
            let (version, updated) = latest.map_err(|f| f.at(r))?;
            Ok(SecretInfo {
                name: format!("{}/{}", t.project, t.secret),
                created,
                updated,
                rotated: None,
                version,
            })
        })
    }
}
