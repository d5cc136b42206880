//! `pin @NAME`: record, re-record (`--update-pin`) or check (`--check`) the
//! pin of a profile; and the pin step `run @NAME` takes before any secret is
//! fetched ([`verify`]).
//!
//! Owns the order of work (load the profile, observe what runs now, compare,
//! write) and what is printed. Hashing, comparing and writing live in
//! `govern::pin`. Never fetches a secret or starts the command.

use super::Error;
use crate::cli::PinArgs;
use crate::govern::GovernError;
use crate::govern::pin::{self, ObserveError, Observed, Opened, Verdict};
use crate::govern::policy::PinMode;
use crate::govern::profile::{self, Config, Profile};
use crate::launch::LaunchError;
use crate::launch::held::Pinned;

/// `@NAME` (or `NAME`) -> `NAME`.
pub fn profile_name(arg: &str) -> &str {
    arg.strip_prefix('@').unwrap_or(arg)
}

/// The user config, or a clear error when there is no place for one.
pub(crate) fn load_config() -> Result<Config, Error> {
    let path = profile::config_path().ok_or_else(|| {
        Error::Config(
            "cannot find a config directory: set MCP_WARDEN_CONFIG or MCP_WARDEN_HOME".into(),
        )
    })?;
    Ok(profile::load(&path)?)
}

/// What the profile runs now, from the current directory with our PATH,
/// with the hashed files still open.
fn open(p: &Profile) -> Result<Opened, Error> {
    let cwd = std::env::current_dir().map_err(|e| Error::Io(format!("current directory: {e}")))?;
    let path_var = std::env::var_os("PATH");
    pin::open(&p.command, &p.args, path_var.as_deref(), &cwd).map_err(|e| match e {
        ObserveError::Lookup(l) => Error::Launch(LaunchError::Lookup(l)),
        ObserveError::Read(g) => Error::Govern(g),
    })
}

/// What the profile runs now.
fn observe(p: &Profile) -> Result<Observed, Error> {
    open(p).map(|o| o.observed)
}

fn describe(o: &Observed) -> String {
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

/// Records what runs now as `p`'s pin; returns a line saying what changed.
fn rerecord(cfg: &Config, p: &Profile, observed: &Observed) -> Result<String, Error> {
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

/// The pin step of `run @NAME`, before the backend registry exists: refuses
/// a mismatch (and, under `required`, anything unpinned), prints warnings,
/// or re-records with `update`. Returns the files it hashed, still open, for
/// launch to run exactly those.
pub(crate) fn verify(
    cfg: &Config,
    p: &Profile,
    mode: PinMode,
    update: bool,
) -> Result<Option<Pinned>, Error> {
    if mode == PinMode::Off && !update {
        return Ok(None);
    }
    let Opened { observed, files } = open(p)?;
    if update {
        eprintln!("mcp-warden: {}", rerecord(cfg, p, &observed)?);
        return Ok(Some(files));
    }
    match pin::verdict(&p.name, mode, p.pinned.as_ref(), &observed) {
        Verdict::Refuse(why) => Err(GovernError::Refused(why).into()),
        Verdict::Start(warnings) => {
            for w in warnings {
                eprintln!("mcp-warden: {w}");
            }
            Ok(Some(files))
        }
    }
}

pub fn run(args: PinArgs) -> Result<i32, Error> {
    let name = profile_name(&args.profile);
    let cfg = load_config()?;
    let p = cfg.get(name)?;
    let observed = observe(p)?;
    let Some(old) = &p.pinned else {
        if args.check {
            return Err(GovernError::Refused(format!(
                "@{name} has no pin; record one with `mcp-warden pin @{name}`"
            ))
            .into());
        }
        println!("{}", rerecord(&cfg, p, &observed)?);
        return Ok(0);
    };
    let changes = pin::compare(old, &observed);
    if changes.is_empty() {
        println!(
            "@{name} matches its pin (recorded {}): {}",
            old.recorded_at,
            describe(&observed)
        );
        return Ok(0);
    }
    if args.update_pin {
        println!("{}", rerecord(&cfg, p, &observed)?);
        return Ok(0);
    }
    let what: Vec<String> = changes.iter().map(ToString::to_string).collect();
    Err(GovernError::Refused(format!(
        "@{name} does not match its pin: {}; review the change, then `mcp-warden pin @{name} --update-pin`",
        what.join("; ")
    ))
    .into())
}
