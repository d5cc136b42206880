//! What a `gcp-sm://` reference addresses: project, secret, version and the
//! API endpoint, checked before anything touches the network.
//!
//! Owns the location grammar (`PROJECT/SECRET`, `projects/P/secrets/S`,
//! `projects/P/secrets/S/versions/V`), the `?version=` and `?endpoint=`
//! parameters, and the endpoint rules: the default public endpoint, the
//! gcloud override `CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER`, and a
//! per-reference `?endpoint=` that may only name a Google API host, the
//! override's host, or loopback — so a config file cannot send the caller's
//! Google token to a server of its choosing. Must not do I/O.

use reqwest::Url;

use crate::backend::rest;

/// The public Secret Manager endpoint.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com/";
/// gcloud's endpoint override for Secret Manager.
pub(crate) const ENDPOINT_ENV: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER";

/// Parameters a `gcp-sm://` reference may carry.
pub(crate) const PARAMS: &[&str] = &["version", "endpoint"];

/// A checked reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub project: String,
    pub secret: String,
    /// `latest` or a version number.
    pub version: String,
    pub endpoint: Url,
}

impl Target {
    /// `projects/P/secrets/S`
    pub fn secret_name(&self) -> String {
        format!("projects/{}/secrets/{}", self.project, self.secret)
    }

    /// `projects/P/secrets/S/versions/V`
    pub fn version_name(&self) -> String {
        format!("{}/versions/{}", self.secret_name(), self.version)
    }
}

/// Where the project and secret of a location are, before checks.
struct Parts<'a> {
    project: &'a str,
    secret: &'a str,
    version: Option<&'a str>,
}

fn split(location: &str) -> Result<Parts<'_>, String> {
    let segs: Vec<&str> = location.trim_matches('/').split('/').collect();
    match segs.as_slice() {
        [p, s] => Ok(Parts {
            project: p,
            secret: s,
            version: None,
        }),
        ["projects", p, "secrets", s] => Ok(Parts {
            project: p,
            secret: s,
            version: None,
        }),
        ["projects", p, "secrets", s, "versions", v] => Ok(Parts {
            project: p,
            secret: s,
            version: Some(v),
        }),
        _ => Err(
            "write gcp-sm://PROJECT/SECRET or projects/PROJECT/secrets/SECRET[/versions/V]".into(),
        ),
    }
}

/// A project id (`my-project`), a project number, or a domain-scoped id (`example.com:proj`).
pub(crate) fn valid_project(p: &str) -> bool {
    (1..=100).contains(&p.len())
        && p.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'.' | b':')
        })
}

/// Secret ids: letters, digits, `-` and `_`, at most 255.
pub(crate) fn valid_secret(s: &str) -> bool {
    (1..=255).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_version(v: &str) -> bool {
    v == "latest" || (!v.starts_with('0') && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
}

/// Reads a location and parameters; `env` looks up the environment.
pub(crate) fn parse(
    location: &str,
    params: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Target, String> {
    let parts = split(location)?;
    if !valid_project(parts.project) {
        return Err(format!(
            "{:?} is not a Google Cloud project id (lower-case letters, digits, '-')",
            parts.project
        ));
    }
    if !valid_secret(parts.secret) {
        return Err(format!(
            "{:?} is not a Secret Manager secret id (letters, digits, '-', '_'; at most 255)",
            parts.secret
        ));
    }
    let param = |k: &str| {
        params
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let version = match (parts.version, param("version")) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "the name says version {a} but ?version= says {b}; give one"
            ));
        }
        (Some(v), _) | (None, Some(v)) => v,
        (None, None) => "latest",
    };
    if !valid_version(version) {
        return Err(format!(
            "version {version:?} is neither \"latest\" nor a version number"
        ));
    }
    let endpoint = endpoint(param("endpoint"), env)?;
    Ok(Target {
        project: parts.project.to_string(),
        secret: parts.secret.to_string(),
        version: version.to_string(),
        endpoint,
    })
}

/// The API base URL (ending in `/`, without `v1/`).
pub(crate) fn endpoint(
    from_param: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Url, String> {
    let over = env(ENDPOINT_ENV).filter(|v| !v.trim().is_empty());
    let over = match over {
        Some(v) => Some(strip_version(rest::base_url(&v, ENDPOINT_ENV)?)),
        None => None,
    };
    let Some(p) = from_param else {
        return match over {
            Some(u) => Ok(u),
            None => rest::base_url(DEFAULT_ENDPOINT, "the default endpoint"),
        };
    };
    let url = strip_version(rest::base_url(p, "?endpoint=")?);
    let host = url.host_str().unwrap_or("").to_ascii_lowercase();
    let google = host == "googleapis.com" || host.ends_with(".googleapis.com");
    let same_as_env = over
        .as_ref()
        .is_some_and(|o| o.host_str() == url.host_str());
    if google || same_as_env || rest::is_loopback(&host) {
        Ok(url)
    } else {
        Err(format!(
            "?endpoint= may name a *.googleapis.com host, loopback, or the host of {ENDPOINT_ENV}; \
             {host} is none of them (set {ENDPOINT_ENV} to use it)"
        ))
    }
}

/// gcloud overrides may end in `v1/`; the API paths add it themselves.
fn strip_version(mut url: Url) -> Url {
    if let Some(p) = url.path().strip_suffix("v1/").map(str::to_string) {
        url.set_path(&p);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn short_and_resource_names() {
        let t = parse("proj-1/api-key", &[], &no_env).unwrap();
        assert_eq!(
            t.version_name(),
            "projects/proj-1/secrets/api-key/versions/latest"
        );
        assert_eq!(t.endpoint.as_str(), DEFAULT_ENDPOINT);
        let t = parse("projects/p1/secrets/s_1/versions/3", &[], &no_env).unwrap();
        assert_eq!((t.project.as_str(), t.version.as_str()), ("p1", "3"));
        let t = parse(
            "projects/p1/secrets/s",
            &[("version".into(), "2".into())],
            &no_env,
        )
        .unwrap();
        assert_eq!(t.version, "2");
        assert!(
            parse(
                "projects/p1/secrets/s/versions/3",
                &[("version".into(), "2".into())],
                &no_env
            )
            .is_err()
        );
        assert!(parse("p/s/x", &[], &no_env).is_err());
        assert!(parse("P/s", &[], &no_env).is_err());
        assert!(parse("p/s.x", &[], &no_env).is_err());
        assert!(parse("p/s", &[("version".into(), "01".into())], &no_env).is_err());
        assert!(parse("p/s", &[("version".into(), "first".into())], &no_env).is_err());
    }

    #[test]
    fn endpoints_are_google_loopback_or_the_override() {
        let env = |k: &str| (k == ENDPOINT_ENV).then(|| "https://sm.corp.example/v1/".to_string());
        let t = parse("p/s", &[], &env).unwrap();
        assert_eq!(t.endpoint.as_str(), "https://sm.corp.example/");
        let p = |v: &str| vec![("endpoint".to_string(), v.to_string())];
        assert!(
            parse(
                "p/s",
                &p("https://secretmanager.europe-west1.rep.googleapis.com/"),
                &no_env
            )
            .is_ok()
        );
        assert!(parse("p/s", &p("http://127.0.0.1:9000"), &no_env).is_ok());
        assert!(parse("p/s", &p("https://sm.corp.example/"), &env).is_ok());
        let e = parse("p/s", &p("https://evil.example/"), &no_env).unwrap_err();
        assert!(e.contains("googleapis.com"), "{e}");
        assert!(parse("p/s", &p("http://sm.corp.example/"), &env).is_err());
    }
}
