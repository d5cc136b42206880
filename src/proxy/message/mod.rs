//! Reading and writing the few parts of JSON-RPC messages the proxy needs.
//!
//! Owns the top-level scan ([`scan`]: `id`, `method`, `params`, `result`,
//! `error`, `tools/call` params, without validating nested values),
//! request-id keys, the proxy's own denial reply, the `tools/list` result
//! filter and batch (JSON array) splitting and joining. It must not decide
//! policy or write anything: it reads bytes and builds bytes. Everything it
//! does not name is kept as raw JSON text, so unknown fields, `_meta` and
//! future protocol versions survive a rewrite byte for byte (only the
//! rewritten object's own key spellings may be normalised, for example
//! `"\u0069d"` becomes `"id"`).

pub mod scan;

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, Visitor};
use serde_json::value::RawValue;

/// A string that borrows from the input when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

impl std::ops::Deref for CowStr<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// A request id as the JSON-RPC spec compares them: strings by value, numbers by value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdKey {
    Str(Box<str>),
    Num(Box<str>),
}

impl IdKey {
    /// The key of a string or number id (raw JSON text); `None` for `null`,
    /// other shapes and text that is not a valid string or number.
    pub fn of(raw: &[u8]) -> Option<Self> {
        match raw.first()? {
            b'"' => scan::string(raw).map(|s| IdKey::Str(s.into())),
            b'-' | b'0'..=b'9' => {
                let text = std::str::from_utf8(raw).ok()?;
                // the common case, a plain integer, is its own canonical spelling
                let plain = text.strip_prefix('-').unwrap_or(text);
                if !plain.is_empty()
                    && plain.bytes().all(|b| b.is_ascii_digit())
                    && (plain == "0" || !plain.starts_with('0'))
                    && text != "-0"
                {
                    return Some(IdKey::Num(text.into()));
                }
                serde_json::from_str::<serde_json::Number>(text)
                    .ok()
                    .map(|n| IdKey::Num(n.to_string().into()))
            }
            _ => None,
        }
    }
}

/// The elements of a batch, or `None` if `bytes` is not a JSON array.
pub fn split_batch(bytes: &[u8]) -> Option<Vec<&RawValue>> {
    serde_json::from_slice(bytes).ok()
}

/// Writes `[e1,e2,...]`.
pub fn join_batch<'a>(elems: impl IntoIterator<Item = &'a [u8]>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, e) in elems.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e);
    }
    out.push(b']');
}

/// JSON-RPC error code of the proxy's answer to a denied `tools/call`.
pub const DENIED_CODE: i64 = -32602;

/// Appends the proxy's error response to a denied `tools/call` (no newline).
pub fn write_denial(id: &[u8], tool: &str, out: &mut Vec<u8>) {
    let tool_json = serde_json::to_string(tool).unwrap_or_else(|_| "\"?\"".into());
    let message = format!("tool {tool_json} is denied by mcp-warden policy");
    let message_json = serde_json::to_string(&message).unwrap_or_else(|_| "\"denied\"".into());
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id);
    out.extend_from_slice(b",\"error\":{\"code\":");
    out.extend_from_slice(DENIED_CODE.to_string().as_bytes());
    out.extend_from_slice(b",\"message\":");
    out.extend_from_slice(message_json.as_bytes());
    out.extend_from_slice(b",\"data\":{\"tool\":");
    out.extend_from_slice(tool_json.as_bytes());
    out.extend_from_slice(b",\"deniedBy\":\"mcp-warden\"}}}");
}

/// An object's members in order, values kept raw.
struct Members<'a>(Vec<(CowStr<'a>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Members<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = map.next_key::<CowStr<'de>>()? {
                    v.push((k, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn write_object(members: &[(CowStr<'_>, &RawValue)], replace: (&str, &[u8]), out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (k, v)) in members.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let key = serde_json::to_string(&*k.0).unwrap_or_else(|_| "\"\"".into());
        out.extend_from_slice(key.as_bytes());
        out.push(b':');
        if &*k.0 == replace.0 {
            out.extend_from_slice(replace.1);
        } else {
            out.extend_from_slice(v.get().as_bytes());
        }
    }
    out.push(b'}');
}

#[derive(Deserialize)]
struct ToolName<'a> {
    #[serde(borrow)]
    name: CowStr<'a>,
}

/// Removes the tools `keep` rejects from a `tools/list` response. Writes the new
/// message (no newline) to `out` and returns the number removed; 0 means `out`
/// is untouched and the original must be forwarded. Every other field, including
/// `nextCursor` and `_meta`, is kept.
pub fn filter_tools_list(msg: &[u8], keep: &dyn Fn(&str) -> bool, out: &mut Vec<u8>) -> usize {
    let Ok(top) = serde_json::from_slice::<Members<'_>>(msg) else {
        return 0;
    };
    let Some((_, result)) = top.0.iter().find(|(k, _)| &*k.0 == "result") else {
        return 0;
    };
    let Ok(res) = serde_json::from_str::<Members<'_>>(result.get()) else {
        return 0;
    };
    let Some((_, tools)) = res.0.iter().find(|(k, _)| &*k.0 == "tools") else {
        return 0;
    };
    let Ok(list) = serde_json::from_str::<Vec<&RawValue>>(tools.get()) else {
        return 0;
    };
    let kept: Vec<&RawValue> = list
        .iter()
        .copied()
        .filter(|t| match serde_json::from_str::<ToolName<'_>>(t.get()) {
            Ok(n) => keep(&n.name),
            Err(_) => true,
        })
        .collect();
    let removed = list.len() - kept.len();
    if removed == 0 {
        return 0;
    }
    let mut tools_out = Vec::with_capacity(tools.get().len());
    join_batch(kept.iter().map(|t| t.get().as_bytes()), &mut tools_out);
    let mut result_out = Vec::with_capacity(result.get().len());
    write_object(&res.0, ("tools", &tools_out), &mut result_out);
    out.clear();
    write_object(&top.0, ("result", &result_out), out);
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_keys_compare_by_value() {
        let k = |s: &str| IdKey::of(s.as_bytes());
        assert_eq!(k("1"), k("1"));
        assert_ne!(k("1"), k("\"1\""));
        assert_eq!(k("\"a\\u0062\""), k("\"ab\""));
        assert_eq!(k("-0"), k("-0"));
        assert_eq!(k("1e2"), k("100.0"));
        assert_eq!(k("007"), None);
        assert_eq!(k("null"), None);
        assert_eq!(k("{}"), None);
    }

    #[test]
    fn denial_is_valid_json_with_the_id() {
        let mut out = Vec::new();
        write_denial(b"\"req-1\"", "rm \"-rf\"", &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["id"], "req-1");
        assert_eq!(v["error"]["code"], DENIED_CODE);
        assert!(
            v["error"]["message"]
                .as_str()
                .expect("msg")
                .contains("rm \\\"-rf\\\"")
        );
        assert!(
            v["error"]["message"]
                .as_str()
                .expect("msg")
                .contains("mcp-warden policy")
        );
    }

    #[test]
    fn tools_list_filter_keeps_everything_else() {
        let line = br#"{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"echo","inputSchema":{}},{"name":"delete","x":[1,{"y":"z"}]},{"name":"add"}],"nextCursor":"abc==","_meta":{"k":1}}}"#;
        let mut out = Vec::new();
        let n = filter_tools_list(line, &|n| n != "delete", &mut out);
        assert_eq!(n, 1);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid");
        assert_eq!(v["result"]["nextCursor"], "abc==");
        assert_eq!(v["result"]["_meta"]["k"], 1);
        assert_eq!(v["id"], 2);
        let names: Vec<_> = v["result"]["tools"]
            .as_array()
            .expect("arr")
            .iter()
            .map(|t| t["name"].clone())
            .collect();
        assert_eq!(names, vec!["echo", "add"]);
        let mut out2 = Vec::new();
        assert_eq!(filter_tools_list(line, &|_| true, &mut out2), 0);
        assert!(out2.is_empty());
    }

    #[test]
    fn batches_split_and_join() {
        let b = split_batch(br#"[{"a":1}, {"b":[2]}]"#).expect("array");
        let mut out = Vec::new();
        join_batch(b.iter().map(|e| e.get().as_bytes()), &mut out);
        assert_eq!(out, br#"[{"a":1},{"b":[2]}]"#);
        assert!(split_batch(b"{}").is_none());
    }
}
