//! Profiles: the user-level `config.toml` of named servers, and the
//! project-level `.mcp-warden.toml` that may only narrow their policy.
//!
//! Owns where the user file lives ([`config_path`]: `MCP_WARDEN_CONFIG`,
//! else `$MCP_WARDEN_HOME/config.toml`, else the platform config dir), its
//! schema ([`load`]: every key checked, unknown ones refused with
//! `file:line:col`; [`load_user`], [`load_if_present`]), a profile's
//! references ([`Profile::references`]), finding and reading the project
//! file ([`find_project`], [`load_project`]), and combining them
//! ([`Project::narrow`]). Values are never echoed in errors. Must not
//! resolve references, hash or run anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml_edit::TableLike;

use super::GovernError;
use super::pin::{self, Recorded};
use super::policy::{Layer, PinMode, Policy, RotationMode, Weakening};
use super::schema::{Src, Table};
use crate::reference::{Scheme, SecretRef};
use crate::resolve::Request;

/// Relocates the user-level profile file.
pub const CONFIG_ENV: &str = "MCP_WARDEN_CONFIG";
/// The project-level file's name, looked for in the working directory and its ancestors.
pub const PROJECT_FILE: &str = ".mcp-warden.toml";

/// The user-level file: `MCP_WARDEN_CONFIG`, else `$MCP_WARDEN_HOME/config.toml`,
/// else `<platform config dir>/config.toml` (`~/.config/mcp-warden/config.toml` on Linux).
pub fn config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CONFIG_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(home) = std::env::var_os(crate::paths::HOME_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(home).join("config.toml"));
    }
    directories::ProjectDirs::from("", "", "mcp-warden").map(|d| d.config_dir().join("config.toml"))
}

/// `@NAME` (or `NAME`) -> `NAME`.
pub fn name_of(arg: &str) -> &str {
    arg.strip_prefix('@').unwrap_or(arg)
}

/// The user-level file at [`config_path`] (a missing file is an empty
/// config), or a clear error when there is no place for one.
pub fn load_user() -> Result<Config, GovernError> {
    let path = config_path().ok_or_else(|| {
        GovernError::Config(
            "cannot find a config directory: set MCP_WARDEN_CONFIG or MCP_WARDEN_HOME".into(),
        )
    })?;
    load(&path)
}

/// The user-level file, when there is a place for one and it exists.
pub fn load_if_present() -> Result<Option<Config>, GovernError> {
    match config_path() {
        Some(path) if path.exists() => load(&path).map(Some),
        _ => Ok(None),
    }
}

/// One named server of the user-level file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    /// Line of its `[servers.NAME]` header (0 when unknown).
    pub line: usize,
    /// The local server's command; empty for a remote (`url`) profile.
    pub command: String,
    pub args: Vec<String>,
    /// A remote profile's MCP endpoint (`connect`), `%{VAR}` placeholders unfilled.
    pub url: Option<String>,
    /// A remote profile's headers, `Name = "template with %{VAR}"`, in file order.
    pub headers: Vec<(String, String)>,
    /// `VAR = "REFERENCE"`, in file order. References, never values.
    pub env: Vec<(String, String)>,
    pub owner: Option<String>,
    pub description: Option<String>,
    /// How old a secret may get before it should be rotated.
    pub rotate_after: Option<Duration>,
    pub pass_env: Vec<String>,
    pub clean_env: bool,
    pub audit_arguments: bool,
    /// Secretless variables and the hosts their values go to (`run --secretless`).
    pub secretless: Vec<crate::egress::Secretless>,
    /// `egress = "strict" | "open"` (with `secretless`).
    pub egress: Option<crate::egress::Mode>,
    /// `egress_allow`: more hosts the server may reach (with `secretless`).
    pub egress_allow: Vec<crate::egress::host::HostPort>,
    /// `[defaults]` narrowed by this server's own settings.
    pub policy: Policy,
    pub pinned: Option<Recorded>,
}

/// The user-level file, parsed and checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// Whether the file exists (a missing file is an empty config).
    pub exists: bool,
    /// The text it was read from (pin writes refuse if the file changed since).
    pub text: String,
    /// The policy every profile starts from.
    pub defaults: Policy,
    pub servers: BTreeMap<String, Profile>,
}

impl Profile {
    /// The references of its `env` table, bare names in the local store; an
    /// entry that does not parse is left out (`run` refuses it when used).
    pub fn references(&self) -> Vec<Request> {
        self.env
            .iter()
            .filter_map(|(var, r)| {
                let reference = SecretRef::parse_or_bare(r, Scheme::Local).ok()?;
                super::assign::expand(var, reference).ok()
            })
            .flatten()
            .collect()
    }
}

impl Config {
    /// The profile `name`, or an error listing the ones there are.
    pub fn get(&self, name: &str) -> Result<&Profile, GovernError> {
        self.servers.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.servers.keys().map(String::as_str).collect();
            GovernError::Config(if !self.exists {
                format!(
                    "no profile @{name}: {} does not exist (see docs/profiles.md)",
                    self.path.display()
                )
            } else if known.is_empty() {
                format!(
                    "no profile @{name}: {} declares no [servers.*]",
                    self.path.display()
                )
            } else {
                format!(
                    "no profile @{name} in {} (profiles: {})",
                    self.path.display(),
                    known.join(", ")
                )
            })
        })
    }
}

const POLICY_KEYS: &[&str] = &[
    "audit",
    "redact",
    "pin",
    "rotation",
    "allow_tools",
    "deny_tools",
    "timeout",
];
const SERVER_KEYS: &[&str] = &[
    "command",
    "args",
    "url",
    "headers",
    "env",
    "owner",
    "description",
    "rotate_after",
    "pass_env",
    "clean_env",
    "audit_arguments",
    "secretless",
    "egress",
    "egress_allow",
    "pinned",
    "audit",
    "redact",
    "pin",
    "rotation",
    "allow_tools",
    "deny_tools",
    "timeout",
];

fn duration(t: &Table<'_, '_>, key: &str, example: &str) -> Result<Option<Duration>, GovernError> {
    let Some(s) = t.str(key)? else {
        return Ok(None);
    };
    let s = s.trim();
    let d = s
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
        .or_else(|| humantime::parse_duration(s).ok());
    match d {
        Some(d) if !d.is_zero() => Ok(Some(d)),
        _ => Err(t.err(
            key,
            format!(
                "`{key}` in {} must be a duration such as \"{example}\"",
                t.name
            ),
        )),
    }
}

fn globs(t: &Table<'_, '_>, key: &str) -> Result<Option<Vec<String>>, GovernError> {
    let v = t.str_list(key)?;
    for g in v.iter().flatten() {
        if glob::Pattern::new(g).is_err() {
            return Err(t.err(
                key,
                format!("`{key}` in {} holds an invalid glob `{g}`", t.name),
            ));
        }
    }
    Ok(v)
}

fn rotation_mode(t: &Table<'_, '_>) -> Result<Option<RotationMode>, GovernError> {
    let Some(s) = t.str("rotation")? else {
        return Ok(None);
    };
    RotationMode::parse(&s).map(Some).ok_or_else(|| {
        t.err(
            "rotation",
            format!(
                "`rotation` in {} must be \"report\", \"warn\" or \"enforce\"",
                t.name
            ),
        )
    })
}

/// The policy keys of a table.
fn layer(t: &Table<'_, '_>) -> Result<Layer, GovernError> {
    let pin = match t.str("pin")? {
        None => None,
        Some(s) => Some(PinMode::parse(&s).ok_or_else(|| {
            t.err(
                "pin",
                format!(
                    "`pin` in {} must be \"off\", \"warn\" or \"required\"",
                    t.name
                ),
            )
        })?),
    };
    Ok(Layer {
        audit: t.bool("audit")?,
        redact: t.bool("redact")?,
        pin,
        rotation: rotation_mode(t)?,
        allow_tools: globs(t, "allow_tools")?,
        deny_tools: globs(t, "deny_tools")?.unwrap_or_default(),
        timeout: duration(t, "timeout", "10s")?,
    })
}

fn check_name(src: &Src<'_>, table: &dyn TableLike, name: &str) -> Result<(), GovernError> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(src.err(
            src.key_span(table, name),
            "a server name may hold only letters, digits, '-' and '_'",
        ))
    }
}

/// The key a weakening came from, to point at it.
fn weak_key(w: &Weakening) -> &'static str {
    match w {
        Weakening::Audit => "audit",
        Weakening::Redact => "redact",
        Weakening::Pin { .. } => "pin",
        Weakening::Rotation { .. } => "rotation",
        Weakening::AllowTool(_) => "allow_tools",
    }
}

/// Whoever can write the user config chooses what runs with your secrets.
fn refuse_world_writable(path: &Path) -> Result<(), GovernError> {
    use std::os::unix::fs::PermissionsExt;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    for p in std::iter::once(path).chain(dir) {
        let meta = std::fs::metadata(p).map_err(GovernError::io(p))?;
        let mode = meta.permissions().mode();
        // A sticky directory (like /tmp) lets others create files, not replace ours.
        let sticky = meta.is_dir() && mode & 0o1000 != 0;
        if mode & 0o002 != 0 && !sticky {
            return Err(GovernError::Config(format!(
                "{} is writable by every user (mode {:o}): whoever can write it chooses what runs \
                 with your secrets; run chmod o-w on it",
                p.display(),
                mode & 0o7777
            )));
        }
    }
    Ok(())
}

/// Reads the user-level file at `path`. A missing file is an empty config.
pub fn load(path: &Path) -> Result<Config, GovernError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Config {
                path: path.to_path_buf(),
                exists: false,
                text: String::new(),
                defaults: Policy::default(),
                servers: BTreeMap::new(),
            });
        }
        Err(e) => return Err(GovernError::io(path)(e)),
    };
    refuse_world_writable(path)?;
    load_text(path, &text)
}

/// Parses and checks `text` as the user config at `path` (the file itself
/// is not read: `add --profile` checks the text it is about to write).
pub fn load_text(path: &Path, text: &str) -> Result<Config, GovernError> {
    let src = Src { file: path, text };
    let doc = src.parse()?;
    let root = Table::new(&src, doc.as_table(), "the top level");
    root.only(&["defaults", "servers"], |_| None)?;
    let mut defaults = Policy::default();
    // What [defaults] says explicitly is a floor servers cannot go below;
    // the built-in defaults are only defaults.
    let mut floor = Policy {
        audit: false,
        redact: false,
        pin: PinMode::Off,
        rotation: RotationMode::Report,
        allow_tools: None,
        deny_tools: Vec::new(),
        timeout: Duration::MAX,
    };
    if let Some(d) = root.table("defaults")? {
        let d = Table::new(&src, d, "[defaults]");
        d.only(POLICY_KEYS, |k| {
            SERVER_KEYS
                .contains(&k)
                .then(|| format!("`{k}` belongs in a [servers.NAME] table, not [defaults]"))
        })?;
        let l = layer(&d)?;
        defaults.set(&l);
        floor.set(&l);
    }
    let mut servers = BTreeMap::new();
    if let Some(all) = root.table("servers")? {
        for (name, _) in all.iter() {
            check_name(&src, all, name)?;
            let Some(t) = all.get(name).and_then(|i| i.as_table_like()) else {
                return Err(src.err(
                    src.key_span(all, name),
                    format!("[servers.{name}] must be a table"),
                ));
            };
            let profile = server(&src, all, t, name, &defaults, &floor)?;
            servers.insert(name.to_string(), profile);
        }
    }
    Ok(Config {
        path: path.to_path_buf(),
        exists: true,
        text: text.to_string(),
        defaults,
        servers,
    })
}

fn server(
    src: &Src<'_>,
    parent: &dyn TableLike,
    table: &dyn TableLike,
    name: &str,
    defaults: &Policy,
    floor: &Policy,
) -> Result<Profile, GovernError> {
    let t = Table::new(src, table, format!("[servers.{name}]"));
    t.only(SERVER_KEYS, |_| None)?;
    let line = src.key_line(parent, name);
    let (command, url) = command_or_url(src, parent, &t, name)?;
    let env = t.str_map("env")?.unwrap_or_default();
    for (var, _) in &env {
        if var.is_empty() || var.contains('=') || var.contains('\0') {
            return Err(t.err(
                "env",
                format!("`env` in [servers.{name}] has an invalid variable name"),
            ));
        }
    }
    let l = layer(&t)?;
    if let Some(w) = floor.clone().narrow(&l).first() {
        return Err(t.err(
            weak_key(w),
            format!(
                "[servers.{name}] {w}, weaker than [defaults]: [defaults] is the floor of every profile \
                 (change [defaults], or pass {} for one run)",
                w.flag()
            ),
        ));
    }
    let mut policy = defaults.clone();
    policy.set(&l);
    let secretless = secretless(&t, &env)?;
    let pinned = match t.table("pinned")? {
        None => None,
        Some(p) => Some(pin::parse_recorded(
            src,
            p,
            name,
            src.key_span(table, "pinned"),
        )?),
    };
    Ok(Profile {
        name: name.to_string(),
        line,
        command,
        args: t.str_list("args")?.unwrap_or_default(),
        headers: t.str_map("headers")?.unwrap_or_default(),
        url,
        env,
        owner: t.str("owner")?,
        description: t.str("description")?,
        rotate_after: duration(&t, "rotate_after", "90d")?,
        pass_env: t.str_list("pass_env")?.unwrap_or_default(),
        clean_env: t.bool("clean_env")?.unwrap_or(false),
        audit_arguments: t.bool("audit_arguments")?.unwrap_or(false),
        secretless,
        egress: egress_mode(&t)?,
        egress_allow: egress_allow(&t)?,
        policy,
        pinned,
    })
}

/// `secretless = { VAR = ["host", ...] }`: each VAR must be in `env`.
fn secretless(
    t: &Table<'_, '_>,
    env: &[(String, String)],
) -> Result<Vec<crate::egress::Secretless>, GovernError> {
    let mut out = Vec::new();
    for (var, hosts) in t.list_map("secretless")?.unwrap_or_default() {
        if !env.iter().any(|(v, _)| *v == var) {
            return Err(t.err(
                "secretless",
                format!("`secretless.{var}` in {}: {var} is not in `env`", t.name),
            ));
        }
        let s = crate::egress::Secretless::new(&var, hosts.iter().map(String::as_str))
            .map_err(|e| t.err("secretless", format!("`secretless` in {}: {e}", t.name)))?;
        out.push(s);
    }
    Ok(out)
}

fn egress_mode(t: &Table<'_, '_>) -> Result<Option<crate::egress::Mode>, GovernError> {
    let Some(s) = t.str("egress")? else {
        return Ok(None);
    };
    crate::egress::Mode::parse(&s).map(Some).ok_or_else(|| {
        t.err(
            "egress",
            format!("`egress` in {} must be \"strict\" or \"open\"", t.name),
        )
    })
}

fn egress_allow(t: &Table<'_, '_>) -> Result<Vec<crate::egress::host::HostPort>, GovernError> {
    t.str_list("egress_allow")?
        .unwrap_or_default()
        .iter()
        .map(|h| {
            crate::egress::host::HostPort::parse(h)
                .map_err(|e| t.err("egress_allow", format!("`egress_allow` in {}: {e}", t.name)))
        })
        .collect()
}

/// A local server (`command`, `args`) or a remote one (`url`, `headers`): one of the two.
fn command_or_url(
    src: &Src<'_>,
    parent: &dyn TableLike,
    t: &Table<'_, '_>,
    name: &str,
) -> Result<(String, Option<String>), GovernError> {
    let command = t.str("command")?.filter(|c| !c.is_empty());
    let url = t.str("url")?.filter(|u| !u.is_empty());
    match (command, url) {
        (Some(c), None) => {
            if t.table.get("headers").is_some() {
                return Err(t.err(
                    "headers",
                    format!("`headers` in [servers.{name}] go with `url` (a remote server)"),
                ));
            }
            Ok((c, None))
        }
        (None, Some(u)) => {
            if t.table.get("args").is_some() {
                return Err(t.err(
                    "args",
                    format!("`args` in [servers.{name}] go with `command`, not `url`"),
                ));
            }
            if url_has_userinfo(&u) {
                return Err(t.err(
                    "url",
                    format!(
                        "the url of [servers.{name}] carries a user or password: put the credential in `headers`, filled from `env`"
                    ),
                ));
            }
            Ok((String::new(), Some(u)))
        }
        (Some(_), Some(_)) => Err(t.err(
            "url",
            format!(
                "[servers.{name}] has `command` and `url`: give one (a local or a remote server)"
            ),
        )),
        (None, None) => Err(src.err(
            src.key_span(parent, name),
            format!("[servers.{name}] needs `command` (a local server) or `url` (a remote one)"),
        )),
    }
}

/// Whether a url's authority holds `user[:password]@` (never shown).
fn url_has_userinfo(url: &str) -> bool {
    let start = url.find("://").map_or(0, |p| p + 3);
    let rest = &url[start..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest[..end].contains('@')
}

/// A project-level file: policy layers only.
#[derive(Debug, Clone)]
pub struct Project {
    pub path: PathBuf,
    pub defaults: Located,
    pub servers: BTreeMap<String, Located>,
}

/// A layer with the position of each key it sets.
#[derive(Debug, Clone, Default)]
pub struct Located {
    pub layer: Layer,
    /// Key -> (line, column).
    pub at: BTreeMap<&'static str, (usize, usize)>,
    /// Where the table is (line of its header), 0 when unknown.
    pub line: usize,
}

fn located(src: &Src<'_>, t: &Table<'_, '_>, line: usize) -> Result<Located, GovernError> {
    t.only(POLICY_KEYS, |k| {
        SERVER_KEYS.contains(&k).then(|| {
            format!(
                "`{k}` cannot be set in a project file: it may only narrow policy ({})",
                POLICY_KEYS.join(", ")
            )
        })
    })?;
    let mut at = BTreeMap::new();
    for k in POLICY_KEYS {
        if let Some(s) = src.key_span(t.table, k) {
            at.insert(*k, src.pos(s.start));
        }
    }
    Ok(Located {
        layer: layer(t)?,
        at,
        line,
    })
}

/// The nearest `.mcp-warden.toml` in `start` or its ancestors, stopping at
/// the first directory that holds `.git` (the repository root).
pub fn find_project(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        let candidate = d.join(PROJECT_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if d.join(".git").exists() {
            return None;
        }
        dir = d.parent();
    }
    None
}

/// Reads a project-level file.
pub fn load_project(path: &Path) -> Result<Project, GovernError> {
    let text = std::fs::read_to_string(path).map_err(GovernError::io(path))?;
    let src = Src {
        file: path,
        text: &text,
    };
    let doc = src.parse()?;
    let root = Table::new(&src, doc.as_table(), "the top level");
    root.only(&["defaults", "servers"], |_| None)?;
    let defaults = match root.table("defaults")? {
        None => Located::default(),
        Some(d) => located(
            &src,
            &Table::new(&src, d, "[defaults]"),
            src.key_line(doc.as_table(), "defaults"),
        )?,
    };
    let mut servers = BTreeMap::new();
    if let Some(all) = root.table("servers")? {
        for (name, _) in all.iter() {
            check_name(&src, all, name)?;
            let Some(t) = all.get(name).and_then(|i| i.as_table_like()) else {
                return Err(src.err(
                    src.key_span(all, name),
                    format!("[servers.{name}] must be a table"),
                ));
            };
            let l = located(
                &src,
                &Table::new(&src, t, format!("[servers.{name}]")),
                src.key_line(all, name),
            )?;
            servers.insert(name.to_string(), l);
        }
    }
    Ok(Project {
        path: path.to_path_buf(),
        defaults,
        servers,
    })
}

impl Project {
    /// Narrows `policy` (profile `name`'s) with this file's `[defaults]` and
    /// `[servers.NAME]`. A weakening is an error at its key; returns warnings
    /// (server tables naming no profile of the user file).
    pub fn narrow(
        &self,
        policy: &mut Policy,
        name: &str,
        profiles: &Config,
    ) -> Result<Vec<String>, GovernError> {
        let mut warnings = Vec::new();
        for (table, l) in std::iter::once(("[defaults]".to_string(), Some(&self.defaults))).chain(
            std::iter::once((format!("[servers.{name}]"), self.servers.get(name))),
        ) {
            let Some(l) = l else { continue };
            if let Some(w) = policy.narrow(&l.layer).first() {
                return Err(GovernError::At {
                    file: self.path.clone(),
                    pos: l.at.get(weak_key(w)).copied(),
                    msg: format!(
                        "{table} {w}: a project file may only narrow the user-level policy of @{name} \
                         (an explicit {} on the command line is the only way to weaken it)",
                        w.flag()
                    ),
                });
            }
        }
        for (other, l) in &self.servers {
            if !profiles.servers.contains_key(other) {
                warnings.push(format!(
                    "warning: {}:{}: [servers.{other}] names no profile in {}; not applied",
                    self.path.display(),
                    l.line,
                    profiles.path.display()
                ));
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const GOOD: &str = r#"
[defaults]
audit = true
pin = "warn"
deny_tools = ["delete_*"]

[servers.github]
command = "npx"
args = ["-y", "@modelcontextprotocol/server-github@2025.4.8"]
env = { GITHUB_PERSONAL_ACCESS_TOKEN = "local://github-pat" }
owner = "platform-team@example.com"
rotate_after = "90d"
pin = "required"
allow_tools = ["search_*"]
timeout = "5s"
"#;

    #[test]
    fn loads_profiles_with_their_policy() {
        let d = tempfile::tempdir().unwrap();
        let c = load(&write(d.path(), "c.toml", GOOD)).unwrap();
        let g = c.get("github").unwrap();
        assert_eq!(g.line, 7);
        assert_eq!(g.policy.pin, PinMode::Required);
        assert_eq!(g.policy.deny_tools, vec!["delete_*".to_string()]);
        assert_eq!(g.policy.timeout, Duration::from_secs(5));
        assert_eq!(g.rotate_after, Some(Duration::from_secs(90 * 86400)));
        assert_eq!(g.env[0].0, "GITHUB_PERSONAL_ACCESS_TOKEN");
        assert!(c.get("nope").unwrap_err().to_string().contains("github"));
        let missing = load(&d.path().join("none.toml")).unwrap();
        assert!(!missing.exists && missing.servers.is_empty());
    }

    #[test]
    fn a_remote_url_with_a_user_or_password_is_refused_without_showing_it() {
        let d = tempfile::tempdir().unwrap();
        let text = "[servers.r]\nurl = \"https://me:hunter2@mcp.example.com/mcp?k=a@b\"\n";
        let e = load(&write(d.path(), "c.toml", text))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("user or password") && !e.contains("hunter2"),
            "{e}"
        );
        let text = "[servers.r]\nurl = \"https://mcp.example.com/mcp?k=a@b\"\n";
        assert!(load(&write(d.path(), "c.toml", text)).is_ok());
    }

    #[test]
    fn a_world_writable_config_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "c.toml", GOOD);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("writable by every user"), "{e}");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&p).is_ok());
    }

    #[test]
    fn only_explicit_defaults_are_a_floor() {
        let d = tempfile::tempdir().unwrap();
        let c = load(&write(
            d.path(),
            "c.toml",
            "[servers.a]\ncommand = \"x\"\npin = \"off\"\naudit = false\n",
        ))
        .unwrap();
        let a = &c.get("a").unwrap().policy;
        assert_eq!((a.pin, a.audit, a.redact), (PinMode::Off, false, true));
        let e = load(&write(
            d.path(),
            "c.toml",
            "[defaults]\npin = \"warn\"\n[servers.a]\ncommand = \"x\"\npin = \"off\"\n",
        ))
        .unwrap_err();
        assert!(e.to_string().contains("c.toml:5:1"), "{e}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_located_and_not_echoed() {
        let d = tempfile::tempdir().unwrap();
        let cases = [
            (
                "[servers.a]\ncommand = \"x\"\npinn = \"required\"\n",
                "c.toml:3:1: unknown key `pinn` in [servers.a]",
            ),
            (
                "[defaults]\naudti = false\n",
                "c.toml:2:1: unknown key `audti` in [defaults]",
            ),
            ("[server.a]\n", "c.toml:1:2: unknown key `server`"),
            (
                "[servers.a]\ncommand = \"x\"\ntimeout = \"ghp_SECRETSECRET\"\n",
                "c.toml:3:1: `timeout`",
            ),
            (
                "[servers.a]\ncommand = \"x\"\npin = \"ghp_SECRETSECRET\"\n",
                "c.toml:3:1: `pin`",
            ),
            (
                "[servers.a]\ncommand = \"x\"\nargs = \"ghp_SECRETSECRET\"\n",
                "c.toml:3:1: `args`",
            ),
            (
                "[servers.a]\nargs = []\n",
                "c.toml:1:10: [servers.a] needs `command`",
            ),
            (
                "[servers.a]\ncommand = \"x\"\nenv = { K = 5 }\n",
                "c.toml:3:9: `env.K`",
            ),
            ("[servers.a]\ncommand = [\n", "c.toml:2:"),
            (
                "[defaults]\naudit = true\n[servers.a]\ncommand = \"x\"\naudit = false\n",
                "c.toml:5:1: [servers.a] turns audit off",
            ),
        ];
        for (text, want) in cases {
            let p = write(d.path(), "c.toml", text);
            let e = load(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
            assert!(!e.contains("SECRET"), "{e}");
        }
    }

    #[test]
    fn project_files_narrow_only() {
        let d = tempfile::tempdir().unwrap();
        let c = load(&write(d.path(), "c.toml", GOOD)).unwrap();
        let g = c.get("github").unwrap();
        let p = write(
            d.path(),
            PROJECT_FILE,
            "[defaults]\ndeny_tools = [\"push_*\"]\n[servers.github]\nallow_tools = [\"search_code\"]\ntimeout = \"2s\"\n[servers.other]\n",
        );
        let proj = load_project(&p).unwrap();
        let mut pol = g.policy.clone();
        let w = proj.narrow(&mut pol, "github", &c).unwrap();
        assert_eq!(
            pol.deny_tools,
            vec!["delete_*".to_string(), "push_*".to_string()]
        );
        assert_eq!(pol.allow_tools, Some(vec!["search_code".to_string()]));
        assert_eq!(pol.timeout, Duration::from_secs(2));
        assert!(w[0].contains("[servers.other]"), "{w:?}");
        let p = write(d.path(), PROJECT_FILE, "[servers.github]\naudit = false\n");
        let e = load_project(&p)
            .unwrap()
            .narrow(&mut g.policy.clone(), "github", &c)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(".mcp-warden.toml:2:1") && e.contains("turns audit off"),
            "{e}"
        );
        let p = write(
            d.path(),
            PROJECT_FILE,
            "[servers.github]\ncommand = \"evil\"\n",
        );
        let e = load_project(&p).unwrap_err().to_string();
        assert!(
            e.contains(":2:1") && e.contains("cannot be set in a project file"),
            "{e}"
        );
    }

    #[test]
    fn project_search_stops_at_the_repository_root() {
        let d = tempfile::tempdir().unwrap();
        let repo = d.path().join("repo");
        let deep = repo.join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::create_dir(repo.join(".git")).unwrap();
        write(d.path(), PROJECT_FILE, "");
        assert_eq!(find_project(&deep), None);
        let p = write(&repo, PROJECT_FILE, "");
        assert_eq!(find_project(&deep), Some(p));
    }
}
