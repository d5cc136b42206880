//! Paths inside Vault: which engine serves a reference (KV v1, KV v2 or
//! another, e.g. a dynamic-secret engine), and the read, write, metadata and
//! list calls for each.
//!
//! Owns the engine detection (`sys/internal/ui/mounts/PATH`, as the Vault CLI
//! does) and the KV v2 `data/` and `metadata/` path rewriting. Must not apply
//! selectors (the resolver does) or keep the values it returns.

use std::time::{Duration, SystemTime};

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::auth::Session;
use super::client::{Cap, Fail};
use crate::backend::ErrorKind;
use crate::secret::SecretValue;

/// The engine behind a mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Engine {
    KvV1,
    KvV2,
    /// Any other engine, by type (`pki`, `database`, ...): read or written as is.
    Other(String),
}

/// Where a location lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    /// With a trailing slash, e.g. `secret/`.
    pub path: String,
    pub engine: Engine,
}

impl Mount {
    /// The location relative to the mount.
    pub fn rest<'a>(&self, location: &'a str) -> &'a str {
        location
            .strip_prefix(&self.path)
            .or_else(|| location.strip_prefix(self.path.trim_end_matches('/')))
            .unwrap_or(location)
            .trim_start_matches('/')
    }

    pub fn describe(&self) -> String {
        match &self.engine {
            Engine::KvV1 => format!("KV v1 mount {}", self.path),
            Engine::KvV2 => format!("KV v2 mount {}", self.path),
            Engine::Other(t) => format!("{t} mount {}", self.path),
        }
    }
}

/// A lease a read returned.
#[derive(Debug, Clone)]
pub(crate) struct LeaseInfo {
    /// When the request was sent: the TTL counts from about then.
    pub obtained: std::time::Instant,
    pub id: String,
    pub ttl: Duration,
    pub renewable: bool,
}

/// One reference's request, already checked.
pub(crate) struct Request<'a> {
    pub location: &'a str,
    pub namespace: Option<&'a str>,
    pub version: Option<u64>,
    /// `?arg.K=V`: sent as a write (e.g. `pki/issue/ROLE?arg.common_name=...`).
    pub args: &'a [(String, String)],
}

async fn call(
    s: &Session,
    method: Method,
    path: &str,
    query: &[(&str, String)],
    ns: Option<&str>,
    body: Option<Value>,
    cap: Cap,
) -> Result<Option<Value>, Fail> {
    let body = match body {
        Some(b) => Some(
            serde_json::to_vec(&b)
                .map_err(|_| Fail::new(ErrorKind::Io, "cannot encode the request body"))?,
        ),
        None => None,
    };
    s.client
        .call(method, path, query, Some(&s.token), ns, body, cap)
        .await
}

/// Finds the mount serving `location` and its engine.
pub(crate) async fn mount(s: &Session, location: &str, ns: Option<&str>) -> Result<Mount, Fail> {
    let path = format!(
        "sys/internal/ui/mounts/{}",
        location.trim_start_matches('/')
    );
    let answer = call(s, Method::GET, &path, &[], ns, None, Cap::Read)
        .await
        .map_err(|f| match f.kind {
            ErrorKind::Denied => Fail::new(
                ErrorKind::Denied,
                format!(
                    "permission denied on {location}, or no secrets engine is mounted there \
                     (Vault does not tell which); check the mount name, that the token is valid \
                     and not expired, and that one of its policies grants access to the path"
                ),
            ),
            ErrorKind::NotFound => Fail::new(
                ErrorKind::NotFound,
                format!("no secrets engine is mounted at {location}; check the mount name"),
            ),
            _ => f,
        })?;
    let data = answer.as_ref().and_then(|a| a.get("data"));
    let mount_path = data
        .and_then(|d| d.get("path"))
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| {
            Fail::new(
                ErrorKind::NotFound,
                format!("no secrets engine is mounted at {location}; check the mount name"),
            )
        })?;
    let kind = data
        .and_then(|d| d.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let version = data
        .and_then(|d| d.get("options"))
        .and_then(|o| o.get("version"))
        .and_then(Value::as_str)
        .unwrap_or("1");
    let engine = match (kind, version) {
        ("kv", "2") => Engine::KvV2,
        ("kv" | "generic", _) => Engine::KvV1,
        (other, _) => Engine::Other(other.to_string()),
    };
    Ok(Mount {
        path: mount_path.to_string(),
        engine,
    })
}

/// Reads a reference: the secret's fields as a JSON object, and its lease if any.
pub(crate) async fn read(
    s: &Session,
    m: &Mount,
    req: &Request<'_>,
) -> Result<(SecretValue, Option<LeaseInfo>), Fail> {
    let rest = m.rest(req.location);
    if rest.is_empty() {
        return Err(Fail::new(
            ErrorKind::Config,
            format!("{} is a mount, not a secret; add the secret's path", m.path),
        ));
    }
    if req.version.is_some() && m.engine != Engine::KvV2 {
        return Err(Fail::new(
            ErrorKind::Config,
            format!(
                "?version= needs a KV v2 mount; {} is a {}",
                m.path,
                m.describe()
            ),
        ));
    }
    if !req.args.is_empty() && matches!(m.engine, Engine::KvV1 | Engine::KvV2) {
        return Err(Fail::new(
            ErrorKind::Config,
            format!(
                "?arg.* parameters are for dynamic-secret engines; {} is a {}",
                m.path,
                m.describe()
            ),
        ));
    }
    let (path, method, body) = match &m.engine {
        Engine::KvV2 => (format!("{}data/{rest}", m.path), Method::GET, None),
        Engine::KvV1 => (format!("{}{rest}", m.path), Method::GET, None),
        Engine::Other(_) if req.args.is_empty() => (format!("{}{rest}", m.path), Method::GET, None),
        Engine::Other(_) => {
            let args: Map<String, Value> = req
                .args
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            (
                format!("{}{rest}", m.path),
                Method::POST,
                Some(Value::Object(args)),
            )
        }
    };
    let cap = if method == Method::POST {
        Cap::Write
    } else {
        Cap::Read
    };
    let query: Vec<(&str, String)> = req
        .version
        .map(|v| ("version", v.to_string()))
        .into_iter()
        .collect();
    let obtained = std::time::Instant::now();
    let answer = match call(s, method, &path, &query, req.namespace, body, cap).await {
        Ok(a) => a,
        Err(f) if f.kind == ErrorKind::NotFound && m.engine == Engine::KvV2 => {
            return Err(deleted_hint(s, m, req)
                .await
                .unwrap_or_else(|| not_found_hint(f, m, req)));
        }
        Err(f) => return Err(not_found_hint(f, m, req)),
    }
    .ok_or_else(|| Fail::new(ErrorKind::NotFound, format!("{path} answered with no data")))?;
    let data = match m.engine {
        Engine::KvV2 => answer.get("data").and_then(|d| d.get("data")),
        _ => answer.get("data"),
    };
    let data = match data {
        Some(d) if !d.is_null() => d,
        _ => {
            let what = match req.version {
                Some(v) => format!("version {v} of {}", req.location),
                None => req.location.to_string(),
            };
            return Err(Fail::new(
                ErrorKind::NotFound,
                format!("{what} has no data (deleted or destroyed); check the version"),
            ));
        }
    };
    let value = serde_json::to_vec(data)
        .map(SecretValue::new)
        .map_err(|_| Fail::new(ErrorKind::BadData, "cannot encode the secret's fields"))?;
    let lease = answer
        .get("lease_id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(|id| LeaseInfo {
            obtained,
            id: id.to_string(),
            ttl: Duration::from_secs(
                answer
                    .get("lease_duration")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            ),
            renewable: answer
                .get("renewable")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    Ok((value, lease))
}

/// Whether a KV v2 secret that answered 404 exists with its version deleted or destroyed.
async fn deleted_hint(s: &Session, m: &Mount, req: &Request<'_>) -> Option<Fail> {
    let path = format!("{}metadata/{}", m.path, m.rest(req.location));
    let a = call(s, Method::GET, &path, &[], req.namespace, None, Cap::Read)
        .await
        .ok()??;
    let version = req
        .version
        .or_else(|| a.pointer("/data/current_version").and_then(Value::as_u64))?;
    let v = a.pointer(&format!("/data/versions/{version}"))?;
    let state = if v.get("destroyed").and_then(Value::as_bool) == Some(true) {
        "destroyed"
    } else if v
        .get("deletion_time")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty())
    {
        "deleted (recover it with `vault kv undelete`)"
    } else {
        return None;
    };
    Some(Fail::new(
        ErrorKind::NotFound,
        format!(
            "version {version} of {} is {state}; check the version",
            req.location
        ),
    ))
}

fn not_found_hint(f: Fail, m: &Mount, req: &Request<'_>) -> Fail {
    if f.kind != ErrorKind::NotFound {
        return f;
    }
    let what = match req.version {
        Some(v) => format!("version {v} of {}", req.location),
        None => req.location.to_string(),
    };
    Fail::new(
        ErrorKind::NotFound,
        format!("no secret at {what} ({}); check the path", m.describe()),
    )
}

/// Writes `value` (a JSON object, or text stored under `field`) to a KV secret.
/// Returns whether the secret was created.
pub(crate) async fn write(
    s: &Session,
    location: &str,
    ns: Option<&str>,
    field: Option<&str>,
    value: &SecretValue,
) -> Result<bool, Fail> {
    let m = mount(s, location, ns).await?;
    let rest = m.rest(location);
    let (data_path, engine) = match m.engine {
        Engine::KvV2 => (format!("{}data/{rest}", m.path), 2),
        Engine::KvV1 => (format!("{}{rest}", m.path), 1),
        Engine::Other(_) => {
            return Err(Fail::new(
                ErrorKind::Unsupported,
                format!("writes go to KV mounts; {} is a {}", m.path, m.describe()),
            ));
        }
    };
    if rest.is_empty() {
        return Err(Fail::new(
            ErrorKind::Config,
            format!("{} is a mount, not a secret; add the secret's path", m.path),
        ));
    }
    // The current fields and version: to merge one field, and to tell created from updated.
    let current = match call(s, Method::GET, &data_path, &[], ns, None, Cap::Read).await {
        Ok(a) => a,
        Err(f) if f.kind == ErrorKind::NotFound => None,
        // A write-only policy cannot read: then whole-object writes still work.
        Err(f) if f.kind == ErrorKind::Denied && field.is_none() => None,
        Err(f) => return Err(f),
    };
    let (mut fields, version) = match (&current, engine) {
        (Some(a), 2) => (
            a.pointer("/data/data").and_then(Value::as_object).cloned(),
            a.pointer("/data/metadata/version").and_then(Value::as_u64),
        ),
        (Some(a), _) => (a.get("data").and_then(Value::as_object).cloned(), None),
        (None, _) => (None, None),
    };
    let existed = fields.is_some();
    let new_fields = match field {
        Some(name) => {
            let text = value.as_str().ok_or_else(|| {
                Fail::new(
                    ErrorKind::BadData,
                    "the value is not UTF-8 text; Vault fields hold text",
                )
            })?;
            let mut obj = fields.take().unwrap_or_default();
            obj.insert(name.to_string(), Value::String(text.to_string()));
            obj
        }
        None => match serde_json::from_slice::<Value>(value.expose()) {
            Ok(Value::Object(obj)) => obj,
            _ => {
                return Err(Fail::new(
                    ErrorKind::BadData,
                    "a Vault secret is a set of fields: give a JSON object, or add ?field=NAME \
                     to store the text under NAME",
                ));
            }
        },
    };
    let body = if engine == 2 {
        let mut b = json!({ "data": new_fields });
        if field.is_some() {
            // Check-and-set: a concurrent writer makes this fail instead of being overwritten.
            b["options"] = json!({ "cas": version.unwrap_or(0) });
        }
        b
    } else {
        Value::Object(new_fields)
    };
    let answer = call(s, Method::POST, &data_path, &[], ns, Some(body), Cap::Write).await?;
    let written = answer
        .as_ref()
        .and_then(|a| a.pointer("/data/version"))
        .and_then(Value::as_u64);
    Ok(match written {
        Some(v) if engine == 2 => v == 1,
        _ => !existed,
    })
}

/// Deletes a KV secret: on v2 the current version (recoverable with `vault kv undelete`).
pub(crate) async fn delete(s: &Session, location: &str, ns: Option<&str>) -> Result<(), Fail> {
    let m = mount(s, location, ns).await?;
    let rest = m.rest(location);
    let path = match m.engine {
        Engine::KvV2 => format!("{}data/{rest}", m.path),
        Engine::KvV1 => format!("{}{rest}", m.path),
        Engine::Other(_) => {
            return Err(Fail::new(
                ErrorKind::Unsupported,
                format!("deletes go to KV mounts; {} is a {}", m.path, m.describe()),
            ));
        }
    };
    call(s, Method::DELETE, &path, &[], ns, None, Cap::Delete).await?;
    Ok(())
}

/// Metadata of a KV v2 secret: created, updated, current version. KV v1 keeps none.
pub(crate) struct Meta {
    pub created: Option<SystemTime>,
    pub updated: Option<SystemTime>,
    pub version: Option<String>,
}

pub(crate) async fn metadata(s: &Session, location: &str, ns: Option<&str>) -> Result<Meta, Fail> {
    let m = mount(s, location, ns).await?;
    metadata_in(s, &m, location, ns).await
}

async fn metadata_in(
    s: &Session,
    m: &Mount,
    location: &str,
    ns: Option<&str>,
) -> Result<Meta, Fail> {
    let rest = m.rest(location);
    match &m.engine {
        Engine::KvV2 => {
            let path = format!("{}metadata/{rest}", m.path);
            let a = call(s, Method::GET, &path, &[], ns, None, Cap::Read)
                .await?
                .unwrap_or(Value::Null);
            let time = |k: &str| {
                a.pointer(&format!("/data/{k}"))
                    .and_then(Value::as_str)
                    .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            };
            Ok(Meta {
                created: time("created_time"),
                updated: time("updated_time"),
                version: a
                    .pointer("/data/current_version")
                    .and_then(Value::as_u64)
                    .map(|v| v.to_string()),
            })
        }
        Engine::KvV1 => {
            // No metadata in KV v1; check it exists.
            call(
                s,
                Method::GET,
                &format!("{}{rest}", m.path),
                &[],
                ns,
                None,
                Cap::Read,
            )
            .await?;
            Ok(Meta {
                created: None,
                updated: None,
                version: None,
            })
        }
        Engine::Other(_) => Err(Fail::new(
            ErrorKind::Unsupported,
            format!(
                "metadata is kept by KV mounts; {} is a {}",
                m.path,
                m.describe()
            ),
        )),
    }
}

/// Lists the secrets under `prefix` (a mount or a folder in it), with KV v2 metadata.
/// Folders end in `/`.
pub(crate) async fn list(
    s: &Session,
    prefix: &str,
    ns: Option<&str>,
) -> Result<Vec<(String, Option<Meta>)>, Fail> {
    let m = mount(s, prefix, ns).await?;
    let rest = m.rest(prefix);
    let folder = if rest.is_empty() || rest.ends_with('/') {
        rest.to_string()
    } else {
        format!("{rest}/")
    };
    let path = match m.engine {
        Engine::KvV2 => format!("{}metadata/{folder}", m.path),
        Engine::KvV1 => format!("{}{folder}", m.path),
        Engine::Other(_) => {
            return Err(Fail::new(
                ErrorKind::Unsupported,
                format!("listing needs a KV mount; {} is a {}", m.path, m.describe()),
            ));
        }
    };
    let keys: Vec<String> = match call(
        s,
        Method::GET,
        &path,
        &[("list", "true".into())],
        ns,
        None,
        Cap::List,
    )
    .await
    {
        Ok(a) => a
            .as_ref()
            .and_then(|a| a.pointer("/data/keys"))
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        Err(f) if f.kind == ErrorKind::NotFound => Vec::new(),
        Err(f) => return Err(f),
    };
    let mut out = Vec::with_capacity(keys.len());
    for k in keys {
        let name = format!("{}{folder}{k}", m.path);
        let meta = if k.ends_with('/') || m.engine != Engine::KvV2 {
            None
        } else {
            Some(metadata_in(s, &m, &name, ns).await?)
        };
        out.push((name, meta));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_split_at_their_mount() {
        let m = Mount {
            path: "team/kv/".into(),
            engine: Engine::KvV2,
        };
        assert_eq!(m.rest("team/kv/app/db"), "app/db");
        assert_eq!(m.rest("team/kv"), "");
        assert_eq!(m.describe(), "KV v2 mount team/kv/");
    }
}
