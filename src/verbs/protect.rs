//! `protect` and `restore`: the verbs over [`crate::protect`]. Dry run by
//! default (a masked unified diff on stdout); `--apply` stores, verifies,
//! imports mcp-remote OAuth caches, journals and writes, file by file, then
//! removes the imported plaintext files, and says what it did on stderr:
//! what was left and why, files skipped whole, token files it cannot
//! import, and which moved secrets to rotate.
//!
//! Owns presentation and the per-file order of work; never prints a value.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{Error, block_on, block_on_backends, discover, parse_duration};
use crate::backend::Registry;
use crate::cli::{ProtectArgs, RemoteStyleArg, RestoreArgs};
use crate::clients::{Location, Scope};
use crate::oauth::store::DEFAULT_PREFIX;
use crate::paths::Paths;
use crate::protect::migrate::{self, Caches, apply as import};
use crate::protect::naming::Target;
use crate::protect::plan::{Options, RemoteStyle};
use crate::protect::store::{Stored, baseline, store};
use crate::protect::{self, PrepareError, Prepared, diff, file, journal, restore};
use crate::scan::report::display_path;

fn registry(timeout: Duration) -> Result<(Arc<Registry>, Paths), Error> {
    Ok((
        Arc::new(super::default_registry(timeout)?),
        super::data_paths()?,
    ))
}

fn out(text: &str) -> Result<(), Error> {
    super::write_stdout(text)
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
    /// OAuth caches imported (or, dry run, to import).
    imported: usize,
    /// Plaintext files the imports removed (or would remove).
    imported_files: Vec<String>,
    /// Of those, files left in place after the import (changed meanwhile,
    /// or not removable): their tokens are still on disk.
    left_files: usize,
}

pub fn protect(args: ProtectArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    let target = Target::new(&args.to, &args.name_template).map_err(Error::Usage)?;
    let warden = super::warden_path(args.warden.as_ref())?;
    let found = discover(&args.discover)?;
    let home = found.home.clone();
    let (registry, paths) = registry(timeout)?;
    let caches = home.as_deref().map(|h| oauth_caches(h, &args.to));
    let mut run = Run {
        opts: Options {
            target: &target,
            warden: &warden,
            convert_wrappers: args.convert_wrappers,
            servers: &args.servers,
            remote_style: match args.remote_style {
                RemoteStyleArg::Connect => RemoteStyle::Connect,
                RemoteStyleArg::HeadersHelper => RemoteStyle::HeadersHelper,
            },
            caches: caches.as_ref(),
        },
        apply: args.apply,
        home: home.as_deref(),
        registry: &registry,
        paths: &paths,
        http: None,
        timeout,
    };
    // mcp-remote's token files are reported once every entry had its chance to import them.
    let (caches_found, locations): (Vec<Location>, Vec<Location>) = found
        .locations
        .into_iter()
        .partition(|l| l.client == "mcp-remote" && l.scope == Scope::TokenStore);
    let mut t = Tally::default();
    for location in locations {
        protect_file(&mut run, location, &mut t)?;
    }
    if let Some(c) = &caches {
        report_caches(c, &caches_found, home.as_deref(), &mut t);
    }
    // Leases and login tokens the backends obtained: revoked now, not left to their TTL.
    block_on_backends(&registry, async {})?;
    eprintln!("{}", summary(&t, args.apply));
    if args.apply {
        rotation_note(&t.moved);
        import_note(t.imported_files.len(), t.left_files);
    }
    Ok(i32::from(t.failed + t.refused + t.left_files > 0))
}

/// What every file of one protect run shares.
struct Run<'a> {
    opts: Options<'a>,
    apply: bool,
    home: Option<&'a std::path::Path>,
    registry: &'a Arc<Registry>,
    paths: &'a Paths,
    /// For the imports' discovery, made when a file first needs it.
    http: Option<crate::remote::Http>,
    timeout: Duration,
}

/// Plans one file and shows (dry run) or applies it.
fn protect_file(run: &mut Run<'_>, location: Location, t: &mut Tally) -> Result<(), Error> {
    let shown = display_path(&location.path, run.home);
    let mut prepared: Prepared = match protect::prepare(location, &run.opts) {
        Ok(p) => p,
        Err(PrepareError::Unreadable(e)) => {
            // An unreadable or unparsable file has nothing we could protect; scan reports it.
            eprintln!("mcp-warden: {shown}: skipped: {e}");
            return Ok(());
        }
        Err(PrepareError::Refused(why)) => {
            t.refused += 1;
            eprintln!("mcp-warden: {shown}: skipped whole, nothing written: {why}");
            return Ok(());
        }
    };
    report_prepared(&shown, &prepared, t);
    if !prepared.changes() {
        return Ok(());
    }
    let n = prepared.secrets().count();
    if !run.apply {
        out(&diff::unified(
            &shown,
            &prepared.original,
            &prepared.new,
            &prepared.masker(),
        ))?;
        t.files += 1;
        t.secrets += n;
        count_imports(&prepared, t, run.home, false);
        return Ok(());
    }
    if run.http.is_none() && prepared.plan.entries.iter().any(|e| e.import.is_some()) {
        run.http = Some(import::http(run.timeout).map_err(Error::Internal)?);
    }
    let ctx = Ctx {
        registry: run.registry,
        paths: run.paths,
        http: run.http.as_ref(),
        timeout: run.timeout,
    };
    match apply_one(&ctx, &mut prepared) {
        Ok(left) => {
            t.files += 1;
            t.secrets += n;
            t.moved
                .extend(prepared.secrets().map(|s| s.reference.to_string()));
            for e in &prepared.plan.entries {
                eprintln!("mcp-warden: {shown}: {}: {}", e.server, e.summary);
            }
            count_imports(&prepared, t, run.home, true);
            t.left_files += left.len();
            for l in left {
                eprintln!("mcp-warden: {l}");
            }
        }
        Err(e) => {
            t.failed += 1;
            eprintln!("mcp-warden: {shown}: not changed: {e}");
        }
    }
    Ok(())
}

/// The mcp-remote caches this run may import, into the token store `--to`
/// names (a plain prefix; with ?parameters the default store).
fn oauth_caches(home: &std::path::Path, to: &str) -> Caches {
    let prefix = if to.contains('?') { DEFAULT_PREFIX } else { to };
    Caches::new(home, std::env::var("MCP_REMOTE_CONFIG_DIR").ok(), prefix)
}

/// Counts the imports of a file done (or planned) and the files they remove.
fn count_imports(prepared: &Prepared, t: &mut Tally, home: Option<&std::path::Path>, done: bool) {
    for e in &prepared.plan.entries {
        let Some(imp) = &e.import else { continue };
        if imp.cache.is_none() {
            continue;
        }
        t.imported += 1;
        for f in imp.files() {
            let shown = display_path(f, home);
            if !done {
                eprintln!(
                    "mcp-warden: {shown}: would be imported into the token store {} and removed \
                     (kept whole for restore)",
                    imp.prefix
                );
            }
            t.imported_files.push(shown);
        }
    }
}

/// mcp-remote token files no entry took, and caches that could not be read.
fn report_caches(c: &Caches, found: &[Location], home: Option<&std::path::Path>, t: &mut Tally) {
    for p in c.problems.borrow().iter() {
        t.not_protectable += 1;
        eprintln!("mcp-warden: mcp-remote OAuth cache: not imported: {p}");
    }
    for l in found {
        if c.took(&l.path) || !l.path.exists() {
            continue;
        }
        t.not_protectable += 1;
        eprintln!(
            "mcp-warden: {}: {}",
            display_path(&l.path, home),
            migrate::unimportable("mcp-remote")
        );
    }
}

/// After importing: the tokens sat in plaintext files; say which are gone
/// (and how many are still there, each named above).
fn import_note(files: usize, left: usize) {
    if files == 0 {
        return;
    }
    let removed = files.saturating_sub(left);
    eprintln!(
        "mcp-warden: {removed} plaintext OAuth file(s) imported and removed (kept whole in the store \
         for `mcp-warden restore`){}; their tokens were readable on disk until now: `mcp-warden \
         login URL` gets fresh ones and `mcp-warden logout URL` revokes them",
        if left > 0 {
            format!(", {left} imported but left on disk (named above; exit status 1)")
        } else {
            String::new()
        }
    );
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
    if t.imported > 0 {
        let verb = if apply { "imported" } else { "would import" };
        line.push_str(&format!(
            "; {verb} {} mcp-remote OAuth cache(s) ({} file(s))",
            t.imported,
            t.imported_files.len()
        ));
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

/// What applying a file needs.
struct Ctx<'a> {
    registry: &'a Arc<Registry>,
    paths: &'a Paths,
    /// For the imports' discovery (set when the file has an import).
    http: Option<&'a crate::remote::Http>,
    timeout: Duration,
}

/// Store and verify every secret, note what the backend says about each,
/// import the OAuth caches, journal, write the file, then remove the
/// imported plaintext files. Returns one line per imported file left in place.
fn apply_one(ctx: &Ctx<'_>, prepared: &mut Prepared) -> Result<Vec<String>, String> {
    let secrets: Vec<_> = prepared.secrets().collect();
    let registry = ctx.registry.as_ref();
    let timeout = ctx.timeout;
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
    let mut imported = Imported::default();
    if let Err(e) = import_caches(ctx, prepared, &mut imported) {
        undo(ctx, prepared, &imported);
        return Err(e);
    }
    let written = match protect::write_journal(ctx.paths.data_dir(), prepared) {
        Ok(w) => w,
        Err(e) => {
            undo(ctx, prepared, &imported);
            return Err(e);
        }
    };
    if let Err(e) = protect::write_file(prepared) {
        // The file is unchanged: its journal records would only confuse restore.
        for p in written {
            let _ = std::fs::remove_file(p);
        }
        undo(ctx, prepared, &imported);
        return Err(e);
    }
    let mut left = Vec::new();
    if imported.any {
        for r in &prepared.records {
            left.extend(import::remove_files(&r.files));
        }
    }
    Ok(left)
}

/// What this file's imports did so far.
#[derive(Default)]
struct Imported {
    /// Some import has files to remove.
    any: bool,
    /// The copies of cache files stored (taken back with the grants).
    written: Vec<String>,
}

/// Imports each entry's cache into the token store and notes it in the
/// entry's journal record. On a failure the caller undoes the grants and
/// copies already saved for this file.
fn import_caches(
    ctx: &Ctx<'_>,
    prepared: &mut Prepared,
    imported: &mut Imported,
) -> Result<(), String> {
    let Some(http) = ctx.http else {
        return Ok(());
    };
    for i in 0..prepared.plan.entries.len() {
        let Some(imp) = &prepared.plan.entries[i].import else {
            continue;
        };
        let server = prepared.plan.entries[i].server.clone();
        let d = block_on(import::import(ctx.registry, ctx.paths, http, imp))
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("{server}: cannot import mcp-remote's OAuth cache: {e}"))?;
        imported.any |= !d.files.is_empty();
        imported.written.extend(d.written);
        if let Some(r) = prepared.records.get_mut(i) {
            r.files = d.files;
            r.grant = d.grant;
        }
    }
    Ok(())
}

/// Takes back what this file's imports saved (after a later step failed):
/// the grants are forgotten, the stored copies deleted.
fn undo(ctx: &Ctx<'_>, prepared: &Prepared, imported: &Imported) {
    for g in prepared.records.iter().filter_map(|r| r.grant.as_ref()) {
        if let Ok(Err(e)) = block_on(import::forget(ctx.registry, ctx.paths, g)) {
            eprintln!(
                "mcp-warden: {}: the imported grant could not be taken back: {e}",
                g.resource
            );
        }
    }
    let left = block_on(import::delete_stored(ctx.registry, &imported.written));
    for e in left.into_iter().flatten() {
        eprintln!("mcp-warden: a stored copy could not be deleted: {e}");
    }
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
            for p in &fr.put_back {
                eprintln!(
                    "mcp-warden: {}: would be put back ({} bytes, mode {:04o})",
                    display_path(&p.path, home.as_deref()),
                    p.bytes.len(),
                    p.mode
                );
            }
            if changes {
                out(&diff::unified(
                    &shown,
                    &fr.current,
                    &fr.restored,
                    &fr.masker(),
                ))?;
            }
            restored += fr.restored_entries.len() + fr.removed_entries.len();
            continue;
        }
        if let Err(e) = fr.put_back.iter().try_for_each(import::put_back) {
            failed += 1;
            eprintln!("mcp-warden: {shown}: not restored: {e}");
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
        for p in &fr.put_back {
            eprintln!(
                "mcp-warden: {}: put back",
                display_path(&p.path, home.as_deref())
            );
        }
        for g in &fr.grants {
            if let Ok(Err(e)) = block_on(import::forget(&registry, &paths, g)) {
                failed += 1;
                eprintln!(
                    "mcp-warden: {shown}: the imported grant for {} stays in the token store: {e}",
                    g.resource
                );
            }
        }
        for s in &fr.restored_entries {
            eprintln!("mcp-warden: {shown}: {s}: restored");
        }
        for s in &fr.removed_entries {
            eprintln!("mcp-warden: {shown}: {s}: removed (it was written by `mcp-warden add`)");
        }
        left_stored_note(&fr.left_stored);
        restored += fr.restored_entries.len() + fr.removed_entries.len();
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

/// The secrets `add` stored for entries restore removed: they stay in their
/// backend (another entry or profile may use them); say where.
fn left_stored_note(refs: &[String]) {
    for r in refs {
        eprintln!(
            "mcp-warden: {r}: left in its backend (stored by `mcp-warden add`); \
             `mcp-warden secret rm {r}` deletes it"
        );
    }
}
