//! `protect` and `restore`: the verbs over [`crate::protect`]. Dry run by
//! default (a masked unified diff on stdout); `--apply` stores, verifies,
//! journals and writes, file by file, and says what it did on stderr: what
//! was left and why, files skipped whole, and which moved secrets to rotate.
//!
//! Owns presentation and the per-file order of work; never prints a value.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{Error, block_on, block_on_backends, discover, parse_duration};
use crate::backend::Registry;
use crate::cli::{ProtectArgs, RemoteStyleArg, RestoreArgs};
use crate::paths::Paths;
use crate::protect::naming::Target;
use crate::protect::plan::{Options, RemoteStyle};
use crate::protect::store::{Stored, baseline, store};
use crate::protect::{self, PrepareError, Prepared, diff, file, journal, restore};
use crate::scan::report::display_path;

fn registry(timeout: Duration) -> Result<(Registry, Paths), Error> {
    Ok((super::default_registry(timeout)?, super::data_paths()?))
}

fn out(text: &str) -> Result<(), Error> {
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

fn warden_path(given: Option<&PathBuf>) -> Result<String, Error> {
    let p = match given {
        Some(p) => p.clone(),
        None => std::env::current_exe()
            .and_then(std::fs::canonicalize)
            .map_err(|e| {
                Error::Config(format!(
                    "cannot tell where mcp-warden is ({e}); pass --warden PATH"
                ))
            })?,
    };
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::Usage("--warden must be a UTF-8 path".into()))
}

/// Counts for the summary line, and the references moved (for the rotation note).
#[derive(Default)]
struct Tally {
    files: usize,
    secrets: usize,
    not_protectable: usize,
    /// Files skipped whole (duplicated keys, hard links).
    refused: usize,
    /// Files whose store or write failed.
    failed: usize,
    moved: Vec<String>,
}

pub fn protect(args: ProtectArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let target = Target::new(&args.to, &args.name_template).map_err(Error::Usage)?;
    let warden = warden_path(args.warden.as_ref())?;
    let found = discover(&args.discover)?;
    let home = found.home.clone();
    let opts = Options {
        target: &target,
        warden: &warden,
        convert_wrappers: args.convert_wrappers,
        servers: &args.servers,
        remote_style: match args.remote_style {
            RemoteStyleArg::Connect => RemoteStyle::Connect,
            RemoteStyleArg::HeadersHelper => RemoteStyle::HeadersHelper,
        },
    };
    let (registry, paths) = registry(timeout)?;

    let mut t = Tally::default();
    for location in found.locations {
        let shown = display_path(&location.path, home.as_deref());
        let mut prepared: Prepared = match protect::prepare(location, &opts) {
            Ok(p) => p,
            Err(PrepareError::Unreadable(e)) => {
                // An unreadable or unparsable file has nothing we could protect; scan reports it.
                eprintln!("mcp-warden: {shown}: skipped: {e}");
                continue;
            }
            Err(PrepareError::Refused(why)) => {
                t.refused += 1;
                eprintln!("mcp-warden: {shown}: skipped whole, nothing written: {why}");
                continue;
            }
        };
        report_prepared(&shown, &prepared, &mut t);
        if !prepared.changes() {
            continue;
        }
        let n = prepared.secrets().count();
        if !args.apply {
            out(&diff::unified(
                &shown,
                &prepared.original,
                &prepared.new,
                &prepared.masker(),
            ))?;
            t.files += 1;
            t.secrets += n;
            continue;
        }
        match apply_one(&registry, &paths, &mut prepared, timeout) {
            Ok(()) => {
                t.files += 1;
                t.secrets += n;
                t.moved
                    .extend(prepared.secrets().map(|s| s.reference.to_string()));
                for e in &prepared.plan.entries {
                    eprintln!("mcp-warden: {shown}: {}: {}", e.server, e.summary);
                }
            }
            Err(e) => {
                t.failed += 1;
                eprintln!("mcp-warden: {shown}: not changed: {e}");
            }
        }
    }
    // Leases and login tokens the backends obtained: revoked now, not left to their TTL.
    block_on_backends(&registry, async {})?;
    eprintln!("{}", summary(&t, args.apply));
    if args.apply {
        rotation_note(&t.moved);
    }
    Ok(i32::from(t.failed + t.refused > 0))
}

/// The secrets left in place with the reason, and warnings about the file.
fn report_prepared(shown: &str, prepared: &Prepared, t: &mut Tally) {
    for w in &prepared.warnings {
        eprintln!("mcp-warden: {shown}: warning: {w}");
    }
    for s in &prepared.plan.skipped {
        t.not_protectable += 1;
        let who = if s.server.is_empty() {
            String::new()
        } else {
            format!("{}: ", s.server)
        };
        eprintln!(
            "mcp-warden: {shown}: {who}{}: not protected: {}",
            s.site, s.reason
        );
    }
}

fn summary(t: &Tally, apply: bool) -> String {
    let verb = if apply { "protected" } else { "would protect" };
    let mut line = format!(
        "mcp-warden: {verb} {} secret(s) in {} file(s); {} not protectable",
        t.secrets, t.files, t.not_protectable
    );
    if t.refused > 0 {
        line.push_str(&format!("; {} file(s) skipped whole", t.refused));
    }
    if t.failed > 0 {
        line.push_str(&format!("; {} file(s) failed", t.failed));
    }
    if !apply && t.files > 0 {
        line.push_str("; run again with --apply to do it");
    }
    line
}

/// After moving secrets: they were readable in plaintext until now; say so, by reference.
fn rotation_note(moved: &[String]) {
    if moved.is_empty() {
        return;
    }
    eprintln!(
        "mcp-warden: rotate the {} secret(s) just moved: their values sat in plaintext in a config \
         file until now (and may survive in backups, sync folders or version control). Issue new \
         values, store each under the same reference (e.g. mcp-warden secret set REF) and revoke \
         the old ones; `mcp-warden inventory` shows them as exposed until then:",
        moved.len()
    );
    for r in moved {
        eprintln!("mcp-warden:   {r}");
    }
}

/// Store and verify every secret, note what the backend says about each,
/// journal, then write the file.
fn apply_one(
    registry: &Registry,
    paths: &Paths,
    prepared: &mut Prepared,
    timeout: Duration,
) -> Result<(), String> {
    let secrets: Vec<_> = prepared.secrets().collect();
    // Logins stay open across files; they are released once, at the end.
    let exposures = block_on(async {
        let mut exposures = Vec::with_capacity(secrets.len());
        for s in &secrets {
            match store(registry, s).await? {
                Stored::Written | Stored::AlreadyThere => {}
            }
            exposures.push(baseline(registry, &s.reference, timeout).await);
        }
        Ok::<_, String>(exposures)
    })
    .map_err(|e| e.to_string())??;
    prepared.set_exposures(exposures.into_iter());
    let written = protect::write_journal(paths.data_dir(), prepared)?;
    if let Err(e) = protect::write_file(prepared) {
        // The file is unchanged: its journal records would only confuse restore.
        for p in written {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(())
}

pub fn restore(args: RestoreArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let (registry, paths) = registry(timeout)?;
    let (records, bad) = journal::read_all(paths.data_dir());
    for (p, why) in &bad {
        eprintln!("mcp-warden: {}: {why}", p.display());
    }
    let only: Vec<PathBuf> = args
        .files
        .iter()
        .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
        .collect();
    if records.is_empty() {
        eprintln!(
            "mcp-warden: nothing to restore (no protect journal in {})",
            paths.data_dir().display()
        );
        return Ok(0);
    }
    let plans = block_on_backends(&registry, restore::plan(&registry, records, &only))?;
    let home = std::env::home_dir();
    let mut failed = 0usize;
    let mut restored = 0usize;
    for fr in plans {
        let shown = display_path(&fr.path, home.as_deref());
        for (server, why) in &fr.problems {
            failed += 1;
            let who = if server.is_empty() {
                String::new()
            } else {
                format!("{server}: ")
            };
            eprintln!("mcp-warden: {shown}: {who}not restored: {why}");
        }
        let changes = fr.restored != fr.current;
        if !args.apply {
            if changes {
                out(&diff::unified(
                    &shown,
                    &fr.current,
                    &fr.restored,
                    &fr.masker(),
                ))?;
            }
            restored += fr.restored_entries.len();
            continue;
        }
        if changes && let Err(e) = file::replace(&fr.path, &fr.current, &fr.restored, fr.mode) {
            failed += 1;
            eprintln!("mcp-warden: {shown}: not restored: {e}");
            continue;
        }
        for p in &fr.done {
            let _ = std::fs::remove_file(p);
        }
        for s in &fr.restored_entries {
            eprintln!("mcp-warden: {shown}: {s}: restored");
        }
        restored += fr.restored_entries.len();
    }
    let verb = if args.apply {
        "restored"
    } else {
        "would restore"
    };
    eprintln!(
        "mcp-warden: {verb} {restored} entr{}{}",
        if restored == 1 { "y" } else { "ies" },
        if failed > 0 {
            format!("; {failed} problem(s)")
        } else {
            String::new()
        }
    );
    Ok(i32::from(failed > 0))
}
