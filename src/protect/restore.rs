//! Restore: put back the original entries protect rewrote, with the values
//! read from their backends, newest record first per entry.
//!
//! An entry is restored only when it still reads exactly as protect wrote it
//! (else it is reported and left alone); one already back to its original is
//! just dropped from the journal. Owns rebuilding text from journal records;
//! writing and printing are the caller's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::diff::Mask;
use super::journal::{self, Record, Segment};
use crate::backend::Registry;
use crate::clients::Format;
use crate::reference::SecretRef;
use crate::resolve::fetch_one;

/// What restore will do to one file.
pub struct FileRestore {
    pub path: PathBuf,
    pub current: Vec<u8>,
    pub restored: Vec<u8>,
    /// Journal files to delete once the file is written.
    pub done: Vec<PathBuf>,
    /// Entries that could not be restored, with the reason.
    pub problems: Vec<(String, String)>,
    /// Restored secret texts, masked in diffs.
    pub masks: Vec<Mask>,
    pub restored_entries: Vec<String>,
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
    let m = crate::scan::finding::Masked::of(value);
    format!("[{}]", m.display())
}

/// Rebuilds the original entry text of `record` with values from the backends.
async fn original_text(
    registry: &Registry,
    record: &Record,
) -> Result<(String, Vec<Mask>), String> {
    let mut values = Vec::with_capacity(record.secrets.len());
    let mut masks = Vec::new();
    for s in &record.secrets {
        let r = SecretRef::parse(&s.reference).map_err(|e| format!("{}: {e}", s.reference))?;
        let v = fetch_one(registry, &r)
            .await
            .map_err(|e| format!("cannot read {}: {e}", s.reference))?;
        let text = v
            .as_str()
            .ok_or_else(|| format!("{} is not UTF-8 text", s.reference))?
            .to_string();
        let encoded = journal::encode(&text, s.encoding);
        masks.push(Mask {
            text: encoded.clone(),
            shown: mask_text(&text),
        });
        values.push(encoded);
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
    Ok((out, masks))
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
    for (path, mut recs) in by_file {
        // Newest first: later protects of an entry are undone before earlier ones.
        recs.sort_by_key(|r| std::cmp::Reverse((r.1.created, r.1.sequence)));
        let mut fr = FileRestore {
            path: path.clone(),
            current: Vec::new(),
            restored: Vec::new(),
            done: Vec::new(),
            problems: Vec::new(),
            masks: Vec::new(),
            restored_entries: Vec::new(),
        };
        match super::read_config(&path) {
            Ok(b) => fr.current = b,
            Err(e) => {
                fr.problems
                    .push((String::new(), format!("cannot read the file: {e}")));
                out.push(fr);
                continue;
            }
        }
        let mut text = fr.current.clone();
        let mut blocked: Vec<String> = Vec::new();
        // The client id lives for the rest of this short-lived process.
        let file_kind = recs.first().and_then(|(_, r)| {
            format_of(&r.format).map(|f| (&*Box::leak(r.client.clone().into_boxed_str()), f))
        });
        for (jpath, r) in recs {
            if blocked.contains(&r.entry) {
                continue;
            }
            let Some(format) = format_of(&r.format) else {
                fr.problems
                    .push((r.server.clone(), format!("unknown format {:?}", r.format)));
                blocked.push(r.entry.clone());
                continue;
            };
            let span = match super::entry_span(format, &text, &r.entry) {
                Ok(s) => s,
                Err(e) => {
                    fr.problems
                        .push((r.server.clone(), format!("entry not found: {e}")));
                    blocked.push(r.entry.clone());
                    continue;
                }
            };
            let here = String::from_utf8_lossy(&text[span.clone()]).into_owned();
            let (original, masks) = match original_text(registry, &r).await {
                Ok(x) => x,
                Err(e) => {
                    fr.problems.push((r.server.clone(), e));
                    blocked.push(r.entry.clone());
                    continue;
                }
            };
            if here == original {
                fr.done.push(jpath);
                continue;
            }
            if here != r.protected {
                fr.problems.push((
                    r.server.clone(),
                    "the entry changed since protect rewrote it; left alone (the values are still in their backend)".into(),
                ));
                blocked.push(r.entry.clone());
                continue;
            }
            let mut next = Vec::with_capacity(text.len() + original.len());
            next.extend_from_slice(&text[..span.start]);
            next.extend_from_slice(original.as_bytes());
            next.extend_from_slice(&text[span.end..]);
            text = next;
            fr.masks.extend(masks);
            fr.done.push(jpath);
            fr.restored_entries.push(r.server.clone());
        }
        fr.restored = text;
        // Mask every plaintext secret either side of the diff holds, restored or not.
        if let Some((client, format)) = file_kind {
            for bytes in [&fr.current, &fr.restored] {
                let loc = crate::clients::Location {
                    client,
                    scope: crate::clients::Scope::User,
                    path: path.clone(),
                    format,
                };
                if let Ok(cfg) = crate::clients::read::parse(loc, bytes) {
                    fr.masks.extend(super::masks_for(
                        crate::scan::secret_texts(&cfg)
                            .into_iter()
                            .map(|(t, m)| (t, m.display())),
                    ));
                }
            }
        }
        out.push(fr);
    }
    out
}
