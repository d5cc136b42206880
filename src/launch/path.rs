//! Our own PATH lookup: no shell ever sees the command.
//!
//! Owns turning a command name into an executable path using the PATH the
//! child will get. A name containing `/` is used as given. Must not run anything.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("command not found: {0:?} (searched PATH); give its full path or fix PATH")]
    NotFound(OsString),
    #[error("not executable: {0} (check its mode)")]
    NotExecutable(PathBuf),
}

fn executable(p: &Path) -> bool {
    p.is_file() && rustix::fs::access(p, rustix::fs::Access::EXEC_OK).is_ok()
}

/// Finds `cmd` on `path_var` (the child's PATH).
pub fn lookup(cmd: &OsStr, path_var: Option<&OsStr>) -> Result<PathBuf, LookupError> {
    if cmd.is_empty() {
        return Err(LookupError::NotFound(cmd.to_os_string()));
    }
    if cmd.as_bytes().contains(&b'/') {
        let p = PathBuf::from(cmd);
        if !p.exists() {
            return Err(LookupError::NotFound(cmd.to_os_string()));
        }
        return if executable(&p) {
            Ok(p)
        } else {
            Err(LookupError::NotExecutable(p))
        };
    }
    let default = OsString::from("/usr/local/bin:/usr/bin:/bin");
    let path_var = path_var.unwrap_or(&default);
    let mut not_exec = None;
    for dir in path_var.as_bytes().split(|&b| b == b':') {
        // An empty PATH entry means the current directory, as in execvp.
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let candidate = dir.join(cmd);
        if executable(&candidate) {
            return Ok(candidate);
        }
        if candidate.is_file() && not_exec.is_none() {
            not_exec = Some(candidate);
        }
    }
    match not_exec {
        Some(p) => Err(LookupError::NotExecutable(p)),
        None => Err(LookupError::NotFound(cmd.to_os_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh_and_rejects_missing() {
        assert!(
            lookup(
                OsStr::new("sh"),
                Some(OsStr::new("/nonexistent:/bin:/usr/bin"))
            )
            .is_ok()
        );
        assert!(matches!(
            lookup(OsStr::new("no-such-cmd-xyz"), Some(OsStr::new("/bin"))),
            Err(LookupError::NotFound(_))
        ));
        assert!(lookup(OsStr::new("/bin/sh"), None).is_ok());
    }
}
