//! Selectors: pick one field out of a JSON secret.
//!
//! Two spellings: the dot path `a.b[0].c` that mcp-secret-wrapper users already
//! write, and the RFC 6901 JSON Pointer `/a/b/0` (escapes `~0` for `~`, `~1` for
//! `/`). Owns parsing, canonical display and applying a selector to a parsed
//! JSON document. Errors name keys and positions, never values.

use std::fmt;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A parsed selector; remembers which spelling it came from so it displays the same way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Selector {
    /// `a.b[0].c`
    DotPath(Vec<Segment>),
    /// `/a/b/0`: every segment is a key; digits index arrays.
    Pointer(Vec<String>),
}

/// A selector that does not parse; `position` is a byte offset into the selector text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    pub position: usize,
    pub message: String,
}

/// Why a selector found no usable value. Never holds a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error(
        "the secret is not JSON, so selector #{selector} cannot apply; remove the '#...' suffix to use the whole value"
    )]
    NotJson { selector: String },
    #[error("selector #{selector}: key {key:?} not found at {at}; available keys: {available}")]
    MissingKey {
        selector: String,
        key: String,
        at: String,
        available: String,
    },
    #[error("selector #{selector}: index {index} out of range at {at} (array of {len})")]
    BadIndex {
        selector: String,
        index: String,
        at: String,
        len: usize,
    },
    #[error("selector #{selector}: {at} is {found}, which has no field {key:?}")]
    NotContainer {
        selector: String,
        key: String,
        at: String,
        found: &'static str,
    },
    #[error("selector #{selector} selects {found}; it must select a string, number or bool{keys}")]
    NotScalar {
        selector: String,
        found: &'static str,
        keys: String,
    },
}

impl Selector {
    pub fn parse(text: &str) -> Result<Selector, SelectorError> {
        let err = |position: usize, message: &str| SelectorError {
            position,
            message: message.to_string(),
        };
        if text.is_empty() {
            return Err(err(
                0,
                "empty selector after '#'; write #key.sub or #/key/sub",
            ));
        }
        if let Some(rest) = text.strip_prefix('/') {
            let mut segs = Vec::new();
            let mut at = 1;
            for raw in rest.split('/') {
                let mut out = String::with_capacity(raw.len());
                let mut chars = raw.char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == '~' {
                        match chars.next() {
                            Some((_, '0')) => out.push('~'),
                            Some((_, '1')) => out.push('/'),
                            _ => {
                                return Err(err(
                                    at + i,
                                    "'~' must be followed by 0 or 1 in a JSON Pointer",
                                ));
                            }
                        }
                    } else {
                        out.push(c);
                    }
                }
                segs.push(out);
                at += raw.len() + 1;
            }
            return Ok(Selector::Pointer(segs));
        }
        let bytes = text.as_bytes();
        let mut segs = Vec::new();
        let mut i = 0;
        loop {
            // One part: an optional key, then any number of [N].
            let key_start = i;
            while i < bytes.len() && !matches!(bytes[i], b'.' | b'[' | b']') {
                i += 1;
            }
            let has_key = i > key_start;
            if has_key {
                segs.push(Segment::Key(text[key_start..i].to_string()));
            }
            let mut has_index = false;
            while i < bytes.len() && bytes[i] == b'[' {
                let num_start = i + 1;
                let mut j = num_start;
                while j < bytes.len() && bytes[j].is_ascii_digit() {
                    j += 1;
                }
                if j == num_start || j >= bytes.len() || bytes[j] != b']' {
                    return Err(err(i, "'[' must hold an array index like [0]"));
                }
                let n = text[num_start..j]
                    .parse::<usize>()
                    .map_err(|_| err(num_start, "array index too large"))?;
                segs.push(Segment::Index(n));
                has_index = true;
                i = j + 1;
            }
            if !has_key && !has_index {
                return Err(err(i, "empty path segment; write key.sub or key[0]"));
            }
            if i == bytes.len() {
                break;
            }
            if bytes[i] == b'.' {
                i += 1;
                if i == bytes.len() {
                    return Err(err(i - 1, "path ends with '.'"));
                }
            } else {
                return Err(err(i, "unexpected character; keys end at '.' or '['"));
            }
        }
        Ok(Selector::DotPath(segs))
    }

    /// Applies the selector and renders the selected scalar as env-var text.
    pub fn select_scalar(&self, doc: &Value) -> Result<String, SelectError> {
        let sel = self.to_string();
        let mut cur = doc;
        let mut at = String::from("the top level");
        let steps: Vec<Segment> = match self {
            Selector::DotPath(s) => s.clone(),
            Selector::Pointer(s) => s.iter().map(|k| Segment::Key(k.clone())).collect(),
        };
        let mut walked = String::new();
        for step in &steps {
            cur = match (step, cur) {
                (Segment::Key(k), Value::Object(map)) => match map.get(k) {
                    Some(v) => v,
                    None => {
                        return Err(SelectError::MissingKey {
                            selector: sel,
                            key: k.clone(),
                            at,
                            available: key_list(map),
                        });
                    }
                },
                (Segment::Key(k), Value::Array(arr)) if k.parse::<usize>().is_ok() => {
                    let n: usize = k.parse().unwrap_or(usize::MAX);
                    arr.get(n).ok_or_else(|| SelectError::BadIndex {
                        selector: sel.clone(),
                        index: k.clone(),
                        at: at.clone(),
                        len: arr.len(),
                    })?
                }
                (Segment::Index(n), Value::Array(arr)) => {
                    arr.get(*n).ok_or_else(|| SelectError::BadIndex {
                        selector: sel.clone(),
                        index: n.to_string(),
                        at: at.clone(),
                        len: arr.len(),
                    })?
                }
                (step, other) => {
                    return Err(SelectError::NotContainer {
                        selector: sel,
                        key: match step {
                            Segment::Key(k) => k.clone(),
                            Segment::Index(n) => format!("[{n}]"),
                        },
                        at,
                        found: kind(other),
                    });
                }
            };
            match step {
                Segment::Key(k) => {
                    if !walked.is_empty() {
                        walked.push('.');
                    }
                    walked.push_str(k);
                }
                Segment::Index(n) => walked.push_str(&format!("[{n}]")),
            }
            at = format!("'{walked}'");
        }
        match cur {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Object(map) => Err(SelectError::NotScalar {
                selector: sel,
                found: "an object",
                keys: format!("; its keys: {}", key_list(map)),
            }),
            other => Err(SelectError::NotScalar {
                selector: sel,
                found: kind(other),
                keys: String::new(),
            }),
        }
    }
}

fn key_list(map: &serde_json::Map<String, Value>) -> String {
    if map.is_empty() {
        "(none)".to_string()
    } else {
        map.keys()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::DotPath(segs) => {
                for (i, s) in segs.iter().enumerate() {
                    match s {
                        Segment::Key(k) => {
                            if i > 0 {
                                f.write_str(".")?;
                            }
                            f.write_str(k)?;
                        }
                        Segment::Index(n) => write!(f, "[{n}]")?,
                    }
                }
                Ok(())
            }
            Selector::Pointer(segs) => {
                for s in segs {
                    write!(f, "/{}", s.replace('~', "~0").replace('/', "~1"))?;
                }
                Ok(())
            }
        }
    }
}
