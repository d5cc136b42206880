//! Reader tests: formats, client shapes, positions, and hostile input.

use std::path::PathBuf;

use super::{MAX_CONFIG_BYTES, max_bytes, parse};
use crate::clients::model::{ConfigFile, Format, Location, ReadError, Scope, Server, Transport};

fn loc(client: &'static str, scope: Scope, name: &str) -> Location {
    let format = crate::clients::catalog::format_of(name);
    Location {
        client,
        scope,
        path: PathBuf::from("/h").join(name),
        format,
    }
}

fn read(client: &'static str, name: &str, text: &str) -> ConfigFile {
    match parse(loc(client, Scope::User, name), text.as_bytes()) {
        Ok(file) => file,
        Err(e) => panic!("{client} {name}: {e}"),
    }
}

fn server<'a>(file: &'a ConfigFile, name: &str) -> &'a Server {
    match file.servers.iter().find(|s| s.name == name) {
        Some(s) => s,
        None => panic!("no server {name}"),
    }
}

fn env<'a>(s: &'a Server, name: &str) -> Option<&'a str> {
    s.env
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.value.as_str())
}

#[test]
fn jsonc_comments_trailing_commas_and_positions() {
    let text = "// top\n{\n  /* block */ \"mcpServers\": {\n    \"a/b~c\": {\n      \"command\": \"npx\", // why\n      \"env\": { \"K\": \"v\", },\n    },\n  },\n}\n";
    let file = read("cursor", "mcp.json", text);
    let s = server(&file, "a/b~c");
    assert_eq!(s.pointer, "/mcpServers/a~1b~0c");
    assert_eq!(s.line, 4);
    let k = &s.env[0].1;
    assert_eq!(
        (k.pointer.as_str(), k.line, k.column),
        ("/mcpServers/a~1b~0c/env/K", 6, 21)
    );
    assert_eq!(s.transport, Transport::Stdio);
}

#[test]
fn crlf_bom_and_utf16() {
    let text = "{\r\n  \"mcpServers\": {\r\n    \"x\": { \"url\": \"https://e.example/mcp\" }\r\n  }\r\n}\r\n";
    let plain = read("cursor", "mcp.json", text);
    let url = |f: &ConfigFile| f.servers[0].url.as_ref().map(|u| (u.line, u.column));
    assert_eq!(url(&plain), Some((3, 19)));

    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    let with_bom = parse(loc("cursor", Scope::User, "mcp.json"), &bom);
    assert_eq!(with_bom.ok().as_ref().and_then(url), Some((3, 19)));

    let mut utf16 = b"\xFF\xFE".to_vec();
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    let wide = parse(loc("cursor", Scope::User, "mcp.json"), &utf16);
    assert_eq!(wide.ok().as_ref().and_then(url), Some((3, 19)));
}

#[test]
fn empty_files_and_missing_containers_read_as_no_servers() {
    for text in [
        "",
        "  \n",
        "// nothing yet\n",
        "{}",
        "{\"editor.fontSize\": 14}",
    ] {
        let file = read("vscode", "settings.json", text);
        assert!(file.servers.is_empty() && file.inputs.is_empty());
    }
    assert!(read("codex", "config.toml", "").servers.is_empty());
    assert!(read("goose", "config.yaml", "").servers.is_empty());
    assert!(
        read("goose", "config.yaml", "# nothing\n")
            .servers
            .is_empty()
    );
}

#[test]
fn too_large_is_refused_before_reading() {
    let ordinary = loc("cursor", Scope::User, "mcp.json");
    assert_eq!(max_bytes(&ordinary), 16 * 1024 * 1024);
    let big = vec![b' '; 16 * 1024 * 1024 + 1];
    assert!(matches!(
        parse(ordinary, &big),
        Err(ReadError::TooLarge { limit }) if limit == 16 * 1024 * 1024
    ));
    let claude = loc("claude-code", Scope::User, ".claude.json");
    assert_eq!(max_bytes(&claude), MAX_CONFIG_BYTES);
    // A bloated ~/.claude.json (history next to the servers) is still read.
    let mut text = String::from("{\"projects\": {\"/p\": {\"history\": [");
    let entry = format!("{{\"display\": \"{}\"}},", "x".repeat(1000));
    while text.len() < 20 * 1024 * 1024 {
        text.push_str(&entry);
    }
    text.push_str("{}], \"mcpServers\": {\"s\": {\"command\": \"a\", \"env\": {\"K\": \"v\"}}}}}, \"mcpServers\": {}}");
    let file = parse(claude, text.as_bytes());
    let servers = file.map(|f| {
        f.servers
            .iter()
            .map(|s| s.env[0].1.line)
            .collect::<Vec<_>>()
    });
    assert_eq!(servers.ok(), Some(vec![1]));
}

#[test]
fn invalid_utf8_is_a_positioned_syntax_error() {
    let bytes = b"{\n  \"a\": \"\xFF\"\n}";
    match parse(loc("cursor", Scope::User, "mcp.json"), bytes) {
        Err(ReadError::Syntax { line, column, .. }) => assert_eq!((line, column), (2, 9)),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn syntax_errors_name_the_format_and_never_the_content() {
    let secret = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
    for (name, text) in [
        (
            "mcp.json",
            format!("{{\"mcpServers\": {{\"x\": {{\"env\": {{\"K\": \"{secret}"),
        ),
        (
            "mcp.json",
            format!("{{\"K\": \"{secret}\" \"L\": \"\\u{secret}\"}}"),
        ),
        (
            "config.toml",
            format!("[mcp_servers.x]\nenv = {{ K = \"{secret}\n"),
        ),
        ("config.toml", format!("K = {secret}\n")),
        (
            "config.yaml",
            format!("extensions:\n  x:\n    envs: {{K: \"{secret}\n"),
        ),
        ("config.yaml", format!("extensions: [\n  {secret}: : :\n")),
    ] {
        match parse(loc("codex", Scope::User, name), text.as_bytes()) {
            Err(e @ ReadError::Syntax { .. }) => {
                let shown = e.to_string();
                assert!(!shown.contains("sk_live"), "{name}: {shown}");
                assert!(!shown.contains("4eC39"), "{name}: {shown}");
            }
            other => panic!("{name}: unexpected {other:?}"),
        }
    }
}

#[test]
fn hostile_nesting_does_not_overflow() {
    let json = format!("{{\"mcpServers\": {}", "[".repeat(1_000_000));
    assert!(matches!(
        parse(loc("cursor", Scope::User, "mcp.json"), json.as_bytes()),
        Err(ReadError::Syntax { .. })
    ));
    let yaml = format!("extensions: {}", "[".repeat(1_000_000));
    assert!(parse(loc("goose", Scope::User, "config.yaml"), yaml.as_bytes()).is_err());
    let toml = format!("a = {}", "[".repeat(1_000_000));
    assert!(parse(loc("codex", Scope::User, "config.toml"), toml.as_bytes()).is_err());
    // Deep but legal nesting outside the server entries is fine.
    let deep = format!(
        "{{\"other\": {}1{}, \"mcpServers\": {{\"x\": {{\"command\": \"a\"}}}}}}",
        "[".repeat(90),
        "]".repeat(90)
    );
    assert_eq!(read("cursor", "mcp.json", &deep).servers.len(), 1);
}

#[test]
fn a_top_level_that_is_not_a_mapping_is_a_shape_error() {
    for text in ["[1, 2]", "\"x\"", "42"] {
        assert!(matches!(
            parse(loc("cursor", Scope::User, "mcp.json"), text.as_bytes()),
            Err(ReadError::Shape(_))
        ));
    }
    // Token stores may be lists.
    let tokens = parse(
        loc("gemini-cli", Scope::TokenStore, "mcp-oauth-tokens.json"),
        br#"[{"token": {"accessToken": "ya29.abc", "tokenType": "Bearer"}}]"#,
    );
    assert_eq!(tokens.map(|f| f.credentials.len()).ok(), Some(1));
}

#[test]
fn a_bad_entry_is_skipped_not_the_file() {
    let text = r#"{"mcpServers": {"bad": "x", "list": [1], "ok": {"command": "a",
      "args": ["-y", 8080, true, null, {"o": 1}],
      "env": {"S": "v", "N": 5, "F": 1.5, "B": false, "Z": null, "O": {"x": 1}}}}}"#;
    let file = read("cursor", "mcp.json", text);
    assert_eq!(file.servers.len(), 1);
    let ok = server(&file, "ok");
    let args: Vec<_> = ok.args.iter().map(|a| a.value.as_str()).collect();
    assert_eq!(args, ["-y", "8080", "true"]);
    assert_eq!(ok.args[1].pointer, "/mcpServers/ok/args/1");
    let env: Vec<_> = ok
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(env, [("S", "v"), ("N", "5"), ("F", "1.5"), ("B", "false")]);
    // A container of the wrong type yields no servers, not an error.
    assert!(
        read("cursor", "mcp.json", r#"{"mcpServers": "nope"}"#)
            .servers
            .is_empty()
    );
}

#[test]
fn transports_and_url_fields() {
    let text = r#"{"mcpServers": {
      "a": {"type": "http", "url": "https://a"},
      "b": {"type": "sse", "url": "https://b"},
      "c": {"type": "ws", "url": "wss://c"},
      "d": {"url": "https://d"},
      "e": {"serverUrl": "https://e"},
      "f": {"command": "x"},
      "g": {"type": "streamableHttp", "url": "https://g"},
      "h": {"type": "weird"}
    }}"#;
    let file = read("cline", "cline_mcp_settings.json", text);
    let t: Vec<_> = file.servers.iter().map(|s| s.transport).collect();
    use Transport::*;
    assert_eq!(t, [Http, Sse, WebSocket, Http, Http, Stdio, Http, Unknown]);
    assert_eq!(
        server(&file, "e").url.as_ref().map(|u| u.pointer.as_str()),
        Some("/mcpServers/e/serverUrl")
    );

    let gemini = read(
        "gemini-cli",
        "settings.json",
        r#"{"mcpServers": {"s": {"url": "https://s"}, "h": {"httpUrl": "https://h"}}}"#,
    );
    let t: Vec<_> = gemini.servers.iter().map(|s| s.transport).collect();
    assert_eq!(t, [Sse, Http]);
}

#[test]
fn claude_code_user_file_reads_local_entries() {
    let text = r#"{"mcpServers": {"u": {"command": "a"}},
      "projects": {"/p/a~b": {"mcpServers": {"l": {"command": "b", "env": {"K": "v"}}}},
                   "/p/none": {"allowedTools": []}}}"#;
    let file = read("claude-code", ".claude.json", text);
    assert_eq!(file.servers.len(), 2);
    assert_eq!(file.servers[0].scope, Scope::User);
    let l = server(&file, "l");
    assert_eq!(
        (l.scope, l.project.as_deref()),
        (Scope::Local, Some("/p/a~b"))
    );
    assert_eq!(l.env[0].1.pointer, "/projects/~1p~1a~0b/mcpServers/l/env/K");
}

#[test]
fn claude_code_headers_helper_and_plugins() {
    let text = r#"{"mcpServers": {"r": {"type": "http", "url": "https://x", "headersHelper": "./tok.sh"}}}"#;
    let file = read("claude-code", ".mcp.json", text);
    assert_eq!(
        file.servers[0]
            .headers_helper
            .as_ref()
            .map(|h| h.value.as_str()),
        Some("./tok.sh")
    );
    let flat = r#"{"a": {"command": "x"}, "b": {"url": "https://b"}}"#;
    let plugin = parse(
        loc("claude-code", Scope::Plugin, ".mcp.json"),
        flat.as_bytes(),
    );
    let names: Option<Vec<String>> = plugin
        .ok()
        .map(|f| f.servers.iter().map(|s| s.pointer.clone()).collect());
    assert_eq!(names, Some(vec!["/a".to_string(), "/b".to_string()]));
    // The same flat text is not a project file's shape.
    assert!(read("claude-code", ".mcp.json", flat).servers.is_empty());
    // plugin.json keeps them under mcpServers (or names a file: no servers).
    let wrapped = parse(
        loc("claude-code", Scope::Plugin, "plugin.json"),
        br#"{"name": "p", "mcpServers": {"a": {"command": "x"}}}"#,
    );
    assert_eq!(wrapped.map(|f| f.servers.len()).ok(), Some(1));
    let named = parse(
        loc("claude-code", Scope::Plugin, "plugin.json"),
        br#"{"name": "p", "version": "1.0.0", "mcpServers": "./mcp.json"}"#,
    );
    assert_eq!(named.map(|f| f.servers.len()).ok(), Some(0));
}

#[test]
fn vscode_mcp_json_and_legacy_settings() {
    let text = r#"{"inputs": [{"type": "promptString", "id": "k", "password": true}, {"id": 5}],
      "servers": {"s": {"command": "x", "envFile": "${workspaceFolder}/.env", "env": {"K": "${input:k}"}}}}"#;
    let file = read("vscode", "mcp.json", text);
    assert_eq!(file.inputs, ["k"]);
    let s = server(&file, "s");
    assert_eq!(
        s.env_file.as_ref().map(|e| e.pointer.as_str()),
        Some("/servers/s/envFile")
    );
    let legacy = r#"{"mcp": {"inputs": [{"id": "b"}], "servers": {"t": {"command": "y"}}}, "servers": {"no": {}}}"#;
    let file = read("vscode", "settings.json", legacy);
    assert_eq!(file.inputs, ["b"]);
    assert_eq!(file.servers.len(), 1);
    assert_eq!(file.servers[0].pointer, "/mcp/servers/t");
}

#[test]
fn crush_mcp_map() {
    let text = r#"{"$schema": "https://charm.land/crush.json", "mcp": {
      "fs": {"type": "stdio", "command": "node", "args": ["/srv/fs.js"], "env": {"K": "v"}},
      "gh": {"type": "http", "url": "https://api.githubcopilot.com/mcp/", "headers": {"Authorization": "Bearer $GH_PAT"}}}}"#;
    let file = read("crush", "crush.json", text);
    let t: Vec<_> = file
        .servers
        .iter()
        .map(|s| (s.pointer.as_str(), s.transport))
        .collect();
    assert_eq!(
        t,
        [("/mcp/fs", Transport::Stdio), ("/mcp/gh", Transport::Http)]
    );
}

#[test]
fn zed_nested_command_form() {
    let text = r#"{"context_servers": {"gh": {
      "command": {"path": "/usr/bin/gh-mcp", "args": ["stdio"], "env": {"GITHUB_TOKEN": "t"}},
      "settings": {}}}}"#;
    let file = read("zed", "settings.json", text);
    let gh = server(&file, "gh");
    assert_eq!(gh.transport, Transport::Stdio);
    let got: Vec<_> = gh.values().map(|(_, l)| l.pointer.as_str()).collect();
    assert_eq!(
        got,
        [
            "/context_servers/gh/command/path",
            "/context_servers/gh/command/args/0",
            "/context_servers/gh/command/env/GITHUB_TOKEN",
        ]
    );
    assert!(gh.credentials.is_empty());
}

#[test]
fn zed_and_amp_containers() {
    let zed = read(
        "zed",
        "settings.json",
        r#"{"mcpServers": {"no": {"command": "x"}}, "context_servers": {"z": {"command": "y", "enabled": false}}}"#,
    );
    assert_eq!(zed.servers.len(), 1);
    assert!(zed.servers[0].disabled);
    let amp = read(
        "amp",
        "settings.json",
        r#"{"amp.mcpServers": {"a": {"command": "x"}}, "amp": {"mcpServers": {"b": {"url": "https://b"}}}}"#,
    );
    let p: Vec<_> = amp.servers.iter().map(|s| s.pointer.as_str()).collect();
    assert_eq!(p, ["/amp.mcpServers/a", "/amp/mcpServers/b"]);
}

#[test]
fn codex_toml_fields() {
    let text = r#"
[mcp_servers.a]
command = "npx"
args = ["-y", "pkg"]
env_vars = ["A", { name = "B", source = "local" }, 7]
cwd = "/tmp"

[mcp_servers.a.env]
TOKEN = "t"
PORT = 8080

[mcp_servers.b]
url = "https://b.example/mcp"
bearer_token_env_var = "B_TOKEN"
env_http_headers = { "X-Key" = "B_KEY" }
http_headers = { "X-Team" = "core" }
bearer_token = "inline"
headers = { "Ignored-By-Codex" = "still-read" }
enabled = false
"#;
    let file = read("codex", "config.toml", text);
    let a = server(&file, "a");
    assert_eq!(a.forwarded_env, ["A", "B"]);
    assert_eq!(env(a, "PORT"), Some("8080"));
    let token = &a.env[0].1;
    assert_eq!(
        (token.pointer.as_str(), token.line, token.column),
        ("/mcp_servers/a/env/TOKEN", 9, 9)
    );
    assert_eq!(a.line, 2);
    let b = server(&file, "b");
    assert_eq!(b.transport, Transport::Http);
    assert_eq!(b.forwarded_env, ["B_TOKEN", "B_KEY"]);
    let headers: Vec<_> = b
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.pointer.as_str()))
        .collect();
    assert_eq!(
        headers,
        [
            (
                "Ignored-By-Codex",
                "/mcp_servers/b/headers/Ignored-By-Codex"
            ),
            ("X-Team", "/mcp_servers/b/http_headers/X-Team"),
            ("Authorization", "/mcp_servers/b/bearer_token"),
        ]
    );
    assert!(b.disabled);
}

#[test]
fn codex_dotted_and_inline_tables_point_the_same_way() {
    let text = "mcp_servers.x.command = \"a\"\nmcp_servers.x.env.K = \"v\"\n[mcp_servers.y]\nenv = { K = \"w\" }\n";
    let file = read("codex", "config.toml", text);
    let p: Vec<_> = file
        .servers
        .iter()
        .map(|s| s.env[0].1.pointer.as_str())
        .collect();
    assert_eq!(p, ["/mcp_servers/x/env/K", "/mcp_servers/y/env/K"]);
    assert_eq!(
        (
            file.servers[0].env[0].1.line,
            file.servers[0].env[0].1.column
        ),
        (2, 23)
    );
}

#[test]
fn mistral_vibe_array_of_tables() {
    let text = "[[mcp_servers]]\nname = \"f\"\ntransport = \"stdio\"\ncommand = \"uvx\"\n\n[[mcp_servers]]\nname = \"r\"\ntransport = \"http\"\nurl = \"https://r\"\n";
    let file = read("mistral-vibe", "config.toml", text);
    let s: Vec<_> = file
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.pointer.as_str(), s.transport))
        .collect();
    assert_eq!(
        s,
        [
            ("f", "/mcp_servers/0", Transport::Stdio),
            ("r", "/mcp_servers/1", Transport::Http)
        ]
    );
}

#[test]
fn goose_extensions() {
    let text = "extensions:\n  gh:\n    type: stdio\n    cmd: npx\n    args: [-y, pkg]\n    envs:\n      TOKEN: 'abc'\n      N: 3\n      E: ~\n    env_keys: [GH_TOKEN]\n    enabled: false\n  web:\n    type: streamable_http\n    uri: https://w.example/mcp\n    headers:\n      Authorization: Bearer x\n";
    let file = read("goose", "config.yaml", text);
    let gh = server(&file, "gh");
    assert_eq!(
        gh.command.as_ref().map(|c| c.pointer.as_str()),
        Some("/extensions/gh/cmd")
    );
    assert_eq!(gh.forwarded_env, ["GH_TOKEN"]);
    assert!(gh.disabled);
    let envs: Vec<_> = gh
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.value.as_str(), v.line, v.column))
        .collect();
    assert_eq!(envs, [("TOKEN", "abc", 7, 14), ("N", "3", 8, 10)]);
    let web = server(&file, "web");
    assert_eq!(web.transport, Transport::Http);
    assert_eq!(
        web.url.as_ref().map(|u| u.pointer.as_str()),
        Some("/extensions/web/uri")
    );
    assert_eq!(web.headers[0].1.value, "Bearer x");
}

#[test]
fn opencode_argv_environment_and_types() {
    let text = r#"{
  "mcp": {
    "l": { "type": "local", "command": ["bunx", "pkg", "--flag"], "environment": { "K": "v" }, "enabled": false },
    "r": { "type": "remote", "url": "https://r", "headers": { "Authorization": "Bearer {env:T}" } },
  },
}"#;
    let file = read("opencode", "opencode.jsonc", text);
    let l = server(&file, "l");
    assert_eq!(l.transport, Transport::Stdio);
    assert_eq!(l.command.as_ref().map(|c| c.value.as_str()), Some("bunx"));
    let args: Vec<_> = l.args.iter().map(|a| a.pointer.as_str()).collect();
    assert_eq!(args, ["/mcp/l/command/1", "/mcp/l/command/2"]);
    assert_eq!(env(l, "K"), Some("v"));
    assert!(l.disabled);
    assert_eq!(server(&file, "r").transport, Transport::Http);
}

#[test]
fn continue_yaml_blocks_and_legacy_json() {
    let yaml = "name: b\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: One\n    command: uvx\n    args: [\"pkg\"]\n    env:\n      K: v\n  - command: nameless\n  - name: Web\n    type: sse\n    url: https://w\n    requestOptions:\n      headers:\n        Authorization: Bearer t\n";
    let file = read("continue", "block.yaml", yaml);
    let s: Vec<_> = file
        .servers
        .iter()
        .map(|s| (s.name.as_str(), s.pointer.as_str(), s.line, s.transport))
        .collect();
    assert_eq!(
        s,
        [
            ("One", "/mcpServers/0", 5, Transport::Stdio),
            ("1", "/mcpServers/1", 10, Transport::Stdio),
            ("Web", "/mcpServers/2", 11, Transport::Sse),
        ]
    );
    assert_eq!(
        file.servers[2].headers[0].1.pointer,
        "/mcpServers/2/requestOptions/headers/Authorization"
    );

    let legacy = r#"{"experimental": {"modelContextProtocolServers": [
      {"transport": {"type": "stdio", "command": "uvx", "args": ["mcp-server-sqlite"], "env": {"K": "v"}}}]}}"#;
    let file = read("continue", "config.json", legacy);
    let s = &file.servers[0];
    assert_eq!(s.transport, Transport::Stdio);
    assert_eq!(
        s.env[0].1.pointer,
        "/experimental/modelContextProtocolServers/0/transport/env/K"
    );

    // A Claude-shaped JSON file dropped into .continue/mcpServers/ as-is.
    let dropped = read(
        "continue",
        "x.json",
        r#"{"mcpServers": {"d": {"command": "x"}}}"#,
    );
    assert_eq!(dropped.servers[0].pointer, "/mcpServers/d");
}

#[test]
fn token_stores_list_credential_fields_only() {
    let text = r#"{"srv": {"tokens": {"access_token": "a1", "token_type": "Bearer", "expires_in": 3600,
      "refresh_token": "r1", "id_token": "", "scope": "x"},
      "client": {"client_id": "c", "client_secret": "s1", "redirect_uris": ["http://l"]}}}"#;
    let file = parse(
        loc("mcp-remote", Scope::TokenStore, "x_tokens.json"),
        text.as_bytes(),
    );
    let creds: Option<Vec<(String, String)>> = file.ok().map(|f| {
        f.credentials
            .iter()
            .map(|(k, v)| (k.clone(), v.pointer.clone()))
            .collect()
    });
    let expected = [
        ("access_token", "/srv/tokens/access_token"),
        ("refresh_token", "/srv/tokens/refresh_token"),
        ("client_secret", "/srv/client/client_secret"),
    ]
    .map(|(k, p)| (k.to_string(), p.to_string()));
    assert_eq!(creds, Some(expected.to_vec()));

    let goose = parse(
        loc("goose", Scope::TokenStore, "secrets.yaml"),
        b"OPENAI_API_KEY: sk-x\nGITHUB_PERSONAL_ACCESS_TOKEN: ghp_y\n",
    );
    assert_eq!(goose.map(|f| f.credentials.len()).ok(), Some(2));
}

#[test]
fn formats_follow_the_location() {
    // A .json location is always read as JSONC, whatever the client.
    let l = loc("codex", Scope::Plugin, ".mcp.json");
    assert_eq!(l.format, Format::Json);
    assert!(parse(l, br#"{"mcpServers": {"p": {"command": "x"}}}"#).is_ok());
}

#[test]
fn other_credential_fields_of_an_entry() {
    let text = r#"{"mcpServers": {"s": {
      "httpUrl": "https://s", "headers": {"Authorization": "Bearer a"},
      "oauth": {"clientId": "id", "clientSecret": "cs", "tokenUrl": "https://t", "scopes": ["x"]},
      "apiKey": "k", "authProviderType": "google_credentials", "password": true,
      "settings": {"tokens": ["t0"]}}}}"#;
    let file = read("gemini-cli", "settings.json", text);
    let creds: Vec<_> = file.servers[0]
        .credentials
        .iter()
        .map(|(k, l)| (k.as_str(), l.pointer.as_str()))
        .collect();
    assert_eq!(
        creds,
        [
            ("clientSecret", "/mcpServers/s/oauth/clientSecret"),
            ("apiKey", "/mcpServers/s/apiKey"),
            ("tokens", "/mcpServers/s/settings/tokens/0"),
        ]
    );
    // Names of variables to forward are not credentials; nor are values
    // already read as env, headers or args.
    let codex = "[mcp_servers.c]\nurl = \"https://c\"\nbearer_token_env_var = \"C_TOKEN\"\nenv_http_headers = { Authorization = \"C_AUTH\" }\nenv_vars = [\"SECRET_TOKEN\"]\nbearer_token = \"inline\"\nenv = { API_TOKEN = \"x\" }\n";
    let file = read("codex", "config.toml", codex);
    assert!(file.servers[0].credentials.is_empty());
}

#[test]
fn a_huge_minified_line_reads_in_linear_time() {
    let mut text = String::from("{\"mcpServers\":{");
    for i in 0..20_000 {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!(
            "\"s{i}\":{{\"command\":\"npx\",\"args\":[\"-y\",\"p\u{e9}kg\",\"a\",\"b\"],\"env\":{{\"K\":\"v\"}}}}"
        ));
    }
    text.push_str("}}");
    let started = std::time::Instant::now();
    let file = read("cursor", "mcp.json", &text);
    assert_eq!(file.servers.len(), 20_000);
    let last = &file.servers[19_999].env[0].1;
    let expected = text[..text.rfind("\"v\"").unwrap_or(0)].chars().count() + 1;
    assert_eq!((last.line, last.column as usize), (1, expected));
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

mod hostile {
    use proptest::prelude::*;

    use super::loc;
    use crate::clients::model::{ReadError, Scope};
    use crate::clients::read::parse;

    const NAMES: [(&str, &str); 4] = [
        ("cursor", "mcp.json"),
        ("codex", "config.toml"),
        ("goose", "config.yaml"),
        ("mcp-remote", "x_tokens.json"),
    ];

    fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
        for (client, name) in NAMES {
            let scope = if name.ends_with("_tokens.json") {
                Scope::TokenStore
            } else {
                Scope::User
            };
            if let Err(e) = parse(loc(client, scope, name), bytes) {
                let shown = e.to_string();
                prop_assert!(!shown.contains("QQ"), "{} leaked: {}", name, shown);
                if let ReadError::Syntax { line, column, .. } = e {
                    prop_assert!(line >= 1 && column >= 1);
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            check(&bytes)?;
        }

        #[test]
        fn syntax_noise_never_panics_or_leaks(
            before in "[\\[\\]{}:,\"'=\\n\\t a-z0-9#&*!|>\\-\\\\.~]{0,120}",
            after in "[\\[\\]{}:,\"'=\\n\\t a-z0-9#&*!|>\\-\\\\.~]{0,120}",
        ) {
            let text = format!("{before}QQsk_live_QQ{after}");
            check(text.as_bytes())?;
            let text = format!("{{\"mcpServers\": {{\"a\": {{\"env\": {{\"K\": {before}QQ{after}");
            check(text.as_bytes())?;
            let text = format!("[mcp_servers.a]\nenv = {{ K = {before}QQ{after}");
            check(text.as_bytes())?;
            let text = format!("extensions:\n  a:\n    envs:\n      K: {before}QQ{after}");
            check(text.as_bytes())?;
        }
    }
}
