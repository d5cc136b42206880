//! Format-preserving edits of MCP client config files (JSON/JSONC, TOML, YAML).
//!
//! Owns: applying a few [`Edit`]s at RFC 6901 pointers to the bytes of one
//! file, changing only the bytes of the targeted values and members. Comments,
//! key order, indentation, trailing commas, line endings (LF or CRLF) and a
//! UTF-8 byte-order mark stay as they were. All edits of one call are resolved
//! against the original document, then spliced in one pass; overlapping edits
//! are refused. The result is re-parsed and compared with the expected
//! document (the original tree with the edits applied) before it is returned.
//!
//! Also lists a document's string literals with their decoded values and
//! the raw bytes that spell any part of one ([`literals`]), so text shown to
//! people can be masked whatever escapes a secret was written with.
//!
//! Must not: touch the file system (the caller writes atomically), or put file
//! content or values in errors, `Debug` output or panics (values may be
//! secrets). Anything it cannot edit safely (YAML anchors, aliases, block
//! scalars, multi-document streams, replacing a whole TOML table, removing
//! one that has sub-tables or shares lines) is refused with an
//! [`EditError`] that names the pointer.

mod braced;
mod json;
mod layout;
mod lines;
mod literal;
mod text;
mod toml;
mod tree;
mod yaml;

#[cfg(test)]
mod tests;

use std::fmt;
use std::ops::Range;

pub use crate::clients::Format;

pub use literal::{Literal, Unescaped, literals};
use tree::Node;

/// A value `protect`/`restore` writes.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    String(String),
    StringArray(Vec<String>),
    /// A new object / table / mapping with these members in order; only for
    /// [`Edit::Insert`] into JSON (written one member per line, indented one
    /// step deeper than the member it becomes) and TOML (written as new
    /// `[a.b]` tables at the end of the document; a member whose members are
    /// all objects gets no header of its own). YAML is refused.
    Object(Vec<(String, Value)>),
}

/// Values may be secrets: `Debug` shows their shape only.
impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => write!(f, "String(<{} bytes>)", s.len()),
            Self::StringArray(v) => write!(f, "StringArray(<{} items>)", v.len()),
            Self::Object(m) => write!(f, "Object(<{} members>)", m.len()),
        }
    }
}

/// One edit at an RFC 6901 pointer (for TOML and YAML, the same path over
/// tables, mappings and sequences).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// Replace the value at `pointer` (must exist) with `value`, in the style
    /// of what it replaces (quote style; arrays inline or one element per line).
    Set { pointer: String, value: Value },
    /// Remove the object member / table key / mapping key at `pointer` (must
    /// exist), with its separator and, when it sits on its own line(s), the
    /// whole line(s) including a comment on the same line. A standard TOML
    /// table (`[a.b]` without sub-tables) goes from its header line to its
    /// last key's line.
    Remove { pointer: String },
    /// Add member `key` = `value` to the object/table/mapping at `pointer`
    /// (must exist; `key` must not), matching the siblings' indentation and
    /// separators: right before member `before` when given (it must exist),
    /// else after the last member. Strings are written in the format's
    /// default style (JSON/TOML `"..."`, YAML plain when safe, else `"..."`),
    /// so `Remove` then `Insert` (before its old successor) restores it byte
    /// for byte when it was written so and had no comment on its line. An
    /// emptied container forgets two style facts: a JSONC trailing comma
    /// after its only member, and YAML flow style (`{}` in a block mapping
    /// is refilled as a block mapping).
    Insert {
        pointer: String,
        key: String,
        value: Value,
        before: Option<String>,
    },
}

impl Edit {
    /// The pointer the edit is aimed at.
    pub fn pointer(&self) -> &str {
        match self {
            Self::Set { pointer, .. } | Self::Remove { pointer } | Self::Insert { pointer, .. } => {
                pointer
            }
        }
    }
}

/// Why an edit was refused. Names pointers, keys and reasons; never quotes
/// file content or values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    #[error("the file is not valid UTF-8")]
    NotUtf8,
    #[error("not valid {format} at line {line}, column {column}")]
    Syntax {
        format: &'static str,
        line: usize,
        column: usize,
    },
    #[error("unsupported {format}: {reason}")]
    UnsupportedDocument {
        format: &'static str,
        reason: &'static str,
    },
    #[error("{pointer:?} is not a valid JSON pointer")]
    BadPointer { pointer: String },
    #[error("{pointer:?}: no such member or element")]
    NotFound { pointer: String },
    #[error("{pointer:?}: key {key:?} already exists")]
    KeyExists { pointer: String, key: String },
    #[error("{pointer:?}: no member {key:?} to insert before")]
    NoSuchSibling { pointer: String, key: String },
    #[error("{pointer:?}: expected {expected}")]
    WrongType {
        pointer: String,
        expected: &'static str,
    },
    #[error("{pointer:?}: cannot edit safely: {reason}")]
    Unsupported {
        pointer: String,
        reason: &'static str,
    },
    #[error("{pointer:?}: overlaps another edit of the same call")]
    Overlap { pointer: String },
    #[error("{pointer:?}: the edited document would not read back as intended (nothing written)")]
    Verify { pointer: String },
}

/// Applies `edits` to `original` and returns the new bytes. Nothing is
/// changed outside the targeted values and members.
pub fn apply(format: Format, original: &[u8], edits: &[Edit]) -> Result<Vec<u8>, EditError> {
    let (bom, text) = text::split_bom(original)?;
    let root = parse(format, text)?;
    let nl = text::newline(text);
    let patches = layout::plan(format, text, nl, &root, edits)?;
    let out = text::splice(text, patches)?;
    verify(format, &root, &out, edits)?;
    let mut bytes = Vec::with_capacity(bom.len() + out.len());
    bytes.extend_from_slice(bom);
    bytes.extend_from_slice(out.as_bytes());
    Ok(bytes)
}

/// The edit that adds member `key` = `value` to the object, table or
/// mapping at `pointer`, creating the containers missing on the way (the
/// servers container of a file that has none yet).
pub fn insert_nested(
    format: Format,
    original: &[u8],
    pointer: &str,
    key: &str,
    value: Value,
) -> Result<Edit, EditError> {
    let (_, text) = text::split_bom(original)?;
    let root = parse(format, text)?;
    let tokens = tree::tokens(pointer)?;
    let path = |n: usize| -> String {
        tokens[..n]
            .iter()
            .map(|t| format!("/{}", tree::escape_token(t)))
            .collect()
    };
    let mut depth = tokens.len();
    while depth > 0 && tree::resolve(&root, &path(depth)).is_err() {
        depth -= 1;
    }
    let (mut key, mut value) = (key.to_owned(), value);
    for token in tokens[depth..].iter().rev() {
        value = Value::Object(vec![(key, value)]);
        key = token.clone();
    }
    Ok(Edit::Insert {
        pointer: path(depth),
        key,
        value,
        before: None,
    })
}

/// Byte range (in `bytes`, BOM included) of the value at `pointer`: for a
/// quoted string including its quotes, for a YAML block collection from its
/// first key or `-` to the end of its last value. TOML tables have none.
pub fn span(format: Format, bytes: &[u8], pointer: &str) -> Result<Range<usize>, EditError> {
    let (bom, text) = text::split_bom(bytes)?;
    let root = parse(format, text)?;
    let node = tree::resolve(&root, pointer)?;
    match &node.span {
        Some(r) => Ok(r.start + bom.len()..r.end + bom.len()),
        None => Err(EditError::Unsupported {
            pointer: pointer.to_owned(),
            reason: "a TOML table has no single value span",
        }),
    }
}

fn parse(format: Format, text: &str) -> Result<Node, EditError> {
    let root = match format {
        Format::Json => json::parse(text)?,
        Format::Toml => toml::parse(text)?,
        Format::Yaml => yaml::parse(text)?,
    };
    if tree::spans_ok(&root, text) {
        Ok(root)
    } else {
        Err(unsupported_doc(
            format,
            "the parser reported positions out of order",
        ))
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Json => "JSON",
        Format::Toml => "TOML",
        Format::Yaml => "YAML",
    }
}

/// Re-parses the output and checks it holds exactly the original document
/// with the edits applied (a guard against splicing mistakes).
fn verify(format: Format, root: &Node, out: &str, edits: &[Edit]) -> Result<(), EditError> {
    let first = || {
        edits
            .first()
            .map(|e| e.pointer().to_owned())
            .unwrap_or_default()
    };
    let reparsed = parse(format, out).map_err(|_| EditError::Verify { pointer: first() })?;
    let ordered = format != Format::Toml;
    let mut expected = root.plain(ordered);
    for edit in edits {
        if !expected.apply(edit) {
            return Err(EditError::Verify {
                pointer: edit.pointer().to_owned(),
            });
        }
    }
    if !ordered {
        expected.sort_maps();
    }
    if reparsed.plain(ordered) == expected {
        Ok(())
    } else {
        Err(EditError::Verify { pointer: first() })
    }
}

/// Shared guard used by the format parsers for a key the editor cannot name.
fn unsupported_doc(format: Format, reason: &'static str) -> EditError {
    EditError::UnsupportedDocument {
        format: format_name(format),
        reason,
    }
}
