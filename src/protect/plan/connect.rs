//! The `mcp-warden connect` command line for a remote endpoint: its URL and
//! headers become `%{VAR}` templates where secrets were found (every other
//! `%{` escaped as `%%{`), and each secret becomes a variable to store.
//!
//! Also checks the URL and header templates `add` is given ([`for_add`]).
//!
//! Pure: decides variable names and templates; stores nothing, edits nothing.
//! What cannot be written as a template is an error naming the reason.

use crate::clients::Located;
use crate::protect::naming::{unique, var_name};
use crate::scan::finding::Finding;
use crate::template;

/// A string that goes into the command line, and the findings inside it.
pub(super) struct Piece<'a> {
    /// The value the findings' ranges are relative to.
    pub at: &'a Located,
    /// The part of `at.value` that is this piece (a `--header=` prefix left out).
    pub from: usize,
    pub findings: Vec<&'a Finding>,
}

impl<'a> Piece<'a> {
    pub fn whole(at: &'a Located, findings: Vec<&'a Finding>) -> Self {
        Self {
            at,
            from: 0,
            findings,
        }
    }
}

/// One header: `Name: value`, the value a piece.
pub(super) struct Header<'a> {
    pub name: String,
    /// Text the client puts before the value (Codex `bearer_token`: `Bearer `).
    pub prefix: &'static str,
    pub value: Piece<'a>,
}

/// A remote endpoint as an entry gives it.
pub(super) struct Endpoint<'a> {
    pub url: Piece<'a>,
    pub headers: Vec<Header<'a>>,
    /// The entry speaks the legacy HTTP+SSE transport.
    pub sse: bool,
}

/// A secret found in the endpoint, with the variable it becomes.
pub(super) struct Moved<'a> {
    pub var: String,
    pub value: &'a str,
    pub finding: &'a Finding,
}

/// The templates of one endpoint and the secrets they name.
pub(super) struct Templates<'a> {
    pub url: String,
    /// `Name: template` lines, in the entry's order.
    pub headers: Vec<String>,
    pub moved: Vec<Moved<'a>>,
}

impl Endpoint<'_> {
    /// Every finding the endpoint covers.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.url
            .findings
            .iter()
            .chain(self.headers.iter().flat_map(|h| h.value.findings.iter()))
            .copied()
    }
}

/// Builds the templates; `taken` holds the variable names already in use
/// and gains the new ones.
pub(super) fn templates<'a>(
    ep: &Endpoint<'a>,
    taken: &mut Vec<String>,
) -> Result<Templates<'a>, String> {
    let mut moved = Vec::new();
    let url = fill(&ep.url, true, taken, &mut moved, &|head: &str| {
        url_var(head)
    })?;
    check_url(&url)?;
    let mut headers = Vec::new();
    for h in &ep.headers {
        let name = h.name.clone();
        let value = fill(&h.value, false, taken, &mut moved, &|_: &str| {
            var_name(&name)
        })?;
        headers.push(format!("{}: {}{value}", h.name, h.prefix));
    }
    as_connect_reads(&url, &headers, &ep.headers, &moved)?;
    Ok(Templates {
        url,
        headers,
        moved,
    })
}

/// Reads the templates exactly as connect will at every start (its header
/// parser, its URL and header filling, with a stand-in for each value), so
/// an entry connect would refuse is refused now, with connect's reason.
fn as_connect_reads(
    url: &str,
    lines: &[String],
    headers: &[Header<'_>],
    moved: &[Moved<'_>],
) -> Result<(), String> {
    let refused = |e: crate::remote::RemoteError| format!("connect would refuse it: {e}");
    let mut parsed = Vec::new();
    for (n, (line, h)) in lines.iter().zip(headers).enumerate() {
        let p = crate::remote::parse_header(n + 1, line).map_err(refused)?;
        // A name holding `:` (or padded) would be split elsewhere by connect.
        if !p.name.as_str().eq_ignore_ascii_case(&h.name) {
            return Err(format!(
                "connect would refuse it: the header name {:?} is not a valid HTTP token",
                h.name
            ));
        }
        parsed.push(p);
    }
    let stand_ins: Vec<crate::resolve::Resolved> = moved
        .iter()
        .map(|m| crate::resolve::Resolved {
            var: m.var.clone(),
            value: crate::secret::SecretValue::from_string("x".to_string()),
        })
        .collect();
    crate::remote::fill(url, &parsed, &stand_ins)
        .map(drop)
        .map_err(refused)
}

/// The `connect` arguments for a remote server `add` writes, from the URL
/// and `Name: TEMPLATE` header lines as given (each `%{VAR}` naming one of
/// `vars`), read exactly as connect will read them at every start.
pub fn for_add(
    url: &str,
    headers: &[String],
    assignments: Vec<String>,
    vars: &[String],
) -> Result<Vec<String>, String> {
    check_url(url)?;
    let refused = |e: crate::remote::RemoteError| format!("connect would refuse it: {e}");
    let mut parsed = Vec::with_capacity(headers.len());
    for (n, line) in headers.iter().enumerate() {
        parsed.push(crate::remote::parse_header(n + 1, line).map_err(refused)?);
    }
    no_literal_secret(url, headers)?;
    let stand_ins: Vec<crate::resolve::Resolved> = vars
        .iter()
        .map(|v| crate::resolve::Resolved {
            var: v.clone(),
            value: crate::secret::SecretValue::from_string("x".to_string()),
        })
        .collect();
    crate::remote::fill(url, &parsed, &stand_ins).map_err(refused)?;
    let t = Templates {
        url: url.to_string(),
        headers: headers.to_vec(),
        moved: Vec::new(),
    };
    Ok(argv(&t, assignments, false))
}

/// Refuses a URL or header that already holds what scan would flag as a
/// plaintext secret: `add` writes only references (`%{VAR}` with
/// `--secret VAR`). The text found is never shown.
fn no_literal_secret(url: &str, headers: &[String]) -> Result<(), String> {
    use crate::scan::detect::{Field, scan_value};
    if !scan_value(Field::Url, url).is_empty() {
        return Err(
            "the URL holds what looks like a plaintext secret (not shown): write it as %{VAR} \
             and give --secret VAR"
                .into(),
        );
    }
    for line in headers {
        let (name, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let name = name.trim();
        let lower = name.to_ascii_lowercase();
        // a credential header with no %{VAR} in it is a literal credential
        let credential = [
            "authorization",
            "cookie",
            "key",
            "token",
            "secret",
            "password",
        ]
        .iter()
        .any(|w| lower.contains(w))
            && !value.contains("%{");
        if credential || !scan_value(Field::Header { name }, value.trim()).is_empty() {
            return Err(format!(
                "the header {name} holds what looks like a plaintext secret (not shown): write \
                 it as '{name}: ... %{{VAR}}' and give --secret VAR"
            ));
        }
    }
    Ok(())
}

/// The `connect` arguments (after the command): URL, then references, then
/// headers (each one `--header=Name: value` argument, so no value can read
/// as an option), then the transport when the entry named the legacy one.
pub(super) fn argv(t: &Templates<'_>, assignments: Vec<String>, sse: bool) -> Vec<String> {
    let mut out = vec!["connect".to_string(), t.url.clone()];
    out.extend(assignments);
    out.extend(t.headers.iter().map(|h| format!("--header={h}")));
    if sse {
        out.push("--transport".to_string());
        out.push("sse".to_string());
    }
    out
}

/// `piece` with each finding replaced by `%{VAR}` and the rest escaped;
/// `in_url`: the piece is the URL, where connect percent-encodes values.
fn fill<'a>(
    piece: &Piece<'a>,
    in_url: bool,
    taken: &mut Vec<String>,
    moved: &mut Vec<Moved<'a>>,
    name: &dyn Fn(&str) -> String,
) -> Result<String, String> {
    let text: &'a str = &piece.at.value;
    let mut hits = piece.findings.clone();
    hits.sort_by_key(|f| f.range.start);
    let mut out = String::new();
    let mut pos = piece.from;
    for f in hits {
        let r = f.range.clone();
        let (Some(head), Some(secret)) = (text.get(pos..r.start), text.get(r.clone())) else {
            return Err("overlapping findings in one value".into());
        };
        if secret.is_empty() || r.start < piece.from {
            return Err("the secret could not be located in its value".into());
        }
        if head.ends_with('%') {
            return Err(
                "a `%` right before the secret cannot be written in a %{VAR} template".into(),
            );
        }
        if in_url && !url_safe(secret) {
            return Err(format!(
                "the secret in the URL holds characters connect would percent-encode \
                 ({}); write it percent-decoded in a header, or protect the entry by hand",
                "only letters, digits and -._~ pass unchanged"
            ));
        }
        let var = unique(&name(&text[piece.from..r.start]), taken);
        taken.push(var.clone());
        out.push_str(&template::escape(head));
        out.push_str(&format!("%{{{var}}}"));
        moved.push(Moved {
            var,
            value: secret,
            finding: f,
        });
        pos = r.end;
    }
    out.push_str(&template::escape(text.get(pos..).unwrap_or_default()));
    Ok(out)
}

/// Characters that every percent-encoding of a URL position leaves as they are.
fn url_safe(secret: &str) -> bool {
    secret
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// The variable for a URL secret: the query parameter's name, else `URL_SECRET`.
fn url_var(head: &str) -> String {
    if let Some(before) = head.strip_suffix('=') {
        let key = before.rsplit(['?', '&', ';']).next().unwrap_or_default();
        if !key.is_empty() && !key.contains('/') {
            return var_name(key);
        }
    }
    "URL_SECRET".to_string()
}

/// connect reaches `https://` URLs, and `http://` only on loopback; the
/// secret must sit in the path or query, where connect fills templates.
fn check_url(url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        if !loopback(r) {
            return Err(
                "connect refuses plain http:// to a host other than loopback; switch the \
                 server URL to https:// first"
                    .into(),
            );
        }
        r
    } else {
        return Err("connect reaches https:// URLs only (http:// on loopback)".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains("%{") || authority.contains('@') {
        return Err(
            "the secret is in the URL's host or user info; connect fills only the path \
             and query: move it to a header"
                .into(),
        );
    }
    Ok(())
}

/// Whether the authority at the start of `rest` names a loopback host.
fn loopback(rest: &str) -> bool {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::finding::{Masked, Site};

    fn at(value: &str) -> Located {
        Located {
            value: value.to_string(),
            pointer: "/x".into(),
            line: 1,
            column: 1,
        }
    }

    fn finding(site: Site, range: std::ops::Range<usize>) -> Finding {
        Finding {
            rule: "r",
            title: "t",
            severity: crate::scan::detect::Severity::High,
            detector: crate::scan::detect::Detector::Heuristic,
            site,
            pointer: "/x".into(),
            line: 1,
            column: 1,
            range,
            masked: Masked::of("x"),
        }
    }

    #[test]
    fn templates_escape_and_name() {
        let url = at("https://h.example.com/m%{x}?a=1&token=Zk3pQ9vX2mLr8TfW");
        let fu = finding(Site::Url, 38..54);
        let hdr = at("Bearer abcdefgh %{y}");
        let fh = finding(Site::Header("Authorization".into()), 7..15);
        let ep = Endpoint {
            url: Piece::whole(&url, vec![&fu]),
            headers: vec![Header {
                name: "Authorization".into(),
                prefix: "",
                value: Piece::whole(&hdr, vec![&fh]),
            }],
            sse: true,
        };
        let mut taken = vec!["TOKEN".to_string()];
        let t = templates(&ep, &mut taken).expect("templates");
        assert_eq!(t.url, "https://h.example.com/m%%{x}?a=1&token=%{TOKEN_2}");
        assert_eq!(t.headers, ["Authorization: Bearer %{AUTHORIZATION} %%{y}"]);
        assert_eq!(t.moved[0].value, "Zk3pQ9vX2mLr8TfW");
        assert_eq!(t.moved[1].value, "abcdefgh");
        let argv = argv(&t, vec!["TOKEN_2=local://a".into()], true);
        assert_eq!(argv[0], "connect");
        assert_eq!(argv[2], "TOKEN_2=local://a");
        assert_eq!(
            argv[3],
            "--header=Authorization: Bearer %{AUTHORIZATION} %%{y}"
        );
        assert_eq!(&argv[4..], ["--transport", "sse"]);
    }

    #[test]
    fn urls_connect_refuses_are_refused() {
        assert!(check_url("http://127.0.0.1:8080/mcp").is_ok());
        assert!(check_url("http://localhost/mcp").is_ok());
        assert!(check_url("http://[::1]:9/mcp").is_ok());
        assert!(check_url("HTTPS://x.example.com/mcp?k=%{K}").is_ok());
        assert!(check_url("http://mcp.example.com/mcp").is_err());
        assert!(check_url("http://127.0.0.1.example.com/mcp").is_err());
        assert!(check_url("ws://127.0.0.1/mcp").is_err());
        assert!(check_url("https://u:%{P}@x.example.com/").is_err());
        assert_eq!(url_var("https://x/?a=1&api_key="), "API_KEY");
        assert_eq!(url_var("https://x/hooks/"), "URL_SECRET");
        assert!(!url_safe("ab+c/d"));
        assert!(url_safe("Ab-9._~"));
    }

    #[test]
    fn a_percent_before_the_secret_is_refused() {
        let v = at("x%abcdefgh");
        let u = at("https://x.example.com/");
        let f = finding(Site::Header("X-Key".into()), 2..10);
        let ep = Endpoint {
            url: Piece::whole(&u, vec![]),
            headers: vec![Header {
                name: "X-Key".into(),
                prefix: "",
                value: Piece::whole(&v, vec![&f]),
            }],
            sse: false,
        };
        assert!(templates(&ep, &mut Vec::new()).is_err());
    }
}
