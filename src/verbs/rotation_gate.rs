//! The rotation gate of a profile run (`run @NAME`, `connect @NAME`):
//! under `rotation = "warn"` one stderr line per overdue static secret, under
//! `"enforce"` a refusal (77) before anything starts or any value is fetched.
//!
//! Owns the wording of those lines. Asks backends for metadata only (through
//! `rotation::describe_all`); a reference whose age is unknown (a dynamic
//! secret, a backend without change times, a failed metadata call) is not
//! overdue here: resolving reports what is wrong with it, `inventory` its age.

use std::time::{Duration, SystemTime};

use super::{Error, block_on_backends};
use crate::backend::{Registry, Settings};
use crate::govern::GovernError;
use crate::govern::policy::RotationMode;
use crate::resolve::Request;
use crate::rotation::{self, DEFAULT_ROTATE_AFTER, Overdue};

/// What one profile run is checked against.
pub struct Gate<'a> {
    /// The profile's name, without `@`.
    pub name: &'a str,
    pub mode: RotationMode,
    /// `rotate_after` of the profile ([`DEFAULT_ROTATE_AFTER`] when `None`).
    pub rotate_after: Option<Duration>,
    pub requests: &'a [Request],
}

/// `90 days`, or a shorter age to the second.
fn age_text(d: Duration) -> String {
    let days = d.as_secs() / 86_400;
    if days >= 1 {
        format!("{days} day{}", if days == 1 { "" } else { "s" })
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
    }
}

fn line(gate: &Gate<'_>, limit: Duration, o: &Overdue) -> String {
    format!(
        "@{}: {} = {} was last changed {} ago, over rotate_after {} (rotation = \"{}\"); \
         rotate it with `mcp-warden rotate {}`",
        gate.name,
        o.var,
        o.reference,
        age_text(o.age),
        humantime::format_duration(limit),
        gate.mode.as_str(),
        o.reference
    )
}

/// Checks the ages of the run's static secrets; prints the `warn` lines,
/// returns the `enforce` refusal. Nothing to do under `report`.
pub fn check(gate: &Gate<'_>, settings: Settings) -> Result<(), Error> {
    if gate.mode == RotationMode::Report || gate.requests.is_empty() {
        return Ok(());
    }
    let limit = gate.rotate_after.unwrap_or(DEFAULT_ROTATE_AFTER);
    let timeout = settings.timeout;
    let registry = Registry::new(settings);
    let requests = rotation::with_nested(gate.requests.to_vec());
    let refs: Vec<_> = requests.iter().map(|r| r.reference.clone()).collect();
    let described =
        block_on_backends(&registry, rotation::describe_all(&registry, &refs, timeout))?;
    let pairs = requests.iter().map(|r| (r.var.as_str(), &r.reference));
    let late = rotation::overdue(pairs, &described, limit, SystemTime::now());
    let lines: Vec<String> = late.iter().map(|o| line(gate, limit, o)).collect();
    if lines.is_empty() {
        return Ok(());
    }
    if gate.mode == RotationMode::Enforce {
        return Err(GovernError::Refused(format!(
            "refusing to start: {} (or pass --insecure-no-rotation for one run)",
            lines.join("; ")
        ))
        .into());
    }
    for l in lines {
        eprintln!("mcp-warden: warning: {l}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_days_or_to_the_second() {
        assert_eq!(age_text(Duration::from_secs(3 * 86_400 + 5)), "3 days");
        assert_eq!(age_text(Duration::from_secs(86_400)), "1 day");
        assert_eq!(age_text(Duration::from_millis(2_500)), "2s");
    }
}
