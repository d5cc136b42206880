//! The secret references a client entry names through its wrapper: the
//! `NAME=REF` assignments of `mcp-warden run` (or mcp-secret-wrapper) in its
//! command line, with the entry's `VAULT_*` defaults, and those of an
//! `mcp-warden headers` call in its `headersHelper`, and the `NAME=REF`
//! arguments of `mcp-warden connect`.
//!
//! Owns finding the wrapper's own arguments in an entry and turning them
//! into requests; reading `run`'s and `connect`'s options is the caller's
//! ([`Parsers`], the same command-line definitions the verbs use, so the
//! two never disagree).
//! Reads the entry only: never resolves a reference.

use super::assign::{requests, vault_scheme};
use super::wrapper::Wrapper;
use crate::clients::Server;
use crate::reference::Scheme;
use crate::resolve::Request;
use crate::scan::{posture, runner};

/// `run`'s options as its command line gives them: the assignments, and the
/// mcp-secret-wrapper options when given.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub assignments: Vec<String>,
    pub vault_type: Option<String>,
    pub vault_region: Option<String>,
    pub vault_profile: Option<String>,
    /// mcp-secret-wrapper's other parameters, `NAME=VALUE` (`--vault-param`).
    pub vault_params: Vec<String>,
}

/// Reads a wrapper's own arguments as `run`'s command line; `None` when
/// `run` would refuse them.
pub type RunParser<'a> = &'a dyn Fn(&[&str]) -> Option<RunOptions>;

/// Reads `connect`'s arguments (after `connect`) as its command line does
/// and gives its `NAME=REF` arguments; `None` when connect would refuse them.
pub type ConnectParser<'a> = &'a dyn Fn(&[&str]) -> Option<Vec<String>>;

/// How the caller reads the wrappers' command lines (the CLI's own definitions).
#[derive(Clone, Copy)]
pub struct Parsers<'a> {
    pub run: RunParser<'a>,
    pub connect: ConnectParser<'a>,
}

/// What an entry names: the references, and why an argument that should
/// name one does not (never a value: variable names and positions only).
#[derive(Debug, Default)]
pub struct EntryReferences {
    pub requests: Vec<Request>,
    pub problems: Vec<String>,
}

/// The references an entry's `mcp-warden run` (or mcp-secret-wrapper, or
/// `mcp-warden connect`, or `mcp-warden headers`) invocation names;
/// `parsers` read the wrapper's own arguments as its command line would.
pub fn references(server: &Server, parsers: Parsers<'_>) -> EntryReferences {
    let argv = posture::argv(server);
    let mut out = Vec::new();
    let mut problems = Vec::new();
    if runner::program_name(argv.first().copied().unwrap_or_default()) == "mcp-warden"
        && argv.get(1) == Some(&"connect")
    {
        let found = connect_references(&argv[2..], parsers.connect);
        out.extend(found.requests);
        problems.extend(found.problems);
    } else if let Some(w) = runner::wrapper(&argv)
        && matches!(w.name, "mcp-warden" | "mcp-secret-wrapper")
    {
        // Where the wrapper's own arguments start.
        let start = match runner::package_runner(&argv) {
            Some(l) => l.index + 1,
            None => 1 + usize::from(argv.get(1) == Some(&"run")),
        };
        let ours: Vec<&str> = argv[start..]
            .iter()
            .take_while(|a| **a != "--")
            .copied()
            .collect();
        let env_of = |k: &str| {
            server
                .env
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.value.clone())
        };
        out.extend(run_references(&ours, parsers.run, &env_of));
    }
    if let Some(h) = &server.headers_helper
        && h.value.contains("mcp-warden")
        && h.value.contains(" headers")
    {
        let words = shell_words(&h.value);
        let assignments: Vec<String> = words
            .iter()
            .skip_while(|w| *w != "headers")
            .filter(|w| !w.starts_with('-') && w.contains('=') && !w.contains(": "))
            .cloned()
            .collect();
        if let Ok(reqs) = requests(&assignments, Scheme::Local) {
            out.extend(reqs);
        }
    }
    EntryReferences {
        requests: out,
        problems,
    }
}

/// The `NAME=REF` arguments of `mcp-warden connect URL NAME=REF... [options]`
/// as connect reads them (option values are not assignments); each one is
/// read on its own, so one bad reference does not hide the others.
fn connect_references(args: &[&str], parse: ConnectParser<'_>) -> EntryReferences {
    let mut found = EntryReferences::default();
    let Some(assignments) = parse(args) else {
        found
            .problems
            .push("connect would refuse its command line; no reference is read from it".into());
        return found;
    };
    for (n, a) in assignments.iter().enumerate() {
        match requests(std::slice::from_ref(a), Scheme::Local) {
            Ok(reqs) => found.requests.extend(reqs),
            Err(_) => {
                // The text may be a pasted value: name the variable only.
                let name = a.split_once('=').map_or("", |(n, _)| n);
                let shown = if is_var_name(name) {
                    name.to_string()
                } else {
                    format!("argument {}", n + 1)
                };
                found.problems.push(format!(
                    "connect's {shown} is not a reference mcp-warden can read"
                ));
            }
        }
    }
    found
}

fn is_var_name(n: &str) -> bool {
    n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `run`'s options, read by `parse_run`; the entry's own `VAULT_*` env
/// stands in for the environment the client would give it.
fn run_references(
    ours: &[&str],
    parse_run: RunParser<'_>,
    env_of: &dyn Fn(&str) -> Option<String>,
) -> Vec<Request> {
    let Some(args) = parse_run(ours) else {
        return Vec::new();
    };
    let flag = |name: &str| ours.iter().any(|a| a.starts_with(name));
    let pick = |from_flag: Option<String>, name: &str, env: &str| {
        if flag(name) { from_flag } else { env_of(env) }
    };
    let vault_type = pick(args.vault_type, "--vault-type", "VAULT_TYPE");
    let region = pick(args.vault_region, "--vault-region", "VAULT_REGION");
    let profile = pick(args.vault_profile, "--vault-profile", "VAULT_PROFILE");
    let Ok(scheme) = vault_scheme(vault_type.as_deref()) else {
        return Vec::new();
    };
    // The entry's own VAULT_* variables stand in for the environment.
    let names: Vec<String> = [
        "PROJECTID",
        "KEYFILENAME",
        "VAULTURL",
        "VAULTNAME",
        "TENANTID",
        "CLIENTID",
    ]
    .iter()
    .map(|n| format!("VAULT_{n}"))
    .collect();
    let typed = vault_type.as_deref().is_some_and(|t| !t.trim().is_empty());
    let Ok(wrapper) = Wrapper::settle(typed.then_some(scheme), &args.vault_params, &names, env_of)
    else {
        return Vec::new();
    };
    let Ok(assignments) = wrapper.rewrite(&args.assignments) else {
        return Vec::new();
    };
    let Ok(reqs) = requests(&assignments, scheme) else {
        return Vec::new();
    };
    reqs.into_iter()
        .map(|mut r| {
            // The entry's default region/profile travel with each AWS reference.
            if matches!(r.reference.scheme.as_str(), "aws-sm" | "aws-ssm") {
                for (k, v) in [("region", &region), ("profile", &profile)] {
                    if let Some(v) = v.as_ref().filter(|v| !v.is_empty())
                        && !r.reference.params.iter().any(|(pk, _)| pk == k)
                    {
                        r.reference.params.push((k.to_string(), v.clone()));
                    }
                }
            }
            r
        })
        .collect()
}

/// Splits a POSIX shell command line (single and double quotes, backslashes).
fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut has = false;
    let mut chars = line.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => cur.push(c),
            (Some(_), '\\') => cur.extend(chars.next()),
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                has = true;
            }
            (None, '\\') => {
                cur.extend(chars.next());
                has = true;
            }
            (None, c) if c.is_whitespace() => {
                if has || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                has = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_split_like_sh() {
        assert_eq!(
            shell_words(
                r#"/a/mcp-warden headers -H 'Authorization: Bearer %{T}' "T=local://x" a\ b"#
            ),
            vec![
                "/a/mcp-warden",
                "headers",
                "-H",
                "Authorization: Bearer %{T}",
                "T=local://x",
                "a b"
            ]
        );
    }
}
