//! Where OAuth grants live: every token and client secret in a backend,
//! what is not secret in an index beside our other files.
//!
//! Owns the names of stored values (`PREFIX` + `oauth-` + a hash of issuer,
//! resource and client; `PREFIX` + `oauth-client-` + a hash of issuer and
//! resource for a registration), the JSON documents they hold ([`Tokens`],
//! [`Client`]), the non-secret index `<data_dir>/oauth/index.json` (one
//! [`Entry`] per grant: who issued it, for which resource and client, where
//! its values are, when it expires, the authorization server's endpoints)
//! and the per-grant refresh lock. Nothing it writes to disk holds a token,
//! a secret or a verifier. Must not talk to an authorization server or
//! decide when to refresh: that is the authorizer's.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::lock::{FileLock, LockError};
use crate::backend::{BackendError, ErrorKind, Registry};
use crate::exit::{Code, ExitStatus};
use crate::paths::Paths;
use crate::reference::SecretRef;
use crate::secret::SecretValue;

/// Where tokens go unless `--token-store` says otherwise.
pub const DEFAULT_PREFIX: &str = "local://";
/// How long a process waits for another to finish refreshing a grant.
pub const LOCK_WAIT: Duration = Duration::from_secs(60);
/// How long a writer of the index waits for another (whose read, change
/// and write of a small file take milliseconds).
const INDEX_LOCK_WAIT: Duration = Duration::from_secs(10);
const INDEX_VERSION: u32 = 1;

/// One grant: who issued it, for which resource, to which client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantKey {
    pub issuer: String,
    pub resource: String,
    pub client_id: String,
}

/// A token response as kept. `Debug` shows no token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Tokens {
    pub access_token: String,
    #[serde(default = "bearer")]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

fn bearer() -> String {
    "Bearer".into()
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("token_type", &self.token_type)
            .field("refresh_token", &self.refresh_token.is_some())
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// How the client got its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientSource {
    /// Dynamic client registration (RFC 7591).
    Registered,
    /// A Client ID Metadata Document URL.
    MetadataDocument,
    /// Given on the command line (`--client-id`).
    PreRegistered,
    /// Imported from another tool's cache.
    Imported,
}

/// A client registration as kept. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Client {
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    /// Unix seconds; 0 or absent: does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_expires_at: Option<u64>,
    #[serde(default)]
    pub token_endpoint_auth_method: String,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_client_uri: Option<String>,
    #[zeroize(skip)]
    pub source: ClientSource,
    /// A pre-registered client's `--client-secret` / `--private-key`
    /// references (never the values), so `logout` can authenticate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key_ref: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.is_some())
            .field(
                "token_endpoint_auth_method",
                &self.token_endpoint_auth_method,
            )
            .field("redirect_uris", &self.redirect_uris)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

/// What a cached run needs of the authorization server (all public).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerEndpoints {
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub scopes_supported: Vec<String>,
    #[serde(default)]
    pub iss_parameter_supported: bool,
}

/// One grant in the index: nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: GrantKey,
    /// Where the [`Tokens`] are.
    pub tokens_ref: String,
    /// Where the [`Client`] is, when it has anything to keep.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<String>,
    /// The RFC 8707 `resource` the grant was asked for (may be a parent of
    /// `key.resource`); a refresh sends exactly this. None: none was sent,
    /// or a grant saved before this was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Unix seconds, of the access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    pub has_refresh: bool,
    /// Unix seconds.
    pub saved_at: u64,
    pub endpoints: ServerEndpoints,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    #[serde(default)]
    grants: Vec<Entry>,
}

/// Why the store could not do something. Never holds a token.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend: its message names the reference.
    #[error("{0}")]
    Backend(#[from] BackendError),
    /// Our own files (the index, a lock).
    #[error("{0}")]
    Io(String),
    /// A stored document or the index cannot be read.
    #[error("{0}")]
    Data(String),
    /// `--token-store` is not a usable prefix.
    #[error("{0}")]
    Usage(String),
    /// Another process held the refresh lock too long.
    #[error("{0}")]
    Busy(String),
}

impl ExitStatus for StoreError {
    fn exit_code(&self) -> Code {
        match self {
            StoreError::Backend(e) => e.exit_code(),
            StoreError::Io(_) => Code::IoErr,
            StoreError::Data(_) => Code::DataErr,
            StoreError::Usage(_) => Code::Usage,
            StoreError::Busy(_) => Code::Unavailable,
        }
    }
}

impl From<LockError> for StoreError {
    fn from(e: LockError) -> Self {
        match e {
            LockError::Busy { .. } => StoreError::Busy(e.to_string()),
            LockError::Io { .. } => StoreError::Io(e.to_string()),
        }
    }
}

/// Held while one process refreshes or replaces a grant.
#[derive(Debug)]
pub struct RefreshLock {
    _lock: FileLock,
}

/// Tokens and registrations through the backend interface, plus the index.
pub struct TokenStore {
    registry: Arc<Registry>,
    prefix: String,
    dir: PathBuf,
}

impl fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenStore")
            .field("prefix", &self.prefix)
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 16 hex digits of SHA-256 over the parts, each ended by a newline.
fn hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(b"\n");
    }
    hex::encode(&h.finalize()[..8])
}

impl GrantKey {
    /// The name of this grant's lock and token value.
    pub fn id(&self) -> String {
        hash(&[&self.issuer, &self.resource, &self.client_id])
    }
}

impl TokenStore {
    /// The store for `prefix` (default `local://`). The prefix is checked
    /// now: a name appended to it must make a reference.
    pub fn open(
        paths: &Paths,
        registry: Arc<Registry>,
        prefix: Option<&str>,
    ) -> Result<Self, StoreError> {
        let prefix = prefix.unwrap_or(DEFAULT_PREFIX).to_string();
        if prefix.contains(['?', '#']) {
            return Err(StoreError::Usage(format!(
                "--token-store {prefix}: give a reference prefix without ?parameters or #selector (e.g. local:// or vault://secret/mcp-warden/)"
            )));
        }
        SecretRef::parse(&format!("{prefix}oauth-{}", "0".repeat(16))).map_err(|e| {
            StoreError::Usage(format!(
                "--token-store {prefix}: a name appended to it is not a reference ({e})"
            ))
        })?;
        Ok(TokenStore {
            registry,
            prefix,
            dir: paths.data_dir().join("oauth"),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every grant in the index, oldest first.
    pub fn entries(&self) -> Result<Vec<Entry>, StoreError> {
        Ok(self.read_index()?.grants)
    }

    /// The newest grant for `resource`; with `client_id`, only a grant
    /// made for that client (another client's tokens are never its).
    pub fn find(
        &self,
        resource: &str,
        client_id: Option<&str>,
    ) -> Result<Option<Entry>, StoreError> {
        Ok(self
            .entries()?
            .into_iter()
            .filter(|e| e.key.resource == resource)
            .filter(|e| client_id.is_none_or(|c| e.key.client_id == c))
            .max_by_key(|e| e.saved_at))
    }

    /// The tokens of `e`; `None` when the backend no longer holds them.
    pub async fn tokens(&self, e: &Entry) -> Result<Option<Tokens>, StoreError> {
        let r = parse_ref(&e.tokens_ref)?;
        let Some(v) = self.fetch(&r).await? else {
            return Ok(None);
        };
        serde_json::from_slice(v.expose())
            .map(Some)
            .map_err(|_| unreadable(&r, "OAuth tokens"))
    }

    /// The registration kept for this issuer and resource.
    /// Where the index says a grant's client is, else where this store puts it.
    pub async fn client(&self, issuer: &str, resource: &str) -> Result<Option<Client>, StoreError> {
        let recorded = self.entries()?.into_iter().rev().find_map(|e| {
            (e.key.issuer == issuer && e.key.resource == resource)
                .then_some(e.client_ref)
                .flatten()
        });
        let r = match recorded {
            Some(text) => parse_ref(&text)?,
            None => self.client_ref(issuer, resource)?,
        };
        let Some(v) = self.fetch(&r).await? else {
            return Ok(None);
        };
        serde_json::from_slice(v.expose())
            .map(Some)
            .map_err(|_| unreadable(&r, "OAuth client registration"))
    }

    /// Keeps a registration; returns its reference (for [`Entry::client_ref`]).
    pub async fn save_client(
        &self,
        issuer: &str,
        resource: &str,
        c: &Client,
    ) -> Result<String, StoreError> {
        let r = self.client_ref(issuer, resource)?;
        self.write_json(&r, c).await?;
        Ok(r.to_string())
    }

    /// Writes `t` and records `e` (expiry, scope and time set here) in the
    /// index, replacing the grant of the same key. A grant that names its
    /// token reference (a refresh) is written where it is, whatever this
    /// store's prefix; a new one (`tokens_ref` empty) goes to this store,
    /// and an older copy of the same grant elsewhere is then deleted.
    /// Returns the entry as recorded.
    pub async fn save(&self, mut e: Entry, t: &Tokens) -> Result<Entry, StoreError> {
        let r = if e.tokens_ref.is_empty() {
            self.tokens_ref(&e.key)?
        } else {
            parse_ref(&e.tokens_ref)?
        };
        self.write_json(&r, t).await?;
        e.tokens_ref = r.to_string();
        e.expires_at = t.expires_at;
        e.scope = t.scope.clone().or(e.scope);
        e.has_refresh = t.refresh_token.is_some();
        e.saved_at = now();
        let recorded = e.clone();
        let replaced = self
            .update_index(|ix| {
                let old = take_key(ix, &e.key);
                ix.grants.push(e);
                old
            })
            .await?;
        if let Some(old) = replaced.filter(|o| o.tokens_ref != recorded.tokens_ref) {
            // the grant moved to another store: the old copy goes
            self.delete_quietly(&old.tokens_ref).await?;
        }
        Ok(recorded)
    }

    /// Forgets the grant of `key` (index first, then its stored tokens), and
    /// with `forget_client` its registration when no other grant uses it.
    pub async fn remove(
        &self,
        key: &GrantKey,
        forget_client: bool,
    ) -> Result<Option<Entry>, StoreError> {
        let mut others_use_client = false;
        let removed = self
            .update_index(|ix| {
                let old = take_key(ix, key);
                if let Some(c) = old.as_ref().and_then(|o| o.client_ref.as_ref()) {
                    others_use_client = ix.grants.iter().any(|g| g.client_ref.as_ref() == Some(c));
                }
                old
            })
            .await?;
        let Some(old) = removed else {
            return Ok(None);
        };
        self.delete_quietly(&old.tokens_ref).await?;
        if let Some(c) = old
            .client_ref
            .as_ref()
            .filter(|_| forget_client && !others_use_client)
        {
            self.delete_quietly(c).await?;
        }
        Ok(Some(old))
    }

    /// The refresh lock of `key`, waiting at most [`LOCK_WAIT`].
    pub async fn lock(&self, key: &GrantKey) -> Result<RefreshLock, StoreError> {
        self.lock_waiting(key, LOCK_WAIT).await
    }

    /// The refresh lock of `key`, waiting at most `wait` (an interactive
    /// authorization holds it for as long as the user takes).
    pub async fn lock_waiting(
        &self,
        key: &GrantKey,
        wait: Duration,
    ) -> Result<RefreshLock, StoreError> {
        let path = self.dir.join("locks").join(format!("{}.lock", key.id()));
        Ok(RefreshLock {
            _lock: FileLock::acquire(&path, wait).await?,
        })
    }

    /// Where the tokens of `key` go in this store.
    pub fn tokens_ref(&self, key: &GrantKey) -> Result<SecretRef, StoreError> {
        parse_ref(&format!("{}oauth-{}", self.prefix, key.id()))
    }

    /// Where the registration for `issuer` and `resource` goes in this store.
    pub fn client_ref(&self, issuer: &str, resource: &str) -> Result<SecretRef, StoreError> {
        parse_ref(&format!(
            "{}oauth-client-{}",
            self.prefix,
            hash(&[issuer, resource])
        ))
    }
}

/// The backend side.
impl TokenStore {
    fn timeout(&self) -> Duration {
        self.registry.settings().timeout
    }

    /// The value at `r`; `None` when the backend has nothing there.
    async fn fetch(&self, r: &SecretRef) -> Result<Option<SecretValue>, StoreError> {
        let backend = self.registry.get(r.scheme)?;
        let refs = [r.clone()];
        let got = tokio::time::timeout(self.timeout(), backend.fetch(&refs))
            .await
            .map_err(|_| timed_out(r))?
            .pop();
        match got {
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(e)) if e.kind == ErrorKind::NotFound => Ok(None),
            Some(Err(e)) => Err(e.into()),
            None => {
                Err(BackendError::new(ErrorKind::BadData, r, "the backend answered nothing").into())
            }
        }
    }

    async fn write_json<T: Serialize>(&self, r: &SecretRef, doc: &T) -> Result<(), StoreError> {
        let mut bytes = Vec::with_capacity(1024);
        serde_json::to_writer(&mut bytes, doc)
            .map_err(|_| StoreError::Data(format!("{r}: cannot encode the OAuth document")))?;
        let value = SecretValue::new(bytes);
        let backend = self.registry.get(r.scheme)?;
        tokio::time::timeout(self.timeout(), backend.write(r, &value))
            .await
            .map_err(|_| timed_out(r))??;
        Ok(())
    }

    /// Deletes `text`'s value; one that is already gone is fine.
    async fn delete_quietly(&self, text: &str) -> Result<(), StoreError> {
        let r = parse_ref(text)?;
        let backend = self.registry.get(r.scheme)?;
        match tokio::time::timeout(self.timeout(), backend.delete(&r))
            .await
            .map_err(|_| timed_out(&r))?
        {
            Err(e) if e.kind != ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

/// The index side.
impl TokenStore {
    fn index_path(&self) -> PathBuf {
        self.dir.join("index.json")
    }

    fn read_index(&self) -> Result<Index, StoreError> {
        let path = self.index_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Index::default()),
            Err(e) => {
                return Err(StoreError::Io(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let ix: Index = serde_json::from_slice(&bytes).map_err(|e| {
            StoreError::Data(format!(
                "{} is not a readable OAuth index (line {}); move it away and log in again",
                path.display(),
                e.line()
            ))
        })?;
        if ix.version > INDEX_VERSION {
            return Err(StoreError::Data(format!(
                "{} was written by a newer mcp-warden (index version {})",
                path.display(),
                ix.version
            )));
        }
        Ok(ix)
    }

    /// Read, change, write the index under its lock (waited for at most
    /// [`INDEX_LOCK_WAIT`]); returns what `change` returned.
    async fn update_index<R>(&self, change: impl FnOnce(&mut Index) -> R) -> Result<R, StoreError> {
        crate::atomic_file::create_private_dir(&self.dir)
            .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", self.dir.display())))?;
        let _lock = FileLock::acquire(&self.dir.join("index.lock"), INDEX_LOCK_WAIT).await?;
        let mut ix = self.read_index()?;
        let out = change(&mut ix);
        ix.version = INDEX_VERSION;
        let mut bytes = serde_json::to_vec_pretty(&ix)
            .map_err(|e| StoreError::Data(format!("cannot encode the OAuth index: {e}")))?;
        bytes.push(b'\n');
        let path = self.index_path();
        crate::atomic_file::replace_with_mode(&path, &bytes, 0o600)
            .map_err(|e| StoreError::Io(format!("cannot write {}: {e}", path.display())))?;
        Ok(out)
    }
}

fn take_key(ix: &mut Index, key: &GrantKey) -> Option<Entry> {
    let at = ix.grants.iter().position(|g| &g.key == key)?;
    Some(ix.grants.remove(at))
}

fn parse_ref(text: &str) -> Result<SecretRef, StoreError> {
    SecretRef::parse(text).map_err(|e| {
        StoreError::Data(format!(
            "the OAuth index names {text:?}, not a reference: {e}"
        ))
    })
}

fn unreadable(r: &SecretRef, what: &str) -> StoreError {
    StoreError::Data(format!(
        "{r} does not hold readable {what}; run `mcp-warden logout URL` and log in again"
    ))
}

fn timed_out(r: &SecretRef) -> StoreError {
    BackendError::new(ErrorKind::TimedOut, r, "the backend did not answer in time").into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Settings;

    const ACCESS: &str = "at-canary-7f3e9a";
    const REFRESH: &str = "rt-canary-51b2c4";

    fn store(dir: &std::path::Path) -> TokenStore {
        let paths = Paths::at(dir.to_path_buf());
        let registry = Registry::new(Settings {
            paths: paths.clone(),
            aws_region: None,
            aws_profile: None,
            timeout: Duration::from_secs(10),
            cloud: Default::default(),
        });
        TokenStore::open(&paths, Arc::new(registry), None).unwrap()
    }

    fn key() -> GrantKey {
        GrantKey {
            issuer: "https://as.example".into(),
            resource: "https://mcp.example/mcp".into(),
            client_id: "client-1".into(),
        }
    }

    fn entry() -> Entry {
        Entry {
            key: key(),
            tokens_ref: String::new(),
            client_ref: None,
            resource: None,
            scope: None,
            expires_at: None,
            has_refresh: false,
            saved_at: 0,
            endpoints: ServerEndpoints {
                issuer: "https://as.example".into(),
                token_endpoint: "https://as.example/token".into(),
                ..Default::default()
            },
        }
    }

    fn tokens(access: &str) -> Tokens {
        Tokens {
            access_token: access.into(),
            token_type: "Bearer".into(),
            refresh_token: Some(REFRESH.into()),
            expires_at: Some(now() + 3600),
            scope: Some("mcp:read".into()),
        }
    }

    fn files_under(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[tokio::test]
    async fn a_grant_round_trips_and_no_file_holds_a_token() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        let saved = s.save(entry(), &tokens(ACCESS)).await.unwrap();
        assert!(saved.has_refresh);
        assert!(
            saved.tokens_ref.starts_with("local://oauth-"),
            "{}",
            saved.tokens_ref
        );
        let found = s.find("https://mcp.example/mcp", None).unwrap().unwrap();
        assert_eq!(found, saved);
        let t = s.tokens(&found).await.unwrap().unwrap();
        assert_eq!(t.access_token, ACCESS);
        assert_eq!(t.refresh_token.as_deref(), Some(REFRESH));
        for f in files_under(d.path()) {
            let bytes = std::fs::read(&f).unwrap();
            for canary in [ACCESS, REFRESH] {
                assert!(
                    !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                    "{} holds a token",
                    f.display()
                );
            }
        }
        let shown = format!("{t:?} {found:?}");
        assert!(
            !shown.contains(ACCESS) && !shown.contains(REFRESH),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn saving_the_same_grant_again_replaces_it() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        s.save(entry(), &tokens("first")).await.unwrap();
        s.save(entry(), &tokens("second")).await.unwrap();
        assert_eq!(s.entries().unwrap().len(), 1);
        let e = s.find(&key().resource, None).unwrap().unwrap();
        assert_eq!(s.tokens(&e).await.unwrap().unwrap().access_token, "second");
    }

    #[tokio::test]
    async fn a_named_client_finds_only_its_own_grant() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        s.save(entry(), &tokens("first")).await.unwrap();
        let other = key().client_id;
        assert_eq!(
            s.find(&key().resource, Some(&other))
                .unwrap()
                .map(|e| e.key),
            Some(key())
        );
        assert!(s.find(&key().resource, Some("another")).unwrap().is_none());
    }

    #[tokio::test]
    async fn removing_a_grant_deletes_its_tokens_and_with_forget_its_client() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        let client = Client {
            client_id: "client-1".into(),
            client_secret: Some("cs-canary".into()),
            client_secret_expires_at: None,
            token_endpoint_auth_method: "client_secret_post".into(),
            redirect_uris: vec!["http://127.0.0.1/callback".into()],
            registration_access_token: None,
            registration_client_uri: None,
            client_secret_ref: None,
            private_key_ref: None,
            source: ClientSource::Registered,
        };
        let k = key();
        let cref = s
            .save_client(&k.issuer, &k.resource, &client)
            .await
            .unwrap();
        let mut e = entry();
        e.client_ref = Some(cref);
        let saved = s.save(e, &tokens(ACCESS)).await.unwrap();
        assert_eq!(
            s.client(&k.issuer, &k.resource).await.unwrap(),
            Some(client)
        );
        let removed = s.remove(&k, true).await.unwrap();
        assert_eq!(
            removed.map(|r| r.tokens_ref),
            Some(saved.tokens_ref.clone())
        );
        assert!(s.entries().unwrap().is_empty());
        assert_eq!(s.tokens(&saved).await.unwrap(), None);
        assert_eq!(s.client(&k.issuer, &k.resource).await.unwrap(), None);
        assert!(s.remove(&k, true).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn an_unreadable_stored_document_is_named_without_its_content() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        let saved = s.save(entry(), &tokens(ACCESS)).await.unwrap();
        let r = SecretRef::parse(&saved.tokens_ref).unwrap();
        let backend = s.registry.get(r.scheme).unwrap();
        let junk = SecretValue::from_slice(b"{\"access_token\": 7, \"leak\": \"junk-canary\"}");
        backend.write(&r, &junk).await.unwrap();
        let err = s.tokens(&saved).await.unwrap_err().to_string();
        assert!(
            err.contains("oauth-") && !err.contains("junk-canary"),
            "{err}"
        );
    }

    #[test]
    fn a_prefix_that_cannot_take_a_name_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let paths = Paths::at(d.path().to_path_buf());
        for bad in ["vault://secret/x?field=a", "nonsense", "local://a#b"] {
            let r = Arc::new(Registry::new(Settings {
                paths: paths.clone(),
                aws_region: None,
                aws_profile: None,
                timeout: Duration::from_secs(1),
                cloud: Default::default(),
            }));
            let e = TokenStore::open(&paths, r, Some(bad)).unwrap_err();
            assert!(matches!(e, StoreError::Usage(_)), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn a_refresh_stays_in_its_store_and_a_new_grant_moves_it() {
        let d = tempfile::tempdir().unwrap();
        let first = store(d.path());
        let saved = first.save(entry(), &tokens("one")).await.unwrap();
        let paths = Paths::at(d.path().to_path_buf());
        let other =
            TokenStore::open(&paths, first.registry.clone(), Some("local://elsewhere-")).unwrap();
        let refreshed = other.save(saved.clone(), &tokens("two")).await.unwrap();
        assert_eq!(refreshed.tokens_ref, saved.tokens_ref);
        let moved = other.save(entry(), &tokens("three")).await.unwrap();
        assert!(
            moved.tokens_ref.starts_with("local://elsewhere-oauth-"),
            "{}",
            moved.tokens_ref
        );
        assert_eq!(other.entries().unwrap().len(), 1);
        assert_eq!(
            first.tokens(&saved).await.unwrap(),
            None,
            "the old copy is deleted"
        );
        assert_eq!(
            other.tokens(&moved).await.unwrap().unwrap().access_token,
            "three"
        );
    }

    #[tokio::test]
    async fn the_refresh_lock_is_per_grant() {
        let d = tempfile::tempdir().unwrap();
        let s = store(d.path());
        let held = s.lock(&key()).await.unwrap();
        let mut other = key();
        other.client_id = "client-2".into();
        s.lock_waiting(&other, Duration::from_millis(50))
            .await
            .unwrap();
        let busy = s.lock_waiting(&key(), Duration::from_millis(50)).await;
        assert!(matches!(busy, Err(StoreError::Busy(_))), "{busy:?}");
        drop(held);
        s.lock_waiting(&key(), Duration::from_millis(50))
            .await
            .unwrap();
    }
}
