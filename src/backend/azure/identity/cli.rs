//! Tokens from the Azure CLI: `az account get-access-token --output json
//! --resource RESOURCE [--tenant TENANT]`, as `AzureCliCredential` gets them.
//!
//! Owns finding `az` on PATH (absolute entries only; no shell), bounding the
//! call by the deadline (the process is killed when it is exceeded) and its
//! output by size, and reading the token from its JSON. Must not show the CLI's stdout (it holds the token); stderr is
//! quoted only as one bounded line.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use zeroize::Zeroizing;

use super::Attempt;
use crate::backend::ErrorKind;
use crate::backend::rest::{Fail, one_line};

/// The most `az` may print: its token JSON is a few KiB.
const MAX_STDOUT: usize = 1 << 20;
/// Only the first line of stderr is quoted; more is read and dropped.
const MAX_STDERR: usize = 64 << 10;

/// `az` in an absolute PATH directory: an empty or relative entry would run
/// an `az` from the working directory.
fn find_az() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("az"))
        .find(|p| p.is_file())
}

/// What `az` printed and how it ended.
struct Output {
    status: std::process::ExitStatus,
    stdout: Zeroizing<Vec<u8>>,
    stderr: Vec<u8>,
}

/// Reads at most `cap` bytes of `r` into a buffer allocated once (so the
/// token is never left behind by a reallocation); `None` when there is more.
async fn read_capped(
    r: Option<impl tokio::io::AsyncRead + Unpin>,
    cap: usize,
) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    use tokio::io::AsyncReadExt;
    // Room for `read_to_end`'s 32-byte probe, so it never grows the buffer.
    let mut buf = Zeroizing::new(Vec::with_capacity(cap + 64));
    if let Some(r) = r {
        r.take(cap as u64 + 1).read_to_end(&mut buf).await?;
    }
    Ok((buf.len() <= cap).then_some(buf))
}

/// Runs `az` to its end, its output bounded.
async fn collect(mut child: tokio::process::Child) -> Result<Output, Attempt> {
    let failed = |e: std::io::Error| {
        Attempt::Failed(Fail::new(
            ErrorKind::Config,
            format!("the Azure CLI failed to run: {e}"),
        ))
    };
    let (out, err) = tokio::join!(
        read_capped(child.stdout.take(), MAX_STDOUT),
        read_capped(child.stderr.take(), MAX_STDERR)
    );
    let (Some(stdout), Some(stderr)) = (out.map_err(failed)?, err.map_err(failed)?) else {
        let _ = child.kill().await;
        return Err(Attempt::Failed(Fail::new(
            ErrorKind::BadData,
            "the Azure CLI printed far more than a token; run `az account get-access-token` \
             to see why",
        )));
    };
    let status = child.wait().await.map_err(failed)?;
    Ok(Output {
        status,
        stdout,
        stderr: stderr.to_vec(),
    })
}

pub(crate) async fn token(
    resource: &str,
    tenant: Option<&str>,
    deadline: Instant,
) -> Result<super::entra::Token, Attempt> {
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
    let out = match tokio::time::timeout(left, collect(child)).await {
        Err(_) => {
            return Err(Attempt::Failed(Fail::new(
                ErrorKind::TimedOut,
                "the Azure CLI did not return a token in time; run `az account get-access-token` \
                 to see why, or raise --timeout",
            )));
        }
        Ok(r) => r?,
    };
    let stdout = out.stdout;
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
