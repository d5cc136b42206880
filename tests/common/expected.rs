//! The tables of tests/fixtures/home/EXPECTED.md, the one description of the
//! fixture home that scan and client-reader tests both check against.

use std::path::{Path, PathBuf};

/// The fixture home EXPECTED.md describes.
pub fn fixture_home() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/home")
}

/// The data rows of the table in `## section` of EXPECTED.md (header and
/// separator rows skipped), cells trimmed and unquoted; panics when the
/// section has none.
pub fn table(section: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(fixture_home().join("EXPECTED.md"))
        .unwrap_or_else(|e| panic!("EXPECTED.md: {e}"));
    let mut inside = false;
    let mut table_lines = Vec::new();
    for line in text.lines() {
        if let Some(title) = line.strip_prefix("## ") {
            inside = title == section;
        } else if inside && line.starts_with('|') {
            table_lines.push(line);
        }
    }
    let rows: Vec<Vec<String>> = table_lines
        .into_iter()
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect();
    assert!(!rows.is_empty(), "no rows in section {section}");
    rows
}
