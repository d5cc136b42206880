//! The human report: grouped by client and file, one line per server and one
//! per finding, then a summary line.

use std::fmt::Write;
use std::path::Path;

use super::display_path;
use crate::scan::Report;
use crate::scan::finding::{FileResult, Posture};

/// Renders the table. `home` shortens paths to `~/...`.
pub fn render(report: &Report, home: Option<&Path>, color: bool) -> String {
    let mut out = String::new();
    let paint = |code: &str, text: &str| {
        if color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    };
    let mut last_client = "";
    for file in &report.files {
        if file.client != last_client {
            let _ = writeln!(out, "{}", paint("1", file.client));
            last_client = file.client;
        }
        let via = file
            .project_root
            .as_ref()
            .map(|r| format!("; via {}", r.sources.join(", ")))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  {} ({}{via})",
            display_path(&file.path, home),
            file.scope
        );
        if let Some(err) = &file.error {
            let _ = writeln!(out, "    {} {err}", paint("33", "unreadable:"));
            continue;
        }
        render_file(&mut out, file, &paint);
    }
    out.push_str(&summary_line(report));
    out.push('\n');
    out
}

fn render_file(out: &mut String, file: &FileResult, paint: &dyn Fn(&str, &str) -> String) {
    if file.servers.is_empty() && file.findings.is_empty() {
        let _ = writeln!(out, "    (no servers)");
    }
    let width = file
        .servers
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0)
        .min(32);
    for srv in &file.servers {
        let posture = match srv.posture {
            Posture::PlaintextSecret => paint("31", srv.posture.as_str()),
            Posture::EnvIndirection => paint("33", srv.posture.as_str()),
            _ => paint("32", srv.posture.as_str()),
        };
        let mut line = format!(
            "    {:<width$}  {:<5}  {posture}",
            srv.name,
            srv.transport,
            width = width
        );
        if srv.disabled {
            line.push_str("  (disabled)");
        }
        if let Some(why) = &srv.unpinned {
            let _ = write!(line, "  {}: {why}", paint("33", "unpinned"));
        }
        let _ = writeln!(out, "{line}");
        for f in &srv.findings {
            finding_line(out, "      ", f, paint);
        }
    }
    for f in &file.findings {
        finding_line(out, "    ", f, paint);
    }
}

/// `HIGH      env TOKEN  line 7  GitHub personal access token  ghp_… (40 chars)`.
fn finding_line(
    out: &mut String,
    indent: &str,
    f: &crate::scan::finding::Finding,
    paint: &dyn Fn(&str, &str) -> String,
) {
    let _ = writeln!(
        out,
        "{indent}{:<8}  {}  line {}  {}  {}",
        paint(
            severity_color(f.severity),
            &f.severity.as_str().to_uppercase()
        ),
        f.site.describe(),
        f.line,
        f.title,
        f.masked.display()
    );
}

fn severity_color(s: crate::scan::detect::Severity) -> &'static str {
    use crate::scan::detect::Severity::*;
    match s {
        Critical => "1;31",
        High => "31",
        Medium => "33",
        Low => "36",
    }
}

/// `12 configs (1 unreadable), 30 servers, 14 findings; 8 plaintext-secret, ...; 9 unpinned`.
pub fn summary_line(report: &Report) -> String {
    let s = report.summary();
    let mut line = format!("{} configs", s.configs);
    if s.unreadable > 0 {
        let _ = write!(line, " ({} unreadable)", s.unreadable);
    }
    let _ = write!(
        line,
        ", {} servers, {} findings; posture:",
        s.servers, s.findings
    );
    let parts: Vec<String> = Posture::ALL
        .iter()
        .zip(s.postures)
        .map(|(p, n)| format!("{n} {}", p.as_str()))
        .collect();
    let _ = write!(line, " {}; {} unpinned", parts.join(", "), s.unpinned);
    line
}
