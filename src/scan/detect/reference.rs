//! References: values that point at a secret instead of holding it.
//!
//! Client interpolation (`${VAR}`, `${VAR:-default}`, `${env:VAR}`, `$VAR`,
//! `%VAR%`, `{{VAR}}`, VS Code `${input:id}`, mcp-warden's `%{VAR}`) and vault references
//! (mcp-warden schemes, `op://`, bare AWS ARNs, GCP secret names, Azure Key
//! Vault secret URLs). None of these is a finding.

use std::ops::Range;

use super::Indirection;
use crate::reference::Scheme;

/// Authorization schemes that precede the credential in a header value.
const AUTH_SCHEMES: &[&str] = &[
    "bearer", "basic", "token", "bot", "apikey", "api-key", "key", "oauth", "digest", "sso-key",
];

/// If `value` starts with an HTTP auth scheme (`Bearer `, `Basic `,
/// `token `), the scheme (lowercase) and the range of what follows it.
pub(super) fn split_auth_scheme(value: &str) -> Option<(String, Range<usize>)> {
    let lead = value.len() - value.trim_start().len();
    let rest = &value[lead..];
    let space = rest.find([' ', '\t'])?;
    let scheme = rest[..space].to_ascii_lowercase();
    if !AUTH_SCHEMES.contains(&scheme.as_str()) {
        return None;
    }
    let after = &rest[space..];
    let cred_start = lead + space + (after.len() - after.trim_start().len());
    let cred_end = value.trim_end().len();
    (cred_start < cred_end).then_some((scheme, cred_start..cred_end))
}

/// Whether the whole of `value` (trimmed, quotes and an auth scheme removed)
/// is a reference, and of which kind.
pub(super) fn whole(value: &str) -> Option<Indirection> {
    let mut t = value.trim();
    if let Some((_, r)) = split_auth_scheme(t) {
        t = &t[r];
    }
    let t = t
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .or_else(|| t.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
        .unwrap_or(t);
    if t.is_empty() {
        return None;
    }
    if let Some(inner) = t.strip_prefix("${").and_then(|x| x.strip_suffix('}')) {
        if inner.contains('}') && !inner.starts_with('{') {
            return None;
        }
        return Some(if inner.trim_start().starts_with("input:") {
            Indirection::Input
        } else {
            Indirection::Env
        });
    }
    if let Some(name) = t.strip_prefix('$')
        && is_var_name(name)
    {
        return Some(Indirection::Env);
    }
    if let Some(name) = t.strip_prefix('%').and_then(|x| x.strip_suffix('%'))
        && is_var_name(name)
    {
        return Some(Indirection::Env);
    }
    // mcp-warden's own `%{NAME}` template (`run --expand-args`, `headers`).
    if let Some(name) = t.strip_prefix("%{").and_then(|x| x.strip_suffix('}'))
        && is_var_name(name)
    {
        return Some(Indirection::Env);
    }
    if let Some(inner) = t.strip_prefix("{{").and_then(|x| x.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return Some(Indirection::Env);
    }
    if is_vault_reference(t) {
        return Some(Indirection::Vault);
    }
    None
}

/// `value` is a reference, or its secret-bearing parts are: a URL password,
/// a query parameter or a header credential written as `${...}`, `$VAR` or a
/// vault reference. Callers give plaintext hits precedence.
pub(super) fn indirection(value: &str) -> Option<Indirection> {
    if let Some(kind) = whole(value) {
        return Some(kind);
    }
    if value.contains("${input:") {
        return Some(Indirection::Input);
    }
    if let Some(i) = value.find("${")
        && value[i..].contains('}')
    {
        return Some(Indirection::Env);
    }
    // `$VAR` after a separator: `Bearer $TOKEN`, `user:$PASS@host`, `K=$V`.
    let b = value.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'$'
            && (i == 0 || b" :=@/?&".contains(&b[i - 1]))
            && b.get(i + 1)
                .is_some_and(|n| n.is_ascii_uppercase() || *n == b'_')
        {
            return Some(Indirection::Env);
        }
    }
    value
        .split(|c: char| c.is_ascii_whitespace() || c == '=' || c == '"')
        .any(is_vault_reference)
        .then_some(Indirection::Vault)
}

/// A vault reference: an mcp-warden scheme (`local://`, `vault://`, `bao://`,
/// ...), `op://`, an AWS Secrets Manager / SSM ARN, a GCP secret resource
/// name or an Azure Key Vault secret URL.
pub(super) fn is_vault_reference(t: &str) -> bool {
    if let Some((scheme, rest)) = t.split_once("://") {
        if !rest.is_empty() && Scheme::from_name(scheme).is_some() {
            return true;
        }
        let host = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host = host.to_ascii_lowercase();
        if scheme.eq_ignore_ascii_case("https")
            && host.ends_with(".vault.azure.net")
            && rest.contains("/secrets/")
            && !rest.contains('@')
        {
            return true;
        }
        return false;
    }
    let lower = t.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("arn:") {
        let mut parts = rest.splitn(3, ':');
        let partition = parts.next().unwrap_or("");
        let service = parts.next().unwrap_or("");
        return partition.starts_with("aws")
            && matches!(service, "secretsmanager" | "ssm" | "kms")
            && !t.contains(char::is_whitespace);
    }
    // projects/P/secrets/S[/versions/V]
    let parts: Vec<&str> = t.split('/').collect();
    (parts.len() == 4 || (parts.len() == 6 && parts[4] == "versions"))
        && parts[0] == "projects"
        && parts[2] == "secrets"
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        })
}

/// For `${VAR:-default}` / `${VAR-default}`: the range of the default, which
/// may itself be a plaintext secret.
pub(super) fn env_default(value: &str) -> Option<Range<usize>> {
    let lead = value.len() - value.trim_start().len();
    let t = value.trim();
    let inner = t.strip_prefix("${")?.strip_suffix('}')?;
    let name_len = inner
        .bytes()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == b'_')
        .count();
    let rest = &inner[name_len..];
    let skip = if rest.starts_with(":-") || rest.starts_with(":=") {
        2
    } else if rest.starts_with('-') || rest.starts_with('=') {
        1
    } else {
        return None;
    };
    let start = lead + 2 + name_len + skip;
    let end = lead + 2 + inner.len();
    (start < end).then_some(start..end)
}

fn is_var_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_references() {
        let env = Some(Indirection::Env);
        let vault = Some(Indirection::Vault);
        assert_eq!(whole("${GITHUB_TOKEN}"), env);
        assert_eq!(whole("${TOKEN:-x}"), env);
        assert_eq!(whole("${env:USERJOT_API_TOKEN}"), env);
        assert_eq!(whole("$DB_CONNECTION_STRING"), env);
        assert_eq!(whole("Bearer ${env:T}"), env);
        assert_eq!(whole("%API_KEY%"), env);
        assert_eq!(whole("{{API_KEY}}"), env);
        assert_eq!(whole("${input:perplexity-key}"), Some(Indirection::Input));
        assert_eq!(whole("local://github-pat"), vault);
        assert_eq!(whole("bao://secret/x#k"), vault);
        assert_eq!(whole("op://Private/GitHub/token"), vault);
        assert_eq!(
            whole("arn:aws:secretsmanager:us-east-1:123456789012:secret:example-ABCDE"),
            vault
        );
        assert_eq!(whole("projects/p1/secrets/s1/versions/3"), vault);
        assert_eq!(whole("https://kv1.vault.azure.net/secrets/db"), vault);
        assert_eq!(whole("ghp_abc"), None);
        assert_eq!(whole("https://example.com"), None);
        assert_eq!(whole("$5"), None);
        assert_eq!(whole(""), None);
    }

    #[test]
    fn embedded_references() {
        assert_eq!(
            indirection("postgresql://u:${DB_PASS}@h/db"),
            Some(Indirection::Env)
        );
        assert_eq!(
            indirection("https://x/mcp?token=$TOKEN"),
            Some(Indirection::Env)
        );
        assert_eq!(
            indirection("GITHUB_TOKEN=local://gh"),
            Some(Indirection::Vault)
        );
        assert_eq!(indirection("plain"), None);
    }

    #[test]
    fn defaults_and_schemes() {
        let v = "${T:-abc}";
        assert_eq!(env_default(v).map(|r| &v[r]), Some("abc"));
        assert_eq!(env_default("${T}"), None);
        let v = "Bearer  abc ";
        let (s, r) = split_auth_scheme(v).expect("scheme");
        assert_eq!((s.as_str(), &v[r]), ("bearer", "abc"));
        assert!(split_auth_scheme("abc").is_none());
    }
}
