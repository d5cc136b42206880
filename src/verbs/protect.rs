//! `protect` and `restore`: the verbs over [`crate::protect`]. Dry run by
//! default (a masked unified diff on stdout); `--apply` stores, verifies,
//! journals and writes, file by file, and says what it did on stderr.
//!
//! Owns presentation and the per-file order of work; never prints a value.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use super::{Error, block_on, block_on_backends, parse_duration, scan::discover};
use crate::backend::Registry;
use crate::cli::{ProtectArgs, RestoreArgs};
use crate::paths::Paths;
use crate::protect::naming::Target;
use crate::protect::plan::Options;
use crate::protect::store::{Stored, store};
use crate::protect::{self, Prepared, diff, journal, restore};
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
    };
    let (registry, paths) = registry(timeout)?;

    let mut failed = 0usize;
    let mut files_changed = 0usize;
    let mut secrets_total = 0usize;
    let mut skipped_total = 0usize;
    for location in found.locations {
        let shown = display_path(&location.path, home.as_deref());
        let mut prepared: Prepared = match protect::prepare(location, &opts) {
            Ok(p) => p,
            Err(e) => {
                // An unreadable or unparsable file has nothing we could protect; scan reports it.
                eprintln!("mcp-warden: {shown}: skipped: {e}");
                continue;
            }
        };
        for s in &prepared.plan.skipped {
            skipped_total += 1;
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
        if !prepared.changes() {
            continue;
        }
        let n: usize = prepared.plan.entries.iter().map(|e| e.secrets.len()).sum();
        if !args.apply {
            out(&diff::unified(
                &shown,
                &String::from_utf8_lossy(&prepared.original),
                &String::from_utf8_lossy(&prepared.new),
                &prepared.masks(),
            ))?;
            files_changed += 1;
            secrets_total += n;
            continue;
        }
        match apply_one(&registry, &paths, &mut prepared) {
            Ok(()) => {
                files_changed += 1;
                secrets_total += n;
                for e in &prepared.plan.entries {
                    eprintln!("mcp-warden: {shown}: {}: {}", e.server, e.summary);
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("mcp-warden: {shown}: not changed: {e}");
            }
        }
    }
    // Leases and login tokens the backends obtained: revoked now, not left to their TTL.
    block_on_backends(&registry, async {})?;
    let verb = if args.apply {
        "protected"
    } else {
        "would protect"
    };
    eprintln!(
        "mcp-warden: {verb} {secrets_total} secret(s) in {files_changed} file(s); {skipped_total} not protectable{}{}",
        if failed > 0 {
            format!("; {failed} file(s) failed")
        } else {
            String::new()
        },
        if args.apply || files_changed == 0 {
            ""
        } else {
            "; run again with --apply to do it"
        }
    );
    Ok(i32::from(failed > 0))
}

/// Store and verify every secret, journal, then write the file.
fn apply_one(registry: &Registry, paths: &Paths, prepared: &mut Prepared) -> Result<(), String> {
    let secrets: Vec<_> = prepared
        .plan
        .entries
        .iter()
        .flat_map(|e| e.secrets.iter())
        .collect();
    // Logins stay open across files; they are released once, at the end.
    block_on(async {
        for s in &secrets {
            match store(registry, s).await? {
                Stored::Written | Stored::AlreadyThere => {}
            }
        }
        Ok::<(), String>(())
    })
    .map_err(|e| e.to_string())??;
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
            eprintln!("mcp-warden: {shown}: {server}: not restored: {why}");
        }
        let changes = fr.restored != fr.current;
        if !args.apply {
            if changes {
                out(&diff::unified(
                    &shown,
                    &String::from_utf8_lossy(&fr.current),
                    &String::from_utf8_lossy(&fr.restored),
                    &fr.masks,
                ))?;
            }
            restored += fr.restored_entries.len();
            continue;
        }
        if changes {
            let still = protect::read_config(&fr.path).map_err(Error::Io)?;
            if still != fr.current {
                failed += 1;
                eprintln!("mcp-warden: {shown}: changed while restore ran; run it again");
                continue;
            }
            if let Err(e) = crate::atomic_file::replace(&fr.path, &fr.restored, 0o600) {
                failed += 1;
                eprintln!("mcp-warden: {shown}: not restored: {e}");
                continue;
            }
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
