//! TOML into the positioned tree, with `toml_edit`'s spans (the same crate
//! the rewriter uses, so positions agree).
//!
//! `toml_edit` bounds its own recursion; the conversion cuts anything deeper
//! than [`MAX_DEPTH`]. Messages are scrubbed of quoted input.

use toml_edit::{Document, Item, Table, Value};

use super::tree::{Entry, Kind, LineIndex, MAX_DEPTH, Node, scrub_message};
use crate::clients::model::ReadError;

/// Parses `text` (BOM already removed). An empty document is an empty map.
pub(crate) fn parse(text: &str) -> Result<Node, ReadError> {
    let index = LineIndex::new(text);
    let doc = Document::parse(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| index.position(span.start));
        ReadError::Syntax {
            format: "TOML",
            line,
            column,
            message: scrub_message(e.message()),
        }
    })?;
    Ok(table(doc.as_table(), &index, 0, (1, 1)))
}

fn position(
    span: Option<std::ops::Range<usize>>,
    index: &LineIndex<'_>,
    fallback: (u32, u32),
) -> (u32, u32) {
    span.map_or(fallback, |s| index.position(s.start))
}

fn table(t: &Table, index: &LineIndex<'_>, depth: usize, at: (u32, u32)) -> Node {
    let pos = position(t.span(), index, at);
    if depth > MAX_DEPTH {
        return Node::new(pos.0, pos.1, Kind::Other);
    }
    let entries = t
        .iter()
        .filter_map(|(name, item)| {
            let (key, _) = t.get_key_value(name)?;
            let key_pos = position(key.span(), index, pos);
            Some(Entry {
                key: name.to_string(),
                line: key_pos.0,
                column: key_pos.1,
                value: item_node(item, index, depth + 1, key_pos),
            })
        })
        .collect();
    Node::new(pos.0, pos.1, Kind::Map(entries))
}

fn item_node(item: &Item, index: &LineIndex<'_>, depth: usize, at: (u32, u32)) -> Node {
    match item {
        Item::None => Node::new(at.0, at.1, Kind::Null),
        Item::Value(v) => value(v, index, depth, at),
        Item::Table(t) => table(t, index, depth, at),
        Item::ArrayOfTables(a) => {
            let pos = position(a.span(), index, at);
            let items = a.iter().map(|t| table(t, index, depth + 1, pos)).collect();
            Node::new(pos.0, pos.1, Kind::List(items))
        }
    }
}

fn value(v: &Value, index: &LineIndex<'_>, depth: usize, at: (u32, u32)) -> Node {
    let (line, column) = position(v.span(), index, at);
    if depth > MAX_DEPTH {
        return Node::new(line, column, Kind::Other);
    }
    let kind = match v {
        Value::String(s) => Kind::Str(s.value().clone()),
        Value::Integer(i) => Kind::Number(i.value().to_string()),
        Value::Float(f) => Kind::Number(f.value().to_string()),
        Value::Boolean(b) => Kind::Bool(*b.value()),
        Value::Datetime(d) => Kind::Number(d.value().to_string()),
        Value::Array(a) => Kind::List(
            a.iter()
                .map(|e| value(e, index, depth + 1, (line, column)))
                .collect(),
        ),
        Value::InlineTable(t) => Kind::Map(
            t.iter()
                .filter_map(|(name, item)| {
                    let (key, _) = t.get_key_value(name)?;
                    let key_pos = position(key.span(), index, (line, column));
                    Some(Entry {
                        key: name.to_string(),
                        line: key_pos.0,
                        column: key_pos.1,
                        value: value(item, index, depth + 1, key_pos),
                    })
                })
                .collect(),
        ),
    };
    Node::new(line, column, kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_of_tables_keys_and_values() {
        let text =
            "[mcp_servers.gh]\ncommand = \"npx\"\n\n[mcp_servers.gh.env]\nTOKEN = \"x\"\nN = 3\n";
        let Ok(root) = parse(text) else {
            panic!("parse")
        };
        let gh = root.get("mcp_servers").and_then(|m| m.get("gh"));
        let cmd = gh
            .and_then(|g| g.get("command"))
            .map(|n| (n.line, n.column));
        assert_eq!(cmd, Some((2, 11)));
        let env = gh.and_then(|g| g.get("env"));
        let tok = env.and_then(|e| e.get("TOKEN")).map(|n| (n.line, n.column));
        assert_eq!(tok, Some((5, 9)));
        let n = env.and_then(|e| e.get("N")).and_then(Node::scalar_text);
        assert_eq!(n.as_deref(), Some("3"));
    }

    #[test]
    fn errors_are_positioned_and_scrubbed() {
        let text = "[a]\nk = \"sk_live_51Hq8ZtLmN4pR7sVxY2bC3dE\nz = 1\n";
        match parse(text) {
            Err(ReadError::Syntax { line, message, .. }) => {
                assert_eq!(line, 2);
                assert!(!message.contains("sk_live"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        let dup = "a = \"ghp_one\"\na = \"ghp_two\"\n";
        match parse(dup) {
            Err(e) => assert!(!e.to_string().contains("ghp_"), "{e}"),
            Ok(_) => panic!("duplicate key accepted"),
        }
    }

    #[test]
    fn deep_inline_nesting_does_not_overflow() {
        let bomb = format!("a = {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&bomb).is_err());
        let tables = format!("a = {}1{}", "{b = ".repeat(5_000), "}".repeat(5_000));
        assert!(parse(&tables).is_err());
    }
}
