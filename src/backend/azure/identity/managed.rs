//! Managed identity tokens: the App Service / Container Apps / Functions
//! endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), the older
//! `MSI_ENDPOINT` + `MSI_SECRET`, and the instance metadata service (IMDS)
//! of virtual machines and AKS (`AZURE_POD_IDENTITY_AUTHORITY_HOST`
//! overrides its host, as in Azure's SDKs).
//!
//! Owns the requests and what counts as "no managed identity here" (IMDS not
//! answering, or answering that no identity is assigned), so the chain can
//! move on. Must not put the endpoint's header secret or a token into an error.

use reqwest::Url;

use super::{Attempt, Ctx};
use crate::backend::ErrorKind;
use crate::backend::rest::{self, Fail, Peer, host_of, one_line};
use crate::secret::SecretValue;

/// IMDS on Azure virtual machines.
const IMDS_HOST: &str = "http://169.254.169.254";
const IMDS_PATH: &str = "metadata/identity/oauth2/token";

#[derive(Debug)]
pub(crate) enum Endpoint {
    /// App Service, Container Apps, Functions (API version 2019-08-01).
    AppService { url: Url, header: SecretValue },
    /// Older App Service and Cloud Shell (API version 2017-09-01).
    Msi {
        url: Url,
        secret: Option<SecretValue>,
    },
    /// The instance metadata service.
    Imds { url: Url },
}

impl Endpoint {
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Endpoint, String> {
        let url = |v: String, var: &str| {
            let u = Url::parse(&v).map_err(|e| format!("{var} is not a URL ({e})"))?;
            checked_scheme(u, var)
        };
        if let Some(e) = env("IDENTITY_ENDPOINT") {
            let header = env("IDENTITY_HEADER")
                .ok_or("IDENTITY_ENDPOINT is set but IDENTITY_HEADER is not")?;
            return Ok(Endpoint::AppService {
                url: url(e, "IDENTITY_ENDPOINT")?,
                header: SecretValue::from_string(header),
            });
        }
        if let Some(e) = env("MSI_ENDPOINT") {
            return Ok(Endpoint::Msi {
                url: url(e, "MSI_ENDPOINT")?,
                secret: env("MSI_SECRET").map(SecretValue::from_string),
            });
        }
        let host =
            env("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| IMDS_HOST.to_string());
        // IMDS speaks plain http on a link-local address, so http is allowed there.
        let mut base = url(host, "AZURE_POD_IDENTITY_AUTHORITY_HOST")?;
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let url = base
            .join(IMDS_PATH)
            .map_err(|e| format!("bad IMDS URL: {e}"))?;
        Ok(Endpoint::Imds { url })
    }

    pub fn describe(&self) -> String {
        match self {
            Endpoint::AppService { url, .. } => format!("IDENTITY_ENDPOINT {}", host_of(url)),
            Endpoint::Msi { url, .. } => format!("MSI_ENDPOINT {}", host_of(url)),
            Endpoint::Imds { url } => format!("instance metadata service at {}", host_of(url)),
        }
    }
}

/// A managed identity endpoint's URL: https, or plain http only to a
/// loopback or link-local host (where these services live), so the
/// identity header and the token never cross a network in cleartext.
fn checked_scheme(u: Url, var: &str) -> Result<Url, String> {
    let host = u.host_str().unwrap_or("").to_string();
    match u.scheme() {
        _ if host.is_empty() => Err(format!("{var} has no host")),
        "https" => Ok(u),
        "http" if rest::is_local_host(&host) => Ok(u),
        "http" => Err(format!(
            "{var} uses plain http to {host}: only https is allowed, except to a loopback or \
             link-local host"
        )),
        other => Err(format!(
            "{var} has scheme {other:?}; write http(s)://HOST[:PORT]/..."
        )),
    }
}

/// One managed identity request: where, with which parameters and header.
struct Call<'a> {
    http: &'a crate::backend::rest::Http,
    url: &'a Url,
    query: Vec<(&'static str, String)>,
    header: Option<(&'static str, &'a SecretValue)>,
}

fn call_for<'a>(
    ctx: &Ctx<'a>,
    ep: &'a Endpoint,
    client_id: Option<&str>,
    resource: &str,
) -> Call<'a> {
    let r = ("resource", resource.to_string());
    let (http, url, version, header, id_key) = match ep {
        Endpoint::AppService { url, header } => (
            ctx.http,
            url,
            "2019-08-01",
            Some(("x-identity-header", header)),
            "client_id",
        ),
        Endpoint::Msi { url, secret } => (
            ctx.http,
            url,
            "2017-09-01",
            secret.as_ref().map(|s| ("secret", s)),
            "clientid",
        ),
        Endpoint::Imds { url } => (ctx.probe, url, "2018-02-01", None, "client_id"),
    };
    let mut query = vec![("api-version", version.to_string()), r];
    if let Some(id) = client_id {
        query.push((id_key, id.to_string()));
    }
    Call {
        http,
        url,
        query,
        header,
    }
}

fn headers(call: &Call<'_>, imds: bool) -> Result<reqwest::header::HeaderMap, Fail> {
    let mut headers = reqwest::header::HeaderMap::new();
    if imds {
        headers.insert(
            "metadata",
            reqwest::header::HeaderValue::from_static("true"),
        );
    }
    if let Some((name, v)) = call.header {
        let mut hv = reqwest::header::HeaderValue::from_bytes(v.expose()).map_err(|_| {
            Fail::new(
                ErrorKind::Config,
                format!("the {name} value cannot be sent as a header"),
            )
        })?;
        hv.set_sensitive(true);
        headers.insert(name, hv);
    }
    Ok(headers)
}

/// A token for `resource` from the managed identity endpoint.
pub(crate) async fn token(
    ctx: &Ctx<'_>,
    ep: &Endpoint,
    client_id: Option<&str>,
    resource: &str,
    who: &str,
) -> Result<super::entra::Token, Attempt> {
    let call = call_for(ctx, ep, client_id, resource);
    let is_imds = matches!(ep, Endpoint::Imds { .. });
    let headers = headers(&call, is_imds)?;
    let peer = Peer {
        service: "the managed identity endpoint",
        host: host_of(call.url),
    };
    let send = |c: &reqwest::Client| {
        c.get(call.url.clone())
            .query(&call.query)
            .headers(headers.clone())
    };
    let a = match call.http.send(send, ctx.deadline, &peer).await {
        Ok(a) => a,
        // No IMDS answering here: not an Azure VM; the chain moves on.
        Err(f) if is_imds => {
            return Err(Attempt::Unavailable(format!(
                "managed identity: no instance metadata service answered at {} ({})",
                peer.host, f.message
            )));
        }
        Err(f) => return Err(Attempt::Failed(f)),
    };
    if is_imds && (a.status == 404 || serde_json::from_slice::<serde_json::Value>(&a.body).is_err())
    {
        // Another cloud's metadata service (AWS, GCP) at the same address.
        return Err(Attempt::Unavailable(format!(
            "managed identity: {} answered (HTTP {}) but is not Azure's instance metadata service",
            peer.host, a.status
        )));
    }
    if a.ok() {
        return super::entra::access_token(&a.body).ok_or_else(|| {
            Attempt::Failed(Fail::new(
                ErrorKind::Unreachable,
                format!("{peer} answered without an access token"),
            ))
        });
    }
    let said = message(&a.body);
    if is_imds && a.status == 400 {
        // "Identity not found": a VM without an assigned identity.
        return Err(Attempt::Unavailable(format!(
            "managed identity: the instance metadata service has no identity for this machine{said}"
        )));
    }
    let kind = if rest::retryable(a.status) {
        ErrorKind::Unreachable
    } else {
        ErrorKind::Denied
    };
    Err(Attempt::Failed(Fail::new(
        kind,
        format!("{peer} refused a token for {who} (HTTP {}){said}", a.status),
    )))
}

fn message(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = v
        .get("error_description")
        .or_else(|| v.get("message"))
        .or_else(|| v.get("error"))
        .and_then(|m| m.as_str())
        .map(|m| one_line(m, 200))
        .unwrap_or_default();
    if text.is_empty() {
        text
    } else {
        format!(" ({text})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_from_the_environment() {
        let env = |k: &str| match k {
            "IDENTITY_ENDPOINT" => Some("http://127.0.0.1:41/msi/token".to_string()),
            "IDENTITY_HEADER" => Some("h".to_string()),
            _ => None,
        };
        let e = Endpoint::from_env(&env).unwrap();
        assert!(matches!(e, Endpoint::AppService { .. }));
        assert!(!format!("{e:?}").contains("\"h\""));
        let env = |k: &str| {
            (k == "AZURE_POD_IDENTITY_AUTHORITY_HOST").then(|| "http://127.0.0.1:9".to_string())
        };
        match Endpoint::from_env(&env).unwrap() {
            Endpoint::Imds { url } => {
                assert_eq!(
                    url.as_str(),
                    "http://127.0.0.1:9/metadata/identity/oauth2/token"
                )
            }
            other => panic!("{other:?}"),
        }
        for (var, bad) in [
            ("IDENTITY_ENDPOINT", "http://collector.example/msi/token"),
            ("MSI_ENDPOINT", "http://10.0.0.5/msi/token"),
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://imds.example"),
            ("AZURE_POD_IDENTITY_AUTHORITY_HOST", "ftp://127.0.0.1"),
        ] {
            let env = |k: &str| match k {
                k if k == var => Some(bad.to_string()),
                "IDENTITY_HEADER" => Some("h".to_string()),
                _ => None,
            };
            let e = Endpoint::from_env(&env).unwrap_err();
            assert!(e.contains(var), "{var}={bad}: {e}");
        }
        let env = |k: &str| match k {
            "IDENTITY_ENDPOINT" => Some("https://msi.example/token".to_string()),
            "IDENTITY_HEADER" => Some("h".to_string()),
            _ => None,
        };
        assert!(Endpoint::from_env(&env).is_ok());
        let none = |_: &str| None;
        match Endpoint::from_env(&none).unwrap() {
            Endpoint::Imds { url } => assert!(url.as_str().starts_with("http://169.254.169.254/")),
            other => panic!("{other:?}"),
        }
    }
}
