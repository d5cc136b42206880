//! `doctor`: is everything mcp-warden depends on in working order? Every
//! backend a client config references (reachable, authenticated, each secret
//! readable, latency), the local store and its key, the keychain, and the
//! permissions of the files that matter — each problem with a fix hint.
//!
//! Values are fetched only to prove they can be, and dropped unseen. Owns the
//! checks and their presentation; changes nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Error, block_on, block_on_backends, discover, entry_parsers, parse_duration};
use crate::backend::keyring::KeyringBackend;
use crate::backend::local::LocalBackend;
use crate::backend::local::key::KeyLocation;
use crate::backend::{ErrorKind, Registry};
use crate::cli::DoctorArgs;
use crate::govern::{entry, profile};
use crate::paths::Paths;
use crate::reference::{Scheme, SecretRef};
use crate::resolve::{ResolveError, fetch_one};
use crate::scan::discover::Found;
use crate::scan::report::display_path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
        }
    }
}

/// One finding of the doctor.
#[derive(Debug, Clone)]
pub struct Check {
    pub status: Status,
    pub subject: String,
    pub detail: String,
    pub fix: Option<String>,
}

fn check(status: Status, subject: impl Into<String>, detail: impl Into<String>) -> Check {
    Check {
        status,
        subject: subject.into(),
        detail: detail.into(),
        fix: None,
    }
}

impl Check {
    fn fix(mut self, hint: impl Into<String>) -> Self {
        self.fix = Some(hint.into());
        self
    }
}

/// Mode bits a file must not have (group/other access).
fn too_open(path: &Path, forbidden: u32) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & forbidden != 0).then_some(mode)
}

fn permission_checks(paths: &Paths, out: &mut Vec<Check>) {
    let data = paths.data_dir();
    let items: [(&Path, u32, &str, Status); 4] = [
        (data, 0o077, "data directory", Status::Warn),
        (&paths.store(), 0o077, "local store", Status::Fail),
        (&paths.store_key(), 0o077, "store key file", Status::Fail),
        (&data.join("audit"), 0o077, "audit directory", Status::Warn),
    ];
    for (p, forbidden, what, severity) in items {
        if !p.exists() {
            continue;
        }
        match too_open(p, forbidden) {
            Some(mode) => out.push(
                check(
                    severity,
                    format!("permissions: {what}"),
                    format!("{} is mode {mode:o}: readable by other users", p.display()),
                )
                .fix(format!(
                    "chmod {} {}",
                    if p.is_dir() { "700" } else { "600" },
                    p.display()
                )),
            ),
            None => out.push(check(
                Status::Ok,
                format!("permissions: {what}"),
                format!("{} is private", p.display()),
            )),
        }
    }
    let audit_dir = data.join("audit");
    if let Ok(entries) = std::fs::read_dir(&audit_dir) {
        for e in entries.flatten().take(1000) {
            if let Some(mode) = too_open(&e.path(), 0o077) {
                out.push(
                    check(
                        Status::Warn,
                        "permissions: audit log",
                        format!("{} is mode {mode:o}", e.path().display()),
                    )
                    .fix(format!("chmod 600 {}", e.path().display())),
                );
            }
        }
    }
}

fn store_checks(paths: &Paths, out: &mut Vec<Check>) {
    let info = LocalBackend::new(paths.clone()).info();
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
    match (&info.problem, info.exists) {
        (Some(p), _) => out.push(
            check(Status::Fail, "local store", p.clone())
                .fix("see `mcp-warden secret info`; restore the key file or the keychain entry"),
        ),
        (None, true) => out.push(check(
            Status::Ok,
            "local store",
            format!(
                "{} opens ({} secrets), {}",
                info.store.display(),
                info.secrets.unwrap_or(0),
                info.key
            ),
        )),
        (None, false) => out.push(check(
            Status::Ok,
            "local store",
            format!(
                "no store yet at {} (created by the first `secret set`)",
                info.store.display()
            ),
        )),
    }
    if let KeyLocation::Keyring { .. } = info.key {
        if bus {
            out.push(
                check(
                    Status::Warn,
                    "keychain",
                    "the store key is in the OS keychain, reached through this session's D-Bus",
                )
                .fix(
                    "MCP clients started from an IDE or desktop launcher without a D-Bus session \
                     cannot reach it ('no storage access'); start them from a session, or keep the \
                     key in a file: MCP_WARDEN_KEY_STORE=file",
                ),
            );
        } else {
            out.push(
                check(
                    Status::Fail,
                    "keychain",
                    "the store key is in the OS keychain but this process has no D-Bus session \
                     (DBUS_SESSION_BUS_ADDRESS unset)",
                )
                .fix("run inside a desktop session, or keep the key in a file: MCP_WARDEN_KEY_STORE=file"),
            );
        }
    } else if cfg!(target_os = "linux") && !bus {
        out.push(check(
            Status::Ok,
            "keychain",
            "no D-Bus session here; the store key is in a 0600 key file, which needs none",
        ));
    }
}

fn config_checks(found: &Found, out: &mut Vec<Check>) -> Vec<(String, SecretRef)> {
    let mut refs = Vec::new();
    for loc in &found.locations {
        // One read and one parse per file, for both the findings and the references.
        let limit = crate::clients::read::max_bytes(loc);
        let Some(cfg) = crate::scan::read_limited(&loc.path, limit)
            .ok()
            .and_then(|bytes| crate::clients::read::parse(loc.clone(), &bytes).ok())
        else {
            continue; // `scan` reports unreadable files; nothing here to check
        };
        let findings = crate::scan::scan_config(&cfg).all_findings().count();
        let shown = display_path(&loc.path, found.home.as_deref());
        if findings > 0
            && let Some(mode) = too_open(&loc.path, 0o077)
        {
            out.push(
                check(
                    Status::Warn,
                    "permissions: client config",
                    format!("{shown} holds {findings} plaintext secret(s) and is mode {mode:o}"),
                )
                .fix(format!(
                    "chmod 600 {}; better, move the secrets out: mcp-warden protect --apply",
                    loc.path.display()
                )),
            );
        }
        for s in &cfg.servers {
            let found = entry::references(s, entry_parsers());
            for r in found.requests {
                refs.push((format!("{shown}: {} {}", s.name, r.var), r.reference));
            }
            for p in found.problems {
                out.push(check(
                    Status::Warn,
                    "references",
                    format!("{shown}: {}: {p}", s.name),
                ));
            }
        }
    }
    refs
}

fn hint(kind: ErrorKind, r: &SecretRef) -> String {
    match kind {
        ErrorKind::NotFound => format!("store it: mcp-warden secret set {r}"),
        _ if r.scheme == Scheme::Keyring => "the line above says why and how to fix it".into(),
        ErrorKind::Denied => {
            "check the credentials mcp-warden uses for this backend and the policy on this path"
                .into()
        }
        ErrorKind::Unreachable | ErrorKind::TimedOut => {
            "check the backend address, that it is running and unsealed, and the network".into()
        }
        ErrorKind::BadData => {
            "the value cannot be used as stored; check its selector and encoding".into()
        }
        ErrorKind::Config | ErrorKind::Unsupported => {
            "check the reference and the backend settings".into()
        }
        ErrorKind::Io => "check mcp-warden's own files (see the permission checks)".into(),
    }
}

/// Whether `keyring://` references can be read here: one line naming the
/// problem in the way (no D-Bus session, locked, access refused, ...) and its fix.
async fn keychain_check(timeout: Duration) -> Check {
    let subject = "keychain (keyring://)";
    match KeyringBackend::new(timeout).health().await {
        Ok(health) => check(Status::Ok, subject, health.detail()),
        Err(problem) => check(Status::Fail, subject, problem.diagnosis()).fix(problem.fix()),
    }
}

async fn backend_checks(
    registry: &Registry,
    refs: Vec<(String, SecretRef)>,
    timeout: Duration,
) -> Vec<Check> {
    // One fetch per distinct reference (without selector); uses listed per reference.
    let mut distinct: BTreeMap<String, (SecretRef, Vec<String>)> = BTreeMap::new();
    for (who, r) in refs {
        let bare = r.without_selector();
        distinct
            .entry(bare.to_string())
            .or_insert_with(|| (bare, Vec::new()))
            .1
            .push(who);
    }
    let mut per_backend: BTreeMap<String, (usize, usize, Vec<Duration>)> = BTreeMap::new();
    let mut out = Vec::new();
    for (_, (r, users)) in distinct {
        let start = Instant::now();
        let result = tokio::time::timeout(timeout, fetch_one(registry, &r)).await;
        let took = start.elapsed();
        let scheme = r.scheme.as_str().to_string();
        let e = per_backend
            .entry(scheme.clone())
            .or_insert((0, 0, Vec::new()));
        e.0 += 1;
        match result {
            Ok(Ok(value)) => {
                drop(value);
                e.1 += 1;
                e.2.push(took);
            }
            Ok(Err(err)) => {
                let kind = match &err {
                    ResolveError::Backend { source, .. } => source.kind,
                    _ => ErrorKind::BadData,
                };
                // the line is already named by the reference: not said twice
                let detail = match &err {
                    ResolveError::Backend { source, .. } if source.subject == r.to_string() => {
                        source.message.clone()
                    }
                    ResolveError::Backend { source, .. } => source.to_string(),
                    other => other.to_string(),
                };
                out.push(
                    check(
                        Status::Fail,
                        format!("{scheme}: {r}"),
                        format!("{detail} (used by {})", users.join(", ")),
                    )
                    .fix(hint(kind, &r)),
                );
            }
            Err(_) => out.push(
                check(
                    Status::Fail,
                    format!("{scheme}: {r}"),
                    format!(
                        "no answer within {} (used by {})",
                        humantime::format_duration(timeout),
                        users.join(", ")
                    ),
                )
                .fix(hint(ErrorKind::TimedOut, &r)),
            ),
        }
    }
    for (scheme, (total, ok, times)) in per_backend {
        let status = if ok == total {
            Status::Ok
        } else {
            Status::Fail
        };
        let latency = times.iter().max().map_or(String::new(), |m| {
            format!(", slowest {:.0} ms", m.as_secs_f64() * 1e3)
        });
        out.insert(
            0,
            check(
                status,
                format!("backend {scheme}"),
                format!("{ok}/{total} referenced secrets readable{latency}"),
            ),
        );
    }
    out
}

/// 1Password's ways in: the Connect server (reachable, token accepted) and
/// the `op` CLI (present, signed in).
async fn onepassword_checks(registry: &Registry) -> Vec<Check> {
    crate::backend::op::diagnose(registry.settings())
        .await
        .into_iter()
        .map(|d| {
            let c = check(
                if d.ok { Status::Ok } else { Status::Fail },
                d.subject,
                d.detail,
            );
            match d.fix {
                Some(f) => c.fix(f),
                None => c,
            }
        })
        .collect()
}

pub fn run(args: DoctorArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let paths = super::data_paths()?;
    let found = discover(&args.discover)?;
    let mut checks = Vec::new();
    store_checks(&paths, &mut checks);
    permission_checks(&paths, &mut checks);
    let mut refs = config_checks(&found, &mut checks);
    match profile::load_if_present() {
        Ok(Some(config)) => {
            for p in config.servers.values() {
                for r in p.references() {
                    refs.push((format!("profile @{} {}", p.name, r.var), r.reference));
                }
            }
        }
        Ok(None) => {}
        Err(e) => checks.push(
            check(Status::Fail, "profiles", e.to_string()).fix("fix the file at the line named"),
        ),
    }
    if refs.iter().any(|(_, r)| r.scheme == Scheme::Keyring) {
        checks.push(block_on(keychain_check(timeout))?);
    }
    let uses_op = refs.iter().any(|(_, r)| r.scheme == Scheme::Op)
        || std::env::var_os("OP_CONNECT_HOST").is_some_and(|v| !v.is_empty());
    if refs.is_empty() {
        checks.push(check(
            Status::Ok,
            "backends",
            "no client config references a secret yet",
        ));
    } else {
        let registry = super::default_registry(timeout)?;
        checks.extend(block_on_backends(
            &registry,
            backend_checks(&registry, refs, timeout),
        )?);
    }
    if uses_op {
        let registry = super::default_registry(timeout)?;
        checks.extend(block_on_backends(&registry, onepassword_checks(&registry))?);
    }
    let mut text = String::new();
    for c in &checks {
        if args.json {
            text.push_str(
                &json!({"status": c.status.as_str().to_lowercase(), "check": c.subject, "detail": c.detail, "fix": c.fix})
                    .to_string(),
            );
            text.push('\n');
        } else {
            text.push_str(&format!(
                "{:<4}  {}: {}\n",
                c.status.as_str(),
                c.subject,
                c.detail
            ));
            if let Some(f) = &c.fix
                && c.status != Status::Ok
            {
                text.push_str(&format!("      fix: {f}\n"));
            }
        }
    }
    let fails = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warns = checks.iter().filter(|c| c.status == Status::Warn).count();
    if !args.json {
        text.push_str(&format!(
            "{} checks: {fails} failed, {warns} warnings\n",
            checks.len()
        ));
    }
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(text.as_bytes()).and_then(|()| o.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return Err(Error::Io(format!("cannot write the report: {e}")));
    }
    Ok(i32::from(fails > 0))
}
