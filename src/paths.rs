//! Where mcp-warden keeps its own files.
//!
//! Owns the data directory: `MCP_WARDEN_HOME` when set (tests and portable
//! installs), otherwise the platform's user data directory. Every file
//! mcp-warden owns lives under it. Must not create anything: callers create
//! what they write, with the permissions they need.

use std::path::{Path, PathBuf};

/// The environment variable that relocates every file mcp-warden owns.
pub const HOME_ENV: &str = "MCP_WARDEN_HOME";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    data_dir: PathBuf,
}

impl Paths {
    /// From `MCP_WARDEN_HOME`, else the platform data directory.
    pub fn from_env() -> Option<Paths> {
        if let Some(home) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Some(Paths::at(PathBuf::from(home)));
        }
        directories::ProjectDirs::from("", "", "mcp-warden")
            .map(|d| Paths::at(d.data_dir().to_path_buf()))
    }

    pub fn at(data_dir: PathBuf) -> Paths {
        Paths { data_dir }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The embedded store: one age-encrypted file.
    pub fn store(&self) -> PathBuf {
        self.data_dir.join("store.age")
    }

    /// The store's X25519 identity when it is not in the OS keychain.
    pub fn store_key(&self) -> PathBuf {
        self.data_dir.join("store.key")
    }

    /// 1Password Connect name -> ID resolutions (no values).
    pub fn op_connect_ids(&self) -> PathBuf {
        self.data_dir.join("op-connect-ids.json")
    }

    /// Serializes writers of the store.
    pub fn store_lock(&self) -> PathBuf {
        self.data_dir.join("store.lock")
    }
}
