//! Which token a vault wants: the scope from the vault's host where the cloud
//! is known, else from the vault's `401` bearer challenge, as Azure's SDKs
//! follow it.
//!
//! Owns parsing `WWW-Authenticate: Bearer authorization="…", resource="…"`
//! (or `scope="…"`), and the check that the challenge's resource belongs to
//! the vault's domain — so a host cannot ask for a token meant for another
//! service. A loopback vault host (tests, local proxies) may ask only for a
//! Key Vault audience. Pure functions; no I/O.

use crate::backend::rest::is_loopback;

/// Vault DNS suffixes and the resource their tokens are for.
const CLOUDS: &[(&str, &str)] = &[
    (".vault.azure.net", "https://vault.azure.net"),
    (".vaultcore.azure.net", "https://vault.azure.net"),
    (".vault.azure.cn", "https://vault.azure.cn"),
    (".vaultcore.azure.cn", "https://vault.azure.cn"),
    (
        ".vault.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net",
    ),
    (
        ".vaultcore.usgovcloudapi.net",
        "https://vault.usgovcloudapi.net",
    ),
    (
        ".vault.microsoftazure.de",
        "https://vault.microsoftazure.de",
    ),
];

/// The public cloud's Key Vault resource: what a loopback host (a local proxy
/// to a public vault, as a rule) is asked for first.
const PUBLIC: &str = "https://vault.azure.net";

/// `https://vault.azure.net` -> `https://vault.azure.net/.default`.
pub(crate) fn scope_of(resource: &str) -> String {
    if resource.ends_with("/.default") {
        resource.to_string()
    } else {
        format!("{}/.default", resource.trim_end_matches('/'))
    }
}

/// The scope to ask for before any request, when the host tells it;
/// `None`: ask the vault (an unauthenticated request and its challenge).
pub(crate) fn known_scope(host: &str) -> Option<String> {
    let h = host_only(host).to_ascii_lowercase();
    if is_loopback(&h) {
        return Some(scope_of(PUBLIC));
    }
    CLOUDS
        .iter()
        .find(|(suffix, _)| h.ends_with(suffix))
        .map(|(_, r)| scope_of(r))
}

/// A parsed bearer challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The scope to request, `…/.default`.
    pub scope: String,
    /// The tenant in the authorization URL, if any.
    pub tenant: Option<String>,
}

/// Parses `Bearer authorization="https://login…/TENANT", resource="…"`.
pub(crate) fn parse(header: &str) -> Option<Challenge> {
    let rest = header
        .trim()
        .strip_prefix("Bearer")
        .or_else(|| header.trim().strip_prefix("bearer"))?;
    let mut authorization = None;
    let mut resource = None;
    let mut scope = None;
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        let v = v.trim().trim_matches('"').to_string();
        match k.trim().to_ascii_lowercase().as_str() {
            "authorization" | "authorization_uri" => authorization = Some(v),
            "resource" => resource = Some(v),
            "scope" => scope = Some(v),
            _ => {}
        }
    }
    let scope = match (scope, resource) {
        (Some(s), _) if !s.is_empty() => scope_of(&s),
        (_, Some(r)) if !r.is_empty() => scope_of(&r),
        _ => return None,
    };
    let tenant = authorization.and_then(|a| {
        let url = reqwest::Url::parse(&a).ok()?;
        let t = url.path_segments()?.find(|s| !s.is_empty())?.to_string();
        Some(t)
    });
    Some(Challenge { scope, tenant })
}

/// Whether the vault at `host` may ask for a token of `scope`: the scope's
/// host must be the vault host's parent domain (`vault.azure.net` for
/// `x.vault.azure.net`). A loopback host (a local proxy, which has no such
/// domain) may ask only for a Key Vault audience of one of Azure's clouds.
pub(crate) fn check(host: &str, scope: &str) -> Result<(), String> {
    let h = host_only(host).to_ascii_lowercase();
    let resource_host = reqwest::Url::parse(scope)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_default();
    if is_loopback(&h) {
        let wanted = scope_of(scope);
        if CLOUDS.iter().any(|(_, r)| scope_of(r) == wanted) {
            return Ok(());
        }
        return Err(format!(
            "the local vault at {host} asked for a token for {resource_host:?}, which is not a \
             Key Vault audience; refusing to send one (check the vault host)"
        ));
    }
    if !resource_host.is_empty() && h.ends_with(&format!(".{resource_host}")) {
        return Ok(());
    }
    // Private endpoints: x.privatelink.vaultcore.azure.net answers for vault.azure.net.
    if known_scope(&h).is_some_and(|s| s == scope_of(scope)) {
        return Ok(());
    }
    Err(format!(
        "the vault at {host} asked for a token for {resource_host:?}, which is not its domain; \
         refusing to send one (check the vault host)"
    ))
}

/// `host:port` or `[::1]:port` -> the host.
fn host_only(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_from_hosts() {
        assert_eq!(
            known_scope("v.vault.azure.net").as_deref(),
            Some("https://vault.azure.net/.default")
        );
        assert_eq!(
            known_scope("v.vault.azure.cn").as_deref(),
            Some("https://vault.azure.cn/.default")
        );
        assert_eq!(
            known_scope("127.0.0.1:8443").as_deref(),
            Some("https://vault.azure.net/.default")
        );
        assert_eq!(known_scope("kv.corp.example:443"), None);
    }

    #[test]
    fn challenges_parse() {
        let c = parse(r#"Bearer authorization="https://login.microsoftonline.com/72f988bf-0000", resource="https://vault.azure.net""#).unwrap();
        assert_eq!(c.scope, "https://vault.azure.net/.default");
        assert_eq!(c.tenant.as_deref(), Some("72f988bf-0000"));
        let c = parse(r#"Bearer authorization_uri="https://login.example/t1/", scope="https://vault.azure.net/.default""#).unwrap();
        assert_eq!(
            (c.scope.as_str(), c.tenant.as_deref()),
            ("https://vault.azure.net/.default", Some("t1"))
        );
        assert!(parse("Basic realm=x").is_none());
        assert!(parse(r#"Bearer authorization="https://login.example/t""#).is_none());
    }

    #[test]
    fn resources_must_match_the_vault_domain() {
        assert!(check("v.vault.azure.net", "https://vault.azure.net/.default").is_ok());
        assert!(
            check(
                "v.privatelink.vaultcore.azure.net",
                "https://vault.azure.net/.default"
            )
            .is_ok()
        );
        let e = check("v.vault.azure.net", "https://management.azure.com/.default").unwrap_err();
        assert!(e.contains("refusing"), "{e}");
        assert!(check("evil.example", "https://vault.azure.net/.default").is_err());
        assert!(check("127.0.0.1:9", "https://vault.azure.net/.default").is_ok());
        assert!(check("localhost:9", "https://vault.azure.cn").is_ok());
        assert!(check("127.0.0.1:9", "https://anything.example/.default").is_err());
        assert!(check("[::1]:9", "https://management.azure.com/.default").is_err());
        assert!(
            check(
                "127.0.0.1:9",
                "https://vault.azure.net.evil.example/.default"
            )
            .is_err()
        );
    }
}
