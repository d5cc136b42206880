//! The JSON report: a documented, stable schema (`mcp-warden/scan/v1`, see
//! docs/scan.md). Fields are only ever added within a schema version.

use std::path::Path;

use serde_json::{Value, json};

use crate::scan::Report;
use crate::scan::detect::{Detector, Severity};
use crate::scan::finding::{Finding, Posture, Site};
use crate::scan::projects::{MAX_ROOTS, ProjectRoot};

pub const SCHEMA: &str = "mcp-warden/scan/v1";

pub fn render(report: &Report) -> String {
    let s = report.summary();
    let mut postures = serde_json::Map::new();
    for (p, n) in Posture::ALL.iter().zip(s.postures) {
        postures.insert(p.as_str().to_string(), json!(n));
    }
    let mut by_severity = serde_json::Map::new();
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = report
            .files
            .iter()
            .flat_map(|f| f.all_findings())
            .filter(|f| f.severity == sev)
            .count();
        by_severity.insert(sev.as_str().to_string(), json!(n));
    }
    let files: Vec<Value> = report
        .files
        .iter()
        .map(|f| {
            json!({
                "client": f.client,
                "scope": f.scope,
                "path": path_text(&f.path),
                "format": f.format,
                "error": f.error,
                "servers": f.servers.iter().map(|srv| json!({
                    "name": srv.name,
                    "pointer": srv.pointer,
                    "line": srv.line,
                    "transport": srv.transport,
                    "disabled": srv.disabled,
                    "posture": srv.posture.as_str(),
                    "unpinned": srv.unpinned,
                    "findings": srv.findings.iter().map(finding).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
                "findings": f.findings.iter().map(finding).collect::<Vec<_>>(),
                "project_root": f.project_root.as_ref().map(project_root),
            })
        })
        .collect();
    let projects = report.projects.as_ref().map(|p| {
        json!({
            "limit": MAX_ROOTS,
            "followed": p.roots.iter().map(project_root).collect::<Vec<_>>(),
            "over_limit": p.over_limit,
        })
    });
    let doc = json!({
        "schema": SCHEMA,
        "tool": { "name": "mcp-warden", "version": env!("CARGO_PKG_VERSION") },
        "mode": report.mode,
        "roots": report.roots.iter().map(|r| path_text(r)).collect::<Vec<_>>(),
        "summary": {
            "configs": s.configs,
            "unreadable": s.unreadable,
            "servers": s.servers,
            "findings": s.findings,
            "unpinned": s.unpinned,
            "postures": postures,
            "severities": by_severity,
        },
        "files": files,
        "projects": projects,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn project_root(r: &ProjectRoot) -> Value {
    json!({ "path": path_text(&r.path), "sources": r.sources })
}

pub fn detector_name(d: Detector) -> &'static str {
    match d {
        Detector::Format => "format",
        Detector::Heuristic => "heuristic",
        Detector::Url => "url",
    }
}

fn finding(f: &Finding) -> Value {
    let (kind, name) = match &f.site {
        Site::Env(n) => ("env", json!(n)),
        Site::Arg(i) => ("arg", json!(i)),
        Site::Header(n) => ("header", json!(n)),
        Site::Url => ("url", Value::Null),
        Site::Credential(k) => ("credential", json!(k)),
    };
    json!({
        "rule": f.rule,
        "title": f.title,
        "severity": f.severity.as_str(),
        "detector": detector_name(f.detector),
        "site": { "kind": kind, "name": name },
        "pointer": f.pointer,
        "line": f.line,
        "column": f.column,
        "masked": { "prefix": f.masked.prefix, "length": f.masked.length },
    })
}
