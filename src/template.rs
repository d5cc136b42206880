//! `%{NAME}` templates: the one syntax for placing an injected value inside a
//! larger string (`run --expand-args`, `headers`). `%{NAME}` becomes NAME's
//! value when NAME is one of the injected variables; `%%{` stands for a
//! literal `%{`; every other byte is copied.
//!
//! Chosen because no MCP client expands it (`${VAR}`, `${env:VAR}`, `$VAR`
//! and `${input:id}` are all taken). Owns only substitution; errors name the
//! placeholder, never a value.

use zeroize::Zeroizing;

use crate::resolve::Resolved;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum TemplateError {
    #[error(
        "%{{{0}}} is not one of the injected variables (NAME=REF); write %%{{ for a literal %{{"
    )]
    Unknown(String),
    #[error("an unterminated %{{ (write %%{{ for a literal %{{)")]
    Unterminated,
}

/// Whether `text` holds a placeholder (or an escaped one) at all.
pub fn has_placeholder(text: &[u8]) -> bool {
    text.windows(2).any(|w| w == b"%{")
}

/// Expands `text`. The result holds secret bytes: it zeroizes on drop.
pub fn expand(text: &[u8], injected: &[Resolved]) -> Result<Zeroizing<Vec<u8>>, TemplateError> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len()));
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with(b"%%{") {
            out.extend_from_slice(b"%{");
            i += 3;
        } else if text[i..].starts_with(b"%{") {
            let rest = &text[i + 2..];
            let end = rest
                .iter()
                .position(|&b| b == b'}')
                .ok_or(TemplateError::Unterminated)?;
            let name = &rest[..end];
            match injected.iter().find(|r| r.var.as_bytes() == name) {
                Some(r) => out.extend_from_slice(r.value.expose()),
                None => {
                    return Err(TemplateError::Unknown(
                        String::from_utf8_lossy(name).chars().take(64).collect(),
                    ));
                }
            }
            i += 2 + end + 1;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Writes `name` so that it expands to itself: every `%{` becomes `%%{`.
pub fn escape(text: &str) -> String {
    text.replace("%{", "%%{")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn injected() -> Vec<Resolved> {
        vec![Resolved {
            var: "API_KEY".into(),
            value: SecretValue::from_string("s3cr=t value".to_string()),
        }]
    }

    #[test]
    fn expands_declared_names_and_escapes() {
        let x = |t: &str| {
            expand(t.as_bytes(), &injected()).map(|v| String::from_utf8(v.to_vec()).unwrap())
        };
        assert_eq!(x("Bearer %{API_KEY}").unwrap(), "Bearer s3cr=t value");
        assert_eq!(x("%%{API_KEY} 100% %").unwrap(), "%{API_KEY} 100% %");
        assert_eq!(x("%{NOPE}"), Err(TemplateError::Unknown("NOPE".into())));
        assert_eq!(x("a%{API_KEY"), Err(TemplateError::Unterminated));
        assert_eq!(x(&escape("keep %{API_KEY}")).unwrap(), "keep %{API_KEY}");
    }
}
