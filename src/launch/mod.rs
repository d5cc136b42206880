//! Starting the child: environment, PATH lookup, exec or supervise, signals,
//! exit status.
//!
//! Owns the process side of `run`. Two launchers: [`exec`] replaces
//! mcp-warden with the server; [`supervise`] keeps mcp-warden as the parent
//! (signal forwarding, parent-death signal, the stdio proxy when guarding).
//! Must not resolve secrets or parse MCP messages.

pub mod args;
pub mod env;
pub mod exec;
pub mod path;
pub mod status;
pub mod supervise;

use std::ffi::OsString;
use std::path::PathBuf;

use crate::exit::{Code, ExitStatus};

/// A fully prepared child: what to run, with what.
pub struct Prepared {
    pub program: PathBuf,
    /// `argv[0]` as the user wrote it.
    pub argv0: OsString,
    pub args: Vec<OsString>,
    /// The complete environment (holds the injected values).
    pub env: Vec<(OsString, OsString)>,
}

impl Prepared {
    /// Looks `argv[0]` up on the child's PATH.
    pub fn new(command: &[OsString], env: Vec<(OsString, OsString)>) -> Result<Self, LaunchError> {
        let (argv0, args) = command.split_first().ok_or(LaunchError::NoCommand)?;
        let path_var = env
            .iter()
            .find(|(k, _)| k == "PATH")
            .map(|(_, v)| v.as_os_str());
        let program = path::lookup(argv0, path_var)?;
        Ok(Self {
            program,
            argv0: argv0.clone(),
            args: args.to_vec(),
            env,
        })
    }

    fn command(&self) -> std::process::Command {
        use std::os::unix::process::CommandExt;
        let mut c = std::process::Command::new(&self.program);
        c.arg0(&self.argv0)
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("no command given after '--'")]
    NoCommand,
    #[error(transparent)]
    Lookup(#[from] path::LookupError),
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("cannot set up signal handling: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Args(#[from] args::ArgError),
}

impl ExitStatus for LaunchError {
    fn exit_code(&self) -> Code {
        match self {
            LaunchError::NoCommand | LaunchError::Args(_) => Code::Usage,
            LaunchError::Lookup(_) | LaunchError::Spawn { .. } | LaunchError::Signals(_) => {
                Code::Software
            }
        }
    }
}

impl LaunchError {
    /// Shell conventions for a command that could not run: 127 not found, 126 not executable.
    pub fn process_exit_code(&self) -> i32 {
        match self {
            LaunchError::Lookup(path::LookupError::NotFound(_)) => 127,
            LaunchError::Lookup(path::LookupError::NotExecutable(_)) => 126,
            LaunchError::Spawn { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                127
            }
            LaunchError::Spawn { source, .. }
                if source.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                126
            }
            other => other.exit_code().as_i32(),
        }
    }
}
