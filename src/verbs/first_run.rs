//! The one-time note when a command creates the local store: where the store
//! and its key are, and that both need a backup (losing the key loses every
//! secret in the store).
//!
//! Owns noticing the creation (no store before the verb ran, one after) and
//! the note's text, printed once on stderr, never on stdout (`run` and
//! `connect` give stdout to MCP). Not a verb: `dispatch` wraps the verbs a
//! person runs in a terminal with it (not `run` or `connect`, which a client
//! starts), so no verb has to know. Must not read the store or the key.

use crate::backend::local::key::{self, KeyLocation};
use crate::paths::Paths;

/// The data paths when there is no local store yet, taken before a verb runs.
pub struct Watch(Option<Paths>);

impl Watch {
    /// Looks once (one `stat`); nothing to watch without a data directory or
    /// with a store already there.
    pub fn before() -> Watch {
        Watch(Paths::from_env().filter(|p| !p.store().exists()))
    }

    /// After the verb: prints the note when the store now exists.
    pub fn after(self) {
        if let Some(paths) = self.0.filter(|p| p.store().exists()) {
            eprintln!("{}", note(&paths, &key::locate(&paths)));
        }
    }
}

/// The note, one paragraph.
fn note(paths: &Paths, key: &KeyLocation) -> String {
    let store = paths.store();
    let backup = match key {
        KeyLocation::File(k) => format!(
            "back up {} and {} together, somewhere safe and private",
            store.display(),
            k.display()
        ),
        KeyLocation::Keyring { .. } => format!(
            "back up {} with your keychain (the key lives only there)",
            store.display()
        ),
    };
    format!(
        "mcp-warden: created the local secret store {} (encrypted with age); its key is in the {key}. \
         To keep your secrets, {backup}: whoever loses the key loses the secrets, and whoever \
         has both can read them. `mcp-warden secret info` shows these locations again.",
        store.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_note_names_the_store_the_key_and_the_backup() {
        let paths = Paths::at("/data/mw".into());
        let n = note(&paths, &KeyLocation::File("/data/mw/store.key".into()));
        assert!(n.contains("/data/mw/store.age"), "{n}");
        assert!(n.contains("key file /data/mw/store.key"), "{n}");
        assert!(n.contains("loses the key loses the secrets"), "{n}");
        assert_eq!(n.lines().count(), 1);
    }
}
