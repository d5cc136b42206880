//! Names: where a protected secret is stored (`--to` prefix + `--name-template`)
//! and which variable carries it into the server.
//!
//! Pure string work; no backends, no files.

use crate::reference::SecretRef;

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
    /// Parses `--to` and checks `--name-template` (`{client}`, `{server}`, `{var}`, `{scope}`).
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
        t.reference("c", "s", "v", "user")?;
        Ok(t)
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The reference for one secret.
    pub fn reference(
        &self,
        client: &str,
        server: &str,
        var: &str,
        scope: &str,
    ) -> Result<SecretRef, String> {
        let name = self
            .template
            .replace("{client}", &segment(client))
            .replace("{server}", &segment(server))
            .replace("{var}", &segment(var))
            .replace("{scope}", &segment(scope));
        // A Vault secret is a set of fields: the value lives in field `value`.
        let selector = if matches!(self.scheme.as_str(), "vault" | "bao" | "openbao") {
            "#value"
        } else {
            ""
        };
        let text = match cloud_name(&self.scheme, &self.prefix, &name) {
            Some(location) => format!("{}://{location}{}", self.scheme, self.query),
            None => format!(
                "{}://{}{}{}{selector}",
                self.scheme, self.prefix, name, self.query
            ),
        };
        SecretRef::parse(&text).map_err(|e| format!("--to/--name-template give {text:?}: {e}"))
    }
}

/// `PROJECT/` or `VAULT/` followed by the prefix and name mapped reversibly
/// onto what GCP Secret Manager or Key Vault accepts (`/` `.` `_` `-` become
/// escapes); `None` for other schemes.
fn cloud_name(scheme: &str, prefix: &str, name: &str) -> Option<String> {
    let map: fn(&str) -> String = match scheme {
        "gcp-sm" => crate::backend::names::gcp_secret_id,
        "azure-kv" => crate::backend::names::azure_secret_name,
        _ => return None,
    };
    let (container, rest) = prefix.split_once('/').unwrap_or((prefix, ""));
    Some(format!("{container}/{}", map(&format!("{rest}{name}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_and_unique() {
        assert_eq!(segment("my server/1"), "my-server-1");
        assert_eq!(segment(""), "x");
        assert_eq!(var_name("--api-key"), "API_KEY");
        assert_eq!(var_name("9lives"), "SECRET_9LIVES");
        assert_eq!(unique("K", &["K".into(), "K_2".into()]), "K_3");
        let t = Target::new("local://", "{client}/{server}/{var}").unwrap();
        assert_eq!(
            t.reference("claude-desktop", "git hub", "TOKEN", "user")
                .unwrap()
                .to_string(),
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
        let r = t
            .reference("claude-desktop", "github", "GITHUB_TOKEN", "user")
            .unwrap();
        assert_eq!(
            r.to_string(),
            "gcp-sm://proj-1/mcp_sclaude-desktop_sgithub_sGITHUB__TOKEN"
        );
        let t = Target::new("azure-kv://my-vault/", "{server}/{var}").unwrap();
        let r = t.reference("c", "github", "GITHUB_TOKEN", "user").unwrap();
        assert_eq!(r.to_string(), "azure-kv://my-vault/github-sGITHUB-uTOKEN");
    }
}
