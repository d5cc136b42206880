//! The positioned document tree every format is converted into before its
//! client shape is read, and the helpers shared by the converters: byte
//! offset to line/column, RFC 6901 pointer escaping, and error-message
//! scrubbing.
//!
//! Owns no format and no client knowledge.

use std::cell::Cell;

use crate::clients::model::Located;

/// Deepest nesting any converter keeps. Real configs stay under 15 levels;
/// deeper input is refused (JSON, YAML) or cut (TOML) instead of recursing.
pub(crate) const MAX_DEPTH: usize = 100;

/// A value and the 1-based position of its first character.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub line: u32,
    pub column: u32,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Map(Vec<Entry>),
    List(Vec<Node>),
    Str(String),
    /// A number or date, as written.
    Number(String),
    Bool(bool),
    Null,
    /// Something we do not read (a YAML alias, a tree cut at [`MAX_DEPTH`]).
    Other,
}

/// One key of a mapping, with the position of the key itself.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub key: String,
    pub line: u32,
    pub column: u32,
    pub value: Node,
}

impl Node {
    pub fn new(line: u32, column: u32, kind: Kind) -> Self {
        Self { line, column, kind }
    }

    pub fn entries(&self) -> Option<&[Entry]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::List(items) => Some(items),
            _ => None,
        }
    }

    /// The value of `key` (the last one when a key repeats, as clients read it).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?
            .iter()
            .rev()
            .find(|e| e.key == key)
            .map(|e| &e.value)
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match &self.kind {
            Kind::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The text of a scalar: strings as they are, numbers as written, booleans
    /// as `true`/`false`. `None` for null, containers and the unread.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            Kind::Str(s) | Kind::Number(s) => Some(s.clone()),
            Kind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// This scalar as a [`Located`] at `pointer`.
    pub fn located(&self, pointer: String) -> Option<Located> {
        Some(Located {
            value: self.scalar_text()?,
            pointer,
            line: self.line,
            column: self.column,
        })
    }

    /// This node as a [`Located`] only when it is a string.
    pub fn located_str(&self, pointer: String) -> Option<Located> {
        self.as_str()?;
        self.located(pointer)
    }
}

/// `base` + `/` + `token`, with `~` and `/` escaped per RFC 6901.
pub(crate) fn child(base: &str, token: &str) -> String {
    let mut out = String::with_capacity(base.len() + token.len() + 1);
    out.push_str(base);
    out.push('/');
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
    out
}

/// `base` + `/` + `index`.
pub(crate) fn child_index(base: &str, index: usize) -> String {
    format!("{base}/{index}")
}

/// Maps byte offsets of one text to 1-based lines and character columns.
/// `\n`, `\r\n` and a lone `\r` each end a line.
///
/// Remembers the last answer, so offsets asked in document order (as the
/// converters do) cost linear time overall even on one huge minified line.
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// (byte offset, line index, characters from the line start) last answered.
    last: Cell<(usize, usize, usize)>,
}

impl<'a> LineIndex<'a> {
    pub fn new(text: &'a str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) != Some(&b'\n') => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Self {
            text,
            starts,
            last: Cell::new((0, 0, 0)),
        }
    }

    /// 1-based line and column (in characters) of byte `offset`.
    pub fn position(&self, offset: usize) -> (u32, u32) {
        let offset = offset.min(self.text.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1) - 1;
        let (last_offset, last_line, last_column) = self.last.get();
        let (from, base) = if last_line == line && last_offset <= offset {
            (last_offset, last_column)
        } else {
            (self.starts[line], 0)
        };
        let column = base
            + self
                .text
                .get(from..offset)
                .map_or(0, |part| part.chars().count());
        self.last.set((offset, line, column));
        (to_u32(line + 1), to_u32(column + 1))
    }
}

pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A parser's message made safe to show: its first line, with every quoted
/// fragment (which may be a piece of the file) replaced by `…`, printable
/// ASCII only, at most 100 characters.
pub(crate) fn scrub_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or("").trim();
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in first.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if matches!(c, '`' | '\'' | '"') => {
                quote = Some(c);
                out.push('…');
            }
            None if c.is_ascii_graphic() || c == ' ' => out.push(c),
            None => {}
        }
        if out.chars().count() >= 100 {
            break;
        }
    }
    let out = out.trim().to_string();
    if out.is_empty() {
        "syntax error".to_string()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_escaping() {
        assert_eq!(child("", "a/b~c"), "/a~1b~0c");
        assert_eq!(child("/x", "amp.mcpServers"), "/x/amp.mcpServers");
        assert_eq!(child_index("/l", 3), "/l/3");
    }

    #[test]
    fn line_index_counts_characters_and_line_endings() {
        let text = "ab\r\ncé\rx\ny";
        let idx = LineIndex::new(text);
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(4), (2, 1));
        assert_eq!(idx.position(7), (2, 3));
        assert_eq!(idx.position(8), (3, 1));
        assert_eq!(idx.position(text.len() - 1), (4, 1));
        let e = "xé: v";
        assert_eq!(LineIndex::new(e).position(e.find(':').unwrap_or(0)), (1, 3));
    }

    #[test]
    fn scrub_drops_quoted_fragments() {
        assert_eq!(
            scrub_message("invalid string `ghp_secret`\nmore"),
            "invalid string …"
        );
        assert_eq!(scrub_message("\u{1}"), "syntax error");
    }
}
