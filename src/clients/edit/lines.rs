//! Removing and inserting members of line-based containers: YAML block
//! mappings and TOML tables (standard `[header]` tables and dotted-key
//! tables). A member is whole lines; a new member copies the layout of a
//! sibling's line (indentation, dotted prefix, key/value separator).

use super::layout::{Container, Member};
use super::text::{self, Patch};
use super::tree::MapLayout;
use super::{EditError, Format};

pub(super) fn plan(
    c: &Container<'_>,
    layout: &MapLayout,
    removes: &[usize],
    inserts: &[Member],
    out: &mut Vec<Patch>,
) -> Result<(), EditError> {
    let t = c.doc.text;
    let nl = c.doc.nl;
    // Members with a value span (TOML sub-tables are not lines of this table).
    let members: Vec<usize> = (0..c.entries.len())
        .filter(|&i| c.entries[i].value.span.is_some())
        .collect();
    for &i in removes {
        if !members.contains(&i) {
            return Err(c.unsupported_at(i, "removing a whole TOML table"));
        }
    }
    let line_of = |i: usize| -> Result<(usize, usize), EditError> {
        let (key, end) = c.bounds(i)?;
        let p = text::skip_inline_trivia(c.doc.format, t, end);
        if !text::at_eol(t, p) {
            return Err(c.unsupported_at(i, "other text follows the member on its line"));
        }
        Ok((text::line_start(t, key), p))
    };
    // The text before a sibling's key on its line: indentation, and for a
    // dotted TOML key its table prefix. YAML `- key:` becomes spaces.
    let prefix_of = |i: usize| -> String {
        let key = c.entries[i].key_span.start;
        let prefix = &t[text::line_start(t, key)..key];
        match c.doc.format {
            Format::Yaml => prefix
                .chars()
                .map(|ch| if ch == '\t' { '\t' } else { ' ' })
                .collect(),
            _ => prefix.to_owned(),
        }
    };
    let line = |prefix: &str, sep: &str, m: &Member| format!("{prefix}{}{sep}{}", m.key, m.value);

    let all_removed = !members.is_empty() && members.iter().all(|i| removes.contains(i));
    if all_removed && inserts.is_empty() {
        match (c.doc.format, layout) {
            (Format::Yaml, _) => return empty_yaml_mapping(c, &members, line_of, out),
            (_, MapLayout::TomlTable { dotted: true, .. }) => {
                return Err(
                    c.unsupported_at(members[0], "removing the last key of a dotted-key table")
                );
            }
            _ => {}
        }
    }
    for &i in removes {
        let (key, _) = c.bounds(i)?;
        if c.doc.format == Format::Yaml && !text::starts_line(t, key) {
            return Err(c.unsupported_at(i, "the member shares its line with a list item marker"));
        }
        let (start, eol) = line_of(i)?;
        out.push(c.patch(start..text::line_end(t, eol), String::new()));
    }
    for &i in &members {
        let here: Vec<&Member> = inserts.iter().filter(|m| m.before == Some(i)).collect();
        if here.is_empty() {
            continue;
        }
        let key = c.entries[i].key_span.start;
        if c.doc.format == Format::Yaml && !text::starts_line(t, key) {
            return Err(c.unsupported("inserting before the first key of a list item"));
        }
        let (prefix, sep) = (prefix_of(i), c.kv_sep_of(i));
        let s: String = here.iter().map(|m| line(&prefix, sep, m) + nl).collect();
        let at = text::line_start(t, key);
        out.push(c.patch(at..at, s));
    }
    if inserts
        .iter()
        .any(|m| m.before.is_some_and(|b| !members.contains(&b)))
    {
        return Err(c.unsupported("inserting before a whole TOML table"));
    }
    let tail: Vec<&Member> = inserts.iter().filter(|m| m.before.is_none()).collect();
    if tail.is_empty() {
        return Ok(());
    }
    // After the last member (by position), in its layout.
    let last = members
        .iter()
        .copied()
        .max_by_key(|&i| c.entries[i].value.span.as_ref().map_or(0, |s| s.end));
    let (at, prefix, sep) = match (last, layout) {
        (Some(l), _) => (line_of(l)?.1, prefix_of(l), c.kv_sep_of(l).to_owned()),
        (
            None,
            MapLayout::TomlTable {
                header: Some(h), ..
            },
        ) => (
            text::skip_inline_trivia(c.doc.format, t, h.end),
            String::new(),
            c.kv_sep.to_owned(),
        ),
        (None, MapLayout::TomlTable { root: true, .. }) => {
            // Top-level keys must come before the first header.
            let lines: String = tail.iter().map(|m| line("", c.kv_sep, m) + nl).collect();
            out.push(c.patch(0..0, lines));
            return Ok(());
        }
        _ => return Err(c.unsupported("the table has no header or member to insert after")),
    };
    if !text::at_eol(t, at) {
        return Err(c.unsupported("other text follows the last member on its line"));
    }
    let lines: Vec<String> = tail.iter().map(|m| line(&prefix, &sep, m)).collect();
    let patch = if text::has_newline_after(t, at) {
        let end = text::line_end(t, at);
        c.patch(end..end, lines.iter().map(|l| format!("{l}{nl}")).collect())
    } else {
        let end = t.len();
        c.patch(end..end, lines.iter().map(|l| format!("{nl}{l}")).collect())
    };
    out.push(patch);
    Ok(())
}

/// Removing every member of a YAML block mapping would leave `key:` (null):
/// write `key: {}` instead.
fn empty_yaml_mapping(
    c: &Container<'_>,
    members: &[usize],
    line_of: impl Fn(usize) -> Result<(usize, usize), EditError>,
    out: &mut Vec<Patch>,
) -> Result<(), EditError> {
    let t = c.doc.text;
    let first = c.entries[members[0]].key_span.start;
    let last = members
        .iter()
        .map(|&i| line_of(i).map(|(_, eol)| eol))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .max()
        .unwrap_or(first);
    let before = t[..first].trim_end_matches([' ', '\t', '\r', '\n']);
    if !before.ends_with(':') || !c.node.parent_block {
        return Err(c.unsupported("cannot leave an empty mapping here"));
    }
    out.push(c.patch(before.len()..last, " {}".to_owned()));
    Ok(())
}
