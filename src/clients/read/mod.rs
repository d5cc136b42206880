//! Reading one client config file into a [`ConfigFile`]: bytes to text (BOM,
//! UTF-16, size limit), text to a positioned tree per format (`json`, `toml`,
//! `yaml`), then the client's shape to servers (`containers`, `entry`) or,
//! for token stores, credential fields (`tokens`).
//!
//! Never touches the file system and never puts file content in an error.

mod containers;
mod entry;
mod json;
mod tokens;
mod toml;
mod tree;
mod yaml;

use std::borrow::Cow;

use super::model::{ConfigFile, Format, Location, ReadError, Scope};
use tree::LineIndex;

/// Files larger than this are reported, not read. Claude Code's
/// `~/.claude.json` keeps conversation history and grows to tens of
/// megabytes (anthropics/claude-code#6394 reports 65 MB and more), so the
/// bound is generous; [`max_bytes`] is the tighter bound for each file.
pub const MAX_CONFIG_BYTES: u64 = 256 * 1024 * 1024;

/// Every other config file, and token store, is far below this.
const MAX_ORDINARY_BYTES: u64 = 16 * 1024 * 1024;

/// The size above which `location` is reported, not read: [`MAX_CONFIG_BYTES`]
/// for Claude Code's user file, 16 MiB for every other file.
pub fn max_bytes(location: &Location) -> u64 {
    if is_claude_user_file(location) {
        MAX_CONFIG_BYTES
    } else {
        MAX_ORDINARY_BYTES
    }
}

fn is_claude_user_file(location: &Location) -> bool {
    location.client == "claude-code"
        && location
            .path
            .file_name()
            .is_some_and(|n| n == ".claude.json")
}

/// In `~/.claude.json`, only `mcpServers` and `projects.<path>.mcpServers`
/// matter here; the rest (history, caches) is not converted.
fn claude_user_file_keep(path: &[&str]) -> bool {
    matches!(
        path,
        ["mcpServers", ..] | ["projects"] | ["projects", _] | ["projects", _, "mcpServers", ..]
    )
}

/// Reads `bytes` (the whole file) as `location`'s client format.
///
/// A file with no value (empty, whitespace, comments) or without any server
/// container reads as a [`ConfigFile`] with no servers. One entry of an
/// unexpected shape is skipped; a top level that is not a mapping is a
/// [`ReadError::Shape`].
pub fn parse(location: Location, bytes: &[u8]) -> Result<ConfigFile, ReadError> {
    let path = tracing::enabled!(tracing::Level::INFO).then(|| location.path.clone());
    let client = location.client;
    let read = parse_file(location, bytes);
    if let Some(path) = path {
        match &read {
            Ok(f) => tracing::info!(
                "read {} ({client}, {} bytes): {} server entries",
                path.display(),
                bytes.len(),
                f.servers.len()
            ),
            Err(_) => tracing::info!("read {} ({client}): not usable", path.display()),
        }
    }
    read
}

fn parse_file(location: Location, bytes: &[u8]) -> Result<ConfigFile, ReadError> {
    let limit = max_bytes(&location);
    if u64::try_from(bytes.len()).map_or(true, |n| n > limit) {
        return Err(ReadError::TooLarge { limit });
    }
    let text = decode(bytes, location.format)?;
    let keep: Option<json::Keep<'_>> =
        is_claude_user_file(&location).then_some(&claude_user_file_keep);
    let root = match location.format {
        Format::Json => json::parse(&text, keep)?,
        Format::Toml => Some(toml::parse(&text)?),
        Format::Yaml => yaml::parse(&text)?,
    };
    let mut file = ConfigFile {
        location,
        servers: Vec::new(),
        inputs: Vec::new(),
        credentials: Vec::new(),
    };
    let Some(root) = root else {
        return Ok(file);
    };
    let file_name = file
        .location
        .path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    if file.location.scope == Scope::TokenStore {
        file.credentials = tokens::credentials(&root, file_name == "secrets.yaml");
        return Ok(file);
    }
    if root.entries().is_none() {
        return Err(ReadError::Shape(
            "the top level is not an object or mapping".to_string(),
        ));
    }
    let cx = containers::Context {
        client: file.location.client,
        scope: file.location.scope,
        file_name: &file_name,
    };
    let (servers, inputs) = containers::read(&cx, &root);
    file.servers = servers;
    file.inputs = inputs;
    Ok(file)
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Json => "JSON",
        Format::Toml => "TOML",
        Format::Yaml => "YAML",
    }
}

/// UTF-8 (a BOM is dropped) or UTF-16 with a BOM, as editors on Windows write.
fn decode(bytes: &[u8], format: Format) -> Result<Cow<'_, str>, ReadError> {
    let not_text = |line, column, what: &str| ReadError::Syntax {
        format: format_name(format),
        line,
        column,
        message: format!("not valid {what}"),
    };
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, format);
    }
    let utf16 = |rest: &[u8], little: bool| -> Result<Cow<'_, str>, ReadError> {
        if !rest.len().is_multiple_of(2) {
            return Err(not_text(1, 1, "UTF-16"));
        }
        let units = rest.chunks_exact(2).map(|c| {
            if little {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        String::from_utf16(&units.collect::<Vec<_>>())
            .map(Cow::Owned)
            .map_err(|_| not_text(1, 1, "UTF-16"))
    };
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, true);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, false);
    }
    utf8(bytes, format)
}

fn utf8(bytes: &[u8], format: Format) -> Result<Cow<'_, str>, ReadError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(e) => {
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or("");
            let (line, column) = LineIndex::new(valid).position(valid.len());
            Err(ReadError::Syntax {
                format: format_name(format),
                line,
                column,
                message: "not valid UTF-8".to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests;
