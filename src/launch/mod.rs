//! Starting the child: environment, PATH lookup, exec or supervise, signals,
//! exit status.
//!
//! Owns the process side of `run`. Two launchers: [`exec`] replaces
//! mcp-warden with the server; [`supervise`] keeps mcp-warden as the parent
//! (its own process group for the child, signal forwarding, parent-death
//! signal, the stdio proxy when guarding, which [`guard`] plugs in). A
//! command a pin verified is run exactly as hashed ([`held`]). Must not
//! resolve secrets or parse MCP messages.

pub mod args;
mod by_fd;
pub mod env;
pub mod exec;
pub mod guard;
pub mod held;
pub mod path;
pub mod status;
pub mod supervise;
mod terminal;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::exit::{Code, ExitStatus};
use held::{Changed, Pinned};

/// What is executed.
enum Program {
    /// Found by our PATH lookup; executed by that path.
    Path(PathBuf),
    /// Verified by a pin and still open: run through its descriptor, or by
    /// path right after a last check (see [`Pinned::by_descriptor`]).
    Pinned(Pinned),
}

/// A fully prepared child: what to run, with what.
pub struct Prepared {
    program: Program,
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
            program: Program::Path(program),
            argv0: argv0.clone(),
            args: args.to_vec(),
            env,
        })
    }

    /// Runs exactly the files a pin verified, whatever the child's PATH finds.
    pub fn pinned(
        command: &[OsString],
        env: Vec<(OsString, OsString)>,
        pinned: Pinned,
    ) -> Result<Self, LaunchError> {
        let (argv0, args) = command.split_first().ok_or(LaunchError::NoCommand)?;
        Ok(Self {
            program: Program::Pinned(pinned),
            argv0: argv0.clone(),
            args: args.to_vec(),
            env,
        })
    }

    /// The executable's path, for messages.
    pub fn program_path(&self) -> &Path {
        match &self.program {
            Program::Path(p) => p,
            Program::Pinned(p) => p.program.path(),
        }
    }

    /// The last check before the child starts: pinned files are still what
    /// was hashed. Call it immediately before `exec` or `spawn`.
    fn last_check(&self) -> Result<(), LaunchError> {
        match &self.program {
            Program::Path(_) => Ok(()),
            Program::Pinned(p) => p.check().map_err(LaunchError::Changed),
        }
    }

    /// The command to exec or spawn. `setup` runs in the child between fork
    /// and exec (it must be async-signal-safe); a pinned executable is then
    /// executed through its descriptor, so std's own exec by path never runs.
    fn command(
        &self,
        mut setup: impl FnMut() -> std::io::Result<()> + Send + Sync + 'static,
    ) -> Result<std::process::Command, LaunchError> {
        use std::os::unix::process::CommandExt;
        let by_fd = match &self.program {
            Program::Pinned(p) if p.by_descriptor() => Some(
                by_fd::FdExec::new(p.program.file(), &self.argv0, &self.args, &self.env)
                    .map_err(|source| self.spawn_error(source))?,
            ),
            _ => None,
        };
        let mut c = std::process::Command::new(self.program_path());
        c.arg0(&self.argv0)
            .args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        // SAFETY: `setup` is async-signal-safe by contract; `FdExec::exec` is one system call.
        unsafe {
            c.pre_exec(move || {
                setup()?;
                match &by_fd {
                    Some(x) => Err(x.exec()),
                    None => Ok(()),
                }
            });
        }
        Ok(c)
    }

    fn spawn_error(&self, source: std::io::Error) -> LaunchError {
        LaunchError::Spawn {
            program: self.program_path().display().to_string(),
            source,
        }
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
    /// A pinned file changed between its check and the start: nothing started.
    #[error("{0}; nothing was started (check who can write it, then run again)")]
    Changed(Changed),
    /// The proxy could not be set up (usage: a bad tool glob).
    #[error("{0}")]
    GuardUsage(String),
    /// The proxy could not be set up (its audit log).
    #[error("{0}")]
    GuardIo(String),
    /// Secretless mode could not start (a placeholder, the CA, the bundle, the listener).
    #[error(transparent)]
    Egress(crate::egress::EgressError),
}

impl ExitStatus for LaunchError {
    fn exit_code(&self) -> Code {
        match self {
            LaunchError::NoCommand | LaunchError::Args(_) | LaunchError::GuardUsage(_) => {
                Code::Usage
            }
            LaunchError::Lookup(_) | LaunchError::Spawn { .. } | LaunchError::Signals(_) => {
                Code::Software
            }
            LaunchError::Changed(_) => Code::NoPerm,
            LaunchError::GuardIo(_) => Code::IoErr,
            LaunchError::Egress(e) => e.exit_code(),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A pinned executable renamed over after it was opened: the last check
    /// refuses it, and the descriptor, used as launch uses it, still runs the
    /// file that was opened, never the one that now has its name.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_pinned_executable_runs_from_its_descriptor() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let srv = d.path().join("srv");
        std::fs::copy("/bin/sh", &srv).unwrap();
        let pinned = Pinned {
            program: held::HeldFile::open(&srv).unwrap(),
            script: None,
        };
        assert!(pinned.by_descriptor(), "an ELF file runs by descriptor");
        let swapped = d.path().join("swapped");
        std::fs::write(&swapped, "#!/bin/sh\necho swapped\n").unwrap();
        std::fs::set_permissions(&swapped, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&swapped, &srv).unwrap();

        let command: Vec<OsString> = ["sh", "-c", "echo original"].map(OsString::from).into();
        let prepared = Prepared::pinned(&command, vec![], pinned).unwrap();
        assert!(matches!(
            prepared.last_check(),
            Err(LaunchError::Changed(Changed::Replaced(_)))
        ));
        let out = prepared
            .command(|| Ok(()))
            .unwrap()
            .output()
            .expect("spawn by descriptor");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "original\n");
        // By path, the same command line runs what the name holds now.
        let by_path = Prepared::new(&[srv.into_os_string()], vec![]).unwrap();
        let out = by_path.command(|| Ok(())).unwrap().output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "swapped\n");
    }
}
