//! The common document tree the three formats are parsed into (values with
//! their byte spans), pointer resolution, and the plain tree used to verify
//! an edited document.

use std::ops::Range;

use super::{Edit, EditError, Value};

/// How a string was written; a replacement keeps the style where it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StrStyle {
    /// `"..."` (JSON, TOML basic, YAML double-quoted).
    Double,
    /// `'...'` (TOML literal, YAML single-quoted).
    Single,
    /// YAML plain scalar.
    Plain,
    /// Anything else (TOML multi-line strings, YAML block scalars).
    Other,
}

/// How a mapping is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum MapLayout {
    /// `{ ... }` with comma separators (JSON object, TOML inline table, YAML flow mapping).
    Braced,
    /// One member per line, no separators (YAML block mapping, TOML table).
    Lines,
    /// A TOML table: members are its `key = value` lines.
    TomlTable {
        /// The `[header]` of a standard table.
        header: Option<Range<usize>>,
        /// Defined by dotted keys (`env.A = "b"`).
        dotted: bool,
        /// The document's top level (its keys come before any header).
        root: bool,
    },
}

/// How a sequence is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SeqLayout {
    /// `[ ... ]`.
    Bracketed,
    /// YAML `- item` lines.
    Block,
    /// TOML array of tables (navigation only).
    Tables,
}

#[derive(Debug)]
pub(super) struct Entry {
    pub key: String,
    pub key_span: Range<usize>,
    pub value: Node,
}

#[derive(Debug)]
pub(super) enum Kind {
    Str {
        value: String,
        style: StrStyle,
    },
    /// Numbers, booleans, null, dates: compared by their source text.
    Other {
        raw: String,
    },
    Seq {
        items: Vec<Node>,
        layout: SeqLayout,
    },
    Map {
        entries: Vec<Entry>,
        layout: MapLayout,
    },
    /// A YAML alias (`*name`).
    Alias,
}

#[derive(Debug)]
pub(super) struct Node {
    /// The value's bytes (quotes included); `None` for TOML tables.
    pub span: Option<Range<usize>>,
    pub kind: Kind,
    /// Why this node must not be replaced or edited inside, if so.
    pub refuse: Option<&'static str>,
    /// Inside a YAML flow collection (plain scalars may not hold `,[]{}`).
    pub in_flow: bool,
    /// The value of a YAML block mapping entry (`key: value`).
    pub parent_block: bool,
}

impl Node {
    pub fn new(span: Option<Range<usize>>, kind: Kind) -> Self {
        Self {
            span,
            kind,
            refuse: None,
            in_flow: false,
            parent_block: false,
        }
    }
}

/// Whether every span is on character boundaries of `text`, keys come
/// before their values, and members sit in order inside their container;
/// the planners slice between these offsets.
pub(super) fn spans_ok(node: &Node, text: &str) -> bool {
    let ok = |r: &Range<usize>| {
        r.start <= r.end && text.is_char_boundary(r.start) && text.is_char_boundary(r.end)
    };
    if let Some(r) = &node.span
        && !ok(r)
    {
        return false;
    }
    // (inner start bound, inner end bound) for children of a spanned container.
    let bracketed = matches!(
        node.kind,
        Kind::Seq {
            layout: SeqLayout::Bracketed,
            ..
        } | Kind::Map {
            layout: MapLayout::Braced,
            ..
        }
    );
    let inner = node.span.as_ref().map(|r| {
        if bracketed {
            (r.start + 1, r.end.saturating_sub(1))
        } else {
            (r.start, r.end)
        }
    });
    let mut at = inner.map_or(0, |i| i.0);
    match &node.kind {
        Kind::Map { entries, .. } => entries.iter().all(|e| {
            let key_ok = ok(&e.key_span);
            let value_ok = match &e.value.span {
                Some(v) => e.key_span.end <= v.start,
                None => true,
            };
            let in_order = match (inner, &e.value.span) {
                (Some((_, end)), Some(v)) => {
                    let fine = at <= e.key_span.start && v.end <= end;
                    at = v.end;
                    fine
                }
                _ => true,
            };
            key_ok && value_ok && in_order && spans_ok(&e.value, text)
        }),
        Kind::Seq { items, .. } => items.iter().all(|n| {
            let in_order = match (inner, &n.span) {
                (Some((_, end)), Some(r)) => {
                    let fine = at <= r.start && r.end <= end;
                    at = r.end;
                    fine
                }
                _ => true,
            };
            in_order && spans_ok(n, text)
        }),
        _ => true,
    }
}

/// Splits an RFC 6901 pointer into unescaped tokens.
pub(super) fn tokens(pointer: &str) -> Result<Vec<String>, EditError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let bad = || EditError::BadPointer {
        pointer: pointer.to_owned(),
    };
    let rest = pointer.strip_prefix('/').ok_or_else(bad)?;
    rest.split('/')
        .map(|t| {
            let mut out = String::with_capacity(t.len());
            let mut chars = t.chars();
            while let Some(c) = chars.next() {
                if c == '~' {
                    match chars.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(bad()),
                    }
                } else {
                    out.push(c);
                }
            }
            Ok(out)
        })
        .collect()
}

/// Escapes one pointer token.
pub(super) fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Finds the node at `pointer`, refusing duplicate keys and aliases on the way.
pub(super) fn resolve<'a>(root: &'a Node, pointer: &str) -> Result<&'a Node, EditError> {
    let mut node = root;
    for token in tokens(pointer)? {
        node = child(node, &token, pointer)?;
    }
    Ok(node)
}

fn child<'a>(node: &'a Node, token: &str, pointer: &str) -> Result<&'a Node, EditError> {
    if let Some(reason) = node.refuse {
        return Err(EditError::Unsupported {
            pointer: pointer.to_owned(),
            reason,
        });
    }
    let not_found = || EditError::NotFound {
        pointer: pointer.to_owned(),
    };
    match &node.kind {
        Kind::Map { entries, .. } => {
            let i = find_key(entries, token, pointer)?.ok_or_else(not_found)?;
            Ok(&entries[i].value)
        }
        Kind::Seq { items, .. } => {
            let valid = !token.is_empty()
                && token.bytes().all(|b| b.is_ascii_digit())
                && (token == "0" || !token.starts_with('0'));
            let i: usize = if valid {
                token.parse().map_err(|_| not_found())?
            } else {
                return Err(not_found());
            };
            items.get(i).ok_or_else(not_found)
        }
        Kind::Alias => Err(EditError::Unsupported {
            pointer: pointer.to_owned(),
            reason: "the path goes through a YAML alias",
        }),
        _ => Err(not_found()),
    }
}

/// Index of `key` in `entries`; a key given twice is refused.
pub(super) fn find_key(
    entries: &[Entry],
    key: &str,
    pointer: &str,
) -> Result<Option<usize>, EditError> {
    let mut found = None;
    for (i, e) in entries.iter().enumerate() {
        if e.key == key {
            if found.is_some() {
                return Err(EditError::Unsupported {
                    pointer: pointer.to_owned(),
                    reason: "the key appears more than once",
                });
            }
            found = Some(i);
        }
    }
    Ok(found)
}

/// Splits a pointer into its parent pointer and last token.
pub(super) fn split_last(pointer: &str) -> Result<(String, String), EditError> {
    let toks = tokens(pointer)?;
    let Some((last, parents)) = toks.split_last() else {
        return Err(EditError::WrongType {
            pointer: pointer.to_owned(),
            expected: "a member, not the document root",
        });
    };
    let parent: String = parents
        .iter()
        .map(|t| format!("/{}", escape_token(t)))
        .collect();
    Ok((parent, last.clone()))
}

/// A document without layout, for comparing an edited file with what it
/// should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plain {
    Str(String),
    Raw(String),
    Seq(Vec<Plain>),
    Map(Vec<(String, Plain)>),
    Alias,
}

impl Node {
    /// The plain tree. `ordered = false` sorts map keys (TOML tables are unordered).
    pub fn plain(&self, ordered: bool) -> Plain {
        let mut p = self.plain_inner();
        if !ordered {
            p.sort_maps();
        }
        p
    }

    fn plain_inner(&self) -> Plain {
        match &self.kind {
            Kind::Str { value, .. } => Plain::Str(value.clone()),
            Kind::Other { raw } => Plain::Raw(raw.clone()),
            Kind::Seq { items, .. } => Plain::Seq(items.iter().map(Node::plain_inner).collect()),
            Kind::Map { entries, .. } => Plain::Map(
                entries
                    .iter()
                    .map(|e| (e.key.clone(), e.value.plain_inner()))
                    .collect(),
            ),
            Kind::Alias => Plain::Alias,
        }
    }
}

impl Plain {
    pub fn sort_maps(&mut self) {
        match self {
            Plain::Seq(items) => items.iter_mut().for_each(Plain::sort_maps),
            Plain::Map(entries) => {
                entries.iter_mut().for_each(|(_, v)| v.sort_maps());
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            _ => {}
        }
    }

    fn from_value(value: &Value) -> Plain {
        match value {
            Value::String(s) => Plain::Str(s.clone()),
            Value::StringArray(v) => Plain::Seq(v.iter().cloned().map(Plain::Str).collect()),
            Value::Object(m) => Plain::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Plain::from_value(v)))
                    .collect(),
            ),
        }
    }

    fn at_mut(&mut self, pointer: &str) -> Option<&mut Plain> {
        let mut node = self;
        for token in tokens(pointer).ok()? {
            node = match node {
                Plain::Map(entries) => &mut entries.iter_mut().find(|(k, _)| *k == token)?.1,
                Plain::Seq(items) => items.get_mut(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// Applies one edit semantically; false if it cannot apply.
    pub fn apply(&mut self, edit: &Edit) -> bool {
        match edit {
            Edit::Set { pointer, value } => match self.at_mut(pointer) {
                Some(slot) => {
                    *slot = Plain::from_value(value);
                    true
                }
                None => false,
            },
            Edit::Remove { pointer } => {
                let Ok((parent, key)) = split_last(pointer) else {
                    return false;
                };
                match self.at_mut(&parent) {
                    Some(Plain::Map(entries)) => {
                        let before = entries.len();
                        entries.retain(|(k, _)| *k != key);
                        entries.len() + 1 == before
                    }
                    _ => false,
                }
            }
            Edit::Insert {
                pointer,
                key,
                value,
                before,
            } => match self.at_mut(pointer) {
                Some(Plain::Map(entries)) => {
                    let at = match before {
                        Some(b) => match entries.iter().position(|(k, _)| k == b) {
                            Some(i) => i,
                            None => return false,
                        },
                        None => entries.len(),
                    };
                    entries.insert(at, (key.clone(), Plain::from_value(value)));
                    true
                }
                _ => false,
            },
        }
    }
}
