//! SDK configurations: loaded once per (region, profile), credentials resolved
//! once per profile, clients built once per (service, region, profile).
//!
//! Owns the timeout and retry policy every AWS call runs under. Must not make
//! a service call itself: only the credential chain may touch the network here.

use aws_credential_types::provider::error::CredentialsError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_secretsmanager::config::interceptors::InterceptorContext;
use aws_sdk_secretsmanager::config::retry::{ClassifyRetry, RetryAction};
use aws_sdk_secretsmanager::config::{ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

use super::{Fail, Scope, Service, one_line};
use crate::backend::{ErrorKind, Settings};

/// What to say when no region is known.
pub(crate) const NO_REGION: &str =
    "no AWS region: add ?region= or --vault-region or set AWS_REGION";

/// Attempts per call, the first included. Only throttling and 5xx are retried.
const MAX_ATTEMPTS: u32 = 3;

type Cell<T> = Arc<OnceCell<Result<T, Fail>>>;

/// The per-process cache of SDK configurations. Shared by both AWS backends.
pub(crate) struct Sdk {
    settings: Settings,
    groups: Mutex<HashMap<Scope, Cell<Arc<Group>>>>,
    credentials: Mutex<HashMap<Option<String>, Cell<SharedCredentialsProvider>>>,
}

/// One loaded configuration: a region, a profile, resolved credentials, and
/// the clients built from them.
pub(crate) struct Group {
    pub region: String,
    pub profile: Option<String>,
    config: SdkConfig,
    timeout: Duration,
    sm: OnceLock<aws_sdk_secretsmanager::Client>,
    ssm: OnceLock<aws_sdk_ssm::Client>,
    sts: OnceLock<aws_sdk_sts::Client>,
}

impl Sdk {
    pub fn new(settings: &Settings) -> Self {
        Self {
            settings: settings.clone(),
            groups: Mutex::new(HashMap::new()),
            credentials: Mutex::new(HashMap::new()),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// What one AWS call may take, retries included: a little under the
    /// reference's `--timeout`, so our clearer error wins over the resolver's.
    pub fn deadline(&self) -> Duration {
        call_timeout(self.settings.timeout)
    }

    /// The group serving reference `r` of `service`, after checking its
    /// parameters against `known`.
    pub async fn group_for(
        &self,
        r: &crate::reference::SecretRef,
        service: super::Service,
        known: &[&str],
    ) -> Result<Arc<Group>, crate::backend::BackendError> {
        crate::backend::BackendError::check_params(r, known)?;
        let scope = Scope::of(r, service, &self.settings)?;
        self.group(&scope).await.map_err(|f| f.at(r))
    }

    /// The configuration for `scope`, loading it on first use. Concurrent
    /// callers for the same scope wait for one load.
    pub async fn group(&self, scope: &Scope) -> Result<Arc<Group>, Fail> {
        let cell = {
            let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
            groups.entry(scope.clone()).or_default().clone()
        };
        cell.get_or_init(|| self.load(scope)).await.clone()
    }

    async fn load(&self, scope: &Scope) -> Result<Arc<Group>, Fail> {
        let timeout = self.deadline();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts(timeout))
            .retry_config(retries());
        if let Some(region) = &scope.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &scope.profile {
            loader = loader.profile_name(profile);
        }
        let config = tokio::time::timeout(timeout, loader.load())
            .await
            .map_err(|_| {
                Fail::new(
                    ErrorKind::TimedOut,
                    format!(
                        "loading the AWS configuration took longer than {}; check the region \
                     settings (without a region the SDK asks the EC2 instance metadata service)",
                        humantime::format_duration(timeout)
                    ),
                )
            })?;
        let Some(region) = config.region().map(|r| r.to_string()) else {
            return Err(Fail::new(ErrorKind::Config, NO_REGION));
        };
        let credentials = self.credentials(scope, &config, timeout).await?;
        let config = config
            .into_builder()
            .credentials_provider(credentials)
            .build();
        Ok(Arc::new(Group {
            region,
            profile: scope.profile.clone(),
            config,
            timeout,
            sm: OnceLock::new(),
            ssm: OnceLock::new(),
            sts: OnceLock::new(),
        }))
    }

    /// Resolves credentials once per profile and hands them out as a fixed
    /// provider, so an SSO login, a `credential_process` or an assume-role
    /// runs once however many regions and services a run touches.
    async fn credentials(
        &self,
        scope: &Scope,
        config: &SdkConfig,
        timeout: Duration,
    ) -> Result<SharedCredentialsProvider, Fail> {
        let cell = {
            let mut creds = self.credentials.lock().unwrap_or_else(|p| p.into_inner());
            creds.entry(scope.profile.clone()).or_default().clone()
        };
        cell.get_or_init(|| async {
            if scope.profile.is_none()
                && let Some(r) = &self.settings.cloud.aws_secret_access_key
            {
                return self.stored_credentials(r).await;
            }
            let provider: SharedCredentialsProvider = match &scope.profile {
                // A named profile wins over AWS_ACCESS_KEY_ID, as with `aws --profile`.
                Some(profile) => SharedCredentialsProvider::new(
                    ProfileFileCredentialsProvider::builder()
                        .configure(&ProviderConfig::default().with_region(config.region().cloned()))
                        .profile_name(profile)
                        .build(),
                ),
                None => config.credentials_provider().ok_or_else(|| {
                    Fail::new(ErrorKind::Config, "the AWS SDK has no credentials provider")
                })?,
            };
            let who = match &scope.profile {
                Some(p) => format!("AWS profile {p:?}"),
                None => "the default AWS credentials chain".to_string(),
            };
            match tokio::time::timeout(timeout, provider.provide_credentials()).await {
                Ok(Ok(creds)) => Ok(SharedCredentialsProvider::new(creds)),
                Ok(Err(e)) => Err(credentials_failure(&e, &who, scope.profile.as_deref())),
                Err(_) => Err(Fail::new(
                    ErrorKind::TimedOut,
                    format!(
                        "loading credentials from {who} took longer than {}; check SSO, \
                         credential_process or the instance metadata service",
                        humantime::format_duration(timeout)
                    ),
                )),
            }
        })
        .await
        .clone()
    }
}

impl Sdk {
    /// Static credentials from `--vault-accessKeyId` and the secret access key
    /// (and session token) kept at references (`--vault-secretAccessKeyRef`).
    async fn stored_credentials(
        &self,
        secret_ref: &crate::reference::SecretRef,
    ) -> Result<SharedCredentialsProvider, Fail> {
        let cloud = &self.settings.cloud;
        let id = cloud.aws_access_key_id.clone().ok_or_else(|| {
            Fail::new(
                ErrorKind::Config,
                "--vault-secretAccessKeyRef needs --vault-accessKeyId (or VAULT_ACCESSKEYID)",
            )
        })?;
        let fetcher = crate::backend::registry::credential_fetcher(
            &self.settings,
            &[
                crate::reference::Scheme::AwsSm,
                crate::reference::Scheme::AwsSsm,
                crate::reference::Scheme::AwsSts,
            ],
        );
        let text = |v: crate::secret::SecretValue, what: &str| {
            v.as_str().map(str::to_string).ok_or_else(|| {
                Fail::new(
                    ErrorKind::BadData,
                    format!("the stored AWS {what} is not text"),
                )
            })
        };
        let read = |e: crate::backend::BackendError| {
            Fail::new(e.kind, format!("reading the AWS credentials from {e}"))
        };
        let secret = text(
            fetcher.fetch(secret_ref).await.map_err(read)?,
            "secret access key",
        )?;
        let token = match &cloud.aws_session_token {
            Some(r) => Some(text(
                fetcher.fetch(r).await.map_err(read)?,
                "session token",
            )?),
            None => None,
        };
        Ok(SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new(id, secret, token, None, "mcp-warden stored"),
        ))
    }
}

impl Group {
    /// A group that never loaded anything, for message tests.
    #[cfg(test)]
    pub fn for_test(region: &str, profile: Option<&str>) -> Group {
        Group {
            region: region.to_string(),
            profile: profile.map(str::to_string),
            config: SdkConfig::builder()
                .region(Region::new(region.to_string()))
                .build(),
            timeout: Duration::from_secs(9),
            sm: OnceLock::new(),
            ssm: OnceLock::new(),
            sts: OnceLock::new(),
        }
    }

    pub fn sm(&self) -> &aws_sdk_secretsmanager::Client {
        self.sm.get_or_init(|| {
            let conf = aws_sdk_secretsmanager::config::Builder::from(&self.config)
                .retry_classifier(ThrottlingAnd5xxOnly)
                .build();
            aws_sdk_secretsmanager::Client::from_conf(conf)
        })
    }

    pub fn ssm(&self) -> &aws_sdk_ssm::Client {
        self.ssm.get_or_init(|| {
            let conf = aws_sdk_ssm::config::Builder::from(&self.config)
                .retry_classifier(ThrottlingAnd5xxOnly)
                .build();
            aws_sdk_ssm::Client::from_conf(conf)
        })
    }

    pub fn sts(&self) -> &aws_sdk_sts::Client {
        self.sts.get_or_init(|| {
            let conf = aws_sdk_sts::config::Builder::from(&self.config)
                .retry_classifier(ThrottlingAnd5xxOnly)
                .build();
            aws_sdk_sts::Client::from_conf(conf)
        })
    }

    /// Where requests for `service` go, for messages: the override when one is
    /// set, else the service's regional endpoint.
    pub fn endpoint(&self, service: Service) -> String {
        let from_env = std::env::var(service.endpoint_env())
            .ok()
            .filter(|v| !v.is_empty());
        match from_env.or_else(|| self.config.endpoint_url().map(str::to_string)) {
            Some(url) => format!("endpoint {}", strip_userinfo(&url)),
            None => format!("the {} endpoint of {}", service.title(), self.region),
        }
    }

    /// "region R, profile P" for messages.
    pub fn scope_text(&self) -> String {
        match &self.profile {
            Some(p) => format!("region {}, profile {p}", self.region),
            None => format!("region {}", self.region),
        }
    }

    /// The failure for a call that outlived the deadline.
    pub fn timed_out(&self, service: Service) -> Fail {
        Fail::new(
            ErrorKind::TimedOut,
            format!(
                "{} did not answer within {} ({}); check the endpoint and the network",
                service.title(),
                humantime::format_duration(self.timeout),
                self.endpoint(service)
            ),
        )
    }
}

/// Every phase of a call is bounded by the call's deadline: a closed port fails
/// at once, a silent one when the deadline passes, and a 5xx retry never
/// outlives it.
fn timeouts(deadline: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(deadline)
        .read_timeout(deadline)
        .operation_attempt_timeout(deadline)
        .operation_timeout(deadline)
        .build()
}

/// Standard mode (exponential backoff with full jitter, a retry quota), short
/// waits: this runs while an MCP client waits for its server to start.
fn retries() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(2))
}

/// 90% of `--timeout` (at least 50 ms), so the SDK's timeouts fire before the
/// resolver's and the error can name the endpoint.
pub(crate) fn call_timeout(timeout: Duration) -> Duration {
    timeout.mul_f64(0.9).max(Duration::from_millis(50))
}

/// Keeps the SDK's retries to throttling and 5xx answers.
///
/// The SDK's classifiers also retry I/O errors and timeouts, which would turn a
/// closed port into seconds of backoff and a silent one into several waits. This
/// classifier forbids a retry whenever no HTTP answer arrived (or the answer was
/// a success that failed to read), and leaves answers of 400 and above to the
/// SDK's classifiers: 500/502/503/504 and AWS throttling codes (and AWS's own
/// `RequestTimeout` codes) are retried, other 4xx are not.
#[derive(Debug)]
struct ThrottlingAnd5xxOnly;

impl ClassifyRetry for ThrottlingAnd5xxOnly {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        match ctx.output_or_error() {
            None | Some(Ok(_)) => RetryAction::NoActionIndicated,
            Some(Err(_)) => match ctx.response() {
                Some(answer) if answer.status().as_u16() >= 400 => RetryAction::NoActionIndicated,
                _ => RetryAction::RetryForbidden,
            },
        }
    }

    fn name(&self) -> &'static str {
        "mcp-warden: retry throttling and 5xx only"
    }
}

/// A credentials failure as a one-line message with a hint.
fn credentials_failure(e: &CredentialsError, who: &str, profile: Option<&str>) -> Fail {
    let cause = super::error::root_cause(e);
    let cause = if cause.is_empty() || cause == e.to_string() {
        String::new()
    } else {
        format!(": {cause}")
    };
    match credentials_kind(e) {
        CredentialsKind::NotLoaded if profile.is_some() => Fail::new(
            ErrorKind::Config,
            format!(
                "no AWS credentials found for {who}; check that the profile exists in \
                 ~/.aws/config or ~/.aws/credentials (AWS_CONFIG_FILE, \
                 AWS_SHARED_CREDENTIALS_FILE) and has credentials, or run `aws sso login`"
            ),
        ),
        CredentialsKind::NotLoaded => Fail::new(
            ErrorKind::Config,
            format!(
                "no AWS credentials found by {who}; set AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY, name a profile (?profile=, --vault-profile) or \
                 run `aws sso login`"
            ),
        ),
        CredentialsKind::TimedOut => Fail::new(
            ErrorKind::TimedOut,
            format!("loading credentials from {who} timed out{cause}"),
        ),
        CredentialsKind::Invalid => Fail::new(
            ErrorKind::Config,
            format!("{who} is not usable{cause}; check ~/.aws/config and ~/.aws/credentials"),
        ),
        CredentialsKind::Provider => Fail::new(
            ErrorKind::Denied,
            format!(
                "{who} could not provide credentials{cause}; log in again (e.g. `aws sso login`) \
                 or check credential_process"
            ),
        ),
        CredentialsKind::Other => Fail::new(
            ErrorKind::Config,
            format!("{who} failed to provide credentials{cause}"),
        ),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum CredentialsKind {
    NotLoaded,
    TimedOut,
    Invalid,
    Provider,
    Other,
}

/// Which kind of credentials failure `e` is.
fn credentials_kind(e: &CredentialsError) -> CredentialsKind {
    match e {
        CredentialsError::CredentialsNotLoaded(_) => CredentialsKind::NotLoaded,
        CredentialsError::ProviderTimedOut(_) => CredentialsKind::TimedOut,
        CredentialsError::InvalidConfiguration(_) => CredentialsKind::Invalid,
        CredentialsError::ProviderError(_) => CredentialsKind::Provider,
        _ => CredentialsKind::Other,
    }
}

/// `https://user:pw@host/` -> `https://host/`: an endpoint in a message never
/// carries credentials.
fn strip_userinfo(url: &str) -> String {
    // nor its query or fragment (a proxy may take a token there)
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.find("://") {
        Some(i) => (&url[..i + 3], &url[i + 3..]),
        None => ("", url),
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    let rest = match rest[..host_end].rfind('@') {
        Some(at) => &rest[at + 1..],
        None => rest,
    };
    one_line(&format!("{scheme}{rest}"), 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_is_stripped() {
        assert_eq!(
            strip_userinfo("http://127.0.0.1:5000"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(strip_userinfo("https://u:p@host/x@y"), "https://host/x@y");
        assert_eq!(
            strip_userinfo("https://proxy/sm?token=t0k#f"),
            "https://proxy/sm"
        );
    }

    #[test]
    fn credential_errors_are_classified() {
        use CredentialsKind::*;
        let cases = [
            (CredentialsError::not_loaded("x"), NotLoaded),
            (
                CredentialsError::provider_timed_out(Duration::from_secs(1)),
                TimedOut,
            ),
            (CredentialsError::invalid_configuration("x"), Invalid),
            (CredentialsError::provider_error("x"), Provider),
            (CredentialsError::unhandled("x"), Other),
        ];
        for (e, kind) in cases {
            assert_eq!(credentials_kind(&e), kind, "{e}");
        }
    }

    #[test]
    fn call_timeout_is_under_the_reference_timeout() {
        assert_eq!(
            call_timeout(Duration::from_secs(10)),
            Duration::from_secs(9)
        );
        assert_eq!(call_timeout(Duration::ZERO), Duration::from_millis(50));
    }
}
