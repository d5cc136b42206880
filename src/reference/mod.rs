//! Secret references: `SCHEME://LOCATION[?PARAMS][#SELECTOR]`.
//!
//! Owns the grammar (parse and canonical display) and the scheme list. It must
//! not know how a scheme is fetched: that is `backend`. A scheme whose backend is
//! not built parses fine here and fails at resolve time.
//!
//! Percent-encoding: `%XX` is decoded in the location and in parameter keys and
//! values, so `%23` is a literal `#`, `%3F` a literal `?`, `%25` a literal `%`.
//! The selector starts at the first unencoded `#`.

pub mod selector;

use std::fmt;

pub use selector::{Segment, Selector, SelectorError};

/// The schemes mcp-warden knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Local,
    File,
    AwsSm,
    AwsSsm,
    Vault,
    GcpSm,
    AzureKv,
    Keyring,
    Op,
    /// Mints a GitHub App installation token.
    GithubApp,
    /// Mints AWS STS session credentials (AssumeRole).
    AwsSts,
    /// Mints a Google access token for an impersonated service account.
    GcpToken,
    /// Mints an Entra access token for one resource scope.
    AzureToken,
}

/// The variables an `aws-sts://` reference fills, in this order.
pub const AWS_STS_VARS: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

impl Scheme {
    pub const ALL: [Scheme; 13] = [
        Scheme::Local,
        Scheme::File,
        Scheme::AwsSm,
        Scheme::AwsSsm,
        Scheme::Vault,
        Scheme::GcpSm,
        Scheme::AzureKv,
        Scheme::Keyring,
        Scheme::Op,
        Scheme::GithubApp,
        Scheme::AwsSts,
        Scheme::GcpToken,
        Scheme::AzureToken,
    ];

    /// A minting scheme asks its provider for a new short-lived credential at
    /// every fetch instead of reading a stored value.
    pub fn mints(self) -> bool {
        matches!(
            self,
            Scheme::GithubApp | Scheme::AwsSts | Scheme::GcpToken | Scheme::AzureToken
        )
    }

    /// The variables one reference of this scheme fills (`NAME_*=REF`); empty
    /// when it fills one. Its value is then a JSON object with these keys.
    pub fn yields(self) -> &'static [&'static str] {
        match self {
            Scheme::AwsSts => AWS_STS_VARS,
            _ => &[],
        }
    }

    /// The canonical scheme name as written in a reference.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Local => "local",
            Scheme::File => "file",
            Scheme::AwsSm => "aws-sm",
            Scheme::AwsSsm => "aws-ssm",
            Scheme::Vault => "vault",
            Scheme::GcpSm => "gcp-sm",
            Scheme::AzureKv => "azure-kv",
            Scheme::Keyring => "keyring",
            Scheme::Op => "op",
            Scheme::GithubApp => "github-app",
            Scheme::AwsSts => "aws-sts",
            Scheme::GcpToken => "gcp-token",
            Scheme::AzureToken => "azure-token",
        }
    }

    /// Parses a scheme name, including aliases (`bao` for `vault`).
    pub fn from_name(name: &str) -> Option<Scheme> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "bao" | "openbao" => Some(Scheme::Vault),
            _ => Scheme::ALL.into_iter().find(|s| s.as_str() == lower),
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed secret reference. Holds locations, never values.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    pub scheme: Scheme,
    /// Percent-decoded location (secret name, path, ARN...).
    pub location: String,
    /// Percent-decoded `?key=value` parameters, in the order written.
    pub params: Vec<(String, String)>,
    pub selector: Option<Selector>,
}

/// Why a reference did not parse, and where. The message never quotes the
/// input: a malformed "reference" may be a pasted secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid secret reference: {message} (at character {})", .position + 1)]
pub struct ParseError {
    pub input: String,
    /// Byte offset of the offending character.
    pub position: usize,
    pub message: String,
}

impl ParseError {
    fn new(input: &str, position: usize, message: impl Into<String>) -> Self {
        Self {
            input: input.to_string(),
            position,
            message: message.into(),
        }
    }
}

impl SecretRef {
    /// Parses a reference with an explicit scheme, a bare AWS ARN, or a bare
    /// GCP resource name (`projects/P/secrets/S[/versions/V]`).
    ///
    /// A bare name without `://` is an error here; use [`SecretRef::parse_or_bare`]
    /// where bare names are allowed (the mcp-secret-wrapper form).
    pub fn parse(input: &str) -> Result<SecretRef, ParseError> {
        match split_scheme(input)? {
            Some((scheme, rest_at)) => parse_after_scheme(input, scheme, rest_at),
            None => match arn_scheme(input) {
                Some(scheme) => parse_after_scheme(input, scheme, 0),
                None => Err(ParseError::new(
                    input,
                    0,
                    "missing scheme; write SCHEME://LOCATION, e.g. local://NAME",
                )),
            },
        }
    }

    /// Parses a reference; a bare name (no `SCHEME://`) takes `default_scheme`.
    /// A bare AWS ARN always means its AWS service. A bare
    /// `projects/P/secrets/S` means GCP Secret Manager only when the default
    /// is `local` (no vault type given) or `gcp-sm`: under another vault type
    /// it is that vault's secret name (AWS names may contain `/`).
    pub fn parse_or_bare(input: &str, default_scheme: Scheme) -> Result<SecretRef, ParseError> {
        match split_scheme(input)? {
            Some((scheme, rest_at)) => parse_after_scheme(input, scheme, rest_at),
            None => {
                let implied = arn_scheme(input).filter(|s| {
                    *s != Scheme::GcpSm || matches!(default_scheme, Scheme::Local | Scheme::GcpSm)
                });
                parse_after_scheme(input, implied.unwrap_or(default_scheme), 0)
            }
        }
    }

    /// The value of parameter `key`, if given (the last one wins).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The same reference without its selector: what a backend fetches.
    pub fn without_selector(&self) -> SecretRef {
        SecretRef {
            selector: None,
            ..self.clone()
        }
    }
}

/// Parameters of minting references that name a stored credential.
const CREDENTIAL_PARAMS: &[&str] = &["key", "session-policy", "external-id"];
/// Shown instead of such a parameter when it is not a reference: it may be
/// a pasted key, and references are printed in errors and the audit log.
const HIDDEN: &str = "(not-a-reference:not-shown)";

impl SecretRef {
    /// Whether parameter `k` = `v` is never displayed.
    fn hides(&self, k: &str, v: &str) -> bool {
        self.scheme.mints()
            && CREDENTIAL_PARAMS.contains(&k)
            && (!v.contains("://") || SecretRef::parse(v).is_err())
    }
}

/// Finds `SCHEME://`. Returns the scheme and the byte offset after `://`.
fn split_scheme(input: &str) -> Result<Option<(Scheme, usize)>, ParseError> {
    let Some(idx) = input.find("://") else {
        return Ok(None);
    };
    let name = &input[..idx];
    // A `://` after a `#` or `?` belongs to the selector or a parameter of a bare name.
    if name.contains(['#', '?', '/']) {
        return Ok(None);
    }
    match Scheme::from_name(name) {
        Some(s) => Ok(Some((s, idx + 3))),
        None => Err(ParseError::new(
            input,
            0,
            format!(
                "unknown scheme {name:?}; known: {}",
                Scheme::ALL.map(Scheme::as_str).join(", ")
            ),
        )),
    }
}

/// The scheme a bare provider name implies: an AWS ARN, or a GCP Secret
/// Manager resource name.
fn arn_scheme(input: &str) -> Option<Scheme> {
    if let Some(rest) = input.strip_prefix("projects/")
        && let Some((_, after)) = rest.split_once("/secrets/")
        && !after.is_empty()
    {
        return Some(Scheme::GcpSm);
    }
    if input.starts_with("arn:") {
        let service = input.split(':').nth(2)?;
        match service {
            "secretsmanager" => return Some(Scheme::AwsSm),
            "ssm" => return Some(Scheme::AwsSsm),
            _ => {}
        }
    }
    None
}

fn parse_after_scheme(input: &str, scheme: Scheme, start: usize) -> Result<SecretRef, ParseError> {
    let rest = &input[start..];
    let (before_sel, selector) = match rest.find('#') {
        Some(i) => {
            let sel_at = start + i + 1;
            let sel = Selector::parse(&rest[i + 1..])
                .map_err(|e| ParseError::new(input, sel_at + e.position, e.message))?;
            (&rest[..i], Some(sel))
        }
        None => (rest, None),
    };
    let (loc_raw, query) = match before_sel.find('?') {
        Some(i) => (
            &before_sel[..i],
            Some((start + i + 1, &before_sel[i + 1..])),
        ),
        None => (before_sel, None),
    };
    if loc_raw.is_empty() {
        return Err(ParseError::new(
            input,
            start,
            format!("empty location; write {scheme}://LOCATION"),
        ));
    }
    if scheme == Scheme::Op
        && let Some(i) = encoded_slash(loc_raw)
    {
        return Err(ParseError::new(
            input,
            start + i,
            "op:// splits names at '/' and has no escape for it; write that name as its ID",
        ));
    }
    let location = decode(input, start, loc_raw)?;
    if location.chars().any(char::is_control) {
        return Err(ParseError::new(
            input,
            start,
            "control character in location",
        ));
    }
    let mut params = Vec::new();
    if let Some((q_at, query)) = query {
        let mut offset = q_at;
        for pair in query.split('&') {
            if pair.is_empty() {
                return Err(ParseError::new(input, offset, "empty parameter"));
            }
            let (k, v, v_at) = match pair.find('=') {
                Some(eq) => (&pair[..eq], &pair[eq + 1..], offset + eq + 1),
                None => {
                    return Err(ParseError::new(
                        input,
                        offset,
                        "parameter without '='; write key=value",
                    ));
                }
            };
            if k.is_empty() {
                return Err(ParseError::new(input, offset, "empty parameter name"));
            }
            params.push((decode(input, offset, k)?, decode(input, v_at, v)?));
            offset += pair.len() + 1;
        }
    }
    Ok(SecretRef {
        scheme,
        location,
        params,
        selector,
    })
}

/// Where `raw` escapes a '/' (`%2F`): an `op://` location is split at '/'
/// after decoding, so the name would be read as two.
fn encoded_slash(raw: &str) -> Option<usize> {
    raw.as_bytes()
        .windows(3)
        .position(|w| w[0] == b'%' && w[1] == b'2' && w[2].eq_ignore_ascii_case(&b'f'))
}

/// Percent-decodes `raw` (which starts at byte `at` of `input`) into UTF-8.
fn decode(input: &str, at: usize, raw: &str) -> Result<String, ParseError> {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let ok = bytes.len() >= i + 3
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err(ParseError::new(
                    input,
                    at + i,
                    "'%' must start an escape like %23; write %25 for a literal '%'",
                ));
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| ParseError::new(input, at, "percent-escapes do not decode to UTF-8"))
}

/// Characters escaped when a location is displayed: those the grammar reserves,
/// plus controls and space so the display is one unambiguous token.
const LOCATION_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b'%')
    .add(b'?')
    .add(b'#')
    .add(b' ');
const PARAM_ESCAPES: &percent_encoding::AsciiSet = &LOCATION_ESCAPES.add(b'&').add(b'=');
/// 1Password's references keep their spaces as written (`op://Private/My Item/password`),
/// so what is shown can be pasted into 1Password's tools.
const OP_LOCATION_ESCAPES: &percent_encoding::AsciiSet =
    &percent_encoding::CONTROLS.add(b'%').add(b'?').add(b'#');

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use percent_encoding::utf8_percent_encode as enc;
        let escapes = match self.scheme {
            Scheme::Op => OP_LOCATION_ESCAPES,
            _ => LOCATION_ESCAPES,
        };
        write!(f, "{}://{}", self.scheme, enc(&self.location, escapes))?;
        for (i, (k, v)) in self.params.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            let v = if self.hides(k, v) { HIDDEN } else { v.as_str() };
            write!(
                f,
                "{sep}{}={}",
                enc(k, PARAM_ESCAPES),
                enc(v, PARAM_ESCAPES)
            )?;
        }
        if let Some(sel) = &self.selector {
            write!(f, "#{sel}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
