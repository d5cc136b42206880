//! The MCP servers of this machine and the secret references each uses:
//! every entry of every discovered client config, and every profile of the
//! user config, as [`Row`]s. Shared by `inventory` (which adds ages and
//! prints them) and `rotate` (which lists the users of one reference).
//!
//! Owns reading the entries (the references of a wrapped entry come from
//! `govern::entry`, read with the same clap definitions `run` uses), what an
//! entry launches (never its arguments), and a profile's pin state. Never
//! fetches a value or calls a backend; prints only the problems of entries
//! it cannot read.

use std::time::{Duration, SystemTime};

use super::{Error, discover, entry_parsers};
use crate::cli::Discover;
use crate::clients::read::parse;
use crate::clients::{Location, Server};
use crate::govern::entry;
use crate::govern::profile::{Config, Profile};
use crate::protect::exposure::Exposed;
use crate::reference::SecretRef;
use crate::resolve::Request;
use crate::scan::finding::Posture;
use crate::scan::report::display_path;
use crate::scan::{posture, runner, server_findings};

/// One secret reference a server uses.
#[derive(Debug, Clone)]
pub struct RefRow {
    pub var: String,
    pub reference: SecretRef,
    /// Last changed or rotated, from the backend.
    pub changed: Option<SystemTime>,
    pub age: Option<Duration>,
    pub overdue: bool,
    /// Why the age is unknown.
    pub error: Option<String>,
    /// Moved out of a plaintext config by `protect` and not rotated since.
    pub exposed: Option<Exposed>,
    /// A minting reference: what it mints at each start (no age to keep).
    pub short_lived: Option<crate::backend::MintSpec>,
}

/// One server.
#[derive(Debug, Clone)]
pub struct Row {
    pub client: &'static str,
    pub scope: &'static str,
    pub path: std::path::PathBuf,
    pub name: String,
    pub transport: &'static str,
    /// Program and package (never the full argv: arguments may hold secrets).
    pub launches: String,
    pub unpinned: Option<String>,
    pub posture: Posture,
    pub plaintext: usize,
    pub refs: Vec<RefRow>,
    pub owner: Option<String>,
    pub rotate_after: Option<Duration>,
}

/// What the entry launches, without arguments that could hold secrets.
fn launches(server: &Server) -> String {
    let argv = posture::argv(server);
    let mut start = 0;
    for _ in 0..8 {
        match runner::wrapper(&argv[start..]).and_then(|w| w.inner) {
            Some(i) => start += i,
            None => break,
        }
    }
    let rest = &argv[start.min(argv.len())..];
    match (rest.first(), runner::package_runner(rest)) {
        (_, Some(l)) => format!("{} {}", l.runner, runner::display_spec(l.spec)),
        (Some(cmd), None) => runner::program_name(cmd).to_string(),
        (None, None) => server.url.as_ref().map_or_else(String::new, |u| {
            // Host only: paths and queries may carry secrets.
            u.value
                .split("://")
                .nth(1)
                .and_then(|r| r.split(['/', '?', '#']).next())
                .map(|h| h.rsplit('@').next().unwrap_or(h).to_string())
                .unwrap_or_default()
        }),
    }
}

/// The pin state of a profile: `None` when pinned and matching.
fn profile_pin(p: &Profile) -> Option<String> {
    use crate::govern::pin;
    if let Some(url) = &p.url {
        // a remote server: its pin is the hash of its url and headers
        return match &p.pinned {
            Some(r)
                if r.command.is_none()
                    && r.argv_sha256 == pin::remote_argv_sha256(url, &p.headers) =>
            {
                None
            }
            Some(_) => Some("does not match its pin: its url or headers changed".into()),
            None => Some(format!("no pin recorded (mcp-warden pin @{})", p.name)),
        };
    }
    let path_var = std::env::var_os("PATH");
    let cwd = std::env::current_dir().unwrap_or_default();
    let observed = match pin::observe(&p.command, &p.args, path_var.as_deref(), &cwd) {
        Ok(o) => o,
        Err(e) => return Some(format!("cannot tell what runs: {e}")),
    };
    match &p.pinned {
        Some(recorded) => {
            let changes = pin::compare(recorded, &observed);
            if changes.is_empty() {
                None
            } else {
                let what: Vec<String> = changes.iter().map(ToString::to_string).collect();
                Some(format!("does not match its pin: {}", what.join("; ")))
            }
        }
        None => Some(format!("no pin recorded (mcp-warden pin @{})", p.name)),
    }
}

/// `scheme://host[:port]` of a profile's url (no user or password, path or
/// query: they may hold credentials or placeholders).
fn url_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    format!("{scheme}://{host}")
}

pub fn profile_row(config: &Config, p: &Profile, rotate: Option<Duration>) -> Row {
    let mut argv = vec![p.command.as_str()];
    argv.extend(p.args.iter().map(String::as_str));
    let launches = match (&p.url, runner::package_runner(&argv)) {
        (Some(url), _) => format!("connect {}", url_origin(url)),
        (None, Some(l)) => format!("{} {}", l.runner, runner::display_spec(l.spec)),
        (None, None) => runner::program_name(&p.command).to_string(),
    };
    let refs = p.references();
    Row {
        client: "mcp-warden",
        scope: "profile",
        path: config.path.clone(),
        name: format!("@{}", p.name),
        transport: "stdio",
        launches,
        unpinned: profile_pin(p),
        posture: if refs.is_empty() {
            Posture::NoCredentials
        } else {
            Posture::VaultWrapped
        },
        plaintext: 0,
        refs: refs.into_iter().map(RefRow::new).collect(),
        owner: p.owner.clone(),
        rotate_after: p.rotate_after.or(rotate),
    }
}

impl RefRow {
    fn new(r: Request) -> Self {
        let minted = crate::backend::mint::spec(&r.reference);
        let (short_lived, error) = match minted {
            Some(Ok(spec)) => (Some(spec), None),
            Some(Err(e)) => (None, Some(e.message)),
            None => (None, None),
        };
        Self {
            short_lived,
            var: r.var,
            reference: r.reference,
            changed: None,
            age: None,
            overdue: false,
            error,
            exposed: None,
        }
    }
}

/// `mcp-warden run @NAME` in a client entry: the profile it starts.
fn started_profile<'a>(server: &Server, config: Option<&'a Config>) -> Option<&'a Profile> {
    let argv = posture::argv(server);
    if runner::program_name(argv.first()?) != "mcp-warden" || argv.get(1) != Some(&"run") {
        return None;
    }
    let name = argv[2..]
        .iter()
        .take_while(|a| **a != "--")
        .find_map(|a| a.strip_prefix('@'))?;
    config?.servers.get(name)
}

pub fn rows_of(
    location: &Location,
    bytes: &[u8],
    rotate: Option<Duration>,
    config: Option<&Config>,
) -> Vec<Row> {
    let Ok(cfg) = parse(location.clone(), bytes) else {
        return Vec::new();
    };
    cfg.servers
        .iter()
        .map(|s| {
            let findings = server_findings(s);
            let profile = started_profile(s, config);
            let found = entry::references(s, entry_parsers());
            for p in &found.problems {
                eprintln!(
                    "mcp-warden: {}: {}: {p}",
                    display_path(&location.path, None),
                    s.name
                );
            }
            let mut refs = found.requests;
            if let Some(p) = profile {
                refs.extend(p.references());
            }
            Row {
                client: location.client,
                scope: s.scope.as_str(),
                path: location.path.clone(),
                name: s.name.clone(),
                transport: s.transport.as_str(),
                launches: launches(s),
                unpinned: runner::unpinned(&posture::argv(s)),
                posture: posture::posture(s, &findings),
                plaintext: findings.len(),
                refs: refs.into_iter().map(RefRow::new).collect(),
                owner: profile.and_then(|p| p.owner.clone()),
                rotate_after: profile.and_then(|p| p.rotate_after).or(rotate),
            }
        })
        .collect()
}

/// Every server: the client entries of the discovered configs, then the
/// profiles of `config`; `rotate` is the limit of references no profile
/// gives one. Also returns the home the configs were found under.
pub fn collect(
    d: &Discover,
    rotate: Option<Duration>,
    config: Option<&Config>,
) -> Result<(Vec<Row>, Option<std::path::PathBuf>), Error> {
    let found = discover(d)?;
    let mut rows = Vec::new();
    for loc in &found.locations {
        if let Ok(bytes) =
            crate::scan::read_limited(&loc.path, crate::clients::read::max_bytes(loc))
        {
            rows.extend(rows_of(loc, &bytes, rotate, config));
        }
    }
    if let Some(c) = config {
        rows.extend(c.servers.values().map(|p| profile_row(c, p, rotate)));
    }
    Ok((rows, found.home))
}

#[cfg(test)]
mod tests {
    use super::url_origin;

    #[test]
    fn a_profile_url_is_shown_as_its_origin_only() {
        assert_eq!(
            url_origin("https://me:hunter2@mcp.example.com:8443/mcp?key=%{K}"),
            "https://mcp.example.com:8443"
        );
        assert_eq!(url_origin("http://127.0.0.1:9"), "http://127.0.0.1:9");
    }
}
