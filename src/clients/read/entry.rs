//! One server entry's fields mapped onto [`Server`]: every client's spelling
//! of the launch command, arguments, environment, URL, headers, transport,
//! forwarded variable names and disabled flags, plus any other
//! credential-looking field of the entry.
//!
//! Works on one entry of the positioned tree; knows nothing of where the
//! entry sits in its file.

use super::containers::Context;
use super::tree::{Kind, Node, child, child_index};
use crate::clients::model::{Located, Scope, Server, Transport};

/// One entry; `None` when it is not a mapping.
pub(crate) fn entry(
    cx: &Context<'_>,
    name: String,
    pointer: String,
    line: u32,
    node: &Node,
    scope: Scope,
    project: Option<&str>,
) -> Option<Server> {
    node.entries()?;
    let mut server = Server {
        name,
        pointer: pointer.clone(),
        line,
        transport: Transport::Unknown,
        command: None,
        args: Vec::new(),
        env: Vec::new(),
        forwarded_env: Vec::new(),
        url: None,
        headers: Vec::new(),
        headers_helper: None,
        env_file: None,
        disabled: node.get("disabled").and_then(Node::as_bool) == Some(true)
            || node.get("enabled").and_then(Node::as_bool) == Some(false),
        scope,
        project: project.map(str::to_string),
        credentials: Vec::new(),
    };
    read_fields(cx, node, &pointer, &mut server);
    // Continue's legacy entries keep their launch fields under `transport`.
    if let Some(inner) = node.get("transport").filter(|t| t.entries().is_some()) {
        read_fields(cx, inner, &child(&pointer, "transport"), &mut server);
    }
    server.credentials = other_credentials(node, &pointer, &server);
    Some(server)
}

fn read_fields(cx: &Context<'_>, node: &Node, pointer: &str, server: &mut Server) {
    let at = |key: &str| child(pointer, key);
    let mut url_key = None;

    // stdio launch: `command` (string, or opencode's argv array) or Goose `cmd`.
    match node.get("command").map(|c| &c.kind) {
        Some(Kind::List(argv)) => {
            let base = at("command");
            for (i, item) in argv.iter().enumerate() {
                if let Some(v) = item.located(child_index(&base, i)) {
                    if i == 0 {
                        server.command = Some(v);
                    } else {
                        server.args.push(v);
                    }
                }
            }
        }
        // Zed's longtime form: `"command": {"path", "args", "env"}`.
        Some(Kind::Map(_)) => {
            if let Some(inner) = node.get("command") {
                let base = at("command");
                set(
                    &mut server.command,
                    inner
                        .get("path")
                        .and_then(|p| p.located_str(child(&base, "path"))),
                );
                read_args(inner, &base, server);
                server
                    .env
                    .extend(pairs(inner.get("env"), &child(&base, "env")));
            }
        }
        Some(_) => set(
            &mut server.command,
            node.get("command")
                .and_then(|c| c.located_str(at("command"))),
        ),
        None => set(
            &mut server.command,
            node.get("cmd").and_then(|c| c.located_str(at("cmd"))),
        ),
    }
    read_args(node, pointer, server);

    for key in ["env", "envs", "environment"] {
        server.env.extend(pairs(node.get(key), &at(key)));
    }
    for key in ["headers", "http_headers"] {
        server.headers.extend(pairs(node.get(key), &at(key)));
    }
    if let Some(options) = node.get("requestOptions") {
        server.headers.extend(pairs(
            options.get("headers"),
            &child(&at("requestOptions"), "headers"),
        ));
    }
    // Codex refuses an inline `bearer_token`, but one written there is still a
    // plaintext secret in the file: report it as the header it would become.
    if let Some(token) = node
        .get("bearer_token")
        .and_then(|t| t.located_str(at("bearer_token")))
    {
        server.headers.push(("Authorization".to_string(), token));
    }

    for key in ["env_vars", "env_keys"] {
        for item in node.get(key).and_then(Node::items).unwrap_or_default() {
            let name = item
                .as_str()
                .or_else(|| item.get("name").and_then(Node::as_str));
            if let Some(name) = name {
                server.forwarded_env.push(name.to_string());
            }
        }
    }
    if let Some(name) = node.get("bearer_token_env_var").and_then(Node::as_str) {
        server.forwarded_env.push(name.to_string());
    }
    for e in node
        .get("env_http_headers")
        .and_then(Node::entries)
        .unwrap_or_default()
    {
        if let Some(name) = e.value.as_str() {
            server.forwarded_env.push(name.to_string());
        }
    }

    for key in ["url", "serverUrl", "httpUrl", "uri"] {
        if server.url.is_none()
            && let Some(v) = node.get(key).and_then(|u| u.located_str(at(key)))
        {
            server.url = Some(v);
            url_key = Some(key);
        }
    }
    set(
        &mut server.headers_helper,
        node.get("headersHelper")
            .and_then(|h| h.located_str(at("headersHelper"))),
    );
    set(
        &mut server.env_file,
        node.get("envFile")
            .and_then(|h| h.located_str(at("envFile"))),
    );

    let declared = node
        .get("type")
        .or_else(|| node.get("transport"))
        .and_then(Node::as_str)
        .map(transport_of);
    let inferred = match url_key {
        Some("httpUrl") => Some(Transport::Http),
        Some("url") if cx.client == "gemini-cli" => Some(Transport::Sse),
        Some(_) => Some(Transport::Http),
        None if server.command.is_some() => Some(Transport::Stdio),
        None => None,
    };
    let chosen = match declared {
        Some(t) if t != Transport::Unknown => Some(t),
        _ => inferred.or(declared),
    };
    if let Some(t) = chosen {
        server.transport = t;
    }
}

/// `args` of `node` (at `pointer`), in order.
fn read_args(node: &Node, pointer: &str, server: &mut Server) {
    if let Some(args) = node.get("args") {
        let base = child(pointer, "args");
        match &args.kind {
            Kind::List(items) => server.args.extend(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, a)| a.located(child_index(&base, i))),
            ),
            // A single string where a list belongs still gets read.
            _ => server.args.extend(args.located_str(base)),
        }
    }
}

/// Keys whose values name environment variables instead of holding values.
const FORWARDING_KEYS: [&str; 4] = [
    "env_vars",
    "env_keys",
    "env_http_headers",
    "bearer_token_env_var",
];

/// Credential-looking strings of the entry that no field above has read.
fn other_credentials(node: &Node, pointer: &str, server: &Server) -> Vec<(String, Located)> {
    // Called before `server.credentials` is filled: these are the other fields.
    let read: Vec<&str> = server.values().map(|(_, l)| l.pointer.as_str()).collect();
    let mut out = Vec::new();
    for e in node.entries().unwrap_or_default() {
        if !FORWARDING_KEYS.contains(&e.key.as_str()) {
            out.extend(super::tokens::credentials_at(
                &e.value,
                &e.key,
                &child(pointer, &e.key),
            ));
        }
    }
    out.retain(|(_, l)| !read.contains(&l.pointer.as_str()));
    out
}

fn set(slot: &mut Option<Located>, value: Option<Located>) {
    if value.is_some() {
        *slot = value;
    }
}

/// A map of names to scalar values, in file order (non-scalars skipped).
fn pairs(map: Option<&Node>, pointer: &str) -> Vec<(String, Located)> {
    map.and_then(Node::entries)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| Some((e.key.clone(), e.value.located(child(pointer, &e.key))?)))
        .collect()
}

/// Every client's spelling of a transport.
fn transport_of(tag: &str) -> Transport {
    let t: String = tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    match t.as_str() {
        "stdio" | "local" | "command" => Transport::Stdio,
        "http" | "https" | "streamablehttp" | "streamable" | "remote" => Transport::Http,
        "sse" => Transport::Sse,
        "ws" | "websocket" => Transport::WebSocket,
        _ => Transport::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_spellings() {
        for (tag, t) in [
            ("stdio", Transport::Stdio),
            ("local", Transport::Stdio),
            ("streamable-http", Transport::Http),
            ("streamableHttp", Transport::Http),
            ("streamable_http", Transport::Http),
            ("remote", Transport::Http),
            ("sse", Transport::Sse),
            ("ws", Transport::WebSocket),
            ("builtin", Transport::Unknown),
        ] {
            assert_eq!(transport_of(tag), t, "{tag}");
        }
    }
}
