//! Protect and restore: move plaintext secrets found by scan into a backend
//! and rewrite each affected config entry to start through `mcp-warden run`
//! (or, for Claude Code remote servers, to fetch its headers through
//! `mcp-warden headers`); and undo it.
//!
//! Order of work for one file, so a crash at any instant is safe: plan in
//! memory; store every secret and read it back; write the journal (no
//! plaintext); check the file is unchanged since it was read; replace it
//! atomically. Running protect again changes nothing: the rewritten entries
//! hold no plaintext. Owns planning, the journal and the order; the verbs
//! print, the clients editor edits, the backends store.

pub mod diff;
pub mod journal;
pub mod naming;
pub mod plan;
pub mod restore;
pub mod store;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clients::edit;
use crate::clients::read::{MAX_CONFIG_BYTES, parse};
use crate::clients::{Format, Location};
use crate::scan::finding::format_name;
use crate::scan::read_limited;
use journal::{Encoding, Record, SecretRecord};
use plan::{FilePlan, Options};

/// One file, planned and edited in memory.
pub struct Prepared {
    pub location: Location,
    /// The file to write (symbolic links resolved, so a link stays a link).
    pub target: PathBuf,
    pub original: Vec<u8>,
    pub new: Vec<u8>,
    pub plan: FilePlan,
    /// Journal records, one per rewritten entry (times set when written).
    pub records: Vec<Record>,
    /// Every plaintext secret of the file (protected or not), for masking diffs.
    pub all_secrets: Vec<(String, crate::scan::finding::Masked)>,
}

impl Prepared {
    pub fn changes(&self) -> bool {
        !self.plan.entries.is_empty()
    }

    /// Masks for the diff: every secret of the file, moved or not, in every
    /// form it may take in the text.
    pub fn masks(&self) -> Vec<diff::Mask> {
        let moved = self
            .plan
            .entries
            .iter()
            .flat_map(|e| e.secrets.iter())
            .filter_map(|s| Some((s.value.as_str()?.to_string(), s.masked.clone())));
        let all = self
            .all_secrets
            .iter()
            .map(|(t, m)| (t.clone(), m.display()));
        masks_for(moved.chain(all))
    }
}

/// Masks (raw and JSON-escaped forms) for secret texts and how to show them.
pub fn masks_for(secrets: impl Iterator<Item = (String, String)>) -> Vec<diff::Mask> {
    secrets
        .flat_map(|(text, shown)| {
            [Encoding::Raw, Encoding::Json].map(|enc| diff::Mask {
                text: journal::encode(&text, enc),
                shown: format!("[{shown}]"),
            })
        })
        .collect()
}

/// Reads a config file (regular files only, at most [`MAX_CONFIG_BYTES`]).
pub fn read_config(path: &Path) -> Result<Vec<u8>, String> {
    read_limited(path, MAX_CONFIG_BYTES).map_err(|e| e.to_string())
}

/// The byte range of a whole server entry: the editor's value span, or for a
/// TOML table (`[mcp_servers.x]` and its sub-tables such as `[mcp_servers.x.env]`)
/// the whole lines from its header to its last key.
pub fn entry_span(
    format: Format,
    bytes: &[u8],
    pointer: &str,
) -> Result<std::ops::Range<usize>, String> {
    match edit::span(format, bytes, pointer) {
        Ok(span) => Ok(span),
        Err(e) if format == Format::Toml => {
            toml_table_span(bytes, pointer).ok_or_else(|| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn toml_table_span(bytes: &[u8], pointer: &str) -> Option<std::ops::Range<usize>> {
    fn widen(r: &mut std::ops::Range<usize>, s: Option<std::ops::Range<usize>>) {
        if let Some(s) = s {
            r.start = r.start.min(s.start);
            r.end = r.end.max(s.end);
        }
    }
    fn extend(t: &toml_edit::Table, r: &mut std::ops::Range<usize>, depth: usize) {
        if depth > 64 {
            return;
        }
        for (k, item) in t.iter() {
            widen(r, t.key(k).and_then(toml_edit::Key::span));
            match item {
                toml_edit::Item::Table(sub) => {
                    widen(r, sub.span());
                    extend(sub, r, depth + 1);
                }
                toml_edit::Item::Value(v) => widen(r, v.span()),
                toml_edit::Item::ArrayOfTables(a) => {
                    for sub in a.iter() {
                        widen(r, sub.span());
                        extend(sub, r, depth + 1);
                    }
                }
                toml_edit::Item::None => {}
            }
        }
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut item = doc.as_item();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        item = item.get(seg.as_str())?;
    }
    let table = item.as_table()?;
    let mut range = table.span()?;
    extend(table, &mut range, 0);
    // Another table defined between this entry's header and its sub-tables
    // would be swallowed (journaled, restored): refuse rather than guess.
    fn foreign(
        t: &toml_edit::Table,
        path: &mut Vec<String>,
        entry: &[String],
        r: &std::ops::Range<usize>,
        depth: usize,
    ) -> bool {
        if depth > 64 {
            return true;
        }
        for (k, item) in t.iter() {
            if let toml_edit::Item::Table(sub) = item {
                path.push(k.to_string());
                let inside = sub
                    .span()
                    .is_some_and(|s| s.start >= r.start && s.start < r.end);
                let ours = path.starts_with(entry) || entry.starts_with(path);
                if (inside && !ours) || foreign(sub, path, entry, r, depth + 1) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let entry: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|seg| seg.replace("~1", "/").replace("~0", "~"))
        .collect();
    let root = doc.as_item().as_table()?;
    if foreign(root, &mut Vec::new(), &entry, &range, 0) {
        return None;
    }
    let start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |i| range.end + i + 1);
    Some(start..end)
}

fn entry_text(format: Format, bytes: &[u8], pointer: &str) -> Result<String, String> {
    let span = entry_span(format, bytes, pointer)?;
    let text = bytes
        .get(span)
        .ok_or_else(|| format!("{pointer}: span outside the file"))?;
    String::from_utf8(text.to_vec()).map_err(|_| format!("{pointer}: not UTF-8 text"))
}

/// Plans one file and applies the edits in memory. `Ok(None)`: nothing to do.
pub fn prepare(location: Location, opts: &Options<'_>) -> Result<Prepared, String> {
    let target = std::fs::canonicalize(&location.path).map_err(|e| e.to_string())?;
    let original = read_config(&target)?;
    let cfg = parse(location.clone(), &original).map_err(|e| e.to_string())?;
    let all_secrets = crate::scan::secret_texts(&cfg);
    let mut plan = plan::plan_file(&cfg, &original, opts);
    let format = location.format;
    let mut records = Vec::new();
    let mut kept = Vec::new();
    let mut edits = Vec::new();
    // Each entry is checked on its own: one that cannot be reversed exactly is skipped.
    for entry in std::mem::take(&mut plan.entries) {
        let old_text = entry_text(format, &original, &entry.pointer)?;
        let mut secrets = Vec::new();
        let mut forms = Vec::new();
        let mut exact = true;
        for s in &entry.secrets {
            let Some(v) = s.value.as_str() else {
                exact = false;
                break;
            };
            let enc = [Encoding::Raw, Encoding::Json]
                .into_iter()
                .find(|e| old_text.contains(&journal::encode(v, *e)));
            match enc {
                Some(e) => {
                    forms.push(journal::encode(v, e));
                    secrets.push(SecretRecord {
                        reference: s.reference.to_string(),
                        encoding: e,
                    });
                }
                None => {
                    exact = false;
                    break;
                }
            }
        }
        let segments = if exact {
            journal::segments(&old_text, &forms)
        } else {
            None
        };
        let Some(original_segments) = segments else {
            plan.skipped.push(plan::Skipped {
                server: entry.server.clone(),
                site: "entry".into(),
                reason: "a value is written with escape sequences; protect could not promise an exact restore".into(),
            });
            continue;
        };
        // Every other plaintext secret must be gone from what the journal keeps.
        let leftover = all_secrets.iter().any(|(t, _)| {
            original_segments
                .iter()
                .any(|seg| matches!(seg, journal::Segment::Text(x) if x.contains(t.as_str())))
        });
        if leftover {
            plan.skipped.push(plan::Skipped {
                server: entry.server.clone(),
                site: "entry".into(),
                reason: "the entry also holds a secret protect cannot move; protect it by hand \
                         first (the journal would otherwise keep it)"
                    .into(),
            });
            continue;
        }
        edits.extend(entry.edits.iter().cloned());
        records.push(Record {
            version: journal::VERSION,
            path: target.clone(),
            client: location.client.to_string(),
            format: format_name(format).to_string(),
            server: entry.server.clone(),
            entry: entry.pointer.clone(),
            original: original_segments,
            secrets,
            protected: String::new(),
            created: 0,
            sequence: 0,
        });
        kept.push(entry);
    }
    plan.entries = kept;
    let new = if edits.is_empty() {
        original.clone()
    } else {
        edit::apply(format, &original, &edits).map_err(|e| e.to_string())?
    };
    for r in &mut records {
        r.protected = entry_text(format, &new, &r.entry)?;
        if all_secrets
            .iter()
            .any(|(t, _)| r.protected.contains(t.as_str()))
        {
            return Err(format!(
                "{}: the rewritten entry would still hold a plaintext secret; nothing written",
                r.server
            ));
        }
    }
    // The rewritten file must still read as the same client's config, with no plaintext left where we worked.
    if !plan.entries.is_empty() {
        let reread = parse(location.clone(), &new)
            .map_err(|e| format!("the rewritten file would not parse: {e}"))?;
        for entry in &plan.entries {
            if let Some(server) = reread.servers.iter().find(|s| s.pointer == entry.pointer)
                && !crate::scan::server_findings(server).iter().all(|f| {
                    plan.skipped
                        .iter()
                        .any(|s| s.server == entry.server && s.site == f.site.describe())
                })
            {
                return Err(format!(
                    "{}: the rewritten entry still holds a plaintext secret; nothing written",
                    entry.server
                ));
            }
        }
    }
    Ok(Prepared {
        location,
        target,
        original,
        new,
        plan,
        records,
        all_secrets,
    })
}

/// Stamps and writes the journal records of `prepared`.
pub fn write_journal(data_dir: &Path, prepared: &mut Prepared) -> Result<Vec<PathBuf>, String> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut written = Vec::new();
    for r in &mut prepared.records {
        r.created = now.as_secs();
        r.sequence = u64::from(now.subsec_nanos());
        written.push(
            journal::write(data_dir, r)
                .map_err(|e| format!("cannot write the journal in {}: {e}", data_dir.display()))?,
        );
    }
    Ok(written)
}

/// Replaces the file with the new text, unless it changed since it was read.
pub fn write_file(prepared: &Prepared) -> Result<(), String> {
    let now = read_config(&prepared.target)?;
    if now != prepared.original {
        return Err("the file changed while protect ran; run it again".into());
    }
    crate::atomic_file::replace(&prepared.target, &prepared.new, 0o600).map_err(|e| e.to_string())
}
