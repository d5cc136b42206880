//! `login URL`: the interactive part of OAuth ahead of time, so a
//! client-launched `connect` finds tokens ready; `login --list`: the stored
//! grants.
//!
//! Owns turning the command line into one [`LoginPlan`] and printing its
//! outcome: one summary line on stderr (login), a table or JSON on stdout
//! (`--list`). Never prints a token; the authorization URL goes to stderr.

use std::sync::Arc;
use std::time::Duration;

use super::bridge::{OAuthPlan, authorizer, oauth_plan, store_error};
use super::{Error, block_on, data_paths, default_registry, parse_duration};
use crate::cli::LoginArgs;
use crate::oauth::shown;
use crate::oauth::store::{Entry, TokenStore};
use crate::remote::{Http, Limits};

/// What one `login` does.
enum LoginPlan {
    List { json: bool },
    Authorize(Box<Authorize>),
}

/// `login URL`: where, with which options and bounds.
struct Authorize {
    url: reqwest::Url,
    oauth: OAuthPlan,
    limits: Limits,
}

pub fn run(args: LoginArgs) -> Result<i32, Error> {
    match plan(args)? {
        LoginPlan::List { json } => list(json),
        LoginPlan::Authorize(a) => authorize(a.url, a.oauth, a.limits),
    }
}

fn plan(args: LoginArgs) -> Result<LoginPlan, Error> {
    if args.list {
        return Ok(LoginPlan::List { json: args.json });
    }
    let text = args.url.clone().unwrap_or_default();
    let url = server_url(&text)?;
    let positive = |flag: &str, v: &str| -> Result<Duration, Error> {
        let d = parse_duration(flag, v)?;
        if d.is_zero() {
            return Err(Error::Usage(format!("{flag} must be greater than zero")));
        }
        Ok(d)
    };
    Ok(LoginPlan::Authorize(Box::new(Authorize {
        oauth: oauth_plan(&args.oauth, &text)?,
        limits: Limits {
            connect: positive("--connect-timeout", &args.connect_timeout)?,
            read: positive("--read-timeout", &args.read_timeout)?,
            max_message: super::bridge::MAX_MESSAGE,
        },
        url,
    })))
}

/// The server URL of `login` / `logout`: checked as `connect` checks it;
/// no `%{NAME}` (nothing is filled here).
pub(super) fn server_url(text: &str) -> Result<reqwest::Url, Error> {
    if text.contains("%{") {
        return Err(Error::Usage(
            "the URL holds %{NAME}: give the URL of the server without placeholders".into(),
        ));
    }
    let url = reqwest::Url::parse(text)
        .map_err(|_| Error::Usage("the URL is not an absolute URL".into()))?;
    crate::remote::endpoint::check_url(&url)?;
    Ok(url)
}

fn authorize(url: reqwest::Url, oauth: OAuthPlan, limits: Limits) -> Result<i32, Error> {
    let paths = data_paths()?;
    let registry = Arc::new(default_registry(limits.read)?);
    let http = Http::new(limits)?;
    let origin = crate::remote::endpoint::origin_of(&url);
    let summary = block_on(async {
        let a = authorizer(&oauth, url, http, registry, &paths, true).await?;
        a.login().await.map_err(Error::from)
    })??;
    eprintln!(
        "mcp-warden: authorized {origin} with {} as client {}; scope: {}; {}; refresh token: {}; stored in {}",
        shown(&summary.issuer),
        shown(&summary.client_id),
        shown(summary.scope.as_deref().unwrap_or("(none)")),
        expiry(summary.expires_at),
        if summary.has_refresh { "yes" } else { "no" },
        summary.store
    );
    Ok(0)
}

/// `expires in 59m`, `expired 3m ago`, `does not expire`.
fn expiry(at: Option<u64>) -> String {
    let Some(at) = at else {
        return "does not expire".into();
    };
    let now = crate::oauth::token::now();
    let fmt = |s: u64| humantime::format_duration(Duration::from_secs(s / 60 * 60)).to_string();
    if at > now {
        format!(
            "expires in {}",
            if at - now < 60 {
                "<1m".into()
            } else {
                fmt(at - now)
            }
        )
    } else {
        format!(
            "expired {} ago",
            if now - at < 60 {
                "<1m".into()
            } else {
                fmt(now - at)
            }
        )
    }
}

fn list(json: bool) -> Result<i32, Error> {
    let paths = data_paths()?;
    let registry = Arc::new(default_registry(Duration::from_secs(10))?);
    let store = TokenStore::open(&paths, registry, None).map_err(|e| store_error(&e))?;
    let entries = store.entries().map_err(|e| store_error(&e))?;
    let out = if json {
        to_json(&entries)
    } else {
        table(&entries)
    };
    print!("{out}");
    Ok(0)
}

/// Where the tokens are: the reference's scheme and store.
fn store_of(e: &Entry) -> String {
    e.tokens_ref.clone()
}

fn to_json(entries: &[Entry]) -> String {
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "resource": e.key.resource,
                "issuer": e.key.issuer,
                "client_id": e.key.client_id,
                "scope": e.scope,
                "expires_at": e.expires_at,
                "has_refresh": e.has_refresh,
                "saved_at": e.saved_at,
                "store": store_of(e),
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}

fn table(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "no stored OAuth grants (run `mcp-warden login URL`)\n".into();
    }
    let head = [
        "RESOURCE",
        "ISSUER",
        "CLIENT ID",
        "SCOPES",
        "EXPIRY",
        "REFRESH",
        "STORE",
    ];
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            [
                shown(&e.key.resource),
                shown(&e.key.issuer),
                shown(&e.key.client_id),
                shown(e.scope.as_deref().unwrap_or("-")),
                expiry(e.expires_at),
                if e.has_refresh { "yes" } else { "no" }.into(),
                store_of(e),
            ]
        })
        .collect();
    let mut widths = head.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  "));
            }
        }
        l.push('\n');
        l
    };
    let mut out = line(head.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::store::{GrantKey, ServerEndpoints};

    #[test]
    fn the_list_shows_no_terminal_escapes_from_servers() {
        let e = Entry {
            key: GrantKey {
                issuer: "https://as.example\u{1b}]0;pwned\u{7}".into(),
                resource: "https://mcp.example/mcp".into(),
                client_id: "client\u{1b}[2J".into(),
            },
            tokens_ref: "local://oauth-x".into(),
            client_ref: None,
            resource: None,
            scope: Some("read\u{1b}[31m".into()),
            expires_at: None,
            has_refresh: false,
            saved_at: 0,
            endpoints: ServerEndpoints::default(),
        };
        let t = table(&[e]);
        assert!(!t.contains('\u{1b}') && !t.contains('\u{7}'), "{t:?}");
        assert!(t.contains("client[2J"), "{t}");
    }
}
