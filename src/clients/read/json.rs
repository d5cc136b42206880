//! JSON read as JSONC (comments, trailing commas) into the positioned tree,
//! with `jsonc-parser`'s AST (byte ranges) for exact positions.
//!
//! Refuses nesting deeper than [`MAX_DEPTH`] before the recursive parser sees
//! it. Error messages are our own words: never a fragment of the file.

use jsonc_parser::ast::{ObjectPropName, Value};
use jsonc_parser::errors::ParseErrorKind;
use jsonc_parser::{CollectOptions, ParseOptions, parse_to_ast};

use super::tree::{Entry, Kind, LineIndex, MAX_DEPTH, Node};
use crate::clients::model::ReadError;

/// Which object members to convert, by their key path from the root; the
/// others become [`Kind::Other`] without copying their content.
pub(crate) type Keep<'a> = &'a dyn Fn(&[&str]) -> bool;

/// Parses `text` (BOM already removed). `Ok(None)` for a file with no value
/// (empty, only whitespace or comments). With `keep`, only the members it
/// accepts are converted (a bloated `~/.claude.json` holds megabytes of
/// history next to a few server entries).
pub(crate) fn parse(text: &str, keep: Option<Keep<'_>>) -> Result<Option<Node>, ReadError> {
    let index = LineIndex::new(text);
    if let Some(offset) = too_deep(text) {
        let (line, column) = index.position(offset);
        return Err(syntax(
            line,
            column,
            format!("nested deeper than {MAX_DEPTH} levels"),
        ));
    }
    let result =
        parse_to_ast(text, &CollectOptions::default(), &ParseOptions::default()).map_err(|e| {
            syntax(
                super::tree::to_u32(e.line_display()),
                super::tree::to_u32(e.column_display()),
                describe(e.kind()).to_string(),
            )
        })?;
    Ok(result.value.as_ref().map(|v| {
        let mut path = Vec::new();
        convert(v, &index, keep, &mut path)
    }))
}

fn syntax(line: u32, column: u32, message: String) -> ReadError {
    ReadError::Syntax {
        format: "JSON",
        line,
        column,
        message,
    }
}

fn convert<'t>(
    value: &'t Value<'_>,
    index: &LineIndex<'_>,
    keep: Option<Keep<'_>>,
    path: &mut Vec<&'t str>,
) -> Node {
    let start = match value {
        Value::StringLit(s) => s.range.start,
        Value::NumberLit(n) => n.range.start,
        Value::BooleanLit(b) => b.range.start,
        Value::NullKeyword(n) => n.range.start,
        Value::Array(a) => a.range.start,
        Value::Object(o) => o.range.start,
    };
    // Positions are asked in document order (this node before its children),
    // which keeps the line index linear.
    let (line, column) = index.position(start);
    let kind = match value {
        Value::StringLit(s) => Kind::Str(s.value.to_string()),
        Value::NumberLit(n) => Kind::Number(n.value.to_string()),
        Value::BooleanLit(b) => Kind::Bool(b.value),
        Value::NullKeyword(_) => Kind::Null,
        Value::Array(a) => Kind::List(
            a.elements
                .iter()
                .map(|e| convert(e, index, keep, path))
                .collect(),
        ),
        Value::Object(o) => Kind::Map(
            o.properties
                .iter()
                .map(|p| {
                    let (key, start) = match &p.name {
                        ObjectPropName::String(s) => (s.value.as_ref(), s.range.start),
                        ObjectPropName::Word(w) => (w.value, w.range.start),
                    };
                    let (line, column) = index.position(start);
                    path.push(key);
                    let value = if keep.is_none_or(|k| k(path)) {
                        convert(&p.value, index, keep, path)
                    } else {
                        Node::new(line, column, Kind::Other)
                    };
                    path.pop();
                    Entry {
                        key: key.to_string(),
                        line,
                        column,
                        value,
                    }
                })
                .collect(),
        ),
    };
    Node::new(line, column, kind)
}

/// Byte offset of the first bracket that opens level `MAX_DEPTH + 1`, if any.
/// Skips strings (both quote styles) and comments, like the parser does.
fn too_deep(text: &str) -> Option<usize> {
    enum State {
        Code,
        Str(u8),
        Line,
        Block,
    }
    let bytes = text.as_bytes();
    let mut state = State::Code;
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match state {
            State::Code => match b {
                b'"' | b'\'' => state = State::Str(b),
                b'/' if bytes.get(i + 1) == Some(&b'/') => {
                    state = State::Line;
                    i += 1;
                }
                b'/' if bytes.get(i + 1) == Some(&b'*') => {
                    state = State::Block;
                    i += 1;
                }
                b'{' | b'[' => {
                    depth += 1;
                    if depth > MAX_DEPTH {
                        return Some(i);
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            },
            State::Str(q) => match b {
                b'\\' => i += 1,
                b'\n' | b'\r' => state = State::Code,
                _ if b == q => state = State::Code,
                _ => {}
            },
            State::Line => {
                if b == b'\n' || b == b'\r' {
                    state = State::Code;
                }
            }
            State::Block => {
                if b == b'*' && bytes.get(i + 1) == Some(&b'/') {
                    state = State::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    None
}

/// Our wording for each parser error (some of the parser's own messages
/// quote the input).
fn describe(kind: &ParseErrorKind) -> &'static str {
    use ParseErrorKind as K;
    match kind {
        K::BareDecimalPointNumbersNotAllowed
        | K::ExpectedDigit
        | K::ExpectedDigitFollowingNegativeSign
        | K::ExpectedPlusMinusOrDigitInNumberLiteral
        | K::HexadecimalNumbersNotAllowed
        | K::NonFiniteNumbersNotAllowed
        | K::UnaryPlusNumbersNotAllowed => "invalid number",
        K::CommentsNotAllowed => "comments are not allowed",
        K::ExpectedColonAfterObjectKey => "expected a colon after an object key",
        K::ExpectedObjectValue => "expected a value after a colon",
        K::ExpectedStringObjectProperty => "expected a string object key",
        K::ExpectedComma => "expected a comma",
        K::MultipleRootJsonValues => "more than one value at the top level",
        K::SingleQuotedStringsNotAllowed => "single-quoted strings are not allowed",
        K::String(_) => "invalid string (bad escape or unterminated)",
        K::TrailingCommasNotAllowed => "trailing commas are not allowed",
        K::UnexpectedCloseBrace => "unexpected closing brace",
        K::UnexpectedCloseBracket => "unexpected closing bracket",
        K::UnexpectedColon => "unexpected colon",
        K::UnexpectedComma => "unexpected comma",
        K::UnexpectedToken | K::UnexpectedTokenInObject | K::UnexpectedWord => "unexpected token",
        K::UnterminatedArray => "unterminated array",
        K::UnterminatedCommentBlock => "unterminated block comment",
        K::UnterminatedObject => "unterminated object",
        K::NestingDepthExceeded => "nested too deeply",
        #[allow(unreachable_patterns)]
        _ => "syntax error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_keys_and_values() {
        let text = "{\n  // c\n  \"a\": {\"b\": \"x\", \"n\": 5,},\n}";
        let Ok(Some(root)) = parse(text, None) else {
            panic!("parse failed")
        };
        let a = &root.entries().unwrap_or_default()[0];
        assert_eq!((a.key.as_str(), a.line, a.column), ("a", 3, 3));
        let b = a.value.get("b").map(|n| (n.line, n.column));
        assert_eq!(b, Some((3, 14)));
        assert_eq!(
            a.value.get("n").and_then(Node::scalar_text).as_deref(),
            Some("5")
        );
    }

    #[test]
    fn empty_and_comment_only_have_no_value() {
        assert!(matches!(parse("", None), Ok(None)));
        assert!(matches!(parse("  // nothing\n", None), Ok(None)));
    }

    #[test]
    fn depth_bomb_is_refused_without_recursion() {
        let bomb = "[".repeat(200_000);
        match parse(&bomb, None) {
            Err(ReadError::Syntax { line, column, .. }) => {
                assert_eq!((line, column), (1, 101));
            }
            other => panic!("unexpected {other:?}"),
        }
        let fine = format!("{}{}", "[".repeat(90), "]".repeat(90));
        assert!(parse(&fine, None).is_ok());
        // brackets inside strings and comments do not count
        let quoted = format!(
            "{{\"a\": \"{}\" /* {} */}}",
            "[".repeat(500),
            "{".repeat(500)
        );
        assert!(parse(&quoted, None).is_ok());
    }

    #[test]
    fn syntax_errors_never_quote_the_input() {
        let secret = "ghp_Zq8Xw2Lr5Tn9Vb4Kc7Hm1Pj6Sd3Fg0Ay2Ue8";
        for text in [
            format!("{{\"k\": \"{secret}\\u12\"}}"),
            format!("{{\"k\": {secret}}}"),
            format!("{{\"k\": \"{secret}"),
            format!("{{\"k\" \"{secret}\"}}"),
        ] {
            match parse(&text, None) {
                Err(e) => {
                    let shown = e.to_string();
                    assert!(!shown.contains("ghp_"), "{shown}");
                }
                Ok(_) => panic!("accepted invalid input"),
            }
        }
    }
}
