//! Moving the plaintext OAuth caches other tools keep into the token store.
//!
//! `mcp-remote` caches the tokens it got for a server beside its own files
//! (see [`mcp_remote`]); an entry that runs `mcp-remote URL` is rewritten to
//! `mcp-warden connect URL` and its cache imported: the registration and
//! tokens saved through [`crate::oauth::store`], each original file kept
//! whole as a secret (so `restore` can put it back byte for byte), the files
//! removed once everything reads back equal (see [`apply`]). The clients
//! that do OAuth themselves (Gemini CLI, opencode, Copilot CLI) read their
//! token files on their own: those are reported, with the reason, and left.
//!
//! Owns what counts as a cache, reading it ([`Caches`], handed to the plan),
//! and the reasons a token file cannot be imported. Never prints a value.

pub mod apply;
pub mod mcp_remote;

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

pub use mcp_remote::Cache;

/// One entry's import: the server URL as written and its cache (`None`
/// when this run imported the same cache for another entry already).
pub struct Import {
    pub url: String,
    pub cache: Option<Cache>,
    /// The token store prefix the grant goes to.
    pub prefix: String,
}

impl Import {
    /// The plaintext files this import removes.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.cache
            .iter()
            .flat_map(|c| c.files.iter().map(|f| f.path.as_path()))
    }
}

/// mcp-remote caches, read on first use (so planning an entry may read its
/// cache, and nothing else), and which ones this run took.
pub struct Caches {
    home: PathBuf,
    /// `MCP_REMOTE_CONFIG_DIR` of our own environment.
    env_dir: Option<String>,
    /// Where tokens go (a reference prefix).
    pub prefix: String,
    taken: RefCell<HashSet<PathBuf>>,
    /// The server each taken cache is for (as the token store keys it: the
    /// canonical resource, without the URL's query), with its URL.
    servers: RefCell<HashMap<String, String>>,
    /// Caches that could not be read, with the reason (reported once).
    pub problems: RefCell<Vec<String>>,
}

impl Caches {
    pub fn new(home: &Path, env_dir: Option<String>, prefix: &str) -> Caches {
        Caches {
            home: home.to_path_buf(),
            env_dir,
            prefix: prefix.to_string(),
            taken: RefCell::new(HashSet::new()),
            servers: RefCell::new(HashMap::new()),
            problems: RefCell::new(Vec::new()),
        }
    }

    /// The cache of `mcp-remote URL` for an entry whose environment sets
    /// `entry_dir` as `MCP_REMOTE_CONFIG_DIR`. `Some(None)`: this run took it
    /// for another entry already. `None`: there is none.
    pub fn take(&self, url: &str, entry_dir: Option<&str>) -> Option<Option<Cache>> {
        let base = mcp_remote::base_dir(entry_dir, self.env_dir.as_deref(), &self.home)?;
        let hash = mcp_remote::url_hash(url);
        let key = base.join(&hash);
        if self.taken.borrow().contains(&key) {
            return Some(None);
        }
        match mcp_remote::read(&base, &hash) {
            Ok(Some(c)) => {
                if let Err(e) = self.one_cache_per_server(url) {
                    self.problems.borrow_mut().push(e);
                    return None;
                }
                self.taken.borrow_mut().insert(key);
                Some(Some(c))
            }
            Ok(None) => None,
            Err(e) => {
                self.problems.borrow_mut().push(e);
                None
            }
        }
    }

    /// Notes the server `url`'s cache is for; refuses a second cache for
    /// the same server under another URL (`?workspace=a` and `?workspace=b`:
    /// two accounts, one grant in the token store, the second would win).
    fn one_cache_per_server(&self, url: &str) -> Result<(), String> {
        let server = reqwest::Url::parse(url)
            .map(|u| crate::oauth::discovery::grant_resource(&u, true))
            .unwrap_or_else(|_| url.to_string());
        let mut servers = self.servers.borrow_mut();
        match servers.get(&server) {
            Some(first) if first != url => Err(format!(
                "the caches of {first} and {url} are for one server ({server}), which the \
                 token store keeps one grant for: only {first}'s is imported, {url}'s stays \
                 with mcp-remote and its entry unchanged"
            )),
            _ => {
                servers.insert(server, url.to_string());
                Ok(())
            }
        }
    }

    /// Whether this run took a cache holding `path`'s name (`<hash>_...` under a folder it read).
    pub fn took(&self, path: &Path) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        let Some(hash) = name.split('_').next() else {
            return false;
        };
        let Some(base) = path.parent().and_then(Path::parent) else {
            return false;
        };
        self.taken.borrow().contains(&base.join(hash))
    }
}

/// Why a token file the scan found cannot be imported, for the clients that
/// read their own: one line saying what to do instead.
pub fn unimportable(client: &str) -> String {
    let why = match client {
        "mcp-remote" => {
            "no client entry protect read runs `mcp-remote URL` (without headers or other secrets) \
             for these files (or `--server` left it out), so the server they belong to is unknown"
        }
        "gemini-cli" | "antigravity" => {
            "Gemini CLI connects to these servers itself and reads this file; its entries are not \
             bridges mcp-warden could take over"
        }
        "opencode" => {
            "opencode connects to these servers itself and reads this file; its entries are not \
             bridges mcp-warden could take over"
        }
        "copilot-cli" => {
            "Copilot CLI connects to these servers itself and reads these files; its entries are \
             not bridges mcp-warden could take over"
        }
        _ => "a token cache written by the client itself, not a config",
    };
    format!(
        "cannot import: {why}; revoke the tokens and log in with `mcp-warden login URL` (after \
         pointing the entry at `mcp-warden connect URL`)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plant(home: &Path, url: &str, client: &str) {
        let dir = home.join(".mcp-auth").join(mcp_remote::STORE_DIR);
        std::fs::create_dir_all(&dir).unwrap();
        let h = mcp_remote::url_hash(url);
        std::fs::write(
            dir.join(format!("{h}_tokens.json")),
            r#"{"access_token":"a"}"#,
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{h}_client_info.json")),
            format!(r#"{{"client_id":"{client}"}}"#),
        )
        .unwrap();
    }

    #[test]
    fn caches_under_different_queries_are_different_grants_but_one_server_twice_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let work = "https://mcp.example/mcp?workspace=work";
        let personal = "https://mcp.example/mcp?workspace=personal";
        let shouted = "https://MCP.example/mcp?workspace=work";
        plant(d.path(), work, "c-work");
        plant(d.path(), personal, "c-personal");
        plant(d.path(), shouted, "c-shouted");
        let c = Caches::new(d.path(), None, "local://");
        assert!(matches!(c.take(work, None), Some(Some(_))));
        assert!(
            matches!(c.take(work, None), Some(None)),
            "the same cache again: shared"
        );
        assert!(
            matches!(c.take(personal, None), Some(Some(_))),
            "another workspace: its own grant, as `connect` keys it"
        );
        assert!(c.take(shouted, None).is_none());
        let problems = c.problems.borrow();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].contains(&format!("{shouted}'s stays with mcp-remote")),
            "{problems:?}"
        );
    }
}
