//! Planning: from one parsed config file and its findings, which secrets go
//! where and which edits rewrite each entry to start through `mcp-warden run`.
//!
//! Pure: reads no file, contacts no backend. What cannot be protected is
//! returned with the reason, never silently dropped.

use super::naming::{Target, unique, var_name};
use crate::clients::edit::{self, Edit, Value};
use crate::clients::{ConfigFile, Format, Located, Server};
use crate::reference::SecretRef;
use crate::scan::finding::{Finding, Site};
use crate::scan::{posture, runner, server_findings};
use crate::secret::SecretValue;
use crate::template;

/// One secret to store before any config points at it.
pub struct Secret {
    pub var: String,
    pub reference: SecretRef,
    pub value: SecretValue,
    /// Shown instead of the value in diffs and messages.
    pub masked: String,
}

/// The rewrite of one server entry.
pub struct EntryPlan {
    pub server: String,
    /// Pointer to the entry object.
    pub pointer: String,
    pub secrets: Vec<Secret>,
    pub edits: Vec<Edit>,
    /// What this does, for people: "2 secrets to local://", "wrapper converted".
    pub summary: String,
}

/// A secret left in place, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub server: String,
    pub site: String,
    pub reason: String,
}

/// Everything to do in one file.
pub struct FilePlan {
    pub entries: Vec<EntryPlan>,
    pub skipped: Vec<Skipped>,
}

/// Options that shape a plan.
pub struct Options<'a> {
    pub target: &'a Target,
    /// The command written into configs (absolute path of mcp-warden).
    pub warden: &'a str,
    pub convert_wrappers: bool,
    /// Only these servers (all when empty).
    pub servers: &'a [String],
}

/// Plans `cfg` (read from `original`).
pub fn plan_file(cfg: &ConfigFile, original: &[u8], opts: &Options<'_>) -> FilePlan {
    let mut plan = FilePlan {
        entries: Vec::new(),
        skipped: Vec::new(),
    };
    for server in &cfg.servers {
        if !opts.servers.is_empty() && !opts.servers.contains(&server.name) {
            continue;
        }
        let findings = server_findings(server);
        if findings.is_empty() {
            if opts.convert_wrappers
                && let Some(entry) = convert_wrapper(cfg, server, original, opts)
            {
                plan.entries.push(entry);
            }
            continue;
        }
        match plan_server(cfg, server, &findings, original, opts) {
            Ok((entry, skipped)) => {
                plan.entries.extend(entry);
                plan.skipped.extend(skipped);
            }
            Err(reason) => plan.skipped.extend(findings.iter().map(|f| Skipped {
                server: server.name.clone(),
                site: f.site.describe(),
                reason: reason.clone(),
            })),
        }
    }
    for (key, _) in &cfg.credentials {
        plan.skipped.push(Skipped {
            server: String::new(),
            site: format!("field {key}"),
            reason: format!(
                "a token cache written by {}, not a config: revoke the token and sign in again instead",
                cfg.location.client
            ),
        });
    }
    plan.skipped.retain(|s| {
        // Token-store fields are only worth a line when the scan found something in them.
        !s.server.is_empty()
            || cfg
                .credentials
                .iter()
                .any(|(k, _)| s.site.ends_with(k.as_str()))
    });
    plan
}

/// The launch argv of an entry and how to write it back.
enum ArgvShape {
    /// `command` + `args` (args pointer, whether the key exists).
    Split {
        command: String,
        args: String,
        args_exist: bool,
    },
    /// One argv array (opencode `command: [...]`), at this pointer.
    Array(String),
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(p, _)| p)
}

fn argv_shape(server: &Server, format: Format, original: &[u8]) -> Option<ArgvShape> {
    let command = server.command.as_ref()?;
    if command.pointer.ends_with("/0") {
        let array = parent(&command.pointer).to_string();
        if server
            .args
            .iter()
            .enumerate()
            .all(|(i, a)| a.pointer == format!("{array}/{}", i + 1))
        {
            return Some(ArgvShape::Array(array));
        }
    }
    let args = match server.args.first() {
        Some(a) => parent(&a.pointer).to_string(),
        None => format!("{}/args", server.pointer),
    };
    let args_exist = !server.args.is_empty() || edit::span(format, original, &args).is_ok();
    Some(ArgvShape::Split {
        command: command.pointer.clone(),
        args,
        args_exist,
    })
}

/// The edits that make the entry launch `new_argv` (warden first).
fn argv_edits(shape: &ArgvShape, entry: &str, new_argv: &[String]) -> Vec<Edit> {
    match shape {
        ArgvShape::Array(p) => vec![Edit::Set {
            pointer: p.clone(),
            value: Value::StringArray(new_argv.to_vec()),
        }],
        ArgvShape::Split {
            command,
            args,
            args_exist,
        } => {
            let mut edits = vec![Edit::Set {
                pointer: command.clone(),
                value: Value::String(new_argv[0].clone()),
            }];
            let rest = Value::StringArray(new_argv[1..].to_vec());
            edits.push(if *args_exist {
                Edit::Set {
                    pointer: args.clone(),
                    value: rest,
                }
            } else {
                Edit::Insert {
                    pointer: entry.to_string(),
                    key: "args".to_string(),
                    value: rest,
                    before: None,
                }
            });
            edits
        }
    }
}

/// `"-e", "K=V"` among docker/podman's own options (before the image): the
/// value can come from docker's environment instead. After the image, `-e` is
/// the container command's own argument and is left alone.
fn docker_env_flag(argv: &[&str], index: usize) -> bool {
    // The runner may sit behind a wrapper (`mcp-warden run ... -- docker run ...`).
    let mut start = 0;
    for _ in 0..8 {
        let rest = &argv[start..];
        if let Some(l) = runner::package_runner(rest)
            && l.kind == runner::PackageKind::Image
        {
            let image = start + l.index;
            return index >= 1 && index < image && matches!(argv[index - 1], "-e" | "--env");
        }
        match runner::wrapper(rest).and_then(|w| w.inner) {
            Some(i) => start += i,
            None => return false,
        }
    }
    false
}

/// A variable name for a secret found in argument `index` of `args`.
fn arg_var(args: &[&str], index: usize, start: usize) -> String {
    let arg = args[index];
    let head = &arg[..start];
    if let Some((flag, _)) = head.split_once('=')
        && flag.starts_with('-')
    {
        return var_name(flag);
    }
    if let Some((k, _)) = head.split_once('=')
        && !k.is_empty()
        && index > 0
        && matches!(args[index - 1], "-e" | "--env")
    {
        return var_name(k);
    }
    if let Some((name, _)) = head.split_once(':') {
        return var_name(name);
    }
    if index > 0 && args[index - 1].starts_with('-') && head.is_empty() {
        return var_name(args[index - 1]);
    }
    format!("ARG_{index}")
}

type Planned = (Option<EntryPlan>, Vec<Skipped>);

fn plan_server(
    cfg: &ConfigFile,
    server: &Server,
    findings: &[Finding],
    original: &[u8],
    opts: &Options<'_>,
) -> Result<Planned, String> {
    let client = cfg.location.client;
    let scope = cfg.location.scope.as_str();
    let mut skipped = Vec::new();
    let mut secrets: Vec<Secret> = Vec::new();
    let mut edits: Vec<Edit> = Vec::new();
    let mut taken: Vec<String> = server.env.iter().map(|(k, _)| k.clone()).collect();
    let make_ref = |var: &str| opts.target.reference(client, &server.name, var, scope);

    let stdio = server.command.is_some();
    let mut args: Vec<String> = server.args.iter().map(|a| a.value.clone()).collect();
    let arg_strs: Vec<&str> = server.args.iter().map(|a| a.value.as_str()).collect();
    let full_argv: Vec<&str> = posture::argv(server);
    let mut expand = false;
    let mut header_helper: Vec<(String, String)> = Vec::new();
    let mut header_removals: Vec<String> = Vec::new();

    // Argument hits, grouped by argument, in order.
    let mut arg_hits: Vec<&Finding> = findings
        .iter()
        .filter(|f| matches!(f.site, Site::Arg(_)))
        .collect();
    arg_hits.sort_by_key(|f| (site_index(f), f.range.start));

    for f in findings {
        match &f.site {
            Site::Env(name) => {
                if !stdio {
                    skipped.push(skip(server, f, "env of a remote entry is not used by the client"));
                    continue;
                }
                let Some((_, at)) = server.env.iter().find(|(k, _)| k == name) else {
                    continue;
                };
                if secrets.iter().any(|s| s.var == *name) {
                    continue;
                }
                secrets.push(Secret {
                    var: name.clone(),
                    reference: make_ref(name)?,
                    value: SecretValue::from_slice(at.value.as_bytes()),
                    masked: f.masked.display(),
                });
                edits.push(Edit::Remove {
                    pointer: at.pointer.clone(),
                });
            }
            Site::Arg(_) => {}
            Site::Header(name) => {
                let helper_ok = client == "claude-code" && server.headers_helper.is_none();
                if !helper_ok {
                    let why = if client == "claude-code" {
                        "the entry already has a headersHelper; add the header there".to_string()
                    } else {
                        format!(
                            "{client} has no header helper command to fetch it at connect time \
                             (only Claude Code's headersHelper is supported); not protectable yet"
                        )
                    };
                    skipped.push(skip(server, f, &why));
                    continue;
                }
                let Some((_, at)) = server.headers.iter().find(|(k, _)| k == name) else {
                    continue;
                };
                let var = unique(&var_name(name), &taken);
                taken.push(var.clone());
                let secret_text = secret_slice(at, f)?;
                let tpl = templated_at(&at.value, f.range.clone(), &var);
                secrets.push(Secret {
                    var: var.clone(),
                    reference: make_ref(&var)?,
                    value: SecretValue::from_slice(secret_text.as_bytes()),
                    masked: f.masked.display(),
                });
                header_helper.push((name.clone(), tpl));
                header_removals.push(at.pointer.clone());
            }
            Site::Url => skipped.push(skip(
                server,
                f,
                "the secret is part of the server URL: move it to a header if the server accepts one",
            )),
            Site::Credential(_) => {}
        }
    }

    let mut templated_args: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < arg_hits.len() {
        let index = site_index(arg_hits[i]);
        let group: Vec<&Finding> = arg_hits[i..]
            .iter()
            .take_while(|f| site_index(f) == index)
            .copied()
            .collect();
        i += group.len();
        let first = group[0];
        let located = server
            .args
            .get(index)
            .filter(|a| a.pointer == first.pointer);
        let Some(at) = located.filter(|_| stdio) else {
            // A whole command line in `command`: cannot be split safely.
            skipped.extend(group.iter().map(|f| {
                skip(
                    server,
                    f,
                    "the secret is inside `command`; split the command line into command and args first",
                )
            }));
            continue;
        };
        // docker run -e K=V: the container takes K from the environment instead.
        if group.len() == 1
            && docker_env_flag(&full_argv, index + 1)
            && let Some((k, v)) = at.value.split_once('=')
            && first.range.start == k.len() + 1
            && first.range.end == at.value.len()
            && !k.is_empty()
        {
            if taken.iter().any(|t| t == k) {
                skipped.push(skip(
                    server,
                    first,
                    "the variable is also set in env; remove one of them",
                ));
                continue;
            }
            taken.push(k.to_string());
            secrets.push(Secret {
                var: k.to_string(),
                reference: make_ref(k)?,
                value: SecretValue::from_slice(v.as_bytes()),
                masked: first.masked.display(),
            });
            args[index] = k.to_string();
            continue;
        }
        // Every hit becomes %{VAR}; the text between them is escaped once.
        let mut tpl = String::new();
        let mut pos = 0;
        for f in &group {
            let (Some(head), Some(secret)) =
                (at.value.get(pos..f.range.start), secret_slice(at, f).ok())
            else {
                skipped.push(skip(server, f, "overlapping findings in one argument"));
                continue;
            };
            let var = unique(&arg_var(&arg_strs, index, f.range.start), &taken);
            taken.push(var.clone());
            tpl.push_str(&template::escape(head));
            tpl.push_str(&format!("%{{{var}}}"));
            secrets.push(Secret {
                var: var.clone(),
                reference: make_ref(&var)?,
                value: SecretValue::from_slice(secret.as_bytes()),
                masked: f.masked.display(),
            });
            pos = f.range.end;
        }
        tpl.push_str(&template::escape(at.value.get(pos..).unwrap_or_default()));
        args[index] = tpl;
        templated_args.push(index);
        expand = true;
    }
    let ours = server
        .command
        .as_ref()
        .is_some_and(|c| runner::program_name(&c.value) == "mcp-warden")
        && args.first().map(String::as_str) == Some("run");
    // The server's own arguments: all of them, or those after an existing run's `--`.
    let child_from = if ours {
        args.iter()
            .position(|a| a == "--")
            .map_or(args.len(), |i| i + 1)
    } else {
        0
    };
    let already_expanding = ours && args[..child_from].iter().any(|a| a == "--expand-args");
    if expand && !already_expanding {
        // With --expand-args every argument is a template: keep the others literal.
        for (j, a) in args.iter_mut().enumerate().skip(child_from) {
            if !templated_args.contains(&j) {
                *a = template::escape(a);
            }
        }
    }

    if secrets.is_empty() {
        return Ok((None, skipped));
    }

    let assignments: Vec<String> = secrets
        .iter()
        .map(|s| format!("{}={}", s.var, s.reference))
        .collect();

    if !header_helper.is_empty() {
        // Remote entry: headersHelper fetches the headers when Claude Code connects.
        let mut cmd = vec![shell_quote(opts.warden), "headers".to_string()];
        for (name, tpl) in &header_helper {
            cmd.push("-H".to_string());
            cmd.push(shell_quote(&format!("{name}: {tpl}")));
        }
        for s in &secrets {
            cmd.push(shell_quote(&format!("{}={}", s.var, s.reference)));
        }
        for p in header_removals {
            edits.push(Edit::Remove { pointer: p });
        }
        edits.push(Edit::Insert {
            pointer: server.pointer.clone(),
            key: "headersHelper".to_string(),
            value: Value::String(cmd.join(" ")),
            before: None,
        });
    } else {
        let shape = argv_shape(server, cfg.location.format, original)
            .ok_or_else(|| "the entry has no command".to_string())?;
        let command = server
            .command
            .as_ref()
            .map(|c| c.value.clone())
            .unwrap_or_default();
        let mut new_argv = vec![opts.warden.to_string()];
        let wrapped = runner::program_name(&command) == "mcp-warden"
            && args.first().map(String::as_str) == Some("run");
        if wrapped {
            // Already ours: add the new assignments to the existing run.
            new_argv.push("run".to_string());
            if expand && !args.iter().any(|a| a == "--expand-args") {
                new_argv.push("--expand-args".to_string());
            }
            new_argv.extend(assignments.iter().cloned());
            new_argv.extend(args[1..].iter().cloned());
        } else {
            new_argv.push("run".to_string());
            if expand {
                new_argv.push("--expand-args".to_string());
            }
            new_argv.extend(assignments.iter().cloned());
            new_argv.push("--".to_string());
            new_argv.push(command);
            new_argv.extend(args.iter().cloned());
        }
        edits.extend(argv_edits(&shape, &server.pointer, &new_argv));
    }

    let summary = format!(
        "{} secret{} to {}://",
        secrets.len(),
        if secrets.len() == 1 { "" } else { "s" },
        opts.target.scheme()
    );
    Ok((
        Some(EntryPlan {
            server: server.name.clone(),
            pointer: server.pointer.clone(),
            secrets,
            edits,
            summary,
        }),
        skipped,
    ))
}

fn site_index(f: &Finding) -> usize {
    match f.site {
        Site::Arg(i) => i,
        _ => 0,
    }
}

fn skip(server: &Server, f: &Finding, reason: &str) -> Skipped {
    Skipped {
        server: server.name.clone(),
        site: f.site.describe(),
        reason: reason.to_string(),
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

/// `--convert-wrappers`: an mcp-secret-wrapper entry becomes `mcp-warden run`
/// with the same references (and VAULT_* settings as flags).
fn convert_wrapper(
    cfg: &ConfigFile,
    server: &Server,
    original: &[u8],
    opts: &Options<'_>,
) -> Option<EntryPlan> {
    let argv = posture::argv(server);
    let w = runner::wrapper(&argv)?;
    if w.name != "mcp-secret-wrapper" {
        return None;
    }
    // Where the wrapper's own arguments start: after the package spec (npx ... PKG).
    let start = match runner::package_runner(&argv) {
        Some(l) => l.index + 1,
        None => 1,
    };
    let mut new_argv = vec![opts.warden.to_string(), "run".to_string()];
    let mut edits = Vec::new();
    for (key, flag) in [
        ("VAULT_TYPE", "--vault-type"),
        ("VAULT_REGION", "--vault-region"),
        ("VAULT_PROFILE", "--vault-profile"),
    ] {
        if let Some((_, at)) = server.env.iter().find(|(k, _)| k == key) {
            let explicit = argv[start..]
                .iter()
                .take_while(|a| **a != "--")
                .any(|a| a.starts_with(flag));
            if !explicit {
                new_argv.push(format!("{flag}={}", at.value));
            }
            edits.push(Edit::Remove {
                pointer: at.pointer.clone(),
            });
        }
    }
    new_argv.extend(argv[start..].iter().map(|s| s.to_string()));
    let shape = argv_shape(server, cfg.location.format, original)?;
    edits.extend(argv_edits(&shape, &server.pointer, &new_argv));
    Some(EntryPlan {
        server: server.name.clone(),
        pointer: server.pointer.clone(),
        secrets: Vec::new(),
        edits,
        summary: "mcp-secret-wrapper converted to mcp-warden run".to_string(),
    })
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
        assert_eq!(arg_var(&["--api-key=abc"], 0, 10), "API_KEY");
        assert_eq!(arg_var(&["--token", "abc"], 1, 0), "TOKEN");
        assert_eq!(arg_var(&["-e", "GH=abc"], 1, 3), "GH");
        assert_eq!(
            arg_var(&["--header", "Authorization: Bearer abc"], 1, 22),
            "AUTHORIZATION"
        );
        assert_eq!(arg_var(&["x", "abc"], 1, 0), "ARG_1");
    }
}
