//! The text of one server entry in a config file: its byte range (the
//! editor's value span, or for a TOML table the whole lines from its header
//! to its last sub-table) and that text.
//!
//! Pure: works on bytes already read.

use crate::clients::Format;
use crate::clients::edit;

/// The byte range of a whole server entry: the editor's value span, or for a
/// TOML table (`[mcp_servers.x]` and its sub-tables such as `[mcp_servers.x.env]`)
/// the whole lines from its header to its last key.
pub fn entry_span(
    format: Format,
    bytes: &[u8],
    pointer: &str,
) -> Result<std::ops::Range<usize>, String> {
    match edit::span(format, bytes, pointer) {
        Ok(span) => Ok(span),
        Err(e) if format == Format::Toml => {
            toml_table_span(bytes, pointer).ok_or_else(|| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

fn toml_table_span(bytes: &[u8], pointer: &str) -> Option<std::ops::Range<usize>> {
    fn widen(r: &mut std::ops::Range<usize>, s: Option<std::ops::Range<usize>>) {
        if let Some(s) = s {
            r.start = r.start.min(s.start);
            r.end = r.end.max(s.end);
        }
    }
    fn extend(t: &toml_edit::Table, r: &mut std::ops::Range<usize>, depth: usize) {
        if depth > 64 {
            return;
        }
        for (k, item) in t.iter() {
            widen(r, t.key(k).and_then(toml_edit::Key::span));
            match item {
                toml_edit::Item::Table(sub) => {
                    widen(r, sub.span());
                    extend(sub, r, depth + 1);
                }
                toml_edit::Item::Value(v) => widen(r, v.span()),
                toml_edit::Item::ArrayOfTables(a) => {
                    for sub in a.iter() {
                        widen(r, sub.span());
                        extend(sub, r, depth + 1);
                    }
                }
                toml_edit::Item::None => {}
            }
        }
    }
    let text = std::str::from_utf8(bytes).ok()?;
    let doc = toml_edit::Document::parse(text).ok()?;
    let mut item = doc.as_item();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        item = item.get(seg.as_str())?;
    }
    let table = item.as_table()?;
    let mut range = table.span()?;
    extend(table, &mut range, 0);
    // Another table defined between this entry's header and its sub-tables
    // would be swallowed (journaled, restored): refuse rather than guess.
    fn foreign(
        t: &toml_edit::Table,
        path: &mut Vec<String>,
        entry: &[String],
        r: &std::ops::Range<usize>,
        depth: usize,
    ) -> bool {
        if depth > 64 {
            return true;
        }
        for (k, item) in t.iter() {
            if let toml_edit::Item::Table(sub) = item {
                path.push(k.to_string());
                let inside = sub
                    .span()
                    .is_some_and(|s| s.start >= r.start && s.start < r.end);
                let ours = path.starts_with(entry) || entry.starts_with(path);
                if (inside && !ours) || foreign(sub, path, entry, r, depth + 1) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let entry: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|seg| seg.replace("~1", "/").replace("~0", "~"))
        .collect();
    let root = doc.as_item().as_table()?;
    if foreign(root, &mut Vec::new(), &entry, &range, 0) {
        return None;
    }
    let start = text[..range.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[range.end..]
        .find('\n')
        .map_or(text.len(), |i| range.end + i + 1);
    Some(start..end)
}

pub fn entry_text(format: Format, bytes: &[u8], pointer: &str) -> Result<String, String> {
    let span = entry_span(format, bytes, pointer)?;
    let text = bytes
        .get(span)
        .ok_or_else(|| format!("{pointer}: span outside the file"))?;
    String::from_utf8(text.to_vec()).map_err(|_| format!("{pointer}: not UTF-8 text"))
}
