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
        for req in expand(var, reference)? {
            if out.iter().any(|r| r.var == req.var) {
                return Err(GovernError::Usage(format!("{} is assigned twice", req.var)));
            }
            out.push(req);
        }
    }
    Ok(out)
}

/// One assignment -> its requests. `PREFIX*=REF` fills every variable the
/// reference yields whose name starts with `PREFIX` (`AWS_*=aws-sts://...`:
/// the three AWS variables, each the field of that name, from one fetch). A
/// reference that yields several variables must be written that way or
/// name its field (`#AWS_ACCESS_KEY_ID`).
pub fn expand(var: &str, reference: SecretRef) -> Result<Vec<Request>, GovernError> {
    let yields = reference.scheme.yields();
    let Some(prefix) = var.strip_suffix('*') else {
        if !yields.is_empty() && reference.selector.is_none() {
            return Err(GovernError::Usage(format!(
                "{var}: {}:// fills {}; write {}=REF to set them all, or pick one with #NAME",
                reference.scheme,
                yields.join(", "),
                common_prefix(yields)
            )));
        }
        return Ok(vec![Request {
            var: var.to_string(),
            reference,
        }]);
    };
    if yields.is_empty() || reference.selector.is_some() {
        return Err(GovernError::Usage(format!(
            "{var}: a NAME* assignment needs a reference that fills several variables \
             (aws-sts://), without a #selector"
        )));
    }
    let picked: Vec<Request> = yields
        .iter()
        .filter(|n| n.starts_with(prefix))
        .map(|n| Request {
            var: (*n).to_string(),
            reference: SecretRef {
                selector: Some(crate::reference::Selector::DotPath(vec![
                    crate::reference::Segment::Key((*n).to_string()),
                ])),
                ..reference.clone()
            },
        })
        .collect();
    if picked.is_empty() {
        return Err(GovernError::Usage(format!(
            "{var}: {}:// fills {}, none of which starts with {prefix:?}",
            reference.scheme,
            yields.join(", ")
        )));
    }
    Ok(picked)
}

/// `AWS_*` for the AWS trio: the longest shared start of `names`, then `*`.
fn common_prefix(names: &[&str]) -> String {
    let first = names.first().copied().unwrap_or_default();
    let mut len = first.len();
    for n in names {
        len = len.min(
            first
                .bytes()
                .zip(n.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    format!("{}*", &first[..len])
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
    fn a_star_fills_every_variable_a_reference_yields_from_one_fetch() {
        let r = requests(
            &["AWS_*=aws-sts://arn:aws:iam::1:role/r?duration=15m".into()],
            Scheme::Local,
        )
        .unwrap();
        let vars: Vec<&str> = r.iter().map(|x| x.var.as_str()).collect();
        assert_eq!(vars, crate::reference::AWS_STS_VARS);
        assert_eq!(
            r[2].reference.to_string(),
            "aws-sts://arn:aws:iam::1:role/r?duration=15m#AWS_SESSION_TOKEN"
        );
        assert_eq!(
            r[0].reference.without_selector(),
            r[1].reference.without_selector()
        );
        let one = requests(&["AWS_SESSION_*=aws-sts://arn:r".into()], Scheme::Local).unwrap();
        assert_eq!(one.len(), 1);
    }

    #[test]
    fn several_variable_references_must_be_starred_or_selected() {
        let e = requests(&["K=aws-sts://arn:r".into()], Scheme::Local).unwrap_err();
        assert!(e.to_string().contains("write AWS_*=REF"), "{e}");
        let ok = requests(
            &["K=aws-sts://arn:r#AWS_ACCESS_KEY_ID".into()],
            Scheme::Local,
        );
        assert!(ok.is_ok());
        for bad in [
            "K_*=local://x",
            "X_*=aws-sts://arn:r",
            "AWS_*=aws-sts://arn:r#AWS_SESSION_TOKEN",
        ] {
            assert!(requests(&[bad.into()], Scheme::Local).is_err(), "{bad}");
        }
        let twice = requests(
            &[
                "AWS_*=aws-sts://arn:r".into(),
                "AWS_SESSION_TOKEN=local://t".into(),
            ],
            Scheme::Local,
        );
        assert!(twice.unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn vault_types() {
        assert_eq!(vault_scheme(None).unwrap(), Scheme::Local);
        assert_eq!(vault_scheme(Some("aws")).unwrap(), Scheme::AwsSm);
        assert_eq!(vault_scheme(Some("bao")).unwrap(), Scheme::Vault);
        assert!(vault_scheme(Some("nope")).is_err());
    }
}
