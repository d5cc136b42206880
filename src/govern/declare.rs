//! Declaring a new profile in the user config (`add --profile`): a
//! `[servers.NAME]` table with `command`, `args` and the `env` references,
//! appended with toml_edit so the rest of the file stays byte for byte, and
//! checked to load back as that profile. A name already declared is
//! refused. Never resolves a reference or hashes a command (`pin` does).

use std::path::{Path, PathBuf};

use super::GovernError;

/// The user config before and after declaring one profile.
pub struct Declared {
    pub path: PathBuf,
    /// The file's text now (empty when it does not exist).
    pub before: String,
    pub after: String,
    pub exists: bool,
}

/// A profile name `run @NAME` accepts: letters, digits, `-`, `_`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Plans `[servers.NAME]` in the user config at `path`.
pub fn plan(
    path: &Path,
    name: &str,
    argv: &[String],
    env: &[(String, String)],
) -> Result<Declared, GovernError> {
    if !valid_name(name) {
        return Err(GovernError::Usage(
            "a profile name takes letters, digits, '-' and '_' only".into(),
        ));
    }
    let (command, args) = argv
        .split_first()
        .ok_or_else(|| GovernError::Usage("the profile has no command".into()))?;
    let exists = path.exists();
    let before = if exists {
        super::profile::load(path)?.text
    } else {
        String::new()
    };
    let config = super::profile::load_text(path, &before)?;
    if config.servers.contains_key(name) {
        return Err(GovernError::Config(format!(
            "{}: the profile @{name} is already declared; nothing written",
            path.display()
        )));
    }
    let mut table = toml_edit::Table::new();
    table.insert("command", toml_edit::value(command.as_str()));
    let mut list = toml_edit::Array::new();
    for a in args {
        list.push(a.as_str());
    }
    table.insert("args", toml_edit::value(list));
    if !env.is_empty() {
        let mut inline = toml_edit::InlineTable::new();
        for (var, reference) in env {
            inline.insert(var, reference.as_str().into());
        }
        table.insert("env", toml_edit::value(inline));
    }
    let mut block = toml_edit::DocumentMut::new();
    let mut servers = toml_edit::Table::new();
    servers.set_implicit(true);
    servers.insert(name, toml_edit::Item::Table(table));
    block.insert("servers", toml_edit::Item::Table(servers));
    let mut after = before.clone();
    if !after.is_empty() {
        if !after.ends_with('\n') {
            after.push('\n');
        }
        after.push('\n');
    }
    after.push_str(&block.to_string());
    let reread = super::profile::load_text(path, &after)?;
    if !reread.servers.contains_key(name) {
        return Err(GovernError::Config(format!(
            "{}: @{name} would not read back as a profile; nothing written",
            path.display()
        )));
    }
    Ok(Declared {
        path: path.to_path_buf(),
        before,
        after,
        exists,
    })
}

/// Writes the planned config atomically (0600 when new), unless the file
/// changed since it was read.
pub fn write(d: &Declared) -> Result<(), GovernError> {
    let now = if d.path.exists() {
        std::fs::read_to_string(&d.path).map_err(GovernError::io(&d.path))?
    } else {
        String::new()
    };
    if now != d.before || d.path.exists() != d.exists {
        return Err(GovernError::Config(format!(
            "{} changed while mcp-warden ran; run it again",
            d.path.display()
        )));
    }
    if let Some(dir) = d.path.parent()
        && !dir.as_os_str().is_empty()
        && !dir.exists()
    {
        crate::atomic_file::create_private_dir(dir).map_err(GovernError::io(dir))?;
    }
    crate::atomic_file::replace(&d.path, d.after.as_bytes(), 0o600)
        .map_err(GovernError::io(&d.path))
}
