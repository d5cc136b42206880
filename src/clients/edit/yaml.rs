//! YAML: parsing into the common tree from `saphyr-parser` events and their
//! spans, and rendering scalars.
//!
//! There is no format-preserving YAML editor in Rust; `saphyr-parser` (the
//! maintained successor of yaml-rust's parser, pure Rust, no unsafe) reports
//! a start and end for every scalar and flow collection, which is what byte
//! splicing needs. Block collections end where their last child ends (the
//! parser's end marker points at the next token). Restricted to what MCP
//! configs use: one document, block and flow mappings and sequences, plain
//! and quoted scalars. Anchors, aliases, tags and block scalars are refused
//! as targets; a second document or a non-scalar key refuses the file.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::tree::{Entry, Kind, MapLayout, Node, SeqLayout, StrStyle};
use super::{EditError, Format};

pub(super) fn parse(text: &str) -> Result<Node, EditError> {
    let mut events = Vec::new();
    for next in Parser::new_from_str(text) {
        let (event, span) = next.map_err(|e| EditError::Syntax {
            format: "YAML",
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })?;
        events.push((event, span));
    }
    let docs = events
        .iter()
        .filter(|(e, _)| matches!(e, Event::DocumentStart(_)))
        .count();
    if docs != 1 {
        let reason = if docs == 0 {
            "the document is empty"
        } else {
            "more than one document"
        };
        return Err(super::unsupported_doc(Format::Yaml, reason));
    }
    // Character index -> byte offset (the parser counts characters).
    let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    offsets.push(text.len());
    let mut p = Events {
        events,
        pos: 0,
        offsets,
        text,
    };
    while let Some((e, _)) = p.events.get(p.pos) {
        if matches!(e, Event::DocumentStart(_)) {
            p.pos += 1;
            break;
        }
        p.pos += 1;
    }
    p.node(false, false, 0)
}

/// Deeper documents are refused (the tree is built recursively).
const MAX_DEPTH: usize = 256;

struct Events<'a> {
    events: Vec<(Event<'a>, Span)>,
    pos: usize,
    offsets: Vec<usize>,
    text: &'a str,
}

fn bad(reason: &'static str) -> EditError {
    super::unsupported_doc(Format::Yaml, reason)
}

impl<'a> Events<'a> {
    fn byte(&self, char_index: usize) -> Result<usize, EditError> {
        self.offsets
            .get(char_index)
            .copied()
            .ok_or_else(|| bad("a position outside the text"))
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), EditError> {
        let e = self
            .events
            .get(self.pos)
            .cloned()
            .ok_or_else(|| bad("the document ends early"))?;
        self.pos += 1;
        Ok(e)
    }

    /// Parses one node; `in_flow`: inside a flow collection; `parent_block`:
    /// the value of a block mapping entry.
    fn node(&mut self, in_flow: bool, parent_block: bool, depth: usize) -> Result<Node, EditError> {
        if depth > MAX_DEPTH {
            return Err(bad("nesting deeper than 256 levels"));
        }
        let (event, span) = self.next()?;
        let start = self.byte(span.start.index())?;
        let end = self.byte(span.end.index())?;
        let mut node = match event {
            Event::Scalar(value, style, anchor, tag) => {
                let (style, refuse) = match style {
                    ScalarStyle::Plain => (StrStyle::Plain, None),
                    ScalarStyle::SingleQuoted => (StrStyle::Single, None),
                    ScalarStyle::DoubleQuoted => (StrStyle::Double, None),
                    _ => (
                        StrStyle::Other,
                        Some("block scalars (| or >) cannot be edited"),
                    ),
                };
                let empty = value.is_empty();
                let kind = if style == StrStyle::Plain && !plain_safe(&value, in_flow) {
                    Kind::Other {
                        raw: value.into_owned(),
                    }
                } else {
                    Kind::Str {
                        value: value.into_owned(),
                        style,
                    }
                };
                // The parser's end of a quoted scalar can run past it (over
                // a trailing comment); find the closing quote instead.
                // An empty plain scalar (a null value) is reported at its
                // key's end, sometimes over a following `, `: give it an
                // empty span just past the `:` instead.
                let (start, end) = if style == StrStyle::Plain && empty {
                    let b = self.text.as_bytes();
                    let mut p = start;
                    while b.get(p) == Some(&b' ') {
                        p += 1;
                    }
                    if b.get(p) == Some(&b':') {
                        p += 1;
                    } else {
                        p = start;
                    }
                    (p, p)
                } else {
                    (start, end)
                };
                let end = match style {
                    StrStyle::Single | StrStyle::Double
                        if matches!(self.text.as_bytes().get(start), Some(b'"' | b'\'')) =>
                    {
                        quoted_end(self.text, start)
                            .ok_or_else(|| bad("an unterminated quoted scalar"))?
                    }
                    _ => end,
                };
                let mut n = Node::new(Some(start..end), kind);
                n.refuse = refuse.or(marks(anchor, tag.is_some()));
                n
            }
            Event::Alias(_) => {
                let mut n = Node::new(Some(start..end), Kind::Alias);
                n.refuse = Some("the target is a YAML alias");
                n
            }
            Event::SequenceStart(anchor, tag) => {
                let flow = self.text.as_bytes().get(start) == Some(&b'[');
                let mut items = Vec::new();
                let close = loop {
                    if let Some((Event::SequenceEnd, s)) = self.events.get(self.pos) {
                        let s = *s;
                        self.pos += 1;
                        break self.byte(s.end.index())?;
                    }
                    items.push(self.node(in_flow || flow, false, depth + 1)?);
                };
                let span = if flow {
                    start..close
                } else {
                    let first = items.first().and_then(|n| n.span.clone());
                    let last = items.last().and_then(|n| n.span.clone());
                    let (Some(first), Some(last)) = (first, last) else {
                        return Err(bad("an empty block sequence"));
                    };
                    self.dash_before(first.start)?..last.end
                };
                let layout = if flow {
                    SeqLayout::Bracketed
                } else {
                    SeqLayout::Block
                };
                let mut n = Node::new(Some(span), Kind::Seq { items, layout });
                n.refuse = marks(anchor, tag.is_some());
                n
            }
            Event::MappingStart(anchor, tag) => {
                let flow = self.text.as_bytes().get(start) == Some(&b'{');
                let mut entries = Vec::new();
                let close = loop {
                    if let Some((Event::MappingEnd, s)) = self.events.get(self.pos) {
                        let s = *s;
                        self.pos += 1;
                        break self.byte(s.end.index())?;
                    }
                    let key = self.node(in_flow || flow, false, depth + 1)?;
                    let value = self.node(in_flow || flow, !flow, depth + 1)?;
                    let key_text = match key.kind {
                        Kind::Str { value, .. } => value,
                        Kind::Other { raw } => raw,
                        _ => return Err(bad("a mapping key that is not a scalar")),
                    };
                    entries.push(Entry {
                        key: key_text,
                        key_span: key.span.ok_or_else(|| bad("a key without a position"))?,
                        value,
                    });
                };
                let span = if flow {
                    start..close
                } else {
                    let first = entries.first().map(|e| e.key_span.start);
                    let last = entries.last().and_then(|e| e.value.span.clone());
                    let (Some(first), Some(last)) = (first, last) else {
                        return Err(bad("an empty block mapping"));
                    };
                    first..last.end.max(first)
                };
                let layout = if flow {
                    MapLayout::Braced
                } else {
                    MapLayout::Lines
                };
                let mut n = Node::new(Some(span), Kind::Map { entries, layout });
                n.refuse = marks(anchor, tag.is_some());
                n
            }
            _ => return Err(bad("an unexpected event")),
        };
        node.in_flow = in_flow;
        node.parent_block = parent_block;
        Ok(node)
    }

    /// The `-` of a block sequence's first item.
    fn dash_before(&self, item: usize) -> Result<usize, EditError> {
        let before = self.text[..item].trim_end_matches(' ');
        if before.ends_with('-') {
            Ok(before.len() - 1)
        } else {
            Err(bad("a block sequence item without its dash"))
        }
    }
}

/// The offset just past the closing quote of the quoted scalar at `start`.
fn quoted_end(text: &str, start: usize) -> Option<usize> {
    let b = text.as_bytes();
    let quote = *b.get(start)?;
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if quote == b'"' => i += 2,
            q if q == quote => {
                if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                } else {
                    return Some(i + 1);
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn marks(anchor: usize, tagged: bool) -> Option<&'static str> {
    if anchor != 0 {
        Some("the value carries a YAML anchor (aliases would change too)")
    } else if tagged {
        Some("the value carries a YAML tag")
    } else {
        None
    }
}

/// Whether `s` can be written as a plain scalar and read back as the same string.
pub(super) fn plain_safe(s: &str, in_flow: bool) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let second = s.chars().nth(1);
    if s.starts_with([' ', '\t']) || s.ends_with([' ', '\t', ':']) {
        return false;
    }
    if s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{85}'))
    {
        return false;
    }
    if s.contains(": ") || s.contains(" #") {
        return false;
    }
    if in_flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    match first {
        '?' | ':' | ',' | '[' | ']' | '{' | '}' | '#' | '&' | '*' | '!' | '|' | '>' | '\''
        | '"' | '%' | '@' | '`' | '~' | '=' => return false,
        '-' if s.starts_with("---") || second.is_none_or(|c| c == ' ') => return false,
        _ => {}
    }
    let number_like = first.is_ascii_digit()
        || (matches!(first, '+' | '-' | '.')
            && second.is_some_and(|c| c.is_ascii_digit() || c == '.'));
    if number_like {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    let special = [
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "<<", ".inf", "-.inf",
        "+.inf", ".nan",
    ];
    !special.contains(&lower.as_str())
}

/// A YAML scalar in the requested style when it can hold `s`, else double-quoted.
pub(super) fn render_str(s: &str, style: StrStyle, in_flow: bool) -> String {
    match style {
        StrStyle::Plain if plain_safe(s, in_flow) => return s.to_owned(),
        StrStyle::Single
            if !s.chars().any(|c| c.is_control())
                && !s.contains(['\u{2028}', '\u{2029}', '\u{feff}']) =>
        {
            return format!("'{}'", s.replace('\'', "''"));
        }
        _ => {}
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            '\u{feff}' => out.push_str("\\uFEFF"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
