//! What a `github-app://APP_ID/INSTALLATION_ID?key=REF[&repositories=a,b]
//! [&permissions=contents:read,issues:write][&api=URL]` reference asks for,
//! checked before anything touches the network.
//!
//! Owns the grammar (numeric ids, the nested `key=` reference, repository
//! names, `name:read|write|admin` permissions) and the API endpoint rule:
//! `https://` anywhere (GitHub Enterprise Server lives on its own host), plain
//! `http://` only to loopback and only when the environment allows it, since
//! the App's JWT would cross in cleartext. Must not do I/O.

use std::collections::BTreeMap;

use reqwest::Url;

use crate::backend::rest;
use crate::reference::{Scheme, SecretRef};

/// GitHub's public REST API.
pub(crate) const DEFAULT_API: &str = "https://api.github.com/";

/// Set to `1`, lets `?api=` name a plain-http loopback endpoint (local
/// stand-ins, tests); the same switch as `gcp-sm://`'s `?endpoint=`.
pub(crate) const ALLOW_LOOPBACK_ENV: &str = "MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS";

/// Parameters a `github-app://` reference may carry.
pub(crate) const PARAMS: &[&str] = &["key", "repositories", "permissions", "api"];

/// Schemes that mint: none of them may hold the App's private key.
pub(crate) const MINTING: &[Scheme] = &[
    Scheme::GithubApp,
    Scheme::AwsSts,
    Scheme::GcpToken,
    Scheme::AzureToken,
];

/// GitHub names at most 500 repositories in one token request.
const MAX_REPOSITORIES: usize = 500;

/// A checked reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub app_id: String,
    pub installation_id: String,
    /// Where the App's private key (PEM) is stored.
    pub key: SecretRef,
    /// Repository names (without owner); empty: every repository of the installation.
    pub repositories: Vec<String>,
    /// Permission name -> `read`, `write` or `admin`; empty: the App's permissions.
    pub permissions: BTreeMap<String, String>,
    /// The REST API base, ending in `/`.
    pub api: Url,
}

impl Target {
    /// Whether `api` is GitHub's public API (not an Enterprise Server or a stand-in).
    pub fn public_api(&self) -> bool {
        self.api.as_str() == DEFAULT_API
    }
}

/// Reads `r`; `env` looks up the environment. The message never quotes the
/// `key=` text (a mistake there is often a pasted key).
pub(crate) fn parse(r: &SecretRef, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, String> {
    let (app_id, installation_id) = ids(&r.location)?;
    let key = key_ref(r.param("key"))?;
    let repositories = match r.param("repositories") {
        Some(text) => repositories(text)?,
        None => Vec::new(),
    };
    let permissions = match r.param("permissions") {
        Some(text) => permissions(text)?,
        None => BTreeMap::new(),
    };
    let api = api(r.param("api"), env)?;
    Ok(Target {
        app_id,
        installation_id,
        key,
        repositories,
        permissions,
        api,
    })
}

fn numeric(s: &str) -> bool {
    (1..=20).contains(&s.len()) && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit())
}

fn ids(location: &str) -> Result<(String, String), String> {
    const HOW: &str = "write github-app://APP_ID/INSTALLATION_ID?key=REF (both numbers: the \
                       App ID from the App's settings page, the installation id from the \
                       installation's settings URL)";
    let Some((app, inst)) = location.trim_end_matches('/').split_once('/') else {
        return Err(HOW.into());
    };
    if !numeric(app) {
        return Err(format!("the App ID {app:?} is not a number; {HOW}"));
    }
    if !numeric(inst) {
        return Err(format!(
            "the installation id {inst:?} is not a number; {HOW}"
        ));
    }
    Ok((app.to_string(), inst.to_string()))
}

fn key_ref(text: Option<&str>) -> Result<SecretRef, String> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Err(
            "?key= is required: the reference of the App's private key (PEM), e.g. \
             key=local://github-app-key"
                .into(),
        );
    };
    let r = SecretRef::parse(text).map_err(|_| {
        "?key= is not a reference (value not shown): give where the App's private key is \
         stored, e.g. key=local://github-app-key or key=file:///path/app.pem, never the key \
         itself; percent-encode '#', '?' and '&' inside it (%23, %3F, %26)"
            .to_string()
    })?;
    if MINTING.contains(&r.scheme) {
        return Err(format!(
            "?key= names {}://, which mints credentials; the App's private key must be a \
             stored secret (local://, keyring://, file://, a vault)",
            r.scheme
        ));
    }
    Ok(r)
}

/// `a,b`: repository names without their owner.
fn repositories(text: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for name in text.split(',').map(str::trim) {
        if name.is_empty() {
            return Err("?repositories= has an empty name; write repositories=a,b".into());
        }
        if name.contains('/') {
            return Err(format!(
                "?repositories= names {name:?}: give the repository name without its owner \
                 (the installation's account is the owner)"
            ));
        }
        let ok = name.len() <= 100
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !ok || name == "." || name == ".." {
            return Err(format!(
                "?repositories= names {name:?}, which is not a GitHub repository name \
                 (letters, digits, '-', '_', '.'; at most 100)"
            ));
        }
        if !out.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    if out.len() > MAX_REPOSITORIES {
        return Err(format!(
            "?repositories= names {} repositories; GitHub takes at most {MAX_REPOSITORIES}",
            out.len()
        ));
    }
    Ok(out)
}

/// `contents:read,issues:write`
fn permissions(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for item in text.split(',').map(str::trim) {
        let Some((name, level)) = item.split_once(':') else {
            return Err(format!(
                "?permissions= item {item:?} is not NAME:LEVEL; write e.g. \
                 permissions=contents:read,issues:write"
            ));
        };
        let (name, level) = (name.trim(), level.trim());
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !name_ok {
            return Err(format!(
                "?permissions= names {name:?}, which is not a GitHub App permission \
                 (lower-case letters, digits and '_', e.g. contents, pull_requests)"
            ));
        }
        if !matches!(level, "read" | "write" | "admin") {
            return Err(format!(
                "?permissions= gives {name} the level {level:?}; write read, write or admin"
            ));
        }
        if out.insert(name.to_string(), level.to_string()).is_some() {
            return Err(format!("?permissions= names {name} twice"));
        }
    }
    Ok(out)
}

/// The REST API base: GitHub's, or `?api=` (`https://HOST/api/v3` for
/// GitHub Enterprise Server).
fn api(text: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<Url, String> {
    let Some(text) = text else {
        return rest::base_url(DEFAULT_API, "the default API");
    };
    let url = rest::base_url(text, "?api=")?;
    trusted_host(&url, env)?;
    let allowed = env(ALLOW_LOOPBACK_ENV).is_some_and(|v| v.trim() == "1");
    if url.scheme() == "http" && !allowed {
        return Err(format!(
            "?api= names plain http ({}); the App's JWT may not cross unencrypted: use \
             https, or set {ALLOW_LOOPBACK_ENV}=1 for a local test endpoint",
            rest::host_of(&url)
        ));
    }
    Ok(url)
}

/// Lists the GitHub Enterprise Server hosts `?api=` may name (comma-separated).
pub(crate) const HOSTS_ENV: &str = "MCP_WARDEN_GITHUB_API_HOSTS";

/// The App's JWT (ten minutes of the App's power) goes only to GitHub
/// (`api.github.com`, `api.SUBDOMAIN.ghe.com`), loopback, or a host the user
/// listed in [`HOSTS_ENV`]: a reference in a project's shared config must not
/// be able to send it elsewhere.
fn trusted_host(url: &Url, env: &dyn Fn(&str) -> Option<String>) -> Result<(), String> {
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let github = host == "api.github.com"
        || host
            .strip_prefix("api.")
            .and_then(|h| h.strip_suffix(".ghe.com"))
            .is_some_and(|sub| !sub.is_empty() && !sub.contains('.'));
    let listed = env(HOSTS_ENV).is_some_and(|v| {
        v.split(',')
            .any(|h| h.trim().eq_ignore_ascii_case(&host) && !h.trim().is_empty())
    });
    if loopback || github || listed {
        return Ok(());
    }
    Err(format!(
        "?api= names {host}, which is not GitHub's API; the App's JWT goes only to \
         api.github.com, api.*.ghe.com, loopback, or a GitHub Enterprise Server host listed \
         in {HOSTS_ENV} (comma-separated)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn parse_text(text: &str) -> Result<Target, String> {
        parse(&SecretRef::parse(text).unwrap(), &no_env)
    }

    #[test]
    fn a_full_reference_reads() {
        let t = parse_text(
            "github-app://123/456?key=local://gh-key&repositories=alpha,beta.js\
             &permissions=contents:read,issues:write&api=https://api.corp.ghe.com/api/v3",
        )
        .unwrap();
        assert_eq!(
            (t.app_id.as_str(), t.installation_id.as_str()),
            ("123", "456")
        );
        assert_eq!(t.key, SecretRef::parse("local://gh-key").unwrap());
        assert_eq!(t.repositories, ["alpha", "beta.js"]);
        assert_eq!(t.permissions["contents"], "read");
        assert_eq!(t.permissions["issues"], "write");
        assert_eq!(t.api.as_str(), "https://api.corp.ghe.com/api/v3/");
        assert!(!t.public_api());
        let t = parse_text("github-app://1/2?key=local://k").unwrap();
        assert!(t.repositories.is_empty() && t.permissions.is_empty());
        assert!(t.public_api());
    }

    #[test]
    fn a_nested_key_reference_keeps_its_selector_when_encoded() {
        let t = parse_text("github-app://1/2?key=vault://secret/gh%23private_key").unwrap();
        assert_eq!(t.key.scheme, Scheme::Vault);
        assert!(t.key.selector.is_some());
    }

    #[test]
    fn ids_must_be_numbers() {
        for bad in [
            "github-app://abc/2?key=local://k",
            "github-app://1/x?key=local://k",
            "github-app://1?key=local://k",
            "github-app://01/2?key=local://k",
            "github-app://1/2/3?key=local://k",
        ] {
            assert!(parse_text(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_key_is_required_and_never_minted() {
        let e = parse_text("github-app://1/2").unwrap_err();
        assert!(e.contains("?key= is required"), "{e}");
        let e = parse_text("github-app://1/2?key=-----BEGIN RSA PRIVATE KEY-----").unwrap_err();
        assert!(e.contains("value not shown") && !e.contains("BEGIN"), "{e}");
        for nested in [
            "github-app://3/4",
            "aws-sts://arn:aws:iam::1:role/r",
            "gcp-token://sa@p.iam.gserviceaccount.com",
            "azure-token://https://x/.default",
        ] {
            let text = format!("github-app://1/2?key={}", nested.replace('?', "%3F"));
            let e = parse_text(&text).unwrap_err();
            assert!(e.contains("mints credentials"), "{e}");
        }
    }

    #[test]
    fn repositories_and_permissions_are_checked() {
        for bad in [
            "repositories=",
            "repositories=a,,b",
            "repositories=octo/a",
            "repositories=a%20b",
            "repositories=..",
            "permissions=contents",
            "permissions=contents:owner",
            "permissions=Contents:read",
            "permissions=contents:read,contents:write",
            "permissions=",
        ] {
            let text = format!("github-app://1/2?key=local://k&{bad}");
            assert!(parse_text(&text).is_err(), "{bad}");
        }
        let t = parse_text("github-app://1/2?key=local://k&repositories=a,A,b").unwrap();
        assert_eq!(t.repositories, ["a", "b"]);
    }

    #[test]
    fn the_jwt_goes_only_to_github_loopback_or_listed_hosts() {
        let e = parse_text("github-app://1/2?key=local://k&api=https://ghe.example/api/v3")
            .unwrap_err();
        assert!(e.contains(HOSTS_ENV), "{e}");
        for ok in [
            "https://api.github.com",
            "https://api.octo.ghe.com",
            "https://127.0.0.1:8443/api/v3",
            "https://[::1]:8443",
        ] {
            let text = format!("github-app://1/2?key=local://k&api={ok}");
            assert!(parse_text(&text).is_ok(), "{ok}");
        }
        for bad in [
            "https://api.github.com.evil.example",
            "https://api.a.b.ghe.com",
        ] {
            let text = format!("github-app://1/2?key=local://k&api={bad}");
            assert!(parse_text(&text).is_err(), "{bad}");
        }
        let listed = |k: &str| (k == HOSTS_ENV).then(|| "other.example, GHE.example".to_string());
        let r = SecretRef::parse("github-app://1/2?key=local://k&api=https://ghe.example/api/v3")
            .unwrap();
        assert!(parse(&r, &listed).is_ok());
    }

    #[test]
    fn plain_http_only_to_loopback_when_allowed() {
        let e = parse_text("github-app://1/2?key=local://k&api=http://127.0.0.1:9/").unwrap_err();
        assert!(e.contains(ALLOW_LOOPBACK_ENV), "{e}");
        let allow = |k: &str| (k == ALLOW_LOOPBACK_ENV).then(|| "1".to_string());
        let r = SecretRef::parse("github-app://1/2?key=local://k&api=http://127.0.0.1:9").unwrap();
        assert!(parse(&r, &allow).is_ok());
        let r = SecretRef::parse("github-app://1/2?key=local://k&api=http://ghe.example/").unwrap();
        assert!(parse(&r, &allow).is_err());
    }
}
