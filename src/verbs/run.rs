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
use std::sync::Arc;

use super::{Error, block_on, parse_duration};
use crate::backend::lease::{Keeper, Report};
use crate::backend::{Registry, Settings};
use crate::cli::RunArgs;
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
fn vault_scheme(vault_type: Option<&str>) -> Result<Scheme, Error> {
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
fn requests(assignments: &[String], default_scheme: Scheme) -> Result<Vec<Request>, Error> {
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

pub fn run(args: RunArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
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
            Ok(resolved) => serve(args, policy, grace, &registry, resolved, &keeper).await,
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
    policy: EnvPolicy,
    grace: Grace,
    registry: &Registry,
    resolved: Result<Vec<crate::resolve::Resolved>, crate::resolve::ResolveFailure>,
    keeper: &Keeper,
) -> Result<i32, Error> {
    let resolved = resolved?;
    let env = policy.build(std::env::vars_os(), &resolved);
    let prepared = Prepared::new(&args.command, env)?;
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
