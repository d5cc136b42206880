//! `inventory`: every MCP server from every discovered client config, with
//! what it launches, its pin state, its credential posture, the secret
//! references it uses and each secret's age from backend metadata against the
//! rotation policy, and which of them `protect` moved out of a plaintext
//! config and were not rotated since.
//!
//! Owns the report; the rows come from `verbs::servers`, the ages from
//! `rotation` (backend metadata). Never fetches a value: only `describe`
//! (metadata) is called on backends.

use std::io::Write;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::servers::{self, Row};
use super::{Error, block_on_backends, parse_duration};
use crate::backend::Registry;
use crate::cli::{FailOn, InventoryArgs, InventoryFormat};
use crate::govern::profile;
use crate::protect::exposure;
use crate::rotation;
use crate::scan::report::display_path;

/// Fills in ages: one `describe` per distinct reference, all concurrently
/// (`rotation::describe_all`).
async fn fill_ages(registry: &Registry, rows: &mut [Row], timeout: Duration) {
    let refs: Vec<_> = rows
        .iter()
        .flat_map(|r| r.refs.iter().map(|x| x.reference.clone()))
        .collect();
    let results = rotation::describe_all(registry, &refs, timeout).await;
    let now = SystemTime::now();
    for row in rows {
        for r in &mut row.refs {
            match results.get(&rotation::key(&r.reference)) {
                Some(Ok(info)) => {
                    if r.exposed.as_ref().is_some_and(|e| e.rotated(info)) {
                        r.exposed = None;
                    }
                    r.changed = rotation::changed(info);
                    r.age = rotation::age(info, now);
                    r.overdue = match (r.age, row.rotate_after) {
                        (Some(age), Some(limit)) => !limit.is_zero() && age > limit,
                        _ => false,
                    };
                    if r.changed.is_none() {
                        r.error = Some("the backend keeps no change time".into());
                    }
                }
                Some(Err(e)) => r.error = Some(e.to_string()),
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
    let config = profile::load_if_present().map_err(|e| Error::Config(e.to_string()))?;
    let (mut rows, home) = servers::collect(&args.discover, rotate, config.as_ref())?;
    mark_exposed(&mut rows)?;
    let registry = super::default_registry(timeout)?;
    if rows.iter().any(|r| !r.refs.is_empty()) {
        block_on_backends(&registry, fill_ages(&registry, &mut rows, timeout))?;
    }
    let text = match args.format {
        InventoryFormat::Table => table(&rows, home.as_deref()),
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
            let age = match (&x.age, &x.error, &x.short_lived) {
                (_, _, Some(s)) => short_lived(s),
                (Some(a), _, _) => days(*a),
                (None, Some(e), None) => format!("age unknown ({e})"),
                (None, None, None) => "age unknown".into(),
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
    let short = rows
        .iter()
        .flat_map(|r| &r.refs)
        .filter(|x| x.short_lived.is_some())
        .count();
    let exposed = rows
        .iter()
        .flat_map(|r| &r.refs)
        .filter(|x| x.exposed.is_some())
        .count();
    let _ = writeln!(
        out,
        "{} servers, {} references ({} short-lived, {} overdue, {} exposed), {} unpinned, {} with plaintext secrets",
        rows.len(),
        refs,
        short,
        overdue,
        exposed,
        rows.iter().filter(|r| r.unpinned.is_some()).count(),
        rows.iter().filter(|r| r.plaintext > 0).count()
    );
    out
}

/// `short-lived: GitHub App installation token (repositories a; contents:read), 1h, minted at each start`
fn short_lived(s: &crate::backend::MintSpec) -> String {
    let scope = if s.scope.is_empty() {
        String::new()
    } else {
        format!(" ({})", s.scope)
    };
    format!(
        "short-lived: {}{scope}, lives {}, minted at each start",
        s.what,
        humantime::format_duration(s.lifetime)
    )
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
                    "short_lived": x.short_lived.as_ref().map(|s| json!({
                        "kind": s.what,
                        "scope": s.scope,
                        "lifetime_seconds": s.lifetime.as_secs(),
                    })),
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
