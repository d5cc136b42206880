//! `secret set|get|ls|rm|info`: manage secrets on the local store or any
//! writable backend.
//!
//! Reads a value safely (stdin, a no-echo prompt, or a file — never argv:
//! the readers in `verbs/mod.rs`, shared with `add`) and presents metadata. Values reach stdout only through `get`.

use std::io::{IsTerminal, Write};
use std::time::SystemTime;

use super::{Error, block_on_backends};
use crate::backend::local::LocalBackend;
use crate::backend::{Registry, SecretInfo, Settings, WriteOutcome};
use crate::cli::SecretCommand;
use crate::reference::{Scheme, SecretRef};
use crate::resolve::{ResolveError, fetch_one};

fn registry() -> Result<Registry, Error> {
    Ok(Registry::new(Settings {
        paths: super::data_paths()?,
        aws_region: None,
        aws_profile: None,
        timeout: std::time::Duration::from_secs(10),
        cloud: Default::default(),
    }))
}

/// A local name or a full reference.
fn target(text: &str) -> Result<SecretRef, Error> {
    Ok(SecretRef::parse_or_bare(text, Scheme::Local)?)
}

fn no_selector(r: &SecretRef, verb: &str) -> Result<(), Error> {
    if r.selector.is_some() {
        return Err(Error::Usage(format!(
            "`secret {verb}` takes no #selector: it works on the whole secret"
        )));
    }
    Ok(())
}

pub fn run(cmd: SecretCommand) -> Result<i32, Error> {
    match cmd {
        SecretCommand::Set {
            target: t,
            from_file,
            keep_newline,
        } => {
            let r = target(&t)?;
            no_selector(&r, "set")?;
            let value = match from_file {
                Some(path) => super::read_value_file(&path)?,
                None => super::read_value("Value", keep_newline)?,
            };
            if value.is_empty() {
                return Err(Error::Usage("refusing to store an empty value".into()));
            }
            let reg = registry()?;
            let backend = reg.get(r.scheme)?;
            let outcome = block_on_backends(&reg, backend.write(&r, &value))??;
            let verb = match outcome {
                WriteOutcome::Created => "created",
                WriteOutcome::Updated => "updated",
            };
            eprintln!("mcp-warden: {verb} {r}");
            Ok(0)
        }
        SecretCommand::Get { target: t } => {
            let r = target(&t)?;
            let reg = registry()?;
            let value = block_on_backends(&reg, fetch_one(&reg, &r))?.map_err(|e| match e {
                ResolveError::Backend { source, .. } => Error::Backend(source),
                other => Error::ResolveOne(other),
            })?;
            let mut out = std::io::stdout().lock();
            let tty = out.is_terminal();
            out.write_all(value.expose())
                .and_then(|_| if tty { out.write_all(b"\n") } else { Ok(()) })
                .and_then(|_| out.flush())
                .map_err(|e| Error::Io(format!("cannot write to stdout: {e}")))?;
            Ok(0)
        }
        SecretCommand::Rm { target: t } => {
            let r = target(&t)?;
            no_selector(&r, "rm")?;
            let reg = registry()?;
            let backend = reg.get(r.scheme)?;
            block_on_backends(&reg, backend.delete(&r))??;
            eprintln!("mcp-warden: deleted {r}");
            Ok(0)
        }
        SecretCommand::Ls { scope, json } => ls(scope.as_deref(), json),
        SecretCommand::Info => info(),
    }
}

fn ls(scope: Option<&str>, json: bool) -> Result<i32, Error> {
    let (scheme, prefix, params) = match scope {
        None => (Scheme::Local, String::new(), Vec::new()),
        Some(s) => {
            let bare = s.strip_suffix("://").unwrap_or(s);
            if let Some(scheme) = Scheme::from_name(bare) {
                (scheme, String::new(), Vec::new())
            } else {
                let r = target(s)?;
                (r.scheme, r.location, r.params)
            }
        }
    };
    let reg = registry()?;
    let backend = reg.get(scheme)?;
    let mut items = block_on_backends(&reg, backend.list(&prefix, &params))??;
    items.sort_by(|a, b| a.name.cmp(&b.name));
    let mut out = std::io::stdout().lock();
    let w =
        |r: std::io::Result<()>| r.map_err(|e| Error::Io(format!("cannot write to stdout: {e}")));
    if json {
        for i in &items {
            let line = serde_json::json!({
                "name": i.name,
                "created": time_text(i.created),
                "updated": time_text(i.updated),
                "rotated": time_text(i.rotated),
                "version": i.version,
            });
            w(writeln!(out, "{line}"))?;
        }
    } else {
        w(write_table(&mut out, &items))?;
    }
    Ok(0)
}

fn time_text(t: Option<SystemTime>) -> Option<String> {
    t.map(|t| humantime::format_rfc3339_seconds(t).to_string())
}

fn write_table(out: &mut impl Write, items: &[SecretInfo]) -> std::io::Result<()> {
    let rotated = items.iter().any(|i| i.rotated.is_some());
    let width = items.iter().map(|i| i.name.len()).max().unwrap_or(0).max(4);
    let dash = |t: Option<SystemTime>| time_text(t).unwrap_or_else(|| "-".into());
    write!(out, "{:width$}  {:20}  {:20}", "NAME", "CREATED", "UPDATED")?;
    if rotated {
        write!(out, "  ROTATED")?;
    }
    writeln!(out)?;
    for i in items {
        write!(
            out,
            "{:width$}  {:20}  {:20}",
            i.name,
            dash(i.created),
            dash(i.updated)
        )?;
        if rotated {
            write!(out, "  {}", dash(i.rotated))?;
        }
        writeln!(out)?;
    }
    Ok(())
}

fn info() -> Result<i32, Error> {
    let info = LocalBackend::new(super::data_paths()?).info();
    println!("data directory: {}", info.data_dir.display());
    println!(
        "local store:    {}{}",
        info.store.display(),
        if info.exists {
            ""
        } else {
            " (not created yet)"
        }
    );
    if info.exists {
        println!("store key:      {}", info.key);
    } else {
        println!(
            "store key:      created with the store: in the OS keychain when usable, else in {} ({}=file|keyring decides)",
            info.data_dir.join("store.key").display(),
            crate::backend::local::key::KEY_STORE_ENV
        );
    }
    if let Some(n) = info.secrets {
        println!("secrets:        {n}");
    }
    match info.problem {
        Some(p) => Err(Error::Config(p)),
        None => Ok(0),
    }
}
