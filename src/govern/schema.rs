//! Typed, located reads of a parsed TOML document (`toml_edit::Document`).
//!
//! Owns turning spans into `file:line:col`, refusing unknown keys by name, and
//! reading strings, booleans, string lists and string maps with errors that
//! name the key and never echo its value (a pasted token must not reach a
//! terminal or a log through an error message). Must not know the schema.

use std::path::Path;

use toml_edit::{Item, TableLike, Value};

use super::GovernError;

/// One entry of a table of string lists: the key and its strings.
pub type NamedList = (String, Vec<String>);
/// One parsed file: its path and text, for positions.
pub(crate) struct Src<'a> {
    pub file: &'a Path,
    pub text: &'a str,
}

impl Src<'_> {
    /// 1-based line and column of a byte offset.
    pub fn pos(&self, offset: usize) -> (usize, usize) {
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    pub fn err(&self, span: Option<std::ops::Range<usize>>, msg: impl Into<String>) -> GovernError {
        GovernError::At {
            file: self.file.to_path_buf(),
            pos: span.map(|s| self.pos(s.start)),
            msg: msg.into(),
        }
    }

    /// The position of `key` in `table` (the key itself, else its value, else the table).
    pub fn key_span(&self, table: &dyn TableLike, key: &str) -> Option<std::ops::Range<usize>> {
        table
            .key(key)
            .and_then(|k| k.span())
            .or_else(|| table.get(key).and_then(Item::span))
    }

    /// 1-based line of `key` in `table`, or 0 when unknown.
    pub fn key_line(&self, table: &dyn TableLike, key: &str) -> usize {
        self.key_span(table, key).map_or(0, |s| self.pos(s.start).0)
    }

    /// Parses `text` into a spanned document; a syntax error is located.
    pub fn parse(&self) -> Result<toml_edit::Document<&str>, GovernError> {
        toml_edit::Document::parse(self.text)
            .map_err(|e| self.err(e.span(), format!("invalid TOML: {}", e.message())))
    }
}

/// A table's keys, checked against the allowed ones.
pub(crate) struct Table<'s, 'a> {
    pub src: &'s Src<'a>,
    pub table: &'s dyn TableLike,
    /// How the table is named in messages, e.g. `[servers.github]`.
    pub name: String,
}

impl<'s, 'a> Table<'s, 'a> {
    pub fn new(src: &'s Src<'a>, table: &'s dyn TableLike, name: impl Into<String>) -> Self {
        Self {
            src,
            table,
            name: name.into(),
        }
    }

    /// Refuses the first key not in `allowed`; `why` explains keys that are
    /// known elsewhere but not allowed here (e.g. `command` in a project file).
    pub fn only(
        &self,
        allowed: &[&str],
        why: impl Fn(&str) -> Option<String>,
    ) -> Result<(), GovernError> {
        for (k, _) in self.table.iter() {
            if allowed.contains(&k) {
                continue;
            }
            let msg = why(k).unwrap_or_else(|| {
                format!(
                    "unknown key `{k}` in {} (known keys: {})",
                    self.name,
                    allowed.join(", ")
                )
            });
            return Err(self.src.err(self.src.key_span(self.table, k), msg));
        }
        Ok(())
    }

    pub fn err(&self, key: &str, msg: impl Into<String>) -> GovernError {
        self.src.err(self.src.key_span(self.table, key), msg.into())
    }

    fn value(&self, key: &str, expect: &str) -> Result<Option<&'s Value>, GovernError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(Item::Value(v)) => Ok(Some(v)),
            Some(_) => Err(self.err(key, format!("`{key}` in {} must be {expect}", self.name))),
        }
    }

    pub fn str(&self, key: &str) -> Result<Option<String>, GovernError> {
        match self.value(key, "a string")? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.value().clone())),
            Some(_) => Err(self.err(key, format!("`{key}` in {} must be a string", self.name))),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, GovernError> {
        match self.value(key, "true or false")? {
            None => Ok(None),
            Some(Value::Boolean(b)) => Ok(Some(*b.value())),
            Some(_) => Err(self.err(
                key,
                format!("`{key}` in {} must be true or false", self.name),
            )),
        }
    }

    pub fn str_list(&self, key: &str) -> Result<Option<Vec<String>>, GovernError> {
        let bad = || {
            self.err(
                key,
                format!("`{key}` in {} must be a list of strings", self.name),
            )
        };
        match self.value(key, "a list of strings")? {
            None => Ok(None),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(bad()),
        }
    }

    /// A table of strings (inline or not), in file order.
    pub fn str_map(&self, key: &str) -> Result<Option<Vec<(String, String)>>, GovernError> {
        let Some(item) = self.table.get(key) else {
            return Ok(None);
        };
        let Some(t) = item.as_table_like() else {
            return Err(self.err(
                key,
                format!("`{key}` in {} must be a table of strings", self.name),
            ));
        };
        let mut out = Vec::new();
        for (k, v) in t.iter() {
            match v.as_str() {
                Some(s) => out.push((k.to_string(), s.to_string())),
                None => {
                    return Err(self.src.err(
                        self.src.key_span(t, k),
                        format!(
                            "`{key}.{k}` in {} must be a string (a secret reference)",
                            self.name
                        ),
                    ));
                }
            }
        }
        Ok(Some(out))
    }

    /// A table whose values are lists of strings (a single string is a
    /// one-element list), in file order.
    pub fn list_map(&self, key: &str) -> Result<Option<Vec<NamedList>>, GovernError> {
        let Some(t) = self.table(key)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (k, v) in t.iter() {
            let list = match v.as_value() {
                Some(Value::String(s)) => Some(vec![s.value().clone()]),
                Some(Value::Array(a)) => a.iter().map(|x| x.as_str().map(str::to_string)).collect(),
                _ => None,
            };
            let Some(list) = list else {
                return Err(self.src.err(
                    self.src.key_span(t, k),
                    format!("`{key}.{k}` in {} must be a list of strings", self.name),
                ));
            };
            out.push((k.to_string(), list));
        }
        Ok(Some(out))
    }

    /// A sub-table (header or inline).
    pub fn table(&self, key: &str) -> Result<Option<&'s dyn TableLike>, GovernError> {
        match self.table.get(key) {
            None => Ok(None),
            Some(item) => item
                .as_table_like()
                .map(Some)
                .ok_or_else(|| self.err(key, format!("`{key}` in {} must be a table", self.name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let src = Src {
            file: Path::new("f.toml"),
            text: "a = 1\n  b = 2\n",
        };
        assert_eq!(src.pos(0), (1, 1));
        assert_eq!(src.pos(8), (2, 3));
    }
}
