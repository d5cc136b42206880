//! mcp-secret-wrapper compatibility: its `--vault-NAME=VALUE` parameters and
//! `VAULT_NAME` environment forms, for all three of its vault types.
//!
//! Owns: normalizing the raw `run` arguments before clap sees them (every
//! `--vault-*` option before `--`, its name matched case-insensitively — the
//! wrapper lower-cases names and so breaks its own camelCase options; we do
//! not), refusing parameters that are credentials with one line saying where
//! they belong (never echoing a value), reading the `VAULT_*` forms, and
//! turning the wrapper's bare IDs into references: a GCP secret id into
//! `gcp-sm://PROJECT/ID` (full resource names parse as they are), an Azure
//! `name` or `name/version` into `azure-kv://VAULT/NAME[?version=V]`.
//!
//! Must not resolve anything or read files: the key file is handed to the
//! GCP backend as a path.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

use super::GovernError as Error;
use crate::backend::CloudSettings;
use crate::reference::{Scheme, SecretRef};

/// The options clap knows under their own names.
const CLAP_OPTIONS: &[&str] = &["type", "region", "profile"];

/// Parameters passed on to clap as `--vault-param NAME=VALUE` (lower-cased names).
const PARAMS: &[&str] = &[
    "projectid",
    "keyfilename",
    "vaulturl",
    "vaultname",
    "tenantid",
    "clientid",
    "accesskeyid",
    // Where a credential is stored: a reference, never the credential.
    "clientsecretref",
    "credentialsref",
    "secretaccesskeyref",
    "sessiontokenref",
];

/// Parameters that are credentials, and where each belongs instead.
const CREDENTIALS: &[(&str, &str)] = &[
    (
        "clientsecret",
        "store it (`mcp-warden secret set azure-client-secret`) and pass \
         --vault-clientSecretRef=local://azure-client-secret, or put it in AZURE_CLIENT_SECRET, \
         or use a certificate, workload or managed identity, or `az login`",
    ),
    (
        "credentials",
        "store the JSON (`mcp-warden secret set gcp-key < key.json`) and pass \
         --vault-credentialsRef=local://gcp-key, or pass --vault-keyFilename=FILE \
         (or set GOOGLE_APPLICATION_CREDENTIALS)",
    ),
    (
        "secretaccesskey",
        "store it (`mcp-warden secret set aws-secret-key`) and pass \
         --vault-secretAccessKeyRef=local://aws-secret-key with --vault-accessKeyId, or use \
         an AWS profile (--vault-profile)",
    ),
    (
        "sessiontoken",
        "store it and pass --vault-sessionTokenRef=REF, or use an AWS profile (--vault-profile)",
    ),
];

/// The one line for a credential parameter; `how` is "--vault-x" or "VAULT_X".
fn refuse_credential(how: &str, lower: &str) -> Option<Error> {
    let (_, instead) = CREDENTIALS.iter().find(|(n, _)| *n == lower)?;
    Some(Error::Usage(format!(
        "{how} carries a credential, which does not belong in a command line or a client \
         config: {instead}"
    )))
}

/// Rewrites the arguments of `run` (after the verb) for clap: `--vault-type`,
/// `--vault-region`, `--vault-profile` in any case stay themselves, the other
/// wrapper parameters become `--vault-param NAME=VALUE`; credentials and
/// unknown `--vault-*` options are refused. Everything after `--` is untouched.
pub fn normalize(args: &[OsString]) -> Result<Vec<OsString>, Error> {
    let mut out = Vec::with_capacity(args.len());
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--" {
            out.push(a.clone());
            out.extend(it.by_ref().cloned());
            break;
        }
        let Some(text) = a.to_str() else {
            if a.as_encoded_bytes().starts_with(b"--vault-") {
                // Not echoed: it may be a credential, and clap would quote it.
                return Err(Error::Usage(
                    "a --vault-* argument is not valid UTF-8 (not shown); mcp-warden's and \
                     mcp-secret-wrapper's parameters are text"
                        .into(),
                ));
            }
            out.push(a.clone());
            continue;
        };
        let Some(rest) = text.strip_prefix("--vault-") else {
            out.push(a.clone());
            continue;
        };
        let (name, inline) = match rest.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (rest, None),
        };
        let lower = name.to_ascii_lowercase();
        let shown = format!("--vault-{name}");
        if let Some(e) = refuse_credential(&shown, &lower) {
            return Err(e);
        }
        let known = lower == "param"
            || CLAP_OPTIONS.contains(&lower.as_str())
            || PARAMS.contains(&lower.as_str());
        if !known {
            return Err(unknown(&shown));
        }
        let value = match inline {
            Some(v) => v,
            None => match it.next().and_then(|v| v.to_str()) {
                Some(v) if v != "--" => v.to_string(),
                _ => {
                    return Err(Error::Usage(format!(
                        "{shown} needs a value: {shown}=VALUE"
                    )));
                }
            },
        };
        if lower == "param" {
            let (key, v) = checked_param(&value)?;
            out.push(format!("--vault-param={key}={v}").into());
        } else if CLAP_OPTIONS.contains(&lower.as_str()) {
            out.push(format!("--vault-{lower}={value}").into());
        } else {
            out.push(format!("--vault-param={lower}={value}").into());
        }
    }
    Ok(out)
}

fn unknown(shown: &str) -> Error {
    Error::Usage(format!(
        "{shown} is not a parameter mcp-warden knows (type, region, profile, projectId, \
         keyFilename, vaultUrl, vaultName, tenantId, clientId, accessKeyId, and the \
         ...Ref forms of clientSecret, credentials, secretAccessKey, sessionToken)"
    ))
}

/// `NAME=VALUE` of `--vault-param`: the name lower-cased, checked like a
/// `--vault-NAME` option (a credential is refused, the value never shown).
fn checked_param(text: &str) -> Result<(String, &str), Error> {
    let Some((name, value)) = text.split_once('=') else {
        // Not echoed: the whole text may be a credential.
        return Err(Error::Usage(
            "--vault-param takes NAME=VALUE (the argument is not shown)".into(),
        ));
    };
    let lower = name.to_ascii_lowercase();
    let shown = format!("--vault-param={name}");
    if let Some(e) = refuse_credential(&shown, &lower) {
        return Err(e);
    }
    if !PARAMS.contains(&lower.as_str()) {
        return Err(unknown(&shown));
    }
    Ok((lower, value))
}

/// What the wrapper's parameters settle for one run.
#[derive(Debug, Default, Clone)]
pub struct Wrapper {
    /// The vault type's scheme for bare IDs.
    pub scheme: Option<Scheme>,
    /// GCP project for bare secret ids.
    pub gcp_project: Option<String>,
    /// Azure vault (name or `HOST[:PORT]`) for bare names.
    pub azure_vault: Option<String>,
    /// Credential choices handed to the backends.
    pub cloud: CloudSettings,
}

/// The parameters from `--vault-param NAME=VALUE` (already normalized) and
/// the `VAULT_NAME` environment (any case); the command line wins.
fn parameters(
    flags: &[String],
    env: &dyn Fn(&str) -> Option<String>,
    vars: &[String],
) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for var in vars {
        let Some(name) = var
            .get(..6)
            .filter(|p| p.eq_ignore_ascii_case("VAULT_"))
            .map(|_| var[6..].to_ascii_lowercase())
        else {
            continue;
        };
        if let Some(e) = refuse_credential(var, &name) {
            return Err(e);
        }
        if PARAMS.contains(&name.as_str())
            && let Some(v) = env(var).filter(|v| !v.is_empty())
        {
            out.insert(name, v);
        }
    }
    for f in flags {
        let (k, v) = checked_param(f)?;
        out.insert(k, v.to_string());
    }
    Ok(out)
}

impl Wrapper {
    /// The wrapper parameters of `run`'s `--vault-type` and `--vault-param`
    /// options and the process environment.
    pub fn of(
        vault_type: Option<&str>,
        vault_params: &[String],
        scheme: Scheme,
    ) -> Result<Wrapper, Error> {
        let vars: Vec<String> = std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .collect();
        let env = |k: &str| std::env::var(k).ok();
        let typed = vault_type.is_some_and(|t| !t.trim().is_empty());
        Self::settle(typed.then_some(scheme), vault_params, &vars, &env)
    }

    /// Settles the parameters for `scheme` (the vault type's, if one was given).
    /// `vars` are the environment's variable names; `env` reads one.
    pub fn settle(
        scheme: Option<Scheme>,
        flags: &[String],
        vars: &[String],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Wrapper, Error> {
        let p = if scheme.is_some() || !flags.is_empty() {
            parameters(flags, env, vars)?
        } else {
            BTreeMap::new()
        };
        let get = |k: &str| p.get(k).cloned();
        // The wrapper reads AZURE_KEYVAULT_URL for its azure type only; an
        // unrelated run must not fail on it.
        let keyvault_env = || {
            (scheme == Some(Scheme::AzureKv))
                .then(|| env("AZURE_KEYVAULT_URL"))
                .flatten()
                .filter(|v| !v.trim().is_empty())
        };
        let azure_vault = match (get("vaulturl").or_else(keyvault_env), get("vaultname")) {
            (Some(url), _) => Some(crate::backend::azure::host_of_url(&url).map_err(|m| {
                Error::Usage(format!("--vault-vaultUrl / AZURE_KEYVAULT_URL: {m}"))
            })?),
            (None, Some(name)) => Some(name),
            (None, None) => None,
        };
        Ok(Wrapper {
            scheme,
            gcp_project: get("projectid"),
            azure_vault,
            cloud: CloudSettings {
                gcp_key_file: get("keyfilename").map(PathBuf::from),
                azure_tenant_id: get("tenantid"),
                azure_client_id: get("clientid"),
                azure_client_secret: stored(&p, "clientsecretref")?,
                gcp_credentials: stored(&p, "credentialsref")?,
                aws_access_key_id: get("accesskeyid"),
                aws_secret_access_key: stored(&p, "secretaccesskeyref")?,
                aws_session_token: stored(&p, "sessiontokenref")?,
            },
        })
    }

    /// The assignments with the wrapper's bare IDs written as references of
    /// the vault type. References with a scheme, ARNs and GCP resource names
    /// pass as they are.
    pub fn rewrite(&self, assignments: &[String]) -> Result<Vec<String>, Error> {
        assignments
            .iter()
            .map(|a| match a.split_once('=') {
                Some((var, id)) if is_bare(id) => Ok(format!("{var}={}", self.reference(var, id)?)),
                _ => Ok(a.clone()),
            })
            .collect()
    }

    fn reference(&self, var: &str, id: &str) -> Result<String, Error> {
        let (id, selector) = match id.split_once('#') {
            Some((i, s)) => (i, format!("#{s}")),
            None => (id, String::new()),
        };
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, RESERVED).to_string();
        match self.scheme {
            Some(Scheme::GcpSm) => {
                let project = self.gcp_project.as_deref().ok_or_else(|| {
                    Error::Usage(format!(
                        "{var}: a bare GCP secret id needs --vault-projectId=PROJECT (or \
                         VAULT_PROJECTID); or write gcp-sm://PROJECT/SECRET"
                    ))
                })?;
                Ok(format!("gcp-sm://{}/{}{selector}", enc(project), enc(id)))
            }
            Some(Scheme::AzureKv) => {
                let vault = self.azure_vault.as_deref().ok_or_else(|| {
                    Error::Usage(format!(
                        "{var}: a bare Azure secret name needs --vault-vaultName=NAME or \
                         --vault-vaultUrl=URL (or AZURE_KEYVAULT_URL); or write azure-kv://VAULT/NAME"
                    ))
                })?;
                let (name, version) = match id.split_once('/') {
                    Some((n, v)) => (n, format!("?version={}", enc(v))),
                    None => (id, String::new()),
                };
                Ok(format!(
                    "azure-kv://{vault}/{}{version}{selector}",
                    enc(name)
                ))
            }
            _ => Ok(format!("{id}{selector}")),
        }
    }
}

/// What the reference grammar reserves inside one path segment or value.
const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b'%')
    .add(b'?')
    .add(b'#')
    .add(b'&')
    .add(b'=')
    .add(b'/')
    .add(b' ');

/// The reference a `...Ref` parameter names: it must have a scheme (the
/// credential is kept in a backend; the parameter only says where).
fn stored(p: &BTreeMap<String, String>, key: &str) -> Result<Option<SecretRef>, Error> {
    let Some(text) = p.get(key) else {
        return Ok(None);
    };
    // Not echoed: a mistaken value here may be the credential itself.
    let r = SecretRef::parse(text)
        .map_err(|e| Error::Usage(format!("{key}: not a reference (not shown): {}", e.message)))?;
    Ok(Some(r))
}

/// A wrapper ID rather than a reference: no scheme, not an ARN, not a GCP resource name.
fn is_bare(id: &str) -> bool {
    let head = id.split('#').next().unwrap_or("");
    !head.contains("://") && !head.starts_with("arn:") && !head.starts_with("projects/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn parameters_are_normalized_case_insensitively() {
        let got = normalize(&os(&[
            "--vault-type=gcp",
            "--vault-projectId=p1",
            "--vault-KEYFILENAME",
            "/k.json",
            "--vault-Region=eu",
            "K=s",
            "--",
            "--vault-clientSecret=child's own",
        ]))
        .unwrap();
        assert_eq!(
            got,
            os(&[
                "--vault-type=gcp",
                "--vault-param=projectid=p1",
                "--vault-param=keyfilename=/k.json",
                "--vault-region=eu",
                "K=s",
                "--",
                "--vault-clientSecret=child's own",
            ])
        );
    }

    #[test]
    fn credentials_are_refused_without_echo() {
        for (arg, hint) in [
            ("--vault-clientSecret=CANARY1", "AZURE_CLIENT_SECRET"),
            (
                "--vault-credentials={\"private_key\":\"CANARY2\"}",
                "--vault-keyFilename",
            ),
            ("--vault-secretAccessKey=CANARY3", "AWS profile"),
            ("--vault-sessiontoken=CANARY4", "AWS profile"),
        ] {
            let e = normalize(&os(&[arg, "--", "x"])).unwrap_err().to_string();
            assert!(e.contains(hint) && !e.contains("CANARY"), "{e}");
        }
        let e = normalize(&os(&["--vault-zzz=1"])).unwrap_err().to_string();
        assert!(e.contains("--vault-zzz"), "{e}");
        let env = |k: &str| (k == "VAULT_CLIENTSECRET").then(|| "CANARY5".to_string());
        let e = Wrapper::settle(
            Some(Scheme::AzureKv),
            &[],
            &["VAULT_CLIENTSECRET".into()],
            &env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("VAULT_CLIENTSECRET") && !e.contains("CANARY"),
            "{e}"
        );
    }

    #[test]
    fn vault_param_is_checked_like_the_options() {
        for arg in [
            "--vault-param=clientSecret=CANARY1",
            "--vault-param=CREDENTIALS=CANARY2",
            "--vault-PARAM=secretaccesskey=CANARY3",
        ] {
            let e = normalize(&os(&[arg, "--", "x"])).unwrap_err().to_string();
            assert!(
                e.contains("carries a credential") && !e.contains("CANARY"),
                "{e}"
            );
        }
        let e = normalize(&os(&["--vault-param", "sessionToken=CANARY4"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("credential") && !e.contains("CANARY"), "{e}");
        let e = normalize(&os(&["--vault-param=CANARY5"]))
            .unwrap_err()
            .to_string();
        assert!(!e.contains("CANARY"), "{e}");
        let e = normalize(&os(&["--vault-param=zzz=1"]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("zzz") && e.contains("not a parameter"), "{e}");
        assert_eq!(
            normalize(&os(&["--vault-param=projectId=p1"])).unwrap(),
            os(&["--vault-param=projectid=p1"])
        );
        // What reaches `parameters` without normalize (a client config read back).
        let none = |_: &str| None;
        let e = Wrapper::settle(
            Some(Scheme::AzureKv),
            &["clientSecret=CANARY6".into()],
            &[],
            &none,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("credential") && !e.contains("CANARY"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_vault_arguments_are_refused_unseen() {
        use std::os::unix::ffi::OsStringExt;
        let mut raw = b"--vault-clientSecret=CANARY7".to_vec();
        raw.push(0xff);
        let e = normalize(&[OsString::from_vec(raw)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("not valid UTF-8") && !e.contains("CANARY"),
            "{e}"
        );
        // After `--` the server's own arguments are untouched.
        let child = OsString::from_vec(b"--vault-x=\xff".to_vec());
        assert!(normalize(&[OsString::from("--"), child]).is_ok());
    }

    #[test]
    fn keyvault_url_is_read_for_azure_only() {
        let bad = |k: &str| (k == "AZURE_KEYVAULT_URL").then(|| "not a url".to_string());
        for scheme in [None, Some(Scheme::GcpSm), Some(Scheme::AwsSm)] {
            let w = Wrapper::settle(scheme, &[], &[], &bad).unwrap();
            assert!(w.azure_vault.is_none());
        }
        assert!(Wrapper::settle(Some(Scheme::AzureKv), &[], &[], &bad).is_err());
    }

    #[test]
    fn bare_ids_become_references() {
        let env = |k: &str| match k {
            "VAULT_PROJECTID" => Some("env-project".to_string()),
            "VAULT_TOKEN" => Some("hashicorp's own".to_string()),
            _ => None,
        };
        let vars = vec!["VAULT_PROJECTID".to_string(), "VAULT_TOKEN".to_string()];
        let g = Wrapper::settle(Some(Scheme::GcpSm), &[], &vars, &env).unwrap();
        let out = g
            .rewrite(&[
                "A=api-key#token".into(),
                "B=projects/p/secrets/s".into(),
                "C=aws-sm://x".into(),
            ])
            .unwrap();
        assert_eq!(
            out,
            [
                "A=gcp-sm://env-project/api-key#token",
                "B=projects/p/secrets/s",
                "C=aws-sm://x"
            ]
        );
        // The command line wins over the environment.
        let g = Wrapper::settle(
            Some(Scheme::GcpSm),
            &["projectid=flag-project".into()],
            &vars,
            &env,
        )
        .unwrap();
        assert_eq!(
            g.rewrite(&["A=s".into()]).unwrap(),
            ["A=gcp-sm://flag-project/s"]
        );

        let none = |_: &str| None;
        let a = Wrapper::settle(
            Some(Scheme::AzureKv),
            &[
                "vaulturl=https://kv1.vault.azure.net/".into(),
                "tenantid=t".into(),
                "clientid=c".into(),
            ],
            &[],
            &none,
        )
        .unwrap();
        assert_eq!(
            a.rewrite(&["P=db/0123abcd#pw".into(), "Q=api".into()])
                .unwrap(),
            [
                "P=azure-kv://kv1.vault.azure.net/db?version=0123abcd#pw",
                "Q=azure-kv://kv1.vault.azure.net/api"
            ]
        );
        assert_eq!(a.cloud.azure_tenant_id.as_deref(), Some("t"));
        let kv = |k: &str| {
            (k == "AZURE_KEYVAULT_URL").then(|| "https://kv2.vault.azure.net".to_string())
        };
        let b = Wrapper::settle(Some(Scheme::AzureKv), &[], &[], &kv).unwrap();
        assert_eq!(
            b.rewrite(&["Q=api".into()]).unwrap(),
            ["Q=azure-kv://kv2.vault.azure.net/api"]
        );
        let c = Wrapper::settle(Some(Scheme::AzureKv), &[], &[], &none).unwrap();
        assert!(
            c.rewrite(&["Q=api".into()])
                .unwrap_err()
                .to_string()
                .contains("--vault-vaultName")
        );
    }
}
