//! What an `azure-kv://` reference addresses: the vault's URL, the secret's
//! name and version, checked before anything touches the network.
//!
//! `azure-kv://VAULT/NAME[?version=V]`: VAULT is a vault name
//! (`https://VAULT.vault.azure.net`) or, when it has a dot or a port, the
//! vault URL's host (sovereign clouds, private endpoints, local proxies).
//! Must not do I/O.

use reqwest::Url;

/// Parameters an `azure-kv://` reference may carry.
pub(crate) const PARAMS: &[&str] = &["version"];

/// The DNS suffix of vaults in Azure's public cloud.
pub(crate) const PUBLIC_SUFFIX: &str = "vault.azure.net";

/// A checked reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `https://HOST[:PORT]/`
    pub vault: Url,
    pub name: String,
    pub version: Option<String>,
}

/// Vault names: 3–24 letters, digits and `-`, starting with a letter.
fn valid_vault_name(v: &str) -> bool {
    (3..=24).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Secret names: 1–127 letters, digits and `-`.
pub fn valid_name(n: &str) -> bool {
    (1..=127).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Versions are 32 hex characters; accept any short alphanumeric id.
fn valid_version(v: &str) -> bool {
    (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The vault URL for a vault name or `HOST[:PORT]`.
pub(crate) fn vault_url(vault: &str) -> Result<Url, String> {
    let host_like = vault.contains('.') || vault.contains(':');
    if !host_like {
        if !valid_vault_name(vault) {
            return Err(format!(
                "{vault:?} is not a Key Vault name (3-24 letters, digits and '-'); \
                 for another host write azure-kv://HOST[:PORT]/NAME"
            ));
        }
        return Url::parse(&format!(
            "https://{}.{PUBLIC_SUFFIX}/",
            vault.to_ascii_lowercase()
        ))
        .map_err(|e| format!("bad vault name: {e}"));
    }
    let ok_chars = vault
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    let url = Url::parse(&format!("https://{vault}/"))
        .ok()
        .filter(|u| ok_chars && u.host_str().is_some_and(|h| !h.is_empty()) && u.path() == "/");
    url.ok_or_else(|| format!("{vault:?} is not a vault host; write HOST or HOST:PORT"))
}

/// The vault from a vault URL as mcp-secret-wrapper takes it
/// (`https://VAULT.vault.azure.net/`): its `HOST[:PORT]`.
pub(crate) fn host_of_url(text: &str) -> Result<String, String> {
    let url = crate::backend::rest::base_url(text, "the vault URL")?;
    if url.scheme() != "https" {
        return Err("the vault URL must use https".into());
    }
    if url.path() != "/" {
        return Err("the vault URL takes no path; write https://VAULT.vault.azure.net/".into());
    }
    Ok(crate::backend::rest::host_of(&url))
}

/// Reads a location and parameters.
pub(crate) fn parse(location: &str, params: &[(String, String)]) -> Result<Target, String> {
    let Some((vault, name)) = location.trim_matches('/').split_once('/') else {
        return Err("write azure-kv://VAULT/NAME (VAULT: a vault name or HOST[:PORT])".into());
    };
    if name.contains('/') {
        return Err(
            "write azure-kv://VAULT/NAME; a version goes in ?version=, not in the path".into(),
        );
    }
    if !valid_name(name) {
        return Err(format!(
            "{name:?} is not a Key Vault secret name (1-127 letters, digits and '-')"
        ));
    }
    let version = params
        .iter()
        .rev()
        .find(|(k, _)| k == "version")
        .map(|(_, v)| v.clone())
        .filter(|v| !v.is_empty() && v != "latest");
    if let Some(v) = &version
        && !valid_version(v)
    {
        return Err(format!("{v:?} is not a Key Vault version id"));
    }
    Ok(Target {
        vault: vault_url(vault)?,
        name: name.to_string(),
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vault_names_and_hosts() {
        let t = parse("my-vault/db-password", &[]).unwrap();
        assert_eq!(t.vault.as_str(), "https://my-vault.vault.azure.net/");
        assert_eq!((t.name.as_str(), t.version), ("db-password", None));
        let t = parse(
            "kv.vault.azure.cn/x",
            &[("version".into(), "0123abcd".into())],
        )
        .unwrap();
        assert_eq!(t.vault.as_str(), "https://kv.vault.azure.cn/");
        assert_eq!(t.version.as_deref(), Some("0123abcd"));
        let t = parse("127.0.0.1:8443/x", &[]).unwrap();
        assert_eq!(t.vault.as_str(), "https://127.0.0.1:8443/");
        let t = parse("localhost:8443/x", &[("version".into(), "latest".into())]).unwrap();
        assert_eq!(
            (t.vault.as_str(), t.version),
            ("https://localhost:8443/", None)
        );
        assert!(
            parse("v/x", &[]).is_err(),
            "vault names have at least 3 characters"
        );
        assert!(parse("my-vault/a_b", &[]).is_err());
        assert!(parse("my-vault/a/b", &[]).is_err());
        assert!(parse("my-vault", &[]).is_err());
        assert!(parse("ho st.example/x", &[]).is_err());
        assert!(parse("u@h.example/x", &[]).is_err());
    }

    #[test]
    fn wrapper_vault_urls() {
        assert_eq!(
            host_of_url("https://v1.vault.azure.net/").unwrap(),
            "v1.vault.azure.net"
        );
        assert_eq!(
            host_of_url("https://127.0.0.1:8443").unwrap(),
            "127.0.0.1:8443"
        );
        assert!(host_of_url("http://v1.vault.azure.net/").is_err());
        assert!(host_of_url("https://v1.vault.azure.net/secrets/").is_err());
    }
}
