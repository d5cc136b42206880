//! The journal that makes `restore` possible, holding no plaintext.
//!
//! One JSON file per rewritten entry under `<data dir>/journal/` (0700 dir,
//! 0600 files, written atomically): the file and entry, the entry's original
//! text cut into literal segments and numbered secret holes, the references
//! the secrets went to (with the backend's change time and version right
//! after storing, to tell a rotation), the file's mode, and the entry's text
//! as protect wrote it; for an imported OAuth cache, each removed file by
//! path, size, mode, SHA-256 and the reference its bytes went to, and the
//! grant saved (issuer, resource, client: no token); for an entry `add`
//! wrote, that it was added (restore removes it) and the references it
//! stored values under. Owns the record format
//! and its storage; knows nothing of backends.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::atomic_file;

pub const VERSION: u32 = 1;

/// A piece of the original entry text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Segment {
    /// Literal text (no secret in it).
    Text(String),
    /// Secret number N, written as `Record::secrets[N].encoding` says.
    Secret(usize),
}

/// How a secret was written in the file's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// The value's characters as they are.
    Raw,
    /// JSON string escaping (without the quotes).
    Json,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRecord {
    /// Where the value is (a reference; never a value).
    pub reference: String,
    pub encoding: Encoding,
    /// The value was in plaintext before protect moved it; what the backend
    /// said right after storing it, to tell a later rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed: Option<Exposure>,
}

/// The backend's metadata right after protect stored a secret (no value).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exposure {
    /// Its last-change time then, in milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_ms: Option<u64>,
    /// Its version id then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub version: u32,
    pub path: PathBuf,
    pub client: String,
    pub format: String,
    pub server: String,
    /// Pointer to the entry.
    pub entry: String,
    pub original: Vec<Segment>,
    pub secrets: Vec<SecretRecord>,
    /// The entry's text after protect (references only).
    pub protected: String,
    /// Seconds since the epoch, for ordering and display.
    pub created: u64,
    /// Nanoseconds within that second: orders records of one entry.
    pub sequence: u64,
    /// The file's permission bits when protect rewrote it (restore gives them back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    /// Plaintext files protect removed with this entry (an OAuth cache it imported).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRecord>,
    /// The grant the import saved in the token store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<GrantRecord>,
    /// `add` wrote this entry where none was: restore removes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub added: bool,
    /// References `add` stored new values under (restore leaves them in
    /// their backend and names them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stored: Vec<String>,
}

/// A file protect removed, its bytes kept whole under `reference`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: PathBuf,
    /// Where the file's bytes are (a reference; never a value).
    pub reference: String,
    pub size: u64,
    /// Permission bits.
    pub mode: u32,
    /// SHA-256 of the bytes, hex: restore checks what it reads back.
    pub sha256: String,
}

/// A grant saved in the token store by an import (nothing secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantRecord {
    pub issuer: String,
    pub resource: String,
    pub client_id: String,
    /// The token store prefix it went to.
    pub prefix: String,
}

impl Record {
    /// The record's file name: entry hash, then creation order.
    fn file_name(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.path.to_string_lossy().as_bytes());
        h.update([0]);
        h.update(self.entry.as_bytes());
        let id = hex::encode(&h.finalize()[..8]);
        format!("{id}-{:012}-{:09}.json", self.created, self.sequence)
    }
}

/// The journal directory.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("journal")
}

/// Writes `record` atomically; returns its path.
pub fn write(data_dir: &Path, record: &Record) -> std::io::Result<PathBuf> {
    let d = dir(data_dir);
    atomic_file::create_private_dir(&d)?;
    let path = d.join(record.file_name());
    let text = serde_json::to_vec_pretty(record).map_err(std::io::Error::other)?;
    atomic_file::replace(&path, &text, 0o600)?;
    Ok(path)
}

/// Every record, oldest first; unreadable files are returned as errors by name.
/// Readable records with their files, and unreadable files with the reason.
pub type Journal = (Vec<(PathBuf, Record)>, Vec<(PathBuf, String)>);

pub fn read_all(data_dir: &Path) -> Journal {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir(data_dir)) else {
        return (ok, bad);
    };
    for e in entries.flatten().take(100_000) {
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        match std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<Record>(&b).map_err(|e| e.to_string()))
        {
            Ok(r) if r.version == VERSION => ok.push((p, r)),
            Ok(r) => bad.push((p, format!("journal version {} is not supported", r.version))),
            Err(e) => bad.push((p, format!("unreadable journal record: {e}"))),
        }
    }
    ok.sort_by(|a, b| (a.1.created, a.1.sequence, &a.0).cmp(&(b.1.created, b.1.sequence, &b.0)));
    (ok, bad)
}

/// Cuts `entry_text` at every occurrence of each secret's text as written
/// (`forms[i]`). Returns `None` when some secret does not occur: then an exact
/// restore could not be promised.
pub fn segments(entry_text: &str, forms: &[String]) -> Option<Vec<Segment>> {
    let mut out = vec![Segment::Text(entry_text.to_string())];
    for (n, form) in forms.iter().enumerate() {
        if form.is_empty() {
            return None;
        }
        let mut found = false;
        let mut next = Vec::with_capacity(out.len());
        for seg in out {
            match seg {
                Segment::Text(t) => {
                    let mut rest = t.as_str();
                    while let Some(i) = rest.find(form.as_str()) {
                        found = true;
                        if i > 0 {
                            next.push(Segment::Text(rest[..i].to_string()));
                        }
                        next.push(Segment::Secret(n));
                        rest = &rest[i + form.len()..];
                    }
                    if !rest.is_empty() {
                        next.push(Segment::Text(rest.to_string()));
                    }
                }
                s => next.push(s),
            }
        }
        out = next;
        if !found {
            return None;
        }
    }
    Some(out)
}

/// Encodes `value` as it was written.
pub fn encode(value: &str, encoding: Encoding) -> String {
    match encoding {
        Encoding::Raw => value.to_string(),
        Encoding::Json => {
            let quoted = serde_json::to_string(value).unwrap_or_default();
            quoted
                .strip_prefix('"')
                .and_then(|q| q.strip_suffix('"'))
                .unwrap_or_default()
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_cut_every_occurrence_and_refuse_missing_ones() {
        let s = segments("a SEC b SEC c", &["SEC".into()]).unwrap();
        assert_eq!(
            s,
            vec![
                Segment::Text("a ".into()),
                Segment::Secret(0),
                Segment::Text(" b ".into()),
                Segment::Secret(0),
                Segment::Text(" c".into())
            ]
        );
        assert!(segments("nothing", &["SEC".into()]).is_none());
        assert_eq!(encode("a\"b", Encoding::Json), "a\\\"b");
    }
}
