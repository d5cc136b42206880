//! The environment of a command under test: ambient settings removed, AWS
//! pointed at a test endpoint only. Never sets a real credential.

use std::ffi::OsStr;
use std::path::Path;

/// A command whose environment the helpers here edit: `assert_cmd`'s and std's.
pub trait CmdEnv {
    fn set_var(&mut self, key: &str, value: impl AsRef<OsStr>);
    fn remove_var(&mut self, key: &str);
}

impl CmdEnv for assert_cmd::Command {
    fn set_var(&mut self, key: &str, value: impl AsRef<OsStr>) {
        self.env(key, value);
    }
    fn remove_var(&mut self, key: &str) {
        self.env_remove(key);
    }
}

impl CmdEnv for std::process::Command {
    fn set_var(&mut self, key: &str, value: impl AsRef<OsStr>) {
        self.env(key, value);
    }
    fn remove_var(&mut self, key: &str) {
        self.env_remove(key);
    }
}

/// Removes from `c` every variable of the test's own environment whose name
/// starts with one of `prefixes`, so a developer's settings never reach it.
pub fn strip_env(c: &mut impl CmdEnv, prefixes: &[&str]) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if prefixes.iter().any(|p| k.starts_with(p)) {
            c.remove_var(&k);
        }
    }
}

/// AWS at `url` only, with neither credentials nor region: every ambient
/// AWS/VAULT/BAO setting removed, config and credential files that do not
/// exist (under `dir`), no instance metadata.
pub fn aws_isolated(c: &mut impl CmdEnv, dir: &Path, url: &str) {
    strip_env(c, &["AWS_", "VAULT_", "BAO_"]);
    c.set_var("AWS_CONFIG_FILE", dir.join("no-aws-config"));
    c.set_var(
        "AWS_SHARED_CREDENTIALS_FILE",
        dir.join("no-aws-credentials"),
    );
    c.set_var("AWS_EC2_METADATA_DISABLED", "true");
    c.set_var("AWS_ENDPOINT_URL", url);
}

/// [`aws_isolated`] plus moto's fake keys and region `us-east-1`.
pub fn moto_env(c: &mut impl CmdEnv, dir: &Path, url: &str) {
    aws_isolated(c, dir, url);
    c.set_var("AWS_ACCESS_KEY_ID", "testing");
    c.set_var("AWS_SECRET_ACCESS_KEY", "testing");
    c.set_var("AWS_REGION", "us-east-1");
}
