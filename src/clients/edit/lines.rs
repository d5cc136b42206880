//! Removing and inserting members of line-based containers: YAML block
//! mappings and TOML tables (standard `[header]` tables and dotted-key
//! tables). A member is whole lines; a new member copies the layout of a
//! sibling's line (indentation, dotted prefix, key/value separator).

use super::layout::{Container, Member};
use super::text::{self, Patch};
use super::tree::{Kind, MapLayout};
use super::{EditError, Format};

/// A line-based container with the members that are lines of it.
struct Lined<'c, 'a> {
    c: &'c Container<'a>,
    layout: &'c MapLayout,
    /// Members with a value span (TOML sub-tables are not lines of this table).
    members: Vec<usize>,
}

pub(super) fn plan(
    c: &Container<'_>,
    layout: &MapLayout,
    removes: &[usize],
    inserts: &[Member],
    out: &mut Vec<Patch>,
) -> Result<(), EditError> {
    let l = Lined {
        c,
        layout,
        members: (0..c.entries.len())
            .filter(|&i| c.entries[i].value.span.is_some())
            .collect(),
    };
    for &i in removes {
        if !l.members.contains(&i) {
            out.push(whole_table(c, i)?);
        }
    }
    let removes: Vec<usize> = removes
        .iter()
        .copied()
        .filter(|i| l.members.contains(i))
        .collect();
    let removes = removes.as_slice();
    let all_removed = !l.members.is_empty() && l.members.iter().all(|i| removes.contains(i));
    if all_removed && inserts.is_empty() {
        match (c.doc.format, layout) {
            (Format::Yaml, _) => {
                return empty_yaml_mapping(c, &l.members, |i| l.line_of(i), out);
            }
            (_, MapLayout::TomlTable { dotted: true, .. }) => {
                return Err(
                    c.unsupported_at(l.members[0], "removing the last key of a dotted-key table")
                );
            }
            _ => {}
        }
    }
    l.removals(removes, out)?;
    l.inserts_before(inserts, out)?;
    let tail: Vec<&Member> = inserts.iter().filter(|m| m.before.is_none()).collect();
    if tail.is_empty() {
        return Ok(());
    }
    l.append(&tail, out)
}

/// The patch removing member `i` when it is a standard TOML table of its own
/// (`[a.b]` and its `key = value` lines, up to the end of its last line):
/// only one whose header starts its line and that has no sub-table.
fn whole_table(c: &Container<'_>, i: usize) -> Result<Patch, EditError> {
    let refuse = |reason| c.unsupported_at(i, reason);
    let node = &c.entries[i].value;
    let (Format::Toml, Kind::Map { entries, layout }) = (c.doc.format, &node.kind) else {
        return Err(refuse("removing a whole TOML table"));
    };
    let MapLayout::TomlTable {
        header: Some(h),
        dotted: false,
        ..
    } = layout
    else {
        return Err(refuse("removing a TOML table without a header of its own"));
    };
    let t = c.doc.text;
    if !text::starts_line(t, h.start) {
        return Err(refuse("removing a TOML table whose header shares its line"));
    }
    let mut end = h.end;
    for e in entries {
        match &e.value.span {
            Some(v) => end = end.max(v.end),
            None => return Err(refuse("removing a TOML table that has sub-tables")),
        }
    }
    let p = text::skip_inline_trivia(Format::Toml, t, end);
    if !text::at_eol(t, p) {
        return Err(refuse("other text follows the table's last line"));
    }
    // The blank lines between the table and the rest of its entry go with
    // it, so the lines that remain read as they would have without the
    // table, and the entry (its header to its last line) still holds
    // exactly the text restore replaces: those before the header when the
    // parent's header comes first, those after the table when it comes
    // above its parent.
    let start = text::line_start(t, h.start);
    let end = text::line_end(t, p);
    if parent_header_before(c, h.start) {
        Ok(c.patch(blank_lines_before(t, start)..end, String::new()))
    } else {
        Ok(c.patch(start..blank_lines_after(t, end), String::new()))
    }
}

/// Whether the container's own `[header]` comes before byte `at`.
fn parent_header_before(c: &Container<'_>, at: usize) -> bool {
    matches!(
        &c.node.kind,
        Kind::Map {
            layout: MapLayout::TomlTable { header: Some(ph), .. },
            ..
        } if ph.start < at
    )
}

/// The start of the run of blank lines that ends at line start `start`.
fn blank_lines_before(t: &str, mut start: usize) -> usize {
    while start > 0 {
        let prev = text::line_start(t, start - 1);
        if !t[prev..start].trim().is_empty() {
            break;
        }
        start = prev;
    }
    start
}

/// The end of the run of blank lines that starts at line start `end`.
fn blank_lines_after(t: &str, mut end: usize) -> usize {
    while end < t.len() {
        let next = text::line_end(t, end);
        if next == end || !t[end..next].trim().is_empty() {
            break;
        }
        end = next;
    }
    end
}

impl Lined<'_, '_> {
    /// Start of member `i`'s line and the end of its content.
    fn line_of(&self, i: usize) -> Result<(usize, usize), EditError> {
        let (t, c) = (self.c.doc.text, self.c);
        let (key, end) = c.bounds(i)?;
        let p = text::skip_inline_trivia(c.doc.format, t, end);
        if !text::at_eol(t, p) {
            return Err(c.unsupported_at(i, "other text follows the member on its line"));
        }
        Ok((text::line_start(t, key), p))
    }

    /// The text before a sibling's key on its line: indentation, and for a
    /// dotted TOML key its table prefix. YAML `- key:` becomes spaces.
    fn prefix_of(&self, i: usize) -> String {
        let t = self.c.doc.text;
        let key = self.c.entries[i].key_span.start;
        let prefix = &t[text::line_start(t, key)..key];
        match self.c.doc.format {
            Format::Yaml => prefix
                .chars()
                .map(|ch| if ch == '\t' { '\t' } else { ' ' })
                .collect(),
            _ => prefix.to_owned(),
        }
    }

    fn line(prefix: &str, sep: &str, m: &Member) -> String {
        format!("{prefix}{}{sep}{}", m.key, m.value)
    }

    fn removals(&self, removes: &[usize], out: &mut Vec<Patch>) -> Result<(), EditError> {
        let (c, t) = (self.c, self.c.doc.text);
        for &i in removes {
            let (key, _) = c.bounds(i)?;
            if c.doc.format == Format::Yaml && !text::starts_line(t, key) {
                return Err(
                    c.unsupported_at(i, "the member shares its line with a list item marker")
                );
            }
            let (start, eol) = self.line_of(i)?;
            out.push(c.patch(start..text::line_end(t, eol), String::new()));
        }
        Ok(())
    }

    fn inserts_before(&self, inserts: &[Member], out: &mut Vec<Patch>) -> Result<(), EditError> {
        let (c, t) = (self.c, self.c.doc.text);
        for &i in &self.members {
            let here: Vec<&Member> = inserts.iter().filter(|m| m.before == Some(i)).collect();
            if here.is_empty() {
                continue;
            }
            let key = c.entries[i].key_span.start;
            if c.doc.format == Format::Yaml && !text::starts_line(t, key) {
                return Err(c.unsupported("inserting before the first key of a list item"));
            }
            let (prefix, sep) = (self.prefix_of(i), c.kv_sep_of(i));
            let s: String = here
                .iter()
                .map(|m| Self::line(&prefix, sep, m) + c.doc.nl)
                .collect();
            let at = text::line_start(t, key);
            out.push(c.patch(at..at, s));
        }
        if inserts
            .iter()
            .any(|m| m.before.is_some_and(|b| !self.members.contains(&b)))
        {
            return Err(c.unsupported("inserting before a whole TOML table"));
        }
        Ok(())
    }

    /// New members after the last member (by position), in its layout; in an
    /// empty table after its header; at the top for the document's root.
    fn append(&self, tail: &[&Member], out: &mut Vec<Patch>) -> Result<(), EditError> {
        let (c, t, nl) = (self.c, self.c.doc.text, self.c.doc.nl);
        let last = self
            .members
            .iter()
            .copied()
            .max_by_key(|&i| c.entries[i].value.span.as_ref().map_or(0, |s| s.end));
        let (at, prefix, sep) = match (last, self.layout) {
            (Some(l), _) => (
                self.line_of(l)?.1,
                self.prefix_of(l),
                c.kv_sep_of(l).to_owned(),
            ),
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
                let lines: String = tail
                    .iter()
                    .map(|m| Self::line("", c.kv_sep, m) + nl)
                    .collect();
                out.push(c.patch(0..0, lines));
                return Ok(());
            }
            _ => return Err(c.unsupported("the table has no header or member to insert after")),
        };
        if !text::at_eol(t, at) {
            return Err(c.unsupported("other text follows the last member on its line"));
        }
        let lines: Vec<String> = tail.iter().map(|m| Self::line(&prefix, &sep, m)).collect();
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
