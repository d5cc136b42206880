//! The common shape every client format is read into.
//!
//! Owns the types only: no parsing, no file system, no detection.

use std::path::PathBuf;

/// Which operating system's path set to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OsFamily {
    Linux,
    MacOs,
    Windows,
}

impl OsFamily {
    /// The family this binary was built for.
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::MacOs
        } else if cfg!(windows) {
            Self::Windows
        } else {
            Self::Linux
        }
    }
}

/// The syntax of a config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JSON, read as JSONC (comments and trailing commas accepted).
    Json,
    Toml,
    Yaml,
}

/// Which of a client's config files this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The user's own config (one per user).
    User,
    /// A per-project entry kept in the user's file (Claude Code `projects.<path>`).
    Local,
    /// A project file meant to be committed (`.mcp.json`, `.vscode/mcp.json`, ...).
    Project,
    /// An administrator-managed file (`/etc/...`).
    Managed,
    /// A plugin's bundled config.
    Plugin,
    /// A plaintext OAuth/token cache another tool left behind.
    TokenStore,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Local => "local",
            Self::Project => "project",
            Self::Managed => "managed",
            Self::Plugin => "plugin",
            Self::TokenStore => "token-store",
        }
    }
}

/// A config file of a known client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// Stable client id: `claude-desktop`, `claude-code`, `cursor`, `vscode`,
    /// `vscode-insiders`, `vscodium`, `windsurf`, `windsurf-jetbrains`, `zed`,
    /// `cline`, `roo-code`, `kilo-code`, `continue`, `gemini-cli`,
    /// `antigravity`, `codex`, `goose`, `lm-studio`, `kiro`, `copilot-cli`,
    /// `opencode`, `amp`, `trae`, `factory`, `kimi`, `mistral-vibe`,
    /// `amazon-q`, `junie`, `qwen-code`, `crush`, `mcp-remote`.
    pub client: &'static str,
    pub scope: Scope,
    pub path: PathBuf,
    pub format: Format,
}

/// A string value and where it sits in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub value: String,
    /// RFC 6901 pointer from the document root, e.g. `/mcpServers/github/env/TOKEN`
    /// (for TOML and YAML, the same path over their tables and mappings).
    pub pointer: String,
    /// 1-based line and column (in characters) of the value's first character
    /// (the opening quote for quoted strings).
    pub line: u32,
    pub column: u32,
}

/// How the client talks to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    Http,
    Sse,
    WebSocket,
    Unknown,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdio => "stdio",
            Self::Http => "http",
            Self::Sse => "sse",
            Self::WebSocket => "ws",
            Self::Unknown => "unknown",
        }
    }
}

/// One MCP server entry, normalised across clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The entry's name (its key, or `name` in list-shaped files).
    pub name: String,
    /// Pointer to the entry object itself.
    pub pointer: String,
    /// 1-based line of the entry's key (or list item).
    pub line: u32,
    pub transport: Transport,
    /// stdio: the executable (`command`, Goose `cmd`, opencode `command[0]`).
    pub command: Option<Located>,
    /// stdio: the arguments, in order.
    pub args: Vec<Located>,
    /// Environment given to the child (`env`, `envs`, `environment`), in file order.
    pub env: Vec<(String, Located)>,
    /// Names the client forwards from its own environment rather than from the
    /// file: Codex `env_vars`, `bearer_token_env_var`, `env_http_headers` values;
    /// Goose `env_keys`.
    pub forwarded_env: Vec<String>,
    /// Remote: the endpoint (`url`, `serverUrl`, `httpUrl`, `uri`).
    pub url: Option<Located>,
    /// Remote: literal header values (`headers`, Codex `http_headers`), in file order.
    pub headers: Vec<(String, Located)>,
    /// Claude Code `headersHelper`.
    pub headers_helper: Option<Located>,
    /// VS Code `envFile`.
    pub env_file: Option<Located>,
    /// `disabled: true` / `enabled: false`.
    pub disabled: bool,
    /// The entry's own scope: the file's scope, except Claude Code's per-project
    /// entries in `~/.claude.json` (`projects.<path>.mcpServers`), which are
    /// [`Scope::Local`].
    pub scope: Scope,
    /// For [`Scope::Local`] entries: the project path they belong to (the key
    /// under `projects`).
    pub project: Option<String>,
    /// Credential-looking string fields elsewhere in the entry, with their key
    /// (Gemini `oauth.clientSecret`, a Zed extension's `settings.api_key`,
    /// Continue `apiKey`, ...): values not already in a field above.
    pub credentials: Vec<(String, Located)>,
}

/// Which field of a [`Server`] a value was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerField<'a> {
    Command,
    /// The argument's index in [`Server::args`].
    Arg(usize),
    Env(&'a str),
    Url,
    Header(&'a str),
    HeadersHelper,
    EnvFile,
    /// One of [`Server::credentials`], with its key.
    Credential(&'a str),
}

impl Server {
    /// Every value read from the entry, with the field it came from, in the
    /// order: command, args, env, url, headers, headers helper, env file,
    /// other credentials.
    pub fn values(&self) -> impl Iterator<Item = (ServerField<'_>, &Located)> {
        self.command
            .iter()
            .map(|v| (ServerField::Command, v))
            .chain(
                self.args
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (ServerField::Arg(i), v)),
            )
            .chain(self.env.iter().map(|(k, v)| (ServerField::Env(k), v)))
            .chain(self.url.iter().map(|v| (ServerField::Url, v)))
            .chain(
                self.headers
                    .iter()
                    .map(|(k, v)| (ServerField::Header(k), v)),
            )
            .chain(
                self.headers_helper
                    .iter()
                    .map(|v| (ServerField::HeadersHelper, v)),
            )
            .chain(self.env_file.iter().map(|v| (ServerField::EnvFile, v)))
            .chain(
                self.credentials
                    .iter()
                    .map(|(k, v)| (ServerField::Credential(k), v)),
            )
    }
}

/// A parsed config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub location: Location,
    pub servers: Vec<Server>,
    /// VS Code `inputs[].id` declared in the file.
    pub inputs: Vec<String>,
    /// Token stores: credential-looking string fields (`access_token`,
    /// `refresh_token`, `client_secret`, ...) with their key names.
    pub credentials: Vec<(String, Located)>,
}

/// Why one file could not be read. The scan reports it and goes on.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("larger than {limit} bytes; not read")]
    TooLarge { limit: u64 },
    #[error("not valid {format} at line {line}, column {column}: {message}")]
    Syntax {
        format: &'static str,
        line: u32,
        column: u32,
        /// Never quotes the file's content.
        message: String,
    },
    #[error("unexpected shape: {0}")]
    Shape(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
