//! Masking secrets in config text shown to people (the dry-run diffs of
//! protect and restore), whatever their spelling: every string literal whose
//! decoded value holds a secret is masked at the bytes that spell it (`\u0073`,
//! `\/`, `\x73`, `''` included; the whole literal when a folded or block
//! scalar cannot be aligned), and so is every other spelling of a secret the
//! text holds, read as if it were one escaped string (comments, text the
//! parser does not reach).
//!
//! Owns only the masking; never prints, never keeps the text.

use std::ops::Range;

use crate::clients::Format;
use crate::clients::edit::{self, Unescaped};

/// Secret texts (decoded) and what to show instead of each.
pub struct Masker {
    format: Format,
    /// Longest first, so a secret containing another is masked whole.
    secrets: Vec<(String, String)>,
}

impl Masker {
    /// `secrets`: (decoded text, what to show); empty texts are ignored.
    pub fn new(format: Format, secrets: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut secrets: Vec<(String, String)> =
            secrets.into_iter().filter(|(t, _)| !t.is_empty()).collect();
        secrets.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        secrets.dedup_by(|a, b| a.0 == b.0);
        Self { format, secrets }
    }

    /// `bytes` as text with every secret replaced by its shown form.
    pub fn mask(&self, bytes: &[u8]) -> String {
        let text = String::from_utf8_lossy(bytes);
        let mut spans = self.literal_spans(bytes);
        spans.extend(self.text_spans(&text));
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(bytes.len());
        let mut pos = 0;
        for (r, shown) in merge(spans) {
            if r.start < pos {
                continue;
            }
            out.push_str(&String::from_utf8_lossy(&bytes[pos..r.start]));
            out.push_str(&format!("[{shown}]"));
            pos = r.end;
        }
        out.push_str(&String::from_utf8_lossy(&bytes[pos..]));
        out
    }

    /// Secrets inside string literals and keys, by their decoded values.
    fn literal_spans(&self, bytes: &[u8]) -> Vec<(Range<usize>, &str)> {
        let Ok(literals) = edit::literals(self.format, bytes) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for lit in &literals {
            for (secret, shown) in &self.secrets {
                for (i, _) in lit.value.match_indices(secret.as_str()) {
                    out.push((lit.raw_range(i..i + secret.len()), shown.as_str()));
                }
            }
        }
        out
    }

    /// Secrets anywhere in the text, raw or escaped.
    fn text_spans<'a>(&'a self, text: &str) -> Vec<(Range<usize>, &'a str)> {
        let unescaped = Unescaped::new(text);
        let mut out = Vec::new();
        for (secret, shown) in &self.secrets {
            for (i, _) in text.match_indices(secret.as_str()) {
                out.push((i..i + secret.len(), shown.as_str()));
            }
            for (i, _) in unescaped.text.match_indices(secret.as_str()) {
                if let Some(r) = unescaped.raw_range(i..i + secret.len()) {
                    out.push((r, shown.as_str()));
                }
            }
        }
        out
    }
}

/// Overlapping ranges joined (the first one's label kept), in order.
fn merge(mut spans: Vec<(Range<usize>, &str)>) -> Vec<(Range<usize>, &str)> {
    spans.sort_by_key(|(r, _)| (r.start, std::cmp::Reverse(r.end)));
    let mut out: Vec<(Range<usize>, &str)> = Vec::with_capacity(spans.len());
    for (r, shown) in spans {
        match out.last_mut() {
            Some((last, _)) if r.start < last.end => last.end = last.end.max(r.end),
            _ => out.push((r, shown)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "sk-live-Zk3pQ9vX2mLr8TfWq4Hn";

    fn masker(format: Format) -> Masker {
        Masker::new(format, [(T.to_string(), "sk-l… (28 chars)".to_string())])
    }

    #[test]
    fn every_spelling_is_masked() {
        let json = r#"{"a": "\u0073k-live-Zk3pQ9vX2mLr8TfWq4Hn", "b": "Bearer sk-live-Zk3pQ9vX2mLr8TfWq4Hn",
 // sk\u002dlive-Zk3pQ9vX2mLr8TfWq4Hn
 "c": "sk-live-Zk3pQ9vX2mLr8TfWq4Hn\/x"}"#;
        let out = masker(Format::Json).mask(json.as_bytes());
        assert!(!out.contains("Zk3pQ9vX2mLr8TfWq4Hn"), "{out}");
        assert!(out.contains(r#""b": "Bearer [sk-l… (28 chars)]""#), "{out}");
        assert!(out.contains(r#""c": "[sk-l… (28 chars)]\/x""#), "{out}");

        let toml = "a = \"\\u0073k-live-Zk3pQ9vX2mLr8TfWq4Hn\"\nb = '''\nsk-live-Zk3pQ9vX2mLr8TfWq4Hn'''\n";
        let out = masker(Format::Toml).mask(toml.as_bytes());
        assert!(!out.contains("Zk3pQ9vX2mLr8TfWq4Hn"), "{out}");

        let yaml = "a: \"\\x73k-live-Zk3pQ9vX2mLr8TfWq4Hn\"\nb: \"sk-live-Zk3pQ9\\\n  vX2mLr8TfWq4Hn\"\nc: |\n  sk-live-Zk3pQ9vX2mLr8TfWq4Hn\n";
        let out = masker(Format::Yaml).mask(yaml.as_bytes());
        assert!(!out.contains("Zk3pQ9vX2mLr8TfWq4Hn"), "{out}");
        assert!(
            !out.contains("vX2mLr8TfWq4Hn"),
            "a continued line is masked whole: {out}"
        );
    }

    #[test]
    fn text_that_does_not_parse_is_still_masked() {
        let out = masker(Format::Json).mask(br#"{"a": "\u0073k-live-Zk3pQ9vX2mLr8TfWq4Hn""#);
        assert!(!out.contains("Zk3pQ9vX2mLr8TfWq4Hn"), "{out}");
    }
}
