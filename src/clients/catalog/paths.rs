//! The path set itself: for each client, the files it keeps under a home
//! (and, for managed files, outside it) on Linux, macOS and Windows.
//!
//! Only names candidates; [`Found`] keeps the ones that exist.

use std::path::{Path, PathBuf};

use super::walk::{self, Limits};
use super::{EnvLookup, FLAT, Found, PLUGIN_WALK, Roots, SHALLOW_WALK, dir_var, name_of};
use crate::clients::model::{OsFamily, Scope};

/// Claude Desktop and Claude Code (user file, plugins).
pub(super) fn anthropic(r: &Roots, env: EnvLookup<'_>, f: &mut Found) {
    f.file(
        "claude-desktop",
        Scope::User,
        r.app_data.join("Claude").join("claude_desktop_config.json"),
    );
    if r.os == OsFamily::Windows {
        // The Microsoft Store (MSIX) build keeps its roaming data in a
        // per-package virtualised folder.
        let local =
            dir_var(env, "LOCALAPPDATA").unwrap_or_else(|| r.home.join("AppData").join("Local"));
        let packages = local.join("Packages");
        for package in walk::subdirs(&packages, FLAT.entries, &|n| n.starts_with("Claude_")) {
            let roaming = package.join("LocalCache").join("Roaming").join("Claude");
            f.file(
                "claude-desktop",
                Scope::User,
                roaming.join("claude_desktop_config.json"),
            );
        }
    }
    let claude_dir = dir_var(env, "CLAUDE_CONFIG_DIR");
    for path in claude_user_files(r, env) {
        f.file("claude-code", Scope::User, path);
    }
    let plugin_file = |p: &Path| {
        let name = name_of(p);
        name == ".mcp.json"
            || (name == "plugin.json" && p.parent().is_some_and(|d| name_of(d) == ".claude-plugin"))
    };
    for base in claude_dir
        .iter()
        .chain(std::iter::once(&r.home.join(".claude")))
    {
        f.walk(
            "claude-code",
            Scope::Plugin,
            &base.join("plugins"),
            PLUGIN_WALK,
            &plugin_file,
        );
    }
}

/// Claude Code's user files: `$CLAUDE_CONFIG_DIR/.claude.json` (when set),
/// then `~/.claude.json`.
pub(super) fn claude_user_files(r: &Roots, env: EnvLookup<'_>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = dir_var(env, "CLAUDE_CONFIG_DIR")
        .map(|d| d.join(".claude.json"))
        .into_iter()
        .collect();
    files.push(r.home.join(".claude.json"));
    files
}

/// Codex's folder: `$CODEX_HOME`, else `~/.codex`.
pub(super) fn codex_home(r: &Roots, env: EnvLookup<'_>) -> PathBuf {
    dir_var(env, "CODEX_HOME").unwrap_or_else(|| r.home.join(".codex"))
}

/// One editor's user folder (`.../<App>/User`).
pub(super) struct EditorUser {
    /// The client id of the editor.
    pub client: &'static str,
    pub dir: PathBuf,
    /// VS Code proper (its own `mcp.json`, `settings.json`, profiles), as
    /// opposed to a fork whose MCP file lives elsewhere.
    pub vscode: bool,
}

/// The user folders of VS Code and its forks for this path set: Code,
/// Insiders, Code - OSS, VSCodium, their Linux Flatpaks, VS Code Server,
/// Cursor, Windsurf, Trae.
pub(super) fn editor_user_dirs(r: &Roots) -> Vec<EditorUser> {
    const VSCODE_FAMILY: [(&str, &str); 4] = [
        ("vscode", "Code"),
        ("vscode-insiders", "Code - Insiders"),
        ("vscode", "Code - OSS"),
        ("vscodium", "VSCodium"),
    ];
    // Linux Flatpak builds keep their config under ~/.var/app/<id>/config.
    const FLATPAKS: [(&str, &str, &str); 2] = [
        ("vscode", "com.visualstudio.code", "Code"),
        ("vscodium", "com.vscodium.codium", "VSCodium"),
    ];
    let mut dirs = Vec::new();
    let mut push = |client, dir, vscode| {
        dirs.push(EditorUser {
            client,
            dir,
            vscode,
        })
    };
    for (client, app) in VSCODE_FAMILY {
        push(client, r.app_data.join(app).join("User"), true);
    }
    if r.os == OsFamily::Linux {
        for (client, id, app) in FLATPAKS {
            push(client, flatpak_config(r, id).join(app).join("User"), true);
        }
    }
    for (client, server_dir) in [
        ("vscode", ".vscode-server"),
        ("vscode-insiders", ".vscode-server-insiders"),
    ] {
        push(
            client,
            r.home.join(server_dir).join("data").join("User"),
            true,
        );
    }
    for (client, app) in [
        ("cursor", "Cursor"),
        ("windsurf", "Windsurf"),
        ("trae", "Trae"),
    ] {
        push(client, r.app_data.join(app).join("User"), false);
    }
    dirs
}

/// VS Code and its forks (user files, profiles, remote server), and the
/// extensions that keep their own file in an editor's global storage.
pub(super) fn editors(r: &Roots, env: EnvLookup<'_>, f: &mut Found) {
    let user_dirs = editor_user_dirs(r);
    for user in user_dirs.iter().filter(|u| u.vscode) {
        vscode_user(user.client, &user.dir, f);
    }
    f.file(
        "trae",
        Scope::User,
        r.app_data.join("Trae").join("User").join("mcp.json"),
    );
    f.file(
        "cursor",
        Scope::User,
        r.home.join(".cursor").join("mcp.json"),
    );

    if let Some(path) = env("CLINE_MCP_SETTINGS_PATH")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        f.file("cline", Scope::User, path);
    }
    f.file(
        "cline",
        Scope::User,
        r.home
            .join(".cline")
            .join("data")
            .join("settings")
            .join("cline_mcp_settings.json"),
    );
    for user in &user_dirs {
        let storage = user.dir.join("globalStorage");
        f.file(
            "cline",
            Scope::User,
            storage
                .join("saoudrizwan.claude-dev")
                .join("settings")
                .join("cline_mcp_settings.json"),
        );
        f.file(
            "roo-code",
            Scope::User,
            storage
                .join("rooveterinaryinc.roo-cline")
                .join("settings")
                .join("mcp_settings.json"),
        );
        f.file(
            "kilo-code",
            Scope::User,
            storage
                .join("kilocode.kilo-code")
                .join("settings")
                .join("mcp_settings.json"),
        );
    }
}

/// A Flatpak app's private config folder.
fn flatpak_config(r: &Roots, id: &str) -> PathBuf {
    r.home.join(".var").join("app").join(id).join("config")
}

/// A VS Code user folder: `mcp.json`, legacy `settings.json`, and the same two
/// in every profile.
fn vscode_user(client: &'static str, user: &Path, f: &mut Found) {
    f.file(client, Scope::User, user.join("mcp.json"));
    f.file(client, Scope::User, user.join("settings.json"));
    let profiles = user.join("profiles");
    let wanted = |p: &Path| {
        p.components().count() == 2 && matches!(name_of(p), "mcp.json" | "settings.json")
    };
    f.walk(
        client,
        Scope::User,
        &profiles,
        Limits { depth: 2, ..FLAT },
        &wanted,
    );
}

/// Gemini CLI and Antigravity (their token files are in [`token_stores`]).
pub(super) fn google(r: &Roots, f: &mut Found) {
    let gemini = r.home.join(".gemini");
    f.file("gemini-cli", Scope::User, gemini.join("settings.json"));
    f.file(
        "antigravity",
        Scope::User,
        gemini.join("antigravity").join("mcp_config.json"),
    );
}

/// Codex: `config.toml`, profile overlays, plugins, its OAuth fallback file.
pub(super) fn codex(r: &Roots, env: EnvLookup<'_>, f: &mut Found) {
    let home = codex_home(r, env);
    f.file("codex", Scope::User, home.join("config.toml"));
    f.walk("codex", Scope::User, &home, FLAT, &|p: &Path| {
        name_of(p).ends_with(".config.toml")
    });
    f.walk(
        "codex",
        Scope::Plugin,
        &home.join("plugins"),
        PLUGIN_WALK,
        &|p: &Path| name_of(p) == ".mcp.json",
    );
    f.file("codex", Scope::TokenStore, home.join(".credentials.json"));
}

/// GitHub Copilot CLI: `~/.copilot` (moved by `COPILOT_HOME`; some versions
/// used `$XDG_CONFIG_HOME/.copilot`), its MCP file and its OAuth token files.
pub(super) fn copilot(r: &Roots, env: EnvLookup<'_>, f: &mut Found) {
    let dirs = [
        dir_var(env, "COPILOT_HOME"),
        dir_var(env, "XDG_CONFIG_HOME").map(|x| x.join(".copilot")),
        Some(r.home.join(".copilot")),
    ];
    for dir in dirs.into_iter().flatten() {
        f.file("copilot-cli", Scope::User, dir.join("mcp-config.json"));
        f.walk(
            "copilot-cli",
            Scope::TokenStore,
            &dir.join("mcp-oauth-config"),
            FLAT,
            &|p: &Path| format_ext(p) == Some("json"),
        );
    }
}

/// The remaining clients, one or two fixed paths each.
pub(super) fn other_clients(r: &Roots, env: EnvLookup<'_>, f: &mut Found) {
    let h = &r.home;
    // Windsurf and its JetBrains plugin.
    f.file(
        "windsurf",
        Scope::User,
        h.join(".codeium").join("windsurf").join("mcp_config.json"),
    );
    f.file(
        "windsurf",
        Scope::User,
        h.join(".codeium")
            .join("windsurf-next")
            .join("mcp_config.json"),
    );
    f.file(
        "windsurf-jetbrains",
        Scope::User,
        h.join(".codeium").join("mcp_config.json"),
    );
    // Zed.
    let zed = match r.os {
        OsFamily::Windows => r.app_data.join("Zed"),
        _ => r.config.join("zed"),
    };
    f.file("zed", Scope::User, zed.join("settings.json"));
    if r.os == OsFamily::Linux {
        let flatpak = flatpak_config(r, "dev.zed.Zed").join("zed");
        f.file("zed", Scope::User, flatpak.join("settings.json"));
    }
    // Continue: config, legacy config, user block files.
    let cont = dir_var(env, "CONTINUE_GLOBAL_DIR").unwrap_or_else(|| h.join(".continue"));
    f.file("continue", Scope::User, cont.join("config.yaml"));
    f.file("continue", Scope::User, cont.join("config.json"));
    f.walk(
        "continue",
        Scope::User,
        &cont.join("mcpServers"),
        FLAT,
        &|p: &Path| matches!(format_ext(p), Some("yaml" | "yml" | "json")),
    );
    // Goose.
    let goose = match r.os {
        OsFamily::Windows => r.app_data.join("Block").join("goose").join("config"),
        _ => r.config.join("goose"),
    };
    f.file("goose", Scope::User, goose.join("config.yaml"));
    // opencode.
    if let Some(path) = env("OPENCODE_CONFIG")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        f.file("opencode", Scope::User, path);
    }
    let opencode = r.xdg_config.join("opencode");
    for name in ["opencode.json", "opencode.jsonc", "config.json"] {
        f.file("opencode", Scope::User, opencode.join(name));
    }
    // Amp.
    f.file(
        "amp",
        Scope::User,
        r.config.join("amp").join("settings.json"),
    );
    if r.os == OsFamily::Windows {
        f.file(
            "amp",
            Scope::User,
            r.app_data.join("amp").join("settings.json"),
        );
    }
    // Single-file clients.
    for (client, path) in [
        ("lm-studio", h.join(".lmstudio").join("mcp.json")),
        (
            "lm-studio",
            h.join(".cache").join("lm-studio").join("mcp.json"),
        ),
        ("kiro", h.join(".kiro").join("settings").join("mcp.json")),
        ("factory", h.join(".factory").join("mcp.json")),
        ("kimi", h.join(".kimi").join("mcp.json")),
        ("mistral-vibe", h.join(".vibe").join("config.toml")),
        ("amazon-q", h.join(".aws").join("amazonq").join("mcp.json")),
        ("junie", h.join(".junie").join("mcp").join("mcp.json")),
        ("qwen-code", h.join(".qwen").join("settings.json")),
    ] {
        f.file(client, Scope::User, path);
    }
    // Crush: the XDG config folder, %LOCALAPPDATA% on Windows.
    let crush = match r.os {
        OsFamily::Windows => dir_var(env, "LOCALAPPDATA")
            .unwrap_or_else(|| h.join("AppData").join("Local"))
            .join("crush"),
        _ => r.xdg_config.join("crush"),
    };
    f.file("crush", Scope::User, crush.join("crush.json"));
}

fn format_ext(p: &Path) -> Option<&str> {
    p.extension().and_then(|e| e.to_str())
}

/// Plaintext OAuth caches and secret fallbacks other tools leave behind.
pub(super) fn token_stores(r: &Roots, f: &mut Found) {
    let h = &r.home;
    let t = Scope::TokenStore;
    f.file(
        "gemini-cli",
        t,
        h.join(".gemini").join("mcp-oauth-tokens.json"),
    );
    f.file(
        "antigravity",
        t,
        h.join(".gemini")
            .join("antigravity-cli")
            .join("mcp_oauth_tokens.json"),
    );
    f.file("opencode", t, r.data.join("opencode").join("mcp-auth.json"));
    f.walk(
        "mcp-remote",
        t,
        &h.join(".mcp-auth"),
        SHALLOW_WALK,
        &|p: &Path| {
            let name = name_of(p);
            name.ends_with("_tokens.json") || name.ends_with("_client_info.json")
        },
    );
    let goose = match r.os {
        OsFamily::Windows => r.app_data.join("Block").join("goose").join("config"),
        _ => r.config.join("goose"),
    };
    f.file("goose", t, goose.join("secrets.yaml"));
}

/// Administrator-managed files, outside any home.
pub(super) fn system(r: &Roots, env: EnvLookup<'_>, f: &mut Found) {
    let m = Scope::Managed;
    if let Some(path) = env("GEMINI_CLI_SYSTEM_SETTINGS_PATH")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
    {
        f.file("gemini-cli", m, path);
    }
    match r.os {
        OsFamily::Linux => {
            f.file(
                "claude-code",
                m,
                PathBuf::from("/etc/claude-code/managed-mcp.json"),
            );
            f.file("codex", m, PathBuf::from("/etc/codex/config.toml"));
            f.file(
                "gemini-cli",
                m,
                PathBuf::from("/etc/gemini-cli/settings.json"),
            );
        }
        OsFamily::MacOs => {
            let support = PathBuf::from("/Library/Application Support");
            f.file(
                "claude-code",
                m,
                support.join("ClaudeCode").join("managed-mcp.json"),
            );
            f.file("codex", m, PathBuf::from("/etc/codex/config.toml"));
            f.file(
                "gemini-cli",
                m,
                support.join("GeminiCli").join("settings.json"),
            );
        }
        OsFamily::Windows => {
            let program_files = env("ProgramFiles")
                .map_or_else(|| PathBuf::from(r"C:\Program Files"), PathBuf::from);
            let program_data =
                env("ProgramData").map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
            f.file(
                "claude-code",
                m,
                program_files.join("ClaudeCode").join("managed-mcp.json"),
            );
            f.file(
                "claude-code",
                m,
                program_data.join("ClaudeCode").join("managed-mcp.json"),
            );
            f.file(
                "codex",
                m,
                program_data
                    .join("OpenAI")
                    .join("Codex")
                    .join("config.toml"),
            );
            f.file(
                "gemini-cli",
                m,
                program_data.join("gemini-cli").join("settings.json"),
            );
        }
    }
}
