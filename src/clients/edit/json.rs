//! JSON/JSONC: parsing into the common tree with `jsonc-parser`'s AST ranges,
//! and rendering strings and keys.
//!
//! Accepts what JSONC editors accept (comments, trailing commas); refuses
//! JSON5 extras (single quotes, bare keys, hex numbers...), which a rewrite
//! could not render back faithfully.

use jsonc_parser::ast;
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, CommentCollectionStrategy, ParseOptions};

use super::tree::{Entry, Kind, MapLayout, Node, SeqLayout, StrStyle};
use super::{EditError, Format};

pub(super) fn parse(text: &str) -> Result<Node, EditError> {
    let options = ParseOptions {
        allow_comments: true,
        allow_loose_object_property_names: false,
        allow_trailing_commas: true,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    let collect = CollectOptions {
        comments: CommentCollectionStrategy::Off,
        tokens: false,
    };
    let parsed =
        jsonc_parser::parse_to_ast(text, &collect, &options).map_err(|e| EditError::Syntax {
            format: "JSON",
            line: e.line_display(),
            column: e.column_display(),
        })?;
    match parsed.value {
        Some(v) => Ok(convert(&v, text)),
        None => Err(super::unsupported_doc(
            Format::Json,
            "the document is empty",
        )),
    }
}

fn convert(value: &ast::Value<'_>, text: &str) -> Node {
    let r = value.range();
    let span = Some(r.start..r.end);
    let kind = match value {
        ast::Value::StringLit(s) => Kind::Str {
            value: s.value.to_string(),
            style: StrStyle::Double,
        },
        ast::Value::Object(o) => Kind::Map {
            entries: o
                .properties
                .iter()
                .map(|p| {
                    let (key, kr) = match &p.name {
                        ast::ObjectPropName::String(s) => (s.value.to_string(), s.range),
                        ast::ObjectPropName::Word(w) => (w.value.to_owned(), w.range),
                    };
                    Entry {
                        key,
                        key_span: kr.start..kr.end,
                        value: convert(&p.value, text),
                    }
                })
                .collect(),
            layout: MapLayout::Braced,
        },
        ast::Value::Array(a) => Kind::Seq {
            items: a.elements.iter().map(|e| convert(e, text)).collect(),
            layout: SeqLayout::Bracketed,
        },
        ast::Value::NumberLit(_) | ast::Value::BooleanLit(_) | ast::Value::NullKeyword(_) => {
            Kind::Other {
                raw: text.get(r.start..r.end).unwrap_or_default().to_owned(),
            }
        }
    };
    Node::new(span, kind)
}

/// A JSON string literal (serde_json escaping: `"`, `\`, control characters).
pub(super) fn render_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| {
        // serde_json cannot fail on a &str; keep a correct fallback anyway.
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    })
}
