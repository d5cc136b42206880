//! Protect and restore: move plaintext secrets found by scan into a backend
//! and rewrite each affected config entry to start through `mcp-warden run`
//! (a remote server, or a header bridge, through `mcp-warden connect`; with
//! `--remote-style headers-helper`, a Claude Code remote server fetches its
//! headers through `mcp-warden headers`); and undo it.
//!
//! Protect works per entry, never per file: every entry that can be
//! protected is, each one that cannot is reported with the reason and left
//! byte-identical, and a file gets one atomic write. Order of work for one
//! file, so a crash at any instant is safe: plan in memory; store every
//! secret and read it back; write the journal (no plaintext); check the
//! file is unchanged since it was read; replace it atomically. Running
//! protect again changes nothing: the rewritten entries hold no plaintext.
//! `add` (a new entry, written already protected) shares the editor, the
//! journal and restore. Owns planning, the journal and the order; the verbs
//! print, the clients editor edits, the backends store.

pub mod add;
pub mod diff;
mod entry;
pub mod exposure;
pub mod file;
pub mod journal;
pub mod mask;
pub mod migrate;
pub mod naming;
pub mod plan;
mod prepare;
pub mod restore;
pub mod store;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::clients::Location;
use crate::scan::finding::Masked;
use journal::Record;
use plan::FilePlan;

pub use entry::entry_span;
pub use prepare::{PrepareError, prepare};

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
    pub all_secrets: Vec<(String, Masked)>,
    /// Ways others could rewrite the file (world-writable file or directory).
    pub warnings: Vec<String>,
}

impl Prepared {
    pub fn changes(&self) -> bool {
        !self.plan.entries.is_empty()
    }

    /// Masks every secret of the file, moved or not, in any spelling.
    pub fn masker(&self) -> mask::Masker {
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
        mask::Masker::new(self.location.format, moved.chain(all))
    }
}

impl Prepared {
    /// The secrets to store, entry by entry.
    pub fn secrets(&self) -> impl Iterator<Item = &plan::Secret> {
        self.plan.entries.iter().flat_map(|e| e.secrets.iter())
    }

    /// Records, for each secret (in [`Self::secrets`] order), what the
    /// backend said right after storing it.
    pub fn set_exposures(&mut self, mut exposures: impl Iterator<Item = journal::Exposure>) {
        for (entry, record) in self.plan.entries.iter().zip(self.records.iter_mut()) {
            for (_, s) in entry.secrets.iter().zip(record.secrets.iter_mut()) {
                s.exposed = Some(exposures.next().unwrap_or_default());
            }
        }
    }
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

/// Replaces the file with the new text, unless it changed since it was read
/// (or gained a hard link). The mode stays.
pub fn write_file(prepared: &Prepared) -> Result<(), String> {
    file::replace(&prepared.target, &prepared.original, &prepared.new, None)
}
