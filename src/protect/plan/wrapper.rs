//! `--convert-wrappers`: an mcp-secret-wrapper entry becomes `mcp-warden run`
//! with the same references (and its `VAULT_*` settings as flags). Moves no
//! secret: the references stay where they are.

use super::argv::{argv_edits, argv_shape};
use super::{EntryPlan, Options};
use crate::clients::edit::Edit;
use crate::clients::{ConfigFile, Server};
use crate::scan::{posture, runner};

/// The rewrite of one mcp-secret-wrapper entry, or `None` for any other entry.
pub(super) fn convert(
    cfg: &ConfigFile,
    server: &Server,
    original: &[u8],
    opts: &Options<'_>,
) -> Option<EntryPlan> {
    let argv = posture::argv(server);
    let w = runner::wrapper(&argv)?;
    if w.name != "mcp-secret-wrapper" {
        return None;
    }
    // Where the wrapper's own arguments start: after the package spec (npx ... PKG).
    let start = match runner::package_runner(&argv) {
        Some(l) => l.index + 1,
        None => 1,
    };
    let mut new_argv = vec![opts.warden.to_string(), "run".to_string()];
    let mut edits = Vec::new();
    for (key, flag) in [
        ("VAULT_TYPE", "--vault-type"),
        ("VAULT_REGION", "--vault-region"),
        ("VAULT_PROFILE", "--vault-profile"),
    ] {
        if let Some((_, at)) = server.env.iter().find(|(k, _)| k == key) {
            let explicit = argv[start..]
                .iter()
                .take_while(|a| **a != "--")
                .any(|a| a.starts_with(flag));
            if !explicit {
                new_argv.push(format!("{flag}={}", at.value));
            }
            edits.push(Edit::Remove {
                pointer: at.pointer.clone(),
            });
        }
    }
    new_argv.extend(argv[start..].iter().map(|s| s.to_string()));
    let shape = argv_shape(server, cfg.location.format, original)?;
    edits.extend(argv_edits(&shape, &server.pointer, &new_argv));
    Some(EntryPlan {
        server: server.name.clone(),
        pointer: server.pointer.clone(),
        secrets: Vec::new(),
        edits,
        summary: "mcp-secret-wrapper converted to mcp-warden run".to_string(),
    })
}
