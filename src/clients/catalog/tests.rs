//! Catalog tests on throwaway homes: environment overrides, OS path sets,
//! de-duplication and system files.

use std::fs;
use std::path::{Path, PathBuf};

use super::machine_locations;
use crate::clients::model::{Format, OsFamily, Scope};

fn touch(root: &Path, rel: &str) -> PathBuf {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        assert!(fs::create_dir_all(parent).is_ok());
    }
    assert!(fs::write(&path, "{}").is_ok());
    path
}

fn found(
    home: &Path,
    os: OsFamily,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, &'static str, Scope)> {
    machine_locations(home, os, env, false)
        .into_iter()
        .map(|l| {
            let rel = l.path.strip_prefix(home).map_or_else(
                |_| l.path.display().to_string(),
                |p| p.display().to_string(),
            );
            (rel, l.client, l.scope)
        })
        .collect()
}

fn tmp() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(t) => t,
        Err(e) => panic!("tempdir: {e}"),
    }
}

#[test]
fn an_empty_or_missing_home_has_nothing() {
    let t = tmp();
    for os in [OsFamily::Linux, OsFamily::MacOs, OsFamily::Windows] {
        assert!(found(t.path(), os, &|_| None).is_empty());
        assert!(found(&t.path().join("missing"), os, &|_| None).is_empty());
    }
}

#[test]
fn environment_overrides_are_honoured() {
    let t = tmp();
    let home = t.path().join("home");
    let elsewhere = t.path().join("elsewhere");
    let xdg = elsewhere.join("xdg");
    touch(&xdg, "zed/settings.json");
    touch(&xdg, "goose/config.yaml");
    touch(&home, ".config/zed/settings.json"); // shadowed by XDG_CONFIG_HOME
    touch(&elsewhere, "codex/config.toml");
    touch(&elsewhere, "codex/ci.config.toml");
    touch(&elsewhere, "claude/.claude.json");
    touch(&elsewhere, "claude/plugins/p/.mcp.json");
    touch(&elsewhere, "cline.json");
    touch(&elsewhere, "oc.jsonc");
    touch(&elsewhere, "data/opencode/mcp-auth.json");
    let e = elsewhere.clone();
    let env = move |name: &str| -> Option<String> {
        let v = match name {
            "XDG_CONFIG_HOME" => e.join("xdg"),
            "XDG_DATA_HOME" => e.join("data"),
            "CODEX_HOME" => e.join("codex"),
            "CLAUDE_CONFIG_DIR" => e.join("claude"),
            "CLINE_MCP_SETTINGS_PATH" => e.join("cline.json"),
            "OPENCODE_CONFIG" => e.join("oc.jsonc"),
            _ => return None,
        };
        Some(v.display().to_string())
    };
    let got = found(&home, OsFamily::Linux, &env);
    let abs = |rel: &str| elsewhere.join(rel).display().to_string();
    let expected = vec![
        (abs("claude/.claude.json"), "claude-code", Scope::User),
        (
            abs("claude/plugins/p/.mcp.json"),
            "claude-code",
            Scope::Plugin,
        ),
        (abs("cline.json"), "cline", Scope::User),
        (abs("codex/config.toml"), "codex", Scope::User),
        (abs("codex/ci.config.toml"), "codex", Scope::User),
        (abs("xdg/zed/settings.json"), "zed", Scope::User),
        (abs("xdg/goose/config.yaml"), "goose", Scope::User),
        (abs("oc.jsonc"), "opencode", Scope::User),
        (
            abs("data/opencode/mcp-auth.json"),
            "opencode",
            Scope::TokenStore,
        ),
    ];
    assert_eq!(got, expected);
}

#[test]
fn relative_environment_values_are_ignored() {
    let t = tmp();
    touch(t.path(), ".codex/config.toml");
    let got = found(t.path(), OsFamily::Linux, &|name| {
        (name == "CODEX_HOME").then(|| "relative/codex".to_string())
    });
    assert_eq!(
        got,
        vec![(".codex/config.toml".to_string(), "codex", Scope::User)]
    );
}

#[test]
fn each_os_has_its_own_application_folders() {
    let t = tmp();
    let h = t.path();
    touch(h, "Library/Application Support/Code/User/mcp.json");
    touch(
        h,
        "Library/Application Support/Cursor/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
    );
    touch(h, "AppData/Roaming/Zed/settings.json");
    touch(h, "AppData/Roaming/Block/goose/config/config.yaml");
    touch(
        h,
        "AppData/Roaming/Code - Insiders/User/profiles/abc/mcp.json",
    );
    touch(h, ".config/Code/User/mcp.json");
    let mac = found(h, OsFamily::MacOs, &|_| None);
    assert_eq!(
        mac,
        vec![
            ("Library/Application Support/Code/User/mcp.json".to_string(), "vscode", Scope::User),
            (
                "Library/Application Support/Cursor/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json".to_string(),
                "cline",
                Scope::User
            ),
        ]
    );
    let win = found(h, OsFamily::Windows, &|_| None);
    assert_eq!(
        win,
        vec![
            (
                "AppData/Roaming/Code - Insiders/User/profiles/abc/mcp.json".to_string(),
                "vscode-insiders",
                Scope::User
            ),
            (
                "AppData/Roaming/Zed/settings.json".to_string(),
                "zed",
                Scope::User
            ),
            (
                "AppData/Roaming/Block/goose/config/config.yaml".to_string(),
                "goose",
                Scope::User
            ),
        ]
    );
    // %APPDATA% from the environment wins over home/AppData/Roaming.
    let roaming = h.join("AppData/Roaming").display().to_string();
    let other = tmp();
    let via_env = found(other.path(), OsFamily::Windows, &move |n| {
        (n == "APPDATA").then(|| roaming.clone())
    });
    assert_eq!(via_env.len(), 3);
    let linux = found(h, OsFamily::Linux, &|_| None);
    assert_eq!(
        linux,
        vec![(
            ".config/Code/User/mcp.json".to_string(),
            "vscode",
            Scope::User
        )]
    );
}

#[test]
fn one_path_is_listed_once_and_formats_follow_names() {
    let t = tmp();
    let h = t.path();
    touch(h, ".claude.json");
    touch(h, ".continue/mcpServers/a.yml");
    touch(h, ".continue/mcpServers/b.json");
    touch(h, ".continue/mcpServers/notes.md");
    let home = h.display().to_string();
    let locs = machine_locations(
        h,
        OsFamily::Linux,
        &move |n| (n == "CLAUDE_CONFIG_DIR").then(|| home.clone()),
        false,
    );
    let got: Vec<_> = locs
        .iter()
        .map(|l| {
            (
                l.path
                    .strip_prefix(h)
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
                l.format,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (".claude.json".to_string(), Format::Json),
            (".continue/mcpServers/a.yml".to_string(), Format::Yaml),
            (".continue/mcpServers/b.json".to_string(), Format::Json),
        ]
    );
}

#[cfg(unix)]
#[test]
fn plugin_and_token_walks_survive_link_loops() {
    let t = tmp();
    let h = t.path();
    touch(h, ".claude/plugins/m/p/1.0/.mcp.json");
    touch(h, ".claude/plugins/m/p/1.0/.claude-plugin/plugin.json");
    touch(h, ".claude/plugins/m/p/1.0/package.json");
    touch(h, ".mcp-auth/mcp-remote-0.1.0/abc_tokens.json");
    touch(h, ".mcp-auth/mcp-remote-0.1.0/abc_code_verifier.txt");
    assert!(
        std::os::unix::fs::symlink(h.join(".claude"), h.join(".claude/plugins/m/loop")).is_ok()
    );
    assert!(std::os::unix::fs::symlink(h, h.join(".mcp-auth/home")).is_ok());
    let got = found(h, OsFamily::Linux, &|_| None);
    assert_eq!(
        got,
        vec![
            (
                ".claude/plugins/m/p/1.0/.claude-plugin/plugin.json".to_string(),
                "claude-code",
                Scope::Plugin
            ),
            (
                ".claude/plugins/m/p/1.0/.mcp.json".to_string(),
                "claude-code",
                Scope::Plugin
            ),
            (
                ".mcp-auth/mcp-remote-0.1.0/abc_tokens.json".to_string(),
                "mcp-remote",
                Scope::TokenStore
            ),
        ]
    );
}

#[test]
fn system_files_only_when_asked_and_only_if_present() {
    let t = tmp();
    for os in [OsFamily::Linux, OsFamily::MacOs, OsFamily::Windows] {
        let with = machine_locations(t.path(), os, &|_| None, true);
        assert!(
            with.iter()
                .all(|l| l.scope == Scope::Managed && l.path.is_file())
        );
    }
    let managed = touch(t.path(), "managed/settings.json");
    let shown = managed.display().to_string();
    let env = move |n: &str| (n == "GEMINI_CLI_SYSTEM_SETTINGS_PATH").then(|| shown.clone());
    let with = machine_locations(t.path(), OsFamily::Linux, &env, true);
    assert!(
        with.iter()
            .any(|l| l.path == managed && l.client == "gemini-cli" && l.scope == Scope::Managed)
    );
    let without = machine_locations(t.path(), OsFamily::Linux, &env, false);
    assert!(without.is_empty());
}

#[test]
fn copilot_homes_and_the_store_build_of_claude_desktop() {
    let t = tmp();
    let h = t.path();
    touch(
        h,
        "AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json",
    );
    touch(
        h,
        "AppData/Local/Packages/Other_123/LocalCache/Roaming/Claude/claude_desktop_config.json",
    );
    touch(h, "relocated/mcp-config.json");
    touch(h, "relocated/mcp-oauth-config/a.tokens.json");
    let win = found(h, OsFamily::Windows, &|_| None);
    assert_eq!(
        win,
        vec![(
            "AppData/Local/Packages/Claude_pzs8sxrjxfjjc/LocalCache/Roaming/Claude/claude_desktop_config.json".to_string(),
            "claude-desktop",
            Scope::User
        )]
    );
    let relocated = h.join("relocated").display().to_string();
    let got = found(h, OsFamily::Linux, &move |n| {
        (n == "COPILOT_HOME").then(|| relocated.clone())
    });
    assert_eq!(
        got,
        vec![
            (
                "relocated/mcp-config.json".to_string(),
                "copilot-cli",
                Scope::User
            ),
            (
                "relocated/mcp-oauth-config/a.tokens.json".to_string(),
                "copilot-cli",
                Scope::TokenStore
            ),
        ]
    );
}

#[test]
fn linux_flatpak_and_oss_builds() {
    let t = tmp();
    let h = t.path();
    touch(
        h,
        ".var/app/com.visualstudio.code/config/Code/User/mcp.json",
    );
    touch(
        h,
        ".var/app/com.visualstudio.code/config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json",
    );
    touch(h, ".var/app/dev.zed.Zed/config/zed/settings.json");
    touch(h, ".config/Code - OSS/User/mcp.json");
    let mut got = found(h, OsFamily::Linux, &|_| None);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        vec![
            (".config/Code - OSS/User/mcp.json".to_string(), "vscode", Scope::User),
            (".var/app/com.visualstudio.code/config/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json".to_string(), "cline", Scope::User),
            (".var/app/com.visualstudio.code/config/Code/User/mcp.json".to_string(), "vscode", Scope::User),
            (".var/app/dev.zed.Zed/config/zed/settings.json".to_string(), "zed", Scope::User),
        ]
    );
    assert!(found(h, OsFamily::MacOs, &|_| None).is_empty());
}

#[test]
fn junie_qwen_and_crush() {
    let t = tmp();
    let h = t.path();
    touch(h, ".junie/mcp/mcp.json");
    touch(h, ".qwen/settings.json");
    touch(h, ".config/crush/crush.json");
    touch(h, "AppData/Local/crush/crush.json");
    let linux = found(h, OsFamily::Linux, &|_| None);
    assert_eq!(
        linux,
        vec![
            (".junie/mcp/mcp.json".to_string(), "junie", Scope::User),
            (".qwen/settings.json".to_string(), "qwen-code", Scope::User),
            (".config/crush/crush.json".to_string(), "crush", Scope::User),
        ]
    );
    let windows = found(h, OsFamily::Windows, &|_| None);
    assert!(windows.contains(&(
        "AppData/Local/crush/crush.json".to_string(),
        "crush",
        Scope::User
    )));
}

#[test]
fn a_projects_own_files_at_their_known_paths_and_nothing_deeper() {
    let t = tmp();
    let root = t.path();
    let wanted = [
        (".mcp.json", "claude-code"),
        (".vscode/mcp.json", "vscode"),
        (".vscode/settings.json", "vscode"),
        (".cursor/mcp.json", "cursor"),
        (".gemini/settings.json", "gemini-cli"),
        (".codex/config.toml", "codex"),
        (".kiro/settings/mcp.json", "kiro"),
        (".roo/mcp.json", "roo-code"),
        (".zed/settings.json", "zed"),
        (".junie/mcp/mcp.json", "junie"),
        (".opencode/opencode.json", "opencode"),
        ("opencode.jsonc", "opencode"),
        (".continue/mcpServers/db.yaml", "continue"),
        (".continue/mcpServers/api.json", "continue"),
    ];
    for (rel, _) in wanted {
        touch(root, rel);
    }
    // Not a project file, or not at the root: never listed.
    for rel in [
        "mcp.json",
        "settings.json",
        ".continue/mcpServers/notes.md",
        "packages/web/.mcp.json",
        "sub/.vscode/mcp.json",
        ".gemini/antigravity/mcp_config.json",
    ] {
        touch(root, rel);
    }
    let mut got: Vec<(String, &'static str, Scope)> = super::project_files(root)
        .into_iter()
        .map(|l| {
            let rel = l.path.strip_prefix(root).map(|p| p.display().to_string());
            (rel.unwrap_or_default(), l.client, l.scope)
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, &'static str, Scope)> = wanted
        .iter()
        .map(|(rel, client)| (rel.to_string(), *client, Scope::Project))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
    assert!(super::project_files(&root.join("missing")).is_empty());
}
