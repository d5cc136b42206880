//! `run`: resolve the references, then start the server with the values in
//! its environment only — replacing mcp-warden (`--exec`) or supervising it.
//!
//! Owns the order of work: both forms of the command line become one
//! [`plan::RunPlan`] (`govern::assign` parses `NAME=REF`, `profile` settles
//! a profile's policy and pin), then every reference resolves before anything
//! starts, then launch runs the plan with the proxy when it needs one. Holds
//! the run's leases and login tokens: a keeper renews them while the server
//! runs and revokes them when it ends, when nothing starts, or when a signal
//! stops the run while resolving. Prints nothing on stdout.

mod egress;
mod plan;
mod profile;

use std::sync::Arc;

use super::{Error, block_on, minted};
use crate::backend::lease::{Keeper, Report};
use crate::backend::{Registry, Settings};
use crate::cli::RunArgs;
use crate::launch::supervise::supervise;
use crate::launch::{Prepared, exec, guard};
use crate::resolve::{ResolveFailure, Resolved, resolve};
use plan::{Launcher, RunPlan};

pub use crate::govern::wrapper::normalize;

pub fn run(args: RunArgs) -> Result<i32, Error> {
    if args.assignments.first().is_some_and(|a| a.starts_with('@')) {
        return match profile::plan(args)? {
            profile::Planned::Local(plan) => execute(*plan),
            profile::Planned::Remote(plan) => super::bridge::execute(*plan),
        };
    }
    execute(plan::plain(args)?)
}

/// Resolves every reference, then serves; leases are released at the end.
fn execute(plan: RunPlan) -> Result<i32, Error> {
    let registry = Registry::new(Settings {
        paths: plan.paths.clone(),
        aws_region: plan.aws_region.clone(),
        aws_profile: plan.aws_profile.clone(),
        timeout: plan.timeout,
        cloud: plan.cloud.clone(),
    });
    block_on(async move {
        // A signal while resolving stops the run, and what was obtained so far is
        // revoked instead of being left behind by the default disposition.
        let mut stops = StopSignals::new()?;
        let resolved = tokio::select! {
            r = async {
                if plan.requests.is_empty() {
                    Ok(Vec::new())
                } else {
                    resolve(&registry, &plan.requests, plan.timeout).await
                }
            } => Ok(r),
            sig = stops.recv() => Err(sig),
        };
        // Leases and login tokens obtained while resolving: renewed while the
        // server runs, revoked when it ends (or now, when nothing starts).
        let report: Report = Arc::new(|line| eprintln!("mcp-warden: {line}"));
        let keeper = Keeper::start(registry.held(), plan.timeout, report);
        let outcome = match resolved {
            Ok(resolved) => serve(plan, resolved, &registry, &keeper).await,
            Err(sig) => Ok(128 + sig),
        };
        keeper.release().await;
        outcome
    })?
}

/// SIGINT, SIGTERM and SIGHUP, listened to before the server exists.
struct StopSignals([tokio::signal::unix::Signal; 3]);

impl StopSignals {
    fn new() -> Result<Self, Error> {
        use tokio::signal::unix::{SignalKind, signal};
        let on = |k: SignalKind| {
            signal(k).map_err(|e| Error::Internal(format!("cannot set up signal handling: {e}")))
        };
        Ok(Self([
            on(SignalKind::interrupt())?,
            on(SignalKind::terminate())?,
            on(SignalKind::hangup())?,
        ]))
    }

    /// The number of the first signal received.
    async fn recv(&mut self) -> i32 {
        let [int, term, hup] = &mut self.0;
        tokio::select! {
            _ = int.recv() => rustix::process::Signal::INT.as_raw(),
            _ = term.recv() => rustix::process::Signal::TERM.as_raw(),
            _ = hup.recv() => rustix::process::Signal::HUP.as_raw(),
        }
    }
}

/// `-v`: what starts (the program and how many arguments: an unprotected
/// entry may still carry a key in its arguments, and this line goes to the
/// client's log unredacted), and the names of the variables injected.
fn report_start(
    launcher: &Launcher,
    command: &[std::ffi::OsString],
    prepared: &Prepared,
    resolved: &[Resolved],
) {
    let how = match launcher {
        Launcher::Exec => "replacing mcp-warden (--exec: no proxy)",
        Launcher::Supervise { .. } => "as a supervised child",
    };
    tracing::info!(
        "starting {} with {} argument(s), {how}",
        prepared.program_path().display(),
        command.len().saturating_sub(1)
    );
    let names: Vec<&str> = resolved.iter().map(|r| r.var.as_str()).collect();
    tracing::info!("injecting into its environment: {}", names.join(", "));
}

/// Everything after resolving: start the server and wait for it.
async fn serve(
    mut plan: RunPlan,
    resolved: Result<Vec<Resolved>, ResolveFailure>,
    registry: &Registry,
    keeper: &Keeper,
) -> Result<i32, Error> {
    let resolved = resolved?;
    let held_by_proxy = |var: &str| plan.egress.secretless.iter().any(|s| s.var == var);
    let held = minted::held(registry.minted(), &plan.requests, &held_by_proxy);
    let (guard_plan, grace) = match &plan.launcher {
        Launcher::Exec => {
            let prepared = prepare(&mut plan, &resolved, Vec::new())?;
            report_start(&plan.launcher, &plan.command, &prepared, &resolved);
            minted::report_start(&held, false, std::time::SystemTime::now());
            keeper.before_exec().await;
            return Err(Error::Launch(exec::exec(prepared)));
        }
        Launcher::Supervise { guard, grace } => (guard.clone(), *grace),
    };
    // The guard redacts the real values, which a secretless server never holds.
    let guard = guard::build(&guard_plan, &resolved, minted::credentials(&held))?;
    let (egress, values) = secretless(&plan, resolved, guard.as_ref()).await?;
    let extra_env = egress.as_ref().map(|e| e.child_env()).unwrap_or_default();
    let prepared = prepare(&mut plan, &values, extra_env)?;
    report_start(&plan.launcher, &plan.command, &prepared, &values);
    drop(values);
    for w in guard.iter().flat_map(|g| g.warnings()) {
        eprintln!("mcp-warden: warning: {w}");
    }
    minted::report_start(&held, guard.is_some(), std::time::SystemTime::now());
    let argv0 = prepared.argv0.to_string_lossy().into_owned();
    let relay = guard.clone().map(|g| guard::relay(g, argv0));
    let fresh = minted::keep_fresh(registry, held, egress.as_ref(), guard.clone(), plan.timeout);
    let exit = tokio::select! {
        exit = supervise(prepared, relay, grace) => exit,
        never = fresh => match never {},
    };
    // The proxy stops and its CA bundle is removed whatever the outcome.
    drop(egress);
    let exit = exit?;
    if let Some(g) = &guard {
        g.audit_exit(exit.code, exit.signal);
    }
    Ok(exit.exit_code())
}

/// Starts the egress proxy when the plan has secretless variables; the
/// values for the child then hold their placeholders.
async fn secretless(
    plan: &RunPlan,
    resolved: Vec<Resolved>,
    guard: Option<&Arc<crate::proxy::Guard>>,
) -> Result<(Option<crate::egress::Egress>, Vec<Resolved>), Error> {
    if !plan.egress.is_active() {
        return Ok((None, resolved));
    }
    let started = crate::egress::start(
        plan.egress.clone(),
        resolved,
        guard::egress_recorder(guard),
        &plan.paths.data_dir().join("run"),
    )
    .await
    .map_err(|e| Error::Launch(crate::launch::LaunchError::Egress(e)))?;
    Ok((Some(started.egress), started.child_values))
}

/// The child's environment and command line from `values` (plus the egress
/// proxy's variables, which win), and what runs.
fn prepare(
    plan: &mut RunPlan,
    values: &[Resolved],
    extra_env: Vec<(std::ffi::OsString, std::ffi::OsString)>,
) -> Result<Prepared, Error> {
    let mut env = plan.env.build(std::env::vars_os(), values);
    if !extra_env.is_empty() {
        env.retain(|(k, _)| !extra_env.iter().any(|(e, _)| e == k));
        env.extend(extra_env);
    }
    let command = if plan.expand_args {
        crate::launch::args::expand(&plan.command, values)
            .map_err(crate::launch::LaunchError::from)?
    } else {
        plan.command.clone()
    };
    Ok(match plan.pinned.take() {
        Some(files) => Prepared::pinned(&command, env, files)?,
        None => Prepared::new(&command, env)?,
    })
}
