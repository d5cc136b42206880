//! A remote entry (a `url` with secret headers or a secret in the URL)
//! rewritten as a stdio entry that starts `mcp-warden connect`, in the
//! client's own stdio shape: the URL and header keys removed, `type` (or
//! `transport`) set to the client's stdio spelling where the entry has one,
//! and `command` + `args` (Goose `cmd`, opencode one `command` array) added.
//!
//! Pure: plans edits and secrets; what connect cannot carry (a WebSocket
//! server, plain http to another host, headers the client fills from its
//! own environment or a helper) is refused with the reason.

use super::connect::{self, Endpoint, Header, Piece};
use super::server::{Ctx, Draft};
use crate::clients::Transport;
use crate::clients::edit::{self, Edit, Value};
use crate::scan::finding::{Finding, Masked, Site};

/// Whether this entry is protected through `connect`: a remote entry with a
/// URL, unless Claude Code's headersHelper was asked for.
pub(super) fn connects(ctx: &Ctx<'_>) -> bool {
    let helper = ctx.opts.remote_style == super::RemoteStyle::HeadersHelper
        && ctx.cfg.location.client == "claude-code";
    !ctx.stdio && ctx.server.url.is_some() && !helper
}

/// Plans the rewrite of a remote entry; an error refuses the whole entry.
pub(super) fn entry(
    ctx: &Ctx<'_>,
    d: &mut Draft,
    findings: &[Finding],
    original: &[u8],
) -> Result<(), String> {
    refusal(ctx, findings)?;
    let ep = endpoint(ctx, findings)?;
    for f in findings {
        if !ep.findings().any(|g| std::ptr::eq(g, f)) {
            d.skipped.push(ctx.skip(f, &unmovable(f)));
        }
    }
    let t = connect::templates(&ep, &mut d.taken)?;
    for m in &t.moved {
        d.add(ctx, &m.var, m.value, m.finding)?;
    }
    let mut argv = vec![ctx.opts.warden.to_string()];
    argv.extend(connect::argv(&t, d.assignments(), ep.sse));
    d.edits.extend(to_stdio(ctx, original, &argv)?);
    d.via = Some("mcp-warden connect");
    Ok(())
}

/// The URL and headers of the entry with the findings in each.
fn endpoint<'a>(ctx: &Ctx<'a>, findings: &'a [Finding]) -> Result<Endpoint<'a>, String> {
    let server = ctx.server;
    let url = server
        .url
        .as_ref()
        .ok_or_else(|| "the entry has no URL".to_string())?;
    let at_url = findings
        .iter()
        .filter(|f| f.site == Site::Url && f.pointer == url.pointer)
        .collect();
    // Each finding belongs to one header: a key given twice shares its
    // pointer, so the value's own text decides (the file is then refused
    // whole for the duplicate, but the plan must still be made).
    let mut used: Vec<*const Finding> = Vec::new();
    let mut headers = Vec::new();
    for (name, at) in &server.headers {
        let hits: Vec<&Finding> = findings
            .iter()
            .filter(|f| {
                f.pointer == at.pointer
                    && matches!(&f.site, Site::Header(n) if n == name)
                    && at
                        .value
                        .get(f.range.clone())
                        .is_some_and(|v| Masked::of(v) == f.masked)
                    && !used.contains(&std::ptr::from_ref(*f))
            })
            .collect();
        used.extend(hits.iter().map(|f| std::ptr::from_ref(*f)));
        // Codex's inline `bearer_token` is sent as `Authorization: Bearer TOKEN`.
        let prefix = if at.pointer.ends_with("/bearer_token") {
            "Bearer "
        } else {
            ""
        };
        headers.push(Header {
            name: name.clone(),
            prefix,
            value: Piece::whole(at, hits),
        });
    }
    Ok(Endpoint {
        url: Piece::whole(url, at_url),
        headers,
        sse: server.transport == Transport::Sse,
    })
}

/// Why the whole entry cannot be carried by connect, if it cannot.
fn refusal(ctx: &Ctx<'_>, findings: &[Finding]) -> Result<(), String> {
    let server = ctx.server;
    if server.transport == Transport::WebSocket {
        return Err(
            "a WebSocket server: connect speaks Streamable HTTP and HTTP+SSE only".to_string(),
        );
    }
    if server.headers_helper.is_some() {
        return Err(
            "the entry also has a headersHelper, which connect cannot run; put its headers \
             in the entry (or add the secret to the helper) first"
                .to_string(),
        );
    }
    if !server.forwarded_env.is_empty() {
        return Err(format!(
            "the entry also takes values from {}'s environment ({}), which connect cannot \
             read; store them with `mcp-warden secret set` and protect the entry by hand",
            ctx.cfg.location.client,
            server.forwarded_env.join(", ")
        ));
    }
    let uses_variable = server
        .headers
        .iter()
        .map(|(_, at)| at)
        .chain(server.url.iter())
        .any(|at| client_variable(&outside_findings(&at.value, &at.pointer, findings)));
    if uses_variable {
        return Err(
            "the URL or a header takes a value from the client's environment (${...}), \
             which the client may not expand in a command argument; replace it with the \
             value or protect the entry by hand"
                .to_string(),
        );
    }
    Ok(())
}

/// `text` with every finding at `pointer` blanked out (a secret may hold a `$`).
fn outside_findings(text: &str, pointer: &str, findings: &[Finding]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for f in findings.iter().filter(|f| f.pointer == pointer) {
        for b in bytes.iter_mut().take(f.range.end).skip(f.range.start) {
            *b = b' ';
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `${VAR}`, `${env:VAR}`, `$VAR`: the client fills it from its environment.
fn client_variable(text: &str) -> bool {
    text.match_indices('$').any(|(i, _)| {
        text[i + 1..]
            .chars()
            .next()
            .is_some_and(|c| c == '{' || c == '_' || c.is_ascii_alphabetic())
    })
}

/// The reason a finding outside the URL and headers stays.
fn unmovable(f: &Finding) -> String {
    match &f.site {
        Site::Env(_) => "env of a remote entry is not used by the client".to_string(),
        Site::Credential(key) => format!(
            "{key} is read by the client itself, not passed to a server process, so \
             mcp-warden cannot fill it at launch; keep it in the client's own secret storage"
        ),
        _ => "the secret is outside the entry's URL and headers".to_string(),
    }
}

/// The edits that turn the remote entry into a stdio entry launching `argv`.
fn to_stdio(ctx: &Ctx<'_>, original: &[u8], argv: &[String]) -> Result<Vec<Edit>, String> {
    let server = ctx.server;
    let client = ctx.cfg.location.client;
    let format = ctx.cfg.location.format;
    let url = server
        .url
        .as_ref()
        .ok_or_else(|| "the entry has no URL".to_string())?;
    let base = parent(&url.pointer).to_string();
    let has = |key: &str| edit::span(format, original, &format!("{base}/{key}")).is_ok();
    if ["command", "cmd", "args"].iter().any(|k| has(k)) {
        return Err("the entry has both a URL and a command; remove one first".into());
    }
    let mut edits = vec![Edit::Remove {
        pointer: url.pointer.clone(),
    }];
    let mut removed: Vec<String> = Vec::new();
    for (_, at) in &server.headers {
        let container = parent(&at.pointer);
        let target = if container == base {
            at.pointer.clone()
        } else {
            container.to_string()
        };
        if !removed.contains(&target) {
            removed.push(target.clone());
            edits.push(Edit::Remove { pointer: target });
        }
    }
    let stdio = if client == "opencode" {
        "local"
    } else {
        "stdio"
    };
    for key in ["type", "transport"] {
        if has(key) {
            edits.push(Edit::Set {
                pointer: format!("{base}/{key}"),
                value: Value::String(stdio.to_string()),
            });
        }
    }
    let insert = |key: &str, value: Value| Edit::Insert {
        pointer: base.clone(),
        key: key.to_string(),
        value,
        before: None,
    };
    match client {
        "opencode" => edits.push(insert("command", Value::StringArray(argv.to_vec()))),
        _ => {
            let command = if client == "goose" { "cmd" } else { "command" };
            edits.push(insert(command, Value::String(argv[0].clone())));
            edits.push(insert("args", Value::StringArray(argv[1..].to_vec())));
        }
    }
    Ok(edits)
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(p, _)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_variables() {
        assert!(client_variable("Bearer ${env:TOKEN}"));
        assert!(client_variable("Bearer $TOKEN"));
        assert!(!client_variable("Bearer abc$"));
        assert!(!client_variable("price $5"));
    }
}
