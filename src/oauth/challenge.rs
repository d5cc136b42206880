//! `WWW-Authenticate` parsing (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9728 §5.1).
//!
//! Owns turning the header values of a refusal into challenges (scheme,
//! auth-params, token68) and reading the Bearer one: `error`, `scope`,
//! `resource_metadata`. Bounded: at most [`MAX_CHALLENGES`] challenges and
//! [`MAX_PARAMS`] parameters each; malformed input ends the parse of that
//! value, never panics. Must not fetch anything.

/// Challenges read from all the values together, at most.
pub const MAX_CHALLENGES: usize = 16;
/// Parameters per challenge, at most.
pub const MAX_PARAMS: usize = 32;

/// One challenge: `Scheme param=value, param="quoted"`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Challenge {
    /// Lower case.
    pub scheme: String,
    /// Names lower case, values unquoted.
    pub params: Vec<(String, String)>,
    pub token68: Option<String>,
}

impl Challenge {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a Bearer challenge asks of the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bearer {
    pub error: Option<String>,
    /// The scopes named, in order, without duplicates.
    pub scope: Vec<String>,
    pub resource_metadata: Option<String>,
}

impl Bearer {
    pub fn insufficient_scope(&self) -> bool {
        self.error.as_deref() == Some("insufficient_scope")
    }
}

/// The Bearer challenge among `values` (the first one), if any.
pub fn bearer<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Bearer> {
    let all = values
        .into_iter()
        .flat_map(|v| parse(&String::from_utf8_lossy(v)))
        .take(MAX_CHALLENGES);
    let c = all.into_iter().find(|c| c.scheme == "bearer")?;
    let mut scope: Vec<String> = Vec::new();
    for s in c.param("scope").unwrap_or("").split_ascii_whitespace() {
        if !scope.iter().any(|x| x == s) {
            scope.push(s.to_string());
        }
    }
    Some(Bearer {
        error: c.param("error").map(str::to_string),
        scope,
        resource_metadata: c.param("resource_metadata").map(str::to_string),
    })
}

/// Every challenge in one header value.
pub fn parse(text: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    while out.len() < MAX_CHALLENGES {
        p.skip_separators();
        let Some(scheme) = p.token() else { break };
        let mut c = Challenge {
            scheme: scheme.to_ascii_lowercase(),
            ..Challenge::default()
        };
        p.skip_ws();
        c.token68 = p.token68();
        if c.token68.is_none() {
            p.params(&mut c);
        }
        out.push(c);
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token68(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    /// A token68 (`abc==`) when it is all that follows, up to a comma.
    fn token68(&mut self) -> Option<String> {
        let start = self.i;
        let mut j = start;
        while self.s.get(j).copied().is_some_and(is_token68) {
            j += 1;
        }
        if j == start {
            return None;
        }
        while self.s.get(j) == Some(&b'=') {
            j += 1;
        }
        let end = j;
        while matches!(self.s.get(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        if !matches!(self.s.get(j), None | Some(b',')) {
            return None;
        }
        self.i = j;
        Some(String::from_utf8_lossy(&self.s[start..end]).into_owned())
    }

    /// `name=value` pairs until the next challenge's scheme or the end.
    fn params(&mut self, c: &mut Challenge) {
        loop {
            self.skip_separators();
            let save = self.i;
            let Some(name) = self.token() else { return };
            self.skip_ws();
            if self.peek() != Some(b'=') {
                // the next challenge's scheme
                self.i = save;
                return;
            }
            self.i += 1;
            self.skip_ws();
            let value = if self.peek() == Some(b'"') {
                self.quoted()
            } else {
                self.token().unwrap_or_default()
            };
            if c.params.len() < MAX_PARAMS {
                c.params.push((name.to_ascii_lowercase(), value));
            }
            self.skip_ws();
            if !matches!(self.peek(), None | Some(b',')) {
                // garbage after a parameter: the rest of the value is skipped
                self.i = self.s.len();
                return;
            }
        }
    }

    fn quoted(&mut self) -> String {
        let mut out = Vec::new();
        self.i += 1;
        while let Some(b) = self.peek() {
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: &str) -> Option<Bearer> {
        bearer([v.as_bytes()])
    }

    #[test]
    fn bearer_with_quoted_and_bare_params() {
        let got = b(r#"Bearer resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp", scope="files:read  files:write files:read""#)
            .expect("bearer");
        assert_eq!(
            got.resource_metadata.as_deref(),
            Some("https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(got.scope, ["files:read", "files:write"]);
        assert!(!got.insufficient_scope());
        let got = b(r#"Bearer error=insufficient_scope, scope="mcp:admin", error_description="never \"ok\"""#)
            .expect("bearer");
        assert!(got.insufficient_scope());
        assert_eq!(got.scope, ["mcp:admin"]);
    }

    #[test]
    fn several_schemes_and_values() {
        let cs =
            parse(r#"Basic realm="x", Bearer realm="y", error="invalid_token", Newauth abc=="#);
        let schemes: Vec<&str> = cs.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["basic", "bearer", "newauth"], "{cs:?}");
        assert_eq!(cs[1].param("error"), Some("invalid_token"));
        assert_eq!(cs[2].token68.as_deref(), Some("abc=="));
        let got = bearer([
            b"Basic realm=\"a\"".as_slice(),
            b"bearer scope=read".as_slice(),
        ])
        .expect("second value");
        assert_eq!(got.scope, ["read"]);
    }

    #[test]
    fn bare_bearer_and_garbage() {
        assert_eq!(b("Bearer"), Some(Bearer::default()));
        assert_eq!(b("Basic realm=x"), None);
        assert_eq!(b(""), None);
        // unterminated quote, stray bytes: no panic, what was read is kept
        let got = b("Bearer scope=\"a b").expect("bearer");
        assert_eq!(got.scope, ["a", "b"]);
        let _ = parse("=,=,\"\\");
        let _ = parse("Bearer a=b c d=e");
    }
}
