//! [`RunPlan`]: everything `run` does, decided before anything is fetched,
//! from either form of its command line — `NAME=REF ... -- COMMAND` here,
//! `@PROFILE` in `profile`.
//!
//! Owns the options both forms share (timeout, grace periods, backend
//! defaults, `--exec` and what it excludes) and the plain form's own rules.
//! Must not resolve, start or print anything.

use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

use super::super::{Error, data_paths, parse_duration};
use super::egress::EgressArgs;
use crate::cli::{GuardArgs, RunArgs};
use crate::govern::GovernError;
use crate::govern::assign::{requests, vault_scheme};
use crate::launch::env::EnvPolicy;
use crate::launch::guard::{AuditPlan, GuardPlan};
use crate::launch::held::Pinned;
use crate::launch::supervise::Grace;
use crate::paths::Paths;
use crate::reference::Scheme;
use crate::resolve::Request;

/// Per-reference timeout when neither the command line nor a profile sets one.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What one `run` does.
pub struct RunPlan {
    /// The references to resolve, all before anything starts.
    pub requests: Vec<Request>,
    /// The server's argv as configured (`%{NAME}` not yet expanded).
    pub command: Vec<OsString>,
    /// Expand `%{NAME}` in the arguments (`--expand-args`).
    pub expand_args: bool,
    /// Per reference.
    pub timeout: Duration,
    pub paths: Paths,
    pub aws_region: Option<String>,
    pub aws_profile: Option<String>,
    /// GCP/Azure credential choices from mcp-secret-wrapper's parameters.
    pub cloud: crate::backend::CloudSettings,
    pub env: EnvPolicy,
    pub launcher: Launcher,
    /// The files a profile's pin verified, held open: run exactly these.
    pub pinned: Option<Pinned>,
    /// Secretless variables and the egress proxy's rules (inactive when none).
    pub egress: crate::egress::EgressPlan,
}

/// How the server is started.
pub enum Launcher {
    /// Replace mcp-warden (`--exec`): no proxy.
    Exec,
    /// Stay its parent; the proxy sits on its stdio when the plan needs it.
    Supervise { guard: GuardPlan, grace: Grace },
}

/// The options both forms read from the command line, checked first.
pub struct Shared {
    /// `--timeout`, if given.
    pub timeout: Option<Duration>,
    pub grace: Grace,
    pub scheme: Scheme,
    pub paths: Paths,
}

impl Shared {
    pub fn parse(args: &RunArgs) -> Result<Shared, Error> {
        let timeout = args
            .timeout
            .as_deref()
            .map(|t| parse_duration("--timeout", t))
            .transpose()?;
        let grace = Grace {
            stdin: parse_duration("--stdin-grace", &args.guard.stdin_grace)?,
            term: parse_duration("--term-grace", &args.guard.term_grace)?,
            ..Grace::default()
        };
        if args.exec {
            refuse_proxy_options(&args.guard)?;
        }
        Ok(Shared {
            timeout,
            grace,
            scheme: vault_scheme(args.vault_type.as_deref())?,
            paths: data_paths()?,
        })
    }

    /// The audit log: `--audit-log`, else the default in the data directory.
    pub fn audit_path(&self, g: &GuardArgs) -> std::path::PathBuf {
        g.audit_log
            .clone()
            .unwrap_or_else(|| crate::proxy::audit::default_path(self.paths.data_dir()))
    }
}

/// With `--exec` there is no proxy: a policy or audit the user asked for must
/// never be dropped silently.
fn refuse_proxy_options(g: &GuardArgs) -> Result<(), Error> {
    let proxy_only = [
        (!g.allow_tool.is_empty(), "--allow-tool"),
        (!g.deny_tool.is_empty(), "--deny-tool"),
        (g.audit_log.is_some(), "--audit-log"),
        (g.audit_arguments, "--audit-arguments"),
    ];
    match proxy_only.iter().find(|(set, _)| *set) {
        Some((_, flag)) => Err(Error::Usage(format!(
            "{flag} needs the proxy, which --exec removes; drop --exec"
        ))),
        None => Ok(()),
    }
}

/// A timeout of zero would fail every reference.
pub fn positive(timeout: Duration) -> Result<Duration, Error> {
    if timeout.is_zero() {
        return Err(Error::Usage("--timeout must be greater than zero".into()));
    }
    Ok(timeout)
}

/// The server label: `--name`, else the command's basename.
fn label(g: &GuardArgs, command: &[OsString]) -> String {
    g.name.clone().unwrap_or_else(|| {
        command
            .first()
            .map(|c| {
                Path::new(c)
                    .file_name()
                    .unwrap_or(c)
                    .to_string_lossy()
                    .into_owned()
            })
            .unwrap_or_default()
    })
}

/// `run NAME=REF ... -- COMMAND`: profile-only options are refused, and
/// `--pin-required` checks a package runner's spec.
pub fn plain(args: RunArgs) -> Result<RunPlan, Error> {
    refuse_profile_options(&args)?;
    let shared = Shared::parse(&args)?;
    let wrapper = crate::govern::wrapper::Wrapper::of(
        args.vault_type.as_deref(),
        &args.vault_params,
        shared.scheme,
    )?;
    let mut requests = requests(&wrapper.rewrite(&args.assignments)?, shared.scheme)?;
    let egress = EgressArgs::parse(&args.secretless, args.egress.as_deref(), &args.egress_allow)?
        .plan(&mut requests, args.exec)?;
    let g = &args.guard;
    let launcher = if args.exec {
        Launcher::Exec
    } else {
        Launcher::Supervise {
            guard: GuardPlan {
                label: label(g, &args.command),
                redact: !g.no_redact,
                audit: (!g.no_audit).then(|| AuditPlan {
                    path: shared.audit_path(g),
                    arguments: g.audit_arguments,
                }),
                allow_tools: (!g.allow_tool.is_empty()).then(|| g.allow_tool.clone()),
                deny_tools: g.deny_tool.clone(),
            },
            grace: shared.grace,
        }
    };
    Ok(RunPlan {
        requests,
        expand_args: args.expand_args,
        timeout: positive(shared.timeout.unwrap_or(DEFAULT_TIMEOUT))?,
        paths: shared.paths,
        aws_region: args.vault_region.filter(|s| !s.is_empty()),
        aws_profile: args.vault_profile.filter(|s| !s.is_empty()),
        cloud: wrapper.cloud,
        env: EnvPolicy {
            pass: args.pass_env,
            clean: args.clean_env,
        },
        launcher,
        pinned: None,
        egress,
        command: args.command,
    })
}

fn refuse_profile_options(args: &RunArgs) -> Result<(), Error> {
    let profile_only = [
        (args.update_pin, "--update-pin"),
        (args.insecure_no_audit, "--insecure-no-audit"),
        (args.insecure_no_redact, "--insecure-no-redact"),
        (args.insecure_no_pin, "--insecure-no-pin"),
        (args.insecure_no_tool_policy, "--insecure-no-tool-policy"),
    ];
    if let Some((_, flag)) = profile_only.iter().find(|(set, _)| *set) {
        return Err(Error::Usage(format!(
            "{flag} applies to a profile (run @NAME); without one use --no-audit / --no-redact"
        )));
    }
    if args.command.is_empty() {
        return Err(Error::Usage(
            "give the server's command after '--' (or a profile: run @NAME)".into(),
        ));
    }
    if args.pin_required {
        let argv: Vec<String> = args
            .command
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        if let Some((cmd, rest)) = argv.split_first()
            && let Some(why) = crate::govern::pin::unpinned_package(cmd, rest)
        {
            return Err(GovernError::Refused(format!(
                "--pin-required: {why}; pin an exact version or digest (no secret was fetched)"
            ))
            .into());
        }
    }
    Ok(())
}
