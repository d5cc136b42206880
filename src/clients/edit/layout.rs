//! Turns edits into byte patches of the original text, in the layout of what
//! they touch: braced containers (`{ }` with commas), line-based containers
//! (YAML block mappings, TOML tables), and array rendering.

use super::text::{self, Patch};
use super::tree::{self, Entry, Kind, MapLayout, Node, SeqLayout, StrStyle};
use super::{Edit, EditError, Format, Value, json, toml, yaml};

/// The removals and insertions aimed at one container.
struct Group<'a> {
    node: &'a Node,
    pointer: String,
    removes: Vec<(usize, String)>,
    inserts: Vec<Ins<'a>>,
}

struct Ins<'a> {
    key: &'a str,
    value: &'a Value,
    before: Option<usize>,
    pointer: &'a str,
}

/// What every planner needs to know about the document.
#[derive(Clone, Copy)]
pub(super) struct Doc<'a> {
    pub format: Format,
    pub text: &'a str,
    pub nl: &'static str,
}

/// Plans all `edits` against the original document.
pub(super) fn plan(
    format: Format,
    text: &str,
    nl: &'static str,
    root: &Node,
    edits: &[Edit],
) -> Result<Vec<Patch>, EditError> {
    let doc = Doc { format, text, nl };
    let mut patches = Vec::new();
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut seen_keys: Vec<(*const Node, &str)> = Vec::new();
    for edit in edits {
        match edit {
            Edit::Set { pointer, value } => {
                let node = tree::resolve(root, pointer)?;
                patches.push(plan_set(doc, node, pointer, value)?);
            }
            Edit::Remove { pointer } => {
                let (parent, key) = tree::split_last(pointer)?;
                let node = tree::resolve(root, &parent)?;
                let entries =
                    map_entries(node, &parent, "an object, table or mapping to remove from")?;
                let i =
                    tree::find_key(entries, &key, pointer)?.ok_or_else(|| EditError::NotFound {
                        pointer: pointer.clone(),
                    })?;
                if let Some(reason) = entries[i].value.refuse {
                    return Err(EditError::Unsupported {
                        pointer: pointer.clone(),
                        reason,
                    });
                }
                let g = find_group(&mut groups, node, &parent);
                if g.removes.iter().any(|(j, _)| *j == i) {
                    return Err(EditError::Overlap {
                        pointer: pointer.clone(),
                    });
                }
                g.removes.push((i, pointer.clone()));
            }
            Edit::Insert {
                pointer,
                key,
                value,
                before,
            } => {
                let node = tree::resolve(root, pointer)?;
                let entries = map_entries(node, pointer, "an object, table or mapping")?;
                let exists = || EditError::KeyExists {
                    pointer: pointer.clone(),
                    key: key.clone(),
                };
                if tree::find_key(entries, key, pointer)?.is_some()
                    || seen_keys.contains(&(node as *const Node, key.as_str()))
                {
                    return Err(exists());
                }
                seen_keys.push((node as *const Node, key.as_str()));
                if let Value::Object(members) = value
                    && doc.format != Format::Json
                {
                    patches.push(plan_object(doc, pointer, key, members, before.is_some())?);
                    continue;
                }
                let before = match before {
                    Some(b) => Some(tree::find_key(entries, b, pointer)?.ok_or_else(|| {
                        EditError::NoSuchSibling {
                            pointer: pointer.clone(),
                            key: b.clone(),
                        }
                    })?),
                    None => None,
                };
                let g = find_group(&mut groups, node, pointer);
                g.inserts.push(Ins {
                    key,
                    value,
                    before,
                    pointer,
                });
            }
        }
    }
    for g in &groups {
        plan_group(doc, g, &mut patches)?;
    }
    Ok(patches)
}

fn find_group<'g, 'a>(
    groups: &'g mut Vec<Group<'a>>,
    node: &'a Node,
    pointer: &str,
) -> &'g mut Group<'a> {
    let pos = groups.iter().position(|g| std::ptr::eq(g.node, node));
    let i = match pos {
        Some(i) => i,
        None => {
            groups.push(Group {
                node,
                pointer: pointer.to_owned(),
                removes: Vec::new(),
                inserts: Vec::new(),
            });
            groups.len() - 1
        }
    };
    &mut groups[i]
}

fn map_entries<'a>(
    node: &'a Node,
    pointer: &str,
    expected: &'static str,
) -> Result<&'a [Entry], EditError> {
    if let Some(reason) = node.refuse {
        return Err(EditError::Unsupported {
            pointer: pointer.to_owned(),
            reason,
        });
    }
    match &node.kind {
        Kind::Map { entries, .. } => Ok(entries),
        _ => Err(EditError::WrongType {
            pointer: pointer.to_owned(),
            expected,
        }),
    }
}

// ---------------------------------------------------------------- Set

fn plan_set(doc: Doc<'_>, node: &Node, pointer: &str, value: &Value) -> Result<Patch, EditError> {
    let unsupported = |reason| EditError::Unsupported {
        pointer: pointer.to_owned(),
        reason,
    };
    if let Some(reason) = node.refuse {
        return Err(unsupported(reason));
    }
    let span = node
        .span
        .clone()
        .ok_or_else(|| unsupported("replacing a whole TOML table"))?;
    if matches!(value, Value::Object(_)) {
        return Err(unsupported("replacing a value with an object"));
    }
    match &node.kind {
        Kind::Map { .. } => Err(unsupported("replacing a whole object or mapping")),
        Kind::Alias => Err(unsupported("the target is a YAML alias")),
        Kind::Seq {
            layout: SeqLayout::Tables,
            ..
        } => Err(unsupported("replacing an array of TOML tables")),
        _ => Ok(Patch {
            // A YAML null written as nothing (`key:`) needs a space first.
            text: if span.is_empty() && doc.format == Format::Yaml {
                format!(" {}", render_value(doc, value, Some(node), node.in_flow))
            } else {
                render_value(doc, value, Some(node), node.in_flow)
            },
            range: span,
            pointer: pointer.to_owned(),
        }),
    }
}

/// Renders `value` in the style of `like` (the node it replaces), if any.
fn render_value(doc: Doc<'_>, value: &Value, like: Option<&Node>, in_flow: bool) -> String {
    match value {
        Value::String(s) => {
            let style = like
                .and_then(str_style)
                .unwrap_or(default_style(doc.format));
            render_scalar(doc.format, s, style, in_flow)
        }
        Value::Object(members) => render_json_object(doc, members),
        Value::StringArray(items) => match like.map(|n| (&n.kind, n.span.clone())) {
            Some((Kind::Seq { items: old, layout }, Some(span))) => match layout {
                SeqLayout::Block if !items.is_empty() => {
                    render_block_seq(doc, span.start, old, items)
                }
                _ => render_bracketed(doc, span, old, items),
            },
            _ => {
                let style = like
                    .and_then(str_style)
                    .unwrap_or(default_style(doc.format));
                let elems: Vec<String> = items
                    .iter()
                    .map(|s| render_scalar(doc.format, s, style, true))
                    .collect();
                format!("[{}]", elems.join(", "))
            }
        },
    }
}

/// A JSON object one member per line, each one indentation step in; lines
/// after the first are relative to the member it becomes (the container
/// planner indents them to that member's column).
fn render_json_object(doc: Doc<'_>, members: &[(String, Value)]) -> String {
    if members.is_empty() {
        return "{}".to_owned();
    }
    let unit = text::indent_unit(doc.text);
    let deeper = format!("{}{unit}", doc.nl);
    let mut out = String::from("{");
    for (i, (key, value)) in members.iter().enumerate() {
        out.push_str(doc.nl);
        out.push_str(&unit);
        out.push_str(&json::render_str(key));
        out.push_str(": ");
        out.push_str(&render_value(doc, value, None, false).replace(doc.nl, &deeper));
        if i + 1 < members.len() {
            out.push(',');
        }
    }
    out.push_str(doc.nl);
    out.push('}');
    out
}

/// Lines after the first of a rendered value, moved to `indent`.
pub(super) fn reindent(value: &str, nl: &str, indent: &str) -> String {
    if indent.is_empty() || !value.contains(nl) {
        return value.to_owned();
    }
    value.replace(nl, &format!("{nl}{indent}"))
}

/// Inserting a whole object into TOML: new tables at the end of the
/// document (JSON goes through the container planners); YAML is refused.
fn plan_object(
    doc: Doc<'_>,
    pointer: &str,
    key: &str,
    members: &[(String, Value)],
    placed: bool,
) -> Result<Patch, EditError> {
    let unsupported = |reason| EditError::Unsupported {
        pointer: pointer.to_owned(),
        reason,
    };
    if doc.format == Format::Yaml {
        return Err(unsupported(
            "adding a whole object is supported in JSON and TOML files only",
        ));
    }
    if placed {
        return Err(unsupported("a new TOML table goes at the end of the file"));
    }
    let mut path = tree::tokens(pointer)?;
    path.push(key.to_owned());
    let mut tables = String::new();
    render_toml_tables(doc, &path, members, &mut tables);
    let t = doc.text;
    let lead = if t.is_empty() {
        ""
    } else if t.ends_with('\n') {
        doc.nl
    } else if doc.nl == "\r\n" {
        "\r\n\r\n"
    } else {
        "\n\n"
    };
    Ok(Patch {
        range: t.len()..t.len(),
        text: format!("{lead}{tables}"),
        pointer: pointer.to_owned(),
    })
}

/// `[a.b]` with its plain members, then each object member as its own table
/// (a blank line between tables); no header for a table of tables only.
fn render_toml_tables(
    doc: Doc<'_>,
    path: &[String],
    members: &[(String, Value)],
    out: &mut String,
) {
    let is_table = |v: &Value| matches!(v, Value::Object(_));
    let plain: Vec<_> = members.iter().filter(|(_, v)| !is_table(v)).collect();
    if !plain.is_empty() || members.is_empty() {
        if !out.is_empty() {
            out.push_str(doc.nl);
        }
        let header: Vec<String> = path.iter().map(|k| toml::render_key(k)).collect();
        out.push_str(&format!("[{}]{}", header.join("."), doc.nl));
        for (k, v) in plain {
            out.push_str(&format!(
                "{} = {}{}",
                toml::render_key(k),
                render_value(doc, v, None, true),
                doc.nl
            ));
        }
    }
    for (k, v) in members {
        if let Value::Object(inner) = v {
            let mut sub = path.to_vec();
            sub.push(k.clone());
            render_toml_tables(doc, &sub, inner, out);
        }
    }
}

fn str_style(node: &Node) -> Option<StrStyle> {
    match &node.kind {
        Kind::Str { style, .. } if *style != StrStyle::Other => Some(*style),
        _ => None,
    }
}

fn default_style(format: Format) -> StrStyle {
    match format {
        Format::Yaml => StrStyle::Plain,
        Format::Json | Format::Toml => StrStyle::Double,
    }
}

fn render_scalar(format: Format, s: &str, style: StrStyle, in_flow: bool) -> String {
    match format {
        Format::Json => json::render_str(s),
        Format::Toml => toml::render_str(s, style),
        Format::Yaml => yaml::render_str(s, style, in_flow),
    }
}

fn render_key(format: Format, key: &str, in_flow: bool) -> String {
    match format {
        Format::Json => json::render_str(key),
        Format::Toml => toml::render_key(key),
        Format::Yaml => yaml::render_str(key, StrStyle::Plain, in_flow),
    }
}

fn default_kv_sep(format: Format) -> &'static str {
    match format {
        Format::Toml => " = ",
        Format::Json | Format::Yaml => ": ",
    }
}

/// Element `i` keeps the string style of the old element `i` (or the last one).
fn element_style(format: Format, old: &[Node], i: usize) -> StrStyle {
    old.get(i)
        .or(old.last())
        .and_then(str_style)
        .unwrap_or(default_style(format))
}

fn render_bracketed(
    doc: Doc<'_>,
    span: std::ops::Range<usize>,
    old: &[Node],
    items: &[String],
) -> String {
    let t = doc.text;
    let elems: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, s)| render_scalar(doc.format, s, element_style(doc.format, old, i), true))
        .collect();
    if elems.is_empty() {
        return "[]".to_owned();
    }
    let spans: Vec<_> = old.iter().filter_map(|n| n.span.clone()).collect();
    let close = span.end.saturating_sub(1);
    let multiline = t[span.clone()].contains('\n');
    if multiline
        && !spans.is_empty()
        && spans.len() == old.len()
        && text::starts_line(t, spans[0].start)
    {
        let indent = text::indent_of(t, spans[0].start);
        let last_end = spans[spans.len() - 1].end;
        let trailing = t.as_bytes().get(text::skip_trivia(doc.format, t, last_end)) == Some(&b',');
        let mut out = String::from("[");
        for (i, e) in elems.iter().enumerate() {
            out.push_str(doc.nl);
            out.push_str(indent);
            out.push_str(e);
            if i + 1 < elems.len() || trailing {
                out.push(',');
            }
        }
        if text::starts_line(t, close) {
            out.push_str(doc.nl);
            out.push_str(text::indent_of(t, close));
        }
        out.push(']');
        return out;
    }
    let ws_only = |s: &str| !s.contains('\n') && s.bytes().all(|b| b == b' ' || b == b'\t');
    let (left, right, sep) = match (spans.first(), spans.last()) {
        (Some(first), Some(last)) if spans.len() == old.len() => {
            let left = &t[span.start + 1..first.start];
            let right = &t[last.end..close];
            let sep = if spans.len() >= 2 {
                let s = &t[spans[0].end..spans[1].start];
                if s.trim() == "," && ws_only(&s.replace(',', "")) {
                    s
                } else {
                    ", "
                }
            } else {
                ", "
            };
            (
                if ws_only(left) { left } else { "" },
                if ws_only(right) { right } else { "" },
                sep,
            )
        }
        _ => ("", "", ", "),
    };
    format!("[{left}{}{right}]", elems.join(sep))
}

fn render_block_seq(doc: Doc<'_>, dash: usize, old: &[Node], items: &[String]) -> String {
    let t = doc.text;
    let col = " ".repeat(dash - text::line_start(t, dash));
    // Keep the spacing after the dash of the first item.
    let gap = old
        .first()
        .and_then(|n| n.span.as_ref())
        .and_then(|s| t.get(dash + 1..s.start))
        .filter(|g| !g.is_empty() && g.bytes().all(|b| b == b' '))
        .unwrap_or(" ");
    let mut out = String::new();
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(doc.nl);
            out.push_str(&col);
        }
        out.push('-');
        out.push_str(gap);
        out.push_str(&render_scalar(
            doc.format,
            s,
            element_style(doc.format, old, i),
            false,
        ));
    }
    out
}

// ---------------------------------------------------------------- groups

/// An insertion as the container planners see it: key and value rendered.
pub(super) struct Member {
    pub key: String,
    pub value: String,
    pub before: Option<usize>,
}

fn plan_group(doc: Doc<'_>, g: &Group<'_>, out: &mut Vec<Patch>) -> Result<(), EditError> {
    let Kind::Map { entries, layout } = &g.node.kind else {
        return Err(EditError::WrongType {
            pointer: g.pointer.clone(),
            expected: "an object, table or mapping",
        });
    };
    for ins in &g.inserts {
        if let Some(b) = ins.before
            && g.removes.iter().any(|(i, _)| *i == b)
        {
            return Err(EditError::Unsupported {
                pointer: ins.pointer.to_owned(),
                reason: "inserting before a member removed in the same call",
            });
        }
    }
    // A YAML `key: {}` in a block mapping is given block members.
    let in_flow = doc.format == Format::Yaml
        && *layout == MapLayout::Braced
        && !(entries.is_empty() && g.node.parent_block && !g.node.in_flow);
    let members: Vec<Member> = g
        .inserts
        .iter()
        .map(|ins| Member {
            // New members use the format's default style (see `Edit::Insert`).
            key: render_key(doc.format, ins.key, in_flow),
            value: render_value(doc, ins.value, None, in_flow),
            before: ins.before,
        })
        .collect();
    let mut removes: Vec<usize> = g.removes.iter().map(|(i, _)| *i).collect();
    removes.sort_unstable();
    let ctx = Container {
        doc,
        node: g.node,
        entries,
        pointer: &g.pointer,
        kv_sep: default_kv_sep(doc.format),
    };
    match layout {
        MapLayout::Braced => super::braced::plan(&ctx, &removes, &members, out),
        MapLayout::Lines | MapLayout::TomlTable { .. } => {
            super::lines::plan(&ctx, layout, &removes, &members, out)
        }
    }
}

/// One container being edited, with what its planners share.
pub(super) struct Container<'a> {
    pub doc: Doc<'a>,
    pub node: &'a Node,
    pub entries: &'a [Entry],
    pub pointer: &'a str,
    pub kv_sep: &'static str,
}

impl Container<'_> {
    pub fn patch(&self, range: std::ops::Range<usize>, text: String) -> Patch {
        Patch {
            range,
            text,
            pointer: self.pointer.to_owned(),
        }
    }

    pub fn unsupported(&self, reason: &'static str) -> EditError {
        EditError::Unsupported {
            pointer: self.pointer.to_owned(),
            reason,
        }
    }

    /// The text between entry `i`'s key and value when it is a plain
    /// separator on one line (`": "`, `" = "`), else the default.
    pub fn kv_sep_of(&self, i: usize) -> &str {
        let e = &self.entries[i];
        let Some(v) = &e.value.span else {
            return self.kv_sep;
        };
        let Some(sep) = self.doc.text.get(e.key_span.end..v.start) else {
            return self.kv_sep;
        };
        if sep.trim() == self.kv_sep.trim() && sep.bytes().all(|b| b" \t:=".contains(&b)) {
            sep
        } else {
            self.kv_sep
        }
    }

    /// An error naming member `i`'s own pointer.
    pub fn unsupported_at(&self, i: usize, reason: &'static str) -> EditError {
        EditError::Unsupported {
            pointer: format!(
                "{}/{}",
                self.pointer,
                tree::escape_token(&self.entries[i].key)
            ),
            reason,
        }
    }

    /// Start of entry `i`'s key and end of its value.
    pub fn bounds(&self, i: usize) -> Result<(usize, usize), EditError> {
        let e = &self.entries[i];
        match &e.value.span {
            Some(v) => Ok((e.key_span.start, v.end)),
            None => Err(self.unsupported_at(i, "removing or inserting next to a whole TOML table")),
        }
    }
}
