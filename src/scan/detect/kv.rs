//! Key-value text inside a value: `.env`-style or YAML-style lines
//! (`export API_KEY=...`, `token: ...`) and `;`-separated connection strings
//! (`Endpoint=...;ApiKey=...`). Each value is judged by its own key.

use super::{Hit, heuristic};

/// Heuristic hits for the `K=V` / `K: V` entries of `text`, when it holds
/// several lines or several `;`-separated pairs, and for `Bearer` credentials
/// embedded in it; ranges are into `text`.
pub(super) fn scan(text: &str) -> Vec<Hit> {
    let mut hits = bearer(text);
    hits.extend(pairs(text));
    hits
}

/// `Bearer V` inside a longer text (`Authorization:Bearer V,X-Client:mcp`,
/// `-H "Authorization: Bearer V"`): the credential is judged as an
/// Authorization value whatever the surrounding name.
fn bearer(text: &str) -> Vec<Hit> {
    const SCHEME: &str = "bearer";
    let lower = text.to_ascii_lowercase();
    let b = text.as_bytes();
    let mut hits = Vec::new();
    let mut from = 0;
    while let Some(i) = lower[from..].find(SCHEME).map(|i| i + from) {
        from = i + SCHEME.len();
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        let ws = b[from..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace() && **c != b'\n')
            .count();
        if ws == 0 {
            continue;
        }
        let start = from + ws;
        let len = b[start..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || b"._~+/=-".contains(c))
            .count();
        if len == 0 {
            continue;
        }
        hits.extend(heuristic::judge_as(
            "Authorization",
            text,
            start..start + len,
            (
                "http-authorization",
                "Credential in an Authorization header",
            ),
        ));
        from = start + len;
    }
    hits
}

fn pairs(text: &str) -> Vec<Hit> {
    let sep = if text.contains('\n') {
        '\n'
    } else if text.contains(';') && text.matches('=').count() >= 2 {
        ';'
    } else {
        return Vec::new();
    };
    let mut hits = Vec::new();
    let mut pos = 0;
    for piece in text.split(sep) {
        let start = pos;
        pos += piece.len() + 1;
        if let Some((key, value)) = entry(piece) {
            let range = start + value.start..start + value.end;
            hits.extend(heuristic::judge(key, text, range));
        }
    }
    hits
}

/// `[export ]KEY=VALUE` or `KEY: VALUE`: the key and the value's range in
/// `line` (trimmed).
fn entry(line: &str) -> Option<(&str, std::ops::Range<usize>)> {
    let lead = line.len() - line.trim_start().len();
    let mut rest = &line[lead..];
    let mut at = lead;
    if let Some(r) = rest.strip_prefix("export ") {
        at += rest.len() - r.len();
        rest = r;
    }
    let key_len = rest
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || b"_.-".contains(c))
        .count();
    if key_len == 0 || !rest.as_bytes()[0].is_ascii_alphabetic() && rest.as_bytes()[0] != b'_' {
        return None;
    }
    let key = &rest[..key_len];
    let after = &rest[key_len..];
    let ws = after.len() - after.trim_start().len();
    let after_sep = after[ws..]
        .strip_prefix('=')
        .or_else(|| after[ws..].strip_prefix(':'))?;
    let v_lead = after_sep.len() - after_sep.trim_start().len();
    let v_start = at + key_len + ws + 1 + v_lead;
    let v_end = line.trim_end().len();
    (v_start < v_end).then_some((key, v_start..v_end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_pairs() {
        let t = "# creds\nexport API_KEY=\"Zk3pQ9vX2mLr8TfWq4HnB7\"\nDEBUG=1\n";
        let hits = scan(t);
        assert_eq!(hits.len(), 1);
        assert_eq!(&t[hits[0].range.clone()], "Zk3pQ9vX2mLr8TfWq4HnB7");
        let t = "Endpoint=https://x.openai.azure.com/;ApiKey=Zk3pQ9vX2mLr8TfWq4HnB7";
        let hits = scan(t);
        assert_eq!(hits.len(), 1);
        assert_eq!(&t[hits[0].range.clone()], "Zk3pQ9vX2mLr8TfWq4HnB7");
        let t = "token: Zk3pQ9vX2mLr8TfWq4HnB7\nurl: https://x";
        assert_eq!(scan(t).len(), 1);
        assert!(scan("API_KEY=Zk3pQ9vX2mLr8TfWq4HnB7").is_empty());
        assert!(scan("a\nAPI_KEY=${API_KEY}\n").is_empty());
        assert!(entry("=x").is_none());
        let t = "Authorization:Bearer Zk3pQ9vX2mLr8TfWq4HnB7,X-Client:mcp";
        let hits = scan(t);
        assert_eq!(hits.len(), 1);
        assert_eq!(&t[hits[0].range.clone()], "Zk3pQ9vX2mLr8TfWq4HnB7");
        assert!(scan("Authorization:Bearer ${TOKEN},X-Client:mcp").is_empty());
        assert!(scan("Authorization: Bearer your-token-here").is_empty());
        assert!(scan("NotBearer Zk3pQ9vX2mLr8TfWq4HnB7").is_empty());
    }
}
