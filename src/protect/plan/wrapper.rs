//! `--convert-wrappers`: an mcp-secret-wrapper entry becomes `mcp-warden run`
//! with the same references (and its `VAULT_*` settings as flags). The vault
//! references stay where they are; a credential the entry carries for the
//! wrapper itself (`--vault-clientSecret=`, `--vault-credentials=`,
//! `--vault-secretAccessKey=`, `--vault-sessionToken=`, or their `VAULT_*`
//! forms) is moved into the `--to` backend and named by its `...Ref` flag.

use super::argv::{argv_edits, argv_shape};
use super::{EntryPlan, Options, Secret};
use crate::clients::edit::Edit;
use crate::clients::{ConfigFile, Server};
use crate::protect::naming::NameParts;
use crate::scan::finding::{Finding, Masked, Site};
use crate::scan::{posture, runner};
use crate::secret::SecretValue;

/// The wrapper's credential parameters (lower-cased), the flag naming where
/// each is stored, and the name its stored secret gets.
const CREDENTIALS: &[(&str, &str, &str)] = &[
    (
        "clientsecret",
        "--vault-clientSecretRef",
        "AZURE_CLIENT_SECRET",
    ),
    (
        "credentials",
        "--vault-credentialsRef",
        "GOOGLE_CREDENTIALS",
    ),
    (
        "secretaccesskey",
        "--vault-secretAccessKeyRef",
        "AWS_SECRET_ACCESS_KEY",
    ),
    (
        "sessiontoken",
        "--vault-sessionTokenRef",
        "AWS_SESSION_TOKEN",
    ),
];

/// `--vault-NAME=VALUE` -> the credential entry and the value.
fn credential_flag(
    arg: &str,
) -> Option<(&'static (&'static str, &'static str, &'static str), &str)> {
    let rest = arg.strip_prefix("--vault-")?;
    let (name, value) = rest.split_once('=')?;
    let lower = name.to_ascii_lowercase();
    CREDENTIALS
        .iter()
        .find(|(n, _, _)| *n == lower)
        .map(|c| (c, value))
}

/// `VAULT_NAME` -> the credential entry.
fn credential_env(key: &str) -> Option<&'static (&'static str, &'static str, &'static str)> {
    let name = key
        .get(..6)
        .filter(|p| p.eq_ignore_ascii_case("VAULT_"))
        .map(|_| key[6..].to_ascii_lowercase())?;
    CREDENTIALS.iter().find(|(n, _, _)| *n == name)
}

/// Whether every finding of the entry is a wrapper credential this conversion moves.
fn all_moved(server: &Server, findings: &[Finding]) -> bool {
    findings.iter().all(|f| match &f.site {
        Site::Env(k) => credential_env(k).is_some(),
        Site::Arg(i) => server
            .args
            .get(*i)
            .is_some_and(|a| credential_flag(&a.value).is_some()),
        _ => false,
    })
}

/// The rewrite of one mcp-secret-wrapper entry, or `None` for any other entry.
///
/// `None` also when the entry holds a plaintext secret this cannot move (one
/// meant for the server): the usual protection handles such an entry.
pub(super) fn convert(
    cfg: &ConfigFile,
    server: &Server,
    findings: &[Finding],
    original: &[u8],
    opts: &Options<'_>,
) -> Option<EntryPlan> {
    let argv = posture::argv(server);
    let w = runner::wrapper(&argv)?;
    if w.name != "mcp-secret-wrapper" || !all_moved(server, findings) {
        return None;
    }
    let loc = &cfg.location;
    let mut secrets: Vec<Secret> = Vec::new();
    let mut store = |var: &str, value: &str| -> Option<String> {
        let project = super::server::project_of(loc, server);
        let reference = opts
            .target
            .reference(&NameParts {
                client: loc.client,
                project: project.as_deref(),
                server: &server.name,
                var,
                scope: loc.scope.as_str(),
            })
            .ok()?;
        let shown = reference.to_string();
        secrets.push(Secret {
            var: var.to_string(),
            reference,
            value: SecretValue::from_slice(value.as_bytes()),
            masked: Masked::of(value).display(),
        });
        Some(shown)
    };
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
    for (key, at) in &server.env {
        if let Some((_, flag, var)) = credential_env(key) {
            new_argv.push(format!("{flag}={}", store(var, &at.value)?));
            edits.push(Edit::Remove {
                pointer: at.pointer.clone(),
            });
        }
    }
    let mut ours = true;
    for a in &argv[start..] {
        ours &= *a != "--";
        match credential_flag(a).filter(|_| ours) {
            Some(((_, flag, var), value)) => {
                new_argv.push(format!("{flag}={}", store(var, value)?))
            }
            None => new_argv.push(a.to_string()),
        }
    }
    let shape = argv_shape(server, cfg.location.format, original)?;
    edits.extend(argv_edits(&shape, &server.pointer, &new_argv));
    let summary = match secrets.len() {
        0 => "mcp-secret-wrapper converted to mcp-warden run".to_string(),
        n => format!(
            "mcp-secret-wrapper converted to mcp-warden run; {n} wrapper credential{} to {}",
            if n == 1 { "" } else { "s" },
            opts.target.scheme()
        ),
    };
    Some(EntryPlan {
        server: server.name.clone(),
        pointer: server.pointer.clone(),
        secrets,
        edits,
        summary,
        import: None,
    })
}
