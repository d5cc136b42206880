//! Tokens from the Azure CLI: `az account get-access-token --output json
//! --resource RESOURCE [--tenant TENANT]`, as `AzureCliCredential` gets them.
//!
//! Owns finding `az` on PATH (no shell), bounding the call by the deadline
//! (the process is killed when it is exceeded), and reading the token from
//! its JSON. Must not show the CLI's stdout (it holds the token); stderr is
//! quoted only as one bounded line.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use super::Attempt;
use crate::backend::ErrorKind;
use crate::backend::rest::{Fail, one_line};
use crate::secret::SecretValue;

fn find_az() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("az"))
        .find(|p| p.is_file())
}

pub(crate) async fn token(
    resource: &str,
    tenant: Option<&str>,
    deadline: Instant,
) -> Result<SecretValue, Attempt> {
    let Some(az) = find_az() else {
        return Err(Attempt::Unavailable(
            "Azure CLI: `az` is not on PATH".into(),
        ));
    };
    let mut cmd = tokio::process::Command::new(az);
    cmd.args([
        "account",
        "get-access-token",
        "--output",
        "json",
        "--resource",
        resource,
    ]);
    if let Some(t) = tenant {
        cmd.args(["--tenant", t]);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| {
        Attempt::Failed(Fail::new(
            ErrorKind::Config,
            format!("cannot start the Azure CLI: {e}"),
        ))
    })?;
    let left = deadline.saturating_duration_since(Instant::now());
    let out = match tokio::time::timeout(left, child.wait_with_output()).await {
        Err(_) => {
            return Err(Attempt::Failed(Fail::new(
                ErrorKind::TimedOut,
                "the Azure CLI did not return a token in time; run `az account get-access-token` \
                 to see why, or raise --timeout",
            )));
        }
        Ok(Err(e)) => {
            return Err(Attempt::Failed(Fail::new(
                ErrorKind::Config,
                format!("the Azure CLI failed to run: {e}"),
            )));
        }
        Ok(Ok(o)) => o,
    };
    let stdout = zeroize::Zeroizing::new(out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let line = err
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| one_line(l.trim_start_matches("ERROR:").trim(), 200))
            .unwrap_or_default();
        if err.contains("az login") {
            return Err(Attempt::Unavailable(format!(
                "Azure CLI: not signed in ({line}); run `az login`"
            )));
        }
        return Err(Attempt::Failed(Fail::new(
            ErrorKind::Denied,
            format!("the Azure CLI could not get a token ({line})"),
        )));
    }
    super::entra::access_token(&stdout).ok_or_else(|| {
        Attempt::Failed(Fail::new(
            ErrorKind::Config,
            "the Azure CLI printed no accessToken; update it (`az upgrade`)",
        ))
    })
}
