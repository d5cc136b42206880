//! `connect`: a stdio MCP server for the client that speaks MCP over HTTP
//! to a remote server, its URL and headers filled from secret references,
//! with the guard of `run` between the client and the remote traffic.
//!
//! Owns turning either form of the command line (`URL NAME=REF... -H ...`,
//! or `@PROFILE` of a remote profile, whose policy the command line may only
//! narrow) into one [`ConnectPlan`]; `bridge` runs it. Prints nothing on
//! stdout.

use std::time::Duration;

use super::bridge::{
    ConnectPlan, MAX_MESSAGE, OAuthPlan, ProfileRun, execute, from_profile, oauth_asked, oauth_plan,
};
use super::{Error, current_dir, data_paths, parse_duration};
use crate::cli::{ConnectArgs, TransportArg};
use crate::govern::GovernError;
use crate::govern::assign::requests;
use crate::govern::policy::Layer;
use crate::govern::profile;
use crate::launch::guard::{AuditPlan, GuardPlan};
use crate::proxy;
use crate::reference::Scheme;
use crate::remote::{self, Limits, Options, Transport};

pub fn run(args: ConnectArgs) -> Result<i32, Error> {
    if args.url.starts_with('@') {
        execute(profile_plan(args)?)
    } else {
        execute(plan(args)?)
    }
}

/// `connect @NAME`: a remote profile, its policy narrowed (never weakened)
/// by the project file and the command line.
fn profile_plan(args: ConnectArgs) -> Result<ConnectPlan, Error> {
    let name = profile::name_of(&args.url).to_string();
    if !args.assignments.is_empty() || !args.headers.is_empty() {
        return Err(Error::Usage(format!(
            "@{name} takes its url, headers and references from the profile; give no NAME=REF or -H with it"
        )));
    }
    let cfg = profile::load_user()?;
    let p = cfg.get(&name)?;
    if p.url.is_none() {
        return Err(Error::Usage(format!(
            "@{name} is a local server (command): start it with `mcp-warden run @{name}`"
        )));
    }
    let mut policy = p.policy.clone();
    if let Some(file) = profile::find_project(&current_dir()?) {
        for w in profile::load_project(&file)?.narrow(&mut policy, &name, &cfg)? {
            eprintln!("mcp-warden: {w}");
        }
    }
    let cli = Layer {
        audit: args.no_audit.then_some(false),
        redact: None,
        pin: None,
        rotation: None,
        allow_tools: (!args.allow_tool.is_empty()).then(|| args.allow_tool.clone()),
        deny_tools: args.deny_tool.clone(),
        timeout: Some(positive("--timeout", &args.timeout)?),
    };
    if let Some(w) = policy.narrow(&cli).first() {
        return Err(GovernError::Usage(format!(
            "this command line would weaken @{name}'s policy ({w}); run it as `mcp-warden run @{name} {}` \
             to override it for one run (recorded in the audit log)",
            w.flag()
        ))
        .into());
    }
    for note in crate::govern::pin_check::before_connect(&cfg, p, policy.pin, false)? {
        eprintln!("mcp-warden: {note}");
    }
    let paths = data_paths()?;
    let refs = p.references();
    let gate = super::rotation_gate::Gate {
        name: &name,
        mode: policy.rotation,
        rotate_after: p.rotate_after,
        requests: &refs,
    };
    super::rotation_gate::check(
        &gate,
        crate::backend::Settings {
            paths: paths.clone(),
            aws_region: None,
            aws_profile: None,
            timeout: policy.timeout,
            cloud: Default::default(),
        },
    )?;
    let mut plan = from_profile(
        p,
        policy,
        ProfileRun {
            label: args.name.clone().unwrap_or_else(|| name.clone()),
            audit_path: args
                .audit_log
                .clone()
                .unwrap_or_else(|| proxy::audit::default_path(paths.data_dir())),
            audit_arguments: args.audit_arguments,
            paths,
        },
    )?;
    plan.limits = limits(&args)?;
    plan.options = options(&args)?;
    if oauth_asked(&args.oauth) || args.oauth.no_browser || args.oauth.no_resource {
        let shown = plan.url.clone();
        plan.oauth = oauth_for(&args, &shown, plan.oauth.is_none())?;
    }
    Ok(plan)
}

/// The OAuth plan, unless the user sends their own Authorization header
/// (`own_header`); OAuth options with such a header are refused.
fn oauth_for(
    args: &ConnectArgs,
    shown: &str,
    own_header: bool,
) -> Result<Option<OAuthPlan>, Error> {
    if super::bridge::placeholder_in_path(shown) {
        if oauth_asked(&args.oauth) {
            return Err(Error::Usage(
                "OAuth needs a server URL without %{NAME} in its path (the path names the stored grant and is shown): put the value in a header or the query".into(),
            ));
        }
        return Ok(None);
    }
    if own_header {
        if oauth_asked(&args.oauth) {
            return Err(Error::Usage(
                "an Authorization header (-H) and OAuth options do not go together: drop one"
                    .into(),
            ));
        }
        return Ok(None);
    }
    oauth_plan(&args.oauth, shown).map(Some)
}

fn limits(args: &ConnectArgs) -> Result<Limits, Error> {
    Ok(Limits {
        connect: positive("--connect-timeout", &args.connect_timeout)?,
        read: positive("--read-timeout", &args.read_timeout)?,
        max_message: MAX_MESSAGE,
    })
}

fn options(args: &ConnectArgs) -> Result<Options, Error> {
    Ok(Options {
        transport: match args.transport {
            TransportArg::Auto => Transport::Auto,
            TransportArg::Http => Transport::Http,
            TransportArg::Sse => Transport::Sse,
        },
        grace: parse_duration("--stdin-grace", &args.stdin_grace)?,
        on_status: None,
        auth: None,
    })
}

fn positive(flag: &str, text: &str) -> Result<Duration, Error> {
    let d = parse_duration(flag, text)?;
    if d.is_zero() {
        return Err(Error::Usage(format!("{flag} must be greater than zero")));
    }
    Ok(d)
}

/// The label of the audit log: `--name`, else the URL's host (no placeholder).
fn label(args: &ConnectArgs) -> String {
    if let Some(n) = &args.name {
        return n.clone();
    }
    let after = args
        .url
        .split_once("://")
        .map_or(args.url.as_str(), |(_, r)| r);
    let authority = after.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("remote").to_string()
}

/// The command line as a plan.
pub fn plan(args: ConnectArgs) -> Result<ConnectPlan, Error> {
    let headers = args
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| remote::parse_header(i + 1, h))
        .collect::<Result<Vec<_>, _>>()?;
    let requests = requests(&args.assignments, Scheme::Local)?;
    let names: Vec<&str> = requests.iter().map(|r| r.var.as_str()).collect();
    remote::endpoint::precheck(&args.url, &headers, &names)?;
    let own_header = headers
        .iter()
        .any(|h| h.name == http::header::AUTHORIZATION);
    let oauth = oauth_for(&args, &args.url, own_header)?;
    let paths = data_paths()?;
    let audit_path = args
        .audit_log
        .clone()
        .unwrap_or_else(|| proxy::audit::default_path(paths.data_dir()));
    Ok(ConnectPlan {
        headers,
        requests,
        timeout: positive("--timeout", &args.timeout)?,
        limits: limits(&args)?,
        options: options(&args)?,
        guard: GuardPlan {
            label: label(&args),
            redact: true,
            audit: (!args.no_audit).then_some(AuditPlan {
                path: audit_path,
                arguments: args.audit_arguments,
            }),
            allow_tools: (!args.allow_tool.is_empty()).then(|| args.allow_tool.clone()),
            deny_tools: args.deny_tool.clone(),
        },
        paths,
        oauth,
        url: args.url,
    })
}
