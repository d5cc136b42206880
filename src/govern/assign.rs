//! Assignments: `NAME=REF` arguments (`run`'s and `headers`' command lines)
//! and `(NAME, REF)` pairs (a profile's `env`) turned into resolve requests.
//!
//! Owns the scheme of bare names (`--vault-type`/`VAULT_TYPE`, with
//! mcp-secret-wrapper's names), and the checks on each assignment: a missing
//! name or reference, a variable assigned twice, and a pasted value, which is
//! refused and never echoed. Parses only: never resolves a reference.

use super::GovernError;
use crate::reference::{Scheme, SecretRef};
use crate::resolve::Request;

/// Maps `--vault-type` (mcp-secret-wrapper's names and ours) to the scheme of bare names.
pub fn vault_scheme(vault_type: Option<&str>) -> Result<Scheme, GovernError> {
    let Some(t) = vault_type.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(Scheme::Local);
    };
    match t.to_ascii_lowercase().as_str() {
        "aws" | "aws-secrets-manager" | "secretsmanager" => Ok(Scheme::AwsSm),
        "ssm" => Ok(Scheme::AwsSsm),
        "gcp" => Ok(Scheme::GcpSm),
        "azure" => Ok(Scheme::AzureKv),
        "hashicorp" | "hashicorp-vault" => Ok(Scheme::Vault),
        other => Scheme::from_name(other).ok_or_else(|| {
            GovernError::Usage(format!(
                "--vault-type {t:?} is unknown; use aws, ssm, gcp, azure, or a scheme: {}",
                Scheme::ALL.map(Scheme::as_str).join(", ")
            ))
        }),
    }
}

fn looks_like_a_value(reference: &str) -> bool {
    !reference.contains("://")
        && crate::token_prefixes::TOKEN_PREFIXES
            .iter()
            .any(|p| reference.starts_with(p))
}

/// Splits `NAME=REF` arguments into resolve requests.
pub fn requests(
    assignments: &[String],
    default_scheme: Scheme,
) -> Result<Vec<Request>, GovernError> {
    // Arguments are never echoed whole: a malformed one may be a pasted value.
    let mut pairs = Vec::with_capacity(assignments.len());
    for (n, a) in assignments.iter().enumerate() {
        let Some(pair) = a.split_once('=') else {
            return Err(GovernError::Usage(format!(
                "argument {} before '--' is not NAME=REF (not shown); put the server's own arguments after '--'",
                n + 1
            )));
        };
        if pair.0.is_empty() || pair.0.contains('\0') {
            return Err(GovernError::Usage(format!(
                "argument {} before '--' has an empty variable name; write NAME=REF",
                n + 1
            )));
        }
        pairs.push(pair);
    }
    pair_requests(pairs, default_scheme)
}

/// Turns `(NAME, REF)` pairs (a profile's `env`, or split assignments) into
/// resolve requests.
pub fn pair_requests<'a>(
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    default_scheme: Scheme,
) -> Result<Vec<Request>, GovernError> {
    let mut out: Vec<Request> = Vec::new();
    for (var, reference) in pairs {
        if out.iter().any(|r| r.var == var) {
            return Err(GovernError::Usage(format!("{var} is assigned twice")));
        }
        if reference.is_empty() {
            return Err(GovernError::Usage(format!(
                "{var}= has no reference; write {var}=local://NAME"
            )));
        }
        if looks_like_a_value(reference) {
            // Never echo it: it is probably a live credential.
            return Err(GovernError::Usage(format!(
                "{var}= holds what looks like a secret value, not a reference; store it with \
                 `mcp-warden secret set NAME` and write {var}=local://NAME"
            )));
        }
        let reference = SecretRef::parse_or_bare(reference, default_scheme)
            .map_err(|e| GovernError::Usage(format!("{var}: {e}")))?;
        out.push(Request {
            var: var.to_string(),
            reference,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_first_equals_and_maps_bare_names() {
        let r = requests(
            &["K=aws-sm://a=b=c".into(), "J=x/y#k".into()],
            Scheme::AwsSm,
        )
        .unwrap();
        assert_eq!(r[0].var, "K");
        assert_eq!(r[0].reference.location, "a=b=c");
        assert_eq!(r[1].reference.scheme, Scheme::AwsSm);
        assert_eq!(r[1].reference.location, "x/y");
    }

    #[test]
    fn refuses_pasted_values_without_echoing_them() {
        let e = requests(&["T=ghp_canaryCANARY123".into()], Scheme::Local).unwrap_err();
        assert!(!e.to_string().contains("canary"), "{e}");
        let e = pair_requests([("T", "ghp_canaryCANARY123")], Scheme::Local).unwrap_err();
        assert!(!e.to_string().contains("canary"), "{e}");
    }

    #[test]
    fn vault_types() {
        assert_eq!(vault_scheme(None).unwrap(), Scheme::Local);
        assert_eq!(vault_scheme(Some("aws")).unwrap(), Scheme::AwsSm);
        assert_eq!(vault_scheme(Some("bao")).unwrap(), Scheme::Vault);
        assert!(vault_scheme(Some("nope")).is_err());
    }
}
