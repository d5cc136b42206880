//! The pin step of `run @NAME` and the re-recording of a pin: what a profile
//! runs now (its files held open), checked against its recorded pin under
//! the policy's pin mode, or recorded anew (`--update-pin`, `pin @NAME`).
//!
//! Owns the order of that step and the lines it has for the user, which it
//! returns and never prints. Observing, comparing, the verdict and writing
//! are [`super::pin`]'s. Never fetches a secret or starts the command.

use std::ffi::OsStr;
use std::path::Path;

use super::GovernError;
use super::pin::{self, ObserveError, Observed, Opened, Verdict};
use super::policy::PinMode;
use super::profile::{Config, Profile};
use crate::launch::held::Pinned;
use crate::launch::path::LookupError;

/// Why the pin step stopped the run.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// The profile's command is not there (a failed launch: 127 or 126).
    #[error(transparent)]
    Lookup(LookupError),
    /// A file could not be read or written, or the pin refuses the run.
    #[error(transparent)]
    Govern(#[from] GovernError),
}

impl From<ObserveError> for PinError {
    fn from(e: ObserveError) -> Self {
        match e {
            ObserveError::Lookup(l) => PinError::Lookup(l),
            ObserveError::Read(g) => PinError::Govern(g),
        }
    }
}

/// What the pin step let through.
#[derive(Debug)]
pub struct Checked {
    /// The files it hashed, still open, for launch to run exactly those
    /// (`None` when the pin mode is off).
    pub files: Option<Pinned>,
    /// One line each for the user: warnings, or what a re-record changed.
    pub notes: Vec<String>,
}

/// The pin step of `run @NAME`, before any backend is asked: looks the
/// command up on `path_var` from `cwd`, then refuses a mismatch (and, under
/// `required`, anything unpinned), or re-records with `update`.
pub fn before_run(
    cfg: &Config,
    p: &Profile,
    mode: PinMode,
    update: bool,
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<Checked, PinError> {
    if mode == PinMode::Off && !update {
        return Ok(Checked {
            files: None,
            notes: Vec::new(),
        });
    }
    let Opened { observed, files } = pin::open(&p.command, &p.args, path_var, cwd)?;
    tracing::info!(
        "@{}: checking its pin ({mode:?}{}): {}",
        p.name,
        if update { ", re-recording" } else { "" },
        describe(&observed)
    );
    let notes = if update {
        vec![rerecord(cfg, p, &observed)?]
    } else {
        match pin::verdict(&p.name, mode, p.pinned.as_ref(), &observed) {
            Verdict::Refuse(why) => return Err(GovernError::Refused(why).into()),
            Verdict::Start(warnings) => warnings,
        }
    };
    Ok(Checked {
        files: Some(files),
        notes,
    })
}

/// The pin step of a remote profile (`connect @NAME`, `run @NAME`), before
/// any backend is asked: its url and headers against the pin, or re-recorded
/// with `update`. Returns the lines to print.
pub fn before_connect(
    cfg: &Config,
    p: &Profile,
    mode: PinMode,
    update: bool,
) -> Result<Vec<String>, GovernError> {
    let url = p.url.as_deref().unwrap_or_default();
    tracing::info!(
        "@{}: checking the pin of its url and headers ({mode:?}{})",
        p.name,
        if update { ", re-recording" } else { "" }
    );
    if update {
        pin::write(
            &cfg.path,
            &cfg.text,
            &p.name,
            &pin::record_remote(url, &p.headers),
        )?;
        return Ok(vec![format!("@{} pinned: its url and headers", p.name)]);
    }
    match pin::remote_verdict(&p.name, mode, p.pinned.as_ref(), url, &p.headers) {
        Verdict::Refuse(why) => Err(GovernError::Refused(why)),
        Verdict::Start(warnings) => Ok(warnings),
    }
}

/// Records what runs now as `p`'s pin; returns a line saying what changed.
pub fn rerecord(cfg: &Config, p: &Profile, observed: &Observed) -> Result<String, GovernError> {
    let rec = pin::record(&p.name, observed)?;
    pin::write(&cfg.path, &cfg.text, &p.name, &rec)?;
    let what = match &p.pinned {
        None => "first pin".to_string(),
        Some(old) => {
            let changes: Vec<String> = pin::compare(old, observed)
                .iter()
                .map(ToString::to_string)
                .collect();
            if changes.is_empty() {
                "unchanged".to_string()
            } else {
                changes.join("; ")
            }
        }
    };
    Ok(format!(
        "@{} pinned: {} ({what})",
        p.name,
        describe(observed)
    ))
}

/// What runs, in one line: the command's path and hash prefix, the script's,
/// the package.
pub fn describe(o: &Observed) -> String {
    let mut parts = vec![format!(
        "{} sha256 {}…",
        o.command.path.display(),
        &o.command.sha256[..12]
    )];
    if let Some(s) = &o.script {
        parts.push(format!(
            "script {} sha256 {}…",
            s.path.display(),
            &s.sha256[..12]
        ));
    }
    if let Some(p) = &o.package {
        parts.push(format!("package {p}"));
    }
    parts.join(", ")
}
