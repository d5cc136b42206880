//! `--expand-args`: the explicit, opt-in way to place injected values into the
//! child's arguments. `%{NAME}` becomes NAME's value when NAME is one of the
//! injected variables; `%%{` stands for a literal `%{`; nothing else changes.
//!
//! Without the flag the arguments are never touched. Owns only the
//! substitution: no lookups, no environment. Errors name the placeholder, never
//! a value. Arguments are visible to every local process (`/proc/PID/cmdline`,
//! `ps`): the environment is preferred whenever the server can read it.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use crate::resolve::Resolved;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArgError {
    #[error(
        "argument {index} of the server refers to %{{{name}}}, which is not one of the injected variables (NAME=REF before --); write %%{{ for a literal %{{"
    )]
    Unknown { index: usize, name: String },
    #[error(
        "argument {index} of the server has an unterminated %{{ (write %%{{ for a literal %{{)"
    )]
    Unterminated { index: usize },
}

/// Expands `%{NAME}` in every argument after the program (index 0 is kept).
pub fn expand(command: &[OsString], injected: &[Resolved]) -> Result<Vec<OsString>, ArgError> {
    let mut out = Vec::with_capacity(command.len());
    for (index, arg) in command.iter().enumerate() {
        if index == 0 {
            out.push(arg.clone());
            continue;
        }
        out.push(expand_one(index, arg, injected)?);
    }
    Ok(out)
}

fn expand_one(index: usize, arg: &OsStr, injected: &[Resolved]) -> Result<OsString, ArgError> {
    let bytes = arg.as_bytes();
    if !bytes.windows(2).any(|w| w == b"%{") {
        return Ok(arg.to_os_string());
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(b"%%{") {
            out.extend_from_slice(b"%{");
            i += 3;
        } else if bytes[i..].starts_with(b"%{") {
            let rest = &bytes[i + 2..];
            let end = rest
                .iter()
                .position(|&b| b == b'}')
                .ok_or(ArgError::Unterminated { index })?;
            let name = &rest[..end];
            let found = injected.iter().find(|r| r.var.as_bytes() == name);
            match found {
                Some(r) => out.extend_from_slice(r.value.expose()),
                None => {
                    return Err(ArgError::Unknown {
                        index,
                        name: String::from_utf8_lossy(name).chars().take(64).collect(),
                    });
                }
            }
            i += 2 + end + 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn injected() -> Vec<Resolved> {
        vec![Resolved {
            var: "API_KEY".into(),
            value: SecretValue::from_string("s3cr=t value".to_string()),
        }]
    }

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn replaces_declared_names_only_after_the_program() {
        let got = expand(
            &os(&[
                "%{API_KEY}",
                "--api-key=%{API_KEY}",
                "%{API_KEY}",
                "plain",
                "100%",
            ]),
            &injected(),
        )
        .unwrap();
        assert_eq!(
            got,
            os(&[
                "%{API_KEY}",
                "--api-key=s3cr=t value",
                "s3cr=t value",
                "plain",
                "100%"
            ])
        );
    }

    #[test]
    fn escapes_and_errors() {
        assert_eq!(
            expand(&os(&["x", "%%{API_KEY}"]), &injected()).unwrap(),
            os(&["x", "%{API_KEY}"])
        );
        assert_eq!(
            expand(&os(&["x", "%{NOPE}"]), &injected()),
            Err(ArgError::Unknown {
                index: 1,
                name: "NOPE".into()
            })
        );
        assert_eq!(
            expand(&os(&["x", "a%{API_KEY"]), &injected()),
            Err(ArgError::Unterminated { index: 1 })
        );
    }
}
