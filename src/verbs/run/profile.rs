//! `run @PROFILE`: a profile, its policy narrowed by the project file and
//! the command line, turned into a [`RunPlan`] — the pin verified last,
//! before any secret is fetched.
//!
//! Owns the order of that work: refuse what does not go with a profile,
//! settle the policy (a weakening needs its `--insecure-*` override, which is
//! recorded in the audit log before it takes effect), check the pin and keep
//! the files it hashed open for launch; before it, the rotation gate
//! (metadata only: an overdue secret warns or refuses). Prints the one-line warnings of the
//! project file and of overrides.

use std::ffi::OsString;

use super::super::rotation_gate::{self, Gate};
use super::super::{Error, current_dir};
use super::egress::EgressArgs;
use super::plan::{Launcher, RunPlan, Shared, positive};
use crate::backend::Settings;
use crate::cli::RunArgs;
use crate::govern::GovernError;
use crate::govern::assign::pair_requests;
use crate::govern::pin_check;
use crate::govern::policy::{Insecure, Layer, PinMode, Policy, Weakening};
use crate::govern::profile::{self, Profile};
use crate::launch::env::EnvPolicy;
use crate::launch::guard::{AuditPlan, GuardPlan};

fn insecure(args: &RunArgs) -> Insecure {
    Insecure {
        no_audit: args.insecure_no_audit,
        no_redact: args.insecure_no_redact,
        no_pin: args.insecure_no_pin,
        no_rotation: args.insecure_no_rotation,
        no_tool_policy: args.insecure_no_tool_policy,
    }
}

/// Which of our options asked for a weakening, for the message.
fn asked_by(args: &RunArgs, w: &Weakening) -> String {
    match w {
        Weakening::Audit if args.exec => "--exec (no proxy, so no audit log)".into(),
        Weakening::Audit => "--no-audit".into(),
        Weakening::Redact if args.exec => "--exec (no proxy, so no redaction)".into(),
        Weakening::Redact => "--no-redact".into(),
        Weakening::Pin { .. } | Weakening::Rotation { .. } => "this command line".into(),
        Weakening::AllowTool(g) => format!("--allow-tool {g}"),
    }
}

/// What the command line says, as a policy layer.
fn cli_layer(args: &RunArgs, shared: &Shared) -> Layer {
    let g = &args.guard;
    Layer {
        audit: (g.no_audit || args.exec).then_some(false),
        redact: (g.no_redact || args.exec).then_some(false),
        pin: args.pin_required.then_some(PinMode::Required),
        rotation: None,
        allow_tools: (!g.allow_tool.is_empty()).then(|| g.allow_tool.clone()),
        deny_tools: g.deny_tool.clone(),
        timeout: shared.timeout,
    }
}

/// `@NAME` takes its secrets and command from the profile.
fn refuse_extras(args: &RunArgs, name: &str) -> Result<(), Error> {
    if args.assignments.len() > 1 {
        return Err(Error::Usage(format!(
            "@{name} takes its secrets from the profile's env; give no NAME=REF with it"
        )));
    }
    if !args.command.is_empty() {
        return Err(Error::Usage(format!(
            "@{name} runs the profile's command; give no '--' command with it (edit the profile, then re-pin)"
        )));
    }
    if args.update_pin && args.insecure_no_pin {
        return Err(Error::Usage(
            "--update-pin records a pin and --insecure-no-pin skips pins: give one".into(),
        ));
    }
    Ok(())
}

/// The profile's policy narrowed by the project file and the command line;
/// a weakening is refused unless its override is given.
fn settle_policy(
    args: &RunArgs,
    shared: &Shared,
    cfg: &profile::Config,
    p: &Profile,
) -> Result<Policy, Error> {
    let name = &p.name;
    let mut policy = p.policy.clone();
    let cwd = current_dir()?;
    if let Some(file) = profile::find_project(&cwd) {
        for w in profile::load_project(&file)?.narrow(&mut policy, name, cfg)? {
            eprintln!("mcp-warden: {w}");
        }
    }
    let cli = cli_layer(args, shared);
    let over = insecure(args);
    for w in policy.narrow(&cli) {
        if !over.permits(&w) {
            return Err(GovernError::Usage(format!(
                "{} would weaken @{name}'s policy ({w}); pass {} to override it for this run \
                 (the override is recorded in the audit log)",
                asked_by(args, &w),
                w.flag()
            ))
            .into());
        }
    }
    over.apply(&mut policy);
    if over.no_tool_policy {
        policy.allow_tools = cli.allow_tools;
        policy.deny_tools = cli.deny_tools;
    }
    if args.exec && (policy.allow_tools.is_some() || !policy.deny_tools.is_empty()) {
        return Err(Error::Usage(format!(
            "--exec removes the proxy, which enforces @{name}'s tool policy; drop --exec, or pass \
             --insecure-no-tool-policy (recorded in the audit log)"
        )));
    }
    Ok(policy)
}

/// Writes the override record before the override takes effect (even when
/// it turns the log off); if it cannot be written, nothing starts.
fn record_overrides(args: &RunArgs, shared: &Shared, name: &str, label: &str) -> Result<(), Error> {
    let over = insecure(args);
    if !over.any() {
        return Ok(());
    }
    let log = shared.audit_path(&args.guard);
    let flags = over.flags();
    let detail = format!("policy of @{name} weakened for one run by the command line");
    crate::proxy::audit::record_override(&log, label, &flags, &detail).map_err(|e| {
        Error::Io(format!(
            "cannot record the override, so nothing was started: {e}"
        ))
    })?;
    eprintln!(
        "mcp-warden: warning: {} {} @{name}'s policy for this run (recorded in {})",
        flags.join(" "),
        if flags.len() == 1 {
            "weakens"
        } else {
            "weaken"
        },
        log.display()
    );
    Ok(())
}

/// What `run @NAME` starts: a local server, or a bridge to a remote one.
pub enum Planned {
    Local(Box<RunPlan>),
    Remote(Box<crate::verbs::bridge::ConnectPlan>),
}

/// A remote profile: what only a local server has is refused; its pin is
/// the hash of its url and headers.
fn remote(
    args: &RunArgs,
    shared: &Shared,
    cfg: &profile::Config,
    p: &Profile,
    policy: Policy,
    label: String,
) -> Result<Planned, Error> {
    let local_only = [
        (args.exec, "--exec"),
        (args.expand_args, "--expand-args"),
        (args.clean_env, "--clean-env"),
        (!args.pass_env.is_empty(), "--pass-env"),
        (!args.secretless.is_empty(), "--secretless"),
        (args.egress.is_some(), "--egress"),
        (!args.egress_allow.is_empty(), "--egress-allow"),
        (!p.secretless.is_empty(), "secretless"),
    ];
    if let Some((_, flag)) = local_only.iter().find(|(set, _)| *set) {
        return Err(Error::Usage(format!(
            "{flag} applies to a local server; @{} is a remote one (url)",
            p.name
        )));
    }
    // its pin covers its url and headers (nothing runs here to hash)
    for note in pin_check::before_connect(cfg, p, policy.pin, args.update_pin)? {
        eprintln!("mcp-warden: {note}");
    }
    let plan = crate::verbs::bridge::from_profile(
        p,
        policy,
        crate::verbs::bridge::ProfileRun {
            label,
            audit_path: shared.audit_path(&args.guard),
            audit_arguments: args.guard.audit_arguments,
            paths: shared.paths.clone(),
        },
    )?;
    Ok(Planned::Remote(Box::new(plan)))
}

/// `run @NAME` as a plan.
pub fn plan(args: RunArgs) -> Result<Planned, Error> {
    let name = profile::name_of(&args.assignments[0]).to_string();
    refuse_extras(&args, &name)?;
    let shared = Shared::parse(&args)?;
    let cfg = profile::load_user()?;
    let p = cfg.get(&name)?;
    let policy = settle_policy(&args, &shared, &cfg, p)?;
    let wrapper = crate::govern::wrapper::Wrapper::of(
        args.vault_type.as_deref(),
        &args.vault_params,
        shared.scheme,
    )?;
    let mut requests = pair_requests(
        p.env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        shared.scheme,
    )?;
    let timeout = positive(policy.timeout)?;
    let g = &args.guard;
    let label = g.name.clone().unwrap_or_else(|| name.clone());
    record_overrides(&args, &shared, &name, &label)?;
    let gate = Gate {
        name: &name,
        mode: policy.rotation,
        rotate_after: p.rotate_after,
        requests: &requests,
    };
    rotation_gate::check(
        &gate,
        Settings {
            paths: shared.paths.clone(),
            aws_region: args.vault_region.clone().filter(|s| !s.is_empty()),
            aws_profile: args.vault_profile.clone().filter(|s| !s.is_empty()),
            timeout,
            cloud: wrapper.cloud.clone(),
        },
    )?;
    if p.url.is_some() {
        return remote(&args, &shared, &cfg, p, policy, label);
    }
    // Last, right before resolving: the files it hashed stay open for launch.
    let path_var = std::env::var_os("PATH");
    let checked = pin_check::before_run(
        &cfg,
        p,
        policy.pin,
        args.update_pin,
        path_var.as_deref(),
        &current_dir()?,
    )?;
    for note in &checked.notes {
        eprintln!("mcp-warden: {note}");
    }
    let egress = EgressArgs::parse(&args.secretless, args.egress.as_deref(), &args.egress_allow)?
        .with_profile(p)
        .plan(&mut requests, args.exec)?;
    let launcher = if args.exec {
        Launcher::Exec
    } else {
        Launcher::Supervise {
            guard: GuardPlan {
                redact: policy.redact,
                audit: policy.audit.then(|| AuditPlan {
                    path: shared.audit_path(g),
                    arguments: g.audit_arguments || p.audit_arguments,
                }),
                allow_tools: policy.allow_tools,
                deny_tools: policy.deny_tools,
                label,
            },
            grace: shared.grace,
        }
    };
    Ok(Planned::Local(Box::new(RunPlan {
        requests,
        command: std::iter::once(&p.command)
            .chain(&p.args)
            .map(OsString::from)
            .collect(),
        expand_args: args.expand_args,
        timeout,
        paths: shared.paths,
        aws_region: args.vault_region.filter(|s| !s.is_empty()),
        aws_profile: args.vault_profile.filter(|s| !s.is_empty()),
        cloud: wrapper.cloud,
        env: EnvPolicy {
            pass: args
                .pass_env
                .into_iter()
                .chain(p.pass_env.clone())
                .collect(),
            clean: args.clean_env || p.clean_env,
        },
        launcher,
        pinned: checked.files,
        egress,
    })))
}
