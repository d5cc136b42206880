//! The 1Password Connect server REST API, as documented (`/v1`): vaults by
//! name (`GET /v1/vaults?filter=name eq "…"`) and a vault's name by its ID
//! (`GET /v1/vaults/{id}`), items by title
//! (`GET /v1/vaults/{id}/items?filter=title eq "…"`) or ID, a whole item
//! (`GET /v1/vaults/{id}/items/{id}`), file content, and the writes (`POST`
//! an item, `PATCH` one field, `DELETE`).
//!
//! Owns the bearer token (`OP_CONNECT_TOKEN`, sent as a sensitive header),
//! the server address (`OP_CONNECT_HOST`: https, or http to loopback only),
//! resolving vault names (and IDs to names) once per run, and the mapping of Connect's error
//! answers (401/403 denied, 404 not found, 429/5xx retried then
//! unreachable) to [`Fail`]s quoting only Connect's one-line `message`.
//! Must not put the token, a value or a body into an error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::HeaderValue;
use reqwest::{Method, Url};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::item::Item;
use crate::backend::ErrorKind;
use crate::backend::rest::{
    self, Answer, Fail, Http, Peer, Repeat, host_of, one_line, rfc3339, secret_body,
};
use crate::secret::SecretValue;

/// The environment variables Connect is configured by.
pub(crate) const HOST_ENV: &str = "OP_CONNECT_HOST";
pub(crate) const TOKEN_ENV: &str = "OP_CONNECT_TOKEN";

/// The most items one vault listing is read for (`secret ls`).
const MAX_LISTED: usize = 10_000;

/// One answer per key per run, shared by concurrent askers.
type Memo<T> = Mutex<HashMap<String, Arc<tokio::sync::OnceCell<T>>>>;

/// A Connect server and the token for it.
pub(crate) struct Connect {
    base: Url,
    authorization: HeaderValue,
    http: Http,
    /// Vault name -> ID, resolved once per run.
    vaults: Memo<String>,
    /// Vault ID -> its name now (or why not), asked once per run.
    vault_names: Memo<Result<String, Fail>>,
}

/// An item as a listing shows it: no fields, no values.
pub(crate) struct Summary {
    pub title: String,
    pub created: Option<SystemTime>,
    pub updated: Option<SystemTime>,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default, rename = "createdAt")]
    created: Option<String>,
    #[serde(default, rename = "updatedAt")]
    updated: Option<String>,
}

/// Whether `s` has the form of a 1Password ID (26 lower-case letters and digits).
pub(crate) fn is_id(s: &str) -> bool {
    s.len() == 26
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl Connect {
    /// From `OP_CONNECT_HOST` and `OP_CONNECT_TOKEN`; `None` when either is unset.
    pub fn from_env(timeout: std::time::Duration) -> Option<Result<Connect, Fail>> {
        let host = std::env::var(HOST_ENV)
            .ok()
            .filter(|v| !v.trim().is_empty())?;
        let token = Zeroizing::new(std::env::var(TOKEN_ENV).ok()?);
        if token.trim().is_empty() {
            return None;
        }
        Some(Self::new(&host, token.trim(), timeout))
    }

    fn new(host: &str, token: &str, timeout: std::time::Duration) -> Result<Connect, Fail> {
        let base = rest::base_url(host, HOST_ENV).map_err(|m| Fail::new(ErrorKind::Config, m))?;
        let mut v = Zeroizing::new(Vec::with_capacity(token.len() + 7));
        v.extend_from_slice(b"Bearer ");
        v.extend_from_slice(token.as_bytes());
        let mut authorization = HeaderValue::from_bytes(&v).map_err(|_| {
            Fail::new(
                ErrorKind::Config,
                format!("{TOKEN_ENV} holds characters no HTTP header can carry; check it"),
            )
        })?;
        authorization.set_sensitive(true);
        Ok(Connect {
            base,
            authorization,
            http: Http::new(timeout)?,
            vaults: Mutex::new(HashMap::new()),
            vault_names: Mutex::new(HashMap::new()),
        })
    }

    pub fn peer(&self) -> Peer {
        Peer {
            service: "1Password Connect",
            host: host_of(&self.base),
        }
    }

    /// The server's base URL: what the ID cache is keyed by.
    pub fn server(&self) -> &str {
        self.base.as_str()
    }

    fn url(&self, path: &str) -> Result<Url, Fail> {
        self.base
            .join(path)
            .map_err(|e| Fail::new(ErrorKind::Config, format!("bad Connect path: {e}")))
    }

    /// One call; the 2xx answer, or the failure its status means.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
        deadline: Instant,
    ) -> Result<Answer, Fail> {
        let repeat = match method {
            Method::GET | Method::DELETE => Repeat::Safe,
            _ => Repeat::Never,
        };
        let send = |c: &reqwest::Client| {
            let mut r = c
                .request(method.clone(), url.clone())
                .header(reqwest::header::AUTHORIZATION, self.authorization.clone());
            if let Some(b) = &body {
                r = r
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(b.clone());
            }
            r
        };
        let a = self
            .http
            .send_with(send, repeat, deadline, &self.peer())
            .await?;
        if a.ok() {
            Ok(a)
        } else {
            Err(status_fail(&a, &self.peer()))
        }
    }

    async fn get_json(&self, url: Url, deadline: Instant) -> Result<Answer, Fail> {
        self.call(Method::GET, url, None, deadline).await
    }

    /// The ID of the vault named (or identified by) `vault`, looked up once per run.
    pub async fn vault_id(&self, vault: &str, deadline: Instant) -> Result<String, Fail> {
        if is_id(vault) {
            return Ok(vault.to_string());
        }
        let cell = {
            let mut map = self.vaults.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(vault.to_string()).or_default().clone()
        };
        cell.get_or_try_init(|| async {
            check_filterable(vault, "vault")?;
            let mut url = self.url("v1/vaults")?;
            url.query_pairs_mut()
                .append_pair("filter", &format!("name eq \"{vault}\""));
            let a = self.get_json(url, deadline).await?;
            let found = named_list(&a.body, &self.peer())?;
            match found.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(Fail::new(
                    ErrorKind::NotFound,
                    format!(
                        "no vault named {vault:?} that this Connect token can see; check the \
                         name or grant the token access to the vault"
                    ),
                )),
                many => Err(Fail::new(
                    ErrorKind::Config,
                    format!(
                        "{} vaults are named {vault:?}; use the vault's ID",
                        many.len()
                    ),
                )),
            }
        })
        .await
        .cloned()
    }

    /// The name vault `vault_id` has now (`GET /v1/vaults/{id}`), asked once per run.
    pub async fn vault_name(&self, vault_id: &str, deadline: Instant) -> Result<String, Fail> {
        #[derive(Deserialize)]
        struct Vault {
            #[serde(default)]
            name: String,
        }
        let cell = {
            let mut map = self.vault_names.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(vault_id.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            let a = self
                .get_json(self.url(&format!("v1/vaults/{vault_id}"))?, deadline)
                .await?;
            serde_json::from_slice::<Vault>(&a.body)
                .map(|v| v.name)
                .map_err(|_| {
                    Fail::new(
                        ErrorKind::Unreachable,
                        format!(
                            "{} answered with something that is not a Connect vault; check \
                             OP_CONNECT_HOST",
                            self.peer()
                        ),
                    )
                })
        })
        .await
        .clone()
    }

    /// The ID of the item titled `title` in the vault, if there is one.
    async fn find_item(
        &self,
        vault_id: &str,
        title: &str,
        deadline: Instant,
    ) -> Result<Option<String>, Fail> {
        check_filterable(title, "item")?;
        let mut url = self.url(&format!("v1/vaults/{vault_id}/items"))?;
        url.query_pairs_mut()
            .append_pair("filter", &format!("title eq \"{title}\""));
        let a = self.get_json(url, deadline).await?;
        let found = named_list(&a.body, &self.peer())?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(one.id.clone())),
            many => Err(Fail::new(
                ErrorKind::Config,
                format!(
                    "{} items are titled {title:?} in this vault; use the item's ID",
                    many.len()
                ),
            )),
        }
    }

    /// `GET /v1/vaults/{id}/items/{id}`: the whole item.
    pub async fn get_by_id(
        &self,
        vault_id: &str,
        item_id: &str,
        deadline: Instant,
    ) -> Result<Item, Fail> {
        let url = self.url(&format!("v1/vaults/{vault_id}/items/{item_id}"))?;
        let a = self.get_json(url, deadline).await?;
        Item::parse(&a.body, &self.peer().to_string())
    }

    /// The whole item named (or identified by) `item`: one request for an ID,
    /// a title lookup first for a name. An ID no item has is tried as a title
    /// when the vault exists. `None` when there is no such item.
    pub async fn item(
        &self,
        vault_id: &str,
        item: &str,
        deadline: Instant,
    ) -> Result<Option<Item>, Fail> {
        if is_id(item) {
            match self.get_by_id(vault_id, item, deadline).await {
                // A 404 says nothing of which is missing: the vault answers
                // for itself, and only when it exists is `item` tried as a title.
                Err(f) if f.kind == ErrorKind::NotFound => {
                    if let Err(v) = self.vault_name(vault_id, deadline).await {
                        return Err(if v.kind == ErrorKind::NotFound { f } else { v });
                    }
                }
                other => return other.map(Some),
            }
        }
        match self.find_item(vault_id, item, deadline).await? {
            Some(id) => self.get_by_id(vault_id, &id, deadline).await.map(Some),
            None => Ok(None),
        }
    }

    /// A file's content (`GET …/files/{id}/content`, or the `content_path` Connect gave).
    pub async fn file_content(
        &self,
        vault_id: &str,
        item_id: &str,
        file: &super::item::FileRef,
        deadline: Instant,
    ) -> Result<SecretValue, Fail> {
        let own = format!(
            "v1/vaults/{vault_id}/items/{item_id}/files/{}/content",
            file.id
        );
        let path = file
            .content_path
            .as_deref()
            .map(|p| p.trim_start_matches('/'))
            .filter(|p| p.starts_with("v1/vaults/") && !p.contains(".."))
            .unwrap_or(&own);
        let a = self.get_json(self.url(path)?, deadline).await?;
        Ok(SecretValue::from_slice(&a.body))
    }

    /// `POST /v1/vaults/{id}/items`: a new item; `body` is the item JSON.
    /// The new item's ID when the answer names one.
    pub async fn create(
        &self,
        vault_id: &str,
        body: Zeroizing<Vec<u8>>,
        deadline: Instant,
    ) -> Result<Option<String>, Fail> {
        #[derive(Deserialize)]
        struct Created {
            id: String,
        }
        let url = self.url(&format!("v1/vaults/{vault_id}/items"))?;
        let a = self
            .call(Method::POST, url, Some(secret_body(body)), deadline)
            .await?;
        Ok(serde_json::from_slice::<Created>(&a.body)
            .ok()
            .map(|c| c.id)
            .filter(|id| is_id(id)))
    }

    /// `PATCH /v1/vaults/{id}/items/{id}` with a JSON Patch document.
    pub async fn patch(
        &self,
        vault_id: &str,
        item_id: &str,
        body: Zeroizing<Vec<u8>>,
        deadline: Instant,
    ) -> Result<(), Fail> {
        let url = self.url(&format!("v1/vaults/{vault_id}/items/{item_id}"))?;
        self.call(Method::PATCH, url, Some(secret_body(body)), deadline)
            .await
            .map(|_| ())
    }

    /// `DELETE /v1/vaults/{id}/items/{id}`.
    pub async fn delete(
        &self,
        vault_id: &str,
        item_id: &str,
        deadline: Instant,
    ) -> Result<(), Fail> {
        let url = self.url(&format!("v1/vaults/{vault_id}/items/{item_id}"))?;
        self.call(Method::DELETE, url, None, deadline)
            .await
            .map(|_| ())
    }

    /// Every item of the vault whose title starts with `prefix` (no values).
    pub async fn list(
        &self,
        vault_id: &str,
        prefix: &str,
        deadline: Instant,
    ) -> Result<Vec<Summary>, Fail> {
        let url = self.url(&format!("v1/vaults/{vault_id}/items"))?;
        let a = self.get_json(url, deadline).await?;
        let found = named_list(&a.body, &self.peer())?;
        Ok(found
            .into_iter()
            .take(MAX_LISTED)
            .filter_map(|n| {
                let title = n.title.clone()?;
                title.starts_with(prefix).then(|| Summary {
                    title,
                    created: n.created.as_deref().and_then(rfc3339),
                    updated: n.updated.as_deref().and_then(rfc3339),
                })
            })
            .collect())
    }

    /// For `doctor`: `GET /heartbeat` (reachable) then `GET /v1/vaults`
    /// (the token is accepted); the number of vaults the token sees.
    pub async fn check(&self, deadline: Instant) -> Result<usize, Fail> {
        let heartbeat = self.url("heartbeat")?;
        let a = self
            .http
            .send(|c| c.get(heartbeat.clone()), deadline, &self.peer())
            .await?;
        if !a.ok() {
            return Err(Fail::new(
                ErrorKind::Unreachable,
                format!(
                    "{} answered its heartbeat with HTTP {}; check OP_CONNECT_HOST points at a \
                     Connect server",
                    self.peer(),
                    a.status
                ),
            ));
        }
        let a = self.get_json(self.url("v1/vaults")?, deadline).await?;
        Ok(named_list(&a.body, &self.peer())?.len())
    }
}

/// Names go into a `title eq "…"` filter: a `"` or `\` cannot.
fn check_filterable(name: &str, what: &str) -> Result<(), Fail> {
    if name.contains(['"', '\\']) {
        return Err(Fail::new(
            ErrorKind::Config,
            format!("the {what} name {name:?} cannot be looked up by name; use its ID"),
        ));
    }
    Ok(())
}

fn named_list(body: &[u8], peer: &Peer) -> Result<Vec<Named>, Fail> {
    serde_json::from_slice(body).map_err(|_| {
        Fail::new(
            ErrorKind::Unreachable,
            format!(
                "{peer} answered with something that is not a Connect list; check OP_CONNECT_HOST"
            ),
        )
    })
}

/// Connect's error answer (`{"status": N, "message": "…"}`) as one line.
fn status_fail(a: &Answer, peer: &Peer) -> Fail {
    #[derive(Deserialize)]
    struct ErrorResponse {
        message: Option<String>,
    }
    let said = serde_json::from_slice::<ErrorResponse>(&a.body)
        .ok()
        .and_then(|e| e.message)
        .map(|m| format!(": {}", one_line(&m, 160)))
        .unwrap_or_default();
    let status = a.status;
    let (kind, hint) = match status {
        401 => (
            ErrorKind::Denied,
            format!("{TOKEN_ENV} was refused; check the token and that it belongs to this server"),
        ),
        403 => (
            ErrorKind::Denied,
            "the token may not do this here; grant it access to the vault".into(),
        ),
        404 => (
            ErrorKind::NotFound,
            "check the vault and item names or IDs".into(),
        ),
        429 => (
            ErrorKind::Unreachable,
            "still throttled after retries; try again later".into(),
        ),
        s if s >= 500 => (
            ErrorKind::Unreachable,
            "the server failed; check the Connect server and its sync".into(),
        ),
        408 => (
            ErrorKind::TimedOut,
            "the server timed out waiting for the request; try again or raise --timeout".into(),
        ),
        413 => (ErrorKind::BadData, "the answer is too large".into()),
        _ => (
            ErrorKind::Config,
            "the request was refused as invalid".into(),
        ),
    };
    Fail::new(kind, format!("{peer} answered {status}{said}; {hint}"))
}

/// The JSON of a body holding `value`, written into a buffer that never
/// reallocates (room for every character escaped), so no copy is left behind.
pub(crate) fn json_body(
    value: &impl serde::Serialize,
    value_len: usize,
) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let mut body = Zeroizing::new(Vec::with_capacity(value_len * 6 + 8192));
    let cap = body.capacity();
    serde_json::to_writer(&mut *body, value)
        .map_err(|_| Fail::new(ErrorKind::BadData, "the value cannot be encoded"))?;
    if body.capacity() != cap {
        return Err(Fail::new(
            ErrorKind::BadData,
            "the item is too large to write in one request",
        ));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_1password_form() {
        assert!(is_id("abcdefghijklmnopqrstuvwxy1"));
        assert!(!is_id("Private"));
        assert!(!is_id("ABCDEFGHIJKLMNOPQRSTUVWXY1"));
        assert!(!is_id("abcdefghijklmnopqrstuvwxy"));
    }

    #[test]
    fn plain_http_only_to_loopback() {
        let t = std::time::Duration::from_secs(1);
        assert!(Connect::new("http://127.0.0.1:8080", "t", t).is_ok());
        let e = Connect::new("http://connect.example.com", "t", t)
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("only https"), "{}", e.message);
        assert!(!e.message.contains("Bearer"));
    }

    #[test]
    fn error_answers_map_to_kinds_and_quote_only_the_message() {
        let peer = Peer {
            service: "1Password Connect",
            host: "h".into(),
        };
        let a = |status: u16| Answer {
            status,
            headers: Default::default(),
            body: Zeroizing::new(br#"{"status":1,"message":"Invalid token signature"}"#.to_vec()),
        };
        assert_eq!(status_fail(&a(401), &peer).kind, ErrorKind::Denied);
        assert_eq!(status_fail(&a(403), &peer).kind, ErrorKind::Denied);
        assert_eq!(status_fail(&a(404), &peer).kind, ErrorKind::NotFound);
        assert_eq!(status_fail(&a(429), &peer).kind, ErrorKind::Unreachable);
        assert_eq!(status_fail(&a(503), &peer).kind, ErrorKind::Unreachable);
        assert_eq!(status_fail(&a(408), &peer).kind, ErrorKind::TimedOut);
        let m = status_fail(&a(401), &peer).message;
        assert!(m.contains("401: Invalid token signature"), "{m}");
    }
}
