//! TOML: parsing into the common tree with `toml_edit`'s spans, and
//! rendering strings and keys.
//!
//! `toml_edit` is used to read (its `Document` keeps the byte span of every
//! key and value); the edits themselves are byte splices, so a neighbour can
//! never be reformatted. Tables map to line-based containers (standard
//! `[header]` tables and dotted-key tables), inline tables to braced ones.

use toml_edit::{Document, Item, Table, Value as TomlValue};

use super::tree::{Entry, Kind, MapLayout, Node, SeqLayout, StrStyle};
use super::{EditError, Format};

pub(super) fn parse(text: &str) -> Result<Node, EditError> {
    let doc = Document::parse(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start.min(text.len()));
        let before = text.get(..at).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        EditError::Syntax {
            format: "TOML",
            line,
            column,
        }
    })?;
    table(doc.as_table(), text, true)
}

fn missing_span() -> EditError {
    super::unsupported_doc(Format::Toml, "a key or value without a position")
}

fn table(t: &Table, text: &str, root: bool) -> Result<Node, EditError> {
    let mut entries = Vec::new();
    for (k, item) in t.iter() {
        let Some((key, _)) = t.get_key_value(k) else {
            continue;
        };
        let value = match item {
            Item::None => continue,
            Item::Value(v) => value(v, text)?,
            Item::Table(sub) => table(sub, text, false)?,
            Item::ArrayOfTables(a) => Node::new(
                None,
                Kind::Seq {
                    items: a
                        .iter()
                        .map(|t| table(t, text, false))
                        .collect::<Result<_, _>>()?,
                    layout: SeqLayout::Tables,
                },
            ),
        };
        entries.push(Entry {
            key: k.to_owned(),
            key_span: key.span().ok_or_else(missing_span)?,
            value,
        });
    }
    let header = if root || t.is_implicit() || t.is_dotted() {
        None
    } else {
        t.span()
    };
    Ok(Node::new(
        None,
        Kind::Map {
            entries,
            layout: MapLayout::TomlTable {
                header,
                dotted: t.is_dotted(),
                root,
            },
        },
    ))
}

fn value(v: &TomlValue, text: &str) -> Result<Node, EditError> {
    let span = v.span().ok_or_else(missing_span)?;
    let raw = text.get(span.clone()).ok_or_else(missing_span)?;
    let kind = match v {
        TomlValue::String(s) => Kind::Str {
            value: s.value().clone(),
            style: if raw.starts_with("\"\"\"") || raw.starts_with("'''") {
                StrStyle::Other
            } else if raw.starts_with('\'') {
                StrStyle::Single
            } else {
                StrStyle::Double
            },
        },
        TomlValue::Array(a) => Kind::Seq {
            items: a.iter().map(|v| value(v, text)).collect::<Result<_, _>>()?,
            layout: SeqLayout::Bracketed,
        },
        TomlValue::InlineTable(t) => {
            let mut entries = Vec::new();
            for (k, v) in t.iter() {
                let Some((key, _)) = t.get_key_value(k) else {
                    continue;
                };
                entries.push(Entry {
                    key: k.to_owned(),
                    key_span: key.span().ok_or_else(missing_span)?,
                    value: value(v, text)?,
                });
            }
            Kind::Map {
                entries,
                layout: MapLayout::Braced,
            }
        }
        _ => Kind::Other {
            raw: raw.to_owned(),
        },
    };
    Ok(Node::new(Some(span), kind))
}

/// A TOML string: literal `'...'` when the replaced one was literal and the
/// value allows it, else a basic string with escapes.
pub(super) fn render_str(s: &str, style: StrStyle) -> String {
    let literal_ok = !s.contains('\'') && !s.chars().any(|c| c.is_control() && c != '\t');
    if style == StrStyle::Single && literal_ok {
        return format!("'{s}'");
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A bare key when it can be one, else a basic string.
pub(super) fn render_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bare {
        key.to_owned()
    } else {
        render_str(key, StrStyle::Double)
    }
}
