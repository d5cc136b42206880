//! `logout URL`: revoke (RFC 7009) where the authorization server offers
//! it, then delete the stored tokens (and with `--forget-client` the client
//! registration).
//!
//! Owns turning the command line into one [`LogoutPlan`], finding the
//! client a pre-registered grant was obtained with (`--client-id` and its
//! secret or key reference, else the references kept with the grant), and
//! printing what was done on stderr. A failed revocation fails the command
//! and keeps the tokens, unless `--force`. Never prints a token.

use std::sync::Arc;
use std::time::Duration;

use super::bridge::{OAuthPlan, authorizer, reference};
use super::{Error, block_on, data_paths, default_registry, parse_duration};
use crate::cli::LogoutArgs;
use crate::oauth::discovery::grant_resource;
use crate::oauth::store::TokenStore;
use crate::reference::SecretRef;
use crate::remote::{Http, Limits};

/// What one `logout` does.
struct LogoutPlan {
    url: reqwest::Url,
    oauth: OAuthPlan,
    forget_client: bool,
    force: bool,
    limits: Limits,
}

pub fn run(args: LogoutArgs) -> Result<i32, Error> {
    let mut p = plan(args)?;
    let paths = data_paths()?;
    let registry = Arc::new(default_registry(p.limits.read)?);
    let http = Http::new(p.limits)?;
    let lines = block_on(async {
        if p.oauth.client_id.is_none() {
            kept_client(&mut p, &paths, registry.clone()).await?;
        }
        let a = authorizer(&p.oauth, p.url, http, registry, &paths, false).await?;
        a.logout(p.forget_client, p.force)
            .await
            .map_err(Error::from)
    })??;
    for l in lines {
        eprintln!("mcp-warden: {l}");
    }
    Ok(0)
}

/// The pre-registered client kept with the grant (its id and the
/// references of its secret or key), so revocation can authenticate.
async fn kept_client(
    p: &mut LogoutPlan,
    paths: &crate::paths::Paths,
    registry: Arc<crate::backend::registry::Registry>,
) -> Result<(), Error> {
    let store = TokenStore::open(paths, registry, p.oauth.token_store.as_deref())
        .map_err(|e| super::bridge::store_error(&e))?;
    let Ok(Some(entry)) = store.find(&grant_resource(&p.url, true), p.oauth.client_id.as_deref())
    else {
        return Ok(());
    };
    let Ok(Some(c)) = store.client(&entry.key.issuer, &entry.key.resource).await else {
        return Ok(());
    };
    if c.client_id != entry.key.client_id
        || (c.client_secret_ref.is_none() && c.private_key_ref.is_none())
    {
        return Ok(());
    }
    let parse = |r: &Option<String>| r.as_deref().and_then(|r| SecretRef::parse(r).ok());
    p.oauth.client_secret = parse(&c.client_secret_ref);
    p.oauth.private_key = parse(&c.private_key_ref);
    p.oauth.client_id = Some(c.client_id.clone());
    Ok(())
}

fn plan(args: LogoutArgs) -> Result<LogoutPlan, Error> {
    let url = super::login::server_url(&args.url)?;
    let read = parse_duration("--read-timeout", &args.read_timeout)?;
    if read.is_zero() {
        return Err(Error::Usage(
            "--read-timeout must be greater than zero".into(),
        ));
    }
    let client_secret = args
        .client_secret
        .as_deref()
        .map(|r| reference("--client-secret", r))
        .transpose()?;
    let private_key = args
        .private_key
        .as_deref()
        .map(|r| reference("--private-key", r))
        .transpose()?;
    Ok(LogoutPlan {
        oauth: OAuthPlan {
            shown: args.url.clone(),
            client_id: args.client_id,
            client_secret,
            private_key,
            client_metadata_url: None,
            client_credentials: false,
            scopes: Vec::new(),
            send_resource: true,
            token_store: args.token_store,
            no_browser: true,
            login_timeout: Duration::from_secs(1),
            eager: false,
        },
        url,
        forget_client: args.forget_client,
        force: args.force,
        limits: Limits {
            connect: Duration::from_secs(10),
            read,
            max_message: super::bridge::MAX_MESSAGE,
        },
    })
}
