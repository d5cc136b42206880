//! JSON objects inside a value (`OPENAPI_MCP_HEADERS={"Authorization": ...}`,
//! `--headers '{"X-Api-Key": ...}'`, an inline OAuth client JSON): every
//! string member is judged by its own key, like a header.

use serde_json::Value;

use super::{Field, Hit, value};

/// Nesting depth walked; deeper members are left to the typed rules.
const MAX_DEPTH: usize = 8;

/// Hits in the string members of `text` if it is a JSON object; ranges are
/// into `text`. Members whose raw form differs from their value (escapes)
/// are skipped: typed rules still see the raw text.
pub(super) fn scan(text: &str) -> Vec<Hit> {
    if !text.trim_start().starts_with('{') {
        return Vec::new();
    }
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    walk(&v, None, text, 0, &mut hits);
    hits
}

fn walk(v: &Value, key: Option<&str>, text: &str, depth: usize, hits: &mut Vec<Hit>) {
    if depth > MAX_DEPTH {
        return;
    }
    match v {
        Value::Object(map) => {
            for (k, member) in map {
                walk(member, Some(k), text, depth + 1, hits);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, key, text, depth + 1, hits);
            }
        }
        Value::String(s) => {
            let Some(k) = key else { return };
            let Some(at) = locate(text, k, s) else { return };
            hits.extend(
                value::scan(Field::Header { name: k }, s)
                    .into_iter()
                    .map(|h| value::shift(h, at)),
            );
        }
        _ => {}
    }
}

/// Byte offset of the string value `s` of member `k` in the raw text, when
/// both are written without escapes.
fn locate(text: &str, k: &str, s: &str) -> Option<usize> {
    let key = format!("\"{k}\"");
    let mut from = 0;
    while let Some(i) = text[from..].find(&key) {
        let after = from + i + key.len();
        let rest = &text[after..];
        let colon = rest.len() - rest.trim_start().len();
        let rest2 = rest[colon..].strip_prefix(':')?;
        let ws = rest2.len() - rest2.trim_start().len();
        let value_at = after + colon + 1 + ws;
        let quoted = format!("\"{s}\"");
        if text[value_at..].starts_with(&quoted) {
            return Some(value_at + 1);
        }
        from = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_judged_by_key() {
        let t =
            r#"{"Authorization": "Bearer Zk3pQ9vX2mLr8TfWq4HnB7", "Notion-Version": "2022-06-28"}"#;
        let hits = scan(t);
        assert_eq!(hits.len(), 1);
        assert_eq!(&t[hits[0].range.clone()], "Zk3pQ9vX2mLr8TfWq4HnB7");
        let t = r#"{"installed": {"client_id": "x.apps.googleusercontent.com", "client_secret": "Zk3pQ9vX2mLr8TfWq4HnB7"}}"#;
        let hits = scan(t);
        assert_eq!(hits.len(), 1);
        assert_eq!(&t[hits[0].range.clone()], "Zk3pQ9vX2mLr8TfWq4HnB7");
        assert!(scan(r#"{"Authorization": "Bearer ${TOKEN}"}"#).is_empty());
        assert!(scan("{not json").is_empty());
        assert!(scan("plain").is_empty());
    }
}
