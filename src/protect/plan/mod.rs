//! Planning: from one parsed config file and its findings, which secrets go
//! where and which edits rewrite each entry to start through `mcp-warden run`
//! (or, for a remote server, `mcp-warden connect`).
//!
//! Pure: reads no file (but an `mcp-remote` entry's OAuth cache, through
//! the reader in [`Options::caches`]), contacts no backend. What cannot be
//! protected is returned with the reason, never silently dropped.

mod argv;
mod bridge;
mod connect;
mod oauth_cache;
mod remote;
mod server;
mod wrapper;

use crate::clients::edit::Edit;
use crate::clients::{ConfigFile, Server};
use crate::protect::migrate::{Caches, Import};
use crate::protect::naming::Target;
use crate::reference::SecretRef;
use crate::scan::finding::Finding;
use crate::scan::server_findings;
use crate::secret::SecretValue;

pub use connect::for_add as connect_argv_for_add;
pub use server::shell_quote;

/// One secret to store before any config points at it.
pub struct Secret {
    pub var: String,
    pub reference: SecretRef,
    pub value: SecretValue,
    /// Shown instead of the value in diffs and messages.
    pub masked: String,
}

/// The rewrite of one server entry.
pub struct EntryPlan {
    pub server: String,
    /// Pointer to the entry object.
    pub pointer: String,
    pub secrets: Vec<Secret>,
    pub edits: Vec<Edit>,
    /// What this does, for people: "2 secrets to local://", "wrapper converted".
    pub summary: String,
    /// An OAuth cache the rewritten entry's tokens come from.
    pub import: Option<Import>,
}

/// A secret left in place, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub server: String,
    pub site: String,
    pub reason: String,
}

/// Everything to do in one file.
pub struct FilePlan {
    pub entries: Vec<EntryPlan>,
    pub skipped: Vec<Skipped>,
}

/// How a remote server's secret headers and URL secrets are protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RemoteStyle {
    /// Every client: the entry becomes a stdio entry running `mcp-warden
    /// connect`, which holds the values in memory and applies the guard
    /// (redaction, audit, tool policy) to the remote traffic.
    #[default]
    Connect,
    /// Claude Code: the entry stays remote and a `headersHelper` running
    /// `mcp-warden headers` prints the headers when Claude Code connects
    /// (the client's own transport; no guard). Other clients: as `Connect`.
    HeadersHelper,
}

/// Options that shape a plan.
pub struct Options<'a> {
    pub target: &'a Target,
    /// The command written into configs (absolute path of mcp-warden).
    pub warden: &'a str,
    pub convert_wrappers: bool,
    /// Only these servers (all when empty).
    pub servers: &'a [String],
    pub remote_style: RemoteStyle,
    /// mcp-remote OAuth caches to import (none: such entries are left alone).
    pub caches: Option<&'a Caches>,
}

/// Plans `cfg` (read from `original`).
pub fn plan_file(cfg: &ConfigFile, original: &[u8], opts: &Options<'_>) -> FilePlan {
    let mut plan = FilePlan {
        entries: Vec::new(),
        skipped: Vec::new(),
    };
    for server in &cfg.servers {
        if !opts.servers.is_empty() && !opts.servers.contains(&server.name) {
            continue;
        }
        let findings = server_findings(server);
        if opts.convert_wrappers
            && let Some(entry) = wrapper::convert(cfg, server, &findings, original, opts)
        {
            plan.entries.push(entry);
            continue;
        }
        if findings.is_empty()
            && let Some(caches) = opts.caches
            && let Some(planned) = oauth_cache::plan(cfg, server, original, opts, caches)
        {
            match planned {
                oauth_cache::Planned::Entry(e) => plan.entries.push(e),
                oauth_cache::Planned::Skipped(s) => plan.skipped.push(s),
            }
            continue;
        }
        if findings.is_empty() {
            continue;
        }
        match server::plan(cfg, server, &findings, original, opts) {
            Ok(planned) => {
                plan.entries.extend(planned.entry);
                plan.skipped.extend(planned.skipped);
            }
            Err(reason) => plan
                .skipped
                .extend(findings.iter().map(|f| skip(server, f, &reason))),
        }
    }
    for (key, _) in &cfg.credentials {
        plan.skipped.push(Skipped {
            server: String::new(),
            site: format!("field {key}"),
            reason: crate::protect::migrate::unimportable(cfg.location.client),
        });
    }
    plan.skipped.retain(|s| {
        // Token-store fields are only worth a line when the scan found something in them.
        !s.server.is_empty()
            || cfg
                .credentials
                .iter()
                .any(|(k, _)| s.site.ends_with(k.as_str()))
    });
    plan
}

fn skip(server: &Server, f: &Finding, reason: &str) -> Skipped {
    Skipped {
        server: server.name.clone(),
        site: f.site.describe(),
        reason: reason.to_string(),
    }
}
