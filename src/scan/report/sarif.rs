//! SARIF 2.1.0 for code scanning (GitHub shows each result on its file and
//! line). One rule per detector rule that fired, plus `unpinned-command`.
//! Fingerprints hash the file, the JSON pointer and the rule: never the value.

use std::collections::BTreeMap;
use std::path::Path;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::relative_to_roots;
use crate::scan::Report;
use crate::scan::detect::Severity;

/// Characters escaped in a URI path.
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

const UNPINNED_RULE: &str = "unpinned-command";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn uri_path(p: &Path) -> String {
    let text = p.to_string_lossy().replace('\\', "/");
    utf8_percent_encode(&text, PATH).to_string()
}

/// Artifact location: relative to a scanned root (with `uriBaseId`), else an absolute `file://` URI.
fn artifact(path: &Path, report: &Report) -> Value {
    match relative_to_roots(path, &report.roots) {
        Some((rel, i)) if !rel.as_os_str().is_empty() => {
            json!({ "uri": uri_path(rel), "uriBaseId": format!("ROOT{i}") })
        }
        _ => {
            let abs = uri_path(path);
            let sep = if abs.starts_with('/') { "" } else { "/" };
            json!({ "uri": format!("file://{sep}{abs}") })
        }
    }
}

fn fingerprint(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

pub fn render(report: &Report) -> String {
    // Rules that fired, in a stable order, with their worst severity.
    let mut rules: BTreeMap<&str, (&str, Severity)> = BTreeMap::new();
    for f in report.files.iter().flat_map(|f| f.all_findings()) {
        let e = rules.entry(f.rule).or_insert((f.title, f.severity));
        e.1 = e.1.max(f.severity);
    }
    let any_unpinned = report
        .files
        .iter()
        .any(|f| f.servers.iter().any(|s| s.unpinned.is_some()));
    let mut rule_defs: Vec<Value> = rules
        .iter()
        .map(|(id, (title, sev))| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": format!("Plaintext secret: {title}") },
                "fullDescription": { "text": format!("A {title} is stored in plaintext in an MCP client configuration. Move it into a vault with `mcp-warden protect`.") },
                "defaultConfiguration": { "level": level(*sev) },
                "properties": { "tags": ["security", "secret", "mcp"], "security-severity": security_severity(*sev) },
            })
        })
        .collect();
    if any_unpinned {
        rule_defs.push(json!({
            "id": UNPINNED_RULE,
            "name": UNPINNED_RULE,
            "shortDescription": { "text": "MCP server launched without an exact version or digest" },
            "fullDescription": { "text": "A package runner starts whatever was published last. Pin an exact version (npx pkg@1.2.3, uvx pkg==1.2.3) or an image digest (image@sha256:...)." },
            "defaultConfiguration": { "level": "warning" },
            "properties": { "tags": ["security", "supply-chain", "mcp"], "security-severity": "5.0" },
        }));
    }
    let index: BTreeMap<&str, usize> = rule_defs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r["id"].as_str().map(|id| (id, i)))
        .collect();

    let mut results = Vec::new();
    let mut notifications = Vec::new();
    for file in &report.files {
        let loc = artifact(&file.path, report);
        let path_text = file.path.to_string_lossy();
        if let Some(err) = &file.error {
            notifications.push(json!({
                "level": "warning",
                "message": { "text": format!("{}: {err}", file.client) },
                "locations": [{ "physicalLocation": { "artifactLocation": loc.clone() } }],
            }));
            continue;
        }
        let server_findings = file
            .servers
            .iter()
            .flat_map(|s| s.findings.iter().map(move |f| (Some(s.name.as_str()), f)));
        let store_findings = file.findings.iter().map(|f| (None, f));
        for (server, f) in server_findings.chain(store_findings) {
            let whose = server.map_or(String::new(), |s| format!(" of MCP server '{s}'"));
            results.push(json!({
                "ruleId": f.rule,
                "ruleIndex": index.get(f.rule),
                "level": level(f.severity),
                "message": { "text": format!(
                    "{} in plaintext in {}{whose} ({}): move it into a vault with `mcp-warden protect`{}.",
                    f.title, f.site.describe(), f.masked.display(), remedy(&f.site)
                ) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": loc.clone(),
                        "region": { "startLine": f.line, "startColumn": f.column },
                    },
                    "logicalLocations": [{ "fullyQualifiedName": f.pointer, "kind": "member" }],
                }],
                "partialFingerprints": { "mcpWardenFinding/v1": fingerprint(&[&path_text, &f.pointer, f.rule]) },
            }));
        }
        for srv in &file.servers {
            if let Some(why) = &srv.unpinned {
                results.push(json!({
                    "ruleId": UNPINNED_RULE,
                    "ruleIndex": index.get(UNPINNED_RULE),
                    "level": "warning",
                    "message": { "text": format!("MCP server '{}': {why}", srv.name) },
                    "locations": [{
                        "physicalLocation": {
                            "artifactLocation": loc.clone(),
                            "region": { "startLine": srv.line },
                        },
                        "logicalLocations": [{ "fullyQualifiedName": srv.pointer, "kind": "member" }],
                    }],
                    "partialFingerprints": { "mcpWardenFinding/v1": fingerprint(&[&path_text, &srv.pointer, UNPINNED_RULE]) },
                }));
            }
        }
    }
    let bases: serde_json::Map<String, Value> = report
        .roots
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut uri = uri_path(r);
            if !uri.ends_with('/') {
                uri.push('/');
            }
            let sep = if uri.starts_with('/') { "" } else { "/" };
            (
                format!("ROOT{i}"),
                json!({ "uri": format!("file://{sep}{uri}") }),
            )
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "mcp-warden",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rule_defs,
            } },
            "originalUriBaseIds": bases,
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

/// What `protect` does with a secret of this kind, where it says more than the default.
fn remedy(site: &crate::scan::finding::Site) -> &'static str {
    use crate::scan::finding::Site;
    match site {
        Site::Header(_) | Site::Url => {
            " when the entry can be carried by `mcp-warden connect` (the entry then starts \
             connect, which keeps the value in memory); an entry connect cannot carry (a \
             WebSocket server, plain http to another host, values from the client's \
             environment, ...) is left as it is with the reason: see docs/protect.md"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::finding::Site;

    /// A header or URL secret is not promised to protect: some remote
    /// entries are refused (WebSocket, plain http, forwarded environment).
    #[test]
    fn remote_remedies_are_conditional() {
        for site in [Site::Header("Authorization".into()), Site::Url] {
            let r = remedy(&site);
            assert!(r.contains("when the entry can be carried"), "{r}");
            assert!(r.contains("docs/protect.md"), "{r}");
            assert!(!r.contains("which rewrites"), "{r}");
        }
        assert_eq!(remedy(&Site::Env("K".into())), "");
    }
}
