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

/// Mints the secretless credentials anew ahead of their expiry, for as long
/// as it is polled (the run drops it when the server exits). Never returns.
pub async fn keep_fresh(
    registry: &Registry,
    mut held: Vec<Held>,
    egress: Option<&Egress>,
    guard: Option<Arc<Guard>>,
    timeout: Duration,
) -> std::convert::Infallible {
    held.retain(|h| !h.secretless.is_empty());
    let (Some(egress), false) = (egress, held.is_empty()) else {
        return std::future::pending::<std::convert::Infallible>().await;
    };
    let mut due: Vec<tokio::time::Instant> = held.iter().map(|h| next(&h.minted)).collect();
    loop {
        let Some((i, at)) = due.iter().copied().enumerate().min_by_key(|(_, at)| *at) else {
            return std::future::pending::<std::convert::Infallible>().await;
        };
        tokio::time::sleep_until(at).await;
        due[i] = match refresh(registry, &mut held[i], egress, guard.as_deref(), timeout).await {
            Ok(()) => next(&held[i].minted),
            Err(line) => retry(&held[i], &line),
        };
    }
}

/// When to mint `m` anew: two thirds of the way through its life.
fn next(m: &Minted) -> tokio::time::Instant {
    tokio::time::Instant::now() + renew_after(m.left(SystemTime::now()))
}

/// After a failed refresh: one line, and the next try (half the time left,
/// at least 1 s, at most a minute).
fn retry(h: &Held, line: &str) -> tokio::time::Instant {
    let left = h.minted.left(SystemTime::now());
    let wait = (left / 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let state = if left.is_zero() {
        "the current one has expired".to_string()
    } else {
        format!("the current one expires in {}", human(left))
    };
    eprintln!(
        "mcp-warden: cannot refresh {}: {line}; {state}; trying again in {}",
        h.vars.join(", "),
        human(wait)
    );
    tokio::time::Instant::now() + wait
}

/// Mints `h` anew and swaps the new value into the proxy (and the redactor).
async fn refresh(
    registry: &Registry,
    h: &mut Held,
    egress: &Egress,
    guard: Option<&Guard>,
    timeout: Duration,
) -> Result<(), String> {
    let values = resolve(registry, &h.secretless, timeout)
        .await
        .map_err(|e| e.to_string())?;
    let reference = h.minted.reference.clone();
    let minted = registry
        .minted()
        .into_iter()
        .rfind(|m| m.reference == reference)
        .ok_or_else(|| format!("{reference}: the backend said nothing of what it minted"))?;
    for v in &values {
        if let Some(g) = guard {
            g.add_secret(&v.var, &v.value);
        }
        egress
            .refresh(&v.var, &v.value)
            .map_err(|e| e.to_string())?;
    }
    h.minted = minted;
    tracing::info!(
        "{}: minted anew, expires in {}",
        h.vars.join(", "),
        human(h.minted.left(SystemTime::now()))
    );
    if let Some(g) = guard {
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
    fn refreshes_come_two_thirds_through_and_retries_are_bounded() {
        let m = minted("gcp-token://a@p.iam.gserviceaccount.com", 90);
        let wait = next(&m) - tokio::time::Instant::now();
        assert!(
            wait > Duration::from_secs(55) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        let h = Held {
            minted: minted("gcp-token://a@p.iam.gserviceaccount.com", 0),
            vars: vec!["T".into()],
            secretless: Vec::new(),
        };
        let wait = retry(&h, "test") - tokio::time::Instant::now();
        assert!(wait <= Duration::from_secs(1), "{wait:?}");
    }
}
