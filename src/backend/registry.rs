//! Scheme -> backend. Builds each backend once, on first use, so a run that
//! needs only the local store never pays for an AWS client.
//!
//! Owns which schemes are built into this binary. Must not fetch anything itself.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::{Backend, BackendError, ErrorKind};
use crate::paths::Paths;
use crate::reference::Scheme;

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
}

/// The schemes built into this binary.
pub const BUILT: &[Scheme] = &[Scheme::Local, Scheme::File, Scheme::AwsSm, Scheme::AwsSsm];

pub struct Registry {
    settings: Settings,
    local: OnceLock<Arc<dyn Backend>>,
    file: OnceLock<Arc<dyn Backend>>,
    /// Both AWS backends, built together: they share one SDK configuration cache.
    aws: OnceLock<super::aws::AwsBackends>,
}

impl Registry {
    pub fn new(settings: Settings) -> Self {
        Self {
            settings,
            local: OnceLock::new(),
            file: OnceLock::new(),
            aws: OnceLock::new(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The backend for `scheme`, or a configuration error (exit 78) naming what is built.
    pub fn get(&self, scheme: Scheme) -> Result<Arc<dyn Backend>, BackendError> {
        let s = &self.settings;
        let b = match scheme {
            Scheme::Local => self
                .local
                .get_or_init(|| Arc::new(super::local::LocalBackend::new(s.paths.clone()))),
            Scheme::File => self.file.get_or_init(|| Arc::new(super::file::FileBackend)),
            Scheme::AwsSm => &self.aws.get_or_init(|| super::aws::AwsBackends::new(s)).sm,
            Scheme::AwsSsm => &self.aws.get_or_init(|| super::aws::AwsBackends::new(s)).ssm,
            other => {
                return Err(BackendError::new(
                    ErrorKind::Config,
                    format!("{other}://"),
                    format!(
                        "the {other} backend is not built into this mcp-warden yet; available: {}",
                        BUILT
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        };
        Ok(b.clone())
    }
}
