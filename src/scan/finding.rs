//! Findings and per-server, per-file results: the data every report renders.
//!
//! Owns masking: a finding carries at most the first four characters of the
//! secret and its length, never the value. Must not format output.

use std::path::PathBuf;

use super::detect::{Detector, Hit, Severity};
use super::projects::ProjectRoot;
use crate::clients::{Located, Location};

/// A secret reduced to what may be shown: a short prefix and the length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    /// At most the first four characters, fewer for short values (a quarter of
    /// the length, rounded down), so a short password is never half shown.
    pub prefix: String,
    /// Length in characters.
    pub length: usize,
}

impl Masked {
    /// Masks `secret`.
    pub fn of(secret: &str) -> Self {
        let length = secret.chars().count();
        let shown = (length / 4).min(4);
        Self {
            prefix: secret.chars().take(shown).collect(),
            length,
        }
    }

    /// `ghp_… (40 chars)`.
    pub fn display(&self) -> String {
        format!("{}… ({} chars)", self.prefix, self.length)
    }
}

/// Where in a server entry a secret was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Site {
    /// An environment variable's value.
    Env(String),
    /// A command argument (its 0-based index).
    Arg(usize),
    /// A header's value.
    Header(String),
    /// The server URL.
    Url,
    /// A field of a token store.
    Credential(String),
}

impl Site {
    pub fn describe(&self) -> String {
        match self {
            Site::Env(n) => format!("env {n}"),
            Site::Arg(i) => format!("args[{i}]"),
            Site::Header(n) => format!("header {n}"),
            Site::Url => "url".to_string(),
            Site::Credential(k) => format!("field {k}"),
        }
    }
}

/// One plaintext secret in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    pub detector: Detector,
    pub site: Site,
    /// RFC 6901 pointer to the string holding the secret.
    pub pointer: String,
    /// 1-based position of that string in the file.
    pub line: u32,
    pub column: u32,
    /// Byte range of the secret inside that string (a position, not a value).
    pub range: std::ops::Range<usize>,
    pub masked: Masked,
}

impl Finding {
    pub fn new(hit: &Hit, site: Site, at: &Located) -> Self {
        let secret = at.value.get(hit.range.clone()).unwrap_or_default();
        Self {
            rule: hit.rule,
            title: hit.title,
            severity: hit.severity,
            detector: hit.detector,
            site,
            pointer: at.pointer.clone(),
            line: at.line,
            column: at.column,
            range: hit.range.clone(),
            masked: Masked::of(secret),
        }
    }
}

/// How a server gets its credentials, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Posture {
    /// A secret sits in the file in plaintext.
    PlaintextSecret,
    /// Taken from the client's environment (or editor secret storage): better,
    /// still long-lived and readable by every process of the user.
    EnvIndirection,
    /// Started through a secret wrapper (mcp-warden, mcp-secret-wrapper, `op run`, ...).
    VaultWrapped,
    /// Remote, without a static credential (the client runs OAuth).
    Oauth,
    NoCredentials,
}

impl Posture {
    pub const ALL: [Posture; 5] = [
        Posture::PlaintextSecret,
        Posture::EnvIndirection,
        Posture::VaultWrapped,
        Posture::Oauth,
        Posture::NoCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Posture::PlaintextSecret => "plaintext-secret",
            Posture::EnvIndirection => "env-indirection",
            Posture::VaultWrapped => "vault-wrapped",
            Posture::Oauth => "oauth",
            Posture::NoCredentials => "no-credentials",
        }
    }
}

/// One server entry and what was found in it.
#[derive(Debug, Clone)]
pub struct ServerResult {
    pub name: String,
    pub pointer: String,
    pub line: u32,
    pub transport: &'static str,
    pub disabled: bool,
    pub posture: Posture,
    /// Why the launch command is unpinned, when it is.
    pub unpinned: Option<String>,
    pub findings: Vec<Finding>,
}

/// One file: its servers and findings, or why it could not be read.
#[derive(Debug, Clone)]
pub struct FileResult {
    pub client: &'static str,
    pub scope: &'static str,
    pub path: PathBuf,
    pub format: &'static str,
    /// Set when the file could not be read or parsed; the scan went on.
    pub error: Option<String>,
    pub servers: Vec<ServerResult>,
    /// Token-store findings (not tied to a server).
    pub findings: Vec<Finding>,
    /// The project root this file was found at, and the sources that named
    /// it (machine mode); `None` for files found otherwise.
    pub project_root: Option<ProjectRoot>,
}

impl FileResult {
    pub fn unread(location: &Location, error: String) -> Self {
        Self {
            client: location.client,
            scope: location.scope.as_str(),
            path: location.path.clone(),
            format: format_name(location.format),
            error: Some(error),
            servers: Vec::new(),
            findings: Vec::new(),
            project_root: None,
        }
    }

    /// Every finding in the file, servers first.
    pub fn all_findings(&self) -> impl Iterator<Item = &Finding> {
        self.servers
            .iter()
            .flat_map(|s| s.findings.iter())
            .chain(self.findings.iter())
    }
}

pub fn format_name(f: crate::clients::Format) -> &'static str {
    match f {
        crate::clients::Format::Json => "json",
        crate::clients::Format::Toml => "toml",
        crate::clients::Format::Yaml => "yaml",
    }
}
