//! Scheme -> backend. Builds each backend once, on first use, so a run that
//! needs only the local store never pays for an AWS client.
//!
//! Owns which schemes are built into this binary. Must not fetch anything itself.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Backend, BackendError, BoxFuture, ErrorKind, Lease};
use crate::paths::Paths;
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

/// Settings every backend may read. Built once per invocation from the CLI.
#[derive(Debug, Clone)]
pub struct Settings {
    pub paths: Paths,
    /// Region for AWS references that name none (`--vault-region`, `VAULT_REGION`).
    pub aws_region: Option<String>,
    /// Profile for AWS references that name none (`--vault-profile`, `VAULT_PROFILE`).
    pub aws_profile: Option<String>,
    /// Upper bound for one reference; backends set their connect/read timeouts within it.
    pub timeout: Duration,
    /// Credentials the GCP and Azure backends use instead of their defaults.
    pub cloud: CloudSettings,
}

/// Credential choices for the cloud backends, from mcp-secret-wrapper's options
/// (`--vault-keyFilename`, `--vault-tenantId`, `--vault-clientId`); empty by default.
#[derive(Debug, Clone, Default)]
pub struct CloudSettings {
    /// A Google credentials file to use instead of Application Default Credentials.
    pub gcp_key_file: Option<std::path::PathBuf>,
    /// The Entra tenant for Azure credentials, instead of `AZURE_TENANT_ID`.
    pub azure_tenant_id: Option<String>,
    /// The Entra client (application) id, instead of `AZURE_CLIENT_ID`.
    pub azure_client_id: Option<String>,
    /// Where the Azure client secret is stored (`--vault-clientSecretRef`).
    pub azure_client_secret: Option<SecretRef>,
    /// Where a Google credentials JSON is stored (`--vault-credentialsRef`).
    pub gcp_credentials: Option<SecretRef>,
    /// An AWS access key id (`--vault-accessKeyId`), with its secret below.
    pub aws_access_key_id: Option<String>,
    /// Where the AWS secret access key is stored (`--vault-secretAccessKeyRef`).
    pub aws_secret_access_key: Option<SecretRef>,
    /// Where the AWS session token is stored (`--vault-sessionTokenRef`).
    pub aws_session_token: Option<SecretRef>,
}

impl CloudSettings {
    /// The same choices without the stored-credential references, for the
    /// registry that fetches those credentials (so none is fetched in a loop).
    fn without_stored(&self) -> CloudSettings {
        CloudSettings {
            gcp_key_file: self.gcp_key_file.clone(),
            azure_tenant_id: self.azure_tenant_id.clone(),
            azure_client_id: self.azure_client_id.clone(),
            ..CloudSettings::default()
        }
    }
}

/// The schemes built into this binary.
pub const BUILT: &[Scheme] = &[
    Scheme::Local,
    Scheme::File,
    Scheme::AwsSm,
    Scheme::AwsSsm,
    Scheme::Vault,
    Scheme::GcpSm,
    Scheme::AzureKv,
    Scheme::Keyring,
    Scheme::Op,
    Scheme::GithubApp,
    Scheme::AwsSts,
    Scheme::GcpToken,
    Scheme::AzureToken,
];

pub struct Registry {
    settings: Settings,
    local: OnceLock<Arc<dyn Backend>>,
    file: OnceLock<Arc<dyn Backend>>,
    /// The AWS backends (aws-sm, aws-ssm, aws-sts), built together: they share
    /// one SDK configuration cache.
    aws: OnceLock<super::aws::AwsBackends>,
    vault: OnceLock<Arc<dyn Backend>>,
    gcp: OnceLock<Arc<dyn Backend>>,
    azure: OnceLock<Arc<dyn Backend>>,
    keyring: OnceLock<Arc<dyn Backend>>,
    op: OnceLock<Arc<dyn Backend>>,
    github_app: OnceLock<Arc<dyn Backend>>,
    gcp_token: OnceLock<Arc<dyn Backend>>,
    azure_token: OnceLock<Arc<dyn Backend>>,
}

impl Registry {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            local: OnceLock::new(),
            file: OnceLock::new(),
            aws: OnceLock::new(),
            vault: OnceLock::new(),
            gcp: OnceLock::new(),
            azure: OnceLock::new(),
            keyring: OnceLock::new(),
            op: OnceLock::new(),
            github_app: OnceLock::new(),
            gcp_token: OnceLock::new(),
            azure_token: OnceLock::new(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The backend for `scheme`, built on first use. Every scheme is built
    /// into this binary, so this does not fail today.
    pub fn get(&self, scheme: Scheme) -> Result<Arc<dyn Backend>, BackendError> {
        let s = &self.settings;
        let b = match scheme {
            Scheme::Local => self
                .local
                .get_or_init(|| Arc::new(super::local::LocalBackend::new(s.paths.clone()))),
            Scheme::File => self.file.get_or_init(|| Arc::new(super::file::FileBackend)),
            Scheme::AwsSm => &self.aws.get_or_init(|| super::aws::AwsBackends::new(s)).sm,
            Scheme::AwsSsm => &self.aws.get_or_init(|| super::aws::AwsBackends::new(s)).ssm,
            Scheme::Vault => self.vault.get_or_init(|| {
                Arc::new(super::vault::VaultBackend::new(
                    s.timeout,
                    credential_fetcher(s, &[Scheme::Vault]),
                ))
            }),
            Scheme::GcpSm => self
                .gcp
                .get_or_init(|| Arc::new(super::gcp::GcpBackend::new(s))),
            Scheme::AzureKv => self
                .azure
                .get_or_init(|| Arc::new(super::azure::AzureBackend::new(s))),
            Scheme::Keyring => self
                .keyring
                .get_or_init(|| Arc::new(super::keyring::KeyringBackend::new(s.timeout))),
            Scheme::Op => self
                .op
                .get_or_init(|| Arc::new(super::op::OpBackend::new(s))),
            Scheme::GithubApp => self
                .github_app
                .get_or_init(|| Arc::new(super::github_app::GithubAppBackend::new(s))),
            Scheme::AwsSts => &self.aws.get_or_init(|| super::aws::AwsBackends::new(s)).sts,
            Scheme::GcpToken => self
                .gcp_token
                .get_or_init(|| Arc::new(super::gcp::token::TokenBackend::new(s))),
            Scheme::AzureToken => self
                .azure_token
                .get_or_init(|| Arc::new(super::azure::token::TokenBackend::new(s))),
        };
        Ok(b.clone())
    }
}

impl Registry {
    /// Leases and login tokens every built backend obtained so far, handed over
    /// to the caller to renew and revoke.
    pub fn held(&self) -> Vec<Arc<dyn Lease>> {
        let mut out = Vec::new();
        for b in self.built() {
            out.extend(b.held());
        }
        out
    }

    /// What the minting backends made so far (scope and expiry, never a
    /// value), handed over to the caller.
    pub fn minted(&self) -> Vec<super::Minted> {
        self.built().flat_map(|b| b.minted()).collect()
    }

    /// Every backend built so far.
    fn built(&self) -> impl Iterator<Item = &Arc<dyn Backend>> {
        let single = [
            &self.local,
            &self.file,
            &self.vault,
            &self.gcp,
            &self.azure,
            &self.keyring,
            &self.op,
            &self.github_app,
            &self.gcp_token,
            &self.azure_token,
        ];
        let aws = self
            .aws
            .get()
            .into_iter()
            .flat_map(|a| [&a.sm, &a.ssm, &a.sts]);
        single.into_iter().filter_map(OnceLock::get).chain(aws)
    }
}

/// A fetcher for a backend's own credentials (a Vault secret id from
/// `local://`, an Azure client secret from the keychain, ...), which refuses
/// references to the `forbidden` schemes: a backend's credential cannot come
/// from itself.
pub(crate) fn credential_fetcher(
    settings: &Settings,
    forbidden: &'static [Scheme],
) -> Arc<dyn super::vault::Credentials> {
    let mut inner = settings.clone();
    inner.cloud = settings.cloud.without_stored();
    Arc::new(CredentialFetcher(inner, forbidden))
}

/// Fetches a backend's own login credentials through a registry of its own,
/// with the reference's selector applied.
struct CredentialFetcher(Settings, &'static [Scheme]);

impl super::vault::Credentials for CredentialFetcher {
    fn fetch<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretValue, BackendError>> {
        Box::pin(async move {
            if self.1.contains(&r.scheme) {
                return Err(BackendError::new(
                    ErrorKind::Config,
                    r,
                    format!(
                        "a {} credential cannot itself come from {}; store it elsewhere \
                         (local://, keyring://, file://)",
                        r.scheme, r.scheme
                    ),
                ));
            }
            let backend = Registry::new(self.0.clone()).get(r.scheme)?;
            let bare = [r.without_selector()];
            let fetch = tokio::time::timeout(self.0.timeout, backend.fetch(&bare));
            let whole = match fetch.await {
                Ok(mut v) => v.pop().unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::Io,
                        r,
                        "backend returned no result",
                    ))
                })?,
                Err(_) => {
                    return Err(BackendError::new(
                        ErrorKind::TimedOut,
                        r,
                        "no answer in time; check the backend is reachable",
                    ));
                }
            };
            match &r.selector {
                None => Ok(whole),
                Some(sel) => {
                    let doc: serde_json::Value =
                        serde_json::from_slice(whole.expose()).map_err(|_| {
                            BackendError::new(
                                ErrorKind::BadData,
                                r,
                                "the value is not JSON, so the selector cannot apply",
                            )
                        })?;
                    sel.select_scalar(&doc)
                        .map(SecretValue::from_string)
                        .map_err(|e| BackendError::new(ErrorKind::BadData, r, e.to_string()))
                }
            }
        })
    }
}
