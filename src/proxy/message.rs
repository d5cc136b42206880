//! Reading and writing the few parts of JSON-RPC messages the proxy needs.
//!
//! Owns zero-copy probes over one message (`id`, `method`, `params`, the
//! `result` fields `isError` / `resultType`, `error.code`), request-id keys,
//! the proxy's own denial reply, the `tools/list` result filter and batch
//! (JSON array) splitting and joining. It must not decide policy or write
//! anything: it reads bytes and builds bytes. Everything it does not name is
//! kept as raw JSON text, so unknown fields, `_meta` and future protocol
//! versions survive a rewrite byte for byte (only the rewritten object's own
//! key spellings may be normalised, for example `"\u0069d"` becomes `"id"`).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
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

/// The top level of one JSON-RPC message. `R` is how `result` is read:
/// [`ResultProbe`] for server messages, [`IgnoredAny`] for client messages.
/// Duplicate known keys and wrongly typed `method` make the whole parse fail,
/// which the client side treats as fail-closed when a policy is active.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a, R> {
    #[serde(borrow, default)]
    pub id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub method: Option<CowStr<'a>>,
    #[serde(borrow, default)]
    pub params: Option<&'a RawValue>,
    #[serde(default = "none")]
    pub result: Option<R>,
    #[serde(borrow, default)]
    pub error: Option<ErrorProbe<'a>>,
}

fn none<R>() -> Option<R> {
    None
}

/// What the audit needs from a result: `isError` and `resultType`. Any shape is accepted.
#[derive(Debug, Default)]
pub struct ResultProbe<'a> {
    pub is_error: bool,
    pub result_type: Option<CowStr<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for ResultProbe<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResultProbe<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut probe = ResultProbe::default();
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    match &*key {
                        "isError" => {
                            let raw: &'de RawValue = map.next_value()?;
                            probe.is_error = raw.get() == "true";
                        }
                        "resultType" => {
                            let raw: &'de RawValue = map.next_value()?;
                            probe.result_type = serde_json::from_str::<CowStr<'de>>(raw.get()).ok();
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(probe)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ResultProbe::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ResultProbe::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ResultProbe::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ResultProbe::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ResultProbe::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ResultProbe::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ResultProbe::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// `error.code` as raw JSON, if the error is an object with a code.
#[derive(Debug, Default)]
pub struct ErrorProbe<'a> {
    pub code: Option<&'a RawValue>,
}

impl ErrorProbe<'_> {
    /// The code as an integer, if it is one.
    pub fn code(&self) -> Option<i64> {
        self.code.and_then(|c| c.get().parse().ok())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ErrorProbe<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ErrorProbe<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut probe = ErrorProbe::default();
                while let Some(key) = map.next_key::<CowStr<'de>>()? {
                    if &*key == "code" {
                        probe.code = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(probe)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(ErrorProbe::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ErrorProbe::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ErrorProbe::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ErrorProbe::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ErrorProbe::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ErrorProbe::default())
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(ErrorProbe::default())
            }
        }
        d.deserialize_any(V)
    }
}

/// `tools/call` params. Strict: a duplicate or non-string `name` fails the parse.
#[derive(Debug, Deserialize)]
pub struct CallParams<'a> {
    #[serde(borrow)]
    pub name: CowStr<'a>,
    #[serde(borrow, default)]
    pub arguments: Option<&'a RawValue>,
}

/// `notifications/cancelled` params.
#[derive(Debug, Deserialize)]
pub struct CancelParams<'a> {
    #[serde(borrow, default, rename = "requestId")]
    pub request_id: Option<&'a RawValue>,
}

/// A request id as the JSON-RPC spec compares them: strings by value, numbers by value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum IdKey {
    Str(Box<str>),
    Num(Box<str>),
}

impl IdKey {
    /// The key of a string or number id; `None` for `null` and other shapes.
    pub fn of(raw: &RawValue) -> Option<Self> {
        let t = raw.get();
        match t.as_bytes().first()? {
            b'"' => serde_json::from_str::<CowStr<'_>>(t)
                .ok()
                .map(|s| IdKey::Str(s.0.into())),
            b'-' | b'0'..=b'9' => serde_json::from_str::<serde_json::Number>(t)
                .ok()
                .map(|n| IdKey::Num(n.to_string().into())),
            _ => None,
        }
    }
}

/// Parses one message. `None` if it is not a JSON object of the expected shape.
pub fn parse<'a, R: Deserialize<'a>>(bytes: &'a [u8]) -> Option<Envelope<'a, R>> {
    serde_json::from_slice(bytes).ok()
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
pub fn write_denial(id: &RawValue, tool: &str, out: &mut Vec<u8>) {
    let tool_json = serde_json::to_string(tool).unwrap_or_else(|_| "\"?\"".into());
    let message = format!("tool {tool_json} is denied by mcp-warden policy");
    let message_json = serde_json::to_string(&message).unwrap_or_else(|_| "\"denied\"".into());
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.get().as_bytes());
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
    fn envelope_borrows_and_probes() {
        let line = br#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"type":"text","text":"x"}],"isError":true,"resultType":"complete"}}"#;
        let env: Envelope<'_, ResultProbe<'_>> = parse(line).expect("parses");
        assert_eq!(env.id.map(|i| i.get()), Some("7"));
        let r = env.result.expect("result");
        assert!(r.is_error);
        assert_eq!(r.result_type.as_deref(), Some("complete"));
        assert!(env.method.is_none());
    }

    #[test]
    fn odd_results_and_errors_are_tolerated() {
        for line in [
            &br#"{"id":1,"result":null}"#[..],
            br#"{"id":1,"result":[1,2]}"#,
            br#"{"id":1,"result":"s"}"#,
            br#"{"id":1,"error":{"code":-32601,"message":"x","data":{"a":[1]}}}"#,
            br#"{"id":1,"error":"weird"}"#,
        ] {
            let env: Envelope<'_, ResultProbe<'_>> = parse(line).expect("parses");
            if let Some(e) = env.error {
                let _ = e.code();
            }
        }
        let env: Envelope<'_, ResultProbe<'_>> =
            parse(br#"{"id":1,"error":{"code":-32601}}"#).expect("parses");
        assert_eq!(env.error.and_then(|e| e.code()), Some(-32601));
    }

    #[test]
    fn duplicate_method_fails() {
        assert!(parse::<IgnoredAny>(br#"{"method":"a","method":"tools/call","id":1}"#).is_none());
        assert!(serde_json::from_str::<CallParams<'_>>(r#"{"name":"a","name":"b"}"#).is_err());
    }

    #[test]
    fn escaped_method_is_decoded() {
        let env: Envelope<'_, IgnoredAny> =
            parse(br#"{"method":"tools\/c\u0061ll","id":1}"#).expect("parses");
        assert_eq!(env.method.as_deref(), Some("tools/call"));
    }

    #[test]
    fn id_keys_compare_by_value() {
        let k = |s: &str| IdKey::of(&RawValue::from_string(s.into()).expect("raw"));
        assert_eq!(k("1"), k("1"));
        assert_ne!(k("1"), k("\"1\""));
        assert_eq!(k("\"a\\u0062\""), k("\"ab\""));
        assert_eq!(k("null"), None);
        assert_eq!(k("{}"), None);
    }

    #[test]
    fn denial_is_valid_json_with_the_id() {
        let id = RawValue::from_string("\"req-1\"".into()).expect("raw");
        let mut out = Vec::new();
        write_denial(&id, "rm \"-rf\"", &mut out);
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
