//! Header bridges (`mcp-remote`, `supergateway`, `mcp-proxy`): stdio programs
//! that reach a remote server for a client with the headers on their
//! command line. An entry whose every argument is understood is read as the
//! remote endpoint it reaches, so it can start `mcp-warden connect` instead
//! and no header ever sits in an argv.
//!
//! Pure argv reading. `None` for anything not fully understood (another
//! option, a wrapper in front, a header filled from the bridge's own
//! environment): such an entry keeps the `run` protection.

use super::argv::program_at;
use super::connect::{Endpoint, Header, Piece};
use crate::clients::{Located, Server};
use crate::scan::finding::{Finding, Site};
use crate::scan::{posture, runner};

/// Where a header sits among the arguments (indices into `Server::args`).
enum HeaderAt {
    /// `Name: value` in one argument, starting at byte `from` (after `--header=`).
    Line { arg: usize, from: usize },
    /// mcp-proxy's `--headers NAME VALUE`.
    Pair { name: usize, value: usize },
    /// supergateway's `--oauth2Bearer VALUE`.
    Bearer { value: usize },
}

/// What a bridge's command line says.
#[derive(Default)]
struct Parsed {
    url: Option<usize>,
    headers: Vec<HeaderAt>,
    sse: bool,
    /// Options of mcp-remote's own OAuth (a callback port or host, its
    /// timeout): meaningless to connect, which does its own.
    oauth_options: bool,
}

/// An `mcp-remote URL` entry with no header: the one shape whose OAuth
/// cache protect can find (its name is a hash of the URL alone).
pub(super) struct OAuthBridge<'a> {
    pub url: &'a Located,
    pub sse: bool,
}

/// The `mcp-remote URL [PORT] [options]` entry without headers, if this is one.
pub(super) fn oauth_bridge(server: &Server) -> Option<OAuthBridge<'_>> {
    let argv = posture::argv(server);
    if runner::wrapper(&argv).is_some() {
        return None;
    }
    let (start, program) = program_at(&argv)?;
    if program != "mcp-remote" {
        return None;
    }
    let rest: Vec<&str> = server
        .args
        .iter()
        .skip(start)
        .map(|a| a.value.as_str())
        .collect();
    let parsed = mcp_remote(&rest)?;
    if !parsed.headers.is_empty() {
        return None;
    }
    let url = server.args.get(start + parsed.url?)?;
    (url.value.contains("://") && !url.value.contains("${")).then_some(OAuthBridge {
        url,
        sse: parsed.sse,
    })
}

/// The endpoint a bridge entry reaches, when every argument is understood
/// and every finding of the entry sits in its URL or a header.
pub(super) fn endpoint<'a>(server: &'a Server, findings: &'a [Finding]) -> Option<Endpoint<'a>> {
    let argv = posture::argv(server);
    if runner::wrapper(&argv).is_some() {
        return None;
    }
    let (start, program) = program_at(&argv)?;
    // argv[start] is the bridge; its own arguments start at `server.args[start]`.
    let first = start;
    let rest: Vec<&str> = server
        .args
        .iter()
        .skip(first)
        .map(|a| a.value.as_str())
        .collect();
    let parsed = match program.as_str() {
        "mcp-remote" => mcp_remote(&rest),
        "supergateway" => supergateway(&rest),
        "mcp-proxy" => mcp_proxy(&rest),
        _ => None,
    }?;
    if parsed.oauth_options {
        return None;
    }
    build(server, findings, first, parsed)
}

/// The endpoint from parsed positions (relative to `first`).
fn build<'a>(
    server: &'a Server,
    findings: &'a [Finding],
    first: usize,
    parsed: Parsed,
) -> Option<Endpoint<'a>> {
    let arg = |i: usize| server.args.get(first + i);
    let hits = |at: &Located, from: usize| -> Vec<&'a Finding> {
        findings
            .iter()
            .filter(|f| f.pointer == at.pointer && f.range.start >= from)
            .collect()
    };
    let url = arg(parsed.url?)?;
    let mut headers = Vec::new();
    for h in parsed.headers {
        let header = match h {
            HeaderAt::Line { arg: i, from } => {
                let at = arg(i)?;
                let line = at.value.get(from..)?;
                let colon = line.find(':')?;
                let name = line[..colon].trim();
                let value_from = from + colon + 1;
                let lead = at.value[value_from..].len() - at.value[value_from..].trim_start().len();
                Header {
                    name: name.to_string(),
                    prefix: "",
                    value: Piece {
                        at,
                        from: value_from + lead,
                        findings: hits(at, value_from + lead),
                    },
                }
            }
            HeaderAt::Pair { name, value } => {
                let at = arg(value)?;
                Header {
                    name: arg(name)?.value.clone(),
                    prefix: "",
                    value: Piece::whole(at, hits(at, 0)),
                }
            }
            HeaderAt::Bearer { value } => {
                let at = arg(value)?;
                Header {
                    name: "Authorization".to_string(),
                    prefix: "Bearer ",
                    value: Piece::whole(at, hits(at, 0)),
                }
            }
        };
        if !token(&header.name) || header.value.at.value.contains("${") {
            return None;
        }
        headers.push(header);
    }
    if url.value.contains("${") || !url.value.contains("://") {
        return None;
    }
    let ep = Endpoint {
        url: Piece::whole(url, hits(url, 0)),
        headers,
        sse: parsed.sse,
    };
    // Every finding must be carried; an env secret or another argument's stays with `run`.
    let all_args = findings.iter().all(|f| matches!(f.site, Site::Arg(_)));
    (all_args && ep.findings().count() == findings.len()).then_some(ep)
}

/// An HTTP header name.
fn token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `mcp-remote URL [PORT] [--header "Name: v"]... [--transport T] [--allow-http] [--debug]
/// [--silent] [--host H] [--auth-timeout S]`.
fn mcp_remote(args: &[&str]) -> Option<Parsed> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            "--header" => {
                p.headers.push(HeaderAt::Line {
                    arg: i + 1,
                    from: 0,
                });
                i += 1;
            }
            "--transport" => {
                p.sse = match *args.get(i + 1)? {
                    "sse-only" => true,
                    "http-only" | "http-first" | "sse-first" => false,
                    _ => return None,
                };
                i += 1;
            }
            "--allow-http" | "--debug" | "--silent" => {}
            "--host" | "--auth-timeout" => {
                args.get(i + 1)?;
                p.oauth_options = true;
                i += 1;
            }
            a if a.starts_with("--header=") => p.headers.push(HeaderAt::Line {
                arg: i,
                from: "--header=".len(),
            }),
            a if !a.starts_with('-') && p.url.is_none() => p.url = Some(i),
            a if p.url == Some(i.wrapping_sub(1))
                && !a.is_empty()
                && a.bytes().all(|b| b.is_ascii_digit()) =>
            {
                p.oauth_options = true;
            }
            _ => return None,
        }
        i += 1;
    }
    Some(p)
}

/// `supergateway --sse URL | --streamableHttp URL [--header "Name: v"]... [--oauth2Bearer V]`.
fn supergateway(args: &[&str]) -> Option<Parsed> {
    let mut p = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            "--sse" | "--streamableHttp" if p.url.is_none() => {
                p.sse = args[i] == "--sse";
                args.get(i + 1)?;
                p.url = Some(i + 1);
                i += 1;
            }
            "--header" => {
                p.headers.push(HeaderAt::Line {
                    arg: i + 1,
                    from: 0,
                });
                i += 1;
            }
            "--oauth2Bearer" => {
                p.headers.push(HeaderAt::Bearer { value: i + 1 });
                i += 1;
            }
            "--outputTransport" if args.get(i + 1) == Some(&"stdio") => i += 1,
            "--logLevel" => i += 1,
            a if a.starts_with("--header=") => p.headers.push(HeaderAt::Line {
                arg: i,
                from: "--header=".len(),
            }),
            _ => return None,
        }
        i += 1;
    }
    Some(p)
}

/// `mcp-proxy [--headers NAME VALUE]... [--transport sse|streamablehttp] URL`.
fn mcp_proxy(args: &[&str]) -> Option<Parsed> {
    let mut p = Parsed {
        sse: true,
        ..Parsed::default()
    };
    let mut i = 0;
    while i < args.len() {
        match args[i] {
            "--headers" | "-H" => {
                args.get(i + 2)?;
                p.headers.push(HeaderAt::Pair {
                    name: i + 1,
                    value: i + 2,
                });
                i += 2;
            }
            "--transport" => {
                p.sse = match *args.get(i + 1)? {
                    "sse" => true,
                    "streamablehttp" => false,
                    _ => return None,
                };
                i += 1;
            }
            "--debug" => {}
            a if !a.starts_with('-') && p.url.is_none() => p.url = Some(i),
            _ => return None,
        }
        i += 1;
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_command_lines() {
        let p = mcp_remote(&["https://x/sse", "--header", "A: b", "--header=C: d"]).unwrap();
        assert_eq!(p.url, Some(0));
        assert_eq!(p.headers.len(), 2);
        assert!(!p.sse);
        assert!(
            mcp_remote(&["https://x/sse", "3334"])
                .unwrap()
                .oauth_options
        );
        assert!(mcp_remote(&["https://x/sse", "x", "3334"]).is_none());
        assert!(mcp_remote(&["https://x/sse", "--static-oauth-client-info", "{}"]).is_none());
        let p = supergateway(&["--sse", "https://x/sse", "--oauth2Bearer", "t"]).unwrap();
        assert_eq!(p.url, Some(1));
        assert!(p.sse);
        assert!(supergateway(&["--stdio", "npx x"]).is_none());
        let p = mcp_proxy(&["--headers", "A", "b", "https://x/sse"]).unwrap();
        assert_eq!(p.url, Some(3));
        assert!(p.sse);
        let p = mcp_proxy(&["--transport", "streamablehttp", "https://x/mcp"]).unwrap();
        assert!(!p.sse);
        assert!(mcp_proxy(&["--headers", "A"]).is_none());
    }
}
