//! Command pins: what a profile runs, hashed, recorded, and compared.
//!
//! Owns [`observe`] (resolve the command with our own PATH lookup and hash
//! the file; hash an interpreter's script file; take a package runner's exact
//! spec; note what cannot be pinned) and [`open`] (the same, keeping each
//! hashed file open so that launch runs what was hashed: every file is
//! opened once and hashed through that descriptor), [`compare`] (a recorded
//! pin against what is observed now, as [`Change`]s that say which file and
//! which hash prefixes), [`verdict`] (what a pin mode makes of it), and
//! [`write`] (the `[servers.NAME.pinned]` table, edited in place with
//! `toml_edit` and replaced atomically). Reads and hashes files only: never
//! runs the command, never touches a backend.

use std::ffi::OsStr;
use std::fmt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use toml_edit::{DocumentMut, Item, TableLike, value};

use super::GovernError;
use super::interp::{self, Script};
use super::policy::PinMode;
use super::schema::{Src, Table};
use crate::launch::held::{HeldFile, Pinned};
use crate::launch::path::{LookupError, lookup};
use crate::scan::runner;

/// A file and the SHA-256 of its contents (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    pub path: PathBuf,
    pub sha256: String,
}

/// What a command line runs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// SHA-256 over the command and its arguments as configured.
    pub argv_sha256: String,
    /// The executable our PATH lookup finds (symlinks followed for the hash).
    pub command: FileHash,
    /// An interpreter's script file (absolute, canonical).
    pub script: Option<FileHash>,
    /// A package runner's exact spec, e.g. `npx @scope/pkg@1.2.3`.
    pub package: Option<String>,
    /// Why parts of the command cannot be pinned (unpinned package, module, remote script).
    pub gaps: Vec<String>,
}

/// A pin as recorded in `[servers.NAME.pinned]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub recorded_at: String,
    pub argv_sha256: String,
    /// `None` for a remote (`url`) profile: nothing runs here to hash.
    pub command: Option<FileHash>,
    pub script: Option<FileHash>,
    pub package: Option<String>,
}

/// One difference between a recorded pin and what runs now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The profile's command or arguments were edited.
    Argv,
    /// PATH now finds another file.
    CommandPath { expected: PathBuf, actual: PathBuf },
    /// The executable's contents changed.
    CommandHash {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    ScriptPath {
        expected: Option<PathBuf>,
        actual: Option<PathBuf>,
    },
    ScriptHash {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    Package {
        expected: Option<String>,
        actual: Option<String>,
    },
}

fn prefix(h: &str) -> &str {
    h.get(..12).unwrap_or(h)
}

fn opt_path(p: &Option<PathBuf>) -> String {
    p.as_ref()
        .map_or_else(|| "none".to_string(), |p| p.display().to_string())
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Argv => f.write_str("the profile's command or arguments were edited"),
            Change::CommandPath { expected, actual } => write!(
                f,
                "the command now resolves to {} (pinned: {})",
                actual.display(),
                expected.display()
            ),
            Change::CommandHash {
                path,
                expected,
                actual,
            } => write!(
                f,
                "executable {} changed: sha256 {}… pinned, {}… now",
                path.display(),
                prefix(expected),
                prefix(actual)
            ),
            Change::ScriptPath { expected, actual } => write!(
                f,
                "the script is now {} (pinned: {})",
                opt_path(actual),
                opt_path(expected)
            ),
            Change::ScriptHash {
                path,
                expected,
                actual,
            } => write!(
                f,
                "script {} changed: sha256 {}… pinned, {}… now",
                path.display(),
                prefix(expected),
                prefix(actual)
            ),
            Change::Package { expected, actual } => write!(
                f,
                "package spec changed: {} pinned, {} now",
                expected.as_deref().unwrap_or("none"),
                actual.as_deref().unwrap_or("none")
            ),
        }
    }
}

/// SHA-256 of an open file, reusing the hash cache in the data directory
/// while the file is unchanged (see `hash_cache`).
fn hash_held(held: &HeldFile) -> Result<String, GovernError> {
    let paths = crate::paths::Paths::from_env();
    super::hash_cache::sha256(held, paths.as_ref().map(|p| p.data_dir()), hash_now)
}

/// SHA-256 of an open file's contents, read now through its descriptor.
fn hash_now(held: &HeldFile) -> Result<String, GovernError> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = 0u64;
    loop {
        let n = held
            .file()
            .read_at(&mut buf, at)
            .map_err(GovernError::io(held.path()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        at += n as u64;
    }
    Ok(hex::encode(h.finalize()))
}

/// Opens `path` and hashes what was opened.
fn open_and_hash(path: &Path) -> Result<(HeldFile, String), GovernError> {
    let held = HeldFile::open(path).map_err(GovernError::io(path))?;
    let sha = hash_held(&held)?;
    Ok((held, sha))
}

/// SHA-256 over argv, each element length-prefixed (no ambiguity between `a b` and `"a b"`).
pub fn argv_sha256(command: &str, args: &[String]) -> String {
    let mut h = Sha256::new();
    for a in std::iter::once(command).chain(args.iter().map(String::as_str)) {
        h.update((a.len() as u64).to_le_bytes());
        h.update(a.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What stands for the argv of a remote (`url`) profile: its url and its
/// headers as configured (templates, not values). A change is a changed profile.
pub fn remote_argv_sha256(url: &str, headers: &[(String, String)]) -> String {
    let parts: Vec<String> = std::iter::once(url.to_string())
        .chain(headers.iter().map(|(k, v)| format!("{k}: {v}")))
        .collect();
    argv_sha256("connect", &parts)
}

/// A remote profile's pin: the hash of its url and headers, nothing to run.
pub fn record_remote(url: &str, headers: &[(String, String)]) -> Recorded {
    Recorded {
        recorded_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        argv_sha256: remote_argv_sha256(url, headers),
        command: None,
        script: None,
        package: None,
    }
}

/// What a pin mode makes of a remote profile's pin: a url or header change
/// (or a pin of a local server) is refused like a changed command line.
pub fn remote_verdict(
    server: &str,
    mode: PinMode,
    recorded: Option<&Recorded>,
    url: &str,
    headers: &[(String, String)],
) -> Verdict {
    if mode == PinMode::Off {
        return Verdict::Start(Vec::new());
    }
    match recorded {
        Some(r) if r.command.is_none() && r.argv_sha256 == remote_argv_sha256(url, headers) => {
            Verdict::Start(Vec::new())
        }
        Some(_) => Verdict::Refuse(format!(
            "@{server} does not match its pin, refusing to start (no secret was fetched): \
             its url or headers changed since it was pinned; review the change, then \
             `mcp-warden pin @{server} --update-pin`"
        )),
        None if mode == PinMode::Required => Verdict::Refuse(format!(
            "@{server} is not pinned and its profile requires pin = \"required\" (no secret was \
             fetched); record one with `mcp-warden pin @{server}`"
        )),
        None => Verdict::Start(vec![format!(
            "warning: unpinned: @{server} has no pin; record one with `mcp-warden pin @{server}`"
        )]),
    }
}

/// Why a launch is not pinned by its package spec (package runners only;
/// wrappers like `op run -- npx ...` are seen through). For ad-hoc
/// `run --pin-required` and for profiles.
pub fn unpinned_package(command: &str, args: &[String]) -> Option<String> {
    let argv: Vec<&str> = std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .collect();
    runner::unpinned(&argv)
}

/// What `command args` runs now, looked up on `path_var` from `cwd`. Reads
/// and hashes files; runs nothing.
pub fn observe(
    command: &str,
    args: &[String],
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<Observed, ObserveError> {
    open(command, args, path_var, cwd).map(|o| o.observed)
}

/// What a command line runs now, and the files that were hashed, still open:
/// launch runs exactly these (see `launch::held`).
#[derive(Debug)]
pub struct Opened {
    pub observed: Observed,
    pub files: Pinned,
}

/// Like [`observe`], keeping the hashed files open. Each file is opened
/// once and hashed through that descriptor.
pub fn open(
    command: &str,
    args: &[String],
    path_var: Option<&OsStr>,
    cwd: &Path,
) -> Result<Opened, ObserveError> {
    let found = lookup(OsStr::new(command), path_var).map_err(ObserveError::Lookup)?;
    let found = if found.is_absolute() {
        found
    } else {
        cwd.join(found)
    };
    let (program, sha256) = open_and_hash(&found)?;
    let command_hash = FileHash {
        sha256,
        path: found,
    };
    let argv: Vec<&str> = std::iter::once(command)
        .chain(args.iter().map(String::as_str))
        .collect();
    let mut gaps = Vec::new();
    let mut package = None;
    if let Some(reason) = runner::unpinned(&argv) {
        gaps.push(reason);
    } else if let Some(l) = runner::package_runner(&argv) {
        package = Some(format!("{} {}", l.runner, l.spec));
    }
    let mut script = None;
    if package.is_none() && gaps.is_empty() {
        match interp::script(&argv) {
            None => {}
            Some((name, s)) => match open_script(name, s, cwd)? {
                Ok(found) => script = found,
                Err(gap) => gaps.push(gap),
            },
        }
    }
    let (script, held_script) = match script {
        Some((hash, held)) => (Some(hash), Some(held)),
        None => (None, None),
    };
    Ok(Opened {
        observed: Observed {
            argv_sha256: argv_sha256(command, args),
            command: command_hash,
            script,
            package,
            gaps,
        },
        files: Pinned {
            program,
            script: held_script,
        },
    })
}

/// An interpreter's script, opened and hashed; or why it cannot be pinned.
type ScriptFound = Result<Option<(FileHash, HeldFile)>, String>;

fn open_script(name: &str, s: Script<'_>, cwd: &Path) -> Result<ScriptFound, GovernError> {
    let gap = match s {
        Script::Inline | Script::Nothing => return Ok(Ok(None)),
        Script::Module(m) => format!(
            "{name} -m {m}: a module's code cannot be hashed; run its file, or a pinned package (uvx {m}==VERSION)"
        ),
        Script::Remote(r) => {
            format!("{name} runs {r}, which is fetched at start and cannot be hashed")
        }
        Script::EnvCommand(c) => format!(
            "{name} {c} runs a command from the project environment, which cannot be hashed; run a script file"
        ),
        Script::File(f) => {
            // The interpreter opens it by this name, from the same directory.
            let opened_as = cwd.join(f);
            return Ok(match opened_as.canonicalize() {
                Ok(p) if p.is_dir() => Err(format!(
                    "{name} runs the directory {f}, whose entry point cannot be hashed; name the script file"
                )),
                Ok(p) => {
                    let (held, sha256) = open_and_hash(&opened_as)?;
                    Ok(Some((FileHash { path: p, sha256 }, held)))
                }
                Err(_) => Err(format!(
                    "{name}'s script {f} was not found (relative to {})",
                    cwd.display()
                )),
            });
        }
    };
    Ok(Err(gap))
}

/// Why [`observe`] failed: the command is not there, or a file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(transparent)]
    Lookup(LookupError),
    #[error(transparent)]
    Read(#[from] GovernError),
}

/// Everything that differs between `recorded` and `observed`.
pub fn compare(recorded: &Recorded, observed: &Observed) -> Vec<Change> {
    let mut out = Vec::new();
    if recorded.argv_sha256 != observed.argv_sha256 {
        out.push(Change::Argv);
    }
    match &recorded.command {
        Some(c) if c.path != observed.command.path => out.push(Change::CommandPath {
            expected: c.path.clone(),
            actual: observed.command.path.clone(),
        }),
        Some(c) if c.sha256 != observed.command.sha256 => out.push(Change::CommandHash {
            path: observed.command.path.clone(),
            expected: c.sha256.clone(),
            actual: observed.command.sha256.clone(),
        }),
        Some(_) => {}
        // pinned as a remote server, now a local one
        None => out.push(Change::CommandPath {
            expected: PathBuf::new(),
            actual: observed.command.path.clone(),
        }),
    }
    match (&recorded.script, &observed.script) {
        (Some(r), Some(o)) if r.path == o.path => {
            if r.sha256 != o.sha256 {
                out.push(Change::ScriptHash {
                    path: o.path.clone(),
                    expected: r.sha256.clone(),
                    actual: o.sha256.clone(),
                });
            }
        }
        (None, None) => {}
        (r, o) => out.push(Change::ScriptPath {
            expected: r.as_ref().map(|f| f.path.clone()),
            actual: o.as_ref().map(|f| f.path.clone()),
        }),
    }
    if recorded.package != observed.package {
        out.push(Change::Package {
            expected: recorded.package.clone(),
            actual: observed.package.clone(),
        });
    }
    out
}

/// What a pin mode makes of a profile's pin state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Start; print these warnings (one line each) first.
    Start(Vec<String>),
    /// Refuse, for this reason (one line).
    Refuse(String),
}

/// Applies `mode` to `server`'s recorded pin and what runs now.
pub fn verdict(
    server: &str,
    mode: PinMode,
    recorded: Option<&Recorded>,
    observed: &Observed,
) -> Verdict {
    if mode == PinMode::Off {
        return Verdict::Start(Vec::new());
    }
    if let Some(r) = recorded {
        let changes = compare(r, observed);
        if !changes.is_empty() {
            let what: Vec<String> = changes.iter().map(ToString::to_string).collect();
            return Verdict::Refuse(format!(
                "@{server} does not match its pin, refusing to start (no secret was fetched): {}; \
                 review the change, then `mcp-warden pin @{server} --update-pin`",
                what.join("; ")
            ));
        }
    }
    let mut problems: Vec<String> = observed.gaps.clone();
    if recorded.is_none() {
        problems.push(format!(
            "@{server} has no pin; record one with `mcp-warden pin @{server}`"
        ));
    }
    if problems.is_empty() {
        return Verdict::Start(Vec::new());
    }
    match mode {
        PinMode::Required => Verdict::Refuse(format!(
            "@{server} is not pinned and its profile requires pin = \"required\" (no secret was fetched): {}",
            problems.join("; ")
        )),
        _ => Verdict::Start(
            problems
                .into_iter()
                .map(|p| format!("warning: unpinned: {p}"))
                .collect(),
        ),
    }
}

/// Builds the record of what runs now. Refuses what cannot be pinned.
pub fn record(server: &str, observed: &Observed) -> Result<Recorded, GovernError> {
    if !observed.gaps.is_empty() {
        return Err(GovernError::Config(format!(
            "cannot pin @{server}: {}",
            observed.gaps.join("; ")
        )));
    }
    Ok(Recorded {
        recorded_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        argv_sha256: observed.argv_sha256.clone(),
        command: Some(observed.command.clone()),
        script: observed.script.clone(),
        package: observed.package.clone(),
    })
}

const KEYS: &[&str] = &[
    "recorded_at",
    "argv_sha256",
    "command",
    "command_sha256",
    "script",
    "script_sha256",
    "package",
];

fn sha(t: &Table<'_, '_>, key: &str) -> Result<Option<String>, GovernError> {
    let v = t.str(key)?;
    if let Some(h) = &v
        && !(h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(t.err(key, format!("`{key}` in {} must be 64 hex digits", t.name)));
    }
    Ok(v.map(|h| h.to_ascii_lowercase()))
}

/// Reads a `[servers.NAME.pinned]` table.
pub(crate) fn parse_recorded(
    src: &Src<'_>,
    table: &dyn TableLike,
    name: &str,
    span: Option<std::ops::Range<usize>>,
) -> Result<Recorded, GovernError> {
    let t = Table::new(src, table, format!("[servers.{name}.pinned]"));
    t.only(KEYS, |_| None)?;
    let missing = |k: &str| {
        src.err(
            span.clone(),
            format!("[servers.{name}.pinned] lacks `{k}`; re-record it with `mcp-warden pin @{name} --update-pin`"),
        )
    };
    let script = match (t.str("script")?, sha(&t, "script_sha256")?) {
        (Some(p), Some(h)) => Some(FileHash {
            path: p.into(),
            sha256: h,
        }),
        (None, None) => None,
        (Some(_), None) => return Err(missing("script_sha256")),
        (None, Some(_)) => return Err(missing("script")),
    };
    Ok(Recorded {
        recorded_at: t.str("recorded_at")?.unwrap_or_default(),
        argv_sha256: sha(&t, "argv_sha256")?.ok_or_else(|| missing("argv_sha256"))?,
        command: match (t.str("command")?, sha(&t, "command_sha256")?) {
            (Some(p), Some(h)) => Some(FileHash {
                path: p.into(),
                sha256: h,
            }),
            // a remote (url) profile's pin: the argv hash only
            (None, None) => None,
            (Some(_), None) => return Err(missing("command_sha256")),
            (None, Some(_)) => return Err(missing("command")),
        },
        script,
        package: t.str("package")?,
    })
}

fn set(t: &mut dyn TableLike, key: &str, v: Option<String>) {
    match v {
        Some(v) => match t.get_mut(key) {
            // Keep the key's decoration (comments, spacing); replace only the value.
            Some(Item::Value(old)) => {
                let decor = old.decor().clone();
                *old = toml_edit::Value::from(v);
                *old.decor_mut() = decor;
            }
            _ => {
                t.insert(key, value(v));
            }
        },
        None => {
            t.remove(key);
        }
    }
}

fn fill(t: &mut dyn TableLike, r: &Recorded) {
    set(t, "recorded_at", Some(r.recorded_at.clone()));
    set(t, "argv_sha256", Some(r.argv_sha256.clone()));
    set(
        t,
        "command",
        r.command.as_ref().map(|c| c.path.display().to_string()),
    );
    set(
        t,
        "command_sha256",
        r.command.as_ref().map(|c| c.sha256.clone()),
    );
    set(
        t,
        "script",
        r.script.as_ref().map(|s| s.path.display().to_string()),
    );
    set(
        t,
        "script_sha256",
        r.script.as_ref().map(|s| s.sha256.clone()),
    );
    set(t, "package", r.package.clone());
}

/// Writes `r` as `[servers.NAME.pinned]` into the user config, keeping the
/// rest of the file byte for byte. `loaded` is the text the profile was read
/// from: if the file changed since, nothing is written (the pin would
/// describe a profile nobody reviewed).
pub fn write(config: &Path, loaded: &str, server: &str, r: &Recorded) -> Result<(), GovernError> {
    let now = std::fs::read_to_string(config).map_err(GovernError::io(config))?;
    if now != loaded {
        return Err(GovernError::Config(format!(
            "{} changed while pinning @{server}; run the command again",
            config.display()
        )));
    }
    let src = Src {
        file: config,
        text: &now,
    };
    let mut doc: DocumentMut = src.parse()?.into_mut();
    let entry = doc
        .get_mut("servers")
        .and_then(Item::as_table_like_mut)
        .and_then(|s| s.get_mut(server))
        .ok_or_else(|| {
            GovernError::Config(format!("no [servers.{server}] in {}", config.display()))
        })?;
    match entry {
        Item::Table(t) => match t.get_mut("pinned").and_then(Item::as_table_like_mut) {
            Some(p) => fill(p, r),
            None => {
                let mut p = toml_edit::Table::new();
                fill(&mut p, r);
                t.insert("pinned", Item::Table(p));
            }
        },
        Item::Value(toml_edit::Value::InlineTable(t)) => {
            match t.get_mut("pinned").and_then(|v| v.as_inline_table_mut()) {
                Some(p) => fill(p, r),
                None => {
                    let mut p = toml_edit::InlineTable::new();
                    fill(&mut p, r);
                    t.insert("pinned", toml_edit::Value::InlineTable(p));
                }
            }
        }
        _ => {
            return Err(GovernError::Config(format!(
                "[servers.{server}] in {} is not a table",
                config.display()
            )));
        }
    }
    // Through a symlink (dotfile managers link config.toml): replace its target, keep the link.
    let target = config.canonicalize().map_err(GovernError::io(config))?;
    crate::atomic_file::replace(&target, doc.to_string().as_bytes(), 0o600)
        .map_err(GovernError::io(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exe(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn direct_executable_change_is_seen() {
        let d = tempfile::tempdir().unwrap();
        let p = exe(d.path(), "srv", "#!/bin/sh\necho one\n");
        let cmd = p.display().to_string();
        let o = observe(&cmd, &[], None, d.path()).unwrap();
        assert!(o.gaps.is_empty() && o.script.is_none() && o.package.is_none());
        let r = record("s", &o).unwrap();
        assert!(compare(&r, &o).is_empty());
        exe(d.path(), "srv", "#!/bin/sh\necho two\n");
        let now = observe(&cmd, &[], None, d.path()).unwrap();
        let c = compare(&r, &now);
        assert!(
            matches!(c.as_slice(), [Change::CommandHash { .. }]),
            "{c:?}"
        );
        let line = c[0].to_string();
        assert!(
            line.contains(&r.command.as_ref().unwrap().sha256[..12])
                && line.contains(&now.command.sha256[..12]),
            "{line}"
        );
        assert!(matches!(
            verdict("s", PinMode::Warn, Some(&r), &now),
            Verdict::Refuse(_)
        ));
        assert_eq!(
            verdict("s", PinMode::Off, Some(&r), &now),
            Verdict::Start(vec![])
        );
    }

    #[test]
    fn interpreter_script_is_hashed_and_args_are_covered() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("server.py"), "print(1)\n").unwrap();
        let args = vec!["server.py".to_string()];
        let o = observe("sh", &args, Some(OsStr::new("/bin:/usr/bin")), d.path()).unwrap();
        assert!(o.script.is_none(), "sh is not an interpreter we know");
        let py = exe(d.path(), "python3", "#!/bin/sh\n");
        let o = observe(&py.display().to_string(), &args, None, d.path()).unwrap();
        let s = o.script.clone().unwrap();
        assert!(s.path.ends_with("server.py") && s.path.is_absolute());
        let r = record("s", &o).unwrap();
        std::fs::write(d.path().join("server.py"), "print(2)\n").unwrap();
        let now = observe(&py.display().to_string(), &args, None, d.path()).unwrap();
        assert!(matches!(
            compare(&r, &now).as_slice(),
            [Change::ScriptHash { .. }]
        ));
        let more = vec!["server.py".to_string(), "--flag".to_string()];
        let now = observe(&py.display().to_string(), &more, None, d.path()).unwrap();
        assert!(compare(&r, &now).contains(&Change::Argv));
    }

    #[test]
    fn runners_need_exact_specs_and_modules_are_gaps() {
        let d = tempfile::tempdir().unwrap();
        let npx = exe(d.path(), "npx", "#!/bin/sh\n");
        let n = npx.display().to_string();
        let o = observe(&n, &["-y".into(), "pkg".into()], None, d.path()).unwrap();
        assert_eq!(o.gaps.len(), 1, "{o:?}");
        assert!(record("s", &o).is_err());
        match verdict("s", PinMode::Warn, None, &o) {
            Verdict::Start(w) => {
                assert!(w.iter().any(|l| l.contains("without a version")), "{w:?}")
            }
            v => panic!("{v:?}"),
        }
        assert!(matches!(
            verdict("s", PinMode::Required, None, &o),
            Verdict::Refuse(_)
        ));
        let o = observe(&n, &["-y".into(), "pkg@1.2.3".into()], None, d.path()).unwrap();
        assert_eq!(o.package.as_deref(), Some("npx pkg@1.2.3"));
        let py = exe(d.path(), "python3", "#!/bin/sh\n");
        let o = observe(
            &py.display().to_string(),
            &["-m".into(), "srv".into()],
            None,
            d.path(),
        )
        .unwrap();
        assert!(o.gaps[0].contains("module"), "{o:?}");
        let node = exe(d.path(), "node", "#!/bin/sh\n");
        let o = observe(&node.display().to_string(), &[".".into()], None, d.path()).unwrap();
        assert!(o.gaps[0].contains("directory"), "{o:?}");
    }

    #[test]
    fn write_keeps_comments_and_round_trips() {
        let d = tempfile::tempdir().unwrap();
        let cfg = d.path().join("config.toml");
        let text = "# mine\n[servers.a]  # the a server\ncommand = \"/bin/true\" # keep\n\n[servers.b]\ncommand = \"x\"\n";
        std::fs::write(&cfg, text).unwrap();
        let o = observe("/bin/true", &[], None, d.path()).unwrap();
        let r = record("a", &o).unwrap();
        write(&cfg, text, "a", &r).unwrap();
        let out = std::fs::read_to_string(&cfg).unwrap();
        assert!(
            out.starts_with(
                "# mine\n[servers.a]  # the a server\ncommand = \"/bin/true\" # keep\n"
            ),
            "{out}"
        );
        assert!(
            out.contains("[servers.a.pinned]") && out.contains("[servers.b]"),
            "{out}"
        );
        let doc = toml_edit::Document::parse(out.as_str()).unwrap();
        let t = doc["servers"]["a"]["pinned"].as_table_like().unwrap();
        let src = Src {
            file: &cfg,
            text: &out,
        };
        assert_eq!(parse_recorded(&src, t, "a", None).unwrap(), r);
        assert!(
            write(&cfg, text, "a", &r).is_err(),
            "a changed file is not overwritten"
        );
    }

    #[test]
    fn write_into_an_inline_server_through_a_symlink() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real.toml");
        let text = "servers.a = { command = \"/bin/true\" }\n";
        std::fs::write(&real, text).unwrap();
        let link = d.path().join("config.toml");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let o = observe("/bin/true", &[], None, d.path()).unwrap();
        let r = record("a", &o).unwrap();
        write(&link, text, "a", &r).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let out = std::fs::read_to_string(&real).unwrap();
        let doc = toml_edit::Document::parse(out.as_str()).unwrap();
        let t = doc["servers"]["a"]["pinned"].as_table_like().unwrap();
        let src = Src {
            file: &real,
            text: &out,
        };
        assert_eq!(parse_recorded(&src, t, "a", None).unwrap(), r);
    }
}
