//! Governance of named servers: profiles, their policy, command pins, and
//! the secret references a server is given.
//!
//! Owns the user-level profile file (`config.toml`) and the project-level
//! narrowing file (`.mcp-warden.toml`), the policy lattice they combine into
//! (narrowing only, unless an `--insecure-*` override is given), command
//! pins (hashes of what a profile runs, checked before any secret is fetched:
//! [`pin`], and the pin step of a run in [`pin_check`]), `NAME=REF`
//! assignments turned into requests ([`assign`]), and the references a
//! client entry's wrapper names ([`entry`]).
//!
//! Everything here is pure with respect to secrets and processes: it reads
//! and writes files, hashes files, and never contacts a backend, resolves a
//! reference, starts a process or prints. `inventory` and `doctor` read the
//! same types through [`profile::load`] and [`pin::observe`]/[`pin::compare`].

pub mod assign;
pub mod declare;
pub mod entry;
mod hash_cache;
pub mod interp;
pub mod pin;
pub mod pin_check;
pub mod policy;
pub mod profile;
mod schema;
pub mod wrapper;

use std::path::{Path, PathBuf};

use crate::exit::{Code, ExitStatus};

/// Errors of profiles and pins, each one line for the user. None carries a
/// value from a file: only key names, paths, line numbers and hash prefixes.
#[derive(Debug, thiserror::Error)]
pub enum GovernError {
    /// A problem at a place in a config file (78).
    #[error("{}{}: {msg}", file.display(), pos.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    At {
        file: PathBuf,
        /// 1-based line and column, when known.
        pos: Option<(usize, usize)>,
        msg: String,
    },
    /// A configuration problem without a position (78).
    #[error("{0}")]
    Config(String),
    /// A command-line request the policy does not allow (64).
    #[error("{0}")]
    Usage(String),
    /// The policy refuses to start this command: a pin mismatch, or an
    /// unpinned command under `pin = "required"` (77).
    #[error("{0}")]
    Refused(String),
    /// Reading or writing one of our files, or hashing a command (74).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl GovernError {
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GovernError + '_ {
        move |source| GovernError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

impl ExitStatus for GovernError {
    fn exit_code(&self) -> Code {
        match self {
            GovernError::At { .. } | GovernError::Config(_) => Code::Config,
            GovernError::Usage(_) => Code::Usage,
            GovernError::Refused(_) => Code::NoPerm,
            GovernError::Io { .. } => Code::IoErr,
        }
    }
}
