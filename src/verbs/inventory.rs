//! `inventory`: every MCP server from every discovered client config, with
//! what it launches, its pin state, its credential posture, the secret
//! references it uses and each secret's age from backend metadata against the
//! rotation policy, and which of them `protect` moved out of a plaintext
//! config and were not rotated since.
//!
//! Owns the rows and the report; the references of a wrapped entry come
//! from `govern::entry`, read with the same clap definitions `run` uses. Never
//! fetches a value: only `describe` (metadata) is called on backends.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::{Error, block_on_backends, discover, entry_parsers, parse_duration};
use crate::backend::{Registry, SecretInfo};
use crate::cli::{FailOn, InventoryArgs, InventoryFormat};
use crate::clients::read::parse;
use crate::clients::{Location, Server};
use crate::govern::entry;
use crate::govern::profile::{self, Config, Profile};
use crate::protect::exposure::{self, Exposed};
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

fn profile_row(config: &Config, p: &Profile, rotate: Option<Duration>) -> Row {
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
        Self {
            var: r.var,
            reference: r.reference,
            changed: None,
            age: None,
            overdue: false,
            error: None,
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

fn rows_of(
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

/// Fills in ages: one `describe` per distinct reference, all concurrently.
async fn fill_ages(registry: &Registry, rows: &mut [Row], timeout: Duration) {
    let mut distinct: BTreeMap<String, SecretRef> = BTreeMap::new();
    for r in rows.iter().flat_map(|r| r.refs.iter()) {
        let bare = r.reference.without_selector();
        distinct.entry(bare.to_string()).or_insert(bare);
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut results: BTreeMap<String, Result<SecretInfo, String>> = BTreeMap::new();
    for (key, r) in distinct {
        match registry.get(r.scheme) {
            Ok(backend) => {
                tasks.spawn(async move {
                    let result = match tokio::time::timeout(timeout, backend.describe(&r)).await {
                        Ok(Ok(info)) => Ok(info),
                        Ok(Err(e)) => Err(e.to_string()),
                        Err(_) => Err(format!(
                            "{r}: no answer within {}",
                            humantime::format_duration(timeout)
                        )),
                    };
                    (key, result)
                });
            }
            Err(e) => {
                results.insert(key, Err(e.to_string()));
            }
        }
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((key, result)) = joined {
            results.insert(key, result);
        }
    }
    let now = SystemTime::now();
    for row in rows {
        for r in &mut row.refs {
            match results.get(&r.reference.without_selector().to_string()) {
                Some(Ok(info)) => {
                    if r.exposed.as_ref().is_some_and(|e| e.rotated(info)) {
                        r.exposed = None;
                    }
                    r.changed = [info.rotated, info.updated, info.created]
                        .into_iter()
                        .flatten()
                        .max();
                    r.age = r.changed.and_then(|c| now.duration_since(c).ok());
                    r.overdue = match (r.age, row.rotate_after) {
                        (Some(age), Some(limit)) => !limit.is_zero() && age > limit,
                        _ => false,
                    };
                    if r.changed.is_none() {
                        r.error = Some("the backend keeps no change time".into());
                    }
                }
                Some(Err(e)) => r.error = Some(e.clone()),
                None => {}
            }
        }
    }
}

/// Flags the references `protect` moved out of a plaintext config (from its
/// journal); [`fill_ages`] clears the flag where the backend shows a rotation.
fn mark_exposed(rows: &mut [Row]) -> Result<(), Error> {
    let exposed = exposure::from_journal(super::data_paths()?.data_dir());
    if exposed.is_empty() {
        return Ok(());
    }
    for r in rows.iter_mut().flat_map(|r| r.refs.iter_mut()) {
        r.exposed = exposed.get(&exposure::key(&r.reference)).cloned();
    }
    Ok(())
}

fn days(d: Duration) -> String {
    format!("{}d", d.as_secs() / 86_400)
}

pub fn run(args: InventoryArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let rotate = parse_duration("--rotate-after", &args.rotate_after)?;
    let rotate = Some(rotate).filter(|d| !d.is_zero());
    let found = discover(&args.discover)?;
    let config = profile::load_if_present().map_err(|e| Error::Config(e.to_string()))?;
    let mut rows = Vec::new();
    for loc in &found.locations {
        if let Ok(bytes) =
            crate::scan::read_limited(&loc.path, crate::clients::read::max_bytes(loc))
        {
            rows.extend(rows_of(loc, &bytes, rotate, config.as_ref()));
        }
    }
    if let Some(c) = &config {
        rows.extend(c.servers.values().map(|p| profile_row(c, p, rotate)));
    }
    mark_exposed(&mut rows)?;
    let registry = super::default_registry(timeout)?;
    if rows.iter().any(|r| !r.refs.is_empty()) {
        block_on_backends(&registry, fill_ages(&registry, &mut rows, timeout))?;
    }
    let text = match args.format {
        InventoryFormat::Table => table(&rows, found.home.as_deref()),
        InventoryFormat::Json => json_report(&rows),
    };
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Io(format!("cannot write the inventory: {e}")));
    }
    let hit = |what: FailOn| {
        rows.iter().any(|r| match what {
            FailOn::Overdue => r.refs.iter().any(|x| x.overdue),
            FailOn::Unpinned => r.unpinned.is_some(),
            FailOn::Plaintext => r.plaintext > 0,
            FailOn::Exposed => r.refs.iter().any(|x| x.exposed.is_some()),
        })
    };
    Ok(i32::from(args.fail_on.iter().any(|w| hit(*w))))
}

fn table(rows: &[Row], home: Option<&std::path::Path>) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mut last = None;
    for r in rows {
        let file = display_path(&r.path, home);
        if last.as_ref() != Some(&(r.client, file.clone())) {
            let _ = writeln!(out, "{}  {file}", r.client);
            last = Some((r.client, file));
        }
        let pin = match &r.unpinned {
            Some(_) => "UNPINNED",
            None => "pinned",
        };
        let pin = if runner_or_image(&r.launches) {
            pin
        } else {
            "-"
        };
        let _ = writeln!(
            out,
            "  {:<24} {:<5} {:<18} {:<8} {}{}",
            r.name,
            r.transport,
            r.posture.as_str(),
            pin,
            r.launches,
            r.owner
                .as_ref()
                .map_or(String::new(), |o| format!("  owner {o}"))
        );
        for x in &r.refs {
            let age = match (&x.age, &x.error) {
                (Some(a), _) => days(*a),
                (None, Some(e)) => format!("age unknown ({e})"),
                (None, None) => "age unknown".into(),
            };
            let flag = if x.overdue { "  OVERDUE" } else { "" };
            let exposed = if x.exposed.is_some() {
                "  EXPOSED: rotate"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "      {} = {}  {age}{flag}{exposed}",
                x.var, x.reference
            );
        }
    }
    let overdue = rows
        .iter()
        .flat_map(|r| &r.refs)
        .filter(|x| x.overdue)
        .count();
    let refs: usize = rows.iter().map(|r| r.refs.len()).sum();
    let exposed = rows
        .iter()
        .flat_map(|r| &r.refs)
        .filter(|x| x.exposed.is_some())
        .count();
    let _ = writeln!(
        out,
        "{} servers, {} references ({} overdue, {} exposed), {} unpinned, {} with plaintext secrets",
        rows.len(),
        refs,
        overdue,
        exposed,
        rows.iter().filter(|r| r.unpinned.is_some()).count(),
        rows.iter().filter(|r| r.plaintext > 0).count()
    );
    out
}

fn runner_or_image(launches: &str) -> bool {
    [
        "npx ",
        "pnpx ",
        "bunx ",
        "npm exec ",
        "pnpm dlx ",
        "yarn dlx ",
        "bun x ",
        "uvx ",
        "uv tool run ",
        "pipx run ",
        "docker run ",
        "podman run ",
    ]
    .iter()
    .any(|p| launches.starts_with(p))
}

fn secs(t: Option<SystemTime>) -> Value {
    t.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(Value::Null, |d| {
            json!(
                humantime::format_rfc3339_seconds(
                    SystemTime::UNIX_EPOCH + Duration::from_secs(d.as_secs())
                )
                .to_string()
            )
        })
}

fn json_report(rows: &[Row]) -> String {
    let servers: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "client": r.client,
                "scope": r.scope,
                "path": r.path.to_string_lossy(),
                "name": r.name,
                "transport": r.transport,
                "launches": r.launches,
                "unpinned": r.unpinned,
                "posture": r.posture.as_str(),
                "plaintext_findings": r.plaintext,
                "owner": r.owner,
                "rotate_after_days": r.rotate_after.map(|d| d.as_secs() / 86_400),
                "references": r.refs.iter().map(|x| json!({
                    "var": x.var,
                    "reference": x.reference.to_string(),
                    "backend": x.reference.scheme.as_str(),
                    "changed": secs(x.changed),
                    "age_days": x.age.map(|a| a.as_secs() / 86_400),
                    "overdue": x.overdue,
                    "exposed_since": secs(x.exposed.as_ref().map(|e| e.since)),
                    "error": x.error,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "schema": "mcp-warden/inventory/v1",
        "tool": { "name": "mcp-warden", "version": env!("CARGO_PKG_VERSION") },
        "servers": servers,
    });
    let mut t = serde_json::to_string_pretty(&doc).unwrap_or_default();
    t.push('\n');
    t
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
