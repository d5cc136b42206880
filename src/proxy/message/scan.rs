//! Reading the members of a JSON object without validating nested values.
//!
//! Owns [`top`] (the members of one JSON-RPC message the guard reads: `id`,
//! `method`, `params`, `result`, `error`) and [`members`], the walk both use.
//! Values are skipped, not parsed: strings by searching for the next quote or
//! backslash, nested objects and arrays by counting brackets outside strings,
//! so a megabyte of tool result costs a `memchr` pass. Keys are decoded
//! (`"\u0069d"` is `id`); a known key that appears twice, or a `method` that
//! is not a string, makes the message unreadable, as it does for a strict
//! parser. It must not decide anything: callers that need the whole message
//! validated (a tool policy fails closed) validate it themselves.

use std::borrow::Cow;

use memchr::memchr2;

/// The top-level members of one JSON-RPC message, as raw JSON text.
#[derive(Debug, Default, Clone)]
pub struct Top<'a> {
    pub id: Option<&'a [u8]>,
    pub method: Option<Cow<'a, str>>,
    pub params: Option<&'a [u8]>,
    pub result: Option<&'a [u8]>,
    pub error: Option<&'a [u8]>,
}

/// Reads `msg` (an object, surrounding whitespace allowed). `None` when it is
/// not an object, is cut short, repeats a known key or has a non-string `method`.
pub fn top(msg: &[u8]) -> Option<Top<'_>> {
    let mut t = Top::default();
    let mut method: Option<&[u8]> = None;
    let mut ok = true;
    members(msg, |key, value| {
        let slot = match key {
            b"id" => &mut t.id,
            b"method" => &mut method,
            b"params" => &mut t.params,
            b"result" => &mut t.result,
            b"error" => &mut t.error,
            _ => return true,
        };
        if slot.is_some() {
            ok = false;
            return false;
        }
        *slot = Some(value);
        true
    })?;
    if !ok {
        return None;
    }
    if let Some(m) = method {
        t.method = Some(string(m)?);
    }
    Some(t)
}

/// `tools/call` params: `name` (a string, required) and `arguments` (raw).
#[derive(Debug)]
pub struct Call<'a> {
    pub name: Cow<'a, str>,
    pub arguments: Option<&'a [u8]>,
}

/// Reads `tools/call` params; `None` if they are not an object with one string
/// `name` and at most one `arguments`.
pub fn call(params: &[u8]) -> Option<Call<'_>> {
    let mut name: Option<&[u8]> = None;
    let mut arguments: Option<&[u8]> = None;
    let mut ok = true;
    members(params, |key, value| {
        let slot = match key {
            b"name" => &mut name,
            b"arguments" => &mut arguments,
            _ => return true,
        };
        if slot.is_some() {
            ok = false;
            return false;
        }
        *slot = Some(value);
        true
    })?;
    if !ok {
        return None;
    }
    Some(Call {
        name: string(name?)?,
        arguments,
    })
}

/// The raw value of member `want` of the object `obj`, if `obj` is an object
/// that has it (the first one).
pub fn member<'a>(obj: &'a [u8], want: &str) -> Option<&'a [u8]> {
    let mut found = None;
    members(obj, |key, value| {
        if key == want.as_bytes() {
            found = Some(value);
            return false;
        }
        true
    })?;
    found
}

/// Decodes a JSON string token (with its quotes); `None` if `raw` is not one.
pub fn string(raw: &[u8]) -> Option<Cow<'_, str>> {
    let inner = raw.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') && !inner.iter().any(|&b| b < 0x20) {
        return std::str::from_utf8(inner).ok().map(Cow::Borrowed);
    }
    serde_json::from_slice::<String>(raw).ok().map(Cow::Owned)
}

/// Calls `f(key, raw value)` for each member of the object `obj` until `f`
/// returns false; the key is decoded (its bytes as they are when it holds no
/// escape, the common case, so nothing is allocated). `None` if `obj` is not
/// a (complete) object.
pub fn members<'a>(obj: &'a [u8], mut f: impl FnMut(&[u8], &'a [u8]) -> bool) -> Option<()> {
    let mut i = ws(obj, 0);
    if obj.get(i) != Some(&b'{') {
        return None;
    }
    i = ws(obj, i + 1);
    if obj.get(i) == Some(&b'}') {
        return trailing(obj, i + 1);
    }
    loop {
        if obj.get(i) != Some(&b'"') {
            return None;
        }
        let kend = skip_string(obj, i)?;
        let raw = &obj[i + 1..kend - 1];
        let decoded;
        let key: &[u8] = if raw.iter().any(|&b| b == b'\\' || b < 0x20) {
            decoded = string(&obj[i..kend])?;
            decoded.as_bytes()
        } else {
            raw
        };
        i = ws(obj, kend);
        if obj.get(i) != Some(&b':') {
            return None;
        }
        i = ws(obj, i + 1);
        let vend = skip_value(obj, i)?;
        if !f(key, &obj[i..vend]) {
            return Some(());
        }
        i = ws(obj, vend);
        match obj.get(i) {
            Some(b',') => i = ws(obj, i + 1),
            Some(b'}') => return trailing(obj, i + 1),
            _ => return None,
        }
    }
}

fn trailing(obj: &[u8], i: usize) -> Option<()> {
    (ws(obj, i) == obj.len()).then_some(())
}

fn ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// The end (after the closing quote) of the string starting at `i`.
fn skip_string(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr2(b'"', b'\\', s.get(j..)?)?;
        if s[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
    }
}

/// The end of the value starting at `i`.
fn skip_value(s: &[u8], i: usize) -> Option<usize> {
    match *s.get(i)? {
        b'"' => skip_string(s, i),
        b'{' | b'[' => skip_nested(s, i),
        _ => {
            let end = s[i..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n'))
                .map_or(s.len(), |p| i + p);
            (end > i).then_some(end)
        }
    }
}

/// The end of the object or array starting at `i` (brackets counted outside strings).
fn skip_nested(s: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < s.len() {
        match s[j] {
            b'"' => {
                j = skip_string(s, j)?;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            _ => {}
        }
        j += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_the_top_level_only() {
        let m = br#" {"jsonrpc":"2.0","id":7,"method":"tools\/c\u0061ll","params":{"name":"echo","arguments":{"id":1,"s":"}\"{"}}} "#;
        let t = top(m).expect("object");
        assert_eq!(t.id, Some(&b"7"[..]));
        assert_eq!(t.method.as_deref(), Some("tools/call"));
        let c = call(t.params.expect("params")).expect("call");
        assert_eq!(c.name, "echo");
        assert_eq!(c.arguments, Some(&br#"{"id":1,"s":"}\"{"}"#[..]));
    }

    #[test]
    fn malformed_and_duplicates() {
        for bad in [
            &b"[1]"[..],
            b"{\"id\":1",
            b"{\"id\":1,\"id\":2}",
            b"{\"\\u0069d\":1,\"id\":2}",
            b"{\"method\":5}",
            b"{\"id\":}",
            b"{\"a\":\"unterminated}",
            b"{\"a\":1} x",
        ] {
            assert!(top(bad).is_none(), "{}", String::from_utf8_lossy(bad));
        }
        assert!(call(br#"{"name":"a","name":"b"}"#).is_none());
        assert!(call(br#"{"name":1}"#).is_none());
        assert!(call(br#"{"arguments":{}}"#).is_none());
        assert_eq!(
            member(br#"{"isError":true}"#, "isError"),
            Some(&b"true"[..])
        );
        assert_eq!(top(b"{}").map(|t| t.id.is_none()), Some(true));
    }

    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "[ -~é\"\\\\{}\\[\\]\n]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("[a-z\"]{0,4}", inner, 0..5)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// On valid messages the scanner reads what a strict parser reads.
        #[test]
        fn agrees_with_serde(id in arb_json(), params in arb_json(), method in "[a-z/]{1,10}",
                             pretty in any::<bool>()) {
            let msg = serde_json::json!({"jsonrpc":"2.0","id":id,"method":method,"params":params});
            let text = if pretty { serde_json::to_vec_pretty(&msg) } else { serde_json::to_vec(&msg) }
                .expect("json");
            let t = top(&text).expect("reads");
            let back: serde_json::Value = serde_json::from_slice(t.id.expect("id")).expect("id");
            prop_assert_eq!(back, id);
            let back: serde_json::Value = serde_json::from_slice(t.params.expect("p")).expect("p");
            prop_assert_eq!(back, params);
            prop_assert_eq!(t.method.as_deref(), Some(method.as_str()));
        }
    }
}
