//! Minted credentials in a run or a connection (`github-app://`,
//! `aws-sts://`, `gcp-token://`, `azure-token://`): which variables each
//! fills, the line at start saying how long it lives, what the proxy records
//! and checks at expiry, and — in `run`'s secretless mode — minting it anew
//! ahead of its expiry and handing the new value to the egress proxy.
//!
//! Owns that schedule and its one-line reports. Must not print a value,
//! start anything or decide where a value may go (egress does).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::backend::lease::renew_after;
use crate::backend::{Minted, Registry};
use crate::egress::Egress;
use crate::proxy::{Credential, Guard};
use crate::resolve::{Request, resolve};

/// One minted credential and the variables it fills.
pub struct Held {
    minted: Minted,
    /// Every variable it fills.
    vars: Vec<String>,
    /// The requests of its secretless variables: what a refresh fetches.
    secretless: Vec<Request>,
}

impl Held {
    /// Kept valid by mcp-warden: every variable it fills is secretless.
    fn refreshed(&self) -> bool {
        self.secretless.len() == self.vars.len()
    }

    fn note(&self) -> Credential {
        Credential {
            vars: self.vars.clone(),
            reference: self.minted.reference.to_string(),
            what: self.minted.spec.what.to_string(),
            scope: self.minted.spec.scope.clone(),
            expires: self.minted.expires,
            refreshed: self.refreshed(),
        }
    }
}

/// Pairs what the backends minted with the variables of `requests`;
/// `secretless` says which variables the egress proxy holds.
pub fn held(
    minted: Vec<Minted>,
    requests: &[Request],
    secretless: &dyn Fn(&str) -> bool,
) -> Vec<Held> {
    let mut out: Vec<Held> = Vec::new();
    for m in minted {
        let mine: Vec<&Request> = requests
            .iter()
            .filter(|r| r.reference.without_selector() == m.reference)
            .collect();
        if mine.is_empty() || out.iter().any(|h| h.minted.reference == m.reference) {
            continue;
        }
        let secretless = mine
            .iter()
            .filter(|r| secretless(&r.var))
            .map(|r| (*r).clone())
            .collect();
        out.push(Held {
            vars: mine.iter().map(|r| r.var.clone()).collect(),
            secretless,
            minted: m,
        });
    }
    out
}

/// The proxy's view: recorded at start, checked on every tool call.
pub fn credentials(held: &[Held]) -> Vec<Credential> {
    held.iter().map(Held::note).collect()
}

/// A duration in whole seconds, for people.
fn human(d: Duration) -> String {
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// One line per credential on stderr: what it is, its scope, how long it
/// lives; `watched` when a proxy answers tool calls after it expired.
pub fn report_start(held: &[Held], watched: bool, now: SystemTime) {
    for h in held {
        let m = &h.minted;
        let scope = if m.spec.scope.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.spec.scope)
        };
        let after = if h.refreshed() {
            "; secretless mode mints a new one ahead of expiry".to_string()
        } else if !watched {
            "; the server must be restarted after that".to_string()
        } else {
            "; after that mcp-warden answers the server's tool calls with an error (restart it, \
             or run it with --secretless to have the credential refreshed)"
                .to_string()
        };
        eprintln!(
            "mcp-warden: {}: {}{scope}, expires in {} (at {}){after}",
            h.vars.join(", "),
            m.spec.what,
            human(m.left(now)),
            humantime::format_rfc3339_seconds(m.expires),
        );
    }
}

/// A refresh that cannot go on: the credential is left to expire.
enum Failure {
    /// Worth another try (the provider did not answer, refused for now).
    Again(String),
    /// Will not work however often it is tried (the new value cannot be swapped in).
    Final(String),
}

/// No refresh sooner than this after the previous one.
const MIN_GAP: Duration = Duration::from_secs(2);
/// A new credential must live at least this long to be taken.
const MIN_LIFE: Duration = Duration::from_secs(3);
/// Sleeps are cut into slices this long and the wall clock read again, so a
/// machine that slept does not refresh late.
const SLICE: Duration = Duration::from_secs(30);

/// Mints the secretless credentials anew ahead of their expiry, for as long
/// as it is polled (the run drops it when the server exits). Never returns.
pub async fn keep_fresh(
    registry: &Registry,
    mut held: Vec<Held>,
    egress: Option<&Egress>,
    guard: Option<Arc<Guard>>,
    timeout: Duration,
) -> std::convert::Infallible {
    held.retain(|h| h.refreshed());
    let Some(egress) = egress.filter(|_| !held.is_empty()) else {
        return std::future::pending::<std::convert::Infallible>().await;
    };
    let mut due: Vec<Option<SystemTime>> = held.iter().map(|h| Some(next(&h.minted))).collect();
    loop {
        let Some((i, at)) = due
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.map(|d| (i, d)))
            .min_by_key(|(_, d)| *d)
        else {
            return std::future::pending::<std::convert::Infallible>().await;
        };
        let wait = at.duration_since(SystemTime::now()).unwrap_or_default();
        if !wait.is_zero() {
            tokio::time::sleep(wait.min(SLICE)).await;
            continue;
        }
        let h = &mut held[i];
        due[i] = match refresh(registry, h, egress, guard.as_deref(), timeout).await {
            Ok(()) => Some(next(&h.minted)),
            Err(f) => retry(h, f, guard.as_deref()),
        };
    }
}

/// When to mint `m` anew: two thirds of the way through its life, never
/// sooner than [`MIN_GAP`] from now.
fn next(m: &Minted) -> SystemTime {
    SystemTime::now() + renew_after(m.left(SystemTime::now())).max(MIN_GAP)
}

/// After a failed refresh: one line, and the next try (half the time left,
/// between 1 s and a minute), or none once the credential has expired or
/// the failure is final; then the proxy answers tool calls after its expiry.
fn retry(h: &Held, failure: Failure, guard: Option<&Guard>) -> Option<SystemTime> {
    let left = h.minted.left(SystemTime::now());
    let (line, again) = match failure {
        Failure::Again(line) => (line, !left.is_zero()),
        Failure::Final(line) => (line, false),
    };
    let state = if left.is_zero() {
        "the current one has expired".to_string()
    } else {
        format!("the current one expires in {}", human(left))
    };
    if again {
        let wait = (left / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
        eprintln!(
            "mcp-warden: cannot refresh {}: {line}; {state}; trying again in {}",
            h.vars.join(", "),
            human(wait)
        );
        return Some(SystemTime::now() + wait);
    }
    eprintln!(
        "mcp-warden: cannot refresh {}: {line}; {state}; no more tries: the server's tool \
         calls are answered with an error once it has expired (restart the server)",
        h.vars.join(", ")
    );
    if let Some(g) = guard {
        let mut note = h.note();
        note.refreshed = false;
        g.update_credential(&note);
    }
    None
}

/// Mints `h` anew and swaps the new value into the proxy, then the redactor.
async fn refresh(
    registry: &Registry,
    h: &mut Held,
    egress: &Egress,
    guard: Option<&Guard>,
    timeout: Duration,
) -> Result<(), Failure> {
    let values = resolve(registry, &h.secretless, timeout)
        .await
        .map_err(|e| Failure::Again(e.to_string()))?;
    let reference = h.minted.reference.clone();
    let minted = registry
        .minted()
        .into_iter()
        .rfind(|m| m.reference == reference)
        .ok_or_else(|| {
            Failure::Again(format!(
                "{reference}: the backend said nothing of what it minted"
            ))
        })?;
    if minted.left(SystemTime::now()) < MIN_LIFE {
        return Err(Failure::Again(format!(
            "{reference}: the provider handed out a credential that expires at once"
        )));
    }
    for v in &values {
        egress
            .refresh(&v.var, &v.value)
            .map_err(|e| Failure::Final(e.to_string()))?;
        if let Some(g) = guard {
            g.add_secret(&v.var, &v.value);
        }
    }
    h.minted = minted;
    tracing::info!(
        "{}: minted anew, expires in {}",
        h.vars.join(", "),
        human(h.minted.left(SystemTime::now()))
    );
    if let Some(g) = guard {
        g.update_credential(&h.note());
        g.audit_refreshed(&h.note());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::MintSpec;
    use crate::reference::{Scheme, SecretRef};

    fn minted(r: &str, secs: u64) -> Minted {
        Minted {
            reference: SecretRef::parse(r).unwrap(),
            spec: MintSpec {
                what: "AWS STS session (AssumeRole)",
                scope: "role r".into(),
                lifetime: Duration::from_secs(secs),
            },
            expires: SystemTime::now() + Duration::from_secs(secs),
        }
    }

    #[test]
    fn a_credential_is_paired_with_every_variable_it_fills() {
        let requests = crate::govern::assign::requests(
            &[
                "AWS_*=aws-sts://arn:aws:iam::1:role/r".into(),
                "OTHER=local://x".into(),
            ],
            Scheme::Local,
        )
        .unwrap();
        let m = vec![minted("aws-sts://arn:aws:iam::1:role/r", 900)];
        let only_key = |v: &str| v == "AWS_ACCESS_KEY_ID";
        let held = held(m.clone(), &requests, &only_key);
        assert_eq!(held.len(), 1);
        let note = held[0].note();
        assert_eq!(note.vars.len(), 3);
        // one of three variables secretless: the other two still expire
        assert!(!note.refreshed);
        assert_eq!(held[0].secretless.len(), 1);
        let all = |v: &str| v.starts_with("AWS_");
        assert!(super::held(m, &requests, &all)[0].note().refreshed);
        let none = super::held(
            vec![minted("aws-sts://arn:aws:iam::1:role/other", 900)],
            &requests,
            &all,
        );
        assert!(none.is_empty());
    }

    #[test]
    fn refreshes_come_two_thirds_through_and_retries_stop_at_expiry() {
        let m = minted("gcp-token://a@p.iam.gserviceaccount.com", 90);
        let wait = next(&m).duration_since(SystemTime::now()).unwrap();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        let soon = minted("gcp-token://a@p.iam.gserviceaccount.com", 1);
        assert!(next(&soon).duration_since(SystemTime::now()).unwrap() > Duration::from_secs(1));
        let held = |secs| Held {
            minted: minted("gcp-token://a@p.iam.gserviceaccount.com", secs),
            vars: vec!["T".into()],
            secretless: Vec::new(),
        };
        let again = retry(&held(300), Failure::Again("x".into()), None).unwrap();
        let wait = again.duration_since(SystemTime::now()).unwrap();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(retry(&held(0), Failure::Again("x".into()), None).is_none());
        assert!(retry(&held(300), Failure::Final("x".into()), None).is_none());
    }
}
