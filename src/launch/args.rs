//! `--expand-args`: the explicit, opt-in way to place injected values into the
//! child's arguments, with the [`crate::template`] syntax (`%{NAME}`).
//!
//! Without the flag the arguments are never touched. The program name
//! (argv[0]) is never expanded. Arguments are visible to every local process
//! (`/proc/PID/cmdline`, `ps`): the environment is preferred whenever the
//! server can read it. Errors name the argument and placeholder, never a value.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::resolve::Resolved;
use crate::template::{self, TemplateError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("argument {index} of the server: {source}")]
pub struct ArgError {
    pub index: usize,
    pub source: TemplateError,
}

/// Expands `%{NAME}` in every argument after the program.
pub fn expand(command: &[OsString], injected: &[Resolved]) -> Result<Vec<OsString>, ArgError> {
    let mut out = Vec::with_capacity(command.len());
    for (index, arg) in command.iter().enumerate() {
        let bytes = arg.as_bytes();
        if index == 0 || !template::has_placeholder(bytes) {
            out.push(arg.clone());
            continue;
        }
        let expanded =
            template::expand(bytes, injected).map_err(|source| ArgError { index, source })?;
        // The child's argv cannot be zeroized: it is the documented cost of this option.
        out.push(OsString::from_vec(expanded.to_vec()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn replaces_declared_names_only_after_the_program() {
        let injected = vec![Resolved {
            var: "K".into(),
            value: SecretValue::from_string("v=1".to_string()),
        }];
        let got = expand(&os(&["%{K}", "--key=%{K}", "plain"]), &injected).unwrap();
        assert_eq!(got, os(&["%{K}", "--key=v=1", "plain"]));
        let err = expand(&os(&["x", "a", "%{NOPE}"]), &injected).unwrap_err();
        assert_eq!(err.index, 2);
        assert!(err.to_string().contains("%{NOPE}"));
    }
}
