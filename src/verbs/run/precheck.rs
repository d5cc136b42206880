//! The raw-argument precheck of `run`: an unsupported mcp-secret-wrapper
//! `--vault-*` option that may carry a credential is refused before clap
//! could echo it. Reads the arguments only.

use std::ffi::OsString;

use super::super::Error;

/// The `--vault-*` options mcp-secret-wrapper users may pass that we accept.
const WRAPPER_OPTIONS: &[&str] = &["--vault-type", "--vault-region", "--vault-profile"];

/// Checks raw `run` arguments before clap sees them, so an unsupported
/// mcp-secret-wrapper option that carries a credential (`--vault-accessKeyId=...`)
/// is refused without echoing its value.
pub fn precheck(args: &[OsString]) -> Result<(), Error> {
    let ours = args.iter().take_while(|a| *a != "--");
    for a in ours {
        let Some(s) = a.to_str() else { continue };
        if let Some(rest) = s.strip_prefix("--vault-") {
            let name = format!("--vault-{}", rest.split('=').next().unwrap_or(""));
            if !WRAPPER_OPTIONS.contains(&name.as_str()) {
                return Err(Error::Usage(format!(
                    "{name} is not supported: credentials do not belong on a command line; \
                     use --vault-profile (an AWS profile) or the backend's own environment"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precheck_refuses_credential_options_without_echo() {
        let args: Vec<OsString> = [
            "mcp-warden",
            "run",
            "--vault-accessKeyId=AKIACANARY",
            "--",
            "x",
            "--vault-zzz",
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        let e = precheck(&args).unwrap_err().to_string();
        assert!(
            e.contains("--vault-accessKeyId") && !e.contains("CANARY"),
            "{e}"
        );
        let ok: Vec<OsString> = ["run", "--vault-type=aws", "--", "x", "--vault-zzz=1"]
            .into_iter()
            .map(Into::into)
            .collect();
        assert!(precheck(&ok).is_ok());
    }
}
