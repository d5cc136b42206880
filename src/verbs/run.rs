//! `run`: resolve the references, then start the server with the values in
//! its environment only — replacing mcp-warden (`--exec`) or supervising it.
//!
//! Owns turning `NAME=REF` arguments into resolve requests (including the
//! mcp-secret-wrapper forms: bare IDs, ARNs, `--vault-type/region/profile`
//! and `VAULT_*`), the order of work (all references resolve before anything
//! starts), composing launch with the proxy, and the run's hold on leases and
//! login tokens: a keeper renews them while the server runs and revokes them
//! when it ends, when nothing starts, or when a signal stops the run while
//! resolving. Prints nothing on stdout.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Error, block_on, parse_duration};
use crate::backend::lease::{Keeper, Report};
use crate::backend::{Registry, Settings};
use crate::cli::RunArgs;
use crate::govern::GovernError;
use crate::govern::policy::{Insecure, Layer, PinMode, Weakening};
use crate::govern::profile;
use crate::launch::env::EnvPolicy;
use crate::launch::supervise::{Grace, supervise};
use crate::launch::{Prepared, exec};
use crate::paths::Paths;
use crate::reference::{Scheme, SecretRef};
use crate::resolve::{Request, resolve};

/// The `--vault-*` options mcp-secret-wrapper users may pass that we accept.
const WRAPPER_OPTIONS: &[&str] = &["--vault-type", "--vault-region", "--vault-profile"];

/// Checks raw `run` arguments before clap sees them, so an unsupported
/// mcp-secret-wrapper option that carries a credential (`--vault-accessKeyId=...`)
/// is refused without echoing its value.
pub fn precheck(args: &[OsString]) -> Result<(), Error> {
    let ours = args.iter().take_while(|a| *a != "--");
    for a in ours {
        let Some(s) = a.to_str() else { continue };
        if let Some(rest) = s.strip_prefix("--vault-") {
            let name = format!("--vault-{}", rest.split('=').next().unwrap_or(""));
            if !WRAPPER_OPTIONS.contains(&name.as_str()) {
                return Err(Error::Usage(format!(
                    "{name} is not supported: credentials do not belong on a command line; \
                     use --vault-profile (an AWS profile) or the backend's own environment"
                )));
            }
        }
    }
    Ok(())
}

/// Maps `--vault-type` (mcp-secret-wrapper's names and ours) to the scheme of bare names.
pub(crate) fn vault_scheme(vault_type: Option<&str>) -> Result<Scheme, Error> {
    let Some(t) = vault_type.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Scheme::Local);
    };
    match t.to_ascii_lowercase().as_str() {
        "aws" | "aws-secrets-manager" | "secretsmanager" => Ok(Scheme::AwsSm),
        "ssm" => Ok(Scheme::AwsSsm),
        "gcp" => Ok(Scheme::GcpSm),
        "azure" => Ok(Scheme::AzureKv),
        "hashicorp" | "hashicorp-vault" => Ok(Scheme::Vault),
        other => Scheme::from_name(other).ok_or_else(|| {
            Error::Usage(format!(
                "--vault-type {t:?} is unknown; use aws, ssm, gcp, azure, or a scheme: {}",
                Scheme::ALL.map(Scheme::as_str).join(", ")
            ))
        }),
    }
}

/// Well-known token prefixes: a "reference" starting with one is a pasted value.
const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "sk-",
    "sk_live_",
    "rk_live_",
    "AKIA",
    "ASIA",
    "hf_",
    "npm_",
    "pypi-",
    "dop_v1_",
    "shpat_",
    "SG.",
];

fn looks_like_a_value(reference: &str) -> bool {
    !reference.contains("://") && TOKEN_PREFIXES.iter().any(|p| reference.starts_with(p))
}

/// Splits `NAME=REF` arguments into resolve requests.
pub(crate) fn requests(
    assignments: &[String],
    default_scheme: Scheme,
) -> Result<Vec<Request>, Error> {
    let mut out: Vec<Request> = Vec::with_capacity(assignments.len());
    // Arguments are never echoed whole: a malformed one may be a pasted value.
    for (n, a) in assignments.iter().enumerate() {
        let Some((var, reference)) = a.split_once('=') else {
            return Err(Error::Usage(format!(
                "argument {} before '--' is not NAME=REF (not shown); put the server's own arguments after '--'",
                n + 1
            )));
        };
        if var.is_empty() || var.contains('\0') {
            return Err(Error::Usage(format!(
                "argument {} before '--' has an empty variable name; write NAME=REF",
                n + 1
            )));
        }
        if out.iter().any(|r| r.var == var) {
            return Err(Error::Usage(format!("{var} is assigned twice")));
        }
        if reference.is_empty() {
            return Err(Error::Usage(format!(
                "{var}= has no reference; write {var}=local://NAME"
            )));
        }
        if looks_like_a_value(reference) {
            // Never echo it: it is probably a live credential.
            return Err(Error::Usage(format!(
                "{var}= holds what looks like a secret value, not a reference; store it with \
                 `mcp-warden secret set NAME` and write {var}=local://NAME"
            )));
        }
        let reference = SecretRef::parse_or_bare(reference, default_scheme)
            .map_err(|e| Error::Usage(format!("{var}: {e}")))?;
        out.push(Request {
            var: var.to_string(),
            reference,
        });
    }
    Ok(out)
}

fn insecure(args: &RunArgs) -> Insecure {
    Insecure {
        no_audit: args.insecure_no_audit,
        no_redact: args.insecure_no_redact,
        no_pin: args.insecure_no_pin,
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
        Weakening::Pin { .. } => "this command line".into(),
        Weakening::AllowTool(g) => format!("--allow-tool {g}"),
    }
}

/// `run @NAME`: the profile's command, secrets and policy as plain `run`
/// arguments, after the policy is settled, any override recorded, and the
/// pin verified. Returns the arguments and the verified executable.
fn from_profile(mut args: RunArgs) -> Result<(RunArgs, Option<PathBuf>), Error> {
    let name = super::pin::profile_name(&args.assignments[0]).to_string();
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
    let cfg = super::pin::load_config()?;
    let p = cfg.get(&name)?.clone();
    let mut policy = p.policy.clone();
    let cwd = std::env::current_dir().map_err(|e| Error::Io(format!("current directory: {e}")))?;
    if let Some(file) = profile::find_project(&cwd) {
        for w in profile::load_project(&file)?.narrow(&mut policy, &name, &cfg)? {
            eprintln!("mcp-warden: {w}");
        }
    }
    let g = &args.guard;
    let cli = Layer {
        audit: (g.no_audit || args.exec).then_some(false),
        redact: (g.no_redact || args.exec).then_some(false),
        pin: args.pin_required.then_some(PinMode::Required),
        allow_tools: (!g.allow_tool.is_empty()).then(|| g.allow_tool.clone()),
        deny_tools: g.deny_tool.clone(),
        timeout: args
            .timeout
            .as_deref()
            .map(|t| parse_duration("--timeout", t))
            .transpose()?,
    };
    let over = insecure(&args);
    for w in policy.narrow(&cli) {
        if !over.permits(&w) {
            return Err(GovernError::Usage(format!(
                "{} would weaken @{name}'s policy ({w}); pass {} to override it for this run \
                 (the override is recorded in the audit log)",
                asked_by(&args, &w),
                w.flag()
            ))
            .into());
        }
    }
    over.apply(&mut policy);
    if over.no_tool_policy {
        policy.allow_tools = cli.allow_tools.clone();
        policy.deny_tools = cli.deny_tools.clone();
    }
    if args.exec && (policy.allow_tools.is_some() || !policy.deny_tools.is_empty()) {
        return Err(Error::Usage(format!(
            "--exec removes the proxy, which enforces @{name}'s tool policy; drop --exec, or pass \
             --insecure-no-tool-policy (recorded in the audit log)"
        )));
    }
    if args.update_pin && over.no_pin {
        return Err(Error::Usage(
            "--update-pin records a pin and --insecure-no-pin skips pins: give one".into(),
        ));
    }
    let label = g.name.clone().unwrap_or_else(|| name.clone());
    if over.any() {
        let paths = Paths::from_env().ok_or_else(|| {
            Error::Config("cannot find a data directory: set MCP_WARDEN_HOME or HOME".into())
        })?;
        let log = g
            .audit_log
            .clone()
            .unwrap_or_else(|| crate::proxy::audit::default_path(paths.data_dir()));
        let flags = over.flags();
        let detail = format!("policy of @{name} weakened for one run by the command line");
        // Written before the override takes effect, even when it turns the log off.
        crate::proxy::audit::record_override(&log, &label, &flags, &detail).map_err(|e| {
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
    }
    let program = super::pin::verify(&cfg, &p, policy.pin, args.update_pin)?;

    args.assignments = p.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
    args.command = std::iter::once(&p.command)
        .chain(&p.args)
        .map(OsString::from)
        .collect();
    args.timeout = Some(format!("{}ms", policy.timeout.as_millis()));
    args.pass_env.extend(p.pass_env.iter().cloned());
    args.clean_env |= p.clean_env;
    let g = &mut args.guard;
    g.name = Some(label);
    g.no_audit = !policy.audit;
    g.no_redact = !policy.redact;
    g.audit_arguments = policy.audit && (g.audit_arguments || p.audit_arguments);
    g.deny_tool = policy.deny_tools;
    g.allow_tool = match policy.allow_tools {
        None => Vec::new(),
        // An empty allow list means no tool at all; the proxy reads empty as "all".
        Some(v) if v.is_empty() => {
            g.deny_tool.push("*".into());
            Vec::new()
        }
        Some(v) => v,
    };
    Ok((args, program))
}

/// Plain `run NAME=REF -- cmd`: profile-only options are refused, and
/// `--pin-required` checks the package runner's spec.
fn plain_checks(args: &RunArgs) -> Result<(), Error> {
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

pub fn run(args: RunArgs) -> Result<i32, Error> {
    let (args, program) = if args.assignments.first().is_some_and(|a| a.starts_with('@')) {
        from_profile(args)?
    } else {
        plain_checks(&args)?;
        (args, None)
    };
    let timeout = parse_duration("--timeout", args.timeout.as_deref().unwrap_or("10s"))?;
    if timeout.is_zero() {
        return Err(Error::Usage("--timeout must be greater than zero".into()));
    }
    let grace = Grace {
        stdin: parse_duration("--stdin-grace", &args.guard.stdin_grace)?,
        term: parse_duration("--term-grace", &args.guard.term_grace)?,
        ..Grace::default()
    };
    if args.exec {
        let g = &args.guard;
        let proxy_only = [
            (!g.allow_tool.is_empty(), "--allow-tool"),
            (!g.deny_tool.is_empty(), "--deny-tool"),
            (g.audit_log.is_some(), "--audit-log"),
            (g.audit_arguments, "--audit-arguments"),
        ];
        // A policy or audit the user asked for must never be dropped silently.
        if let Some((_, flag)) = proxy_only.iter().find(|(set, _)| *set) {
            return Err(Error::Usage(format!(
                "{flag} needs the proxy, which --exec removes; drop --exec"
            )));
        }
    }
    let default_scheme = vault_scheme(args.vault_type.as_deref())?;
    let reqs = requests(&args.assignments, default_scheme)?;
    let paths = Paths::from_env().ok_or_else(|| {
        Error::Config("cannot find a data directory: set MCP_WARDEN_HOME or HOME".into())
    })?;
    let registry = Registry::new(Settings {
        paths,
        aws_region: args.vault_region.clone().filter(|s| !s.is_empty()),
        aws_profile: args.vault_profile.clone().filter(|s| !s.is_empty()),
        timeout,
        cloud: Default::default(),
    });
    let policy = EnvPolicy {
        pass: args.pass_env.clone(),
        clean: args.clean_env,
    };

    block_on(async move {
        // A signal while resolving stops the run, and what was obtained so far is
        // revoked instead of being left behind by the default disposition.
        let mut stops = StopSignals::new()?;
        let resolved = tokio::select! {
            r = async {
                if reqs.is_empty() {
                    Ok(Vec::new())
                } else {
                    resolve(&registry, &reqs, timeout).await
                }
            } => Ok(r),
            sig = stops.recv() => Err(sig),
        };
        // Leases and login tokens obtained while resolving: renewed while the
        // server runs, revoked when it ends (or now, when nothing starts).
        let held = registry.held();
        let report: Report = Arc::new(|line| eprintln!("mcp-warden: {line}"));
        let keeper = Keeper::start(held, timeout, report);
        let outcome = match resolved {
            Ok(resolved) => serve(args, program, policy, grace, &registry, resolved, &keeper).await,
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

/// Everything after resolving: start the server and wait for it.
async fn serve(
    args: RunArgs,
    program: Option<PathBuf>,
    policy: EnvPolicy,
    grace: Grace,
    registry: &Registry,
    resolved: Result<Vec<crate::resolve::Resolved>, crate::resolve::ResolveFailure>,
    keeper: &Keeper,
) -> Result<i32, Error> {
    let resolved = resolved?;
    let env = policy.build(std::env::vars_os(), &resolved);
    let command = if args.expand_args {
        crate::launch::args::expand(&args.command, &resolved)
            .map_err(crate::launch::LaunchError::from)?
    } else {
        args.command.clone()
    };
    let mut prepared = Prepared::new(&command, env)?;
    if let Some(verified) = program {
        // Run exactly the file whose pin was checked, whatever the child's PATH finds.
        prepared.program = verified;
    }
    if args.exec {
        keeper.before_exec().await;
        return Err(Error::Launch(exec::exec(prepared)));
    }
    let guard = super::guard::build(
        &args.guard,
        &args.command,
        &resolved,
        &registry.settings().paths,
    )?;
    drop(resolved);
    let argv0 = prepared.argv0.to_string_lossy().into_owned();
    let relay = guard.clone().map(|g| super::guard::relay(g, argv0));
    let exit = supervise(prepared, relay, grace).await?;
    if let Some(g) = &guard {
        g.audit_exit(exit.code, exit.signal);
    }
    Ok(exit.exit_code())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_equals_and_maps_bare_names() {
        let r = requests(
            &["K=aws-sm://a=b=c".into(), "J=x/y#k".into()],
            Scheme::AwsSm,
        )
        .unwrap();
        assert_eq!(r[0].var, "K");
        assert_eq!(r[0].reference.location, "a=b=c");
        assert_eq!(r[1].reference.scheme, Scheme::AwsSm);
        assert_eq!(r[1].reference.location, "x/y");
    }

    #[test]
    fn refuses_pasted_values_without_echoing_them() {
        let e = requests(&["T=ghp_canaryCANARY123".into()], Scheme::Local).unwrap_err();
        assert!(!e.to_string().contains("canary"), "{e}");
    }

    #[test]
    fn precheck_refuses_credential_options_without_echo() {
        let args: Vec<OsString> = [
            "mcp-warden",
            "run",
            "--vault-accessKeyId=AKIACANARY",
            "--",
            "x",
            "--vault-zzz",
        ]
        .into_iter()
        .map(Into::into)
        .collect();
        let e = precheck(&args).unwrap_err().to_string();
        assert!(
            e.contains("--vault-accessKeyId") && !e.contains("CANARY"),
            "{e}"
        );
        let ok: Vec<OsString> = ["run", "--vault-type=aws", "--", "x", "--vault-zzz=1"]
            .into_iter()
            .map(Into::into)
            .collect();
        assert!(precheck(&ok).is_ok());
    }

    #[test]
    fn vault_types() {
        assert_eq!(vault_scheme(None).unwrap(), Scheme::Local);
        assert_eq!(vault_scheme(Some("aws")).unwrap(), Scheme::AwsSm);
        assert_eq!(vault_scheme(Some("bao")).unwrap(), Scheme::Vault);
        assert!(vault_scheme(Some("nope")).is_err());
    }
}
