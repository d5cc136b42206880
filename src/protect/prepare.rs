//! Preparing one file: plan it, keep every entry whose rewrite is exact,
//! reversible and clean, each judged on its own, and apply the kept edits
//! together (one write per file). An entry that fails a check is reported
//! with the reason and left byte-identical; the others go ahead. A file that
//! cannot be edited safely at all (a duplicated key, more than one hard
//! link) is refused whole.
//!
//! Pure apart from reading the file: stores nothing, writes nothing.

use std::collections::HashSet;

use super::entry::entry_text;
use super::journal::{self, Encoding, Record, SecretRecord, Segment};
use super::plan::{self, EntryPlan, Options, Skipped};
use super::{Prepared, file};
use crate::clients::edit::{self, Edit, Unescaped};
use crate::clients::read::parse;
use crate::clients::{ConfigFile, Location};
use crate::scan::finding::{Masked, format_name};
use crate::scan::{secret_texts, server_findings};

/// Why a file was not prepared.
pub enum PrepareError {
    /// It could not be read or parsed (scan reports it); nothing to protect known.
    Unreadable(String),
    /// It holds secrets to move but cannot be edited safely: skipped whole.
    Refused(String),
}

/// One entry that passed the per-entry checks, with its journal record.
struct Candidate {
    entry: EntryPlan,
    record: Record,
}

/// What the whole file holds, for the checks.
struct FileFacts<'a> {
    location: &'a Location,
    original: &'a [u8],
    /// Every plaintext secret of the file, decoded.
    secrets: &'a [(String, Masked)],
}

/// Plans one file and applies the kept edits in memory.
pub fn prepare(location: Location, opts: &Options<'_>) -> Result<Prepared, PrepareError> {
    let target = file::resolve(&location.path).map_err(PrepareError::Unreadable)?;
    let snap = file::read(&target).map_err(PrepareError::Unreadable)?;
    let cfg = parse(location.clone(), &snap.bytes)
        .map_err(|e| PrepareError::Unreadable(e.to_string()))?;
    let all_secrets = secret_texts(&cfg);
    let mut plan = plan::plan_file(&cfg, &snap.bytes, opts);
    let mut warnings = Vec::new();
    if !plan.entries.is_empty() {
        if let Some(why) = duplicated_key(&cfg).or_else(|| file::link_refusal(snap.links)) {
            return Err(PrepareError::Refused(why));
        }
        warnings = file::exposure_warnings(&target, snap.mode);
    }
    let facts = FileFacts {
        location: &location,
        original: &snap.bytes,
        secrets: &all_secrets,
    };
    let mut candidates = Vec::new();
    for entry in std::mem::take(&mut plan.entries) {
        match journal_record(&facts, &entry, &plan.skipped) {
            Ok(mut record) => {
                record.path = target.clone();
                record.mode = Some(snap.mode);
                candidates.push(Candidate { entry, record });
            }
            Err(reason) => plan.skipped.push(entry_skip(&entry, reason)),
        }
    }
    let (kept, new) = assemble(&facts, candidates, &mut plan.skipped);
    let mut records = Vec::with_capacity(kept.len());
    for c in kept {
        let mut record = c.record;
        record.protected = entry_text(location.format, &new, &record.entry)
            .map_err(|e| PrepareError::Unreadable(format!("{}: {e}", c.entry.server)))?;
        records.push(record);
        plan.entries.push(c.entry);
    }
    Ok(Prepared {
        location,
        target,
        original: snap.bytes,
        new,
        plan,
        records,
        all_secrets,
        warnings,
    })
}

fn entry_skip(entry: &EntryPlan, reason: String) -> Skipped {
    Skipped {
        server: entry.server.clone(),
        site: "entry".into(),
        reason,
    }
}

/// A key given twice where protect would edit: two servers of one name, or
/// one key twice inside an entry. Clients keep one of them, and an edit
/// could reach the other: the file is refused.
fn duplicated_key(cfg: &ConfigFile) -> Option<String> {
    let mut servers = HashSet::new();
    for s in &cfg.servers {
        if !servers.insert(s.pointer.as_str()) {
            return Some(format!(
                "two servers are named {:?}: a client uses only one of them and an edit could \
                 reach the other; rename or remove one, then run again",
                s.name
            ));
        }
        let mut keys = HashSet::new();
        for (_, at) in s.values() {
            if !keys.insert(at.pointer.as_str()) {
                let key = at.pointer.rsplit('/').next().unwrap_or_default();
                return Some(format!(
                    "{}: the key {:?} is given twice: a client uses only one of them and an edit \
                     could reach the other; remove one, then run again",
                    s.name,
                    key.replace("~1", "/").replace("~0", "~")
                ));
            }
        }
    }
    None
}

/// The journal record of one entry, or why the entry cannot be journaled
/// without keeping plaintext or losing an exact restore.
fn journal_record(
    facts: &FileFacts<'_>,
    entry: &EntryPlan,
    skipped: &[Skipped],
) -> Result<Record, String> {
    let format = facts.location.format;
    let old_text = entry_text(format, facts.original, &entry.pointer)?;
    let mut secrets = Vec::new();
    let mut forms = Vec::new();
    for s in &entry.secrets {
        let spelled = s.value.as_str().and_then(|v| {
            [Encoding::Raw, Encoding::Json]
                .into_iter()
                .map(|e| (e, journal::encode(v, e)))
                .find(|(_, form)| old_text.contains(form.as_str()))
        });
        let Some((encoding, form)) = spelled else {
            return Err(
                "a value is written with escape sequences; protect could not promise \
                        an exact restore"
                    .into(),
            );
        };
        forms.push(form);
        secrets.push(SecretRecord {
            reference: s.reference.to_string(),
            encoding,
            exposed: None,
        });
    }
    let original = journal::segments(&old_text, &forms).ok_or_else(|| {
        "a value is written with escape sequences; protect could not promise an exact restore"
            .to_string()
    })?;
    // Every other plaintext secret must be gone from what the journal keeps.
    let unmoved = skipped.iter().any(|s| s.server == entry.server);
    if unmoved || holds_secret(&original, facts.secrets) {
        return Err(
            "the entry also holds a secret protect cannot move; protect it by hand \
                    first (the journal would otherwise keep it)"
                .into(),
        );
    }
    Ok(Record {
        version: journal::VERSION,
        path: facts.location.path.clone(),
        client: facts.location.client.to_string(),
        format: format_name(format).to_string(),
        server: entry.server.clone(),
        entry: entry.pointer.clone(),
        original,
        secrets,
        protected: String::new(),
        created: 0,
        sequence: 0,
        mode: None,
        files: Vec::new(),
        grant: None,
        added: false,
        stored: Vec::new(),
    })
}

/// Whether literal segments hold a secret in any spelling.
fn holds_secret(segments: &[Segment], secrets: &[(String, Masked)]) -> bool {
    segments.iter().any(|seg| match seg {
        Segment::Text(t) => contains_any(t, secrets),
        Segment::Secret(_) => false,
    })
}

fn contains_any(text: &str, secrets: &[(String, Masked)]) -> bool {
    let unescaped = Unescaped::new(text);
    secrets
        .iter()
        .any(|(s, _)| text.contains(s.as_str()) || unescaped.text.contains(s.as_str()))
}

/// Applies the candidates' edits together; when the result fails a check,
/// adds them one at a time and leaves out each one that fails (reported in
/// `skipped`). Returns the kept candidates and the new file bytes.
fn assemble(
    facts: &FileFacts<'_>,
    candidates: Vec<Candidate>,
    skipped: &mut Vec<Skipped>,
) -> (Vec<Candidate>, Vec<u8>) {
    if candidates.is_empty() {
        return (candidates, facts.original.to_vec());
    }
    let all: Vec<&Candidate> = candidates.iter().collect();
    if let Ok(new) = try_rewrite(facts, &all)
        && check(facts, &new, &all).is_empty()
    {
        return (candidates, new);
    }
    let mut kept: Vec<Candidate> = Vec::new();
    let mut new = facts.original.to_vec();
    for c in candidates {
        let trial: Vec<&Candidate> = kept.iter().chain(std::iter::once(&c)).collect();
        let outcome = try_rewrite(facts, &trial).and_then(|bytes| {
            match check(facts, &bytes, &trial).into_iter().next() {
                Some((_, why)) => Err(why),
                None => Ok(bytes),
            }
        });
        match outcome {
            Ok(bytes) => {
                new = bytes;
                kept.push(c);
            }
            Err(why) => skipped.push(entry_skip(&c.entry, why)),
        }
    }
    (kept, new)
}

fn try_rewrite(facts: &FileFacts<'_>, candidates: &[&Candidate]) -> Result<Vec<u8>, String> {
    let edits: Vec<Edit> = candidates
        .iter()
        .flat_map(|c| c.entry.edits.iter().cloned())
        .collect();
    edit::apply(facts.location.format, facts.original, &edits)
        .map_err(|e| format!("the entry cannot be rewritten safely: {e}"))
}

/// The candidates whose rewritten entry is wrong, with the reason: the file
/// must read as the same client's config, and each rewritten entry must hold
/// no plaintext secret in any spelling (a candidate has no secret left
/// behind by design: see [`journal_record`]).
fn check(facts: &FileFacts<'_>, new: &[u8], candidates: &[&Candidate]) -> Vec<(usize, String)> {
    let reread = match parse(facts.location.clone(), new) {
        Ok(c) => c,
        Err(e) => {
            let why = format!("the rewritten file would not read as a config: {e}");
            return (0..candidates.len()).map(|i| (i, why.clone())).collect();
        }
    };
    let mut out = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let clean = match entry_text(facts.location.format, new, &c.entry.pointer) {
            Ok(text) => !contains_any(&text, facts.secrets),
            Err(e) => {
                out.push((i, format!("the rewritten entry cannot be found: {e}")));
                continue;
            }
        };
        let findings_left = reread
            .servers
            .iter()
            .find(|s| s.pointer == c.entry.pointer)
            .is_some_and(|server| !server_findings(server).is_empty());
        if !clean || findings_left {
            out.push((
                i,
                "the rewritten entry would still hold a plaintext secret".into(),
            ));
        } else if let Err(why) = restores_exactly(facts, new, candidates, i) {
            out.push((i, why));
        }
    }
    out
}

/// Restore run now, on `new`, for candidate `i`: its entry's text put back
/// where the entry now is must give the file as the other candidates alone
/// would make it, byte for byte (a TOML table above its parent, a blank
/// line left outside the entry, ... would otherwise restore inexactly).
fn restores_exactly(
    facts: &FileFacts<'_>,
    new: &[u8],
    candidates: &[&Candidate],
    i: usize,
) -> Result<(), String> {
    let format = facts.location.format;
    let pointer = &candidates[i].entry.pointer;
    let inexact = || "restore could not give back the entry's exact bytes".to_string();
    let before = entry_text(format, facts.original, pointer).map_err(|_| inexact())?;
    let span = super::entry::entry_span(format, new, pointer).map_err(|_| inexact())?;
    let mut restored = Vec::with_capacity(new.len() + before.len());
    restored.extend_from_slice(&new[..span.start]);
    restored.extend_from_slice(before.as_bytes());
    restored.extend_from_slice(&new[span.end..]);
    let others: Vec<&Candidate> = candidates
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != i)
        .map(|(_, c)| *c)
        .collect();
    let expected = if others.is_empty() {
        facts.original.to_vec()
    } else {
        try_rewrite(facts, &others)?
    };
    if restored == expected {
        Ok(())
    } else {
        Err(inexact())
    }
}
