//! YAML into the positioned tree, driven by `saphyr-parser`'s event stream
//! (each event carries its line and column).
//!
//! Builds the tree with an explicit stack, so no input can recurse; refuses
//! nesting deeper than [`MAX_DEPTH`]. Aliases are not expanded (no
//! billion-laughs); they read as [`Kind::Other`]. Only the first document of a
//! stream is read. Messages are scrubbed of quoted input.

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

use super::tree::{Entry, Kind, MAX_DEPTH, Node, scrub_message, to_u32};
use crate::clients::model::ReadError;

enum Frame {
    Map {
        at: (u32, u32),
        entries: Vec<Entry>,
        /// The key read, waiting for its value; `None` key text = a key we
        /// cannot use (a mapping or sequence as a key).
        pending: Option<(Option<String>, u32, u32)>,
    },
    List {
        at: (u32, u32),
        items: Vec<Node>,
    },
}

/// Parses `text` (BOM already removed). `Ok(None)` for a stream with no document.
pub(crate) fn parse(text: &str) -> Result<Option<Node>, ReadError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut in_document = false;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| scan_error(&e))?;
        let at = start(&span);
        let done = match event {
            Event::DocumentStart(_) => {
                in_document = true;
                None
            }
            Event::StreamEnd | Event::DocumentEnd => {
                if in_document {
                    return Ok(None);
                }
                None
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ReadError::Syntax {
                        format: "YAML",
                        line: at.0,
                        column: at.1,
                        message: format!("nested deeper than {MAX_DEPTH} levels"),
                    });
                }
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        at,
                        entries: Vec::new(),
                        pending: None,
                    }
                } else {
                    Frame::List {
                        at,
                        items: Vec::new(),
                    }
                });
                None
            }
            Event::MappingEnd | Event::SequenceEnd => match stack.pop() {
                Some(Frame::Map { at, entries, .. }) => {
                    Some(Node::new(at.0, at.1, Kind::Map(entries)))
                }
                Some(Frame::List { at, items }) => Some(Node::new(at.0, at.1, Kind::List(items))),
                None => None,
            },
            Event::Scalar(text, style, _, _) => Some(Node::new(at.0, at.1, scalar(&text, style))),
            Event::Alias(_) => Some(Node::new(at.0, at.1, Kind::Other)),
            Event::StreamStart | Event::Nothing => None,
        };
        if let Some(node) = done
            && let Some(root) = attach(&mut stack, node)
        {
            return Ok(Some(root));
        }
    }
    Ok(None)
}

/// Gives a finished node to its parent; returns it when it is the document root.
fn attach(stack: &mut [Frame], node: Node) -> Option<Node> {
    match stack.last_mut() {
        None => Some(node),
        Some(Frame::List { items, .. }) => {
            items.push(node);
            None
        }
        Some(Frame::Map {
            entries, pending, ..
        }) => {
            match pending.take() {
                None => {
                    let key = match &node.kind {
                        Kind::Str(s) | Kind::Number(s) => Some(s.clone()),
                        Kind::Bool(b) => Some(b.to_string()),
                        Kind::Null => Some(String::new()),
                        _ => None,
                    };
                    *pending = Some((key, node.line, node.column));
                }
                Some((Some(key), line, column)) => entries.push(Entry {
                    key,
                    line,
                    column,
                    value: node,
                }),
                Some((None, _, _)) => {}
            }
            None
        }
    }
}

fn start(span: &Span) -> (u32, u32) {
    (to_u32(span.start.line()), to_u32(span.start.col() + 1))
}

/// A plain scalar is resolved like the YAML 1.2 core schema; a quoted or
/// block scalar is always a string.
fn scalar(text: &str, style: ScalarStyle) -> Kind {
    if style != ScalarStyle::Plain {
        return Kind::Str(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Kind::Null,
        "true" | "True" | "TRUE" => Kind::Bool(true),
        "false" | "False" | "FALSE" => Kind::Bool(false),
        t if looks_numeric(t) => Kind::Number(t.to_string()),
        t => Kind::Str(t.to_string()),
    }
}

fn looks_numeric(t: &str) -> bool {
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    !digits.is_empty()
        && digits.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && (t.parse::<f64>().is_ok() || t.parse::<i64>().is_ok())
}

fn scan_error(e: &ScanError) -> ReadError {
    ReadError::Syntax {
        format: "YAML",
        line: to_u32(e.marker().line()),
        column: to_u32(e.marker().col() + 1),
        message: scrub_message(e.info()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_block_and_flow_values() {
        let text = "a:\n  - name: x\n    env:\n      K: \"q\"\n      N: 5\n    args: [\"-y\", b]\n";
        let Ok(Some(root)) = parse(text) else {
            panic!("parse")
        };
        let item = root
            .get("a")
            .and_then(|l| l.items())
            .and_then(|i| i.first());
        let k = item.and_then(|i| i.get("env")).and_then(|e| e.get("K"));
        assert_eq!(k.map(|n| (n.line, n.column)), Some((4, 10)));
        let n = item.and_then(|i| i.get("env")).and_then(|e| e.get("N"));
        assert_eq!(n.map(|n| n.kind.clone()), Some(Kind::Number("5".into())));
        let args = item.and_then(|i| i.get("args")).and_then(|a| a.items());
        assert_eq!(args.map(|a| (a[1].line, a[1].column)), Some((6, 18)));
        let entry = root.entries().map(|e| (e[0].line, e[0].column));
        assert_eq!(entry, Some((1, 1)));
    }

    #[test]
    fn empty_stream_and_first_document_only() {
        assert!(matches!(parse(""), Ok(None)));
        assert!(matches!(parse("# only a comment\n"), Ok(None)));
        let Ok(Some(root)) = parse("a: 1\n---\nb: 2\n") else {
            panic!("parse")
        };
        assert!(root.get("b").is_none());
    }

    #[test]
    fn aliases_are_not_expanded_and_depth_is_bounded() {
        let text = "x: &a {k: v}\ny: *a\n";
        let Ok(Some(root)) = parse(text) else {
            panic!("parse")
        };
        assert_eq!(root.get("y").map(|n| n.kind.clone()), Some(Kind::Other));
        let bomb = "[".repeat(50_000);
        assert!(parse(&bomb).is_err());
        let mut block = String::new();
        for i in 0..300 {
            block.push_str(&" ".repeat(i));
            block.push_str("k:\n");
        }
        assert!(matches!(parse(&block), Err(ReadError::Syntax { .. })));
    }

    #[test]
    fn errors_never_quote_the_input() {
        for text in [
            "k: \"glpat-Xk29fLq8RmT4wNb7YpZc\n",
            "k: \"\\q glpat-Xk29fLq8RmT4wNb7YpZc\"\n",
            "a: b: glpat-Xk29fLq8RmT4wNb7YpZc\n",
            "- a\nb: glpat-Xk29fLq8RmT4wNb7YpZc\n",
        ] {
            match parse(text) {
                Err(e) => assert!(!e.to_string().contains("glpat"), "{e}"),
                Ok(_) => panic!("accepted invalid input"),
            }
        }
    }
}
