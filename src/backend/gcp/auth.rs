//! Google credentials: Application Default Credentials as Google's own
//! libraries resolve them, through Google's official `google-cloud-auth` crate.
//!
//! Owns which credentials apply (a key file the caller names, e.g. from
//! mcp-secret-wrapper's `--vault-keyFilename`, or ADC: `GOOGLE_APPLICATION_CREDENTIALS`
//! — service account key, authorized user, external account / workload
//! identity federation, impersonated service account —, the gcloud ADC file,
//! then the metadata server, `GCE_METADATA_HOST` honoured), getting the
//! request headers once per run (concurrent callers wait for one token
//! request), one fresh token when the API calls the first one invalid, and a
//! description of the identity for messages (a service account email, never a
//! token). A file named on a command line or in a client config is checked by
//! [`super::foreign`] first; why no token came is worded by [`super::refusal`].
//! Must not call Secret Manager, or put a token or key into an error.

use std::path::{Path, PathBuf};
use std::time::Instant;

use google_cloud_auth::credentials::{CacheableResource, Credentials};
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::refusal::{CredKind, build_failure, token_failure};
use crate::backend::ErrorKind;
use crate::backend::rest::Fail;

/// Where the credentials come from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// Application Default Credentials.
    Adc,
    /// A credentials file named by the caller.
    KeyFile(PathBuf),
    /// gcloud's ADC file under `CLOUDSDK_CONFIG` (which the auth crate does not look at).
    Gcloud(PathBuf),
    /// A credentials JSON kept in a backend (`--vault-credentialsRef`).
    Stored(crate::reference::SecretRef),
}

impl Source {
    /// The caller's key file, else gcloud's ADC file where `CLOUDSDK_CONFIG`
    /// moves it (and `GOOGLE_APPLICATION_CREDENTIALS` does not win), else ADC.
    pub fn resolve(
        stored: Option<&crate::reference::SecretRef>,
        key_file: Option<&Path>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Source {
        if let Some(r) = stored {
            return Source::Stored(r.clone());
        }
        if let Some(p) = key_file {
            return Source::KeyFile(p.to_path_buf());
        }
        let gac = env("GOOGLE_APPLICATION_CREDENTIALS").is_some_and(|v| !v.is_empty());
        let moved = env("CLOUDSDK_CONFIG").is_some_and(|v| !v.is_empty());
        match gcloud_adc_file(env) {
            Some(p) if !gac && moved && p.is_file() => Source::Gcloud(p),
            _ => Source::Adc,
        }
    }
}

/// One credential, shared by every group that uses it.
pub(crate) struct Auth {
    source: Source,
    /// Fetches a stored credentials JSON.
    stored: std::sync::Arc<dyn crate::backend::vault::Credentials>,
    identity: String,
    /// The kind of credential, as far as known before it is built.
    kind: CredKind,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    creds: Option<Credentials>,
    headers: Option<HeaderMap>,
    /// Bumped whenever the headers change, so a refresh happens once however
    /// many requests saw the old token refused.
    generation: u32,
    refreshed: bool,
    /// The kind of a stored credential, once fetched.
    kind: Option<CredKind>,
}

/// Headers to send, and which generation of them they are.
pub(crate) struct Authorized {
    pub headers: HeaderMap,
    pub generation: u32,
}

impl Auth {
    pub fn new(
        source: Source,
        stored: std::sync::Arc<dyn crate::backend::vault::Credentials>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Auth {
        let identity = describe_source(&source, env);
        let kind = kind_of_source(&source, env);
        Auth {
            source,
            stored,
            identity,
            kind,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// "service account x@p.iam.gserviceaccount.com (GOOGLE_APPLICATION_CREDENTIALS)", for messages.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The authorization headers, fetching a token on first use.
    pub async fn headers(&self, deadline: Instant) -> Result<Authorized, Fail> {
        let mut st = self.state.lock().await;
        if let Some(h) = &st.headers {
            return Ok(Authorized {
                headers: h.clone(),
                generation: st.generation,
            });
        }
        self.acquire(&mut st, deadline).await
    }

    /// New headers after the service refused generation `seen`; at most one
    /// fresh token per run (a second refusal is an answer, not a glitch).
    pub async fn refresh(&self, seen: u32, deadline: Instant) -> Result<Option<Authorized>, Fail> {
        let mut st = self.state.lock().await;
        if st.generation != seen {
            return Ok(st.headers.clone().map(|h| Authorized {
                headers: h,
                generation: st.generation,
            }));
        }
        if st.refreshed {
            return Ok(None);
        }
        st.refreshed = true;
        // A new credentials object has an empty token cache: the next token is fresh.
        st.creds = None;
        st.headers = None;
        self.acquire(&mut st, deadline).await.map(Some)
    }

    async fn acquire(&self, st: &mut State, deadline: Instant) -> Result<Authorized, Fail> {
        if st.creds.is_none() {
            let creds = match &self.source {
                Source::Stored(r) => {
                    let v = self.stored.fetch(r).await.map_err(|e| {
                        Fail::new(e.kind, format!("reading the Google credentials from {e}"))
                    })?;
                    // The parse error is not shown: it could quote key material.
                    let json = serde_json::from_slice(v.expose()).map_err(|_| {
                        Fail::new(
                            ErrorKind::Config,
                            format!("the credentials stored at {r} are not JSON"),
                        )
                    })?;
                    st.kind = Some(CredKind::of_json(&json));
                    build_json(json, &r.to_string(), &self.identity, Origin::Foreign)?
                }
                other => build(other, &self.identity)?,
            };
            st.creds = Some(creds);
        }
        let Some(creds) = st.creds.as_ref() else {
            return Err(Fail::new(
                ErrorKind::Config,
                "internal error: no credentials",
            ));
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let got = tokio::time::timeout(left, creds.headers(http::Extensions::new())).await;
        let headers = match got {
            Err(_) => {
                return Err(Fail::new(
                    ErrorKind::TimedOut,
                    format!(
                        "getting a Google access token for {} took too long; check the token \
                         endpoint or metadata server is reachable, or raise --timeout",
                        self.identity
                    ),
                ));
            }
            Ok(Err(e)) => {
                let kind = st.kind.unwrap_or(self.kind);
                return Err(token_failure(&e, &self.identity, &self.source, kind));
            }
            Ok(Ok(CacheableResource::New { data, .. })) => data,
            Ok(Ok(CacheableResource::NotModified)) => {
                return Err(Fail::new(
                    ErrorKind::Config,
                    "internal error: the credentials returned no headers",
                ));
            }
        };
        st.generation += 1;
        st.headers = Some(headers.clone());
        Ok(Authorized {
            headers,
            generation: st.generation,
        })
    }
}

/// Builds the credentials object; reads files, makes no network call.
fn build(source: &Source, identity: &str) -> Result<Credentials, Fail> {
    use google_cloud_auth::credentials as c;
    match source {
        Source::Adc => c::Builder::default()
            .build()
            .map_err(|e| build_failure(&e, identity)),
        Source::KeyFile(path) => {
            let json = read_json(path).map_err(|m| Fail::new(ErrorKind::Config, m))?;
            build_json(json, &path.display().to_string(), identity, Origin::Foreign)
        }
        Source::Gcloud(path) => {
            let json = read_json(path).map_err(|m| Fail::new(ErrorKind::Config, m))?;
            build_json(json, &path.display().to_string(), identity, Origin::Own)
        }
        Source::Stored(r) => Err(Fail::new(
            ErrorKind::Config,
            format!("internal error: {r} is fetched first"),
        )),
    }
}

/// Who chose a credentials file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The user's own setup: `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file.
    Own,
    /// A command line or client config (`--vault-keyFilename`,
    /// `VAULT_KEYFILENAME`, `--vault-credentialsRef`): checked by [`super::foreign`].
    Foreign,
}

/// Credentials of the type a credentials JSON (from `origin`) declares.
fn build_json(
    json: Value,
    origin: &str,
    identity: &str,
    chosen_by: Origin,
) -> Result<Credentials, Fail> {
    use google_cloud_auth::credentials as c;
    if chosen_by == Origin::Foreign
        && let Err(why) = super::foreign::check(&json)
    {
        return Err(Fail::new(
            ErrorKind::Config,
            format!(
                "{origin}: refusing credentials named on the command line or in a client config: \
                 {why}; use GOOGLE_APPLICATION_CREDENTIALS for a file you trust"
            ),
        ));
    }
    let built = match json.get("type").and_then(Value::as_str).unwrap_or("") {
        "service_account" => c::service_account::Builder::new(json).build(),
        "authorized_user" => c::user_account::Builder::new(json).build(),
        "impersonated_service_account" => c::impersonated::Builder::new(json).build(),
        "external_account" => c::external_account::Builder::new(json).build(),
        other => {
            return Err(Fail::new(
                ErrorKind::Config,
                format!(
                    "{origin}: credentials of type {other:?} are not supported here \
                     (service_account, authorized_user, impersonated_service_account, \
                     external_account)"
                ),
            ));
        }
    };
    built.map_err(|e| build_failure(&e, identity))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the credentials file {}: {e}", path.display()))?;
    // The parse error is not shown: it could quote key material.
    serde_json::from_str(&text)
        .map_err(|_| format!("the credentials file {} is not JSON", path.display()))
}

/// Which identity a source stands for, as a user would recognize it.
fn describe_source(source: &Source, env: &dyn Fn(&str) -> Option<String>) -> String {
    let file = |p: &Path, origin: &str| match read_json(p) {
        Ok(v) => format!("{} ({origin} {})", describe_json(&v), p.display()),
        Err(_) => format!("the credentials in {} ({origin})", p.display()),
    };
    match source {
        Source::KeyFile(p) => file(p, "key file"),
        Source::Gcloud(p) => file(p, "gcloud application-default credentials"),
        Source::Stored(r) => format!("the credentials stored at {r}"),
        Source::Adc => {
            if let Some(p) = env("GOOGLE_APPLICATION_CREDENTIALS").filter(|v| !v.is_empty()) {
                return file(Path::new(&p), "GOOGLE_APPLICATION_CREDENTIALS");
            }
            if let Some(p) = gcloud_adc_file(env).filter(|p| p.is_file()) {
                return file(&p, "gcloud application-default credentials");
            }
            match env("GCE_METADATA_HOST").filter(|v| !v.is_empty()) {
                Some(h) => format!("the metadata server's service account (GCE_METADATA_HOST {h})"),
                None => "the metadata server's service account (no GOOGLE_APPLICATION_CREDENTIALS \
                         or gcloud application-default credentials found)"
                    .to_string(),
            }
        }
    }
}

/// The kind of credential a source stands for, from its file where it has one.
fn kind_of_source(source: &Source, env: &dyn Fn(&str) -> Option<String>) -> CredKind {
    let file = |p: &Path| read_json(p).map_or(CredKind::Unknown, |v| CredKind::of_json(&v));
    match source {
        Source::KeyFile(p) | Source::Gcloud(p) => file(p),
        Source::Stored(_) => CredKind::Unknown,
        Source::Adc => {
            if let Some(p) = env("GOOGLE_APPLICATION_CREDENTIALS").filter(|v| !v.is_empty()) {
                return file(Path::new(&p));
            }
            match gcloud_adc_file(env).filter(|p| p.is_file()) {
                Some(p) => file(&p),
                None => CredKind::Metadata,
            }
        }
    }
}

/// gcloud's ADC file: `$CLOUDSDK_CONFIG/application_default_credentials.json`,
/// else `~/.config/gcloud/application_default_credentials.json`.
pub(crate) fn gcloud_adc_file(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    const FILE: &str = "application_default_credentials.json";
    if let Some(dir) = env("CLOUDSDK_CONFIG").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join(FILE));
    }
    env("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".config/gcloud").join(FILE))
}

fn describe_json(v: &Value) -> String {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let impersonated = impersonation_target(s("service_account_impersonation_url"));
    match s("type") {
        "service_account" if !s("client_email").is_empty() => {
            format!("service account {}", s("client_email"))
        }
        "authorized_user" => "your gcloud user account".to_string(),
        "impersonated_service_account" => match impersonated {
            Some(t) => format!("service account {t} (impersonated)"),
            None => "an impersonated service account".to_string(),
        },
        "external_account" => match impersonated {
            Some(t) => {
                format!("service account {t} (impersonated through workload identity federation)")
            }
            None => format!("the federated identity of audience {}", s("audience")),
        },
        other => format!("credentials of type {other:?}"),
    }
}

/// `…/serviceAccounts/EMAIL:generateAccessToken` -> `EMAIL`.
fn impersonation_target(url: &str) -> Option<String> {
    let rest = url.split("/serviceAccounts/").nth(1)?;
    let email = rest.split(':').next()?;
    (!email.is_empty()).then(|| email.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_name_the_account_never_the_key() {
        let sa = serde_json::json!({"type": "service_account", "client_email": "a@p.iam.gserviceaccount.com", "private_key": "KEY"});
        assert_eq!(
            describe_json(&sa),
            "service account a@p.iam.gserviceaccount.com"
        );
        let imp = serde_json::json!({"type": "impersonated_service_account",
            "service_account_impersonation_url": "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken"});
        assert_eq!(
            describe_json(&imp),
            "service account t@p.iam.gserviceaccount.com (impersonated)"
        );
        let fed =
            serde_json::json!({"type": "external_account", "audience": "//iam.googleapis.com/x"});
        assert!(describe_json(&fed).contains("//iam.googleapis.com/x"));
        let none = |_: &str| None;
        assert!(describe_source(&Source::Adc, &none).starts_with("the metadata server"));
    }

    #[test]
    fn gcloud_file_follows_cloudsdk_config() {
        let env = |k: &str| match k {
            "CLOUDSDK_CONFIG" => Some("/cfg".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            gcloud_adc_file(&env).unwrap(),
            PathBuf::from("/cfg/application_default_credentials.json")
        );
        let env = |k: &str| (k == "HOME").then(|| "/home/u".to_string());
        assert_eq!(
            gcloud_adc_file(&env).unwrap(),
            PathBuf::from("/home/u/.config/gcloud/application_default_credentials.json")
        );
    }
}
