//! mcp-remote's OAuth cache as version 0.15.1 keeps it, read for import.
//!
//! mcp-remote keeps one folder per store version under
//! `$MCP_REMOTE_CONFIG_DIR` (else `~/.mcp-auth`): `mcp-remote-v1/` since the
//! store got a version of its own, `mcp-remote-<release>/` before. A server's
//! files are named `<hash>_<name>`, the hash being the MD5 (hex) of the
//! server URL joined by `|` with the options that change the grant
//! (`--resource`, `--authorize-param`s, headers, `--client-metadata-url`,
//! a token endpoint): for `mcp-remote URL` alone, the MD5 of the URL.
//! `tokens.json` holds the token response (`expires_at` in milliseconds, the
//! `issuer` that issued it), `client_info.json` the registration (its
//! `issuer` too), and `code_verifier_<state>.txt`,
//! `discovery_state_<state>.json`, `refresh_in_progress.json` a sign-in or
//! refresh under way.
//!
//! Owns finding and reading those files (regular files only, bounded in
//! number and size) and turning them into the token store's documents.
//! Writes nothing; never shows a value.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use md5::{Digest, Md5};
use serde::Deserialize;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::oauth::store::{Client, ClientSource, Tokens};
use crate::secret::SecretValue;

/// The folder of mcp-remote's current store version.
pub const STORE_DIR: &str = "mcp-remote-v1";
/// A cache file larger than this is not mcp-remote's.
const MAX_FILE: u64 = 1024 * 1024;
/// Files of one server read at most (every folder together).
const MAX_FILES: usize = 64;
/// Version folders looked at, at most.
const MAX_DIRS: usize = 64;

/// The folder mcp-remote keeps its caches in: the entry's own
/// `MCP_REMOTE_CONFIG_DIR`, else ours, else `HOME/.mcp-auth`. A relative
/// setting cannot be placed: `None`.
pub fn base_dir(
    entry_env: Option<&str>,
    process_env: Option<&str>,
    home: &Path,
) -> Option<PathBuf> {
    match entry_env.or(process_env).filter(|v| !v.is_empty()) {
        Some(v) => Some(PathBuf::from(v)).filter(|p| p.is_absolute()),
        None => Some(home.join(".mcp-auth")),
    }
}

/// mcp-remote's name for the files of `mcp-remote URL` (no other option
/// that enters the hash): the MD5 of the URL, lower-case hex.
pub fn url_hash(url: &str) -> String {
    hex::encode(Md5::digest(url.as_bytes()))
}

/// One file of a cache, read once.
pub struct CacheFile {
    pub path: PathBuf,
    pub bytes: SecretValue,
    /// Permission bits.
    pub mode: u32,
    pub modified: Option<SystemTime>,
}

/// Every file mcp-remote keeps for one server.
pub struct Cache {
    pub hash: String,
    /// The tokens file first, then the client registration (if any), then the rest.
    pub files: Vec<CacheFile>,
    has_client: bool,
}

impl Cache {
    pub fn tokens_file(&self) -> &CacheFile {
        &self.files[0]
    }

    pub fn client_file(&self) -> Option<&CacheFile> {
        self.has_client.then(|| &self.files[1])
    }
}

/// The version folders under `base`, current first, then older ones newest first.
fn version_dirs(base: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut older: Vec<String> = entries
        .flatten()
        .take(10_000)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .filter(|n| n.starts_with("mcp-remote-") && n != STORE_DIR)
        .collect();
    older.sort_by_key(|n| std::cmp::Reverse(version_key(n)));
    let mut out = vec![base.join(STORE_DIR)];
    out.extend(older.into_iter().map(|n| base.join(n)));
    out.truncate(MAX_DIRS);
    out
}

/// `mcp-remote-0.1.29` -> [0, 1, 29], for newest-first order.
fn version_key(name: &str) -> Vec<u64> {
    name.trim_start_matches("mcp-remote-")
        .split('.')
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Reads every `<hash>_*` file under `base`'s version folders. `None` when
/// no folder holds a `<hash>_tokens.json`: the tokens come from the first
/// folder that does, and so does the client registration.
pub fn read(base: &Path, hash: &str) -> Result<Option<Cache>, String> {
    if !trusted_dir(base)? {
        return Ok(None);
    }
    let prefix = format!("{hash}_");
    let mut tokens = None;
    let mut client = None;
    let mut rest = Vec::new();
    for dir in version_dirs(base) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        if !trusted_dir(&dir)? {
            continue;
        }
        let mut names: Vec<String> = entries
            .flatten()
            .take(100_000)
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| n.starts_with(&prefix))
            .collect();
        names.sort();
        let first_with_tokens =
            tokens.is_none() && names.iter().any(|n| n == &format!("{prefix}tokens.json"));
        for name in names {
            refuse_temp_file(&dir, &name)?;
            if rest.len() + 2 > MAX_FILES {
                return Err(format!(
                    "{} holds more than {MAX_FILES} files for one server; tidy it first",
                    base.display()
                ));
            }
            let Some(file) = read_file(&dir.join(&name))? else {
                continue;
            };
            if &name[prefix.len()..] == LEASE {
                refuse_live_lease(&file)?;
            }
            match &name[prefix.len()..] {
                "tokens.json" if first_with_tokens => tokens = Some(file),
                "client_info.json" if first_with_tokens => client = Some(file),
                _ => rest.push(file),
            }
        }
    }
    let Some(tokens) = tokens else {
        return Ok(None);
    };
    let has_client = client.is_some();
    let mut files = vec![tokens];
    files.extend(client);
    files.extend(rest);
    Ok(Some(Cache {
        hash: hash.to_string(),
        files,
        has_client,
    }))
}

/// Whether `dir` is a folder only the user running us could have filled:
/// theirs, not writable by others (group-writable only for their own
/// group). `false` when it is not there; an error naming the folder when
/// another user could have planted files in it (an entry's
/// `MCP_REMOTE_CONFIG_DIR` may point anywhere).
fn trusted_dir(dir: &Path) -> Result<bool, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let (uid, gid) = own_ids();
    let other_group = meta.mode() & 0o020 != 0 && meta.gid() != gid;
    if meta.uid() != uid || meta.mode() & 0o002 != 0 || other_group {
        return Err(format!(
            "{} {} (mode {:04o}): its files may not be mcp-remote's; not imported (move the \
             cache into a folder of your own)",
            dir.display(),
            if meta.uid() != uid {
                format!("belongs to another user (uid {})", meta.uid())
            } else {
                "is writable by other users".into()
            },
            meta.mode() & 0o7777
        ));
    }
    Ok(true)
}

/// The effective user and group ids of this process.
fn own_ids() -> (u32, u32) {
    // SAFETY: geteuid and getegid cannot fail and touch no memory.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// The refresh lease mcp-remote holds while it refreshes (`{pid, nonce, at}`).
const LEASE: &str = "refresh_in_progress.json";

/// What to tell a user whose mcp-remote is using the cache.
const QUIT_FIRST: &str = "quit the client that runs it and run protect again";

/// mcp-remote writes each file as `<file>.<pid>.<ms>.tmp`, then renames it:
/// such a file is a write under way.
fn refuse_temp_file(dir: &Path, name: &str) -> Result<(), String> {
    if name.ends_with(".tmp") {
        return Err(format!(
            "mcp-remote is writing this cache now ({}); {QUIT_FIRST}",
            dir.join(name).display()
        ));
    }
    Ok(())
}

/// A lease naming a live process: that mcp-remote may rotate the refresh
/// token and rewrite `tokens.json` while we import it.
fn refuse_live_lease(file: &CacheFile) -> Result<(), String> {
    #[derive(Deserialize)]
    struct Lease {
        pid: i64,
    }
    let Ok(lease) = serde_json::from_slice::<Lease>(file.bytes.expose()) else {
        return Ok(());
    };
    match i32::try_from(lease.pid) {
        Ok(pid) if pid > 0 && process_alive(pid) => Err(format!(
            "mcp-remote (pid {pid}) is using this cache ({}); {QUIT_FIRST}",
            file.path.display()
        )),
        _ => Ok(()),
    }
}

/// Whether a process with this id exists (as mcp-remote tells: signal 0,
/// a permission refusal counting as alive).
fn process_alive(pid: i32) -> bool {
    // SAFETY: kill with signal 0 sends nothing; it only checks the process.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A regular file's bytes and metadata, read without following a symlink
/// and never more than [`MAX_FILE`] bytes.
pub struct Bounded {
    pub bytes: zeroize::Zeroizing<Vec<u8>>,
    meta: std::fs::Metadata,
}

/// Reads `path` when it is a regular file (None: not there, or a link,
/// folder or device), bounded and without following links; an error names
/// the file.
pub fn read_bounded(path: &Path) -> Result<Option<Bounded>, String> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    let shown = || path.display().to_string();
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(None);
    };
    if !meta.file_type().is_file() {
        return Ok(None);
    }
    if meta.len() > MAX_FILE {
        return Err(format!("{}: larger than {MAX_FILE} bytes", shown()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("cannot read {}: {e}", shown()))?;
    let looked = meta;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {}: {e}", shown()))?;
    if !meta.file_type().is_file() || meta.dev() != looked.dev() || meta.ino() != looked.ino() {
        return Err(format!("{} changed while it was read; run again", shown()));
    }
    let mut bytes = zeroize::Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {}: {e}", shown()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(format!("{}: larger than {MAX_FILE} bytes", shown()));
    }
    Ok(Some(Bounded { bytes, meta }))
}

/// A regular file (not a link) of at most [`MAX_FILE`] bytes; `None` for
/// anything else. The file opened must be the one looked at (same device
/// and inode), and have one link.
pub fn read_file(path: &Path) -> Result<Option<CacheFile>, String> {
    use std::os::unix::fs::MetadataExt;
    let shown = || path.display().to_string();
    let Some(Bounded { bytes, meta }) = read_bounded(path)? else {
        return Ok(None);
    };
    if meta.uid() != own_ids().0 {
        return Err(format!(
            "{} belongs to another user (uid {}); not imported",
            shown(),
            meta.uid()
        ));
    }
    if meta.nlink() > 1 {
        return Err(format!(
            "{} has more than one hard link: removing this name would leave the tokens under the other",
            shown()
        ));
    }
    Ok(Some(CacheFile {
        path: path.to_path_buf(),
        bytes: SecretValue::from_slice(&bytes),
        mode: meta.mode() & 0o7777,
        modified: meta.modified().ok(),
    }))
}

/// `tokens.json` (the fields used; `Debug` not derived).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct RemoteTokens {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    /// Seconds, from the token response.
    #[serde(default, deserialize_with = "number")]
    expires_in: Option<f64>,
    /// Milliseconds since the epoch, added by mcp-remote.
    #[serde(default, deserialize_with = "number")]
    expires_at: Option<f64>,
}

/// `client_info.json` (the fields used).
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
struct RemoteClient {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default, deserialize_with = "number")]
    client_secret_expires_at: Option<f64>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    registration_access_token: Option<String>,
    #[serde(default)]
    registration_client_uri: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
}

/// A number, or a string holding one (mcp-remote's schema coerces).
fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let v = Option::<serde_json::Value>::deserialize(d)?;
    Ok(match v {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// What a cache gives the token store.
pub struct Imported {
    pub tokens: Tokens,
    pub client: Client,
    /// The issuer the cache names (tokens', else the registration's).
    pub issuer: Option<String>,
}

/// The token store's documents from a cache. One line of error naming the
/// file (never its content) when it cannot be used.
pub fn parse(cache: &Cache) -> Result<Imported, String> {
    let tf = cache.tokens_file();
    let t: RemoteTokens = serde_json::from_slice(tf.bytes.expose()).map_err(|_| {
        format!(
            "{} is not an OAuth token response mcp-remote wrote",
            tf.path.display()
        )
    })?;
    if t.access_token.is_empty() {
        return Err(format!("{} holds no access token", tf.path.display()));
    }
    let Some(cf) = cache.client_file() else {
        return Err(format!(
            "no client registration ({}_client_info.json) beside {}: the tokens cannot be refreshed without it",
            cache.hash,
            tf.path.display()
        ));
    };
    let c: RemoteClient = serde_json::from_slice(cf.bytes.expose()).map_err(|_| {
        format!(
            "{} is not a client registration mcp-remote wrote",
            cf.path.display()
        )
    })?;
    if c.client_id.is_empty() {
        return Err(format!("{} names no client_id", cf.path.display()));
    }
    let named = |i: &Option<String>| i.clone().filter(|i| !i.is_empty());
    if let (Some(a), Some(b)) = (named(&t.issuer), named(&c.issuer))
        && a.trim_end_matches('/') != b.trim_end_matches('/')
    {
        return Err(format!(
            "{} and {} name different issuers ({a} and {b}); not imported",
            tf.path.display(),
            cf.path.display()
        ));
    }
    let issuer = named(&t.issuer).or_else(|| named(&c.issuer));
    let tokens = Tokens {
        access_token: t.access_token.clone(),
        token_type: t.token_type.clone().unwrap_or_else(|| "Bearer".into()),
        refresh_token: t.refresh_token.clone().filter(|r| !r.is_empty()),
        expires_at: expiry(&t, tf.modified),
        scope: t.scope.clone().filter(|s| !s.is_empty()),
    };
    let _ = &t.id_token; // read so that it is zeroized with the rest; not kept
    let method = c.token_endpoint_auth_method.clone().unwrap_or_else(|| {
        if c.client_secret.is_some() {
            "client_secret_basic".into()
        } else {
            "none".into()
        }
    });
    let client = Client {
        client_id: c.client_id.clone(),
        client_secret: c.client_secret.clone(),
        client_secret_expires_at: c
            .client_secret_expires_at
            .filter(|v| v.is_finite() && *v > 0.0)
            .map(|v| v as u64),
        token_endpoint_auth_method: method,
        redirect_uris: c.redirect_uris.clone(),
        registration_access_token: c.registration_access_token.clone(),
        registration_client_uri: c.registration_client_uri.clone(),
        client_secret_ref: None,
        private_key_ref: None,
        source: ClientSource::Imported,
    };
    Ok(Imported {
        tokens,
        client,
        issuer,
    })
}

/// Unix seconds the access token expires: mcp-remote's `expires_at`
/// (milliseconds), else the file's time plus `expires_in`.
fn expiry(t: &RemoteTokens, modified: Option<SystemTime>) -> Option<u64> {
    if let Some(ms) = t.expires_at.filter(|v| v.is_finite() && *v > 0.0) {
        return Some((ms / 1000.0) as u64);
    }
    let secs = t.expires_in.filter(|v| v.is_finite() && *v > 0.0)?;
    let at = modified?.duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(at.saturating_add(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_mcp_remotes() {
        // md5("https://example.com/mcp"), as node's crypto.createHash("md5") gives it
        assert_eq!(
            url_hash("https://example.com/mcp"),
            "8724945d3c4865fe12d6890203193588"
        );
    }

    #[test]
    fn base_dirs() {
        let home = Path::new("/home/u");
        assert_eq!(
            base_dir(None, None, home),
            Some(PathBuf::from("/home/u/.mcp-auth"))
        );
        assert_eq!(
            base_dir(Some("/x"), Some("/y"), home),
            Some(PathBuf::from("/x"))
        );
        assert_eq!(base_dir(None, Some("/y"), home), Some(PathBuf::from("/y")));
        assert_eq!(base_dir(Some("rel"), None, home), None);
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn a_cache_is_read_and_parsed() {
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join(STORE_DIR);
        let h = url_hash("http://127.0.0.1:9/mcp");
        write(
            &v1,
            &format!("{h}_tokens.json"),
            r#"{"access_token":"at-1","token_type":"bearer","refresh_token":"rt-1","expires_in":3600,"expires_at":1900000000123,"scope":"mcp","issuer":"http://127.0.0.1:8"}"#,
        );
        write(
            &v1,
            &format!("{h}_client_info.json"),
            r#"{"client_id":"c-1","redirect_uris":["http://localhost:5000/oauth/callback"],"token_endpoint_auth_method":"none"}"#,
        );
        write(&v1, &format!("{h}_code_verifier_abc.txt"), "verifier");
        write(&v1, "other_tokens.json", "{}");
        write(
            &d.path().join("mcp-remote-0.1.29"),
            &format!("{h}_tokens.json"),
            r#"{"access_token":"old"}"#,
        );
        let cache = read(d.path(), &h).unwrap().unwrap();
        assert_eq!(cache.files.len(), 4);
        let p = parse(&cache).unwrap();
        assert_eq!(p.tokens.access_token, "at-1");
        assert_eq!(p.tokens.refresh_token.as_deref(), Some("rt-1"));
        assert_eq!(p.tokens.expires_at, Some(1_900_000_000));
        assert_eq!(p.client.client_id, "c-1");
        assert_eq!(p.client.token_endpoint_auth_method, "none");
        assert_eq!(p.issuer.as_deref(), Some("http://127.0.0.1:8"));
        assert!(read(d.path(), "0000").unwrap().is_none());
    }

    #[test]
    fn tokens_without_a_registration_are_refused_by_name() {
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join(STORE_DIR);
        write(&v1, "h_tokens.json", r#"{"access_token":"secret-canary"}"#);
        let cache = read(d.path(), "h").unwrap().unwrap();
        let e = parse(&cache).err().unwrap();
        assert!(
            e.contains("client_info.json") && !e.contains("secret-canary"),
            "{e}"
        );
        write(&v1, "h_tokens.json", r#"{"nope":"secret-canary"}"#);
        let cache = read(d.path(), "h").unwrap().unwrap();
        let e = parse(&cache).err().unwrap();
        assert!(!e.contains("secret-canary"), "{e}");
    }

    #[test]
    fn a_write_under_way_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join(STORE_DIR);
        write(&v1, "h_tokens.json", r#"{"access_token":"a"}"#);
        write(
            &v1,
            "h_tokens.json.4242.1764000000000.tmp",
            r#"{"access_token":"b"}"#,
        );
        let err = read(d.path(), "h").err().unwrap();
        assert!(
            err.contains("mcp-remote is writing this cache now"),
            "{err}"
        );
    }

    #[test]
    fn a_lease_of_a_live_process_is_refused_and_a_stale_one_read() {
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join(STORE_DIR);
        write(&v1, "h_tokens.json", r#"{"access_token":"a"}"#);
        let me = std::process::id();
        write(
            &v1,
            "h_refresh_in_progress.json",
            &format!(r#"{{"pid":{me},"nonce":"x","at":1}}"#),
        );
        let err = read(d.path(), "h").err().unwrap();
        assert!(
            err.contains(&format!("mcp-remote (pid {me}) is using this cache")),
            "{err}"
        );
        // pid_max is at most 2^22: this one cannot exist.
        write(
            &v1,
            "h_refresh_in_progress.json",
            r#"{"pid":2147483647,"nonce":"x","at":1}"#,
        );
        assert_eq!(read(d.path(), "h").unwrap().unwrap().files.len(), 2);
    }

    #[test]
    fn links_and_devices_are_not_read() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        std::fs::write(&p, "x").unwrap();
        assert!(read_file(&p).unwrap().is_some());
        std::os::unix::fs::symlink("/dev/zero", d.path().join("z")).unwrap();
        assert!(read_file(&d.path().join("z")).unwrap().is_none());
    }

    #[test]
    fn tokens_and_registration_of_different_issuers_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join(STORE_DIR);
        write(
            &v1,
            "h_tokens.json",
            r#"{"access_token":"a","issuer":"https://as.example"}"#,
        );
        write(
            &v1,
            "h_client_info.json",
            r#"{"client_id":"c","issuer":"https://attacker.example"}"#,
        );
        let cache = read(d.path(), "h").unwrap().unwrap();
        let err = parse(&cache).err().unwrap();
        assert!(err.contains("name different issuers"), "{err}");
    }

    #[test]
    fn a_folder_or_file_another_user_could_plant_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let v1 = d.path().join(STORE_DIR);
        write(&v1, "h_tokens.json", r#"{"access_token":"a"}"#);
        std::fs::set_permissions(&v1, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = read(d.path(), "h").err().unwrap();
        assert!(
            err.contains("is writable by other users (mode 0777)"),
            "{err}"
        );
        std::fs::set_permissions(&v1, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(read(d.path(), "h").unwrap().is_some());
        // Another owner (the test runs as root in CI; as another user chown is refused).
        let f = v1.join("h_tokens.json");
        if std::os::unix::fs::chown(&f, Some(65534), None).is_ok() {
            let err = read(d.path(), "h").err().unwrap();
            assert!(err.contains("belongs to another user (uid 65534)"), "{err}");
        }
    }
}
