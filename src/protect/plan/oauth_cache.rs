//! An `mcp-remote URL` entry whose OAuth cache exists: rewritten to start
//! `mcp-warden connect URL` (with `--transport sse` for mcp-remote's
//! `sse-only`, and `--token-store` when tokens go elsewhere than the
//! default), its cache to be imported (see [`crate::protect::migrate`]).
//!
//! Pure but for reading the entry's cache through the [`Caches`] it is
//! handed; what the rewrite cannot carry is a [`Skipped`] with the reason.

use super::argv::{argv_edits, argv_shape, existing_run};
use super::bridge::oauth_bridge;
use super::connect::{self, Endpoint, Piece};
use super::{EntryPlan, Options, Skipped};
use crate::clients::{ConfigFile, Server};
use crate::oauth::store::DEFAULT_PREFIX;
use crate::protect::migrate::{Caches, Import, mcp_remote};

/// What planning an entry's cache gave.
pub(super) enum Planned {
    Entry(EntryPlan),
    Skipped(Skipped),
}

/// The import plan of `server`, when it is an `mcp-remote URL` entry with
/// a cache (and no secret of its own: those go the other ways).
pub(super) fn plan(
    cfg: &ConfigFile,
    server: &Server,
    original: &[u8],
    opts: &Options<'_>,
    caches: &Caches,
) -> Option<Planned> {
    if server.command.is_none() || existing_run(server).is_some() {
        return None;
    }
    let bridge = oauth_bridge(server)?;
    let entry_dir = server
        .env
        .iter()
        .find(|(k, _)| k == "MCP_REMOTE_CONFIG_DIR")
        .map(|(_, v)| v.value.as_str());
    let cache = caches.take(&bridge.url.value, entry_dir)?;
    let skipped = |reason: String| {
        Some(Planned::Skipped(Skipped {
            server: server.name.clone(),
            site: "mcp-remote OAuth cache".into(),
            reason,
        }))
    };
    // A cache that cannot be used is said now, in the dry run too.
    if let Some(Err(why)) = cache.as_ref().map(mcp_remote::parse) {
        return skipped(format!(
            "cannot import: {why}; revoke the tokens and log in with `mcp-warden login URL`"
        ));
    }
    let ep = Endpoint {
        url: Piece::whole(bridge.url, Vec::new()),
        headers: Vec::new(),
        sse: bridge.sse,
    };
    let t = match connect::templates(&ep, &mut Vec::new()) {
        Ok(t) => t,
        Err(why) => return skipped(format!("cannot import: {why}")),
    };
    let Some(shape) = argv_shape(server, cfg.location.format, original) else {
        return skipped("cannot import: the entry's command cannot be rewritten".into());
    };
    let mut argv = vec![opts.warden.to_string()];
    argv.extend(connect::argv(&t, Vec::new(), ep.sse));
    if caches.prefix != DEFAULT_PREFIX {
        argv.push(format!("--token-store={}", caches.prefix));
    }
    let edits = argv_edits(&shape, &server.pointer, &argv);
    let summary = match &cache {
        Some(c) => format!(
            "mcp-remote's OAuth tokens ({} file(s)) to the token store {} (through mcp-warden connect)",
            c.files.len(),
            caches.prefix
        ),
        None => "through mcp-warden connect, with the tokens imported for another entry".into(),
    };
    Some(Planned::Entry(EntryPlan {
        server: server.name.clone(),
        pointer: server.pointer.clone(),
        secrets: Vec::new(),
        edits,
        summary,
        import: Some(Import {
            url: bridge.url.value.clone(),
            cache,
            prefix: caches.prefix.clone(),
        }),
    }))
}
