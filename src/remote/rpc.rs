//! What the bridge reads of a JSON-RPC message, and the lines it writes itself.
//!
//! Owns the shallow read of a client or server message (request ids, method,
//! the name the 2026-07-28 era puts in `Mcp-Name`, the era the client speaks),
//! the error reply for a request the bridge could not carry, and putting a
//! server's (possibly pretty-printed) JSON on one line. Must not do I/O or
//! change what a message means: the original bytes are forwarded.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// JSON-RPC "internal error": the bridge could not deliver the request or its answer.
pub const TRANSPORT_ERROR: i64 = -32603;

#[derive(Deserialize)]
struct Top<'a> {
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Params<'a> {
    #[serde(default)]
    name: Option<Cow<'a, str>>,
    #[serde(default)]
    uri: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "requestId")]
    request_id: Option<&'a RawValue>,
    #[serde(borrow, default, rename = "_meta")]
    meta: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct Meta<'a> {
    #[serde(default, borrow, rename = "io.modelcontextprotocol/protocolVersion")]
    version: Option<Cow<'a, str>>,
}

/// One message (of a line, or of a batch).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Msg {
    /// The id as written (compact JSON), for requests and responses.
    pub id: Option<String>,
    pub method: Option<String>,
    /// `params.name` (tools, prompts) or `params.uri` (resources).
    pub name: Option<String>,
    /// `params.requestId` of `notifications/cancelled`.
    pub cancels: Option<String>,
    /// `_meta["io.modelcontextprotocol/protocolVersion"]`: the stateless era.
    pub stateless_version: Option<String>,
}

impl Msg {
    /// A request: it has a method and an id, and waits for a response.
    pub fn is_request(&self) -> bool {
        self.method.is_some() && self.id.is_some()
    }

    /// A response (no method, an id).
    pub fn is_response(&self) -> bool {
        self.method.is_none() && self.id.is_some()
    }
}

fn one(raw: &[u8]) -> Option<Msg> {
    let top: Top<'_> = serde_json::from_slice(raw).ok()?;
    let params: Params<'_> = top
        .params
        .and_then(|p| serde_json::from_str(p.get()).ok())
        .unwrap_or_default();
    let meta: Meta<'_> = params
        .meta
        .and_then(|m| serde_json::from_str(m.get()).ok())
        .unwrap_or_default();
    Some(Msg {
        id: top.id.map(|i| i.get().to_string()).filter(|i| i != "null"),
        method: top.method.map(Cow::into_owned),
        name: params.name.or(params.uri).map(Cow::into_owned),
        cancels: params.request_id.map(|r| r.get().to_string()),
        stateless_version: meta.version.map(Cow::into_owned),
    })
}

/// The messages of one line: one, or each element of a batch. Empty when the
/// line is not JSON-RPC (it is still forwarded).
pub fn read(line: &[u8]) -> Vec<Msg> {
    let body = line.trim_ascii();
    if body.first() == Some(&b'[') {
        let Ok(elems) = serde_json::from_slice::<Vec<&RawValue>>(body) else {
            return Vec::new();
        };
        elems
            .iter()
            .filter_map(|e| one(e.get().as_bytes()))
            .collect()
    } else {
        one(body).into_iter().collect()
    }
}

/// The error response for request `id` (its JSON as written), with newline.
pub fn error_reply(id: &str, message: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(id.len() + message.len() + 64);
    out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    out.extend_from_slice(id.as_bytes());
    out.extend_from_slice(b",\"error\":{\"code\":");
    out.extend_from_slice(TRANSPORT_ERROR.to_string().as_bytes());
    out.extend_from_slice(b",\"message\":");
    // serializing a &str into a Vec cannot fail
    let _ = serde_json::to_writer(&mut out, message);
    out.extend_from_slice(b"}}\n");
    out
}

/// [`one_line`] for a message we own: a message already on one line is
/// trimmed in place rather than copied (an answer may be megabytes).
pub fn into_one_line(mut json: Vec<u8>) -> Vec<u8> {
    let start = json
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(json.len());
    let end = json
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |i| i + 1);
    if json[start..end].iter().any(|&b| b == b'\n' || b == b'\r') {
        return one_line(&json).into_owned();
    }
    json.truncate(end);
    json.drain(..start);
    json
}

/// `json` on one line: whitespace outside strings removed when (and only
/// when) it holds a line break; string contents are never touched.
pub fn one_line(json: &[u8]) -> Cow<'_, [u8]> {
    let json = json.trim_ascii();
    if !json.iter().any(|&b| b == b'\n' || b == b'\r') {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for &b in json {
        if in_string {
            out.push(b);
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !b.is_ascii_whitespace() {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_requests_batches_and_eras() {
        let m = read(br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}"#);
        assert_eq!(m.len(), 1);
        assert!(m[0].is_request());
        assert_eq!(m[0].id.as_deref(), Some("7"));
        assert_eq!(m[0].name.as_deref(), Some("echo"));
        assert_eq!(m[0].stateless_version.as_deref(), Some("2026-07-28"));
        let b = read(
            br#"[{"jsonrpc":"2.0","id":"a","result":{}},{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"x"}}]"#,
        );
        assert!(b[0].is_response());
        assert_eq!(b[1].cancels.as_deref(), Some("\"x\""));
        assert!(read(b"not json").is_empty());
    }

    #[test]
    fn error_reply_and_one_line() {
        let r = error_reply("\"q\"", "the \"server\" is gone");
        let v: serde_json::Value = serde_json::from_slice(&r).unwrap();
        assert_eq!(v["id"], "q");
        assert_eq!(v["error"]["code"], TRANSPORT_ERROR);
        assert!(r.ends_with(b"}\n"));
        assert_eq!(
            &*one_line(b"{\n  \"a\": \"x \\\" \\n y\",\n  \"b\": [1, 2]\n}\n"),
            br#"{"a":"x \" \n y","b":[1,2]}"#
        );
        assert!(matches!(one_line(b"{\"a\": 1}"), Cow::Borrowed(_)));
        assert_eq!(into_one_line(b"  {\"a\": 1}\r\n".to_vec()), b"{\"a\": 1}");
        assert_eq!(into_one_line(b"{\"a\":\n 1}\n".to_vec()), b"{\"a\":1}");
        assert_eq!(into_one_line(b" \n ".to_vec()), b"");
    }
}
