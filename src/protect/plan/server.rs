//! One server entry's plan: a remote entry (see `remote`) or a header bridge
//! (see `bridge`) that `connect` carries, else in phases: the secrets in its
//! fields (env, headers; URL and client fields reported), its argument
//! secrets grouped by argument, the escaping `run --expand-args` needs, and
//! the rewrite of its launch command (or, for a Claude Code remote entry with
//! `--remote-style headers-helper`, its headersHelper).
//!
//! Pure: edits and secrets are planned, nothing is written or stored.

use super::argv::{
    ArgvShape, ExistingRun, arg_var, argv_edits, argv_shape, docker_env_flag, existing_run,
    mcp_remote_header,
};
use super::{EntryPlan, Options, Secret, Skipped, bridge, connect, remote, skip};
use crate::clients::catalog;
use crate::clients::edit::{Edit, Value};
use crate::clients::{ConfigFile, Located, Location, Scope, Server};
use crate::protect::naming::{NameParts, unique, var_name};
use crate::reference::SecretRef;
use crate::scan::finding::{Finding, Site};
use crate::scan::posture;
use crate::secret::SecretValue;
use crate::template;

/// Clients that hand `${VAR}` in an argument to the program unchanged (they
/// expand nothing, or only `${env:VAR}`), as mcp-remote's own documentation
/// relies on: there mcp-remote can expand a header from its environment.
const PASS_DOLLAR_BRACES: &[&str] = &["claude-desktop", "cursor"];

/// What one entry's plan produced.
pub(super) struct Planned {
    pub entry: Option<EntryPlan>,
    pub skipped: Vec<Skipped>,
}

/// The entry being planned and what is fixed about it.
pub(super) struct Ctx<'a> {
    pub cfg: &'a ConfigFile,
    pub server: &'a Server,
    pub opts: &'a Options<'a>,
    /// A local (stdio) server: it has a command to wrap.
    pub stdio: bool,
    existing: Option<ExistingRun>,
}

impl Ctx<'_> {
    fn reference(&self, var: &str) -> Result<SecretRef, String> {
        let loc = &self.cfg.location;
        let project = project_of(loc, self.server);
        self.opts.target.reference(&NameParts {
            client: loc.client,
            project: project.as_deref(),
            server: &self.server.name,
            var,
            scope: loc.scope.as_str(),
        })
    }

    pub fn skip(&self, f: &Finding, reason: &str) -> Skipped {
        skip(self.server, f, reason)
    }
}

/// The project folder an entry belongs to, for `{project}`: the folder of a
/// project-level file, or the project a Claude Code local entry is kept
/// under; `None` for user-level entries.
pub(super) fn project_of(loc: &Location, server: &Server) -> Option<String> {
    match (&server.project, server.scope) {
        (Some(p), Scope::Local) => Some(p.clone()),
        _ if loc.scope == Scope::Project => {
            catalog::project_root(&loc.path).map(|r| r.to_string_lossy().into_owned())
        }
        _ => None,
    }
}

/// What the phases build up.
#[derive(Default)]
pub(super) struct Draft {
    pub secrets: Vec<Secret>,
    pub edits: Vec<Edit>,
    pub skipped: Vec<Skipped>,
    /// Variable names in use: the entry's env and every new one.
    pub taken: Vec<String>,
    /// What the entry now starts through, when not `mcp-warden run`.
    pub via: Option<&'static str>,
    /// The entry's arguments as they will be written.
    args: Vec<String>,
    /// The child's arguments become templates (`run --expand-args`).
    expand: bool,
    /// Arguments already written as templates.
    templated: Vec<usize>,
    /// Headers for a headersHelper (name, template) and the members they replace.
    helper_headers: Vec<(String, String)>,
    header_removals: Vec<String>,
}

impl Draft {
    pub fn add(
        &mut self,
        ctx: &Ctx<'_>,
        var: &str,
        value: &str,
        f: &Finding,
    ) -> Result<(), String> {
        self.secrets.push(Secret {
            var: var.to_string(),
            reference: ctx.reference(var)?,
            value: SecretValue::from_slice(value.as_bytes()),
            masked: f.masked.display(),
        });
        Ok(())
    }

    /// `VAR=REF` for every secret so far.
    pub fn assignments(&self) -> Vec<String> {
        self.secrets
            .iter()
            .map(|s| format!("{}={}", s.var, s.reference))
            .collect()
    }

    fn fresh_var(&mut self, base: &str) -> String {
        let var = unique(base, &self.taken);
        self.taken.push(var.clone());
        var
    }
}

/// Plans one entry with findings.
pub(super) fn plan(
    cfg: &ConfigFile,
    server: &Server,
    findings: &[Finding],
    original: &[u8],
    opts: &Options<'_>,
) -> Result<Planned, String> {
    let ctx = Ctx {
        cfg,
        server,
        opts,
        stdio: server.command.is_some(),
        existing: existing_run(server),
    };
    let mut d = Draft {
        taken: server.env.iter().map(|(k, _)| k.clone()).collect(),
        args: server.args.iter().map(|a| a.value.clone()).collect(),
        ..Draft::default()
    };
    if remote::connects(&ctx) {
        remote::entry(&ctx, &mut d, findings, original)?;
        return Ok(finish(&ctx, d));
    }
    if ctx.stdio && ctx.existing.is_none() && bridge_to_connect(&ctx, &mut d, findings, original)? {
        return Ok(finish(&ctx, d));
    }
    field_secrets(&ctx, &mut d, findings)?;
    argument_secrets(&ctx, &mut d, findings)?;
    if d.secrets.is_empty() {
        return Ok(finish(&ctx, d));
    }
    escape_literal_args(&ctx, &mut d);
    if d.helper_headers.is_empty() {
        rewrite_launch(&ctx, &mut d, original)?;
    } else {
        header_helper(&ctx, &mut d);
    }
    Ok(finish(&ctx, d))
}

/// The entry plan (none when no secret moves) and what stays.
fn finish(ctx: &Ctx<'_>, d: Draft) -> Planned {
    if d.secrets.is_empty() {
        return Planned {
            entry: None,
            skipped: d.skipped,
        };
    }
    let n = d.secrets.len();
    let via = d.via.map(|v| format!(" (through {v})")).unwrap_or_default();
    let summary = format!(
        "{n} secret{} to {}://{via}",
        if n == 1 { "" } else { "s" },
        ctx.opts.target.scheme()
    );
    Planned {
        entry: Some(EntryPlan {
            server: ctx.server.name.clone(),
            pointer: ctx.server.pointer.clone(),
            secrets: d.secrets,
            edits: d.edits,
            summary,
            import: None,
        }),
        skipped: d.skipped,
    }
}

/// A header bridge (mcp-remote, supergateway, mcp-proxy) whose command line
/// is fully understood starts `mcp-warden connect` instead, so no header is
/// in any argv. `false` (nothing planned) when it is not such an entry or
/// connect cannot carry it: the entry then goes through `run`.
fn bridge_to_connect(
    ctx: &Ctx<'_>,
    d: &mut Draft,
    findings: &[Finding],
    original: &[u8],
) -> Result<bool, String> {
    let Some(ep) = bridge::endpoint(ctx.server, findings) else {
        return Ok(false);
    };
    let mut taken = d.taken.clone();
    let Ok(t) = connect::templates(&ep, &mut taken) else {
        return Ok(false);
    };
    let Some(shape) = argv_shape(ctx.server, ctx.cfg.location.format, original) else {
        return Ok(false);
    };
    d.taken = taken;
    for m in &t.moved {
        d.add(ctx, &m.var, m.value, m.finding)?;
    }
    let mut argv = vec![ctx.opts.warden.to_string()];
    argv.extend(connect::argv(&t, d.assignments(), ep.sse));
    d.edits
        .extend(argv_edits(&shape, &ctx.server.pointer, &argv));
    d.via = Some("mcp-warden connect");
    Ok(true)
}

/// Phase 1: secrets in env and headers; URL and client-field secrets are reported.
fn field_secrets(ctx: &Ctx<'_>, d: &mut Draft, findings: &[Finding]) -> Result<(), String> {
    for f in findings {
        match &f.site {
            Site::Env(name) => env_secret(ctx, d, f, name)?,
            Site::Header(name) => header_secret(ctx, d, f, name)?,
            Site::Url => d.skipped.push(ctx.skip(
                f,
                "the secret is part of the server URL, which a headersHelper cannot fill: \
                 protect with --remote-style connect (the default), or move it to a header",
            )),
            Site::Credential(key) => d.skipped.push(ctx.skip(
                f,
                &format!(
                    "{key} is read by the client itself, not passed to a server process, so \
                     mcp-warden cannot fill it at launch; keep it in the client's own secret storage"
                ),
            )),
            Site::Arg(_) => {}
        }
    }
    Ok(())
}

fn env_secret(ctx: &Ctx<'_>, d: &mut Draft, f: &Finding, name: &str) -> Result<(), String> {
    if !ctx.stdio {
        d.skipped
            .push(ctx.skip(f, "env of a remote entry is not used by the client"));
        return Ok(());
    }
    let Some((_, at)) = ctx.server.env.iter().find(|(k, _)| k == name) else {
        return Ok(());
    };
    if d.secrets.iter().any(|s| s.var == name) {
        return Ok(());
    }
    d.add(ctx, name, &at.value, f)?;
    d.edits.push(Edit::Remove {
        pointer: at.pointer.clone(),
    });
    Ok(())
}

fn header_secret(ctx: &Ctx<'_>, d: &mut Draft, f: &Finding, name: &str) -> Result<(), String> {
    let client = ctx.cfg.location.client;
    if client != "claude-code" || ctx.server.headers_helper.is_some() {
        let why = if client == "claude-code" && ctx.server.headers_helper.is_some() {
            "the entry already has a headersHelper; add the header there".to_string()
        } else if ctx.stdio {
            "headers of a stdio entry are not sent anywhere; remove them".to_string()
        } else {
            "the entry has headers but no URL to connect to; fix the entry first".to_string()
        };
        d.skipped.push(ctx.skip(f, &why));
        return Ok(());
    }
    let Some((_, at)) = ctx.server.headers.iter().find(|(k, _)| k == name) else {
        return Ok(());
    };
    let var = d.fresh_var(&var_name(name));
    let secret = secret_slice(at, f)?;
    d.add(ctx, &var, secret, f)?;
    d.helper_headers.push((
        name.to_string(),
        templated_at(&at.value, f.range.clone(), &var),
    ));
    d.header_removals.push(at.pointer.clone());
    Ok(())
}

/// Phase 2: argument secrets, one argument (with all its hits) at a time.
fn argument_secrets(ctx: &Ctx<'_>, d: &mut Draft, findings: &[Finding]) -> Result<(), String> {
    let mut hits: Vec<&Finding> = findings
        .iter()
        .filter(|f| matches!(f.site, Site::Arg(_)))
        .collect();
    hits.sort_by_key(|f| (site_index(f), f.range.start));
    let mut i = 0;
    while i < hits.len() {
        let index = site_index(hits[i]);
        let group: Vec<&Finding> = hits[i..]
            .iter()
            .take_while(|f| site_index(f) == index)
            .copied()
            .collect();
        i += group.len();
        argument_group(ctx, d, index, &group)?;
    }
    Ok(())
}

fn argument_group(
    ctx: &Ctx<'_>,
    d: &mut Draft,
    index: usize,
    group: &[&Finding],
) -> Result<(), String> {
    let first = group[0];
    let located = ctx
        .server
        .args
        .get(index)
        .filter(|a| a.pointer == first.pointer && ctx.stdio);
    let Some(at) = located else {
        // A whole command line in `command`: cannot be split safely.
        d.skipped.extend(group.iter().map(|f| {
            ctx.skip(
                f,
                "the secret is inside `command`; split the command line into command and args first",
            )
        }));
        return Ok(());
    };
    if ctx.existing.as_ref().is_some_and(|r| index < r.child_from) {
        d.skipped.extend(group.iter().map(|f| {
            ctx.skip(
                f,
                "the secret is among mcp-warden run's own arguments; put a reference there by hand",
            )
        }));
        return Ok(());
    }
    let argv = posture::argv(ctx.server);
    if group.len() == 1 && docker_env_flag(&argv, index + 1) {
        return docker_env(ctx, d, index, at, first);
    }
    let bridge_env = group.len() == 1
        && PASS_DOLLAR_BRACES.contains(&ctx.cfg.location.client)
        && mcp_remote_header(&argv, index + 1);
    if bridge_env {
        return bridge_header_env(ctx, d, index, at, first);
    }
    template_argument(ctx, d, index, at, group)
}

/// `docker run -e K=V`: the container takes K from docker's environment instead.
fn docker_env(
    ctx: &Ctx<'_>,
    d: &mut Draft,
    index: usize,
    at: &Located,
    f: &Finding,
) -> Result<(), String> {
    let whole_value = at.value.split_once('=').filter(|(k, v)| {
        !k.is_empty()
            && f.range.start == k.len() + 1
            && f.range.end == at.value.len()
            && !v.is_empty()
    });
    let Some((k, v)) = whole_value else {
        return template_argument(ctx, d, index, at, &[f]);
    };
    if d.taken.iter().any(|t| t == k) {
        d.skipped
            .push(ctx.skip(f, "the variable is also set in env; remove one of them"));
        return Ok(());
    }
    d.taken.push(k.to_string());
    d.add(ctx, k, v, f)?;
    d.args[index] = k.to_string();
    Ok(())
}

/// mcp-remote's `--header "Name: ...V..."`: V becomes `${VAR}`, which
/// mcp-remote expands from its environment, where `run` puts the value; the
/// value never appears in an argv.
fn bridge_header_env(
    ctx: &Ctx<'_>,
    d: &mut Draft,
    index: usize,
    at: &Located,
    f: &Finding,
) -> Result<(), String> {
    let args: Vec<&str> = ctx.server.args.iter().map(|a| a.value.as_str()).collect();
    let var = d.fresh_var(&arg_var(&args, index, f.range.start));
    let secret = secret_slice(at, f)?;
    let (Some(head), Some(tail)) = (at.value.get(..f.range.start), at.value.get(f.range.end..))
    else {
        return Err("the secret could not be located in its value".into());
    };
    d.add(ctx, &var, secret, f)?;
    d.args[index] = format!("{head}${{{var}}}{tail}");
    Ok(())
}

/// Every hit becomes `%{VAR}`, filled at launch by `run --expand-args`; the
/// text between hits is escaped once.
fn template_argument(
    ctx: &Ctx<'_>,
    d: &mut Draft,
    index: usize,
    at: &Located,
    group: &[&Finding],
) -> Result<(), String> {
    let args: Vec<&str> = ctx.server.args.iter().map(|a| a.value.as_str()).collect();
    // In a run that already expands, the argument is a template already.
    let literal = |s: &str| {
        if ctx.existing.as_ref().is_some_and(|r| r.expanding) {
            s.to_string()
        } else {
            template::escape(s)
        }
    };
    let mut tpl = String::new();
    let mut pos = 0;
    for f in group {
        let (Some(head), Ok(secret)) = (at.value.get(pos..f.range.start), secret_slice(at, f))
        else {
            d.skipped
                .push(ctx.skip(f, "overlapping findings in one argument"));
            continue;
        };
        let var = d.fresh_var(&arg_var(&args, index, f.range.start));
        tpl.push_str(&literal(head));
        tpl.push_str(&format!("%{{{var}}}"));
        d.add(ctx, &var, secret, f)?;
        pos = f.range.end;
    }
    tpl.push_str(&literal(at.value.get(pos..).unwrap_or_default()));
    d.args[index] = tpl;
    d.templated.push(index);
    d.expand = true;
    Ok(())
}

/// Phase 3: with `--expand-args` every child argument is a template: the
/// others are escaped so they stay literal (unless the run already expanded).
fn escape_literal_args(ctx: &Ctx<'_>, d: &mut Draft) {
    let (child_from, expanding) = ctx
        .existing
        .as_ref()
        .map_or((0, false), |r| (r.child_from, r.expanding));
    if !d.expand || expanding {
        return;
    }
    for (j, a) in d.args.iter_mut().enumerate().skip(child_from) {
        if !d.templated.contains(&j) {
            *a = template::escape(a);
        }
    }
}

/// Phase 4: the entry launches `mcp-warden run [--expand-args] VAR=REF... -- original`
/// (or, already wrapped, its run gains the new assignments).
fn rewrite_launch(ctx: &Ctx<'_>, d: &mut Draft, original: &[u8]) -> Result<(), String> {
    let shape: ArgvShape = argv_shape(ctx.server, ctx.cfg.location.format, original)
        .ok_or_else(|| "the entry has no command".to_string())?;
    let command = ctx
        .server
        .command
        .as_ref()
        .map(|c| c.value.clone())
        .unwrap_or_default();
    let assignments = d
        .secrets
        .iter()
        .map(|s| format!("{}={}", s.var, s.reference));
    let mut new_argv = vec![ctx.opts.warden.to_string(), "run".to_string()];
    match &ctx.existing {
        Some(run) => {
            // Already ours: add the new assignments to the existing run.
            if d.expand && !run.expanding {
                new_argv.push("--expand-args".to_string());
            }
            new_argv.extend(assignments);
            new_argv.extend(d.args[1..].iter().cloned());
        }
        None => {
            if d.expand {
                new_argv.push("--expand-args".to_string());
            }
            new_argv.extend(assignments);
            new_argv.push("--".to_string());
            new_argv.push(command);
            new_argv.extend(d.args.iter().cloned());
        }
    }
    d.edits
        .extend(argv_edits(&shape, &ctx.server.pointer, &new_argv));
    Ok(())
}

/// Phase 4 for a Claude Code remote entry: a headersHelper running
/// `mcp-warden headers` fetches the headers when Claude Code connects.
fn header_helper(ctx: &Ctx<'_>, d: &mut Draft) {
    let mut cmd = vec![shell_quote(ctx.opts.warden), "headers".to_string()];
    for (name, tpl) in &d.helper_headers {
        cmd.push("-H".to_string());
        cmd.push(shell_quote(&format!("{name}: {tpl}")));
    }
    for s in &d.secrets {
        cmd.push(shell_quote(&format!("{}={}", s.var, s.reference)));
    }
    for p in d.header_removals.drain(..) {
        d.edits.push(Edit::Remove { pointer: p });
    }
    d.edits.push(Edit::Insert {
        pointer: ctx.server.pointer.clone(),
        key: "headersHelper".to_string(),
        value: Value::String(cmd.join(" ")),
        before: None,
    });
}

fn site_index(f: &Finding) -> usize {
    match f.site {
        Site::Arg(i) => i,
        _ => 0,
    }
}

/// The secret part of a located value.
fn secret_slice<'a>(at: &'a Located, f: &Finding) -> Result<&'a str, String> {
    at.value
        .get(f.range.clone())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| "the secret could not be located in its value".to_string())
}

/// `value` with the bytes at `range` replaced by `%{VAR}` and every other `%{` escaped.
fn templated_at(value: &str, range: std::ops::Range<usize>, var: &str) -> String {
    match (value.get(..range.start), value.get(range.end..)) {
        (Some(head), Some(tail)) => format!(
            "{}%{{{var}}}{}",
            template::escape(head),
            template::escape(tail)
        ),
        _ => template::escape(value),
    }
}

/// POSIX single-quoting for the shell Claude Code runs `headersHelper` with.
pub fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:@%+,".contains(&b))
    {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_quotes() {
        assert_eq!(
            templated_at("--api-key=abc", 10..13, "API_KEY"),
            "--api-key=%{API_KEY}"
        );
        assert_eq!(templated_at("%{x} abc", 5..8, "K"), "%%{x} %{K}");
        assert_eq!(shell_quote("local://a/b"), "local://a/b");
        assert_eq!(
            shell_quote("Authorization: Bearer %{T}"),
            "'Authorization: Bearer %{T}'"
        );
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
