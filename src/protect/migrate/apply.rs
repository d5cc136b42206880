//! Doing an import, and undoing it.
//!
//! Import, in this order, so that nothing is lost whatever fails: each cache
//! file's bytes stored whole as a secret and read back; the authorization
//! server's endpoints found (the cache names the issuer; its RFC 8414 / OIDC
//! metadata gives the token endpoint, through oauth-core's discovery; a
//! cache without an issuer is discovered from the server's protected
//! resource metadata); the registration and tokens saved through the token
//! store and read back equal. Only after the caller has journaled and
//! rewritten the config are the files removed, each one only if it still
//! holds the bytes that were imported. Undo: each file written back
//! atomically with its mode (never over a file that differs), the grant
//! forgotten from the token store (not revoked: the restored files use it).
//!
//! Owns that order and its checks; errors are one line naming a file, a
//! reference or an origin, never a value.

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use sha2::{Digest, Sha256};

use super::Import;
use super::mcp_remote::{self, Cache, CacheFile};
use crate::backend::Registry;
use crate::oauth::discovery;
use crate::oauth::store::{Entry, GrantKey, ServerEndpoints, TokenStore};
use crate::paths::Paths;
use crate::protect::journal::{FileRecord, GrantRecord};
use crate::protect::plan::Secret;
use crate::protect::store::{Stored, store};
use crate::reference::SecretRef;
use crate::remote::Http;
use crate::remote::http::Limits;
use crate::resolve::fetch_one;
use crate::secret::SecretValue;

/// What an import did, for the journal.
#[derive(Default)]
pub struct Done {
    pub files: Vec<FileRecord>,
    /// The copies this import stored (deleted again when a later step fails).
    pub written: Vec<String>,
    pub grant: Option<GrantRecord>,
}

/// The HTTP client discovery uses (the bridge's rules: TLS verified, https
/// or loopback http, bounded).
pub fn http(timeout: Duration) -> Result<Http, String> {
    Http::new(Limits {
        connect: timeout,
        read: timeout,
        max_message: 1024 * 1024,
    })
    .map_err(|e| e.to_string())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Where a cache file's bytes go: one name per path and content, so a
/// second protect after a restore finds them already there.
fn file_ref(prefix: &str, f: &CacheFile) -> Result<SecretRef, String> {
    let mut h = Sha256::new();
    h.update(f.path.to_string_lossy().as_bytes());
    h.update(b"\n");
    h.update(f.bytes.expose());
    let name = format!("{prefix}oauth-file-{}", hex::encode(&h.finalize()[..8]));
    SecretRef::parse(&name).map_err(|e| format!("{name}: {e}"))
}

/// The cache files stored whole: their records, and the references this
/// run wrote (a copy already there from an earlier run is not this run's
/// to delete).
pub struct Kept {
    pub files: Vec<FileRecord>,
    pub written: Vec<String>,
}

/// Stores each file whole and reads it back; on a failure the copies
/// written so far are deleted again.
async fn keep_files(registry: &Registry, prefix: &str, cache: &Cache) -> Result<Kept, String> {
    let mut kept = Kept {
        files: Vec::with_capacity(cache.files.len()),
        written: Vec::new(),
    };
    for f in &cache.files {
        if let Err(e) = keep_file(registry, prefix, f, &mut kept).await {
            delete_stored(registry, &kept.written).await;
            return Err(e);
        }
    }
    Ok(kept)
}

async fn keep_file(
    registry: &Registry,
    prefix: &str,
    f: &CacheFile,
    kept: &mut Kept,
) -> Result<(), String> {
    let reference = file_ref(prefix, f)?;
    let secret = Secret {
        var: format!("the copy of {}", f.path.display()),
        reference: reference.clone(),
        value: SecretValue::from_slice(f.bytes.expose()),
        masked: String::new(),
    };
    if store(registry, &secret).await? == Stored::Written {
        kept.written.push(reference.to_string());
    }
    kept.files.push(FileRecord {
        path: f.path.clone(),
        reference: reference.to_string(),
        size: f.bytes.len() as u64,
        mode: f.mode,
        sha256: sha256_hex(f.bytes.expose()),
    });
    Ok(())
}

/// Deletes stored values (copies, tokens, a registration; one already gone is fine); the
/// references that could not be deleted, each with the reason.
pub async fn delete_stored(registry: &Registry, refs: &[String]) -> Vec<String> {
    let mut failed = Vec::new();
    for text in refs {
        let Ok(r) = SecretRef::parse(text) else {
            failed.push(format!("{text}: not a reference"));
            continue;
        };
        let res = match registry.get(r.scheme) {
            Ok(b) => b.delete(&r).await,
            Err(e) => Err(e),
        };
        match res {
            Err(e) if e.kind != crate::backend::ErrorKind::NotFound => {
                failed.push(format!("{text}: {e}"));
            }
            _ => {}
        }
    }
    failed
}

/// Where an imported grant is refreshed: the authorization server's
/// endpoints, and the RFC 8707 `resource` mcp-remote asked for (the
/// protected resource metadata's, as the MCP SDK does; `None` without one).
struct Authority {
    endpoints: ServerEndpoints,
    resource: Option<String>,
}

/// The authorization server's endpoints: from the issuer's metadata, or
/// (no issuer in the cache) by discovery from the server.
async fn endpoints(http: &Http, server: &Url, issuer: Option<&str>) -> Result<Authority, String> {
    let (meta, resource) = match issuer {
        Some(i) => {
            let u = crate::oauth::http::named(i, "the issuer in mcp-remote's cache", server)
                .map_err(|e| e.to_string())?;
            let listed = check_issuer(http, server, i).await?;
            let meta = discovery::server_metadata(http, &u, server)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "{} publishes no OAuth or OpenID Connect metadata, so its token endpoint is unknown",
                        crate::remote::endpoint::origin_of(&u)
                    )
                })?;
            (meta, listed.map(|m| m.resource))
        }
        None => {
            // The server asked mcp-remote for authorization: a 2025-03-26 server counts.
            let found = discovery::discover(http, server, None, true)
                .await
                .map_err(|e| e.to_string())?;
            let resource = (!found.legacy).then(|| found.resource.clone());
            (found.server, resource)
        }
    };
    let endpoints = ServerEndpoints {
        issuer: meta.issuer.clone(),
        authorization_endpoint: meta.authorization_endpoint.clone(),
        token_endpoint: meta.token_endpoint.clone(),
        revocation_endpoint: meta.revocation_endpoint.clone(),
        registration_endpoint: meta.registration_endpoint.clone(),
        token_endpoint_auth_methods_supported: meta
            .token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_default(),
        scopes_supported: meta.scopes_supported.clone().unwrap_or_default(),
        iss_parameter_supported: meta.authorization_response_iss_parameter_supported,
    };
    Ok(Authority {
        endpoints,
        resource,
    })
}

/// The issuer a cache names must be one the server's protected resource
/// metadata lists, when it publishes any at a well-known location: a
/// planted cache naming another issuer would send the server's tokens
/// (and the user's refresh token) there.
/// Returns the metadata it checked against.
async fn check_issuer(
    http: &Http,
    server: &Url,
    issuer: &str,
) -> Result<Option<discovery::ResourceMetadata>, String> {
    let Some(listed) = resource_metadata(http, server).await? else {
        return Ok(None);
    };
    let same = |a: &str| a.trim_end_matches('/') == issuer.trim_end_matches('/');
    if listed.authorization_servers.iter().any(|a| same(a)) {
        return Ok(Some(listed));
    }
    Err(format!(
        "the cache names the issuer {issuer}, which {}'s protected resource metadata does not \
         list; not imported",
        crate::remote::endpoint::origin_of(server)
    ))
}

/// The server's RFC 9728 metadata from its well-known locations
/// (path-based first); `None` when it has none there.
async fn resource_metadata(
    http: &Http,
    server: &Url,
) -> Result<Option<discovery::ResourceMetadata>, String> {
    let path = server.path().trim_end_matches('/');
    let mut names = Vec::new();
    if !path.is_empty() {
        names.push(format!("/.well-known/oauth-protected-resource{path}"));
    }
    names.push("/.well-known/oauth-protected-resource".to_string());
    for name in names {
        let mut u = server.clone();
        u.set_query(None);
        u.set_fragment(None);
        u.set_path(&name);
        let a = crate::oauth::http::get(http, &u)
            .await
            .map_err(|e| e.to_string())?;
        if !a.status.is_success() {
            continue;
        }
        return serde_json::from_slice(&a.body).map(Some).map_err(|_| {
            format!(
                "{}'s protected resource metadata is not valid JSON",
                a.origin
            )
        });
    }
    Ok(None)
}

/// Imports `imp`'s cache: the issuer's endpoints found, an mcp-warden
/// login for the same server refused, files kept, grant saved and read
/// back equal. On any failure after the first copy is stored, what this
/// import wrote (copies, registration, grant) is taken out again.
pub async fn import(
    registry: &Arc<Registry>,
    paths: &Paths,
    http: &Http,
    imp: &Import,
) -> Result<Done, String> {
    let server = Url::parse(&imp.url).map_err(|_| "the server URL is not a URL".to_string())?;
    // the key `connect URL` looks the grant up by (the entry keeps the URL as written)
    let resource = discovery::grant_resource(&server, true);
    let Some(cache) = &imp.cache else {
        return shared(registry, paths, imp, &resource);
    };
    let parsed = mcp_remote::parse(cache)?;
    let authority = endpoints(http, &server, parsed.issuer.as_deref()).await?;
    let ep = authority.endpoints;
    let ts =
        TokenStore::open(paths, registry.clone(), Some(&imp.prefix)).map_err(|e| e.to_string())?;
    let key = GrantKey {
        issuer: ep.issuer.clone(),
        resource: resource.clone(),
        client_id: parsed.client.client_id.clone(),
    };
    let _lock = ts.lock(&key).await.map_err(|e| e.to_string())?;
    let before = Before::read(&ts, &key, &imp.url).await?;
    let kept = keep_files(registry, &imp.prefix, cache).await?;
    if let Err(e) = save_grant(&ts, &key, &parsed, ep, authority.resource).await {
        take_back(registry, &ts, &key, &before, &kept).await;
        return Err(format!("{e}; nothing removed"));
    }
    Ok(Done {
        files: kept.files,
        written: kept.written,
        grant: Some(GrantRecord {
            issuer: key.issuer,
            resource,
            client_id: key.client_id,
            prefix: imp.prefix.clone(),
        }),
    })
}

/// What the token store held for the grant's server before the import.
struct Before {
    /// A registration for this issuer and resource (same client).
    client: bool,
}

impl Before {
    /// Reads it, refusing any grant for the same server (even of this very
    /// client: `connect` may have rotated its refresh token since, and the
    /// cache's older tokens would overwrite it, or a failed import delete
    /// it) and a registration of another client (one per issuer and
    /// resource).
    async fn read(ts: &TokenStore, key: &GrantKey, url: &str) -> Result<Before, String> {
        let entries = ts.entries().map_err(|e| e.to_string())?;
        let refuse = |who: &str| {
            format!(
                "the token store ({}) already holds an mcp-warden login for {url} ({who}); run \
                 `mcp-warden logout {url}` first, or leave this entry as it is",
                ts.prefix(),
            )
        };
        if let Some(other) = entries.iter().find(|e| e.key.resource == key.resource) {
            return Err(refuse(&format!(
                "client {} of {}",
                other.key.client_id, other.key.issuer
            )));
        }
        let client = ts
            .client(&key.issuer, &key.resource)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(c) = client.as_ref().filter(|c| c.client_id != key.client_id) {
            return Err(refuse(&format!("client {}", c.client_id)));
        }
        Ok(Before {
            client: client.is_some(),
        })
    }
}

/// Saves the registration and tokens and reads both back by key.
async fn save_grant(
    ts: &TokenStore,
    key: &GrantKey,
    parsed: &mcp_remote::Imported,
    ep: ServerEndpoints,
    asked: Option<String>,
) -> Result<(), String> {
    let client_ref = ts
        .save_client(&key.issuer, &key.resource, &parsed.client)
        .await
        .map_err(|e| e.to_string())?;
    let entry = Entry {
        key: key.clone(),
        tokens_ref: String::new(),
        client_ref: Some(client_ref),
        // what mcp-remote asked for, so a refresh asks for the same
        resource: asked,
        scope: parsed.tokens.scope.clone(),
        expires_at: parsed.tokens.expires_at,
        has_refresh: parsed.tokens.refresh_token.is_some(),
        saved_at: 0,
        endpoints: ep,
    };
    ts.save(entry, &parsed.tokens)
        .await
        .map_err(|e| e.to_string())?;
    let back = ts
        .entries()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|e| e.key == *key);
    let same_tokens = match &back {
        Some(e) => ts.tokens(e).await.map_err(|e| e.to_string())? == Some(parsed.tokens.clone()),
        None => false,
    };
    let same_client = ts
        .client(&key.issuer, &key.resource)
        .await
        .map_err(|e| e.to_string())?
        == Some(parsed.client.clone());
    if !same_tokens || !same_client {
        return Err(format!(
            "the token store ({}) reads back something else than was saved",
            ts.prefix()
        ));
    }
    Ok(())
}

/// Undoes a failed import: the grant (unless it was there before), the
/// registration (unless it was there before) and the copies written.
/// Whatever cannot be undone is said on stderr, by reference.
async fn take_back(
    registry: &Registry,
    ts: &TokenStore,
    key: &GrantKey,
    before: &Before,
    kept: &Kept,
) {
    {
        let removed = ts.remove(key, !before.client).await;
        let still = ts
            .entries()
            .map_or(true, |v| v.iter().any(|e| e.key == *key));
        if let (true, Err(e)) = (still, removed) {
            eprintln!(
                "mcp-warden: {}: the partly imported grant could not be taken back: {e}",
                key.resource
            );
        }
        // Tokens written but never recorded in the index (the index write failed).
        if let Ok(r) = ts.tokens_ref(key) {
            for e in delete_stored(registry, &[r.to_string()]).await {
                eprintln!("mcp-warden: the imported tokens could not be taken back: {e}");
            }
        }
    }
    if !before.client
        && let Ok(r) = ts.client_ref(&key.issuer, &key.resource)
    {
        // `remove` forgets a registration only through a grant's entry: one saved
        // without its grant is deleted here.
        for e in delete_stored(registry, &[r.to_string()]).await {
            eprintln!("mcp-warden: the imported registration could not be taken back: {e}");
        }
    }
    for e in delete_stored(registry, &kept.written).await {
        eprintln!("mcp-warden: a stored copy could not be deleted: {e}");
    }
}

/// An entry whose cache another entry of this run imported: the grant must
/// be in the store now, or the entry would point at nothing.
fn shared(
    registry: &Arc<Registry>,
    paths: &Paths,
    imp: &Import,
    resource: &str,
) -> Result<Done, String> {
    let ts =
        TokenStore::open(paths, registry.clone(), Some(&imp.prefix)).map_err(|e| e.to_string())?;
    match ts.find(resource, None).map_err(|e| e.to_string())? {
        Some(_) => Ok(Done::default()),
        None => Err(
            "its mcp-remote cache is another entry's, whose import did not finish; fix that one \
             and run protect again"
                .into(),
        ),
    }
}

/// Forgets a grant an import saved (nothing is revoked).
pub async fn forget(
    registry: &Arc<Registry>,
    paths: &Paths,
    g: &GrantRecord,
) -> Result<(), String> {
    let ts =
        TokenStore::open(paths, registry.clone(), Some(&g.prefix)).map_err(|e| e.to_string())?;
    let key = GrantKey {
        issuer: g.issuer.clone(),
        resource: g.resource.clone(),
        client_id: g.client_id.clone(),
    };
    ts.remove(&key, true).await.map_err(|e| e.to_string())?;
    Ok(())
}

/// Removes the imported files that still hold what was imported; one line
/// per file left, with the reason. Each file is first renamed to a private
/// name, so what is checked is what is removed: mcp-remote replaces its
/// files by rename, and a newer file renamed in meanwhile is not deleted.
pub fn remove_files(files: &[FileRecord]) -> Vec<String> {
    files.iter().filter_map(remove_file).collect()
}

fn remove_file(f: &FileRecord) -> Option<String> {
    let shown = f.path.display();
    let Some(hidden) = private_name(&f.path) else {
        return Some(format!(
            "{shown}: imported but not removed: not a file name"
        ));
    };
    match std::fs::rename(&f.path, &hidden) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("{shown}: imported but not removed: {e}")),
    }
    let same = matches!(
        mcp_remote::read_file(&hidden),
        Ok(Some(now)) if sha256_hex(now.bytes.expose()) == f.sha256
    );
    if same {
        return std::fs::remove_file(&hidden).err().map(|e| {
            format!(
                "{shown}: imported but not removed ({}): {e}",
                hidden.display()
            )
        });
    }
    // Not what was imported: back under its name, unless a newer file is there now.
    let back = std::fs::hard_link(&hidden, &f.path).and_then(|()| std::fs::remove_file(&hidden));
    Some(match back {
        Ok(()) => format!(
            "{shown}: changed since it was imported (is mcp-remote running?); left in place: the \
             token store holds the earlier tokens, remove the file once it is not needed"
        ),
        Err(e) => format!(
            "{shown}: changed since it was imported and replaced again meanwhile; the version \
             before is in {} ({e}): delete it once the client works",
            hidden.display()
        ),
    })
}

/// A name beside `path` that mcp-remote does not use.
fn private_name(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name()?);
    name.push(format!(".mcp-warden-{}-{nanos}", std::process::id()));
    Some(path.with_file_name(name))
}

/// A file restore writes back.
pub struct PutBack {
    pub path: std::path::PathBuf,
    pub bytes: SecretValue,
    pub mode: u32,
}

/// The files of a record read back from their references, each checked
/// against its size and hash. A file already there with the same bytes
/// needs nothing; one there with other bytes is an error (left alone).
pub async fn put_back_plan(
    registry: &Registry,
    files: &[FileRecord],
) -> Result<Vec<PutBack>, String> {
    let mut out = Vec::new();
    for f in files {
        let r = SecretRef::parse(&f.reference).map_err(|e| format!("{}: {e}", f.reference))?;
        let v = fetch_one(registry, &r)
            .await
            .map_err(|e| format!("cannot read {}: {e}", f.reference))?;
        if v.len() as u64 != f.size || sha256_hex(v.expose()) != f.sha256 {
            return Err(format!(
                "{} does not hold the bytes of {} any more; not restored",
                f.reference,
                f.path.display()
            ));
        }
        if present(f)? {
            continue;
        }
        out.push(PutBack {
            path: f.path.clone(),
            bytes: v,
            mode: f.mode,
        });
    }
    Ok(out)
}

/// Whether `f` is already back with the bytes imported; an error when
/// something else is at its path (other bytes, a link, a folder: written
/// since protect, left alone). Read bounded, never through a link.
fn present(f: &FileRecord) -> Result<bool, String> {
    let shown = f.path.display();
    let other =
        || format!("{shown} exists with other content (written since protect?); left alone");
    match mcp_remote::read_bounded(&f.path)? {
        Some(now) if sha256_hex(&now.bytes) == f.sha256 => Ok(true),
        Some(_) => Err(other()),
        None => match std::fs::symlink_metadata(&f.path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(format!("cannot read {shown}: {e}")),
            Ok(_) => Err(other()),
        },
    }
}

/// Writes a file back atomically with its mode (its folder created 0700 when gone).
pub fn put_back(p: &PutBack) -> Result<(), String> {
    if let Some(dir) = p.path.parent().filter(|d| !d.exists()) {
        crate::atomic_file::create_private_dir(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    crate::atomic_file::replace_with_mode(&p.path, p.bytes.expose(), p.mode)
        .map_err(|e| format!("cannot write {}: {e}", p.path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &std::path::Path, bytes: &[u8]) -> FileRecord {
        FileRecord {
            path: path.to_path_buf(),
            reference: "local://oauth-file-x".into(),
            size: bytes.len() as u64,
            mode: 0o600,
            sha256: sha256_hex(bytes),
        }
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn only_the_bytes_imported_are_removed() {
        let d = tempfile::tempdir().unwrap();
        let same = d.path().join("h_tokens.json");
        let newer = d.path().join("h_client_info.json");
        let link = d.path().join("h_x.json");
        std::fs::write(&same, "imported").unwrap();
        std::fs::write(&newer, "rotated").unwrap();
        std::os::unix::fs::symlink(&same, &link).unwrap();
        let left = remove_files(&[
            record(&same, b"imported"),
            record(&newer, b"imported"),
            record(&link, b"imported"),
        ]);
        assert_eq!(left.len(), 2, "{left:?}");
        assert!(
            left.iter()
                .all(|l| l.contains("changed since it was imported")),
            "{left:?}"
        );
        assert_eq!(std::fs::read(&newer).unwrap(), b"rotated");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(names(d.path()), ["h_client_info.json", "h_x.json"]);
    }

    #[test]
    fn restore_reads_what_is_there_bounded_and_never_through_a_link() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("h_tokens.json");
        let r = record(&path, b"imported");
        assert!(!present(&r).unwrap());
        std::fs::write(&path, "imported").unwrap();
        assert!(present(&r).unwrap());
        std::fs::write(&path, "other").unwrap();
        assert!(
            present(&r)
                .unwrap_err()
                .contains("exists with other content")
        );
        // an endless device behind a link is neither read nor replaced
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
        assert!(
            present(&r)
                .unwrap_err()
                .contains("exists with other content")
        );
    }
}
