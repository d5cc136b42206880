//! `logout URL`: revoke (RFC 7009) where the authorization server offers
//! it, then delete the stored tokens (and with `--forget-client` the client
//! registration).
//!
//! Owns turning the command line into one [`LogoutPlan`] and printing what
//! was done on stderr. A failed revocation is said, and the tokens are
//! deleted anyway. Never prints a token.

use std::sync::Arc;
use std::time::Duration;

use super::bridge::{OAuthPlan, authorizer};
use super::{Error, block_on, data_paths, default_registry, parse_duration};
use crate::cli::LogoutArgs;
use crate::remote::{Http, Limits};

/// What one `logout` does.
struct LogoutPlan {
    url: reqwest::Url,
    oauth: OAuthPlan,
    forget_client: bool,
    limits: Limits,
}

pub fn run(args: LogoutArgs) -> Result<i32, Error> {
    let p = plan(args)?;
    let paths = data_paths()?;
    let registry = Arc::new(default_registry(p.limits.read)?);
    let http = Http::new(p.limits)?;
    let lines = block_on(async {
        let a = authorizer(&p.oauth, p.url, http, registry, &paths, false).await?;
        a.logout(p.forget_client).await.map_err(Error::from)
    })??;
    for l in lines {
        eprintln!("mcp-warden: {l}");
    }
    Ok(0)
}

fn plan(args: LogoutArgs) -> Result<LogoutPlan, Error> {
    let url = super::login::server_url(&args.url)?;
    let read = parse_duration("--read-timeout", &args.read_timeout)?;
    if read.is_zero() {
        return Err(Error::Usage(
            "--read-timeout must be greater than zero".into(),
        ));
    }
    Ok(LogoutPlan {
        oauth: OAuthPlan {
            shown: args.url.clone(),
            client_id: None,
            client_secret: None,
            private_key: None,
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
        limits: Limits {
            connect: Duration::from_secs(10),
            read,
            max_message: super::bridge::MAX_MESSAGE,
        },
    })
}
