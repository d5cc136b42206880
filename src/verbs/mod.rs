//! The verbs: one module per command, each turning parsed arguments into work
//! done by the lower layers (resolve, launch, proxy, backend).
//!
//! Owns the edge error type that `main` prints as one line and maps to an exit
//! code, and the helpers every verb shares (the runtime, the data directory,
//! the config files selected by the shared options, reading `run`'s options,
//! reading a secret value from a file, a no-echo prompt or stdin).
//! Verbs never call each other: what two verbs share lives here or below.
//! Verbs may print; the layers below them must not.

pub mod add;
pub mod audit;
mod bridge;
pub mod completions;
pub mod connect;
pub mod doctor;
mod first_run;
pub mod headers;
pub mod inventory;
pub mod login;
pub mod logout;
mod minted;
pub mod pin;
pub mod protect;
pub mod rotate;
mod rotation_gate;
pub mod run;
pub mod scan;
pub mod secret;
mod servers;

use crate::backend::BackendError;
use crate::exit::{Code, ExitStatus};
use crate::launch::LaunchError;
use crate::reference::ParseError;
use crate::resolve::{ResolveError, ResolveFailure};
use crate::secret::SecretValue;
use std::io::{IsTerminal, Read};

/// Everything a verb can fail with, as one line for the user.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad command line; the message says how to fix it.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Reference(#[from] ParseError),
    #[error(transparent)]
    Resolve(#[from] ResolveFailure),
    #[error(transparent)]
    ResolveOne(#[from] ResolveError),
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Launch(#[from] LaunchError),
    /// `connect`'s endpoint and client set-up.
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    /// OAuth: discovery, authorization, tokens.
    #[error(transparent)]
    OAuth(#[from] crate::oauth::OAuthError),
    /// Storing a new value and reading it back (`rotate`).
    #[error(transparent)]
    Store(#[from] crate::rotation::StoreError),
    /// Profiles and pins (78 config, 77 refused by the pin policy, 64 usage).
    #[error(transparent)]
    Govern(#[from] crate::govern::GovernError),
    /// Our own files or streams.
    #[error("{0}")]
    Io(String),
    /// A value that cannot be used where it is needed (65).
    #[error("{0}")]
    Data(String),
    /// A configuration problem found by a verb.
    #[error("{0}")]
    Config(String),
    /// A bug: should never happen.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ExitStatus for Error {
    fn exit_code(&self) -> Code {
        match self {
            Error::Usage(_) | Error::Reference(_) => Code::Usage,
            Error::Resolve(e) => e.exit_code(),
            Error::ResolveOne(e) => e.exit_code(),
            Error::Backend(e) => e.exit_code(),
            Error::Launch(e) => e.exit_code(),
            Error::Remote(e) => e.exit_code(),
            Error::Govern(e) => e.exit_code(),
            Error::Store(e) => e.exit_code(),
            Error::OAuth(e) => e.exit_code(),
            Error::Io(_) => Code::IoErr,
            Error::Data(_) => Code::DataErr,
            Error::Config(_) => Code::Config,
            Error::Internal(_) => Code::Software,
        }
    }
}

impl From<crate::govern::pin_check::PinError> for Error {
    fn from(e: crate::govern::pin_check::PinError) -> Self {
        use crate::govern::pin_check::PinError;
        match e {
            PinError::Lookup(l) => Error::Launch(LaunchError::Lookup(l)),
            PinError::Govern(g) => Error::Govern(g),
        }
    }
}

impl Error {
    /// The process exit code for this failure (launch failures follow shell conventions).
    pub fn process_exit_code(&self) -> i32 {
        match self {
            Error::Launch(e) => e.process_exit_code(),
            other => other.exit_code().as_i32(),
        }
    }
}

/// Writes `text` to stdout (a closed pipe is not an error).
pub fn write_stdout(text: &str) -> Result<(), Error> {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    match o.write_all(text.as_bytes()).and_then(|()| o.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::Io(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(()),
    }
}

/// The mcp-warden a rewritten entry runs: `--warden PATH`, else this
/// executable (canonical). `protect` and `add` write it into configs.
pub(super) fn warden_path(given: Option<&std::path::PathBuf>) -> Result<String, Error> {
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

/// Values larger than this are refused: they are not secrets, and env vars cap out well below.
pub const MAX_VALUE: u64 = 1 << 20;

/// A value from a file (at most [`MAX_VALUE`] bytes, kept as it is).
pub fn read_value_file(path: &std::path::Path) -> Result<SecretValue, Error> {
    // a value mistaken for a path (`--from-file VAR=$TOKEN`) must not be
    // printed: a path that is not a file is not shown
    let io = |e: std::io::Error| {
        if path.is_file() {
            Error::Io(format!("cannot read {}: {e}", path.display()))
        } else {
            Error::Usage(
                "the file to read the value from does not exist (its name is not shown)".into(),
            )
        }
    };
    // Read at most one byte past the limit into a buffer that never reallocates.
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(MAX_VALUE as usize + 1));
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_VALUE + 1).read_to_end(&mut buf))
        .map_err(io)?;
    if buf.len() as u64 > MAX_VALUE {
        return Err(Error::Usage(format!(
            "{} is over {MAX_VALUE} bytes; not a secret",
            path.display()
        )));
    }
    Ok(SecretValue::from_slice(&buf))
}

/// A value from a no-echo prompt on a terminal (`LABEL (input hidden): `,
/// asked twice), else all of stdin (one trailing newline dropped unless
/// `keep_newline`).
pub fn read_value(label: &str, keep_newline: bool) -> Result<SecretValue, Error> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        let first = zeroize::Zeroizing::new(
            rpassword::prompt_password(format!("{label} (input hidden): "))
                .map_err(|e| Error::Io(format!("cannot prompt: {e}")))?,
        );
        let again = zeroize::Zeroizing::new(
            rpassword::prompt_password("Again: ")
                .map_err(|e| Error::Io(format!("cannot prompt: {e}")))?,
        );
        if *first != *again {
            return Err(Error::Usage(
                "the two entries differ; nothing was stored".into(),
            ));
        }
        return Ok(SecretValue::from_slice(first.as_bytes()));
    }
    // Sized for the largest accepted value so the buffer never reallocates
    // (a reallocation would leave an unzeroized copy behind).
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(MAX_VALUE as usize + 1));
    stdin
        .lock()
        .take(MAX_VALUE + 1)
        .read_to_end(&mut buf)
        .map_err(|e| Error::Io(format!("cannot read stdin: {e}")))?;
    if buf.len() as u64 > MAX_VALUE {
        return Err(Error::Usage(format!(
            "stdin is over {MAX_VALUE} bytes; not a secret"
        )));
    }
    if !keep_newline {
        let len = buf.len();
        if buf.ends_with(b"\r\n") {
            buf.truncate(len - 2);
        } else if buf.ends_with(b"\n") {
            buf.truncate(len - 1);
        }
    }
    Ok(SecretValue::from_slice(&buf))
}

/// Runs `work` to completion on a current-thread runtime: one thread keeps
/// start-up cheap, and the thread that spawns the child outlives it (the
/// parent-death signal is per thread). The runtime is then shut down without
/// waiting for blocking threads: a read of a terminal, or of a stalled mount
/// the resolver already gave up on, must not keep mcp-warden from exiting.
pub fn block_on<F: std::future::Future>(work: F) -> Result<F::Output, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("cannot start the async runtime: {e}")))?;
    let out = rt.block_on(work);
    rt.shutdown_background();
    Ok(out)
}

/// The working directory, or an error naming it.
pub fn current_dir() -> Result<std::path::PathBuf, Error> {
    std::env::current_dir().map_err(|e| Error::Io(format!("current directory: {e}")))
}

/// mcp-warden's data directory, or a configuration error saying how to set it.
pub fn data_paths() -> Result<crate::paths::Paths, Error> {
    crate::paths::Paths::from_env().ok_or_else(|| {
        Error::Config("cannot find a data directory: set MCP_WARDEN_HOME or HOME".into())
    })
}

/// The backends, built lazily, with default settings and `timeout` per reference.
pub fn default_registry(timeout: std::time::Duration) -> Result<crate::backend::Registry, Error> {
    Ok(crate::backend::Registry::new(crate::backend::Settings {
        paths: data_paths()?,
        aws_region: None,
        aws_profile: None,
        timeout,
        cloud: Default::default(),
    }))
}

/// Like [`block_on`], for work that talks to backends: afterwards, leases and
/// login tokens the backends obtained (a Vault AppRole login, a dynamic
/// secret) are revoked instead of being left to their TTL.
pub fn block_on_backends<F: std::future::Future>(
    registry: &crate::backend::Registry,
    work: F,
) -> Result<F::Output, Error> {
    block_on(async {
        let out = work.await;
        let held = registry.held();
        if !held.is_empty() {
            let report: crate::backend::lease::Report =
                std::sync::Arc::new(|line| eprintln!("mcp-warden: {line}"));
            crate::backend::lease::Keeper::start(held, registry.settings().timeout, report)
                .release()
                .await;
        }
        out
    })
}

/// Parses a duration like `10s`, `1500ms`, or a bare number of seconds.
pub fn parse_duration(flag: &str, text: &str) -> Result<std::time::Duration, Error> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Ok(std::time::Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(t).map_err(|_| {
        Error::Usage(format!(
            "{flag} takes a duration, e.g. 10s or 1500ms (the value given is not one)"
        ))
    })
}

/// The config files `scan`, `protect`, `inventory` and `doctor` read, from
/// their shared options; says on stderr when the bound on project roots left
/// some out.
pub fn discover(d: &crate::cli::Discover) -> Result<crate::scan::discover::Found, Error> {
    use crate::scan::discover::{DiscoverError, Options};
    use crate::scan::projects::MAX_ROOTS;
    let found = crate::scan::discover::discover(&Options {
        paths: &d.paths,
        home: d.home.clone(),
        families: families(d.os),
        no_system: d.no_system,
        no_projects: d.no_projects,
    })
    .map_err(|e| match e {
        DiscoverError::NoHome => Error::Config(e.to_string()),
        DiscoverError::HomeNotADirectory(_) | DiscoverError::NoSuchPath(_) => {
            Error::Usage(e.to_string())
        }
    })?;
    tracing::info!(
        "{} mode: {} config file(s) to read, {} unreadable entries",
        found.mode,
        found.locations.len(),
        found.problems.len()
    );
    for l in &found.locations {
        tracing::debug!("found {} ({})", l.path.display(), l.client);
    }
    if let Some(p) = found.projects.as_ref().filter(|p| p.over_limit > 0) {
        eprintln!(
            "mcp-warden: {} more project folders are known than the {MAX_ROOTS} followed; \
             scan them with `mcp-warden scan PATH`",
            p.over_limit
        );
    }
    Ok(found)
}

/// `--os` as the OS path sets to look in.
fn families(os: crate::cli::ScanOs) -> &'static [crate::clients::OsFamily] {
    use crate::cli::ScanOs;
    use crate::clients::OsFamily;
    match os {
        ScanOs::Current => match OsFamily::current() {
            OsFamily::Linux => &[OsFamily::Linux],
            OsFamily::MacOs => &[OsFamily::MacOs],
            OsFamily::Windows => &[OsFamily::Windows],
        },
        ScanOs::Linux => &[OsFamily::Linux],
        ScanOs::Macos => &[OsFamily::MacOs],
        ScanOs::Windows => &[OsFamily::Windows],
        ScanOs::All => &[OsFamily::Linux, OsFamily::MacOs, OsFamily::Windows],
    }
}

/// A wrapper's own arguments (before `--`) read as `run`'s command line, with
/// the same clap definitions, so what `inventory` and `doctor` find in an
/// entry is what `run` would use; `None` when `run` would refuse them.
pub fn run_options(ours: &[&str]) -> Option<crate::govern::entry::RunOptions> {
    use clap::Parser;
    let mut rest: Vec<std::ffi::OsString> = ours.iter().map(std::ffi::OsString::from).collect();
    rest.push("--".into());
    rest.push("true".into());
    // mcp-secret-wrapper's parameters as `run` reads them (a credential among them: none)
    let rest = crate::govern::wrapper::normalize(&rest).ok()?;
    let line: Vec<std::ffi::OsString> = ["mcp-warden".into(), "run".into()]
        .into_iter()
        .chain(rest)
        .collect();
    let crate::cli::Command::Run(args) = crate::cli::Cli::try_parse_from(line).ok()?.command else {
        return None;
    };
    Some(crate::govern::entry::RunOptions {
        assignments: args.assignments,
        vault_type: args.vault_type,
        vault_region: args.vault_region,
        vault_profile: args.vault_profile,
        vault_params: args.vault_params,
    })
}

/// `connect`'s arguments (after `connect`) read with its own clap
/// definitions: its `NAME=REF` arguments, or `None` when connect would
/// refuse the command line.
pub fn connect_assignments(args: &[&str]) -> Option<Vec<String>> {
    use clap::Parser;
    let line = ["mcp-warden", "connect"]
        .into_iter()
        .chain(args.iter().copied());
    match crate::cli::Cli::try_parse_from(line).ok()?.command {
        crate::cli::Command::Connect(a) => Some(a.assignments),
        _ => None,
    }
}

/// The CLI's readers of `run` and `connect` command lines, for `inventory`
/// and `doctor`.
pub fn entry_parsers() -> crate::govern::entry::Parsers<'static> {
    crate::govern::entry::Parsers {
        run: &run_options,
        connect: &connect_assignments,
    }
}

/// Dispatches a parsed command line. Returns the process exit code.
pub fn dispatch(cli: crate::cli::Cli) -> Result<i32, Error> {
    use crate::cli::Command;
    // Not for `run` and `connect`: a client starts them, their stderr goes to
    // its log, they may outlive another command that creates the store, and
    // `run --exec` never returns. `login` (OAuth tokens) and `secret`,
    // `protect`, `add` are what a person runs in a terminal.
    let long_running = matches!(cli.command, Command::Run(_) | Command::Connect(_));
    let watch = (!long_running).then(first_run::Watch::before);
    let out = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Add(args) => add::run(args),
        Command::Connect(args) => connect::run(args),
        Command::Login(args) => login::run(args),
        Command::Logout(args) => logout::run(args),
        Command::Pin(args) => pin::run(args),
        Command::Secret(cmd) => secret::run(cmd),
        Command::Rotate(args) => rotate::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Headers(args) => headers::run(args),
        Command::Inventory(args) => inventory::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Protect(args) => protect::protect(args),
        Command::Restore(args) => protect::restore(args),
        Command::Completions { shell } => completions::run(shell),
    };
    if let Some(w) = watch {
        w.after();
    }
    out
}
