//! Detectors: does a config value hold a plaintext secret, and which kind.
//!
//! Owns the typed token rules (written from each provider's published format),
//! the name heuristics gated by length and entropy, placeholder and reference
//! recognition, and the splitting of argument lists, URLs and header values
//! into the part that could be a secret. Knows nothing of files, clients or
//! output; never returns or formats a value, only byte ranges into it.

mod args;
mod checks;
mod entropy;
mod header;
mod heuristic;
mod json;
mod kv;
mod names;
mod placeholder;
mod reference;
mod rules;
mod url;
mod value;

#[cfg(test)]
pub(crate) mod fakes;
#[cfg(test)]
mod tests;

use std::ops::Range;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// Where a value sits in a server entry: decides which detectors apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// An environment value; `name` is the variable.
    Env { name: &'a str },
    /// A header value; `name` is the header.
    Header { name: &'a str },
    /// A server URL (userinfo password, query parameters, secret path segments).
    Url,
    /// A field of a plaintext token store (`access_token`, ...).
    Credential { key: &'a str },
}

/// Why a value was flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detector {
    /// A provider's token format matched.
    Format,
    /// A secret-like name (`*_TOKEN`, `Authorization`, `--api-key`) with a value
    /// long and random enough to be real.
    Heuristic,
    /// A password in a URL's userinfo or a credential query parameter.
    Url,
}

/// One plaintext secret found in a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Stable rule id, e.g. `github-pat-classic`, `generic-secret-name`, `url-password`.
    pub rule: &'static str,
    /// What it is, for people: "GitHub personal access token (classic)".
    pub title: &'static str,
    pub severity: Severity,
    pub detector: Detector,
    /// Byte range of the secret inside the value it was found in.
    pub range: Range<usize>,
}

/// A value that points elsewhere instead of holding the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indirection {
    /// Taken from the client's environment: `${VAR}`, `${env:VAR}`, `$VAR`, `${VAR:-d}`.
    Env,
    /// VS Code `${input:id}` (kept in the editor's secret storage).
    Input,
    /// A vault reference: mcp-warden schemes, `op://`, AWS/GCP/Azure ids.
    Vault,
}

/// Plaintext secrets in one value of `field`'s kind. Empty for references.
///
/// Typed token formats apply to every field; URL credentials to any URL in
/// the value; name heuristics to `Env`, `Credential` and `Header` values.
/// Hits do not overlap and are sorted by position.
pub fn scan_value(field: Field<'_>, value: &str) -> Vec<Hit> {
    value::scan(field, value)
}

/// A hit inside one element of an argument list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgHit {
    /// Index into the argument list; `hit.range` is into that argument.
    pub index: usize,
    pub hit: Hit,
}

/// Plaintext secrets in a command's arguments: `--api-key=V`,
/// `--token V`, `-e K=V`, `--header "Authorization: Bearer V"`, connection URLs
/// with passwords, bare tokens of a known format. Sorted by argument index.
pub fn scan_args(args: &[&str]) -> Vec<ArgHit> {
    args::scan(args)
}

/// Whether the secret-bearing part of `value` is a reference rather than a
/// secret (`${VAR}`, `Bearer ${env:T}`, `${input:id}`, `local://x`,
/// `postgresql://u:${PW}@h`, ...). A value can hold both a reference and a
/// plaintext secret; [`scan_value`] hits take precedence.
pub fn indirection(value: &str) -> Option<Indirection> {
    reference::indirection(value)
}

/// One rule the detectors can report, for rule listings (SARIF `rules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: &'static str,
    pub title: &'static str,
    /// Severity of a finding by this rule (name-gated provider rules may
    /// report their provider's severity instead).
    pub severity: Severity,
}

/// Every rule id the detectors can report: typed formats, then the
/// heuristic and URL rules. Ids are unique.
pub fn rules() -> Vec<RuleInfo> {
    let mut out: Vec<RuleInfo> = rules::catalog()
        .into_iter()
        .chain(heuristic::CATALOG.iter().copied())
        .chain(names::catalog())
        .map(|(id, title, severity)| RuleInfo {
            id,
            title,
            severity,
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.id));
    out
}

/// Compiles the detection patterns now rather than on first use.
pub fn warm_up() {
    rules::warm();
    url::warm();
}
