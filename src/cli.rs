//! Command-line definitions (clap). Nothing else: no behaviour lives here.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Takes long-lived secrets out of MCP server configurations.
///
/// Secrets are fetched just-in-time from a backend and injected into one
/// server's environment only; the server runs behind a redacting JSON-RPC
/// proxy that writes an audit log and enforces tool policy.
#[derive(Debug, Parser)]
#[command(
    name = "mcp-warden",
    version = crate::version::text(),
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// Say on stderr what mcp-warden does (backends, locations, timings, files read,
    /// pins, the command started, OAuth URLs; never a secret value): -v info, -vv debug,
    /// -vvv trace. MCP_WARDEN_LOG=info|debug|trace does the same without a flag.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an MCP server with secrets injected into its environment only.
    Run(RunArgs),
    /// Reach a remote MCP server (Streamable HTTP or HTTP+SSE) as a local stdio server,
    /// its headers and URL filled from secret references, through the same guard as run.
    Connect(ConnectArgs),
    /// Authorize mcp-warden with a remote MCP server's OAuth now (in a terminal), so `connect`
    /// finds tokens ready; `login --list` shows the stored grants.
    Login(LoginArgs),
    /// Revoke (RFC 7009) and delete the stored OAuth tokens of a remote MCP server.
    Logout(LogoutArgs),
    /// Record (or check) the hashes of what a profile runs: `pin @NAME`.
    Pin(PinArgs),
    /// Manage secrets: set, get, ls, rm, info.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Store a new value for a secret (or have the provider rotate it), read it back, and
    /// list the profiles and client entries that use it.
    Rotate(RotateArgs),
    /// Show and filter the audit log of tool calls.
    Audit(AuditArgs),
    /// Find plaintext secrets in MCP client configs, never printing them.
    Scan(ScanArgs),
    /// Move plaintext secrets found by scan into a backend and rewrite the configs (dry run by default).
    Protect(ProtectArgs),
    /// Put back the entries protect rewrote, with the values from their backend (dry run by default).
    Restore(RestoreArgs),
    /// Add a new server to a client's config, already protected (dry run by default).
    Add(AddArgs),
    /// Print HTTP headers holding secrets from a backend as a JSON map (Claude Code headersHelper).
    Headers(HeadersArgs),
    /// Every MCP server, its credentials, their age and pin state, across clients.
    Inventory(InventoryArgs),
    /// Check every backend referenced anywhere, the keychain, and file permissions.
    Doctor(DoctorArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// `run [OPTIONS] [NAME=REF ...] -- COMMAND [ARGS...]` or `run [OPTIONS] @PROFILE`
#[derive(Debug, Args)]
#[command(
    after_help = "REFERENCES: SCHEME://LOCATION[?PARAMS][#SELECTOR], e.g. local://github-pat, \
file:///run/secrets/token, aws-sm://prod/db?region=eu-west-1#password, aws-ssm:///app/key, \
keyring://SERVICE/ACCOUNT (the OS keychain). \
\"op://Private/GitHub Deploy/token\" (1Password's own syntax). \
A bare name (no scheme) means --vault-type's backend, or local:// when none is set.\n\n\
MINTED: github-app://APP_ID/INSTALLATION_ID?key=REF&repositories=a&permissions=contents:read, \
'AWS_*=aws-sts://ROLE_ARN?duration=15m&session-policy=REF' (NAME_* fills every variable it \
yields), gcp-token://SA_EMAIL?lifetime=1h, azure-token://SCOPE: a new short-lived credential at \
every start, said on stderr with its scope and expiry. Under --secretless it is minted anew ahead \
of expiry; otherwise a tool call after it expired is answered with an error.\n\n\
Everything after `--` goes to the server untouched; no shell is involved.\n\n\
PROFILES: `run @NAME` starts [servers.NAME] of the user config (MCP_WARDEN_CONFIG, else \
$MCP_WARDEN_HOME/config.toml, else ~/.config/mcp-warden/config.toml); no NAME=REF or `--` with it. \
Its pin is checked before any secret is fetched. A project's .mcp-warden.toml and these options may \
only narrow its policy; --insecure-* flags weaken it for one run and are recorded in the audit log. \
Under rotation = \"warn\" or \"enforce\", each secret's age is read from backend metadata (never \
its value) before anything starts.\n\n\
EXIT STATUS: the server's own code, or 128+N when signal N killed it. Otherwise 64 usage, \
65 bad secret data, 69 backend unreachable or timed out, 77 permission denied by the backend, or \
refused by the pin policy (the command does not match its pin, or is unpinned under \
pin = \"required\" / --pin-required, or a pinned file changed before the start), or by \
rotation = \"enforce\" (a static secret older than the profile's rotate_after), 78 configuration (e.g. secret not found, a profile error at \
file:line), 126/127 command not executable/not found."
)]
pub struct RunArgs {
    /// Secrets to inject: NAME=REF, split at the first '='. Or one @PROFILE.
    #[arg(value_name = "NAME=REF | @PROFILE")]
    pub assignments: Vec<String>,

    /// The server to run, after `--` (not with @PROFILE).
    #[arg(last = true, value_name = "COMMAND", allow_hyphen_values = true)]
    pub command: Vec<OsString>,

    /// Refuse a package runner without an exact version or digest (npx pkg@1.2.3,
    /// uvx pkg==1.2, docker run image@sha256:...); a profile: pin = "required".
    #[arg(long)]
    pub pin_required: bool,

    /// With @PROFILE: record what runs now as its pin (after you reviewed the change), then run.
    #[arg(long)]
    pub update_pin: bool,

    /// With @PROFILE: run without the audit log its policy requires (recorded in the log first).
    #[arg(long)]
    pub insecure_no_audit: bool,

    /// With @PROFILE: do not redact secret values although its policy requires it (recorded).
    #[arg(long)]
    pub insecure_no_redact: bool,

    /// With @PROFILE: skip pin checks (recorded in the audit log).
    #[arg(long)]
    pub insecure_no_pin: bool,

    /// With @PROFILE: start although a secret is overdue under rotation = "enforce" (recorded).
    #[arg(long)]
    pub insecure_no_rotation: bool,

    /// With @PROFILE: drop its tool allow/deny lists; only this command line's apply (recorded).
    #[arg(long)]
    pub insecure_no_tool_policy: bool,

    /// Replace mcp-warden with the server (execve): no proxy, no redaction, no audit
    /// (so --allow-tool, --deny-tool, --audit-log and --audit-arguments are refused with it).
    #[arg(long)]
    pub exec: bool,

    /// Replace %{NAME} in the server's arguments with the injected NAME's value (%%{ for a
    /// literal %{). Off by default: arguments are visible to every local process (ps,
    /// /proc/PID/cmdline), so prefer the environment whenever the server reads it.
    #[arg(long)]
    pub expand_args: bool,

    /// Secretless: NAME (also given as NAME=REF) gets a placeholder of the same shape; a
    /// loopback egress proxy swaps the real value in only for requests to these hosts
    /// (repeatable; REF?body=1 swaps in request bodies too). See docs/secretless.md.
    #[arg(long, value_name = "NAME=HOST[:PORT][,HOST...]")]
    pub secretless: Vec<String>,

    /// With --secretless: `strict` (default) lets the server reach only the bound hosts and
    /// --egress-allow ones; `open` passes other hosts through as plain tunnels.
    #[arg(long, value_name = "strict|open")]
    pub egress: Option<String>,

    /// With --secretless: one more host the server may reach (inspected; no value swapped in).
    #[arg(long = "egress-allow", value_name = "HOST[:PORT]")]
    pub egress_allow: Vec<String>,

    /// Per-reference timeout, e.g. 10s, 1500ms [default: 10s, or the profile's; it may only lower it].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// Keep this variable in the server's environment even though it would be removed (repeatable).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub pass_env: Vec<String>,

    /// Pass only a minimal allowlist (PATH, HOME, LANG, ...) plus --pass-env and the secrets.
    #[arg(long)]
    pub clean_env: bool,

    /// Backend for bare names: aws (Secrets Manager), ssm, gcp, azure, op (1Password), local, file, ...
    /// [mcp-secret-wrapper compatible, with --vault-projectId, --vault-keyFilename,
    /// --vault-vaultUrl, --vault-vaultName, --vault-tenantId, --vault-clientId]
    #[arg(long, env = "VAULT_TYPE", value_name = "TYPE", hide_env_values = true)]
    pub vault_type: Option<String>,

    /// Default AWS region for references that name none.
    #[arg(
        long,
        env = "VAULT_REGION",
        value_name = "REGION",
        hide_env_values = true
    )]
    pub vault_region: Option<String>,

    /// Default AWS profile for references that name none.
    #[arg(
        long,
        env = "VAULT_PROFILE",
        value_name = "PROFILE",
        hide_env_values = true
    )]
    pub vault_profile: Option<String>,

    /// mcp-secret-wrapper's other parameters, as `--vault-NAME=VALUE` before `--`
    /// (names in any case): projectId, keyFilename (GCP); vaultUrl, vaultName,
    /// tenantId, clientId (Azure); also as VAULT_NAME variables.
    #[arg(long = "vault-param", hide = true, value_name = "NAME=VALUE")]
    pub vault_params: Vec<String>,

    #[command(flatten)]
    pub guard: GuardArgs,
}

/// Options of the stdio proxy (supervise mode).
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Server label in the audit log [default: the command's basename].
    #[arg(long, value_name = "LABEL")]
    pub name: Option<String>,

    /// Do not redact secret values from what the server sends.
    #[arg(long)]
    pub no_redact: bool,

    /// Do not write the audit log.
    #[arg(long)]
    pub no_audit: bool,

    /// Audit log file [default: <data dir>/audit/audit.jsonl].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,

    /// Record tool-call arguments (redacted) in the audit log, not only their SHA-256.
    #[arg(long)]
    pub audit_arguments: bool,

    /// Allow only tools matching this glob (repeatable).
    #[arg(long = "allow-tool", value_name = "GLOB")]
    pub allow_tool: Vec<String>,

    /// Deny tools matching this glob (repeatable; wins over --allow-tool).
    #[arg(long = "deny-tool", value_name = "GLOB")]
    pub deny_tool: Vec<String>,

    /// After the client closes stdin: wait this long before SIGTERM.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub stdin_grace: String,

    /// After SIGTERM: wait this long before SIGKILL.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub term_grace: String,
}

/// `connect [OPTIONS] <URL> [NAME=REF]...`
#[derive(Debug, Args)]
#[command(
    after_help = "The MCP client starts `mcp-warden connect` as a stdio server; mcp-warden speaks \
Streamable HTTP (or, with --transport auto, falls back to the older HTTP+SSE transport) to URL. \
%{NAME} in a -H template or in the URL's path or query is replaced by NAME's value (percent-encoded \
in the URL); %%{ is a literal %{. Values are fetched concurrently before connecting and live only \
in mcp-warden's memory.\n\n\
SAFETY: TLS certificates are always verified (private CAs via SSL_CERT_FILE / SSL_CERT_DIR); plain \
http:// only to loopback; a redirect to another origin is followed without the -H headers; a value \
holding CR, LF or NUL is refused; HTTPS_PROXY / NO_PROXY are honoured. Every injected value is \
redacted from what the server sends; the audit log and --allow-tool / --deny-tool work as for run. \
A request the bridge cannot carry gets a JSON-RPC error naming why (and stderr the same line).\n\n\
OAUTH: when the server answers 401 (or with --oauth, before the first request), mcp-warden uses \
the tokens `mcp-warden login URL` stored, refreshing them ahead of expiry (one process at a time), \
else authorizes in a browser when one can be opened ($BROWSER, or a desktop), else answers the \
client with a JSON-RPC error saying to run `mcp-warden login URL`. --client-credentials needs no \
browser. Tokens are kept through --token-store (default local://, the encrypted store); nothing \
secret is written elsewhere. See docs/oauth.md.\n\n\
Example (what `mcp-warden protect` writes):\n  \
mcp-warden connect https://mcp.example.com/mcp TOKEN=local://example-token -H 'Authorization: Bearer %{TOKEN}'\n\n\
EXIT STATUS: 0 when the client closed its input; 128+N after signal N. Otherwise 64 usage (a bad \
URL, plain http to a non-loopback host), 65 a value that cannot go in a header or URL (CR, LF, NUL, \
not UTF-8), 69, 77, 78 as for run."
)]
pub struct ConnectArgs {
    /// The remote MCP endpoint (https://..., or http:// to loopback).
    #[arg(value_name = "URL")]
    pub url: String,

    /// Secrets the URL and the headers use: NAME=REF.
    #[arg(value_name = "NAME=REF")]
    pub assignments: Vec<String>,

    /// A header to send: 'Name: TEMPLATE' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: TEMPLATE")]
    pub headers: Vec<String>,

    /// Which transport: auto (Streamable HTTP, else HTTP+SSE), http, sse.
    #[arg(long, value_enum, default_value = "auto")]
    pub transport: TransportArg,

    /// Per-reference timeout, e.g. 10s, 1500ms.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,

    /// Time to open a connection to the server (TCP and TLS).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub connect_timeout: String,

    /// Longest wait for an answer's headers, and longest silence while an answer is awaited.
    #[arg(long, default_value = "120s", value_name = "DURATION")]
    pub read_timeout: String,

    /// After the client closes stdin: how long requests in flight may finish before the
    /// session is ended on the server.
    #[arg(long, default_value = "2s", value_name = "DURATION")]
    pub stdin_grace: String,

    /// Server label in the audit log [default: the URL's host].
    #[arg(long, value_name = "LABEL")]
    pub name: Option<String>,

    /// Do not write the audit log.
    #[arg(long)]
    pub no_audit: bool,

    /// Audit log file [default: <data dir>/audit/audit.jsonl].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,

    /// Record tool-call arguments (redacted) in the audit log, not only their SHA-256.
    #[arg(long)]
    pub audit_arguments: bool,

    /// Allow only tools matching this glob (repeatable).
    #[arg(long = "allow-tool", value_name = "GLOB")]
    pub allow_tool: Vec<String>,

    /// Deny tools matching this glob (repeatable; wins over --allow-tool).
    #[arg(long = "deny-tool", value_name = "GLOB")]
    pub deny_tool: Vec<String>,

    #[command(flatten)]
    pub oauth: OAuthArgs,
}

/// The OAuth options of `connect`, `login` and `logout`.
#[derive(Debug, Clone, Args)]
pub struct OAuthArgs {
    /// Authorize before the first request (default: when the server answers 401).
    #[arg(long, help_heading = "OAuth")]
    pub oauth: bool,

    /// A client registered with the authorization server beforehand.
    #[arg(long, value_name = "ID", help_heading = "OAuth")]
    pub client_id: Option<String>,

    /// That client's secret, as a reference (never the value itself).
    #[arg(
        long,
        value_name = "REF",
        requires = "client_id",
        help_heading = "OAuth"
    )]
    pub client_secret: Option<String>,

    /// A Client ID Metadata Document URL, used as the client id where the server supports them.
    #[arg(long, value_name = "URL", help_heading = "OAuth")]
    pub client_metadata_url: Option<String>,

    /// The client-credentials grant (no browser, no user): needs --client-id and
    /// --client-secret REF or --private-key REF.
    #[arg(long, requires = "client_id", help_heading = "OAuth")]
    pub client_credentials: bool,

    /// A PEM private key as a reference, for private_key_jwt (RSA: RS256, P-256: ES256).
    #[arg(
        long,
        value_name = "REF",
        requires = "client_id",
        conflicts_with = "client_secret",
        help_heading = "OAuth"
    )]
    pub private_key: Option<String>,

    /// A scope to ask for beyond those the server names (repeatable).
    #[arg(long = "scope", value_name = "SCOPE", help_heading = "OAuth")]
    pub scopes: Vec<String>,

    /// Do not send the RFC 8707 `resource` parameter (for servers that reject it).
    #[arg(long, help_heading = "OAuth")]
    pub no_resource: bool,

    /// Where tokens are kept: a reference prefix [default: local://].
    #[arg(long, value_name = "PREFIX", help_heading = "OAuth")]
    pub token_store: Option<String>,

    /// Never open a browser: login prints the URL; connect fails with the login hint.
    #[arg(long, help_heading = "OAuth")]
    pub no_browser: bool,

    /// How long to wait for the browser's redirect.
    #[arg(
        long,
        default_value = "5m",
        value_name = "DURATION",
        help_heading = "OAuth"
    )]
    pub login_timeout: String,
}

/// `login URL [OAuth options]` or `login --list [--json]`
#[derive(Debug, Args)]
#[command(
    after_help = "Does the interactive part of OAuth ahead of time: discovery (RFC 9728, RFC 8414, \
OpenID Connect), the client (--client-id, a Client ID Metadata Document, or dynamic registration), \
the authorization code flow with PKCE in a browser (the URL is also printed on stderr; a loopback \
redirect on 127.0.0.1 receives the answer), or the client-credentials grant. The tokens go to \
--token-store (default local://); one summary line is printed on stderr. A later `connect URL` \
(launched by an MCP client, without a terminal) uses them and refreshes them.\n\n\
`login --list` prints the stored grants (resource, issuer, client id, scopes, expiry, whether a \
refresh token is held, where they are stored); never a token.\n\n\
EXIT STATUS: 0 authorized; 64 usage; 65 a server sent something unusable; 69 unreachable or no \
answer within --login-timeout; 74 our own files; 77 refused (by the server, the user, or a failed \
state / issuer / resource check); 78 configuration (no way to register a client, a backend error)."
)]
pub struct LoginArgs {
    /// The remote MCP endpoint.
    #[arg(value_name = "URL", required_unless_present = "list")]
    pub url: Option<String>,

    /// List the stored grants instead.
    #[arg(long, conflicts_with = "url")]
    pub list: bool,

    /// With --list: JSON instead of a table.
    #[arg(long, requires = "list")]
    pub json: bool,

    #[command(flatten)]
    pub oauth: OAuthArgs,

    /// Time to open a connection to a server.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub connect_timeout: String,

    /// Longest wait for a server's answer.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub read_timeout: String,
}

/// `logout URL [--forget-client]`
#[derive(Debug, Args)]
#[command(
    after_help = "Revokes the stored refresh and access tokens where the authorization server \
offers revocation (RFC 7009), then deletes them from their store and the index. With \
--forget-client the client registration is deleted too (the next login registers anew).\n\n\
EXIT STATUS: 0 done (a failed revocation is reported, and the tokens are deleted anyway); 64 usage; \
74 our own files; 78 nothing stored for URL, or a backend error."
)]
pub struct LogoutArgs {
    /// The remote MCP endpoint, as given to login or connect.
    #[arg(value_name = "URL")]
    pub url: String,

    /// Also delete the client registration.
    #[arg(long)]
    pub forget_client: bool,

    /// Delete the stored tokens even when their revocation failed.
    #[arg(long)]
    pub force: bool,

    /// The pre-registered client that obtained the grant [default: the one kept with it].
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// That client's secret, as a reference (never the value itself).
    #[arg(long, value_name = "REF", requires = "client_id")]
    pub client_secret: Option<String>,

    /// That client's PEM private key, as a reference (private_key_jwt).
    #[arg(
        long,
        value_name = "REF",
        requires = "client_id",
        conflicts_with = "client_secret"
    )]
    pub private_key: Option<String>,

    /// Where the tokens are kept, when not in the store that holds them [default: the index's].
    #[arg(long, value_name = "PREFIX")]
    pub token_store: Option<String>,

    /// Longest wait for the authorization server.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub read_timeout: String,
}

/// `connect --transport`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    Auto,
    Http,
    Sse,
}

/// `pin @NAME`
#[derive(Debug, Args)]
#[command(
    after_help = "Records what profile NAME runs now in its [servers.NAME.pinned] table of the user \
config: the SHA-256 of the executable our PATH lookup finds, of an interpreter's script file \
(node server.js, python server.py, uv run server.py, deno run x.ts, bun x.ts), the exact spec a \
package runner launches (npx pkg@1.2.3, uvx pkg==1.2, docker run image@sha256:...), and a hash of \
the profile's command and arguments. Runs nothing and fetches no secret. The rest of the file is \
kept byte for byte.\n\n\
EXIT STATUS: 0 recorded, or already matching; 77 the existing pin does not match (nothing written \
without --update-pin; with --check); 78 configuration (unknown profile, a command that cannot be \
pinned); 127 command not found."
)]
pub struct PinArgs {
    /// The profile: @NAME (or NAME).
    #[arg(value_name = "@NAME")]
    pub profile: String,

    /// Replace an existing pin that no longer matches (after reviewing what changed).
    #[arg(long, conflicts_with = "check")]
    pub update_pin: bool,

    /// Only compare what runs now with the recorded pin; write nothing.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Store a secret. The value comes from stdin, a no-echo prompt, or --from-file; never argv.
    Set {
        /// Local name, or a reference to a writable backend (aws-sm://NAME, aws-ssm:///path).
        target: String,
        /// Read the value from this file, byte for byte.
        #[arg(long, value_name = "PATH")]
        from_file: Option<PathBuf>,
        /// Keep a trailing newline read from stdin (stripped by default).
        #[arg(long)]
        keep_newline: bool,
    },
    /// Print a secret's value to stdout (for pipes).
    Get {
        /// Local name or reference (selectors allowed).
        target: String,
    },
    /// List secrets with their created/updated times; never values.
    Ls {
        /// What to list: nothing for the local store, a scheme (aws-sm://), or a reference prefix.
        scope: Option<String>,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delete a secret.
    Rm {
        /// Local name or reference.
        target: String,
    },
    /// Show where the local store and its key live.
    Info,
}

/// `rotate REF`
#[derive(Debug, Args)]
#[command(
    after_help = "The new value comes from stdin, a no-echo prompt (asked twice), or --from-file; \
never from argv. It is written as the secret's new version (local store, aws-sm://, aws-ssm://, \
vault:// KV, gcp://, azure://, keyring://, op://: whatever `secret set` writes to) and read back \
and compared before mcp-warden says it is done. With --provider the backend rotates the secret \
itself (AWS Secrets Manager RotateSecret, with the rotation Lambda configured on the secret); \
mcp-warden then checks the new version reads back. The value is never printed.\n\n\
Then every profile of the user config and every client entry that uses the reference is listed, \
so you know which servers to restart (a running server keeps the value it started with).\n\n\
EXIT STATUS: 0; 64 usage; 65 the value read back differs; 69 backend unreachable; 77 denied \
by the backend; 78 configuration (e.g. the backend cannot write or rotate)."
)]
pub struct RotateArgs {
    /// Local name or reference of the secret to rotate (a Vault #field writes that field).
    pub target: String,
    /// Read the new value from this file, byte for byte.
    #[arg(long, value_name = "PATH", conflicts_with = "provider")]
    pub from_file: Option<PathBuf>,
    /// Keep a trailing newline read from stdin (stripped by default).
    #[arg(long, conflicts_with = "provider")]
    pub keep_newline: bool,
    /// Let the backend rotate the secret with its own mechanism (aws-sm: RotateSecret).
    #[arg(long)]
    pub provider: bool,
    /// Do not look for the profiles and client entries that use it.
    #[arg(long)]
    pub no_users: bool,
    #[command(flatten)]
    pub discover: Discover,
    /// Per-call backend timeout, e.g. 10s (a provider rotation may take longer: 60s).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Outcome {
    Ok,
    Error,
    ToolError,
    Denied,
    Cancelled,
    /// Answered by mcp-warden because a short-lived credential had expired.
    CredentialExpired,
}

/// `audit`: show the audit log.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit log file [default: <data dir>/audit/audit.jsonl].
    #[arg(long, value_name = "PATH")]
    pub audit_log: Option<PathBuf>,
    /// Only records of this server label.
    #[arg(long, value_name = "LABEL")]
    pub server: Option<String>,
    /// Only this JSON-RPC method.
    #[arg(long)]
    pub method: Option<String>,
    /// Only calls of this tool.
    #[arg(long)]
    pub tool: Option<String>,
    /// Only this outcome.
    #[arg(long, value_enum)]
    pub outcome: Option<Outcome>,
    /// Only records newer than this, e.g. 1h, 2days.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Print matching records as JSON lines.
    #[arg(long)]
    pub json: bool,
}

/// `scan [PATH...]`
#[derive(Debug, Args)]
#[command(
    after_help = "Without PATH, scans the MCP client configs of this machine (Claude Desktop, \
Claude Code, Cursor, VS Code, Windsurf, Zed, Cline, Continue, Gemini CLI, Codex, Goose, LM Studio, \
Kiro, Copilot CLI, opencode, ...) and the plaintext token files MCP tools leave behind, plus the \
project-level configs (.mcp.json, .vscode/mcp.json, .cursor/mcp.json, ...) at the root of every \
project folder those clients remember (up to 500; --no-projects leaves them out). With PATH, \
walks those files or trees (honouring .gitignore) for project-level configs.\n\n\
Reads only: never writes a file, never starts a server. Secrets are shown as at most their first \
4 characters and their length.\n\n\
EXIT STATUS: 0, or 1 when a finding reaches --fail-on; 64 usage."
)]
pub struct ScanArgs {
    #[command(flatten)]
    pub discover: Discover,

    /// Report format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    pub format: ScanFormat,

    /// Exit 1 when a finding has at least this severity.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,
}

/// Which config files `scan` and `protect` look at.
#[derive(Debug, Args)]
pub struct Discover {
    /// Files or directories to use instead of this machine's client configs.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Use the client configs under this home directory instead of yours
    /// (environment overrides such as XDG_CONFIG_HOME are then ignored).
    #[arg(long, value_name = "DIR", conflicts_with = "paths")]
    pub home: Option<PathBuf>,

    /// Whose config locations to look in.
    #[arg(long, value_enum, default_value_t = ScanOs::Current)]
    pub os: ScanOs,

    /// Leave out administrator-managed files (e.g. /etc/claude-code/managed-mcp.json);
    /// they are read by default unless --home is given.
    #[arg(long)]
    pub no_system: bool,

    /// Do not follow the project folders clients remember (Claude Code projects, Codex and
    /// Gemini CLI trusted folders, VS Code/Cursor/Windsurf workspaces) to read their
    /// project-level configs (.mcp.json, .vscode/mcp.json, ...).
    #[arg(long)]
    pub no_projects: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanOs {
    /// The system mcp-warden runs on.
    Current,
    Linux,
    Macos,
    Windows,
    /// Every path set (a home shared between systems, or a backup).
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    /// Grouped by client and file, for people.
    Table,
    /// The documented `mcp-warden/scan/v1` schema.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SeverityArg {
    Low,
    Medium,
    High,
    Critical,
}

/// `headers -H 'NAME: TEMPLATE'... [VAR=REF ...]`
#[derive(Debug, Args)]
#[command(
    after_help = "Prints one JSON object, e.g. {\"Authorization\":\"Bearer ...\"}, on stdout: the \
shape Claude Code's `headersHelper` expects. In a TEMPLATE, %{VAR} is replaced by VAR's value and %%{ \
stands for a literal %{.\n\nExample (what `mcp-warden protect` writes):\n  \
mcp-warden headers -H 'Authorization: Bearer %{TOKEN}' TOKEN=local://claude-code/api/Authorization\n\n\
EXIT STATUS: 0; 64 usage; 65 a value that cannot go in a header (not UTF-8, line break); 69, 77, 78 \
as for run."
)]
pub struct HeadersArgs {
    /// A header to print: 'Name: TEMPLATE' (repeatable).
    #[arg(
        short = 'H',
        long = "header",
        value_name = "NAME: TEMPLATE",
        required = true
    )]
    pub headers: Vec<String>,

    /// Secrets the templates use: VAR=REF.
    #[arg(value_name = "VAR=REF")]
    pub assignments: Vec<String>,

    /// Per-reference timeout, e.g. 10s, 1500ms (Claude Code gives the helper 10 s in all).
    #[arg(long, default_value = "8s", value_name = "DURATION")]
    pub timeout: String,
}

/// `protect [PATH...]`
#[derive(Debug, Args)]
#[command(
    after_help = "Plans from scan's findings. For each plaintext secret: store it in the \
backend (--to), read it back and compare, then rewrite the entry so the server starts through \
`mcp-warden run VAR=REF ... -- <original command>`; a secret passed as an argument is placed back at \
launch with --expand-args (%{VAR}). A remote server (a URL with a secret header or a secret in \
the URL) becomes a stdio entry starting `mcp-warden connect URL VAR=REF... --header='Name: ...%{VAR}...'` \
in the client's own stdio shape, and so does an mcp-remote, supergateway or mcp-proxy bridge whose \
command line is fully understood (others keep `run`; mcp-remote's --header gets `${VAR}` from the \
environment where the client passes it through). With --remote-style headers-helper a Claude Code \
remote server stays remote and a headersHelper running `mcp-warden headers` fetches its secret \
headers. An `mcp-remote URL` entry whose OAuth tokens mcp-remote cached (~/.mcp-auth, \
$MCP_REMOTE_CONFIG_DIR) becomes `mcp-warden connect URL`: the registration and tokens go to the \
token store (--to as the prefix), each cache file is kept whole as a secret for restore, and the \
files are removed after everything reads back equal; token files other clients read themselves \
(Gemini CLI, opencode, Copilot CLI) are reported as `cannot import`, with the reason. Anything \
else is reported as not protectable, with the reason, and its entry is left byte-identical while the other entries are protected. A file with \
a duplicated key or more than one hard link is skipped whole.\n\n\
Without --apply nothing is stored or written: a unified diff (values masked in every spelling) shows \
what would change. With --apply each file is replaced atomically after its secrets are stored and \
verified; a journal without plaintext lets `mcp-warden restore` undo it, and the moved references \
are listed to be rotated (`inventory` flags them EXPOSED until then). Running it twice changes \
nothing.\n\n\
EXIT STATUS: 0; 1 when some file was skipped whole or could not be written; 64 usage."
)]
pub struct ProtectArgs {
    #[command(flatten)]
    pub discover: Discover,

    /// Where secrets go: SCHEME://PREFIX[?PARAMS], e.g. local://, aws-sm://mcp/?region=eu-west-1,
    /// keyring://SERVICE (the OS keychain; the name is the account),
    /// vault://secret/mcp/.
    #[arg(long, default_value = "local://", value_name = "REF-PREFIX")]
    pub to: String,

    /// Name of each stored secret under --to, from {client}, {project}, {server}, {var},
    /// {scope}. {project} names the project folder of a project-level entry (its folder name
    /// and a short hash of its path); for user-level entries it is empty and, as a segment
    /// of its own, left out with its slash.
    #[arg(
        long,
        default_value = crate::protect::naming::DEFAULT_TEMPLATE,
        value_name = "TEMPLATE"
    )]
    pub name_template: String,

    /// Store the secrets and rewrite the files (without it: a dry run printing a diff).
    #[arg(long)]
    pub apply: bool,

    /// Also rewrite entries wrapped by mcp-secret-wrapper into mcp-warden syntax.
    #[arg(long)]
    pub convert_wrappers: bool,

    /// Only this server entry (repeatable).
    #[arg(long = "server", value_name = "NAME")]
    pub servers: Vec<String>,

    /// The mcp-warden command written into configs (default: this executable's absolute path,
    /// so clients started without your shell's PATH still find it).
    #[arg(long, value_name = "PATH")]
    pub warden: Option<PathBuf>,

    /// Per-secret backend timeout, e.g. 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,

    /// How remote servers are protected: `connect` (every client: the entry starts `mcp-warden
    /// connect`, which adds redaction, audit and tool policy) or `headers-helper` (Claude Code
    /// only: the entry stays remote and a headersHelper prints its headers; other clients
    /// still get connect).
    #[arg(long, value_enum, default_value_t = RemoteStyleArg::Connect, value_name = "STYLE")]
    pub remote_style: RemoteStyleArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RemoteStyleArg {
    Connect,
    HeadersHelper,
}

/// `add --client CLIENT NAME [--secret VAR[=REF]]... -- COMMAND [ARGS...]`
/// or `add --client CLIENT NAME --url URL [-H 'Name: TEMPLATE']... [--secret VAR[=REF]]...`
#[derive(Debug, Args)]
#[command(
    after_help = "Writes one entry into the client's config in the shape `protect` writes: \
`mcp-warden run VAR=REF... -- COMMAND ARGS...` (with --url: `mcp-warden connect URL VAR=REF... \
--header='Name: ...%{VAR}...'`), so the server receives each secret in its environment (or its \
request headers) and never from the file.\n\n\
SECRETS: --secret VAR asks for VAR's value with a no-echo prompt on a terminal, else reads it \
from stdin (one secret only), or from a file with --from-file VAR=PATH; the value is stored under \
--to and --name-template (as protect names it, e.g. local://cursor/NAME/VAR), read back and \
compared before the config is touched. --secret VAR=REF uses an existing reference \
(SCHEME://LOCATION); it is parsed, never stored, and with --apply checked readable. A value never \
belongs on the command line: a VAR=... that is not a reference is refused without being shown.\n\n\
Without --apply nothing is asked, stored or written: a unified diff shows the entry to be added. \
An entry of the same name is refused unless --replace (the old entry, which must hold no \
plaintext secret, is kept in the journal). --profile declares [servers.NAME] in the user config \
(the command, args and the references as env), pins what the command runs now (as `mcp-warden pin \
@NAME`) and writes an entry running `mcp-warden run @NAME`. `mcp-warden restore --apply` removes an added entry \
(or puts the replaced one back) and names the stored secrets it leaves in their backend.\n\n\
EXIT STATUS: 0; 64 usage (bad VAR or reference, no command); 65 an unusable value (empty, \
not UTF-8); 69 backend unreachable; 74 the store or journal unusable; 77 permission denied by the \
backend; 78 configuration (an entry of that name exists, the file cannot be edited safely, a \
reference not found)."
)]
pub struct AddArgs {
    /// Whose config gets the entry: claude-desktop, claude-code, cursor, vscode, windsurf,
    /// gemini-cli (or gemini), codex, cline, roo-code, kiro, ...
    #[arg(long, value_name = "CLIENT")]
    pub client: String,

    /// user: the client's own config file; project: its project file (.mcp.json,
    /// .vscode/mcp.json, .cursor/mcp.json, ...) in --project-dir.
    #[arg(long, value_enum, default_value_t = AddScope::User)]
    pub scope: AddScope,

    /// The project folder for --scope project (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub project_dir: Option<PathBuf>,

    /// The new entry's name.
    #[arg(value_name = "NAME")]
    pub name: String,

    /// A secret the server receives: VAR (its value asked for, or read from stdin) or VAR=REF
    /// (an existing reference). Repeatable.
    #[arg(long = "secret", value_name = "VAR[=REF]")]
    pub secrets: Vec<String>,

    /// Read VAR's value from a file instead (VAR=PATH; the file is not changed).
    #[arg(long = "from-file", value_name = "VAR=PATH")]
    pub from_file: Vec<String>,

    /// A remote server (Streamable HTTP or HTTP+SSE) reached through `mcp-warden connect`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,

    /// A request header for --url: 'Name: TEMPLATE', %{VAR} standing for a secret (repeatable).
    #[arg(
        short = 'H',
        long = "header",
        value_name = "NAME: TEMPLATE",
        requires = "url"
    )]
    pub headers: Vec<String>,

    /// Write the entry (and store the secrets); without it, a dry run printing a diff.
    #[arg(long)]
    pub apply: bool,

    /// Replace an existing entry of that name.
    #[arg(long)]
    pub replace: bool,

    /// Declare the server as a profile instead ([servers.NAME] in the user config, its command
    /// pinned now, before it is ever handed a secret) and write a `run @NAME` entry.
    #[arg(long, conflicts_with = "url")]
    pub profile: bool,

    /// Use the client configs under this home directory instead of yours
    /// (environment overrides such as XDG_CONFIG_HOME are then ignored).
    #[arg(long, value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Where prompted values go: SCHEME://PREFIX[?PARAMS], as for protect.
    #[arg(long, default_value = "local://", value_name = "REF-PREFIX")]
    pub to: String,

    /// Name of each stored secret under --to, from {client}, {project}, {server}, {var},
    /// {scope}, as for protect.
    #[arg(
        long,
        default_value = crate::protect::naming::DEFAULT_TEMPLATE,
        value_name = "TEMPLATE"
    )]
    pub name_template: String,

    /// The mcp-warden command written into the config (default: this executable's absolute path).
    #[arg(long, value_name = "PATH")]
    pub warden: Option<PathBuf>,

    /// Per-secret backend timeout, e.g. 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,

    /// The server's command line, after `--` (not with --url).
    #[arg(
        last = true,
        value_name = "COMMAND",
        allow_hyphen_values = true,
        conflicts_with = "url"
    )]
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AddScope {
    User,
    Project,
}

/// `restore [FILE...]`
#[derive(Debug, Args)]
#[command(
    after_help = "Reads protect's journal, fetches each value from its backend and puts the \
original entry back byte for byte, newest protect first, with the file mode it had then (never a \
looser one than it has now). Files of an imported mcp-remote OAuth cache are written back first, \
byte for byte with their modes, and the imported grant is forgotten from the token store (not \
revoked). An entry `mcp-warden add` wrote is removed (a replaced one put back), and the \
secrets add stored are named, left in their backend. An entry edited since is left alone and \
reported. Without --apply: a diff (values masked). The secrets stay in their backend.\n\n\
EXIT STATUS: 0; 1 when some entry could not be restored; 64 usage."
)]
pub struct RestoreArgs {
    /// Only these config files (default: every file protect rewrote).
    #[arg(value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Write the restored files (without it: a dry run printing a diff).
    #[arg(long)]
    pub apply: bool,

    /// Per-secret backend timeout, e.g. 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,
}

/// `inventory [PATH...]`
#[derive(Debug, Args)]
#[command(
    after_help = "One row per MCP server in every discovered client config: client, file, \
name, transport, what it launches and whether that is pinned, credential posture (as scan), the \
secret references it uses by backend, and each secret's age from the backend's metadata (local store \
times, AWS last changed/rotated, Vault KV metadata) against the rotation policy, flagged when \
overdue, and each secret `protect` moved out of a plaintext config that the backend does not show \
rotated since (a newer version or change), flagged EXPOSED. Values are never read into the report.\n\n\
EXIT STATUS: 0; 1 when --fail-on matches; 64 usage."
)]
pub struct InventoryArgs {
    #[command(flatten)]
    pub discover: Discover,

    /// Output format.
    #[arg(long, value_enum, default_value_t = InventoryFormat::Table)]
    pub format: InventoryFormat,

    /// Rotation policy for secrets no profile gives one: older is overdue (e.g. 90d; 0 = never).
    #[arg(long, default_value = "90d", value_name = "DURATION")]
    pub rotate_after: String,

    /// Exit 1 when any server matches (repeatable).
    #[arg(long, value_enum, value_name = "WHAT")]
    pub fail_on: Vec<FailOn>,

    /// Per-backend metadata timeout, e.g. 10s.
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub timeout: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InventoryFormat {
    Table,
    /// The documented `mcp-warden/inventory/v1` schema.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// A secret older than its rotation policy.
    Overdue,
    /// A package runner without an exact version or digest.
    Unpinned,
    /// A plaintext secret in a config.
    Plaintext,
    /// A secret protect moved out of a plaintext config, not rotated since.
    Exposed,
}

/// `doctor [PATH...]`
#[derive(Debug, Args)]
#[command(
    after_help = "Checks, each with a fix hint when it fails: every backend referenced by a \
client config (reachable, authenticated, each referenced secret readable — values are fetched and \
dropped, never shown — and the latency); the local store and where its key lives (and whether the \
keychain is reachable without a D-Bus session, the usual trap for IDE-launched servers); \
permissions of the store, its key, the audit log, the journal, and of client configs that hold \
plaintext secrets.\n\nEXIT STATUS: 0; 1 when a check fails; 64 usage."
)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub discover: Discover,

    /// Print one JSON object per check instead of the table.
    #[arg(long)]
    pub json: bool,

    /// Per-reference timeout, e.g. 5s.
    #[arg(long, default_value = "5s", value_name = "DURATION")]
    pub timeout: String,
}
