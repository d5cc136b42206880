//! The child's environment.
//!
//! Owns environment hygiene: the child gets the parent's environment minus
//! mcp-warden's own settings and the credentials it may have used to reach a
//! backend, plus the injected values. `--pass-env NAME` keeps one variable;
//! `--clean-env` passes only a small allowlist. Must not resolve anything.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use crate::resolve::Resolved;

/// Variable-name prefixes removed from the child's environment.
pub const STRIPPED_PREFIXES: &[&str] = &[
    "MCP_WARDEN_",
    "VAULT_",
    "BAO_",
    "AWS_",
    "AZURE_",
    "OP_",
    "GOOGLE_",
    "CLOUDSDK_",
    "IDENTITY_",
    "MSI_",
];

/// Exact names removed from the child's environment.
pub const STRIPPED_NAMES: &[&str] = &[
    "GCE_METADATA_HOST",
    "GCE_METADATA_IP",
    "ECS_CONTAINER_METADATA_URI",
    "ECS_CONTAINER_METADATA_URI_V4",
];

/// Variables `--clean-env` keeps (plus `LC_*`).
pub const CLEAN_ALLOWLIST: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "TERM",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "XDG_RUNTIME_DIR",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_CACHE_HOME",
    "SYSTEMROOT",
    "COMSPEC",
    "PATHEXT",
    "APPDATA",
    "LOCALAPPDATA",
    "USERPROFILE",
];

#[derive(Debug, Clone, Default)]
pub struct EnvPolicy {
    /// Names to keep even if they would be stripped (or not allowlisted).
    pub pass: Vec<String>,
    /// Pass only the allowlist.
    pub clean: bool,
}

fn is_stripped(name: &[u8]) -> bool {
    STRIPPED_PREFIXES
        .iter()
        .any(|p| name.starts_with(p.as_bytes()))
        || STRIPPED_NAMES.iter().any(|n| name == n.as_bytes())
}

fn is_allowlisted(name: &[u8]) -> bool {
    CLEAN_ALLOWLIST.iter().any(|n| name == n.as_bytes()) || name.starts_with(b"LC_")
}

impl EnvPolicy {
    /// Whether the parent's variable `name` reaches the child.
    pub fn keeps(&self, name: &OsStr) -> bool {
        let b = name.as_bytes();
        if self.pass.iter().any(|p| p.as_bytes() == b) {
            return true;
        }
        if self.clean {
            is_allowlisted(b)
        } else {
            !is_stripped(b)
        }
    }

    /// The child's environment: filtered parent variables, then injected values (which win).
    /// Values are exposed here, at the last moment, and only into the returned list.
    pub fn build(
        &self,
        parent: impl IntoIterator<Item = (OsString, OsString)>,
        injected: &[Resolved],
    ) -> Vec<(OsString, OsString)> {
        let mut env: Vec<(OsString, OsString)> = parent
            .into_iter()
            .filter(|(k, _)| {
                self.keeps(k) && !injected.iter().any(|r| r.var.as_bytes() == k.as_bytes())
            })
            .collect();
        for r in injected {
            env.push((
                OsString::from(&r.var),
                OsStr::from_bytes(r.value.expose()).to_os_string(),
            ));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::SecretValue;

    fn os(a: &str, b: &str) -> (OsString, OsString) {
        (a.into(), b.into())
    }

    #[test]
    fn strips_credentials_keeps_rest_and_injects() {
        let parent = vec![
            os("PATH", "/bin"),
            os("AWS_SECRET_ACCESS_KEY", "x"),
            os("VAULT_TYPE", "aws"),
            os("BAO_TOKEN", "t"),
            os("MCP_WARDEN_HOME", "/h"),
            os("GITHUB_TOKEN", "old"),
            os("EDITOR", "vi"),
        ];
        let injected = vec![Resolved {
            var: "GITHUB_TOKEN".into(),
            value: SecretValue::from_slice(b"new"),
        }];
        let env = EnvPolicy::default().build(parent.clone(), &injected);
        let names: Vec<_> = env.iter().map(|(k, _)| k.to_str().unwrap()).collect();
        assert_eq!(names, ["PATH", "EDITOR", "GITHUB_TOKEN"]);
        assert_eq!(env[2].1, "new");
        let pass = EnvPolicy {
            pass: vec!["AWS_SECRET_ACCESS_KEY".into()],
            clean: false,
        };
        assert!(
            pass.build(parent.clone(), &[])
                .iter()
                .any(|(k, _)| k == "AWS_SECRET_ACCESS_KEY")
        );
        let clean = EnvPolicy {
            pass: vec!["EDITOR".into()],
            clean: true,
        };
        let names: Vec<_> = clean
            .build(parent, &[])
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(names, ["PATH", "EDITOR"]);
    }
}
