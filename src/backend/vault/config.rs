//! Vault settings from the environment, read once per invocation.
//!
//! Owns the names and precedence of the variables: the Vault CLI's
//! `VAULT_*` (winning) and OpenBao's `BAO_*`, plus mcp-warden's
//! `MCP_WARDEN_VAULT_*` for the auth method. Must not touch the network or
//! read files (only their paths are recorded here), and must never quote the
//! value of a variable that may hold a credential.

use std::path::PathBuf;

use crate::reference::{Scheme, SecretRef};

/// Looks a variable up: the real environment in the product, a map in tests.
pub(crate) type Lookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// `VAULT_{name}`, else `BAO_{name}`; empty counts as unset.
pub(crate) fn vault_var(env: Lookup<'_>, name: &str) -> Option<String> {
    [format!("VAULT_{name}"), format!("BAO_{name}")]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))
}

/// Which variable of the pair was set, for messages.
fn vault_var_name(env: Lookup<'_>, name: &str) -> String {
    let v = format!("VAULT_{name}");
    if env(&v).is_some_and(|x| !x.is_empty()) {
        v
    } else {
        format!("BAO_{name}")
    }
}

fn warden_var(env: Lookup<'_>, name: &str) -> Option<String> {
    env(&format!("MCP_WARDEN_VAULT_{name}")).filter(|v| !v.is_empty())
}

/// TLS material, by path. Verification is always on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Tls {
    /// `VAULT_CACERT`: a PEM bundle; replaces the system roots.
    pub ca_cert: Option<PathBuf>,
    /// `VAULT_CAPATH`: a directory of PEM files; replaces the system roots.
    pub ca_path: Option<PathBuf>,
    /// `VAULT_CLIENT_CERT` + `VAULT_CLIENT_KEY`: mutual TLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// How mcp-warden gets its Vault token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    /// `VAULT_TOKEN` / `BAO_TOKEN`, else `~/.vault-token`. Never renewed or revoked by us.
    Token,
    AppRole {
        role_id: RoleId,
        secret_id: SecretRef,
    },
    /// JWT/OIDC role login with a JWT (workload identity).
    Jwt { role: String, jwt: SecretRef },
    /// A JWT login with the pod's service-account token.
    Kubernetes { role: String, jwt: SecretRef },
    Userpass {
        username: String,
        password: SecretRef,
    },
}

/// The AppRole role id: given inline (it is an identifier) or in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RoleId {
    Inline(String),
    File(PathBuf),
}

impl Auth {
    /// The method's name, also its default mount path.
    pub fn name(&self) -> &'static str {
        match self {
            Auth::Token => "token",
            Auth::AppRole { .. } => "approle",
            Auth::Jwt { .. } => "jwt",
            Auth::Kubernetes { .. } => "kubernetes",
            Auth::Userpass { .. } => "userpass",
        }
    }
}

/// Everything the Vault backend reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Config {
    /// `VAULT_ADDR` / `BAO_ADDR`; `None` means every reference must carry `?addr=`.
    pub addr: Option<String>,
    /// `VAULT_NAMESPACE` / `BAO_NAMESPACE`: for login and for references without `?namespace=`.
    pub namespace: Option<String>,
    pub tls: Tls,
    pub auth: Auth,
    /// `MCP_WARDEN_VAULT_AUTH_MOUNT`, default: the method's name.
    pub auth_mount: String,
    /// Where `~/.vault-token` is, when the home directory is known.
    pub token_file: Option<PathBuf>,
    /// Servers a reference's `?addr=` may name besides `addr`
    /// (`MCP_WARDEN_VAULT_ADDRS`, comma-separated; from the environment only,
    /// never from a config file, since the credentials go wherever it points).
    pub extra_addrs: Vec<String>,
}

/// The service-account token every Kubernetes pod has.
pub(crate) const K8S_TOKEN: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

const METHODS: &str = "token, approle, jwt, kubernetes, userpass";

impl Config {
    /// Reads the configuration. The error is one line naming the variable to fix.
    pub fn from_env(env: Lookup<'_>) -> Result<Config, String> {
        if let Some(v) = vault_var(env, "SKIP_VERIFY")
            && !matches!(
                v.to_ascii_lowercase().as_str(),
                "0" | "false" | "no" | "off"
            )
        {
            return Err(format!(
                "{} is set: mcp-warden never skips TLS verification; unset it and point \
                 VAULT_CACERT at the CA that signed the server's certificate",
                vault_var_name(env, "SKIP_VERIFY")
            ));
        }
        let addr = vault_var(env, "ADDR");
        if let Some(a) = &addr {
            check_addr(a).map_err(|m| format!("{}: {m}", vault_var_name(env, "ADDR")))?;
        }
        let path = |name: &str| vault_var(env, name).map(PathBuf::from);
        let tls = Tls {
            ca_cert: path("CACERT"),
            ca_path: path("CAPATH"),
            client_cert: path("CLIENT_CERT"),
            client_key: path("CLIENT_KEY"),
        };
        if tls.client_cert.is_some() != tls.client_key.is_some() {
            return Err(
                "VAULT_CLIENT_CERT and VAULT_CLIENT_KEY go together: set both or neither".into(),
            );
        }
        let method = warden_var(env, "AUTH")
            .or_else(|| env("VAULT_AUTH_METHOD").filter(|v| !v.is_empty()))
            .unwrap_or_else(|| "token".into());
        let need = |name: &str| {
            warden_var(env, name).ok_or_else(|| {
                format!("MCP_WARDEN_VAULT_AUTH={method} needs MCP_WARDEN_VAULT_{name}")
            })
        };
        let reference = |name: &str, default: Option<&str>| -> Result<SecretRef, String> {
            let text = match (warden_var(env, name), default) {
                (Some(t), _) => t,
                (None, Some(d)) => d.to_string(),
                (None, None) => {
                    return Err(format!(
                        "MCP_WARDEN_VAULT_AUTH={method} needs MCP_WARDEN_VAULT_{name}: a \
                         reference such as local://NAME or file:///path"
                    ));
                }
            };
            credential_ref(&text).map_err(|m| format!("MCP_WARDEN_VAULT_{name}: {m}"))
        };
        let auth = match method.to_ascii_lowercase().as_str() {
            "token" => Auth::Token,
            "approle" => Auth::AppRole {
                role_id: match (warden_var(env, "ROLE_ID"), warden_var(env, "ROLE_ID_FILE")) {
                    (Some(id), None) => RoleId::Inline(id),
                    (None, Some(f)) => RoleId::File(f.into()),
                    _ => {
                        return Err(format!(
                            "MCP_WARDEN_VAULT_AUTH={method} needs exactly one of \
                             MCP_WARDEN_VAULT_ROLE_ID and MCP_WARDEN_VAULT_ROLE_ID_FILE"
                        ));
                    }
                },
                secret_id: reference("SECRET_ID", None)?,
            },
            "jwt" | "oidc" => Auth::Jwt {
                role: need("ROLE")?,
                jwt: reference("JWT", None)?,
            },
            "kubernetes" | "k8s" => Auth::Kubernetes {
                role: need("ROLE")?,
                jwt: reference("JWT", Some(&format!("file://{K8S_TOKEN}")))?,
            },
            "userpass" => Auth::Userpass {
                username: need("USERNAME")?,
                password: reference("PASSWORD", None)?,
            },
            _ => {
                return Err(format!(
                    "MCP_WARDEN_VAULT_AUTH: unknown method {method:?}; use one of {METHODS}"
                ));
            }
        };
        let auth_mount = warden_var(env, "AUTH_MOUNT")
            .map(|m| m.trim_matches('/').to_string())
            .unwrap_or_else(|| auth.name().to_string());
        Ok(Config {
            addr,
            namespace: vault_var(env, "NAMESPACE"),
            tls,
            auth,
            auth_mount,
            token_file: env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".vault-token")),
            extra_addrs: warden_var(env, "ADDRS")
                .map(|v| {
                    v.split(',')
                        .map(|a| a.trim().trim_end_matches('/').to_string())
                        .filter(|a| !a.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// A Vault address must be an http(s) URL with a host.
pub(crate) fn check_addr(a: &str) -> Result<(), String> {
    let rest = a
        .strip_prefix("https://")
        .or_else(|| a.strip_prefix("http://"))
        .ok_or("the Vault address must start with https:// or http://")?;
    if rest.trim_end_matches('/').is_empty() || rest.contains(['?', '#', '@', ' ']) {
        return Err("the Vault address must be https://HOST[:PORT]".into());
    }
    Ok(())
}

/// Whether a reference may send this run's Vault credentials to `addr`: only
/// to `VAULT_ADDR`/`BAO_ADDR` or a server listed in `MCP_WARDEN_VAULT_ADDRS`,
/// and over plain http only on loopback. A config file (a cloned repository's
/// `.mcp.json`, say) must not be able to point the user's token elsewhere.
pub(crate) fn addr_allowed(cfg: &Config, addr: &str) -> Result<(), String> {
    let a = addr.trim_end_matches('/');
    let known = cfg.addr.as_deref().map(|x| x.trim_end_matches('/')) == Some(a)
        || cfg.extra_addrs.iter().any(|x| x == a);
    if !known {
        return Err(
            "names a server that is neither VAULT_ADDR (BAO_ADDR) nor listed in \
             MCP_WARDEN_VAULT_ADDRS; mcp-warden does not send Vault credentials to a server a \
             reference chooses (list it in MCP_WARDEN_VAULT_ADDRS to allow it)"
                .into(),
        );
    }
    if let Some(rest) = a.strip_prefix("http://") {
        let host = rest.split(['/']).next().unwrap_or("");
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let loopback = host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if !loopback && cfg.addr.as_deref().map(|x| x.trim_end_matches('/')) != Some(a) {
            return Err("plain http is allowed only on loopback; use https://".into());
        }
    }
    Ok(())
}

/// Parses a credential reference; a bare absolute path is a file. Never echoes the text:
/// a mistake here is often a pasted secret.
fn credential_ref(text: &str) -> Result<SecretRef, String> {
    let r = if text.starts_with('/') {
        SecretRef {
            scheme: Scheme::File,
            location: text.to_string(),
            params: Vec::new(),
            selector: None,
        }
    } else {
        SecretRef::parse(text).map_err(|_| {
            "not a reference (value not shown); give a reference such as local://NAME or \
             file:///path, never the credential itself"
                .to_string()
        })?
    };
    if r.scheme == Scheme::Vault {
        return Err("a Vault login credential cannot itself come from Vault".into());
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, String> {
        let m: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_env(&|k| m.get(k).cloned())
    }

    #[test]
    fn vault_names_win_over_bao_names() {
        let c = cfg(&[("VAULT_ADDR", "http://a:1"), ("BAO_ADDR", "http://b:2")]).unwrap();
        assert_eq!(c.addr.as_deref(), Some("http://a:1"));
        let c = cfg(&[("BAO_ADDR", "http://b:2"), ("BAO_NAMESPACE", "team")]).unwrap();
        assert_eq!(c.addr.as_deref(), Some("http://b:2"));
        assert_eq!(c.namespace.as_deref(), Some("team"));
        assert_eq!(c.auth, Auth::Token);
    }

    #[test]
    fn skip_verify_is_refused_loudly() {
        let e = cfg(&[("VAULT_SKIP_VERIFY", "true")]).unwrap_err();
        assert!(e.contains("never skips TLS verification"), "{e}");
        let e = cfg(&[("BAO_SKIP_VERIFY", "1")]).unwrap_err();
        assert!(e.starts_with("BAO_SKIP_VERIFY"), "{e}");
        assert!(cfg(&[("VAULT_SKIP_VERIFY", "false")]).is_ok());
    }

    #[test]
    fn auth_methods_and_their_requirements() {
        let c = cfg(&[
            ("MCP_WARDEN_VAULT_AUTH", "approle"),
            ("MCP_WARDEN_VAULT_ROLE_ID", "rid"),
            ("MCP_WARDEN_VAULT_SECRET_ID", "local://sid"),
            ("MCP_WARDEN_VAULT_AUTH_MOUNT", "/ar/"),
        ])
        .unwrap();
        assert_eq!(c.auth_mount, "ar");
        let c = cfg(&[
            ("MCP_WARDEN_VAULT_AUTH", "kubernetes"),
            ("MCP_WARDEN_VAULT_ROLE", "app"),
        ])
        .unwrap();
        assert_eq!(
            c.auth,
            Auth::Kubernetes {
                role: "app".into(),
                jwt: credential_ref(K8S_TOKEN).unwrap()
            }
        );
        let e = cfg(&[("MCP_WARDEN_VAULT_AUTH", "jwt")]).unwrap_err();
        assert!(e.contains("MCP_WARDEN_VAULT_ROLE"), "{e}");
        let e = cfg(&[("MCP_WARDEN_VAULT_AUTH", "ldap")]).unwrap_err();
        assert!(e.contains("unknown method"), "{e}");
    }

    #[test]
    fn a_pasted_credential_is_refused_without_echo() {
        let e = cfg(&[
            ("MCP_WARDEN_VAULT_AUTH", "userpass"),
            ("MCP_WARDEN_VAULT_USERNAME", "u"),
            ("MCP_WARDEN_VAULT_PASSWORD", "canary-pass"),
        ])
        .unwrap_err();
        assert!(!e.contains("canary"), "{e}");
        let e = cfg(&[
            ("MCP_WARDEN_VAULT_AUTH", "userpass"),
            ("MCP_WARDEN_VAULT_USERNAME", "u"),
            ("MCP_WARDEN_VAULT_PASSWORD", "vault://secret/pw"),
        ])
        .unwrap_err();
        assert!(e.contains("cannot itself come from Vault"), "{e}");
    }

    #[test]
    fn addresses_are_checked() {
        assert!(check_addr("https://vault.example:8200").is_ok());
        assert!(check_addr("vault.example:8200").is_err());
        assert!(check_addr("https://user:pw@host").is_err());
    }
}
