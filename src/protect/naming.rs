//! Names: where a protected secret is stored (`--to` prefix + `--name-template`)
//! and which variable carries it into the server.
//!
//! Owns the placeholders (`{client}`, `{project}`, `{server}`, `{var}`,
//! `{scope}`) and the `{project}` label that tells two projects' entries
//! apart. Pure string work; no backends, no files.

use sha2::{Digest, Sha256};

use crate::reference::SecretRef;

/// The default `--name-template`: user-level entries get
/// `CLIENT/SERVER/VAR`, entries of a project `CLIENT/PROJECT/SERVER/VAR`.
pub const DEFAULT_TEMPLATE: &str = "{client}/{project}/{server}/{var}";

/// Keeps `[A-Za-z0-9._-]`, turns everything else into `-`; never empty.
pub fn segment(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_string();
    if s.is_empty() { "x".to_string() } else { s }
}

/// An environment variable name: upper-case `[A-Z0-9_]`, not starting with a digit.
pub fn var_name(text: &str) -> String {
    let mut s: String = text
        .trim_start_matches('-')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    s = s.trim_matches('_').to_string();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert_str(0, "SECRET_");
    }
    s
}

/// The `{project}` label of the project folder `root` (an absolute path as
/// found or as a client recorded it): its folder name, then the first 8 hex
/// digits of the SHA-256 of the whole path, so two folders of the same name
/// get different labels and one folder always the same. `my app` at
/// `/home/a/src/my app` -> `my-app-` and 8 hex digits.
pub fn project_label(root: &str) -> String {
    let trimmed = root.trim_end_matches(['/', '\\']);
    let name = trimmed.rsplit(['/', '\\']).next().unwrap_or(trimmed);
    let digest = Sha256::digest(trimmed.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{short}", segment(name))
}

/// What one secret's name is made of.
#[derive(Debug, Clone, Copy)]
pub struct NameParts<'a> {
    /// The client id (`claude-code`, `cursor`, ...).
    pub client: &'a str,
    /// The project folder the entry belongs to (a project-level file's
    /// folder, or the project of a Claude Code local entry); `None` for
    /// user-level entries.
    pub project: Option<&'a str>,
    pub server: &'a str,
    pub var: &'a str,
    /// The file's scope (`user`, `project`, ...).
    pub scope: &'a str,
}

/// A variable name not in `taken`: `NAME`, `NAME_2`, `NAME_3`, ...
pub fn unique(base: &str, taken: &[String]) -> String {
    if !taken.iter().any(|t| t == base) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}_{n}"))
        .find(|c| !taken.iter().any(|t| t == c))
        .unwrap_or_else(|| base.to_string())
}

/// Where secrets go: `SCHEME://PREFIX[?PARAMS]`, e.g. `local://`, `aws-sm://mcp/?region=eu-west-1`.
#[derive(Debug, Clone)]
pub struct Target {
    scheme: String,
    prefix: String,
    query: String,
    template: String,
}

impl Target {
    /// Parses `--to` and checks `--name-template` (`{client}`, `{project}`,
    /// `{server}`, `{var}`, `{scope}`).
    pub fn new(to: &str, template: &str) -> Result<Self, String> {
        let (scheme, rest) = to
            .split_once("://")
            .ok_or_else(|| format!("--to {to:?} is not SCHEME://PREFIX (e.g. local://)"))?;
        if rest.contains('#') {
            return Err("--to takes no #selector".into());
        }
        let (prefix, query) = match rest.split_once('?') {
            Some((p, q)) => (p, format!("?{q}")),
            None => (rest, String::new()),
        };
        if !template.contains("{var}") {
            return Err(
                "--name-template must contain {var} so every secret gets its own name".into(),
            );
        }
        let t = Self {
            scheme: scheme.to_string(),
            prefix: prefix.to_string(),
            query,
            template: template.to_string(),
        };
        // Fail now, not halfway through: the scheme and parameters must parse.
        for project in [None, Some("/p")] {
            t.reference(&NameParts {
                client: "c",
                project,
                server: "s",
                var: "v",
                scope: "user",
            })?;
        }
        Ok(t)
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The reference for one secret.
    pub fn reference(&self, parts: &NameParts<'_>) -> Result<SecretRef, String> {
        let name = self.name(parts);
        // A Vault secret is a set of fields: the value lives in field `value`.
        let selector = if matches!(self.scheme.as_str(), "vault" | "bao" | "openbao") {
            "#value"
        } else {
            ""
        };
        if self.scheme == "op" && self.prefix.split('/').next().unwrap_or("").is_empty() {
            return Err("--to op:// needs the vault: --to op://VAULT/".into());
        }
        let mapped = cloud_name(&self.scheme, &self.prefix, &name)
            .or_else(|| keyring_name(&self.scheme, &self.prefix, &name));
        let text = match mapped {
            Some(location) => format!("{}://{location}{}", self.scheme, self.query),
            None => format!(
                "{}://{}{}{}{selector}",
                self.scheme, self.prefix, name, self.query
            ),
        };
        SecretRef::parse(&text).map_err(|e| format!("--to/--name-template give {text:?}: {e}"))
    }

    /// The template filled in. Without a project, a path segment that is
    /// `{project}` alone is left out with its `/`, so user-level names have
    /// no empty segment.
    fn name(&self, parts: &NameParts<'_>) -> String {
        let project = parts.project.map(project_label).unwrap_or_default();
        self.template
            .split('/')
            .filter(|seg| !(project.is_empty() && *seg == "{project}"))
            .map(|seg| {
                seg.replace("{client}", &segment(parts.client))
                    .replace("{project}", &project)
                    .replace("{server}", &segment(parts.server))
                    .replace("{var}", &segment(parts.var))
                    .replace("{scope}", &segment(parts.scope))
            })
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// `PROJECT/` or `VAULT/` followed by the prefix and name mapped reversibly
/// onto what GCP Secret Manager or Key Vault accepts (`/` `.` `_` `-` become
/// escapes), or for 1Password `VAULT/ITEM/FIELD` (one item per server);
/// `None` for other schemes.
fn cloud_name(scheme: &str, prefix: &str, name: &str) -> Option<String> {
    let map: fn(&str) -> String = match scheme {
        "gcp-sm" => crate::backend::names::gcp_secret_id,
        "azure-kv" => crate::backend::names::azure_secret_name,
        "op" => crate::backend::names::op_item_field,
        _ => return None,
    };
    let (container, rest) = prefix.split_once('/').unwrap_or((prefix, ""));
    Some(format!("{container}/{}", map(&format!("{rest}{name}"))))
}

/// The service that `--to keyring://` stores under when it names none.
pub const KEYRING_SERVICE: &str = "mcp-warden";

/// `SERVICE/ACCOUNT` for the OS keychain: `--to keyring://SERVICE[/PREFIX]`
/// is the service (`mcp-warden` when empty) and the name, after any prefix,
/// the account; `None` for other schemes.
fn keyring_name(scheme: &str, prefix: &str, name: &str) -> Option<String> {
    if scheme != "keyring" {
        return None;
    }
    let (service, rest) = prefix.split_once('/').unwrap_or((prefix, ""));
    let service = if service.is_empty() {
        KEYRING_SERVICE
    } else {
        service
    };
    Some(format!("{service}/{rest}{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keychain_targets_name_a_service_and_an_account() {
        let p = NameParts {
            client: "claude-desktop",
            project: None,
            server: "github",
            var: "GITHUB_TOKEN",
            scope: "user",
        };
        for (to, want) in [
            (
                "keyring://",
                "keyring://mcp-warden/claude-desktop/github/GITHUB_TOKEN",
            ),
            (
                "keyring://my-mcp",
                "keyring://my-mcp/claude-desktop/github/GITHUB_TOKEN",
            ),
            (
                "keyring://my-mcp/",
                "keyring://my-mcp/claude-desktop/github/GITHUB_TOKEN",
            ),
            (
                "keyring://my-mcp/x/",
                "keyring://my-mcp/x/claude-desktop/github/GITHUB_TOKEN",
            ),
        ] {
            let t = Target::new(to, "{client}/{server}/{var}").unwrap();
            assert_eq!(t.reference(&p).unwrap().to_string(), want, "{to}");
        }
    }

    fn parts(project: Option<&str>) -> NameParts<'_> {
        NameParts {
            client: "claude-desktop",
            project,
            server: "git hub",
            var: "TOKEN",
            scope: "user",
        }
    }

    #[test]
    fn project_labels_name_the_folder_and_tell_same_names_apart() {
        let a = project_label("/home/a/src/my app");
        let b = project_label("/home/a/work/my app");
        assert!(
            a.starts_with("my-app-") && a.len() == "my-app-".len() + 8,
            "{a}"
        );
        assert!(b.starts_with("my-app-"), "{b}");
        assert_ne!(a, b);
        assert_eq!(a, project_label("/home/a/src/my app/"));
        // sha256("/home/alice/src/api") starts b5802075 (the example in docs/protect.md).
        assert_eq!(project_label("/home/alice/src/api"), "api-b5802075");
        assert!(project_label("C:\\Users\\a\\api").starts_with("api-"));
    }

    #[test]
    fn the_default_template_leaves_user_level_names_as_they_were() {
        let t = Target::new("local://", DEFAULT_TEMPLATE).unwrap();
        assert_eq!(
            t.reference(&parts(None)).unwrap().to_string(),
            "local://claude-desktop/git-hub/TOKEN"
        );
        let label = project_label("/src/app");
        assert_eq!(
            t.reference(&parts(Some("/src/app"))).unwrap().to_string(),
            format!("local://claude-desktop/{label}/git-hub/TOKEN")
        );
        let t = Target::new("aws-sm://mcp/?region=eu-west-1", "{project}/{var}").unwrap();
        assert_eq!(
            t.reference(&parts(None)).unwrap().to_string(),
            "aws-sm://mcp/TOKEN?region=eu-west-1"
        );
    }

    #[test]
    fn op_targets_put_each_server_in_one_item() {
        let t = Target::new("op://Private/", DEFAULT_TEMPLATE).unwrap();
        assert_eq!(
            t.reference(&parts(None)).unwrap().to_string(),
            "op://Private/claude-desktop git-hub/TOKEN"
        );
        let t = Target::new("op://Private/mcp", DEFAULT_TEMPLATE).unwrap();
        assert_eq!(
            t.reference(&parts(None)).unwrap().location,
            "Private/mcpclaude-desktop git-hub/TOKEN"
        );
        assert!(Target::new("op://", DEFAULT_TEMPLATE).is_err());
    }

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(segment("my server/1"), "my-server-1");
        assert_eq!(segment(""), "x");
        assert_eq!(var_name("--api-key"), "API_KEY");
        assert_eq!(var_name("9lives"), "SECRET_9LIVES");
        assert_eq!(unique("K", &["K".into(), "K_2".into()]), "K_3");
        let t = Target::new("local://", "{client}/{server}/{var}").unwrap();
        assert_eq!(
            t.reference(&parts(None)).unwrap().to_string(),
            "local://claude-desktop/git-hub/TOKEN"
        );
        assert!(Target::new("local", "{var}").is_err());
        assert!(Target::new("local://", "{server}").is_err());
    }
}

#[cfg(test)]
mod cloud_tests {
    use super::*;

    #[test]
    fn cloud_targets_get_names_their_store_accepts() {
        let t = Target::new("gcp-sm://proj-1/mcp/", "{client}/{server}/{var}").unwrap();
        let p = |client| NameParts {
            client,
            project: None,
            server: "github",
            var: "GITHUB_TOKEN",
            scope: "user",
        };
        let r = t.reference(&p("claude-desktop")).unwrap();
        assert_eq!(
            r.to_string(),
            "gcp-sm://proj-1/mcp_sclaude-desktop_sgithub_sGITHUB__TOKEN"
        );
        let t = Target::new("azure-kv://my-vault/", "{server}/{var}").unwrap();
        let r = t.reference(&p("c")).unwrap();
        assert_eq!(r.to_string(), "azure-kv://my-vault/github-sGITHUB-uTOKEN");
    }
}
