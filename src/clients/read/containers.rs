//! Client shapes: where each client keeps its server entries inside a parsed
//! document (`mcpServers`, `servers`, `mcp.servers`, `context_servers`,
//! `extensions`, `mcp_servers`, `mcp`, `amp.mcpServers`,
//! `projects.<path>.mcpServers`, lists with `name`, flat plugin files).
//!
//! Works on the positioned tree only (format-independent); each entry is
//! handed to `super::entry`. One entry of an unexpected shape is skipped;
//! the rest of the file is still read.

use super::entry::entry;
use super::tree::{Entry, Kind, Node, child, child_index};
use crate::clients::model::{Scope, Server};

/// What the servers of one file are read with.
pub(crate) struct Context<'a> {
    pub client: &'a str,
    pub scope: Scope,
    /// The file's name (`settings.json`, `.claude.json`, ...).
    pub file_name: &'a str,
}

/// The servers and VS Code input ids declared in `root`.
pub(crate) fn read(cx: &Context<'_>, root: &Node) -> (Vec<Server>, Vec<String>) {
    let mut servers = Vec::new();
    let mut inputs = Vec::new();
    let mut add =
        |container: Option<&Node>, pointer: String, scope: Scope, project: Option<&str>| {
            if let Some(node) = container {
                collect(cx, node, &pointer, scope, project, &mut servers);
            }
        };
    match cx.client {
        "vscode" | "vscode-insiders" | "vscodium" if cx.file_name == "settings.json" => {
            let mcp = root.get("mcp");
            add(
                mcp.and_then(|m| m.get("servers")),
                "/mcp/servers".into(),
                cx.scope,
                None,
            );
            inputs = input_ids(mcp.and_then(|m| m.get("inputs")));
        }
        "zed" => add(
            root.get("context_servers"),
            "/context_servers".into(),
            cx.scope,
            None,
        ),
        "codex" | "mistral-vibe" => add(
            root.get("mcp_servers"),
            "/mcp_servers".into(),
            cx.scope,
            None,
        ),
        "goose" => add(root.get("extensions"), "/extensions".into(), cx.scope, None),
        "opencode" | "crush" => add(root.get("mcp"), "/mcp".into(), cx.scope, None),
        "amp" => {
            add(
                root.get("amp.mcpServers"),
                child("", "amp.mcpServers"),
                cx.scope,
                None,
            );
            add(
                root.get("amp").and_then(|a| a.get("mcpServers")),
                "/amp/mcpServers".into(),
                cx.scope,
                None,
            );
        }
        "continue" => {
            add(root.get("mcpServers"), "/mcpServers".into(), cx.scope, None);
            add(
                root.get("experimental")
                    .and_then(|e| e.get("modelContextProtocolServers")),
                "/experimental/modelContextProtocolServers".into(),
                cx.scope,
                None,
            );
            if root.get("mcpServers").is_none() && root.get("experimental").is_none() {
                add(flat(root), String::new(), cx.scope, None);
            }
        }
        _ => {
            add(root.get("mcpServers"), "/mcpServers".into(), cx.scope, None);
            let settings_file = cx.file_name == "settings.json" || cx.file_name == ".claude.json";
            if !settings_file {
                add(root.get("servers"), "/servers".into(), cx.scope, None);
                inputs = input_ids(root.get("inputs"));
            }
            if cx.client == "claude-code" && cx.file_name == ".claude.json" {
                for project in root
                    .get("projects")
                    .and_then(Node::entries)
                    .unwrap_or_default()
                {
                    let pointer = child(&child("/projects", &project.key), "mcpServers");
                    add(
                        project.value.get("mcpServers"),
                        pointer,
                        Scope::Local,
                        Some(&project.key),
                    );
                }
            }
            let wrapped = root.get("mcpServers").is_some() || root.get("servers").is_some();
            if cx.scope == Scope::Plugin && !wrapped {
                add(flat(root), String::new(), cx.scope, None);
            }
        }
    }
    (servers, inputs)
}

/// `root` itself when it is a flat map of entries (`{"name": {"command": ...}}`),
/// the form plugin `.mcp.json` files and Continue block files may take.
fn flat(root: &Node) -> Option<&Node> {
    let entries = root.entries()?;
    let looks_like_entry = |n: &Node| {
        ["command", "url", "type", "serverUrl", "httpUrl"]
            .iter()
            .any(|k| n.get(k).is_some())
    };
    (!entries.is_empty() && entries.iter().all(|e| looks_like_entry(&e.value))).then_some(root)
}

fn input_ids(inputs: Option<&Node>) -> Vec<String> {
    inputs
        .and_then(Node::items)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get("id").and_then(Node::as_str).map(str::to_string))
        .collect()
}

/// Entries of a container: a map keyed by name, or a list of entries with `name`.
fn collect(
    cx: &Context<'_>,
    container: &Node,
    pointer: &str,
    scope: Scope,
    project: Option<&str>,
    out: &mut Vec<Server>,
) {
    match &container.kind {
        Kind::Map(entries) => {
            for Entry {
                key, line, value, ..
            } in entries
            {
                if let Some(server) = entry(
                    cx,
                    key.clone(),
                    child(pointer, key),
                    *line,
                    value,
                    scope,
                    project,
                ) {
                    out.push(server);
                }
            }
        }
        Kind::List(items) => {
            for (i, item) in items.iter().enumerate() {
                let name = item
                    .get("name")
                    .and_then(Node::scalar_text)
                    .unwrap_or_else(|| i.to_string());
                if let Some(server) = entry(
                    cx,
                    name,
                    child_index(pointer, i),
                    item.line,
                    item,
                    scope,
                    project,
                ) {
                    out.push(server);
                }
            }
        }
        _ => {}
    }
}
