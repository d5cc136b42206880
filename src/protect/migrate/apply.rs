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
use crate::protect::store::store;
use crate::reference::SecretRef;
use crate::remote::Http;
use crate::remote::http::Limits;
use crate::resolve::fetch_one;
use crate::secret::SecretValue;

/// What an import did, for the journal.
#[derive(Default)]
pub struct Done {
    pub files: Vec<FileRecord>,
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

/// Stores each file whole and reads it back.
async fn keep_files(
    registry: &Registry,
    prefix: &str,
    cache: &Cache,
) -> Result<Vec<FileRecord>, String> {
    let mut out = Vec::with_capacity(cache.files.len());
    for f in &cache.files {
        let reference = file_ref(prefix, f)?;
        let secret = Secret {
            var: format!("the copy of {}", f.path.display()),
            reference: reference.clone(),
            value: SecretValue::from_slice(f.bytes.expose()),
            masked: String::new(),
        };
        store(registry, &secret).await?;
        out.push(FileRecord {
            path: f.path.clone(),
            reference: reference.to_string(),
            size: f.bytes.len() as u64,
            mode: f.mode,
            sha256: sha256_hex(f.bytes.expose()),
        });
    }
    Ok(out)
}

/// The authorization server's endpoints: from the issuer's metadata, or
/// (no issuer in the cache) by discovery from the server.
async fn endpoints(
    http: &Http,
    server: &Url,
    issuer: Option<&str>,
) -> Result<ServerEndpoints, String> {
    let meta = match issuer {
        Some(i) => {
            let u = crate::oauth::http::url(i, "the issuer in mcp-remote's cache")
                .map_err(|e| e.to_string())?;
            discovery::server_metadata(http, &u)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| {
                    format!(
                        "{} publishes no OAuth or OpenID Connect metadata, so its token endpoint is unknown",
                        crate::remote::endpoint::origin_of(&u)
                    )
                })?
        }
        None => {
            // The server asked mcp-remote for authorization: a 2025-03-26 server counts.
            discovery::discover(http, server, None, true)
                .await
                .map_err(|e| e.to_string())?
                .server
        }
    };
    Ok(ServerEndpoints {
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
    })
}

/// Imports `imp`'s cache: files kept, grant saved and read back equal.
pub async fn import(
    registry: &Arc<Registry>,
    paths: &Paths,
    http: &Http,
    imp: &Import,
) -> Result<Done, String> {
    let server = Url::parse(&imp.url).map_err(|_| "the server URL is not a URL".to_string())?;
    let resource = discovery::canonical_resource(&server);
    let Some(cache) = &imp.cache else {
        return shared(registry, paths, imp, &resource);
    };
    let parsed = mcp_remote::parse(cache)?;
    let files = keep_files(registry, &imp.prefix, cache).await?;
    let ep = endpoints(http, &server, parsed.issuer.as_deref()).await?;
    let ts =
        TokenStore::open(paths, registry.clone(), Some(&imp.prefix)).map_err(|e| e.to_string())?;
    let key = GrantKey {
        issuer: ep.issuer.clone(),
        resource: resource.clone(),
        client_id: parsed.client.client_id.clone(),
    };
    let _lock = ts.lock(&key).await.map_err(|e| e.to_string())?;
    let client_ref = ts
        .save_client(&key.issuer, &resource, &parsed.client)
        .await
        .map_err(|e| e.to_string())?;
    let entry = Entry {
        key: key.clone(),
        tokens_ref: String::new(),
        client_ref: Some(client_ref),
        scope: parsed.tokens.scope.clone(),
        expires_at: parsed.tokens.expires_at,
        has_refresh: parsed.tokens.refresh_token.is_some(),
        saved_at: 0,
        endpoints: ep,
    };
    ts.save(entry, &parsed.tokens)
        .await
        .map_err(|e| e.to_string())?;
    let back = ts.find(&resource).map_err(|e| e.to_string())?;
    let same_tokens = match &back {
        Some(e) if e.key == key => {
            ts.tokens(e).await.map_err(|e| e.to_string())? == Some(parsed.tokens.clone())
        }
        _ => false,
    };
    let same_client = ts
        .client(&key.issuer, &resource)
        .await
        .map_err(|e| e.to_string())?
        == Some(parsed.client.clone());
    if !same_tokens || !same_client {
        return Err(format!(
            "the token store ({}) reads back something else than was saved; nothing removed",
            imp.prefix
        ));
    }
    Ok(Done {
        files,
        grant: Some(GrantRecord {
            issuer: key.issuer,
            resource,
            client_id: key.client_id,
            prefix: imp.prefix.clone(),
        }),
    })
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
    match ts.find(resource).map_err(|e| e.to_string())? {
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
/// per file left, with the reason.
pub fn remove_files(files: &[FileRecord]) -> Vec<String> {
    let mut left = Vec::new();
    for f in files {
        let now = std::fs::read(&f.path);
        match now {
            Ok(bytes) if sha256_hex(&bytes) == f.sha256 => {
                if let Err(e) = std::fs::remove_file(&f.path) {
                    left.push(format!(
                        "{}: imported but not removed: {e}",
                        f.path.display()
                    ));
                }
            }
            Ok(_) => left.push(format!(
                "{}: changed since it was imported (is mcp-remote running?); left in place: the \
                 token store holds the earlier tokens, remove the file once it is not needed",
                f.path.display()
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => left.push(format!(
                "{}: imported but not removed: {e}",
                f.path.display()
            )),
        }
    }
    left
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
        match std::fs::read(&f.path) {
            Ok(now) if sha256_hex(&now) == f.sha256 => continue,
            Ok(_) => {
                return Err(format!(
                    "{} exists with other content (written since protect?); left alone",
                    f.path.display()
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot read {}: {e}", f.path.display())),
        }
        out.push(PutBack {
            path: f.path.clone(),
            bytes: v,
            mode: f.mode,
        });
    }
    Ok(out)
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
