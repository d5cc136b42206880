//! Restore: put back the original entries protect rewrote, with the values
//! read from their backends, newest record first per entry, and give the
//! file back the mode it had then.
//!
//! An entry is restored only when it still reads exactly as protect wrote it
//! (else it is reported and left alone); one already back to its original is
//! just dropped from the journal. An entry whose protect imported an OAuth
//! cache also gets its files back (read from the store, checked against
//! their hashes) and its imported grant forgotten. An entry `add` wrote is
//! removed (the secrets it stored stay in their backend). Owns rebuilding text
//! from journal records; writing and printing are the caller's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::file;
use super::journal::{self, GrantRecord, Record, Segment};
use super::mask::Masker;
use super::migrate::apply::{PutBack, put_back_plan};
use crate::backend::Registry;
use crate::clients::Format;
use crate::reference::SecretRef;
use crate::resolve::fetch_one;

/// What restore will do to one file.
pub struct FileRestore {
    pub path: PathBuf,
    pub current: Vec<u8>,
    pub restored: Vec<u8>,
    /// The mode to write the restored file with (`None`: keep the file's).
    pub mode: Option<u32>,
    /// Journal files to delete once the file is written.
    pub done: Vec<PathBuf>,
    /// Entries that could not be restored, with the reason.
    pub problems: Vec<(String, String)>,
    pub restored_entries: Vec<String>,
    /// Entries `add` wrote, removed.
    pub removed_entries: Vec<String>,
    /// References `add` stored values under for the entries undone (they stay).
    pub left_stored: Vec<String>,
    /// Files an import removed, to write back before the config.
    pub put_back: Vec<PutBack>,
    /// Grants imports saved, to forget once the file is restored.
    pub grants: Vec<GrantRecord>,
    format: Option<Format>,
    /// The client that reads the file (its id lives for this short process).
    client: Option<&'static str>,
    /// Secret texts either side holds (decoded) and how to show them.
    secrets: Vec<(String, String)>,
}

impl FileRestore {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            current: Vec::new(),
            restored: Vec::new(),
            mode: None,
            done: Vec::new(),
            problems: Vec::new(),
            restored_entries: Vec::new(),
            removed_entries: Vec::new(),
            left_stored: Vec::new(),
            put_back: Vec::new(),
            grants: Vec::new(),
            format: None,
            client: None,
            secrets: Vec::new(),
        }
    }

    /// Masks every secret either side of the diff holds, in any spelling.
    pub fn masker(&self) -> Masker {
        Masker::new(
            self.format.unwrap_or(Format::Json),
            self.secrets.iter().cloned(),
        )
    }
}

fn format_of(name: &str) -> Option<Format> {
    match name {
        "json" => Some(Format::Json),
        "toml" => Some(Format::Toml),
        "yaml" => Some(Format::Yaml),
        _ => None,
    }
}

fn mask_text(value: &str) -> String {
    crate::scan::finding::Masked::of(value).display()
}

/// The original entry text of `record` with values from the backends, and
/// the values (decoded) with how to show them.
struct Rebuilt {
    text: String,
    secrets: Vec<(String, String)>,
}

async fn original_text(registry: &Registry, record: &Record) -> Result<Rebuilt, String> {
    let mut values = Vec::with_capacity(record.secrets.len());
    let mut secrets = Vec::new();
    for s in &record.secrets {
        let r = SecretRef::parse(&s.reference).map_err(|e| format!("{}: {e}", s.reference))?;
        let v = fetch_one(registry, &r)
            .await
            .map_err(|e| format!("cannot read {}: {e}", s.reference))?;
        let text = v
            .as_str()
            .ok_or_else(|| format!("{} is not UTF-8 text", s.reference))?
            .to_string();
        values.push(journal::encode(&text, s.encoding));
        secrets.push((text.clone(), mask_text(&text)));
    }
    let mut out = String::new();
    for seg in &record.original {
        match seg {
            Segment::Text(t) => out.push_str(t),
            Segment::Secret(n) => out.push_str(
                values
                    .get(*n)
                    .ok_or_else(|| "journal record refers to a missing secret".to_string())?,
            ),
        }
    }
    Ok(Rebuilt { text: out, secrets })
}

/// Plans the restore of every journaled file (or only `only`, canonical paths).
pub async fn plan(
    registry: &Registry,
    records: Vec<(PathBuf, Record)>,
    only: &[PathBuf],
) -> Vec<FileRestore> {
    let mut by_file: BTreeMap<PathBuf, Vec<(PathBuf, Record)>> = BTreeMap::new();
    for (jpath, r) in records {
        if only.is_empty() || only.contains(&r.path) {
            by_file.entry(r.path.clone()).or_default().push((jpath, r));
        }
    }
    let mut out = Vec::new();
    for (path, recs) in by_file {
        out.push(plan_file(registry, path, recs).await);
    }
    out
}

async fn plan_file(
    registry: &Registry,
    path: PathBuf,
    mut recs: Vec<(PathBuf, Record)>,
) -> FileRestore {
    // Newest first: later protects of an entry are undone before earlier ones.
    recs.sort_by_key(|r| std::cmp::Reverse((r.1.created, r.1.sequence)));
    let mut fr = FileRestore::new(path.clone());
    let snap = match file::read(&path) {
        Ok(s) => s,
        Err(e) => {
            fr.problems
                .push((String::new(), format!("cannot read the file: {e}")));
            return fr;
        }
    };
    if let Some(why) = file::link_refusal(snap.links) {
        fr.problems.push((String::new(), why));
        return fr;
    }
    fr.current = snap.bytes;
    fr.format = recs.first().and_then(|(_, r)| format_of(&r.format));
    // Once per file, for the rest of this short-lived process.
    fr.client = recs
        .first()
        .map(|(_, r)| &*Box::leak(r.client.clone().into_boxed_str()));
    let mut text = fr.current.clone();
    let mut blocked: Vec<String> = Vec::new();
    let mut mode = None;
    for (jpath, r) in recs {
        if blocked.contains(&r.entry) {
            continue;
        }
        let step = restore_entry(registry, &r, &text).await;
        if step.is_ok() && !r.files.is_empty() {
            match put_back_plan(registry, &r.files).await {
                Ok(files) => fr.put_back.extend(files),
                Err(why) => {
                    fr.problems.push((r.server.clone(), why));
                    blocked.push(r.entry.clone());
                    continue;
                }
            }
        }
        if step.is_ok() {
            fr.grants.extend(r.grant.clone());
        }
        match step {
            Ok(Step::AlreadyOriginal) => fr.done.push(jpath),
            Ok(Step::Restored {
                text: next,
                secrets,
            }) => {
                text = next;
                fr.secrets.extend(secrets);
                fr.done.push(jpath);
                fr.left_stored.extend(r.stored.iter().cloned());
                if r.added {
                    fr.removed_entries.push(r.server.clone());
                } else {
                    fr.restored_entries.push(r.server.clone());
                }
                // Records go newest first: the oldest restored one says how the file was.
                mode = r.mode.or(mode);
            }
            Err(why) => {
                fr.problems.push((r.server.clone(), why));
                blocked.push(r.entry.clone());
            }
        }
    }
    fr.restored = text;
    fr.mode = file::restored_mode(mode, snap.mode);
    mask_others(&mut fr, &path);
    fr
}

/// What restoring one record does to the text.
enum Step {
    /// The entry already reads as it did before protect.
    AlreadyOriginal,
    Restored {
        text: Vec<u8>,
        secrets: Vec<(String, String)>,
    },
}

async fn restore_entry(registry: &Registry, r: &Record, text: &[u8]) -> Result<Step, String> {
    let format = format_of(&r.format).ok_or_else(|| format!("unknown format {:?}", r.format))?;
    if r.added {
        return remove_added(format, r, text);
    }
    let span =
        super::entry_span(format, text, &r.entry).map_err(|e| format!("entry not found: {e}"))?;
    let here = String::from_utf8_lossy(&text[span.clone()]).into_owned();
    let original = original_text(registry, r).await?;
    if here == original.text {
        return Ok(Step::AlreadyOriginal);
    }
    if here != r.protected {
        return Err(
            "the entry changed since protect rewrote it; left alone (the values are \
                    still in their backend)"
                .into(),
        );
    }
    let mut next = Vec::with_capacity(text.len() + original.text.len());
    next.extend_from_slice(&text[..span.start]);
    next.extend_from_slice(original.text.as_bytes());
    next.extend_from_slice(&text[span.end..]);
    Ok(Step::Restored {
        text: next,
        secrets: original.secrets,
    })
}

/// An entry `add` wrote is removed, if it still reads as written; one
/// already gone leaves nothing to do.
fn remove_added(format: Format, r: &Record, text: &[u8]) -> Result<Step, String> {
    let Ok(span) = super::entry_span(format, text, &r.entry) else {
        return Ok(Step::AlreadyOriginal);
    };
    if text.get(span) != Some(r.protected.as_bytes()) {
        return Err("the entry changed since add wrote it; left alone (remove it by hand)".into());
    }
    let next = super::add::remove(format, text, &r.entry)
        .map_err(|e| format!("the added entry cannot be removed: {e}"))?;
    Ok(Step::Restored {
        text: next,
        secrets: Vec::new(),
    })
}

/// Every plaintext secret either side of the diff holds, restored or not, is masked too.
fn mask_others(fr: &mut FileRestore, path: &std::path::Path) {
    let (Some(format), Some(client)) = (fr.format, fr.client) else {
        return;
    };
    for bytes in [&fr.current, &fr.restored] {
        let loc = crate::clients::Location {
            client,
            scope: crate::clients::Scope::User,
            path: path.to_path_buf(),
            format,
        };
        if let Ok(cfg) = crate::clients::read::parse(loc, bytes) {
            fr.secrets.extend(
                crate::scan::secret_texts(&cfg)
                    .into_iter()
                    .map(|(t, m)| (t, m.display())),
            );
        }
    }
}
