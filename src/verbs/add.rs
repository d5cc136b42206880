//! `add`: write a new server entry, already protected, into one client's
//! config. The arguments become one [`AddPlan`]; the entry is planned and
//! checked by `protect::add` (the editor, journal and restore protect
//! uses). Dry run by default: a diff, nothing asked, stored or written.
//! With `--apply`: values are read (no-echo prompt, stdin, or a file),
//! stored and read back, existing references checked readable, and only
//! then the journal and the file are written.
//!
//! With `--profile` the server is declared as a profile in the user config
//! (`govern::declare`), its command pinned as `pin @NAME` would (hashed
//! before any secret is stored), and the entry runs `mcp-warden run @NAME`.
//!
//! Owns parsing `--secret` / `--from-file`, the order of work and what is
//! printed; never prints or echoes a value (a `VAR=...` that is not a
//! reference is refused without being shown).

use std::path::PathBuf;
use std::time::Duration;

use super::{Error, block_on_backends, parse_duration};
use crate::backend::{ErrorKind, Registry};
use crate::cli::{AddArgs, AddScope};
use crate::clients::{Location, OsFamily, catalog};
use crate::govern::pin_check::{PinError, describe, rerecord};
use crate::govern::{declare, pin, profile};
use crate::protect::add::{self as adding, AddError, Added, NewEntry, WriteError};
use crate::protect::naming::{NameParts, Target};
use crate::protect::plan::{Secret, connect_argv_for_add};
use crate::protect::store::{Stored, store};
use crate::protect::{diff, mask};
use crate::reference::SecretRef;
use crate::resolve::{ResolveError, fetch_one};
use crate::scan::report::display_path;
use crate::secret::SecretValue;

/// Where one secret's value comes from.
enum Source {
    /// Asked for (a terminal) or read from stdin, then stored.
    Ask,
    /// Read from this file, then stored.
    File(PathBuf),
    /// An existing reference: nothing stored.
    Existing,
}

/// One `--secret`: its variable, where its value comes from, its reference.
struct SecretSpec {
    var: String,
    source: Source,
    reference: SecretRef,
}

/// What the server launches.
enum Launch {
    Command(Vec<String>),
    Remote { url: String, headers: Vec<String> },
}

/// Everything `add` does, decided from its arguments before any work.
pub struct AddPlan {
    location: Location,
    name: String,
    secrets: Vec<SecretSpec>,
    launch: Launch,
    warden: String,
    apply: bool,
    replace: bool,
    /// Declare a pinned profile and write `run @NAME`.
    profile: bool,
    timeout: Duration,
    /// For showing paths.
    home: Option<PathBuf>,
}

pub fn run(args: AddArgs) -> Result<i32, Error> {
    let plan = AddPlan::from_args(args)?;
    let mut added = match adding::prepare(NewEntry {
        location: plan.location.clone(),
        server: &plan.name,
        argv: plan.argv()?,
        replace: plan.replace,
    }) {
        Ok(a) => a,
        Err(e @ (AddError::Exists(_) | AddError::Refused(_))) => {
            return Err(Error::Config(format!("{}: {e}", plan.shown())));
        }
    };
    for w in &added.warnings {
        eprintln!("mcp-warden: {}: warning: {w}", plan.shown());
    }
    let profile = plan.profile.then(|| profile_plan(&plan)).transpose()?;
    if !plan.apply {
        if let Some(p) = &profile {
            show_profile(p)?;
        }
        return dry_run(&plan, &added);
    }
    apply(&plan, &mut added, profile.as_ref())
}

/// `--profile`: the profile to declare and what its command runs now.
struct ProfilePlan {
    declared: declare::Declared,
    observed: pin::Observed,
}

fn profile_plan(plan: &AddPlan) -> Result<ProfilePlan, Error> {
    let Launch::Command(command) = &plan.launch else {
        return Err(Error::Usage(
            "--profile takes a command after --, not --url".into(),
        ));
    };
    let config = profile::config_path().ok_or_else(|| {
        Error::Config(
            "cannot find a config directory: set MCP_WARDEN_CONFIG or MCP_WARDEN_HOME".into(),
        )
    })?;
    let env: Vec<(String, String)> = plan
        .secrets
        .iter()
        .map(|s| (s.var.clone(), s.reference.to_string()))
        .collect();
    let declared = declare::plan(&config, &plan.name, command, &env)?;
    // What runs is hashed now, before the profile is ever handed a secret.
    let cwd = super::current_dir()?;
    let path_var = std::env::var_os("PATH");
    let observed = pin::observe(&command[0], &command[1..], path_var.as_deref(), &cwd)
        .map_err(|e| Error::from(PinError::from(e)))?;
    if !observed.gaps.is_empty() {
        return Err(Error::Config(format!(
            "cannot pin @{}: {}",
            plan.name,
            observed.gaps.join("; ")
        )));
    }
    Ok(ProfilePlan { declared, observed })
}

/// The profile's diff and what would be pinned.
fn show_profile(p: &ProfilePlan) -> Result<(), Error> {
    let masker = mask::Masker::new(crate::clients::Format::Toml, std::iter::empty());
    super::write_stdout(&diff::unified(
        &p.declared.path.display().to_string(),
        p.declared.before.as_bytes(),
        p.declared.after.as_bytes(),
        &masker,
    ))?;
    eprintln!("mcp-warden: would pin {}", describe(&p.observed));
    Ok(())
}

/// Declares the profile and pins it (after the secrets are stored, before
/// the entry is written).
fn declare_and_pin(plan: &AddPlan, p: &ProfilePlan) -> Result<(), Error> {
    declare::write(&p.declared)?;
    let cfg = profile::load(&p.declared.path)?;
    let prof = cfg.get(&plan.name)?;
    eprintln!("mcp-warden: {}", rerecord(&cfg, prof, &p.observed)?);
    Ok(())
}

impl AddPlan {
    fn from_args(args: AddArgs) -> Result<Self, Error> {
        check_name(&args.name)?;
        let timeout = parse_duration("--timeout", &args.timeout)?;
        let target = Target::new(&args.to, &args.name_template).map_err(Error::Usage)?;
        let client = client_id(&args.client);
        let location = location(&args, client)?;
        let launch = match (&args.url, args.command.is_empty()) {
            (Some(url), true) => Launch::Remote {
                url: url.clone(),
                headers: args.headers.clone(),
            },
            (None, false) => Launch::Command(args.command.clone()),
            (Some(_), false) => {
                return Err(Error::Usage(
                    "give --url or a command after --, not both".into(),
                ));
            }
            (None, true) => {
                return Err(Error::Usage(
                    "nothing to add: give the server's command after -- (or --url URL)".into(),
                ));
            }
        };
        // As protect names them: {project} only for a project-level file.
        let project = (location.scope == crate::clients::Scope::Project)
            .then(|| catalog::project_root(&location.path))
            .flatten()
            .map(|p| p.to_string_lossy().into_owned());
        let naming = Naming {
            target: &target,
            client: location.client,
            project: project.as_deref(),
            server: &args.name,
            scope: location.scope.as_str(),
        };
        let secrets = secret_specs(&args.secrets, &args.from_file, &naming)?;
        Ok(Self {
            home: match &args.home {
                Some(h) => std::path::absolute(h).ok(),
                None => std::env::home_dir(),
            },
            location,
            name: args.name,
            secrets,
            launch,
            warden: super::warden_path(args.warden.as_ref())?,
            apply: args.apply,
            replace: args.replace,
            profile: args.profile,
            timeout,
        })
    }

    fn shown(&self) -> String {
        display_path(&self.location.path, self.home.as_deref())
    }

    /// The entry's command line: `mcp-warden run VAR=REF... -- COMMAND...`
    /// or `mcp-warden connect URL VAR=REF... --header=...`.
    fn argv(&self) -> Result<Vec<String>, Error> {
        let assignments: Vec<String> = self
            .secrets
            .iter()
            .map(|s| format!("{}={}", s.var, s.reference))
            .collect();
        let mut argv = vec![self.warden.clone()];
        match &self.launch {
            Launch::Command(_) if self.profile => {
                argv.push("run".into());
                argv.push(format!("@{}", self.name));
            }
            Launch::Command(command) => {
                argv.push("run".into());
                argv.extend(assignments);
                argv.push("--".into());
                argv.extend(command.iter().cloned());
            }
            Launch::Remote { url, headers } => {
                let vars: Vec<String> = self.secrets.iter().map(|s| s.var.clone()).collect();
                argv.extend(
                    connect_argv_for_add(url, headers, assignments, &vars).map_err(Error::Usage)?,
                );
            }
        }
        Ok(argv)
    }
}

/// The client ids the catalog uses (`gemini` is Gemini CLI).
fn client_id(given: &str) -> &str {
    match given {
        "gemini" => "gemini-cli",
        other => other,
    }
}

/// A name clients accept as a key and people can type: no control characters, not empty.
fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
        return Err(Error::Usage(
            "NAME must be 1 to 200 characters without control characters".into(),
        ));
    }
    Ok(())
}

/// The file the entry goes to.
fn location(args: &AddArgs, client: &str) -> Result<Location, Error> {
    let unknown = || {
        Error::Usage(format!(
            "--client {client:?}: add writes {}",
            crate::clients::shape::ADDABLE.join(", ")
        ))
    };
    if !crate::clients::shape::ADDABLE.contains(&client) {
        return Err(unknown());
    }
    match args.scope {
        AddScope::User => {
            let home = match &args.home {
                Some(h) => std::path::absolute(h)
                    .map_err(|e| Error::Usage(format!("--home {}: {e}", h.display())))?,
                None => std::env::home_dir().ok_or_else(|| {
                    Error::Config("cannot find your home directory; pass --home".into())
                })?,
            };
            let from_env = |name: &str| std::env::var(name).ok();
            let no_env = |_: &str| None;
            let env: &dyn Fn(&str) -> Option<String> = if args.home.is_some() {
                &no_env
            } else {
                &from_env
            };
            catalog::user_config(&home, OsFamily::current(), env, client).ok_or_else(unknown)
        }
        AddScope::Project => {
            let root = match &args.project_dir {
                Some(d) => d.clone(),
                None => super::current_dir()?,
            };
            let root = std::fs::canonicalize(&root)
                .map_err(|e| Error::Usage(format!("--project-dir {}: {e}", root.display())))?;
            catalog::project_config(&root, client).ok_or_else(|| {
                Error::Usage(format!(
                    "{client} keeps no project-level config; use --scope user"
                ))
            })
        }
    }
}

/// How stored secrets are named (as protect names them).
struct Naming<'a> {
    target: &'a Target,
    client: &'a str,
    project: Option<&'a str>,
    server: &'a str,
    scope: &'a str,
}

/// An environment variable name: a letter or `_`, then letters, digits, `_`.
fn check_var(var: &str) -> Result<(), Error> {
    let mut chars = var.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        // The text is not shown: it may be a pasted value.
        Err(Error::Usage(
            "a --secret/--from-file variable must be a name like GITHUB_TOKEN (the text given is \
             not shown)"
                .into(),
        ))
    }
}

/// The `--secret` and `--from-file` arguments, each variable once.
fn secret_specs(
    secrets: &[String],
    files: &[String],
    naming: &Naming<'_>,
) -> Result<Vec<SecretSpec>, Error> {
    let mut out: Vec<SecretSpec> = Vec::new();
    for s in secrets {
        let (var, reference) = match s.split_once('=') {
            Some((v, r)) => (v, Some(r)),
            None => (s.as_str(), None),
        };
        check_var(var)?;
        let spec = match reference {
            Some(r) => SecretSpec {
                var: var.to_string(),
                source: Source::Existing,
                reference: existing_reference(var, r)?,
            },
            None => SecretSpec {
                var: var.to_string(),
                source: Source::Ask,
                reference: new_reference(var, naming)?,
            },
        };
        push_once(&mut out, spec)?;
    }
    for f in files {
        let Some((var, path)) = f.split_once('=') else {
            return Err(Error::Usage("--from-file takes VAR=PATH".into()));
        };
        check_var(var)?;
        let path = PathBuf::from(path);
        match out.iter_mut().find(|s| s.var == var) {
            Some(SecretSpec {
                source: source @ Source::Ask,
                ..
            }) => *source = Source::File(path),
            Some(_) => {
                return Err(Error::Usage(format!(
                    "{var} is given twice (a reference and --from-file)"
                )));
            }
            None => out.push(SecretSpec {
                var: var.to_string(),
                source: Source::File(path),
                reference: new_reference(var, naming)?,
            }),
        }
    }
    let asked = out
        .iter()
        .filter(|s| matches!(s.source, Source::Ask))
        .count();
    if asked > 1 && !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Err(Error::Usage(format!(
            "{asked} values to read but stdin is not a terminal: only one can come from stdin; \
             give the others with --from-file VAR=PATH"
        )));
    }
    Ok(out)
}

fn push_once(out: &mut Vec<SecretSpec>, spec: SecretSpec) -> Result<(), Error> {
    if out.iter().any(|s| s.var == spec.var) {
        return Err(Error::Usage(format!("{} is given twice", spec.var)));
    }
    out.push(spec);
    Ok(())
}

/// `VAR=REF`: a full reference (`SCHEME://...`), never a value; refused
/// without being shown otherwise.
fn existing_reference(var: &str, text: &str) -> Result<SecretRef, Error> {
    let not_shown = || {
        Error::Usage(format!(
            "--secret {var}=...: not a secret reference (SCHEME://LOCATION, e.g. \
             local://NAME); the text is not shown. A value never belongs on the command line: \
             give --secret {var} alone to be asked for it"
        ))
    };
    if !text.contains("://") {
        return Err(not_shown());
    }
    // the parser's message may quote part of the text (an unknown scheme)
    SecretRef::parse(text).map_err(|_| not_shown())
}

/// Where a new value of `var` is stored: `--to` and `--name-template`.
fn new_reference(var: &str, n: &Naming<'_>) -> Result<SecretRef, Error> {
    n.target
        .reference(&NameParts {
            client: n.client,
            project: n.project,
            server: n.server,
            var,
            scope: n.scope,
        })
        .map_err(Error::Usage)
}

/// A masker for a diff of `bytes`: every plaintext secret the file holds
/// already (another entry's key shown as context is masked, as in protect).
fn masker_for(location: &Location, bytes: &[u8]) -> mask::Masker {
    let found = crate::clients::read::parse(location.clone(), bytes)
        .map(|cfg| crate::scan::secret_texts(&cfg))
        .unwrap_or_default();
    mask::Masker::new(
        location.format,
        found.into_iter().map(|(t, m)| (t, m.display())),
    )
}

/// The diff the write would make, and what would be asked and stored.
fn dry_run(plan: &AddPlan, added: &Added) -> Result<i32, Error> {
    let shown = plan.shown();
    let masker = masker_for(&added.location, &added.original);
    super::write_stdout(&diff::unified(&shown, &added.original, &added.new, &masker))?;
    for s in &plan.secrets {
        let how = match &s.source {
            Source::Ask => format!(
                "would be asked for (or read from stdin) and stored as {}",
                s.reference
            ),
            // a value mistaken for a path must not be printed
            Source::File(p) if !p.is_file() => {
                return Err(Error::Usage(format!(
                    "--from-file {}=...: no such file (the text is not shown)",
                    s.var
                )));
            }
            Source::File(p) => format!(
                "would be read from {} and stored as {}",
                p.display(),
                s.reference
            ),
            Source::Existing => format!("uses {} (checked readable with --apply)", s.reference),
        };
        eprintln!("mcp-warden: {}: {how}", s.var);
    }
    let verb = if added.replaced { "replace" } else { "add" };
    let created = if added.create { " (a new file)" } else { "" };
    eprintln!(
        "mcp-warden: would {verb} {:?} in {shown}{created}; run again with --apply to do it",
        plan.name
    );
    Ok(0)
}

/// Reads and stores the values, checks the existing references, then writes.
fn apply(plan: &AddPlan, added: &mut Added, profile: Option<&ProfilePlan>) -> Result<i32, Error> {
    let registry = super::default_registry(plan.timeout)?;
    let mut secrets = Vec::new();
    for s in &plan.secrets {
        let value = match &s.source {
            Source::Existing => continue,
            Source::Ask => super::read_value(&s.var, false)?,
            Source::File(p) => super::read_value_file(p)?,
        };
        if value.is_empty() {
            return Err(Error::Data(format!(
                "{}: the value is empty; nothing stored",
                s.var
            )));
        }
        secrets.push(Secret {
            var: s.var.clone(),
            reference: s.reference.clone(),
            value,
            masked: "****".into(),
        });
    }
    let stored = block_on_backends(&registry, store_all(&registry, plan, &secrets))??;
    added.record.stored = stored.clone();
    if let Some(p) = profile {
        declare_and_pin(plan, p)?;
    }
    let data = super::data_paths()?;
    let shown = plan.shown();
    if let Err(e) = adding::write(data.data_dir(), added) {
        for r in &stored {
            eprintln!(
                "mcp-warden: {r}: stored, but the entry was not written (`mcp-warden secret rm {r}` deletes it)"
            );
        }
        return Err(match e {
            WriteError::Journal(m) => Error::Io(m),
            WriteError::File(m) => Error::Config(format!("{shown}: not changed: {m}")),
        });
    }
    for s in &plan.secrets {
        let what = match s.source {
            Source::Existing => "uses",
            _ => "stored and verified",
        };
        eprintln!("mcp-warden: {}: {what} {}", s.var, s.reference);
    }
    let verb = if added.replaced { "replaced" } else { "added" };
    eprintln!(
        "mcp-warden: {shown}: {}: {verb} (journaled: `mcp-warden restore` takes it out)",
        plan.name
    );
    Ok(0)
}

/// Checks every existing reference reads, then stores and reads back each
/// new value. Returns the references written now.
async fn store_all(
    registry: &Registry,
    plan: &AddPlan,
    secrets: &[Secret],
) -> Result<Vec<String>, Error> {
    for s in plan
        .secrets
        .iter()
        .filter(|s| matches!(s.source, Source::Existing))
    {
        readable(registry, &s.reference).await?;
    }
    let mut written = Vec::new();
    for s in secrets {
        probe(registry, &s.reference).await?;
        match store(registry, s).await {
            Ok(Stored::Written) => written.push(s.reference.to_string()),
            Ok(Stored::AlreadyThere) => {}
            Err(e) => {
                for r in &written {
                    eprintln!(
                        "mcp-warden: {r}: stored before the failure (`mcp-warden secret rm {r}` deletes it)"
                    );
                }
                return Err(Error::Config(format!(
                    "{e} (or reuse it with --secret {}={})",
                    s.var, s.reference
                )));
            }
        }
    }
    Ok(written)
}

fn backend_error(e: ResolveError) -> Error {
    match e {
        ResolveError::Backend { source, .. } => Error::Backend(source),
        other => Error::ResolveOne(other),
    }
}

/// An existing reference must resolve now (its value is dropped at once).
async fn readable(registry: &Registry, r: &SecretRef) -> Result<(), Error> {
    let v: SecretValue = fetch_one(registry, r).await.map_err(backend_error)?;
    drop(v);
    Ok(())
}

/// Before storing: the backend answers (an unreachable one fails with its
/// own exit code rather than as a store error).
async fn probe(registry: &Registry, r: &SecretRef) -> Result<(), Error> {
    match fetch_one(registry, r).await {
        Ok(_) => Ok(()),
        Err(ResolveError::Backend { source, .. }) if source.kind == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(backend_error(e)),
    }
}
