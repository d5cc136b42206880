//! What a `gcp-sm://` reference addresses: project, secret, version and the
//! API endpoint, checked before anything touches the network.
//!
//! Owns the location grammar (`PROJECT/SECRET`, `projects/P/secrets/S`,
//! `projects/P/secrets/S/versions/V`), the `?version=` and `?endpoint=`
//! parameters, and the endpoint rules: the default public endpoint, the
//! gcloud override `CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER`, and a
//! per-reference `?endpoint=` that may only name a Google API host, the
//! override's host, or loopback over https (plain-http loopback only when the
//! environment allows it) — so a config file cannot send the caller's Google
//! token to a server of its choosing, nor in cleartext. Must not do I/O.

use reqwest::Url;

use crate::backend::rest;

/// The public Secret Manager endpoint.
pub(crate) const DEFAULT_ENDPOINT: &str = "https://secretmanager.googleapis.com/";
/// gcloud's endpoint override for Secret Manager.
pub(crate) const ENDPOINT_ENV: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER";

/// Set to `1`, lets a reference's `?endpoint=` name a plain-http loopback
/// endpoint (local emulators, tests).
pub(crate) const ALLOW_LOOPBACK_ENV: &str = "MCP_WARDEN_ALLOW_LOOPBACK_ENDPOINTS";

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

/// A project id (`my-project`: 6-30 characters, a lower-case letter first,
/// then lower-case letters, digits and `-`, not ending in `-`), a project
/// number, or a legacy domain-scoped id (`example.com:my-project`). Nothing
/// else: a dot segment (`..`) would move the request to another API path.
pub(crate) fn valid_project(p: &str) -> bool {
    match p.split_once(':') {
        Some((domain, id)) => valid_domain(domain) && valid_project_id(id),
        None => valid_project_id(p) || valid_project_number(p),
    }
}

fn valid_project_id(p: &str) -> bool {
    (6..=30).contains(&p.len())
        && p.starts_with(|c: char| c.is_ascii_lowercase())
        && !p.ends_with('-')
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn valid_project_number(p: &str) -> bool {
    (1..=20).contains(&p.len()) && !p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit())
}

/// `example.com`: dot-separated labels of lower-case letters, digits and `-`,
/// each starting with a letter or digit.
fn valid_domain(d: &str) -> bool {
    (1..=253).contains(&d.len())
        && d.contains('.')
        && d.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
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
            "{:?} is not a Google Cloud project id (6-30 lower-case letters, digits and '-', \
             starting with a letter) or project number",
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
    if url.scheme() == "http" {
        // The bearer token would cross in cleartext to any local port: only
        // the environment may choose that.
        let env_origin = over.as_ref().is_some_and(|o| o.origin() == url.origin());
        let opted_in = env(ALLOW_LOOPBACK_ENV).is_some_and(|v| v.trim() == "1");
        if env_origin || opted_in {
            return Ok(url);
        }
        return Err(format!(
            "?endpoint= names plain http ({host}); a reference may not send the Google token \
             unencrypted: use https, or set {ENDPOINT_ENV} (or {ALLOW_LOOPBACK_ENV}=1) to allow it"
        ));
    }
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

/// The public IAM Credentials endpoint (`gcp-token://`).
pub(crate) const IAM_DEFAULT_ENDPOINT: &str = "https://iamcredentials.googleapis.com/";
/// gcloud's override for it, honoured as for Secret Manager.
pub(crate) const IAM_ENDPOINT_ENV: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_IAMCREDENTIALS";

/// The IAM Credentials base URL: [`IAM_ENDPOINT_ENV`] (https, or http to
/// loopback, as [`ENDPOINT_ENV`]) else the public one. A reference cannot
/// choose it, so there is no plain-http opt-in to check.
pub(crate) fn iam_endpoint(env: &dyn Fn(&str) -> Option<String>) -> Result<Url, String> {
    match env(IAM_ENDPOINT_ENV).filter(|v| !v.trim().is_empty()) {
        Some(v) => Ok(strip_version(rest::base_url(&v, IAM_ENDPOINT_ENV)?)),
        None => rest::base_url(IAM_DEFAULT_ENDPOINT, "the default endpoint"),
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
        let t = parse("projects/proj-1/secrets/s_1/versions/3", &[], &no_env).unwrap();
        assert_eq!((t.project.as_str(), t.version.as_str()), ("proj-1", "3"));
        let t = parse(
            "projects/proj-1/secrets/s",
            &[("version".into(), "2".into())],
            &no_env,
        )
        .unwrap();
        assert_eq!(t.version, "2");
        assert!(
            parse(
                "projects/proj-1/secrets/s/versions/3",
                &[("version".into(), "2".into())],
                &no_env
            )
            .is_err()
        );
        assert!(parse("p/s/x", &[], &no_env).is_err());
        assert!(parse("P/s", &[], &no_env).is_err());
        assert!(parse("p/s.x", &[], &no_env).is_err());
        assert!(parse("123456789/s", &[], &no_env).is_ok());
        assert!(parse("example.com:proj-1/s", &[], &no_env).is_ok());
    }

    #[test]
    fn project_ids_cannot_leave_the_api_path() {
        for bad in [
            "..",
            ".",
            "...",
            "a..b",
            "proj-1.",
            "-proj1",
            "p",
            "1proj-x",
            "proj-",
            "..:proj-1",
            "example..com:proj-1",
            ".com:proj-1",
            "proj_1x",
            "0123",
        ] {
            assert!(!valid_project(bad), "{bad:?} accepted");
            assert!(parse(&format!("{bad}/s"), &[], &no_env).is_err(), "{bad:?}");
            assert!(
                parse(&format!("projects/{bad}/secrets/s"), &[], &no_env).is_err(),
                "{bad:?}"
            );
        }
        assert!(parse("proj-1/..", &[], &no_env).is_err());
        assert!(parse("proj-1/s", &[("version".into(), "01".into())], &no_env).is_err());
        assert!(parse("proj-1/s", &[("version".into(), "first".into())], &no_env).is_err());
    }

    #[test]
    fn endpoints_are_google_loopback_or_the_override() {
        let env = |k: &str| (k == ENDPOINT_ENV).then(|| "https://sm.corp.example/v1/".to_string());
        let t = parse("proj-1/s", &[], &env).unwrap();
        assert_eq!(t.endpoint.as_str(), "https://sm.corp.example/");
        let p = |v: &str| vec![("endpoint".to_string(), v.to_string())];
        assert!(
            parse(
                "proj-1/s",
                &p("https://secretmanager.europe-west1.rep.googleapis.com/"),
                &no_env
            )
            .is_ok()
        );
        assert!(parse("proj-1/s", &p("https://127.0.0.1:9000"), &no_env).is_ok());
        let e = parse("proj-1/s", &p("http://127.0.0.1:9000"), &no_env).unwrap_err();
        assert!(e.contains("plain http"), "{e}");
        let allow = |k: &str| (k == ALLOW_LOOPBACK_ENV).then(|| "1".to_string());
        assert!(parse("proj-1/s", &p("http://127.0.0.1:9000"), &allow).is_ok());
        let local = |k: &str| (k == ENDPOINT_ENV).then(|| "http://127.0.0.1:9000/".to_string());
        assert!(parse("proj-1/s", &p("http://127.0.0.1:9000/"), &local).is_ok());
        assert!(parse("proj-1/s", &p("http://127.0.0.1:9001/"), &local).is_err());
        assert!(parse("proj-1/s", &p("https://sm.corp.example/"), &env).is_ok());
        let e = parse("proj-1/s", &p("https://evil.example/"), &no_env).unwrap_err();
        assert!(e.contains("googleapis.com"), "{e}");
        assert!(parse("proj-1/s", &p("http://sm.corp.example/"), &env).is_err());
    }
}
