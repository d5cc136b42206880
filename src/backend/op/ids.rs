//! A persistent cache of what 1Password Connect answered when a name had
//! to be turned into an ID: vault name -> vault ID, and (vault ID, item
//! title) -> item ID, per Connect server. With it a later run fetches an
//! item named by vault and title in one request instead of three.
//!
//! Owns the file (`op-connect-ids.json` in the data directory, 0600,
//! replaced atomically), its bound (at most [`MAX_ENTRIES`], the oldest go
//! first), and merging one run's changes into what another run may have
//! written meanwhile. It holds names and IDs only: never a field, a value
//! or a token. An ID from here is a hint the caller checks against what
//! Connect answers. A missing, unreadable or corrupt file is an empty cache
//! (and is rewritten at the next change); failing to write costs only time.
//! Must not do network I/O or decide whether a hint is right.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::connect::is_id;

/// Entries kept at most, over all Connect servers.
pub(crate) const MAX_ENTRIES: usize = 4096;
const VERSION: u32 = 1;

/// What an entry is looked up by. Names are kept lower-cased: Connect's
/// `eq` filters match without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Key {
    /// The Connect server's base URL.
    server: String,
    /// For an item: its vault's ID. `None` for a vault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vault: Option<String>,
    name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    #[serde(flatten)]
    key: Key,
    id: String,
    /// Seconds since the epoch when it was stored, for eviction.
    stored: u64,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u32,
    entries: Vec<Entry>,
}

/// One change of this run, replayed onto the file as it is at saving time.
enum Change {
    Put(Entry),
    Forget(Key),
    /// Every entry of this server naming this item in this vault.
    ForgetItem {
        vault: String,
        id: String,
    },
}

#[derive(Default)]
struct State {
    entries: BTreeMap<Key, Entry>,
    changes: Vec<Change>,
}

/// The cache for one Connect server.
pub(crate) struct IdCache {
    file: PathBuf,
    server: String,
    state: Mutex<State>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The entries in `file`; nothing when it is missing, unreadable or not
/// ours. An entry whose IDs do not have 1Password's form is dropped (they
/// become URL path segments).
fn load(file: &Path) -> BTreeMap<Key, Entry> {
    let Some(stored) = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice::<Stored>(&b).ok())
        .filter(|s| s.version == VERSION)
    else {
        return BTreeMap::new();
    };
    stored
        .entries
        .into_iter()
        .filter(|e| is_id(&e.id) && e.key.vault.as_deref().is_none_or(is_id))
        .map(|e| (e.key.clone(), e))
        .collect()
}

fn apply(entries: &mut BTreeMap<Key, Entry>, change: &Change, server: &str) {
    match change {
        Change::Put(e) => {
            entries.insert(e.key.clone(), e.clone());
        }
        Change::Forget(k) => {
            entries.remove(k);
        }
        Change::ForgetItem { vault, id } => entries.retain(|k, e| {
            !(k.server == server && k.vault.as_deref() == Some(vault) && e.id == *id)
        }),
    }
}

/// Drops the oldest entries beyond [`MAX_ENTRIES`].
fn bound(entries: &mut BTreeMap<Key, Entry>) {
    if entries.len() <= MAX_ENTRIES {
        return;
    }
    let mut by_age: Vec<(u64, Key)> = entries
        .values()
        .map(|e| (e.stored, e.key.clone()))
        .collect();
    by_age.sort();
    let excess = entries.len() - MAX_ENTRIES;
    for (_, k) in by_age.into_iter().take(excess) {
        entries.remove(&k);
    }
}

impl IdCache {
    /// Reads `file` for `server` (a Connect base URL); never fails.
    pub fn open(file: PathBuf, server: &str) -> IdCache {
        let entries = load(&file);
        IdCache {
            file,
            server: server.to_string(),
            state: Mutex::new(State {
                entries,
                changes: Vec::new(),
            }),
        }
    }

    fn key(&self, vault: Option<&str>, name: &str) -> Key {
        Key {
            server: self.server.clone(),
            vault: vault.map(str::to_string),
            name: name.to_lowercase(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &Key) -> Option<String> {
        self.state().entries.get(key).map(|e| e.id.clone())
    }

    fn change(&self, change: Change) {
        let mut s = self.state();
        let State { entries, changes } = &mut *s;
        apply(entries, &change, &self.server);
        changes.push(change);
    }

    fn put(&self, key: Key, id: &str) {
        if !is_id(id) {
            return;
        }
        if self.get(&key).as_deref() == Some(id) {
            return;
        }
        self.change(Change::Put(Entry {
            key,
            id: id.to_string(),
            stored: now(),
        }));
    }

    fn forget(&self, key: Key) {
        if self.get(&key).is_some() {
            self.change(Change::Forget(key));
        }
    }

    /// The ID last seen for the vault named `name`.
    pub fn vault(&self, name: &str) -> Option<String> {
        self.get(&self.key(None, name))
    }

    /// The ID last seen for the item titled `title` in vault `vault_id`.
    pub fn item(&self, vault_id: &str, title: &str) -> Option<String> {
        self.get(&self.key(Some(vault_id), title))
    }

    pub fn put_vault(&self, name: &str, id: &str) {
        self.put(self.key(None, name), id);
    }

    pub fn put_item(&self, vault_id: &str, title: &str, id: &str) {
        self.put(self.key(Some(vault_id), title), id);
    }

    pub fn forget_vault(&self, name: &str) {
        self.forget(self.key(None, name));
    }

    pub fn forget_item(&self, vault_id: &str, title: &str) {
        self.forget(self.key(Some(vault_id), title));
    }

    /// Forgets every title that led to item `id` (it was deleted).
    pub fn forget_item_id(&self, vault_id: &str, id: &str) {
        let known = self.state().entries.iter().any(|(k, e)| {
            k.server == self.server && k.vault.as_deref() == Some(vault_id) && e.id == id
        });
        if !known {
            return;
        }
        self.change(Change::ForgetItem {
            vault: vault_id.to_string(),
            id: id.to_string(),
        });
    }

    /// Writes this run's changes over the file as it is now (another run
    /// may have written it since it was read). Errors are ignored: the
    /// cache only saves time.
    pub fn save(&self) {
        let changes = std::mem::take(&mut self.state().changes);
        if changes.is_empty() {
            return;
        }
        let mut entries = load(&self.file);
        for c in &changes {
            apply(&mut entries, c, &self.server);
        }
        bound(&mut entries);
        let stored = Stored {
            version: VERSION,
            entries: entries.into_values().collect(),
        };
        let _ = write(&self.file, &stored);
    }
}

fn write(file: &Path, stored: &Stored) -> std::io::Result<()> {
    if let Some(dir) = file.parent() {
        crate::atomic_file::create_private_dir(dir)?;
    }
    let bytes = serde_json::to_vec(stored).map_err(std::io::Error::other)?;
    crate::atomic_file::replace_with_mode(file, &bytes, 0o600)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const V: &str = "vvvvvvvvvvvvvvvvvvvvvvvvv1";
    const I: &str = "iiiiiiiiiiiiiiiiiiiiiiiii1";
    const J: &str = "iiiiiiiiiiiiiiiiiiiiiiiii2";

    #[test]
    fn remembers_per_server_without_regard_to_case() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("ids.json");
        let a = IdCache::open(f.clone(), "https://a/");
        a.put_vault("Private", V);
        a.put_item(V, "GitHub", I);
        a.save();
        let a = IdCache::open(f.clone(), "https://a/");
        assert_eq!(a.vault("private").as_deref(), Some(V));
        assert_eq!(a.item(V, "GITHUB").as_deref(), Some(I));
        let b = IdCache::open(f.clone(), "https://b/");
        assert_eq!(b.vault("Private"), None);
        assert_eq!(b.item(V, "GitHub"), None);
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn changes_merge_into_what_another_run_wrote() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("ids.json");
        let first = IdCache::open(f.clone(), "https://a/");
        let second = IdCache::open(f.clone(), "https://a/");
        first.put_item(V, "one", I);
        first.save();
        second.put_item(V, "two", J);
        second.save();
        let c = IdCache::open(f.clone(), "https://a/");
        assert_eq!(c.item(V, "one").as_deref(), Some(I));
        assert_eq!(c.item(V, "two").as_deref(), Some(J));
        c.forget_item_id(V, I);
        c.forget_item(V, "two");
        c.save();
        let c = IdCache::open(f, "https://a/");
        assert_eq!((c.item(V, "one"), c.item(V, "two")), (None, None));
    }

    #[test]
    fn corrupt_files_and_malformed_ids_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("ids.json");
        std::fs::write(&f, b"{not json").unwrap();
        let c = IdCache::open(f.clone(), "https://a/");
        assert_eq!(c.vault("Private"), None);
        c.put_vault("Private", V);
        c.put_vault("Bad", "../../etc");
        c.save();
        let c = IdCache::open(f.clone(), "https://a/");
        assert_eq!(c.vault("Private").as_deref(), Some(V));
        assert_eq!(c.vault("Bad"), None);
        let text = std::fs::read_to_string(&f)
            .unwrap()
            .replace(V, "../vaults/x/items/y/../z");
        std::fs::write(&f, text).unwrap();
        assert_eq!(IdCache::open(f, "https://a/").vault("Private"), None);
    }

    #[test]
    fn the_oldest_entries_go_first() {
        let mut entries = BTreeMap::new();
        for n in 0..MAX_ENTRIES + 3 {
            let key = Key {
                server: "s".into(),
                vault: None,
                name: format!("{n}"),
            };
            let e = Entry {
                key: key.clone(),
                id: V.into(),
                stored: n as u64,
            };
            entries.insert(key, e);
        }
        bound(&mut entries);
        assert_eq!(entries.len(), MAX_ENTRIES);
        assert!(entries.values().all(|e| e.stored >= 3));
    }
}
