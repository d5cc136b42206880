//! `AwsSts` minting (being built): every fetch is refused until it lands.

use std::time::Duration;

use crate::backend::mint::MintSpec;
use crate::backend::{Backend, BackendError, BoxFuture, Settings};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub struct StsBackend;

impl StsBackend {
    pub fn new(_settings: &Settings) -> Self {
        Self
    }
}

/// What `r` asks for.
pub fn spec(_r: &SecretRef) -> Result<MintSpec, BackendError> {
    Ok(MintSpec {
        what: "AWS STS session",
        scope: String::new(),
        lifetime: Duration::from_secs(3600),
    })
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
            refs.iter()
                .map(|r| Err(BackendError::unsupported(r, "minting yet")))
                .collect()
        })
    }
}
