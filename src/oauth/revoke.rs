//! Token revocation (RFC 7009): telling the authorization server a token is
//! no longer wanted, with the client authenticated as at the token endpoint.
//!
//! Owns the one request per token (`token`, `token_type_hint`). A server
//! without a revocation endpoint is not an error here: the caller says so.
//! Must not delete anything locally.

use super::http as oh;
use super::token::{self, ClientAuth, Params};
use super::{Kind, OAuthError};
use crate::remote::Http;
use zeroize::Zeroizing;

/// Revokes `token` (a refresh or an access token, as `hint` says).
pub async fn revoke(
    http: &Http,
    endpoint: &str,
    issuer: &str,
    client: &ClientAuth,
    token: &str,
    hint: &'static str,
) -> Result<(), OAuthError> {
    let url = oh::url(endpoint, "the revocation endpoint")?;
    let mut params: Params = vec![
        ("token", Zeroizing::new(token.to_string())),
        ("token_type_hint", Zeroizing::new(hint.to_string())),
    ];
    let headers = token::authenticate(client, issuer, &mut params)?;
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let a = oh::post(
        http,
        &url,
        oh::form(&pairs),
        "application/x-www-form-urlencoded",
        &headers,
    )
    .await?;
    // RFC 7009 §2.2: 200 also for a token the server no longer knows
    if a.status.is_success() {
        return Ok(());
    }
    let mut e = token::error_answer(&a, "revocation");
    if e.code.as_deref() == Some("unsupported_token_type") {
        e.kind = Kind::Config;
    }
    Err(e)
}
