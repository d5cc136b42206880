//! The Secret Manager REST API (v1), as documented: access a version, add a
//! version, create, get, list and delete secrets.
//!
//! Owns the request shapes, the payload checks (base64, CRC32C when the
//! answer carries one, UTF-8) and the mapping of Google's error answers to
//! [`ErrorKind`]s with one-line messages naming the resource, the permission
//! and the identity. Must not put a token, a payload or a response body into
//! an error: only Google's own one-line `error.message`.

use std::time::{Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use reqwest::{Method, Url};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::auth::Auth;
use super::crc32c::crc32c;
use crate::backend::ErrorKind;
use crate::backend::rest::{
    Answer, Fail, Http, Peer, Repeat, host_of, one_line, rfc3339, secret_body,
};
use crate::secret::SecretValue;

/// The services this module calls, as messages name them.
pub(crate) const SECRET_MANAGER: &str = "GCP Secret Manager";
pub(crate) const IAM_CREDENTIALS: &str = "GCP IAM Credentials";

/// List pages are bounded: 50 × 250 secrets.
const MAX_PAGES: usize = 50;
const PAGE_SIZE: &str = "250";

/// What a call needs, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Action {
    /// The IAM permission, e.g. `secretmanager.versions.access`.
    pub permission: &'static str,
    /// What is addressed, e.g. "secret version".
    pub noun: &'static str,
}

/// IAM Credentials `generateAccessToken` (impersonation).
pub(crate) const GET_ACCESS_TOKEN: Action = Action {
    permission: "iam.serviceAccounts.getAccessToken",
    noun: "service account",
};

pub(crate) const ACCESS: Action = Action {
    permission: "secretmanager.versions.access",
    noun: "secret version",
};
const ADD_VERSION: Action = Action {
    permission: "secretmanager.versions.add",
    noun: "secret",
};
const CREATE: Action = Action {
    permission: "secretmanager.secrets.create",
    noun: "project",
};
const GET_SECRET: Action = Action {
    permission: "secretmanager.secrets.get",
    noun: "secret",
};
const GET_VERSION: Action = Action {
    permission: "secretmanager.versions.get",
    noun: "secret version",
};
const LIST: Action = Action {
    permission: "secretmanager.secrets.list",
    noun: "project",
};
const DELETE: Action = Action {
    permission: "secretmanager.secrets.delete",
    noun: "secret",
};

/// One endpoint and one credential: every call of a group.
pub(crate) struct Api<'a> {
    /// The service's name for messages: [`SECRET_MANAGER`] or [`IAM_CREDENTIALS`].
    pub service: &'static str,
    pub http: &'a Http,
    pub endpoint: &'a Url,
    pub auth: &'a Auth,
    pub deadline: Instant,
}

impl Api<'_> {
    fn peer(&self) -> Peer {
        Peer {
            service: self.service,
            host: host_of(self.endpoint),
        }
    }

    /// Calls `METHOD {endpoint}v1/{path}`; a 401 gets one fresh token and one
    /// more try. Returns the 2xx answer, or the failure the answer means.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Bytes>,
        action: Action,
        name: &str,
    ) -> Result<Answer, Fail> {
        let url = api_url(self.endpoint, path)?;
        let peer = self.peer();
        // A POST adds a version or creates a secret: never sent twice.
        let repeat = if method == Method::POST {
            Repeat::Never
        } else {
            Repeat::Safe
        };
        let mut auth = self.auth.headers(self.deadline).await?;
        loop {
            let send = |c: &reqwest::Client| {
                let mut r = c
                    .request(method.clone(), url.clone())
                    .headers(auth.headers.clone());
                if !query.is_empty() {
                    r = r.query(query);
                }
                if let Some(b) = &body {
                    r = r
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(b.clone());
                }
                r
            };
            let answer = self
                .http
                .send_with(send, repeat, self.deadline, &peer)
                .await?;
            if answer.ok() {
                return Ok(answer);
            }
            if answer.status == 401
                && let Some(fresh) = self.auth.refresh(auth.generation, self.deadline).await?
            {
                auth = fresh;
                continue;
            }
            return Err(status_fail(
                &answer,
                action,
                name,
                self.auth.identity(),
                &peer,
            ));
        }
    }

    /// `versions/V:access`: the payload as a value.
    pub async fn access(&self, version_name: &str) -> Result<SecretValue, Fail> {
        let path = format!("{version_name}:access");
        let a = self
            .call(Method::GET, &path, &[], None, ACCESS, version_name)
            .await?;
        payload(&a)
    }

    /// `secrets/S:addVersion`; `Ok(false)` when the secret does not exist.
    pub async fn add_version(&self, secret_name: &str, value: &SecretValue) -> Result<bool, Fail> {
        // Built by hand so the only copies of the value are zeroized ones.
        let data = Zeroizing::new(B64.encode(value.expose()));
        let mut body = Zeroizing::new(Vec::with_capacity(data.len() + 64));
        body.extend_from_slice(b"{\"payload\":{\"data\":\"");
        body.extend_from_slice(data.as_bytes());
        body.extend_from_slice(
            format!("\",\"dataCrc32c\":\"{}\"}}}}", crc32c(value.expose())).as_bytes(),
        );
        let path = format!("{secret_name}:addVersion");
        match self
            .call(
                Method::POST,
                &path,
                &[],
                Some(secret_body(body)),
                ADD_VERSION,
                secret_name,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(f) if f.kind == ErrorKind::NotFound => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// `projects/P/secrets?secretId=S` with automatic replication; `Ok(false)`
    /// when it exists already.
    pub async fn create(&self, project: &str, secret: &str) -> Result<bool, Fail> {
        let body = json!({"replication": {"automatic": {}}}).to_string();
        let path = format!("projects/{project}/secrets");
        let name = format!("projects/{project}");
        match self
            .call(
                Method::POST,
                &path,
                &[("secretId", secret)],
                Some(Bytes::from(body.into_bytes())),
                CREATE,
                &name,
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(f) if f.kind == ErrorKind::Unsupported => Ok(false),
            Err(f) => Err(f),
        }
    }

    /// `DELETE secrets/S`: the secret and all its versions, for good.
    pub async fn delete(&self, secret_name: &str) -> Result<(), Fail> {
        self.call(Method::DELETE, secret_name, &[], None, DELETE, secret_name)
            .await
            .map(|_| ())
    }

    /// The secret's creation time.
    pub async fn secret_created(&self, secret_name: &str) -> Result<Option<SystemTime>, Fail> {
        let a = self
            .call(Method::GET, secret_name, &[], None, GET_SECRET, secret_name)
            .await?;
        let v: Value = json_of(&a)?;
        Ok(v.get("createTime")
            .and_then(Value::as_str)
            .and_then(rfc3339))
    }

    /// The latest enabled version: its number and creation time.
    pub async fn latest_version(
        &self,
        secret_name: &str,
    ) -> Result<(Option<String>, Option<SystemTime>), Fail> {
        let name = format!("{secret_name}/versions/latest");
        let a = self
            .call(Method::GET, &name, &[], None, GET_VERSION, &name)
            .await?;
        let v: Value = json_of(&a)?;
        let id = v
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| n.rsplit('/').next())
            .map(str::to_string);
        Ok((
            id,
            v.get("createTime")
                .and_then(Value::as_str)
                .and_then(rfc3339),
        ))
    }

    /// Every secret of `project` whose id starts with `prefix`: (id, created).
    pub async fn list(
        &self,
        project: &str,
        prefix: &str,
    ) -> Result<Vec<(String, Option<SystemTime>)>, Fail> {
        let path = format!("projects/{project}/secrets");
        let name = format!("projects/{project}");
        let mut out = Vec::new();
        let mut token = String::new();
        for _ in 0..MAX_PAGES {
            let mut q = vec![("pageSize", PAGE_SIZE)];
            if !token.is_empty() {
                q.push(("pageToken", token.as_str()));
            }
            let a = self.call(Method::GET, &path, &q, None, LIST, &name).await?;
            let v: Value = json_of(&a)?;
            for s in v
                .get("secrets")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(id) = s
                    .get("name")
                    .and_then(Value::as_str)
                    .and_then(|n| n.rsplit('/').next())
                else {
                    continue;
                };
                if id.starts_with(prefix) {
                    let created = s
                        .get("createTime")
                        .and_then(Value::as_str)
                        .and_then(rfc3339);
                    out.push((id.to_string(), created));
                }
            }
            match v.get("nextPageToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => break,
            }
        }
        out.sort();
        Ok(out)
    }
}

/// `{endpoint}v1/{path}`, each segment of `path` percent-encoded on its own
/// (a `..` segment is dropped, never resolved), so a name cannot move the
/// request to another path of the endpoint.
fn api_url(endpoint: &Url, path: &str) -> Result<Url, Fail> {
    let mut url = endpoint.clone();
    url.path_segments_mut()
        .map_err(|()| Fail::new(ErrorKind::Config, "the endpoint cannot take an API path"))?
        .pop_if_empty()
        .extend(std::iter::once("v1").chain(path.split('/')));
    Ok(url)
}

fn json_of(a: &Answer) -> Result<Value, Fail> {
    serde_json::from_slice(&a.body).map_err(|_| {
        Fail::new(
            ErrorKind::Unreachable,
            "the endpoint answered with something that is not JSON; check it is Secret Manager",
        )
    })
}

/// `{"payload": {"data": BASE64, "dataCrc32c": "N"}}` -> the value.
fn payload(a: &Answer) -> Result<SecretValue, Fail> {
    #[derive(serde::Deserialize)]
    struct Access {
        payload: Option<Payload>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Payload {
        data: Option<String>,
        data_crc32c: Option<String>,
    }
    let parsed: Access = serde_json::from_slice(&a.body).map_err(|_| {
        Fail::new(
            ErrorKind::Unreachable,
            "the endpoint answered with something that is not an AccessSecretVersion response",
        )
    })?;
    // Secret Manager refuses empty payloads, so an answer without data is not
    // an empty secret: it is a broken or impostor endpoint.
    let Some(Payload {
        data: Some(data),
        data_crc32c,
    }) = parsed.payload
    else {
        return Err(Fail::new(
            ErrorKind::BadData,
            "the answer carries no payload data (Secret Manager never stores an empty \
             payload); check the endpoint is Secret Manager",
        ));
    };
    let data = Zeroizing::new(data);
    let bytes = Zeroizing::new(
        B64.decode(data.as_bytes())
            .map_err(|_| Fail::new(ErrorKind::BadData, "the payload is not valid base64"))?,
    );
    if let Some(want) = data_crc32c.as_deref() {
        let ok = want
            .parse::<u64>()
            .is_ok_and(|w| w == u64::from(crc32c(&bytes)));
        if !ok {
            return Err(Fail::new(
                ErrorKind::BadData,
                "the payload failed its CRC32C check (damaged on the way); try again",
            ));
        }
    }
    if std::str::from_utf8(&bytes).is_err() {
        return Err(Fail::new(
            ErrorKind::BadData,
            "the secret version holds binary data, not UTF-8 text, and an environment variable \
             can only hold text; store it base64-encoded",
        ));
    }
    Ok(SecretValue::from_slice(&bytes))
}

/// Google's `error.status` and `error.message`, if the body has them.
fn google_error(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let e = v.get("error");
    let s = |k: &str| {
        e.and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .map(|m| one_line(m, 200))
            .filter(|m| !m.is_empty())
    };
    (s("status"), s("message"))
}

/// An error answer as a one-line failure.
pub(crate) fn status_fail(
    a: &Answer,
    action: Action,
    name: &str,
    identity: &str,
    peer: &Peer,
) -> Fail {
    let (status, message) = google_error(&a.body);
    let said = message
        .map(|m| format!(" (Google said: {m})"))
        .unwrap_or_default();
    let code = a.status;
    match (code, status.as_deref()) {
        (409, _) | (_, Some("ALREADY_EXISTS")) => Fail::new(
            ErrorKind::Unsupported,
            format!("{name} exists already{said}"),
        ),
        (404, _) | (_, Some("NOT_FOUND")) => Fail::new(
            ErrorKind::NotFound,
            format!("no {} {name}{said}", action.noun),
        ),
        (403, _) | (_, Some("PERMISSION_DENIED")) => Fail::new(
            ErrorKind::Denied,
            format!(
                "{identity} may not use {name}: it needs {}{said}",
                action.permission
            ),
        ),
        (401, _) | (_, Some("UNAUTHENTICATED")) => Fail::new(
            ErrorKind::Denied,
            format!(
                "{} refused the access token of {identity}{said}",
                peer.service
            ),
        ),
        (400, Some("FAILED_PRECONDITION")) => Fail::new(
            ErrorKind::Config,
            format!("{name} cannot be used now{said}; enable the version or name another"),
        ),
        (c, _) if crate::backend::rest::retryable(c) => Fail::new(
            ErrorKind::Unreachable,
            format!("{peer} is unavailable (HTTP {c}){said}; retry later"),
        ),
        (c, _) => Fail::new(
            ErrorKind::Config,
            format!("{peer} rejected the request for {name} (HTTP {c}){said}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            headers: HeaderMap::new(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        }
    }

    #[test]
    fn api_paths_are_encoded_per_segment() {
        let base = Url::parse("https://h.example/pre/").unwrap();
        assert_eq!(
            api_url(&base, "projects/proj-1/secrets/s/versions/latest:access")
                .unwrap()
                .as_str(),
            "https://h.example/pre/v1/projects/proj-1/secrets/s/versions/latest:access"
        );
        let u = api_url(&base, "projects/../secrets/a?b#c").unwrap();
        assert_eq!(
            u.as_str(),
            "https://h.example/pre/v1/projects/secrets/a%3Fb%23c"
        );
    }

    #[test]
    fn payloads_are_checked() {
        let ok = answer(
            200,
            r#"{"payload":{"data":"aGVsbG8=","dataCrc32c":"2591144780"}}"#,
        );
        assert_eq!(payload(&ok).unwrap().expose(), b"hello");
        let no_crc = answer(200, r#"{"payload":{"data":"aGVsbG8="}}"#);
        assert_eq!(payload(&no_crc).unwrap().expose(), b"hello");
        let bad_crc = answer(200, r#"{"payload":{"data":"aGVsbG8=","dataCrc32c":"1"}}"#);
        assert_eq!(payload(&bad_crc).unwrap_err().kind, ErrorKind::BadData);
        let binary = answer(200, r#"{"payload":{"data":"//4="}}"#);
        assert_eq!(payload(&binary).unwrap_err().kind, ErrorKind::BadData);
        for missing in [r#"{"payload":{}}"#, "{}", r#"{"payload":null}"#] {
            let e = payload(&answer(200, missing)).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadData, "{missing}");
        }
    }

    #[test]
    fn errors_map_to_kinds_and_quote_only_the_message() {
        let peer = Peer {
            service: SECRET_MANAGER,
            host: "h".into(),
        };
        let f = |status, body: &str| {
            status_fail(
                &answer(status, body),
                ACCESS,
                "projects/p/secrets/s/versions/1",
                "service account a@b",
                &peer,
            )
        };
        let denied = f(
            403,
            r#"{"error":{"code":403,"status":"PERMISSION_DENIED","message":"Permission denied"}}"#,
        );
        assert_eq!(denied.kind, ErrorKind::Denied);
        assert!(
            denied.message.contains("service account a@b"),
            "{}",
            denied.message
        );
        assert!(denied.message.contains("secretmanager.versions.access"));
        assert_eq!(f(404, "{}").kind, ErrorKind::NotFound);
        assert_eq!(f(503, "not json").kind, ErrorKind::Unreachable);
        assert_eq!(
            f(
                400,
                r#"{"error":{"status":"FAILED_PRECONDITION","message":"is in DISABLED state"}}"#
            )
            .kind,
            ErrorKind::Config
        );
    }
}
