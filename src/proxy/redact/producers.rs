//! Test-only: how real producers spell a string, written from their
//! documented behaviour, and an independent leak oracle.
//!
//! Owns the escaping styles of the JSON encoders MCP servers are written with
//! (serde_json and Node's `JSON.stringify`: minimal; Python's `json.dumps`:
//! `ensure_ascii`; Go's `encoding/json`: HTML-safe `\u003c \u003e \u0026` and
//! `\u2028`; Gson: HTML-safe plus `\u003d \u0027`; Jackson with
//! `ESCAPE_NON_ASCII`: upper-case hex; PHP: `\/`; and an adversarial producer
//! that escapes arbitrary characters), the base64 / URL / hex styles of their
//! standard libraries, and [`leaks`], which looks for a value in output by
//! decoding it every way a reader could, without using the redactor's code.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// A JSON string encoder's escaping style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Json {
    /// serde_json, Node `JSON.stringify`, Python `ensure_ascii=False`.
    Minimal,
    /// Python `json.dumps` (default `ensure_ascii=True`).
    PythonAscii,
    /// Go `encoding/json` `Marshal` (HTML escaping on), Go 1.19 control escapes.
    Go,
    /// Gson's default (HTML-safe).
    Gson,
    /// Jackson with `ESCAPE_NON_ASCII`.
    JacksonAscii,
    /// PHP `json_encode` (escapes `/`).
    Php,
    /// A producer that writes characters chosen by `seed` as `\uXXXX` in either case.
    Arbitrary(u64),
}

pub const JSON_STYLES: [Json; 7] = [
    Json::Minimal,
    Json::PythonAscii,
    Json::Go,
    Json::Gson,
    Json::JacksonAscii,
    Json::Php,
    Json::Arbitrary(7),
];

fn u_escape(out: &mut String, c: char, upper: bool) {
    let mut buf = [0u16; 2];
    for u in c.encode_utf16(&mut buf) {
        if upper {
            out.push_str(&format!("\\u{u:04X}"));
        } else {
            out.push_str(&format!("\\u{u:04x}"));
        }
    }
}

/// `s` as a JSON string literal (with quotes) in `style`.
pub fn json_string(s: &str, style: Json) -> String {
    let mut out = String::from("\"");
    let mut rng = match style {
        Json::Arbitrary(seed) => seed | 1,
        _ => 0,
    };
    for c in s.chars() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let html = matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}');
        match style {
            Json::Arbitrary(_) => {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if rng % 2 == 0 || (c as u32) < 0x20 || c == '"' || c == '\\' {
                    u_escape(&mut out, c, rng % 3 == 0);
                } else {
                    out.push(c);
                }
                continue;
            }
            Json::Go if html || c == '\u{8}' || c == '\u{c}' => {
                u_escape(&mut out, c, false);
                continue;
            }
            Json::Gson if html || c == '=' || c == '\'' => {
                u_escape(&mut out, c, false);
                continue;
            }
            Json::Php if c == '/' => {
                out.push_str("\\/");
                continue;
            }
            _ => {}
        }
        if let Some(e) = short {
            out.push_str(e);
        } else if c == '\u{8}' {
            out.push_str("\\b");
        } else if c == '\u{c}' {
            out.push_str("\\f");
        } else if (c as u32) < 0x20
            || ((c as u32) > 0x7e && matches!(style, Json::PythonAscii | Json::JacksonAscii))
        {
            u_escape(&mut out, c, style == Json::JacksonAscii);
        } else {
            out.push(c);
        }
    }
    out.push('"');
    out
}

/// A binary-to-text or URL spelling of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Base64,
    Base64NoPad,
    Base64Url,
    Base64UrlNoPad,
    /// MIME / Java `getMimeEncoder`: 76 columns, CRLF.
    Mime,
    /// GNU `base64` and Python `encodebytes`: 76 columns, LF, final LF.
    Wrapped76,
    /// PEM bodies: 64 columns, LF.
    Wrapped64,
    HexLower,
    HexUpper,
    /// RFC 3986 unreserved kept (Python `quote(safe='')`), upper-case hex.
    Pct,
    /// The same with lower-case hex.
    PctLower,
    /// Python `quote_plus`: space as `+`, `~` kept, `*` escaped.
    QuotePlus,
    /// JavaScript `encodeURIComponent`: also keeps `!'()*`.
    UriComponent,
    /// Java `URLEncoder.encode`: space as `+`, keeps `*`, escapes `~`.
    JavaForm,
}

pub const TEXT_STYLES: [Text; 14] = [
    Text::Base64,
    Text::Base64NoPad,
    Text::Base64Url,
    Text::Base64UrlNoPad,
    Text::Mime,
    Text::Wrapped76,
    Text::Wrapped64,
    Text::HexLower,
    Text::HexUpper,
    Text::Pct,
    Text::PctLower,
    Text::QuotePlus,
    Text::UriComponent,
    Text::JavaForm,
];

fn wrap(s: &str, width: usize, eol: &str) -> String {
    let mut out = String::new();
    for (i, chunk) in s.as_bytes().chunks(width).enumerate() {
        if i > 0 {
            out.push_str(eol);
        }
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
    }
    out
}

fn pct(v: &[u8], keep: impl Fn(u8) -> bool, upper: bool, plus: bool) -> String {
    let mut out = String::new();
    for &b in v {
        if plus && b == b' ' {
            out.push('+');
        } else if keep(b) {
            out.push(b as char);
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// `v` in `style`.
pub fn text(v: &[u8], style: Text) -> String {
    let unreserved = |b: u8| b.is_ascii_alphanumeric() || b"-._~".contains(&b);
    match style {
        Text::Base64 => STANDARD.encode(v),
        Text::Base64NoPad => STANDARD_NO_PAD.encode(v),
        Text::Base64Url => URL_SAFE.encode(v),
        Text::Base64UrlNoPad => URL_SAFE_NO_PAD.encode(v),
        Text::Mime => wrap(&STANDARD.encode(v), 76, "\r\n"),
        Text::Wrapped76 => wrap(&STANDARD.encode(v), 76, "\n") + "\n",
        Text::Wrapped64 => wrap(&STANDARD.encode(v), 64, "\n"),
        Text::HexLower => hex::encode(v),
        Text::HexUpper => hex::encode_upper(v),
        Text::Pct => pct(v, unreserved, true, false),
        Text::PctLower => pct(v, unreserved, false, false),
        Text::QuotePlus => pct(v, |b| unreserved(b) && b != b'*', true, true),
        Text::UriComponent => pct(v, |b| unreserved(b) || b"!'()*".contains(&b), true, false),
        Text::JavaForm => pct(
            v,
            |b| b.is_ascii_alphanumeric() || b"-._*".contains(&b),
            true,
            true,
        ),
    }
}

// ---------------------------------------------------------------- the oracle

fn decoded_texts(s: &str, depth: usize, out: &mut Vec<String>) {
    out.push(s.to_owned());
    if depth == 0 {
        return;
    }
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
        json_strings(&v, depth - 1, out);
    }
}

fn json_strings(v: &serde_json::Value, depth: usize, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => decoded_texts(s, depth, out),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, depth, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                decoded_texts(k, depth, out);
                json_strings(x, depth, out);
            }
        }
        _ => {}
    }
}

fn runs(s: &[u8], member: impl Fn(u8) -> bool) -> Vec<Vec<u8>> {
    s.split(|&b| !member(b))
        .filter(|r| r.len() >= 8)
        .map(|r| r.to_vec())
        .collect()
}

fn base64_holds(text: &[u8], v: &[u8]) -> bool {
    let squeezed: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    for run in runs(&squeezed, |b| {
        b.is_ascii_alphanumeric() || b"+/-_".contains(&b)
    }) {
        for skip in 0..4 {
            let Some(r) = run.get(skip..) else { continue };
            let r = &r[..r.len() - r.len() % 4];
            for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
                if let Ok(d) = engine.decode(r)
                    && d.windows(v.len()).any(|w| w == v)
                {
                    return true;
                }
            }
        }
    }
    false
}

fn hex_holds(text: &[u8], v: &[u8]) -> bool {
    for run in runs(text, |b| b.is_ascii_hexdigit()) {
        for skip in 0..2 {
            let Some(r) = run.get(skip..) else { continue };
            let r = &r[..r.len() - r.len() % 2];
            if let Ok(d) = hex::decode(r)
                && d.windows(v.len()).any(|w| w == v)
            {
                return true;
            }
        }
    }
    false
}

fn pct_decode(s: &[u8], plus: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let h = |j: usize| s.get(j).and_then(|&b| (b as char).to_digit(16));
        match (s[i], h(i + 1), h(i + 2)) {
            (b'%', Some(a), Some(b)) => {
                out.push((a * 16 + b) as u8);
                i += 3;
            }
            (b'+', _, _) if plus => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Whether `v` (or `v` without a trailing newline) can be read back from
/// `output` by a reader who decodes JSON strings (also JSON inside them),
/// percent-encoding (either style), base64 (either alphabet, any wrapping) or hex.
pub fn leaks(output: &[u8], v: &[u8]) -> bool {
    let mut end = v.len();
    while end > 0 && matches!(v[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let v = &v[..end];
    let whole = String::from_utf8_lossy(output).into_owned();
    let mut texts = Vec::new();
    for line in whole.lines() {
        decoded_texts(line, 4, &mut texts);
    }
    texts.push(whole);
    let contains = |t: &[u8]| t.windows(v.len()).any(|w| w == v);
    texts.iter().any(|t| {
        let t = t.as_bytes();
        contains(t)
            || contains(&pct_decode(t, false))
            || contains(&pct_decode(t, true))
            || contains(&pct_decode(&pct_decode(t, false), false))
            || base64_holds(t, v)
            || hex_holds(t, v)
    })
}
