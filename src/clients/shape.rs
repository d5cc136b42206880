//! The writing side of the client shapes `read` understands: where a new
//! server entry goes in a client's file (the pointer of its servers
//! container) and the members of a stdio entry in that client's spelling
//! (VS Code and Claude Code name the transport, `"type": "stdio"`; the
//! others take `command` and `args` alone), for `add`.
//!
//! Only clients whose entries are `command` + `args` maps are offered;
//! the list-shaped, YAML and `command`-array clients return `None`. Pure.

use super::edit::Value;

/// The clients a new entry can be written for.
pub const ADDABLE: &[&str] = &[
    "claude-desktop",
    "claude-code",
    "cursor",
    "vscode",
    "vscode-insiders",
    "vscodium",
    "windsurf",
    "windsurf-jetbrains",
    "gemini-cli",
    "codex",
    "cline",
    "roo-code",
    "kilo-code",
    "kiro",
    "lm-studio",
    "factory",
    "kimi",
    "amazon-q",
    "trae",
    "qwen-code",
    "junie",
    "antigravity",
];

/// The pointer of the servers container a new entry of `client` goes in,
/// in a file named `file_name`; `None` when add cannot write that client.
pub fn container(client: &str, file_name: &str) -> Option<&'static str> {
    if !ADDABLE.contains(&client) {
        return None;
    }
    let vscode = matches!(client, "vscode" | "vscode-insiders" | "vscodium");
    Some(match (client, file_name) {
        ("codex", _) => "/mcp_servers",
        (_, "settings.json") if vscode => "/mcp/servers",
        (_, "mcp.json") if vscode => "/servers",
        _ => "/mcpServers",
    })
}

/// The members of a stdio entry launching `argv` (the program first).
pub fn stdio_entry(client: &str, argv: &[String]) -> Vec<(String, Value)> {
    let mut members = Vec::new();
    if matches!(
        client,
        "vscode" | "vscode-insiders" | "vscodium" | "claude-code"
    ) {
        members.push(("type".to_string(), Value::String("stdio".to_string())));
    }
    if let Some((program, args)) = argv.split_first() {
        members.push(("command".to_string(), Value::String(program.clone())));
        members.push(("args".to_string(), Value::StringArray(args.to_vec())));
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::catalog::format_of;
    use crate::clients::edit::{apply, insert_nested};
    use crate::clients::{Location, Scope, Transport};

    /// Every addable client reads back the entry written into its empty file.
    #[test]
    fn entries_read_back_as_the_clients_own() {
        let argv: Vec<String> = ["/bin/w", "run", "A=local://a", "--", "srv"]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        for client in ADDABLE {
            for file in ["mcp.json", "settings.json", "config.toml", ".claude.json"] {
                let Some(pointer) = container(client, file) else {
                    continue;
                };
                let format = format_of(file);
                if (format == crate::clients::Format::Toml) != (*client == "codex") {
                    continue;
                }
                let base: &[u8] = if format == crate::clients::Format::Toml {
                    b""
                } else {
                    b"{\n}\n"
                };
                let entry = Value::Object(stdio_entry(client, &argv));
                let edit = insert_nested(format, base, pointer, "n", entry).expect("planned");
                let bytes = apply(format, base, &[edit]).expect("applies");
                let loc = Location {
                    client,
                    scope: Scope::User,
                    path: format!("/h/{file}").into(),
                    format,
                };
                let cfg = crate::clients::read::parse(loc, &bytes).expect("parses");
                let s = cfg
                    .servers
                    .iter()
                    .find(|s| s.name == "n")
                    .expect("entry read");
                assert_eq!(s.transport, Transport::Stdio, "{client} {file}");
                assert_eq!(s.command.as_ref().map(|c| c.value.as_str()), Some("/bin/w"));
                assert_eq!(s.args.len(), 4, "{client} {file}");
            }
        }
    }
}
