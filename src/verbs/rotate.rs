//! `rotate REF`: a new value for a secret (from stdin, a no-echo prompt or a
//! file — never argv), or the provider's own rotation (`--provider`), read
//! back before it is called done; then the profiles and client entries that
//! use the secret, so the user knows what to restart.
//!
//! Owns the order (value, store and read back, report users) and the
//! report's wording. Storing and checking are `rotation`'s; the servers come
//! from `verbs::servers`. The value never reaches an output: only the
//! reference, the backend's version id and the users' names are printed.

use std::time::Duration;

use super::servers::{self, Row};
use super::{Error, block_on_backends, default_registry, parse_duration};
use crate::backend::WriteOutcome;
use crate::cli::RotateArgs;
use crate::govern::profile;
use crate::reference::{Scheme, SecretRef};
use crate::rotation;
use crate::scan::report::display_path;

/// How long a provider rotation may take to make its version current.
const PROVIDER_WAIT: Duration = Duration::from_secs(60);

pub fn run(args: RotateArgs) -> Result<i32, Error> {
    let r = SecretRef::parse_or_bare(&args.target, Scheme::Local)?;
    let timeout = parse_duration("--timeout", &args.timeout)?;
    if timeout.is_zero() {
        return Err(Error::Usage("--timeout must be more than 0".into()));
    }
    let registry = default_registry(timeout)?;
    let done = if args.provider {
        let wait = timeout.max(PROVIDER_WAIT);
        let version =
            block_on_backends(&registry, rotation::provider_rotate(&registry, &r, wait))??;
        format!(
            "rotated {r} by the provider{}; the new value reads back",
            version.map_or(String::new(), |v| format!(" (version {v})"))
        )
    } else {
        let value = match &args.from_file {
            Some(path) => super::read_value_file(path)?,
            None => super::read_value("New value", args.keep_newline)?,
        };
        if value.is_empty() {
            return Err(Error::Usage(
                "refusing to store an empty value; nothing was changed".into(),
            ));
        }
        let outcome =
            block_on_backends(&registry, rotation::store_verified(&registry, &r, &value))??;
        drop(value);
        match outcome {
            WriteOutcome::Updated => format!("rotated {r}: the new value is stored and reads back"),
            WriteOutcome::Created => {
                format!("{r} did not exist: created it with the new value, which reads back")
            }
        }
    };
    eprintln!("mcp-warden: {done}");
    if !args.no_users {
        report_users(&args, &r)?;
    }
    Ok(0)
}

/// Prints on stdout the profiles and client entries that use `r`'s secret.
fn report_users(args: &RotateArgs, r: &SecretRef) -> Result<(), Error> {
    let config = profile::load_if_present()?;
    let (rows, home) = servers::collect(&args.discover, None, config.as_ref())?;
    let key = rotation::key(r);
    let users: Vec<(&Row, Vec<&str>)> = rows
        .iter()
        .filter_map(|row| {
            let vars: Vec<&str> = row
                .refs
                .iter()
                .filter(|x| rotation::key(&x.reference) == key)
                .map(|x| x.var.as_str())
                .collect();
            (!vars.is_empty()).then_some((row, vars))
        })
        .collect();
    let mut out = String::new();
    if users.is_empty() {
        out.push_str(&format!(
            "no profile or client entry found that uses {key}\n"
        ));
    } else {
        out.push_str(&format!(
            "used by {} server(s); a running one keeps the old value until it is restarted:\n",
            users.len()
        ));
        for (row, vars) in users {
            out.push_str(&format!(
                "  {:<24} {:<12} {}  ({})\n",
                row.name,
                row.client,
                display_path(&row.path, home.as_deref()),
                vars.join(", ")
            ));
        }
    }
    super::write_stdout(&out)
}
