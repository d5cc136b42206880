//! `AzureToken` minting (being built): every fetch is refused until it lands.

use std::time::Duration;

use crate::backend::mint::MintSpec;
use crate::backend::{Backend, BackendError, BoxFuture, Settings};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub struct TokenBackend;

impl TokenBackend {
    pub fn new(_settings: &Settings) -> Self {
        Self
    }
}

/// What `r` asks for.
pub fn spec(_r: &SecretRef) -> Result<MintSpec, BackendError> {
    Ok(MintSpec {
        what: "Entra access token",
        scope: String::new(),
        lifetime: Duration::from_secs(3600),
    })
}

impl Backend for TokenBackend {
    fn scheme(&self) -> Scheme {
        Scheme::AzureToken
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
