//! The embedded store's file: one age-encrypted JSON document.
//!
//! Owns the format, encryption, the writer lock and atomic replacement. A
//! store that cannot be decrypted is reported and never overwritten. Must not
//! decide where the key lives (that is `key`).
//!
//! Plaintext format (inside age, recoverable with `age -d -i store.key`):
//! `{"version":1,"secrets":{"NAME":{"value":"...","created":UNIX,"updated":UNIX}}}`;
//! a value that is not UTF-8 is stored as `"value_base64"` instead.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use age::x25519::Identity;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::atomic_file;
use crate::secret::SecretValue;

const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error(
        "cannot decrypt {path} with the {key}; the file was left untouched (restore the key, or move the file away to start a new store)"
    )]
    Decrypt { path: PathBuf, key: String },
    #[error("{path} decrypted but is not a store of format {FORMAT_VERSION}: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("cannot encrypt the store: {0}")]
    Encrypt(String),
}

/// One stored secret.
pub struct Entry {
    pub value: SecretValue,
    pub created: u64,
    pub updated: u64,
}

/// The decrypted store, in memory.
#[derive(Default)]
pub struct Contents {
    pub secrets: BTreeMap<String, Entry>,
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn to_system_time(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Reads and decrypts the store at `path`; `Ok(None)` when there is no store yet.
pub fn read(
    path: &Path,
    identity: &Identity,
    key_desc: &str,
) -> Result<Option<Contents>, StoreError> {
    let cipher = match fs::read(path) {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let plain =
        Zeroizing::new(
            age::decrypt(identity, &cipher).map_err(|_| StoreError::Decrypt {
                path: path.to_path_buf(),
                key: key_desc.to_string(),
            })?,
        );
    decode(&plain)
        .map(Some)
        .map_err(|reason| StoreError::Format {
            path: path.to_path_buf(),
            reason,
        })
}

/// Encrypts `contents` to `identity`'s recipient and atomically replaces `path` (mode 0600).
pub fn write(path: &Path, identity: &Identity, contents: &Contents) -> Result<(), StoreError> {
    let plain = encode(contents);
    let cipher = age::encrypt(&identity.to_public(), &plain)
        .map_err(|e| StoreError::Encrypt(e.to_string()))?;
    atomic_file::replace(path, &cipher, 0o600).map_err(|source| StoreError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[derive(Serialize)]
struct FileOut<'a> {
    version: u32,
    secrets: BTreeMap<&'a str, EntryOut<'a>>,
}

#[derive(Serialize)]
struct EntryOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    value_base64: Option<&'a str>,
    created: u64,
    updated: u64,
}

#[derive(Deserialize)]
struct FileIn {
    version: u32,
    secrets: BTreeMap<String, EntryIn>,
}

#[derive(Deserialize)]
struct EntryIn {
    value: Option<SecretText>,
    value_base64: Option<SecretText>,
    created: u64,
    updated: u64,
}

/// Deserializes a JSON string straight into a zeroizing secret.
struct SecretText(SecretValue);

impl<'de> Deserialize<'de> for SecretText {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SecretText;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<SecretText, E> {
                Ok(SecretText(SecretValue::from_slice(v.as_bytes())))
            }
            fn visit_string<E>(self, v: String) -> Result<SecretText, E> {
                Ok(SecretText(SecretValue::from_string(v)))
            }
        }
        d.deserialize_string(V)
    }
}

fn encode(contents: &Contents) -> Zeroizing<Vec<u8>> {
    // Base64 forms live in zeroizing buffers kept alive until serialization ends.
    let b64: Vec<Option<Zeroizing<String>>> = contents
        .secrets
        .values()
        .map(|e| match e.value.as_str() {
            Some(_) => None,
            None => Some(Zeroizing::new(
                base64::engine::general_purpose::STANDARD.encode(e.value.expose()),
            )),
        })
        .collect();
    let secrets = contents
        .secrets
        .iter()
        .zip(&b64)
        .map(|((name, e), b)| {
            (
                name.as_str(),
                EntryOut {
                    value: e.value.as_str(),
                    value_base64: b.as_ref().map(|s| s.as_str()),
                    created: e.created,
                    updated: e.updated,
                },
            )
        })
        .collect();
    let estimate: usize = contents
        .secrets
        .iter()
        .map(|(n, e)| n.len() + e.value.len() * 6 + 96)
        .sum::<usize>()
        + 64;
    // Sized up front so the buffer never reallocates and leaves copies behind.
    let mut out = Zeroizing::new(Vec::with_capacity(estimate));
    let file = FileOut {
        version: FORMAT_VERSION,
        secrets,
    };
    // Serializing plain structs of strings and integers into a Vec cannot fail.
    if serde_json::to_writer(&mut *out, &file).is_err() {
        out.clear();
    }
    out
}

fn decode(plain: &[u8]) -> Result<Contents, String> {
    let file: FileIn = serde_json::from_slice(plain)
        .map_err(|e| format!("invalid JSON at line {} column {}", e.line(), e.column()))?;
    if file.version != FORMAT_VERSION {
        return Err(format!("format version {} is not supported", file.version));
    }
    let mut secrets = BTreeMap::new();
    for (name, e) in file.secrets {
        let value = match (e.value, e.value_base64) {
            (Some(v), None) => v.0,
            (None, Some(b)) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b.0.expose())
                    .map_err(|_| format!("secret {name:?} has an invalid value_base64"))?;
                SecretValue::new(bytes)
            }
            _ => {
                return Err(format!(
                    "secret {name:?} needs exactly one of value, value_base64"
                ));
            }
        };
        secrets.insert(
            name,
            Entry {
                value,
                created: e.created,
                updated: e.updated,
            },
        );
    }
    Ok(Contents { secrets })
}

/// An exclusive lock on the store, held while a writer reads, changes and writes it.
pub struct WriteLock {
    _file: fs::File,
}

impl WriteLock {
    pub fn acquire(path: &Path) -> io::Result<WriteLock> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(path)?;
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(WriteLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_text_and_binary() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("store.age");
        let id = Identity::generate();
        let mut c = Contents::default();
        c.secrets.insert(
            "a".into(),
            Entry {
                value: SecretValue::from_slice(b"text \"quoted\" \\ value"),
                created: 1,
                updated: 2,
            },
        );
        c.secrets.insert(
            "b".into(),
            Entry {
                value: SecretValue::from_slice(&[0xff, 0, 1]),
                created: 3,
                updated: 4,
            },
        );
        write(&p, &id, &c).unwrap();
        let raw = fs::read(&p).unwrap();
        assert!(
            !raw.windows(6).any(|w| w == b"quoted"),
            "store must be encrypted"
        );
        let back = read(&p, &id, "test key").unwrap().unwrap();
        assert_eq!(
            back.secrets["a"].value.expose(),
            b"text \"quoted\" \\ value"
        );
        assert_eq!(back.secrets["b"].value.expose(), &[0xff, 0, 1]);
        assert_eq!(
            (back.secrets["b"].created, back.secrets["b"].updated),
            (3, 4)
        );
    }

    #[test]
    fn wrong_key_is_a_clear_error_and_file_untouched() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("store.age");
        write(&p, &Identity::generate(), &Contents::default()).unwrap();
        let before = fs::read(&p).unwrap();
        let e = read(&p, &Identity::generate(), "key file X").err().unwrap();
        assert!(matches!(e, StoreError::Decrypt { .. }), "{e}");
        assert_eq!(fs::read(&p).unwrap(), before);
    }
}
