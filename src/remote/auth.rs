//! The credentials hook of the bridge: what it asks for on each request and
//! tells about refusals.
//!
//! Owns the [`Authorize`] trait (implemented by `oauth::authorizer`; the
//! bridge knows nothing of OAuth), deciding which answers are refusals to
//! report (401, and 403 whose challenge says `insufficient_scope`), and
//! sending one request with the credentials and at most one retry after a
//! refusal the hook answered with new credentials. The `Authorization` value
//! joins the filled `-H` headers, so it goes only to the server's origin
//! (the redirect rule of [`super::http`] never carries them across origins).
//! Must not parse challenges beyond finding `insufficient_scope`, and never
//! shows a header value.

use std::future::Future;
use std::pin::Pin;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use reqwest::{Response, Url};

use super::http::{Failure, Http, Request, Verb};

/// A boxed future, so `dyn Authorize` stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Credentials a bridge asks for on each request and tells about refusals.
pub trait Authorize: Send + Sync {
    /// The `Authorization` value for the next request (None: send none).
    /// An error fails the request with its line (e.g. "run `mcp-warden login URL`").
    fn header(&self) -> BoxFuture<'_, Result<Option<HeaderValue>, Failure>>;

    /// The server answered 401 (or 403 `insufficient_scope`) with these
    /// `WWW-Authenticate` values to a request that carried `sent`: get new
    /// credentials. Ok(true): retry the request once; Ok(false): give up
    /// (the status is reported as without a hook); Err: the request fails
    /// with that line.
    fn refused(
        &self,
        status: StatusCode,
        challenges: Vec<HeaderValue>,
        sent: Option<HeaderValue>,
    ) -> BoxFuture<'_, Result<bool, Failure>>;
}

/// The `WWW-Authenticate` values of a refusal the hook should hear about:
/// every 401, and a 403 one of whose challenges says `insufficient_scope`.
pub fn refusal(resp: &Response) -> Option<Vec<HeaderValue>> {
    let values: Vec<HeaderValue> = resp
        .headers()
        .get_all(header::WWW_AUTHENTICATE)
        .iter()
        .cloned()
        .collect();
    match resp.status() {
        StatusCode::UNAUTHORIZED => Some(values),
        StatusCode::FORBIDDEN
            if values.iter().any(|v| {
                v.to_str()
                    .is_ok_and(|t| t.to_ascii_lowercase().contains("insufficient_scope"))
            }) =>
        {
            Some(values)
        }
        _ => None,
    }
}

/// [`refusal`] of an answer to a request for `server`, only when the answer
/// came from the server's origin: a GET redirected elsewhere that meets a
/// 401 there is not the server's challenge (it would steer discovery).
pub fn refusal_for(server: &Url, resp: &Response) -> Option<Vec<HeaderValue>> {
    let here = super::endpoint::origin_of(resp.url()) == super::endpoint::origin_of(server);
    refusal(resp).filter(|_| here)
}

/// `ours` plus the `Authorization` value (marked sensitive).
fn with_authorization(ours: &HeaderMap, value: Option<&HeaderValue>) -> Option<HeaderMap> {
    let mut v = value?.clone();
    v.set_sensitive(true);
    let mut map = ours.clone();
    map.insert(header::AUTHORIZATION, v);
    Some(map)
}

/// Sends one request with the hook's credentials; after a refusal the hook
/// answered with `true`, sends it once more. Without a hook, as [`Http::send`].
pub async fn send(
    http: &Http,
    hook: Option<&dyn Authorize>,
    url: &Url,
    verb: Verb,
    ours: &HeaderMap,
    transport: HeaderMap,
) -> Result<Response, Failure> {
    let Some(hook) = hook else {
        return http
            .send(Request {
                url,
                verb,
                ours,
                transport,
            })
            .await;
    };
    let mut retried = false;
    loop {
        let value = hook.header().await?;
        let map = with_authorization(ours, value.as_ref());
        let resp = http
            .send(Request {
                url,
                verb: verb.clone(),
                ours: map.as_ref().unwrap_or(ours),
                transport: transport.clone(),
            })
            .await?;
        let Some(challenges) = refusal_for(url, &resp) else {
            return Ok(resp);
        };
        if retried {
            return Err(Failure(format!(
                "{} answered HTTP {} again to new credentials; giving up (the account may lack the permission this request needs)",
                super::endpoint::origin_of(url),
                resp.status().as_u16()
            )));
        }
        if !hook.refused(resp.status(), challenges, value).await? {
            return Ok(resp);
        }
        retried = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::ResponseBuilderExt as _;

    fn answer(status: u16, from: &str) -> Response {
        let r = http::Response::builder()
            .status(status)
            .url(Url::parse(from).expect("url"))
            .header(header::WWW_AUTHENTICATE, r#"Bearer resource_metadata="x""#)
            .body(Vec::<u8>::new())
            .expect("response");
        Response::from(r)
    }

    #[test]
    fn only_the_servers_own_refusals_are_reported() {
        let server = Url::parse("https://mcp.example.com/mcp").expect("url");
        assert!(refusal_for(&server, &answer(401, "https://mcp.example.com/mcp")).is_some());
        // a GET redirected to another origin met a 401 there
        assert!(refusal_for(&server, &answer(401, "https://other.example.com/x")).is_none());
        assert!(refusal_for(&server, &answer(200, "https://mcp.example.com/mcp")).is_none());
    }
}
