//! Adding one new server entry, already protected, to a client's config
//! file (`mcp-warden add`): the entry in the client's own shape
//! ([`crate::clients::shape`]) inserted with the same format-preserving
//! editor protect uses (its container created when the file has none, the
//! file itself when it does not exist yet), checked to read back as that
//! client's entry launching what was asked and holding no plaintext, and
//! the journal record that lets `restore` take it out again.
//!
//! With `replace`, an existing entry of that name is removed first; its
//! text goes to the journal (restore puts it back), so an entry still
//! holding a plaintext secret is refused: protect it first.
//!
//! [`prepare`] only reads the file: it stores nothing and writes nothing.
//! The verb stores and verifies the secrets, then calls [`write`] (the
//! journal first, then the file, atomically).

use std::path::{Path, PathBuf};

use super::entry::entry_text;
use super::file;
use super::journal::{self, Record, Segment};
use crate::clients::edit::{self, Edit, Value};
use crate::clients::read::parse;
use crate::clients::{Format, Location, Server, shape};
use crate::scan::finding::format_name;
use crate::scan::server_findings;

/// What to add.
pub struct NewEntry<'a> {
    pub location: Location,
    pub server: &'a str,
    /// The command line the entry launches (mcp-warden first).
    pub argv: Vec<String>,
    /// Replace an entry of that name (else one is refused).
    pub replace: bool,
}

/// Why nothing can be added.
#[derive(Debug)]
pub enum AddError {
    /// An entry of that name is there and `replace` was not asked.
    Exists(String),
    /// The file or entry cannot be edited safely (the reason).
    Refused(String),
}

impl std::fmt::Display for AddError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exists(s) | Self::Refused(s) => f.write_str(s),
        }
    }
}

/// One file with the entry added in memory.
pub struct Added {
    pub location: Location,
    /// The file to write (symbolic links resolved).
    pub target: PathBuf,
    /// The file does not exist yet: it is created (mode 0600).
    pub create: bool,
    /// The file's bytes now (empty when it is created).
    pub original: Vec<u8>,
    pub new: Vec<u8>,
    /// The journal record (times set when written).
    pub record: Record,
    /// An entry of that name was replaced.
    pub replaced: bool,
    /// Ways others could rewrite the file.
    pub warnings: Vec<String>,
}

/// RFC 6901 pointer of member `key` of the container at `pointer`.
fn member(pointer: &str, key: &str) -> String {
    format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"))
}

/// Plans the addition.
pub fn prepare(entry: NewEntry<'_>) -> Result<Added, AddError> {
    let location = entry.location;
    let name = file_name(&location.path);
    let container = shape::container(location.client, &name).ok_or_else(|| {
        AddError::Refused(format!(
            "add cannot write {} entries yet (it writes {})",
            location.client,
            shape::ADDABLE.join(", ")
        ))
    })?;
    let pointer = member(container, entry.server);
    let found = current(&location)?;
    let base: Vec<u8> = match (&found.snapshot, location.format) {
        (Some(s), _) => s.bytes.clone(),
        (None, Format::Toml) => Vec::new(),
        (None, _) => b"{\n}\n".to_vec(),
    };
    let cfg = parse(location.clone(), &base)
        .map_err(|e| AddError::Refused(format!("the file cannot be read as a config: {e}")))?;
    let existing = cfg.servers.iter().find(|s| s.pointer == pointer);
    let (start, original) = match existing {
        Some(_) if !entry.replace => {
            return Err(AddError::Exists(format!(
                "an entry named {:?} is already there; nothing written (--replace replaces it)",
                entry.server
            )));
        }
        Some(old) => without(&location, &base, old)?,
        None => (base.clone(), Vec::new()),
    };
    let members = shape::stdio_entry(location.client, &entry.argv);
    let refused = |e: edit::EditError| AddError::Refused(format!("cannot add the entry: {e}"));
    let insert = edit::insert_nested(
        location.format,
        &start,
        container,
        entry.server,
        Value::Object(members),
    )
    .map_err(refused)?;
    let new = edit::apply(location.format, &start, &[insert]).map_err(refused)?;
    check(&location, &new, &pointer, &entry.argv)?;
    let protected = entry_text(location.format, &new, &pointer).map_err(AddError::Refused)?;
    if existing.is_none() {
        remove(location.format, &new, &pointer)
            .map_err(|e| AddError::Refused(format!("restore could not remove the entry: {e}")))?;
    }
    let record = Record {
        version: journal::VERSION,
        path: found.target.clone(),
        client: location.client.to_string(),
        format: format_name(location.format).to_string(),
        server: entry.server.to_string(),
        entry: pointer,
        original,
        secrets: Vec::new(),
        protected,
        created: 0,
        sequence: 0,
        mode: found.snapshot.as_ref().map(|s| s.mode),
        files: Vec::new(),
        grant: None,
        added: existing.is_none(),
        stored: Vec::new(),
    };
    let warnings = found
        .snapshot
        .as_ref()
        .map(|s| file::exposure_warnings(&found.target, s.mode))
        .unwrap_or_default();
    Ok(Added {
        location,
        target: found.target,
        create: found.snapshot.is_none(),
        original: found.snapshot.map(|s| s.bytes).unwrap_or_default(),
        new,
        record,
        replaced: existing.is_some(),
        warnings,
    })
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file as it is: its target and snapshot, or none yet.
struct Current {
    target: PathBuf,
    snapshot: Option<file::Snapshot>,
}

fn current(location: &Location) -> Result<Current, AddError> {
    let unreadable = |e: String| AddError::Refused(format!("cannot read the file: {e}"));
    if std::fs::symlink_metadata(&location.path).is_err() {
        let target = std::path::absolute(&location.path).map_err(|e| unreadable(e.to_string()))?;
        return Ok(Current {
            target,
            snapshot: None,
        });
    }
    let target = file::resolve(&location.path).map_err(unreadable)?;
    let snap = file::read(&target).map_err(unreadable)?;
    if let Some(why) = file::link_refusal(snap.links) {
        return Err(AddError::Refused(why));
    }
    Ok(Current {
        target,
        snapshot: Some(snap),
    })
}

/// The file without the entry `old` (to be replaced), and the entry's text
/// for the journal; refused when that text holds a plaintext secret.
fn without(
    location: &Location,
    base: &[u8],
    old: &Server,
) -> Result<(Vec<u8>, Vec<Segment>), AddError> {
    if !server_findings(old).is_empty() {
        return Err(AddError::Refused(format!(
            "the entry {:?} to replace holds a plaintext secret, which the journal would keep; \
             run `mcp-warden protect --apply --server {}` first (or remove the entry by hand)",
            old.name, old.name
        )));
    }
    let text = entry_text(location.format, base, &old.pointer).map_err(AddError::Refused)?;
    let rest = edit::apply(
        location.format,
        base,
        &[Edit::Remove {
            pointer: old.pointer.clone(),
        }],
    )
    .map_err(|e| AddError::Refused(format!("cannot remove the old entry: {e}")))?;
    Ok((rest, vec![Segment::Text(text)]))
}

/// `text` without the entry at `pointer` (what restore does to an entry
/// add wrote): the editor's removal, or for a TOML table its lines cut out
/// (the exact inverse of add's append: the editor would also drop an
/// implicit parent left empty), with the blank line add put before it
/// when it ends the file.
pub fn remove(format: Format, text: &[u8], pointer: &str) -> Result<Vec<u8>, String> {
    if format != Format::Toml {
        let remove = Edit::Remove {
            pointer: pointer.to_string(),
        };
        return edit::apply(format, text, &[remove]).map_err(|e| e.to_string());
    }
    let span = super::entry::entry_span(format, text, pointer)?;
    let mut start = span.start;
    if span.end == text.len() {
        let before = &text[..start];
        if before.ends_with(b"\r\n\r\n") {
            start -= 2;
        } else if before.ends_with(b"\n\n") {
            start -= 1;
        }
    }
    let mut out = text[..start].to_vec();
    out.extend_from_slice(&text[span.end..]);
    // The rest must still read, and without the entry.
    edit::apply(format, &out, &[]).map_err(|e| e.to_string())?;
    if edit::span(format, &out, pointer).is_ok()
        || super::entry::entry_span(format, &out, pointer).is_ok()
    {
        return Err("the entry is still there after removing its lines".into());
    }
    Ok(out)
}

/// The new file reads as the client's config, with the entry launching
/// `argv` and no plaintext secret in it.
fn check(location: &Location, new: &[u8], pointer: &str, argv: &[String]) -> Result<(), AddError> {
    let cfg = parse(location.clone(), new)
        .map_err(|e| AddError::Refused(format!("the new file would not read as a config: {e}")))?;
    let server = cfg
        .servers
        .iter()
        .find(|s| s.pointer == pointer)
        .ok_or_else(|| AddError::Refused("the new entry would not be read by the client".into()))?;
    let launched: Vec<&str> = server
        .command
        .iter()
        .chain(server.args.iter())
        .map(|l| l.value.as_str())
        .collect();
    if launched != argv.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(AddError::Refused(
            "the new entry would not launch the command asked for".into(),
        ));
    }
    if !server_findings(server).is_empty() {
        return Err(AddError::Refused(
            "the command line holds what looks like a plaintext secret; pass it with \
             --secret VAR and %{VAR} (run --expand-args) instead"
                .into(),
        ));
    }
    Ok(())
}

/// Writes the journal record, then the file (created 0600 in a 0700
/// folder when missing, else replaced atomically unless it changed since
/// it was read). Returns the journal file; on a failed write it is removed.
pub fn write(data_dir: &Path, added: &mut Added) -> Result<PathBuf, WriteError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    added.record.created = now.as_secs();
    added.record.sequence = u64::from(now.subsec_nanos());
    let written = journal::write(data_dir, &added.record).map_err(|e| {
        WriteError::Journal(format!(
            "cannot write the journal in {}: {e}",
            data_dir.display()
        ))
    })?;
    let result = if added.create {
        create(&added.target, &added.new)
    } else {
        file::replace(&added.target, &added.original, &added.new, None)
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&written);
        return Err(WriteError::File(e));
    }
    Ok(written)
}

/// Which write failed (nothing was changed in the config either way).
#[derive(Debug)]
pub enum WriteError {
    /// mcp-warden's own journal.
    Journal(String),
    /// The config file.
    File(String),
}

fn create(target: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = target.parent()
        && !dir.exists()
    {
        crate::atomic_file::create_private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let appeared = || "the file appeared while mcp-warden ran; run it again".to_string();
    if std::fs::symlink_metadata(target).is_ok() {
        return Err(appeared());
    }
    // no clobbering: the client may create the file between the check and the write
    crate::atomic_file::create_new(target, bytes, 0o600).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => appeared(),
        _ => e.to_string(),
    })
}
