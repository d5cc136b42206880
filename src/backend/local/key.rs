//! The local store's X25519 identity: where it lives and how to get it.
//!
//! Owns the choice between the OS keychain and a 0600 key file beside the
//! store, and reading/creating the identity there. `MCP_WARDEN_KEY_STORE`
//! (`auto`, `file`, `keyring`) overrides the choice when a store is created.
//! Must not touch the store file itself.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use age::secrecy::ExposeSecret;
use age::x25519::Identity;

use crate::atomic_file;
use crate::paths::Paths;

/// Environment variable choosing where a new store's key goes.
pub const KEY_STORE_ENV: &str = "MCP_WARDEN_KEY_STORE";
const KEYRING_SERVICE: &str = "mcp-warden";
/// A keychain that does not answer within this time counts as unusable.
const KEYRING_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the identity lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyLocation {
    File(PathBuf),
    /// OS keychain entry (service, account).
    Keyring {
        service: String,
        account: String,
    },
}

impl std::fmt::Display for KeyLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyLocation::File(p) => write!(f, "key file {}", p.display()),
            KeyLocation::Keyring { service, account } => {
                write!(
                    f,
                    "OS keychain ({}), service {service:?}, account {account:?}",
                    keyring_kind()
                )
            }
        }
    }
}

fn keyring_kind() -> &'static str {
    if cfg!(target_os = "linux") {
        "Secret Service"
    } else if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else if cfg!(windows) {
        "Windows Credential Manager"
    } else {
        "none"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preference {
    Auto,
    File,
    Keyring,
}

impl Preference {
    pub fn from_env() -> Result<Preference, KeyError> {
        match std::env::var(KEY_STORE_ENV).ok().as_deref() {
            None | Some("") | Some("auto") => Ok(Preference::Auto),
            Some("file") => Ok(Preference::File),
            Some("keyring") => Ok(Preference::Keyring),
            Some(other) => Err(KeyError::BadPreference(other.to_string())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{KEY_STORE_ENV}={0:?} is not one of auto, file, keyring")]
    BadPreference(String),
    #[error("cannot read key file {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write key file {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("key file {0} is readable by other users; run: chmod 600 {0}")]
    Exposed(PathBuf),
    #[error("key file {0} does not hold an age X25519 identity (AGE-SECRET-KEY-1...)")]
    Malformed(PathBuf),
    #[error("the OS keychain is not usable: {0}")]
    Keyring(String),
}

/// The identity's location for this data directory when the key is in the keychain.
fn keyring_account(paths: &Paths) -> String {
    let dir = fs::canonicalize(paths.data_dir()).unwrap_or_else(|_| paths.data_dir().to_path_buf());
    format!("store-key:{}", dir.display())
}

/// Loads the identity of an existing store: the key file if present, else the keychain.
/// `Ok(None)` when neither holds one.
pub fn load(paths: &Paths) -> Result<Option<(Identity, KeyLocation)>, KeyError> {
    if let Some(id) = load_file(paths)? {
        return Ok(Some((id, KeyLocation::File(paths.store_key()))));
    }
    if Preference::from_env()? == Preference::File {
        return Ok(None);
    }
    let account = keyring_account(paths);
    match keyring_get(&account)? {
        Some(text) => {
            let id = text.trim().parse::<Identity>().map_err(|_| {
                KeyError::Keyring("the keychain entry does not hold an age identity".into())
            })?;
            Ok(Some((
                id,
                KeyLocation::Keyring {
                    service: KEYRING_SERVICE.into(),
                    account,
                },
            )))
        }
        None => Ok(None),
    }
}

/// Loads the identity from the key file only. `Ok(None)` when there is no key file.
pub fn load_file(paths: &Paths) -> Result<Option<Identity>, KeyError> {
    match read_key_file(&paths.store_key()) {
        Ok(id) => Ok(Some(id)),
        Err(KeyError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Where `load` would look, without reading any secret: for `secret info`.
pub fn locate(paths: &Paths) -> KeyLocation {
    if paths.store_key().exists() || Preference::from_env().ok() == Some(Preference::File) {
        KeyLocation::File(paths.store_key())
    } else {
        KeyLocation::Keyring {
            service: KEYRING_SERVICE.into(),
            account: keyring_account(paths),
        }
    }
}

/// Creates a new identity for a new store, in the keychain when usable (and
/// allowed), else in a 0600 key file. Returns why the keychain was skipped, if it was.
pub fn create(paths: &Paths) -> Result<(Identity, KeyLocation, Option<String>), KeyError> {
    let pref = Preference::from_env()?;
    let id = Identity::generate();
    let mut skipped = None;
    if pref != Preference::File {
        let account = keyring_account(paths);
        let text = id.to_string();
        match keyring_set_verified(&account, text.expose_secret()) {
            Ok(()) => {
                return Ok((
                    id,
                    KeyLocation::Keyring {
                        service: KEYRING_SERVICE.into(),
                        account,
                    },
                    None,
                ));
            }
            Err(e) if pref == Preference::Keyring => return Err(e),
            Err(e) => skipped = Some(e.to_string()),
        }
    }
    let path = paths.store_key();
    let text = id.to_string();
    let body = zeroize::Zeroizing::new(format!("{}\n", text.expose_secret()));
    atomic_file::replace(&path, body.as_bytes(), 0o600).map_err(|source| KeyError::Write {
        path: path.clone(),
        source,
    })?;
    Ok((id, KeyLocation::File(path), skipped))
}

fn read_key_file(path: &Path) -> Result<Identity, KeyError> {
    let meta = fs::metadata(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(KeyError::Exposed(path.to_path_buf()));
    }
    let text =
        zeroize::Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.to_path_buf(),
            source,
        })?);
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(|l| l.parse::<Identity>().ok())
        .ok_or_else(|| KeyError::Malformed(path.to_path_buf()))
}

/// Runs a keychain operation on its own thread with a deadline: a wedged
/// D-Bus must not hang mcp-warden.
fn with_keyring<T: Send + 'static>(
    op: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, KeyError> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(op());
        })
        .map_err(|e| KeyError::Keyring(e.to_string()))?;
    match rx.recv_timeout(KEYRING_TIMEOUT) {
        Ok(r) => r.map_err(KeyError::Keyring),
        Err(_) => Err(KeyError::Keyring(format!(
            "no answer within {} s",
            KEYRING_TIMEOUT.as_secs()
        ))),
    }
}

#[cfg(target_os = "linux")]
fn entry(account: &str) -> Result<keyring_core::Entry, String> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(|e| e.to_string())?;
    keyring_core::Entry::new_in_store(&(store as _), KEYRING_SERVICE, account)
        .map_err(|e| e.to_string())
}

#[cfg(not(target_os = "linux"))]
fn entry(_account: &str) -> Result<keyring_core::Entry, String> {
    Err("no keychain store is built for this platform".into())
}

fn keyring_get(account: &str) -> Result<Option<String>, KeyError> {
    let account = account.to_string();
    with_keyring(move || {
        let e = entry(&account)?;
        match e.get_password() {
            Ok(p) => Ok(Some(p)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(err) => Err(err.to_string()),
        }
    })
}

fn keyring_set_verified(account: &str, secret: &str) -> Result<(), KeyError> {
    let account = account.to_string();
    let secret = zeroize::Zeroizing::new(secret.to_string());
    with_keyring(move || {
        let e = entry(&account)?;
        e.set_password(&secret).map_err(|err| err.to_string())?;
        let back = zeroize::Zeroizing::new(e.get_password().map_err(|err| err.to_string())?);
        if back.as_str() != secret.as_str() {
            return Err("the keychain returned a different value than was stored".into());
        }
        Ok(())
    })
}
