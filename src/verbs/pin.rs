//! `pin @NAME`: record, re-record (`--update-pin`) or check (`--check`) the
//! pin of a profile.
//!
//! Owns the order of work (load the profile, observe what runs now, compare,
//! write) and what is printed. Hashing, comparing and writing live in
//! `govern::pin`, re-recording in `govern::pin_check` (which also holds the
//! pin step of `run @NAME`). Never fetches a secret or starts the command.

use super::{Error, current_dir};
use crate::cli::PinArgs;
use crate::govern::GovernError;
use crate::govern::pin::{self, Observed};
use crate::govern::pin_check::{PinError, describe, rerecord};
use crate::govern::profile::{self, Profile};

/// What the profile runs now, from the current directory with our PATH.
fn observe(p: &Profile) -> Result<Observed, Error> {
    let cwd = current_dir()?;
    let path_var = std::env::var_os("PATH");
    pin::observe(&p.command, &p.args, path_var.as_deref(), &cwd)
        .map_err(|e| PinError::from(e).into())
}

pub fn run(args: PinArgs) -> Result<i32, Error> {
    let name = profile::name_of(&args.profile);
    let cfg = profile::load_user()?;
    let p = cfg.get(name)?;
    if p.url.is_some() {
        return remote(&args, &cfg, p);
    }
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

/// A remote (url) profile: nothing runs here, so its pin is the hash of its
/// url and headers; a change is refused like a changed command line.
fn remote(args: &PinArgs, cfg: &profile::Config, p: &Profile) -> Result<i32, Error> {
    let name = &p.name;
    let url = p.url.as_deref().unwrap_or_default();
    let fresh = pin::record_remote(url, &p.headers);
    let matches = p
        .pinned
        .as_ref()
        .is_some_and(|r| r.command.is_none() && r.argv_sha256 == fresh.argv_sha256);
    if matches {
        println!("@{name} matches its pin (its url and headers)");
        return Ok(0);
    }
    let refuse =
        |why: &str| -> Result<i32, Error> { Err(GovernError::Refused(why.to_string()).into()) };
    match (&p.pinned, args.check, args.update_pin) {
        (None, true, _) => refuse(&format!(
            "@{name} has no pin; record one with `mcp-warden pin @{name}`"
        )),
        (Some(_), true, _) | (Some(_), false, false) => refuse(&format!(
            "@{name} does not match its pin: its url or headers changed; review the change, then \
             `mcp-warden pin @{name} --update-pin`"
        )),
        _ => {
            pin::write(&cfg.path, &cfg.text, name, &fresh)?;
            println!(
                "@{name} pinned: its url and headers (a remote server: nothing runs here to hash)"
            );
            Ok(0)
        }
    }
}
