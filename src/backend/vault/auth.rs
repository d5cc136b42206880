//! Getting a Vault token: the user's own (`VAULT_TOKEN`, `BAO_TOKEN`,
//! `~/.vault-token`) or one from a login (AppRole, JWT/OIDC, Kubernetes,
//! userpass).
//!
//! Owns the login requests and where their credentials come from (a file, or
//! another mcp-warden reference fetched through [`Credentials`]). Must not keep
//! credentials longer than the login call, and must not put one in an error.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};

use super::Credentials;
use super::client::{Cap, Client, Fail};
use super::config::{Auth, Config, RoleId};
use crate::backend::{BackendError, ErrorKind};
use crate::reference::SecretRef;
use crate::secret::SecretValue;

/// A token and, when it came from a login, what the keeper needs to renew it.
pub(crate) struct Session {
    pub client: Arc<Client>,
    pub token: SecretValue,
    /// The namespace logged in to (`VAULT_NAMESPACE`).
    pub namespace: Option<String>,
    /// Set when mcp-warden logged in: the token is then ours to renew and revoke.
    pub login: Option<LoginInfo>,
}

/// What a login answered about the token's lifetime.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoginInfo {
    pub method: &'static str,
    pub ttl: Duration,
    pub renewable: bool,
    /// When the login was sent: the TTL counts from about then.
    pub obtained: Instant,
}

/// The subject of auth errors.
fn subject(cfg: &Config) -> String {
    format!("vault auth {} (mount {})", cfg.auth.name(), cfg.auth_mount)
}

/// Finds the user's token or logs in.
pub(crate) async fn session(
    cfg: &Config,
    client: Arc<Client>,
    creds: &dyn Credentials,
) -> Result<Session, BackendError> {
    let namespace = cfg.namespace.clone();
    let fail = |f: Fail| BackendError::new(f.kind, subject(cfg), f.message);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (path, body) = match &cfg.auth {
        Auth::Token => {
            let token = match env("VAULT_TOKEN").or_else(|| env("BAO_TOKEN")) {
                Some(t) => SecretValue::from_string(t),
                None => read_token_file(cfg)?,
            };
            return Ok(Session {
                client,
                token,
                namespace,
                login: None,
            });
        }
        Auth::AppRole { role_id, secret_id } => {
            let role_id = match role_id {
                RoleId::Inline(id) => id.trim().to_string(),
                RoleId::File(p) => std::fs::read_to_string(p)
                    .map_err(|e| {
                        BackendError::new(
                            ErrorKind::Config,
                            subject(cfg),
                            format!("MCP_WARDEN_VAULT_ROLE_ID_FILE {}: {e}", p.display()),
                        )
                    })?
                    .trim()
                    .to_string(),
            };
            let secret_id = credential(cfg, creds, secret_id, "MCP_WARDEN_VAULT_SECRET_ID").await?;
            (
                format!("auth/{}/login", cfg.auth_mount),
                json!({ "role_id": role_id, "secret_id": secret_id.as_str().unwrap_or("").trim() }),
            )
        }
        Auth::Jwt { role, jwt } | Auth::Kubernetes { role, jwt } => {
            let jwt = credential(cfg, creds, jwt, "MCP_WARDEN_VAULT_JWT").await?;
            (
                format!("auth/{}/login", cfg.auth_mount),
                json!({ "role": role, "jwt": jwt.as_str().unwrap_or("").trim() }),
            )
        }
        Auth::Userpass { username, password } => {
            let pw = credential(cfg, creds, password, "MCP_WARDEN_VAULT_PASSWORD").await?;
            let pw = pw.as_str().unwrap_or("");
            let pw = pw.strip_suffix('\n').unwrap_or(pw);
            let pw = pw.strip_suffix('\r').unwrap_or(pw);
            (
                format!("auth/{}/login/{username}", cfg.auth_mount),
                json!({ "password": pw }),
            )
        }
    };
    let body = serde_json::to_vec(&body).map_err(|_| {
        BackendError::new(
            ErrorKind::Config,
            subject(cfg),
            "cannot encode the login request",
        )
    })?;
    let obtained = Instant::now();
    let answer = client
        .call(
            Method::POST,
            &path,
            &[],
            None,
            namespace.as_deref(),
            Some(body),
            Cap::Login,
        )
        .await
        .map_err(fail)?;
    let auth = answer.as_ref().and_then(|a| a.get("auth")).ok_or_else(|| {
        BackendError::new(
            ErrorKind::Denied,
            subject(cfg),
            format!("login at {path} answered without a token; check the role"),
        )
    })?;
    let token = auth
        .get("client_token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            BackendError::new(
                ErrorKind::Denied,
                subject(cfg),
                format!("login at {path} answered without a token; check the role"),
            )
        })?;
    Ok(Session {
        client,
        token: SecretValue::from_slice(token.as_bytes()),
        namespace,
        login: Some(LoginInfo {
            method: cfg.auth.name(),
            ttl: Duration::from_secs(
                auth.get("lease_duration")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            ),
            renewable: auth
                .get("renewable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            obtained,
        }),
    })
}

/// `~/.vault-token`, as the Vault CLI writes it after `vault login`.
fn read_token_file(cfg: &Config) -> Result<SecretValue, BackendError> {
    let none = || {
        BackendError::new(
            ErrorKind::Config,
            subject(cfg),
            "no Vault token: set VAULT_TOKEN (or BAO_TOKEN), run `vault login`, or choose a \
             login method with MCP_WARDEN_VAULT_AUTH (approle, jwt, kubernetes, userpass)",
        )
    };
    let Some(path) = &cfg.token_file else {
        return Err(none());
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let v = SecretValue::new(bytes);
            let t = v.as_str().map(str::trim).unwrap_or("");
            if t.is_empty() {
                return Err(none());
            }
            Ok(SecretValue::from_slice(t.as_bytes()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(none()),
        Err(e) => Err(BackendError::new(
            ErrorKind::Config,
            subject(cfg),
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Fetches a login credential; it must be UTF-8 text.
async fn credential(
    cfg: &Config,
    creds: &dyn Credentials,
    r: &SecretRef,
    var: &str,
) -> Result<SecretValue, BackendError> {
    let v = creds
        .fetch(r)
        .await
        .map_err(|e| BackendError::new(e.kind, subject(cfg), format!("{var}: {e}")))?;
    if v.as_str().is_none_or(|s| s.trim().is_empty()) {
        return Err(BackendError::new(
            ErrorKind::BadData,
            subject(cfg),
            format!("{var}: {r} is empty or not UTF-8 text"),
        ));
    }
    Ok(v)
}
