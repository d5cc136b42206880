//! The state machine a bridge asks for credentials: cached tokens, then a
//! refresh (one process at a time), then a new authorization.
//!
//! Owns, for one MCP server: loading the newest grant from the store,
//! refreshing ahead of expiry under the store's per-grant lock (re-reading
//! the tokens first: another process may have refreshed a rotating token),
//! a refresh that fails for good (`invalid_grant`) falling back to a new
//! authorization (said on the report), the authorization itself (discovery,
//! client identity, PKCE, the loopback redirect, the browser, the code
//! exchange) or the client-credentials grant, the scope rules of the MCP
//! spec (the challenge's, else the resource metadata's, plus `--scope`, plus
//! `offline_access` where the server lists it; the union on a step-up), and
//! bounds on how often it authorizes. Implements [`Authorize`] for the
//! bridge; `login` and `logout` use [`Authorizer::login`] and
//! [`Authorizer::logout`]. Every failure is one line; none holds a token.

use std::time::Duration;

use http::{HeaderMap, HeaderValue, StatusCode, header};
use reqwest::Url;
use zeroize::Zeroizing;

use super::bounds::{self, Budget, MAX_AUTHORIZATIONS, Next, Origin, WINDOW};
use super::discovery::{self, Found};
use super::identity::{self, Registered};
use super::pkce::Pkce;
use super::redirect::{Expect, Listener};
use super::store::{
    Client, ClientSource, Entry, GrantKey, ServerEndpoints, StoreError, TokenStore, Tokens,
};
use super::token::{self, ClientAuth, Granted, Method};
use super::{Kind, Learn, OAuthError, Report, browser, challenge};
use crate::remote::Http;
use crate::remote::auth::{Authorize, BoxFuture};
use crate::remote::endpoint::origin_of;
use crate::remote::http::{Failure, Request, Verb};
use crate::secret::SecretValue;

/// Refresh this long before the access token expires.
pub const REFRESH_AHEAD: u64 = 60;
/// An authorization's turn is waited for the login timeout and this long.
pub const TURN_SLACK: Duration = Duration::from_secs(30);
/// After a renewal ahead of expiry failed, the next try waits this long.
pub const RETRY_RENEWAL: Duration = Duration::from_secs(15);
/// Step-ups (403 `insufficient_scope`) one process follows, at most.
pub const MAX_STEP_UPS: u32 = 2;

/// How this authorizer may get credentials.
pub struct Settings {
    /// The server's URL, filled (may hold secrets in its query: never shown).
    pub server: Url,
    /// The URL as the user wrote it (no filled value), for the login hint.
    pub shown: String,
    pub client_id: Option<String>,
    pub client_secret: Option<SecretValue>,
    pub private_key: Option<SecretValue>,
    /// The references those came from (kept with a grant, for `logout`).
    pub client_secret_ref: Option<String>,
    pub private_key_ref: Option<String>,
    pub client_metadata_url: Option<String>,
    pub client_credentials: bool,
    /// `--scope`, asked for beyond the challenge's or the metadata's.
    pub scopes: Vec<String>,
    /// Send RFC 8707 `resource` (not with `--no-resource`).
    pub send_resource: bool,
    /// A user can complete an authorization (a browser, or a terminal for `login`).
    pub interactive: bool,
    /// Try to open a browser (else only print the URL).
    pub open_browser: bool,
    pub login_timeout: Duration,
    /// Authorize before the first request (`--oauth`).
    pub eager: bool,
    pub report: Report,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("origin", &origin_of(&self.server))
            .field("client_id", &self.client_id)
            .field("client_credentials", &self.client_credentials)
            .finish_non_exhaustive()
    }
}

/// The grant in use.
struct Current {
    entry: Entry,
    tokens: Tokens,
    client: ClientAuth,
    /// How the token in use came, and when: a refusal of a token obtained
    /// moments ago is an answer about it ([`bounds::after_refusal`]).
    origin: Origin,
    since: std::time::Instant,
    /// A renewal ahead of expiry failed: not tried again before this.
    hold_until: Option<std::time::Instant>,
}

impl Current {
    fn came(&mut self, origin: Origin) {
        self.origin = origin;
        self.since = std::time::Instant::now();
        self.hold_until = None;
    }
}

#[derive(Default)]
struct State {
    loaded: bool,
    /// A failed read of the stored grant was said (once per process).
    load_failure_said: bool,
    current: Option<Current>,
    /// New authorizations made after refusals, recently.
    authorizations: Budget,
    step_ups: u32,
    /// `login`: authorize anew, whatever another process saved.
    login: bool,
}

/// What a refresh came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refresh {
    /// New tokens (redeemed here, or another process's adopted).
    Done,
    /// No refresh token, or it was refused for good.
    Cannot,
    /// The grant is no longer in the store (`logout`): nothing was saved.
    Removed,
}

/// What `logout`'s revocations came to.
struct Revoked {
    /// Lines for the user.
    said: Vec<String>,
    /// The first revocation that failed.
    failed: Option<OAuthError>,
}

/// What an unauthenticated request to the server showed.
struct Probe {
    challenge: Option<challenge::Bearer>,
    /// It answered 401.
    refused: bool,
}

/// What `login` tells the user.
#[derive(Debug, Clone)]
pub struct Summary {
    pub issuer: String,
    pub client_id: String,
    pub scope: Option<String>,
    pub expires_at: Option<u64>,
    pub has_refresh: bool,
    pub store: String,
}

/// Credentials for one MCP server.
pub struct Authorizer {
    http: Http,
    store: TokenStore,
    s: Settings,
    /// The store's resource key ([`discovery::grant_resource`]).
    resource_key: String,
    /// The token endpoint refused the stored registration (`invalid_client`):
    /// the next authorization registers anew instead of reusing it.
    stale_client: std::sync::atomic::AtomicBool,
    /// Told every token before it is sent (the guard's redaction).
    learn: Option<Learn>,
    state: tokio::sync::Mutex<State>,
}

fn store_err(e: StoreError) -> OAuthError {
    let kind = match &e {
        StoreError::Usage(_) => Kind::Usage,
        StoreError::Io(_) => Kind::Io,
        StoreError::Data(_) => Kind::BadData,
        StoreError::Busy(_) => Kind::Unreachable,
        StoreError::Backend(b) => match b.kind {
            crate::backend::ErrorKind::Denied => Kind::Denied,
            crate::backend::ErrorKind::Unreachable | crate::backend::ErrorKind::TimedOut => {
                Kind::Unreachable
            }
            crate::backend::ErrorKind::BadData => Kind::BadData,
            crate::backend::ErrorKind::Io => Kind::Io,
            _ => Kind::Config,
        },
    };
    OAuthError::new(kind, format!("the token store: {e}"))
}

fn bearer(t: &Tokens) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", t.access_token)).ok()?;
    v.set_sensitive(true);
    Some(v)
}

fn split(scope: Option<&str>) -> Vec<String> {
    scope
        .unwrap_or("")
        .split_ascii_whitespace()
        .map(str::to_string)
        .collect()
}

fn union(into: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for s in more {
        if !into.contains(&s) {
            into.push(s);
        }
    }
}

fn joined(scopes: &[String]) -> Option<String> {
    (!scopes.is_empty()).then(|| scopes.join(" "))
}

fn endpoints_of(f: &Found) -> ServerEndpoints {
    let m = &f.server;
    ServerEndpoints {
        issuer: m.issuer.clone(),
        authorization_endpoint: m.authorization_endpoint.clone(),
        token_endpoint: m.token_endpoint.clone(),
        revocation_endpoint: m.revocation_endpoint.clone(),
        registration_endpoint: m.registration_endpoint.clone(),
        token_endpoint_auth_methods_supported: m
            .token_endpoint_auth_methods_supported
            .clone()
            .unwrap_or_default(),
        scopes_supported: m.scopes_supported.clone().unwrap_or_default(),
        iss_parameter_supported: m.authorization_response_iss_parameter_supported,
    }
}

fn client_auth_of(c: &Client) -> ClientAuth {
    let method =
        Method::parse(&c.token_endpoint_auth_method).unwrap_or(if c.client_secret.is_some() {
            Method::Basic
        } else {
            Method::None
        });
    ClientAuth {
        client_id: c.client_id.clone(),
        method,
        credential: c
            .client_secret
            .as_ref()
            .map(|s| SecretValue::from_string(s.clone())),
    }
}

fn tokens_of(g: Granted, asked: Option<&str>, keep_refresh: Option<&str>) -> Tokens {
    Tokens {
        access_token: g.access_token.to_string(),
        token_type: g.token_type,
        refresh_token: g
            .refresh_token
            .map(|r| r.to_string())
            .or_else(|| keep_refresh.map(str::to_string)),
        expires_at: g.expires_at,
        scope: g.scope.or_else(|| asked.map(str::to_string)),
    }
}

impl Authorizer {
    pub fn new(http: Http, store: TokenStore, s: Settings) -> Authorizer {
        // a query holding %{NAME} is not in `shown` (nor in the key): `login`
        // of the hint's URL finds the same grant
        let resource_key = discovery::grant_resource(&s.server, s.shown.contains('?'));
        Authorizer {
            http,
            store,
            s,
            resource_key,
            stale_client: Default::default(),
            learn: None,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    /// Tells `learn` every token and client secret this authorizer sends
    /// or holds, so what a server echoes of them is redacted.
    pub fn with_learn(mut self, learn: Learn) -> Self {
        self.learn = Some(learn);
        self
    }

    fn learn(&self, t: &Tokens) {
        let Some(learn) = &self.learn else { return };
        learn(
            "OAUTH_ACCESS_TOKEN",
            &SecretValue::from_slice(t.access_token.as_bytes()),
        );
        if let Some(r) = &t.refresh_token {
            learn(
                "OAUTH_REFRESH_TOKEN",
                &SecretValue::from_slice(r.as_bytes()),
            );
        }
        if let Some(c) = &self.s.client_secret {
            learn("OAUTH_CLIENT_SECRET", c);
        }
    }

    fn origin(&self) -> String {
        origin_of(&self.s.server)
    }

    /// The line a request gets when no one can authorize it here.
    fn login_hint(&self, why: &str) -> OAuthError {
        OAuthError::new(
            Kind::Denied,
            format!(
                "{} needs authorization ({why}): run `mcp-warden login {}` in a terminal, then start this again",
                self.origin(),
                self.s.shown
            ),
        )
    }

    /// Loads the newest grant for this server once.
    async fn load(&self, st: &mut State) -> Result<(), OAuthError> {
        if st.loaded {
            return Ok(());
        }
        // loaded only once read: a backend that failed is asked again next time
        let Some(entry) = self.find_grant()? else {
            st.loaded = true;
            return Ok(());
        };
        st.current = self.stored(entry).await?;
        st.loaded = true;
        Ok(())
    }

    /// The newest stored grant for this server, of the `--client-id`
    /// client when one is named.
    fn find_grant(&self) -> Result<Option<Entry>, OAuthError> {
        self.store
            .find(&self.resource_key, self.s.client_id.as_deref())
            .map_err(store_err)
    }

    /// The grant of a stored `entry` (None: its tokens are gone).
    async fn stored(&self, entry: Entry) -> Result<Option<Current>, OAuthError> {
        let Some(tokens) = self.store.tokens(&entry).await.map_err(store_err)? else {
            return Ok(None);
        };
        let client = self.client_for(&entry).await?;
        Ok(Some(Current {
            entry,
            tokens,
            client,
            origin: Origin::Stored,
            since: std::time::Instant::now(),
            hold_until: None,
        }))
    }

    /// The lock one interactive authorization for this server holds, so
    /// processes refused together open one browser tab and make one
    /// registration.
    fn turn_key(&self) -> GrantKey {
        GrantKey {
            issuer: "interactive-authorization".into(),
            resource: self.resource_key.clone(),
            client_id: String::new(),
        }
    }

    /// Waits for this server's authorization turn; Ok(None) when another
    /// process saved a grant meanwhile (it is in `st`, adopted).
    async fn take_turn(
        &self,
        st: &mut State,
        adopt: bool,
    ) -> Result<Option<super::store::RefreshLock>, OAuthError> {
        let before = self.find_grant()?;
        let wait = self.s.login_timeout + TURN_SLACK;
        let turn = self
            .store
            .lock_waiting(&self.turn_key(), wait)
            .await
            .map_err(store_err)?;
        let after = self.find_grant()?;
        if adopt
            && let Some(e) = after.filter(|a| Some(a) != before.as_ref())
            && let Some(cur) = self.stored(e).await?
        {
            st.current = Some(cur);
            return Ok(None);
        }
        Ok(Some(turn))
    }

    /// The client of a stored grant: the command line's when it names one,
    /// else the stored registration.
    async fn client_for(&self, entry: &Entry) -> Result<ClientAuth, OAuthError> {
        if let Some(c) = self.pre_registered(&entry.endpoints)
            && c.client_id == entry.key.client_id
        {
            return Ok(c);
        }
        let stored = self
            .store
            .client(&entry.key.issuer, &entry.key.resource)
            .await
            .map_err(store_err)?;
        Ok(match stored {
            Some(c) if c.client_id == entry.key.client_id => client_auth_of(&c),
            _ => ClientAuth {
                client_id: entry.key.client_id.clone(),
                method: Method::None,
                credential: None,
            },
        })
    }

    /// `--client-id` with its secret or key, the method chosen from what
    /// the server supports.
    fn pre_registered(&self, ep: &ServerEndpoints) -> Option<ClientAuth> {
        let id = self.s.client_id.clone()?;
        let methods = (!ep.token_endpoint_auth_methods_supported.is_empty())
            .then(|| ep.token_endpoint_auth_methods_supported.clone());
        let meta = discovery::ServerMetadata {
            token_endpoint_auth_methods_supported: methods,
            ..Default::default()
        };
        let method = identity::choose_method(
            &meta,
            self.s.client_secret.is_some(),
            self.s.private_key.is_some(),
        );
        Some(ClientAuth {
            client_id: id,
            method,
            credential: self
                .s
                .private_key
                .clone()
                .or_else(|| self.s.client_secret.clone()),
        })
    }

    /// Whether the access token should be refreshed now: within
    /// [`REFRESH_AHEAD`] of its expiry, or within a quarter of its lifetime
    /// for short-lived tokens (so a 30-second token is not refreshed on
    /// every request).
    fn due(cur: &Current) -> bool {
        due_at(cur.tokens.expires_at, cur.entry.saved_at, token::now())
    }

    /// Refreshes the current grant under the store's lock.
    async fn refresh(&self, cur: &mut Current) -> Result<Refresh, OAuthError> {
        if cur.tokens.refresh_token.is_none() {
            return Ok(Refresh::Cannot);
        }
        let _lock = self.store.lock(&cur.entry.key).await.map_err(store_err)?;
        // `logout` removes a grant under this lock: never bring it back
        let Some(entry) = self.stored_entry(&cur.entry.key)? else {
            return Ok(Refresh::Removed);
        };
        let Some(stored) = self.store.tokens(&entry).await.map_err(store_err)? else {
            return Ok(Refresh::Removed);
        };
        // another process may have refreshed (and rotated) meanwhile
        let expired = stored.expires_at.is_some_and(|e| e <= token::now());
        let adopted = stored.access_token != cur.tokens.access_token && !expired;
        cur.entry = entry;
        cur.tokens = stored;
        if adopted {
            cur.came(Origin::Refreshed);
            return Ok(Refresh::Done);
        }
        self.redeem(cur).await
    }

    /// The index entry of `key` as stored now (None: removed).
    fn stored_entry(&self, key: &GrantKey) -> Result<Option<Entry>, OAuthError> {
        let all = self.store.entries().map_err(store_err)?;
        Ok(all.into_iter().find(|e| &e.key == key))
    }

    /// Redeems the refresh token of `cur` (under the lock), saving what comes.
    async fn redeem(&self, cur: &mut Current) -> Result<Refresh, OAuthError> {
        let Some(rt) = cur.tokens.refresh_token.clone().map(Zeroizing::new) else {
            return Ok(Refresh::Cannot);
        };
        let ep = token::Endpoint {
            token_endpoint: cur.entry.endpoints.token_endpoint.clone(),
            issuer: cur.entry.endpoints.issuer.clone(),
        };
        let resource = refresh_resource(&cur.entry, self.s.send_resource);
        let params = token::refresh_params(&rt, resource);
        match token::request(&self.http, &ep, &cur.client, params).await {
            Ok(g) => {
                let asked = cur.tokens.scope.clone();
                // in use from now on, even if it cannot be kept: the old
                // refresh token may be spent (rotation)
                cur.tokens = tokens_of(g, asked.as_deref(), Some(&rt));
                cur.came(Origin::Refreshed);
                match self.store.save(cur.entry.clone(), &cur.tokens).await {
                    Ok(e) => cur.entry = e,
                    Err(e) => self.unsaved(&e),
                }
                Ok(Refresh::Done)
            }
            Err(e) if token::gone(&e) == Some(token::Gone::Client) && self.given(cur).await? => {
                Err(self.credentials_refused(cur, &e))
            }
            Err(e) if token::gone(&e).is_some() => {
                self.forget_refresh(cur, &e).await?;
                Ok(Refresh::Cannot)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether the grant's client was given by the user (`--client-id`, now
    /// or at login) rather than registered: a refusal of its credentials
    /// says nothing about the grant.
    async fn given(&self, cur: &Current) -> Result<bool, OAuthError> {
        if self.s.client_id.as_deref() == Some(cur.client.client_id.as_str()) {
            return Ok(true);
        }
        let k = &cur.entry.key;
        let kept = self
            .store
            .client(&k.issuer, &k.resource)
            .await
            .map_err(store_err)?;
        Ok(kept.is_some_and(|c| {
            c.client_id == cur.client.client_id && c.source == ClientSource::PreRegistered
        }))
    }

    /// A pre-registered client's credentials refused: the tokens are kept
    /// (the refresh token is still good once the secret is right).
    fn credentials_refused(&self, cur: &Current, e: &OAuthError) -> OAuthError {
        OAuthError::new(
            Kind::Denied,
            format!(
                "{} refused the credentials of client {} ({}): check --client-secret or \
                 --private-key; the stored tokens are kept",
                super::shown(&cur.entry.endpoints.issuer),
                super::shown(&cur.client.client_id),
                e.code.as_deref().unwrap_or("invalid_client")
            ),
        )
    }

    /// A refreshed grant the store would not take: it serves this process
    /// (kept in memory), and the line says the next start signs in again.
    fn unsaved(&self, e: &super::store::StoreError) {
        (self.s.report)(&format!(
            "{}: the refreshed tokens could not be stored ({e}); this bridge keeps using them, \
             but the next start may need `mcp-warden login {}`",
            self.origin(),
            self.s.shown
        ));
    }

    /// A refresh refused for good: say so, and keep the grant without its
    /// refresh token so no process tries it again.
    async fn forget_refresh(&self, cur: &mut Current, e: &OAuthError) -> Result<(), OAuthError> {
        let code = e.code.as_deref().unwrap_or("");
        (self.s.report)(&format!(
            "{}: the refresh was refused for good ({code}); a new authorization is needed",
            self.origin()
        ));
        if token::gone(e) == Some(token::Gone::Client) {
            // the registration is forgotten there: make a new one
            self.stale_client
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        cur.tokens.refresh_token = None;
        cur.entry = self
            .store
            .save(cur.entry.clone(), &cur.tokens)
            .await
            .map_err(store_err)?;
        Ok(())
    }

    /// The line when a running bridge finds its grant removed.
    fn removed(&self) -> OAuthError {
        self.login_hint("the stored grant was removed, e.g. by `mcp-warden logout`")
    }

    /// A probe for the server's challenge (login, `--oauth`): an
    /// unauthenticated POST of a `ping`.
    async fn probe(&self) -> Result<Probe, OAuthError> {
        let mut t = HeaderMap::new();
        t.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        t.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let body = br#"{"jsonrpc":"2.0","id":"mcp-warden-login","method":"ping"}"#.to_vec();
        let resp = self
            .http
            .send(Request {
                url: &self.s.server,
                verb: Verb::Post(body),
                ours: &HeaderMap::new(),
                transport: t,
            })
            .await
            .map_err(|f| OAuthError::new(Kind::Unreachable, f.0))?;
        let values: Vec<HeaderValue> = resp
            .headers()
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .cloned()
            .collect();
        Ok(Probe {
            challenge: challenge::bearer(values.iter().map(HeaderValue::as_bytes)),
            refused: resp.status() == StatusCode::UNAUTHORIZED,
        })
    }

    /// The scopes to ask for: the challenge's, else the resource
    /// metadata's; `--scope`; `offline_access` when the server lists it.
    fn scopes(&self, ch: Option<&challenge::Bearer>, f: &Found, extra: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        match ch.filter(|c| !c.scope.is_empty()) {
            Some(c) => union(&mut out, c.scope.iter().cloned()),
            None => union(&mut out, f.resource_scopes.clone().unwrap_or_default()),
        }
        union(&mut out, extra.iter().cloned());
        union(&mut out, self.s.scopes.iter().cloned());
        let offline = f
            .server
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == "offline_access"));
        if offline && !self.s.client_credentials {
            union(&mut out, ["offline_access".to_string()]);
        }
        out
    }

    /// A new grant after a refusal (or before the first request), within
    /// the budget of [`MAX_AUTHORIZATIONS`] per [`WINDOW`].
    async fn obtain(
        &self,
        st: &mut State,
        ch: Option<&challenge::Bearer>,
        extra: &[String],
        refused: bool,
    ) -> Result<(), OAuthError> {
        if !self.s.client_credentials && !self.s.interactive {
            return Err(self.login_hint("no stored tokens work, and no browser can be opened here"));
        }
        if !st.authorizations.take(std::time::Instant::now()) {
            return Err(OAuthError::new(
                Kind::Denied,
                format!(
                    "{} was authorized {MAX_AUTHORIZATIONS} times within {} minutes and still refuses; giving up for now",
                    self.origin(),
                    WINDOW.as_secs() / 60
                ),
            ));
        }
        self.grant(st, ch, extra, refused).await
    }

    /// A new grant: client credentials, or an interactive authorization.
    async fn grant(
        &self,
        st: &mut State,
        ch: Option<&challenge::Bearer>,
        extra: &[String],
        refused: bool,
    ) -> Result<(), OAuthError> {
        let _turn = if self.s.client_credentials {
            None
        } else {
            // a step-up or `login` wants its own grant, not another's
            let adopt = extra.is_empty() && !st.login;
            match self.take_turn(st, adopt).await? {
                Some(t) => Some(t),
                None => return Ok(()),
            }
        };
        let f = discovery::discover(
            &self.http,
            &self.s.server,
            ch.and_then(|c| c.resource_metadata.as_deref()),
            refused,
        )
        .await?;
        let scopes = self.scopes(ch, &f, extra);
        let cur = if self.s.client_credentials {
            self.client_credentials(&f, &scopes).await?
        } else {
            self.authorize(&f, &scopes).await?
        };
        st.current = Some(cur);
        Ok(())
    }

    fn resource_for(&self, f: &Found) -> Option<String> {
        self.s.send_resource.then(|| f.resource.clone())
    }

    fn key(&self, f: &Found, client_id: &str) -> GrantKey {
        GrantKey {
            issuer: f.server.issuer.clone(),
            resource: self.resource_key.clone(),
            client_id: client_id.to_string(),
        }
    }

    async fn save_grant(
        &self,
        f: &Found,
        client: ClientAuth,
        client_ref: Option<String>,
        t: Tokens,
    ) -> Result<Current, OAuthError> {
        let endpoints = endpoints_of(f);
        let entry = Entry {
            key: self.key(f, &client.client_id),
            tokens_ref: String::new(),
            client_ref,
            resource: self.resource_for(f),
            scope: t.scope.clone(),
            expires_at: t.expires_at,
            has_refresh: t.refresh_token.is_some(),
            saved_at: 0,
            endpoints,
        };
        let entry = self.store.save(entry, &t).await.map_err(store_err)?;
        Ok(Current {
            entry,
            tokens: t,
            client,
            origin: Origin::Authorized,
            since: std::time::Instant::now(),
            hold_until: None,
        })
    }

    /// The client-credentials grant (the MCP `oauth-client-credentials` extension).
    async fn client_credentials(
        &self,
        f: &Found,
        scopes: &[String],
    ) -> Result<Current, OAuthError> {
        let client = self.pre_registered(&endpoints_of(f)).ok_or_else(|| {
            OAuthError::new(
                Kind::Usage,
                "--client-credentials needs --client-id and --client-secret REF or --private-key REF",
            )
        })?;
        if client.method == Method::None {
            return Err(OAuthError::new(
                Kind::Usage,
                "--client-credentials needs --client-secret REF or --private-key REF",
            ));
        }
        let ep = token::Endpoint {
            token_endpoint: f.server.token_endpoint.clone(),
            issuer: f.server.issuer.clone(),
        };
        let scope = joined(scopes);
        let resource = self.resource_for(f);
        let params = token::client_credentials_params(scope.as_deref(), resource.as_deref());
        let g = token::request(&self.http, &ep, &client, params).await?;
        let t = tokens_of(g, scope.as_deref(), None);
        let r = self
            .keep_client(f, &self.pre_registered_kept(&client))
            .await?;
        self.save_grant(f, client, Some(r), t).await
    }

    /// Who we are to this server, in the spec's order; a registration made
    /// now is kept (its reference returned).
    async fn identify(
        &self,
        f: &Found,
        redirect_uri: &str,
    ) -> Result<(ClientAuth, Option<String>), OAuthError> {
        let ep = endpoints_of(f);
        if let Some(c) = self.pre_registered(&ep) {
            let r = self.keep_client(f, &self.pre_registered_kept(&c)).await?;
            return Ok((c, Some(r)));
        }
        if let Some(url) = &self.s.client_metadata_url
            && f.server.client_id_metadata_document_supported
        {
            let c = ClientAuth {
                client_id: url.clone(),
                method: Method::None,
                credential: None,
            };
            return Ok((c, None));
        }
        if let Some(c) = self
            .store
            .client(&f.server.issuer, &self.resource_key)
            .await
            .map_err(store_err)?
        {
            let expired = c
                .client_secret_expires_at
                .is_some_and(|e| e != 0 && e <= token::now());
            let stale = self
                .stale_client
                .swap(false, std::sync::atomic::Ordering::Relaxed);
            if c.source == ClientSource::Registered && !expired && !stale {
                let r = self
                    .store
                    .client_ref(&f.server.issuer, &self.resource_key)
                    .map_err(store_err)?;
                return Ok((client_auth_of(&c), Some(r.to_string())));
            }
        }
        let reg = identity::register(&self.http, &f.server, redirect_uri).await?;
        let kept = registered_client(&reg);
        let r = self.keep_client(f, &kept).await?;
        Ok((
            ClientAuth {
                client_id: reg.client_id.clone(),
                method: reg.method,
                credential: reg.client_secret.clone(),
            },
            Some(r),
        ))
    }

    /// A pre-registered client as kept (through the backend): its id,
    /// method, secret (so a `connect` without the flags can refresh) and the
    /// references of its secret or key (so `logout` can authenticate).
    fn pre_registered_kept(&self, c: &ClientAuth) -> Client {
        Client {
            client_id: c.client_id.clone(),
            client_secret: self
                .s
                .client_secret
                .as_ref()
                .and_then(|s| s.as_str())
                .map(str::to_string),
            client_secret_expires_at: None,
            token_endpoint_auth_method: c.method.as_str().to_string(),
            redirect_uris: Vec::new(),
            registration_access_token: None,
            registration_client_uri: None,
            source: ClientSource::PreRegistered,
            client_secret_ref: self.s.client_secret_ref.clone(),
            private_key_ref: self.s.private_key_ref.clone(),
        }
    }

    /// The redirect port of the registration kept for this server, if any.
    async fn registered_port(&self, f: &Found) -> Option<u16> {
        if self.s.client_id.is_some() {
            return None;
        }
        let c = self
            .store
            .client(&f.server.issuer, &self.resource_key)
            .await
            .ok()
            .flatten()?;
        c.redirect_uris
            .iter()
            .find_map(|u| super::redirect::port_of(u))
    }

    async fn keep_client(&self, f: &Found, c: &Client) -> Result<String, OAuthError> {
        self.store
            .save_client(&f.server.issuer, &self.resource_key, c)
            .await
            .map_err(store_err)
    }

    /// The authorization code flow with PKCE through the user's browser.
    async fn authorize(&self, f: &Found, scopes: &[String]) -> Result<Current, OAuthError> {
        let auth_ep = f.server.authorization_endpoint.clone().ok_or_else(|| {
            OAuthError::new(
                Kind::Config,
                format!(
                    "{} has no authorization endpoint (a client-credentials-only server? try --client-credentials)",
                    super::shown(&f.server.issuer)
                ),
            )
        })?;
        let scope = joined(scopes);
        let listener = Listener::bind(self.registered_port(f).await).await?;
        tracing::info!(
            "oauth: authorization code flow with PKCE; waiting for the redirect to {}",
            listener.redirect_uri
        );
        let (client, client_ref) = self.identify(f, &listener.redirect_uri).await?;
        let pkce =
            Pkce::new().ok_or_else(|| OAuthError::new(Kind::Io, "no randomness for PKCE"))?;
        let url = self.authorization_url(
            &auth_ep,
            f,
            &client,
            &listener.redirect_uri,
            &pkce,
            scope.as_deref(),
        )?;
        let opened = self.s.open_browser && browser::open(url.as_str());
        let how = if opened {
            "a browser was opened at"
        } else {
            "open this URL in a browser"
        };
        (self.s.report)(&format!("to authorize {}, {how}: {url}", self.origin()));
        let redirect_uri = listener.redirect_uri.clone();
        let expect = Expect {
            state: &pkce.state,
            issuer: &f.server.issuer,
            iss_required: f.server.authorization_response_iss_parameter_supported,
        };
        let code = listener.wait(&expect, self.s.login_timeout).await?;
        let ep = token::Endpoint {
            token_endpoint: f.server.token_endpoint.clone(),
            issuer: f.server.issuer.clone(),
        };
        let resource = self.resource_for(f);
        let params =
            token::code_params(&code.0, &pkce.verifier, &redirect_uri, resource.as_deref());
        drop(code);
        let g = token::request(&self.http, &ep, &client, params).await?;
        let t = tokens_of(g, scope.as_deref(), None);
        self.save_grant(f, client, client_ref, t).await
    }

    fn authorization_url(
        &self,
        endpoint: &str,
        f: &Found,
        client: &ClientAuth,
        redirect_uri: &str,
        pkce: &Pkce,
        scope: Option<&str>,
    ) -> Result<Url, OAuthError> {
        let mut url = super::http::url(endpoint, "the authorization endpoint")?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", &client.client_id)
                .append_pair("redirect_uri", redirect_uri)
                .append_pair("code_challenge", &pkce.challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", &pkce.state);
            if let Some(s) = scope {
                q.append_pair("scope", s);
                if s.split(' ').any(|x| x == "offline_access") {
                    // OpenID Connect Core §11: offline access is granted after consent
                    q.append_pair("prompt", "consent");
                }
            }
            if let Some(r) = self.resource_for(f) {
                q.append_pair("resource", &r);
            }
        }
        Ok(url)
    }

    /// The header for the next request, refreshing or authorizing first when needed.
    async fn header_now(&self) -> Result<Option<HeaderValue>, OAuthError> {
        let mut st = self.state.lock().await;
        if let Err(e) = self.load(&mut st).await {
            // a server that never asks for OAuth must not fail on the store
            // (said once; read again each time); a 401 meets the error again
            if !std::mem::replace(&mut st.load_failure_said, true) {
                (self.s.report)(&format!("{e}; going on without stored OAuth tokens"));
            }
            return Ok(None);
        }
        if st.current.is_none() {
            if !self.s.eager {
                return Ok(None);
            }
            let p = self.probe().await?;
            self.obtain(&mut st, p.challenge.as_ref(), &[], p.refused)
                .await?;
        }
        self.renew_if_due(&mut st).await?;
        let Some(cur) = st.current.as_ref() else {
            return Ok(None);
        };
        self.learn(&cur.tokens);
        Ok(bearer(&cur.tokens))
    }

    /// Renews the token in use ahead of its expiry. A renewal that fails
    /// while the token is still valid is said, and the token is used until
    /// it expires (tried again after [`RETRY_RENEWAL`]).
    async fn renew_if_due(&self, st: &mut State) -> Result<(), OAuthError> {
        let Some(cur) = st.current.as_ref() else {
            return Ok(());
        };
        let held = cur
            .hold_until
            .is_some_and(|t| std::time::Instant::now() < t);
        if !Self::due(cur) || held {
            return Ok(());
        }
        let valid = cur.tokens.expires_at.is_some_and(|e| e > token::now());
        let out = self.renew(st).await;
        match (out, st.current.as_mut()) {
            (Err(e), Some(cur)) if valid => {
                (self.s.report)(&format!(
                    "renewing the token ahead of its expiry failed ({e}); the current one is used until it expires"
                ));
                cur.hold_until = Some(std::time::Instant::now() + RETRY_RENEWAL);
                Ok(())
            }
            (out, _) => out,
        }
    }

    /// Refreshes the token in use, or for client credentials (no refresh
    /// token) gets a new one: a routine renewal, not counted in the budget.
    async fn renew(&self, st: &mut State) -> Result<(), OAuthError> {
        let Some(cur) = st.current.as_mut() else {
            return Ok(());
        };
        match self.refresh(cur).await? {
            Refresh::Done => Ok(()),
            Refresh::Removed => {
                st.current = None;
                Err(self.removed())
            }
            Refresh::Cannot if self.s.client_credentials => {
                let p = self.probe().await?;
                self.grant(st, p.challenge.as_ref(), &[], p.refused).await
            }
            Refresh::Cannot => Ok(()),
        }
    }

    /// What to do about a refusal; Ok(true): retry with the new header.
    async fn refused_now(
        &self,
        status: StatusCode,
        values: Vec<HeaderValue>,
        sent: Option<HeaderValue>,
    ) -> Result<bool, OAuthError> {
        let mut st = self.state.lock().await;
        self.load(&mut st).await?;
        let now_header = st.current.as_ref().and_then(|c| bearer(&c.tokens));
        let changed = match (&now_header, &sent) {
            (Some(a), Some(b)) => a.as_bytes() != b.as_bytes(),
            (Some(_), None) => true,
            _ => false,
        };
        if changed {
            // another request already got new credentials
            return Ok(true);
        }
        let ch = challenge::bearer(values.iter().map(HeaderValue::as_bytes));
        if status == StatusCode::FORBIDDEN {
            return self.step_up(&mut st, ch.as_ref()).await;
        }
        if let Some(cur) = st.current.as_mut() {
            match bounds::after_refusal(cur.origin, cur.since.elapsed()) {
                Next::GiveUp => {
                    return Err(OAuthError::new(
                        Kind::Denied,
                        format!(
                            "{} refused the token it was just issued (HTTP 401); giving up",
                            self.origin()
                        ),
                    ));
                }
                Next::Refresh => match self.refresh(cur).await? {
                    Refresh::Done => return Ok(true),
                    Refresh::Removed => {
                        st.current = None;
                        return Err(self.removed());
                    }
                    Refresh::Cannot => {}
                },
                Next::Authorize => {}
            }
        }
        st.current = None;
        self.obtain(&mut st, ch.as_ref(), &[], true).await?;
        Ok(true)
    }

    /// 403 `insufficient_scope`: authorize again for the union of the
    /// scopes held and those the challenge names (bounded).
    async fn step_up(
        &self,
        st: &mut State,
        ch: Option<&challenge::Bearer>,
    ) -> Result<bool, OAuthError> {
        let Some(ch) = ch.filter(|c| c.insufficient_scope()) else {
            return Ok(false);
        };
        let held = split(st.current.as_ref().and_then(|c| c.tokens.scope.as_deref()));
        if !ch.scope.is_empty() && ch.scope.iter().all(|s| held.contains(s)) {
            return Err(OAuthError::new(
                Kind::Denied,
                format!(
                    "{} asks for scope {} again though the token holds it; giving up",
                    self.origin(),
                    super::shown(&ch.scope.join(" "))
                ),
            ));
        }
        if st.step_ups >= MAX_STEP_UPS {
            return Err(OAuthError::new(
                Kind::Denied,
                format!(
                    "{} still asks for more scope after {MAX_STEP_UPS} step-ups; giving up",
                    self.origin()
                ),
            ));
        }
        st.step_ups += 1;
        (self.s.report)(&format!(
            "{} asks for more scope ({}); authorizing again",
            self.origin(),
            super::shown(&ch.scope.join(" "))
        ));
        let mut extra = held;
        extra.retain(|s| s != "offline_access");
        st.current = None;
        self.obtain(st, Some(ch), &extra, true).await?;
        Ok(true)
    }

    /// `login`: authorize now (whatever is stored), keep the grant.
    pub async fn login(&self) -> Result<Summary, OAuthError> {
        let mut st = self.state.lock().await;
        st.login = true;
        let p = self.probe().await?;
        self.obtain(&mut st, p.challenge.as_ref(), &[], p.refused)
            .await?;
        let cur = st
            .current
            .as_ref()
            .ok_or_else(|| OAuthError::new(Kind::Denied, "no grant was obtained"))?;
        Ok(Summary {
            issuer: cur.entry.key.issuer.clone(),
            client_id: cur.entry.key.client_id.clone(),
            scope: cur.tokens.scope.clone(),
            expires_at: cur.tokens.expires_at,
            has_refresh: cur.tokens.refresh_token.is_some(),
            store: self.store.prefix().to_string(),
        })
    }

    /// `logout`: revoke where the server offers it, then forget the grant;
    /// a failed revocation keeps the tokens (the only copy of a valid
    /// refresh token) unless `force`. Returns what was done, as lines.
    pub async fn logout(
        &self,
        forget_client: bool,
        force: bool,
    ) -> Result<Vec<String>, OAuthError> {
        let mut st = self.state.lock().await;
        self.load(&mut st).await?;
        let Some(mut cur) = st.current.take() else {
            return Err(OAuthError::new(
                Kind::NotFound,
                format!("no stored grant for {}", self.s.shown),
            ));
        };
        // a running bridge refreshes under this lock, then finds the grant gone
        let _lock = self.store.lock(&cur.entry.key).await.map_err(store_err)?;
        if let Some(e) = self.stored_entry(&cur.entry.key)?
            && let Some(t) = self.store.tokens(&e).await.map_err(store_err)?
        {
            // the newest tokens (another process may have rotated them)
            cur.entry = e;
            cur.tokens = t;
        }
        let Revoked { mut said, failed } = self.revoke_all(&cur).await;
        if let Some(e) = failed {
            if !force {
                return Err(OAuthError::new(
                    e.kind,
                    format!(
                        "{e}; the tokens are kept: fix that and run logout again, or add --force to delete them anyway"
                    ),
                ));
            }
            said.push(format!("{e}; deleting the tokens anyway (--force)"));
        }
        self.store
            .remove(&cur.entry.key, forget_client)
            .await
            .map_err(store_err)?;
        said.push(format!(
            "deleted the stored tokens{} of {}",
            if forget_client {
                " and client registration"
            } else {
                ""
            },
            self.s.shown
        ));
        Ok(said)
    }

    /// Revokes the refresh and access tokens of `cur` where the server
    /// offers revocation.
    async fn revoke_all(&self, cur: &Current) -> Revoked {
        let issuer = super::shown(&cur.entry.endpoints.issuer);
        let Some(ep) = &cur.entry.endpoints.revocation_endpoint else {
            return Revoked {
                said: vec![format!(
                    "{issuer} offers no revocation endpoint: the tokens stay valid there until they expire"
                )],
                failed: None,
            };
        };
        let mut failed = None;
        let mut revoked = Vec::new();
        let toks: [(Option<&String>, &'static str); 2] = [
            (cur.tokens.refresh_token.as_ref(), "refresh_token"),
            (Some(&cur.tokens.access_token), "access_token"),
        ];
        let mut said = Vec::new();
        for (t, hint) in toks {
            let Some(t) = t else { continue };
            let what = hint.replace('_', " ");
            let real_issuer = &cur.entry.endpoints.issuer;
            match super::revoke::revoke(&self.http, ep, real_issuer, &cur.client, t, hint).await {
                Ok(()) => revoked.push(what),
                // with the refresh token revoked, a refused access token
                // (RFC 7009 allows `unsupported_token_type`) only expires
                Err(e) if hint == "access_token" && revoked.len() == 1 => {
                    said.push(format!(
                        "could not revoke the access token ({e}); it stays valid until it expires"
                    ));
                }
                Err(e) => {
                    let kind = e.kind;
                    let line = format!("could not revoke the {what}: {e}");
                    failed.get_or_insert(OAuthError::new(kind, line));
                }
            }
        }
        if !revoked.is_empty() {
            said.insert(
                0,
                format!("revoked the {} at {issuer}", revoked.join(" and ")),
            );
        }
        Revoked { said, failed }
    }
}

/// The `resource` a refresh of `e` sends: the one the grant was asked for
/// (a grant kept before it was recorded: the server URL).
fn refresh_resource(e: &Entry, send: bool) -> Option<&str> {
    // the key's resource may end in `#query-<hash>` (never sent)
    let server = e.key.resource.split('#').next().unwrap_or_default();
    send.then(|| e.resource.as_deref().unwrap_or(server))
}

/// [`Authorizer::due`] for a token expiring at `exp`, saved at `saved`, at `now`.
fn due_at(exp: Option<u64>, saved: u64, now: u64) -> bool {
    let Some(exp) = exp else {
        return false;
    };
    let ahead = REFRESH_AHEAD.min(exp.saturating_sub(saved) / 4);
    exp <= now.saturating_add(ahead)
}

fn registered_client(r: &Registered) -> Client {
    Client {
        client_id: r.client_id.clone(),
        client_secret: r
            .client_secret
            .as_ref()
            .and_then(|s| s.as_str())
            .map(str::to_string),
        client_secret_expires_at: r.client_secret_expires_at,
        token_endpoint_auth_method: r.method.as_str().to_string(),
        redirect_uris: r.redirect_uris.clone(),
        registration_access_token: r
            .registration_access_token
            .as_ref()
            .and_then(|s| s.as_str())
            .map(str::to_string),
        registration_client_uri: r.registration_client_uri.clone(),
        source: ClientSource::Registered,
        client_secret_ref: None,
        private_key_ref: None,
    }
}

fn failure(e: OAuthError) -> Failure {
    Failure(e.message)
}

impl Authorize for Authorizer {
    fn header(&self) -> BoxFuture<'_, Result<Option<HeaderValue>, Failure>> {
        Box::pin(async move { self.header_now().await.map_err(failure) })
    }

    fn refused(
        &self,
        status: StatusCode,
        challenges: Vec<HeaderValue>,
        sent: Option<HeaderValue>,
    ) -> BoxFuture<'_, Result<bool, Failure>> {
        Box::pin(async move {
            self.refused_now(status, challenges, sent)
                .await
                .map_err(failure)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SERVER: &str = "https://mcp.example/mcp";

    fn authorizer(dir: &std::path::Path) -> Authorizer {
        let paths = crate::paths::Paths::at(dir.to_path_buf());
        let registry = crate::backend::registry::Registry::new(crate::backend::Settings {
            paths: paths.clone(),
            aws_region: None,
            aws_profile: None,
            timeout: Duration::from_secs(10),
            cloud: Default::default(),
        });
        let store = TokenStore::open(&paths, Arc::new(registry), None).expect("store");
        let http = Http::new(crate::remote::http::Limits {
            connect: Duration::from_secs(2),
            read: Duration::from_secs(2),
            max_message: 1 << 20,
        })
        .expect("http");
        let s = Settings {
            server: Url::parse(SERVER).expect("url"),
            shown: SERVER.into(),
            client_id: None,
            client_secret: None,
            private_key: None,
            client_secret_ref: None,
            private_key_ref: None,
            client_metadata_url: None,
            client_credentials: false,
            scopes: Vec::new(),
            send_resource: true,
            interactive: false,
            open_browser: false,
            login_timeout: Duration::from_secs(1),
            eager: false,
            report: Arc::new(|_| {}),
        };
        Authorizer::new(http, store, s)
    }

    fn grant() -> (Entry, Tokens) {
        let e = Entry {
            key: GrantKey {
                issuer: "https://as.example".into(),
                resource: SERVER.into(),
                client_id: "c".into(),
            },
            tokens_ref: String::new(),
            client_ref: None,
            resource: Some(SERVER.into()),
            scope: None,
            expires_at: Some(token::now() + 3600),
            has_refresh: true,
            saved_at: 0,
            // nothing listens there: a refresh that got this far fails
            endpoints: ServerEndpoints {
                issuer: "https://as.example".into(),
                token_endpoint: "http://127.0.0.1:9/token".into(),
                ..Default::default()
            },
        };
        let t = Tokens {
            access_token: "at-canary-logout".into(),
            token_type: "Bearer".into(),
            refresh_token: Some("rt-canary-logout".into()),
            expires_at: e.expires_at,
            scope: None,
        };
        (e, t)
    }

    #[tokio::test]
    async fn a_running_bridge_does_not_bring_back_a_grant_removed_by_logout() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = authorizer(d.path());
        let (e, t) = grant();
        a.store.save(e, &t).await.expect("save");
        let mut st = a.state.lock().await;
        a.load(&mut st).await.expect("load");
        let cur = st.current.as_mut().expect("loaded");
        // `logout` in another process
        let other = authorizer(d.path());
        other.logout(false, false).await.expect("logout");
        assert_eq!(a.refresh(cur).await.expect("refresh"), Refresh::Removed);
        assert!(a.store.entries().expect("entries").is_empty());
        assert!(a.store.tokens(&cur.entry).await.expect("read").is_none());
    }

    #[test]
    fn refresh_is_due_ahead_of_expiry_but_not_on_every_request() {
        // an hour-long token: a minute ahead
        assert!(!due_at(Some(10_000 + 3600), 10_000, 10_000 + 3500));
        assert!(due_at(Some(10_000 + 3600), 10_000, 10_000 + 3541));
        // a 20-second token: five seconds ahead, not at once
        assert!(!due_at(Some(1_020), 1_000, 1_000));
        assert!(!due_at(Some(1_020), 1_000, 1_014));
        assert!(due_at(Some(1_020), 1_000, 1_015));
        // expired, or no expiry
        assert!(due_at(Some(1_020), 1_000, 2_000));
        assert!(!due_at(None, 1_000, 9_999));
    }

    #[test]
    fn a_refresh_sends_the_resource_the_grant_was_asked_for() {
        let mut e = Entry {
            key: GrantKey {
                issuer: "https://as.example".into(),
                resource: "https://mcp.example/mcp".into(),
                client_id: "c".into(),
            },
            tokens_ref: String::new(),
            client_ref: None,
            resource: Some("https://mcp.example".into()),
            scope: None,
            expires_at: None,
            has_refresh: true,
            saved_at: 0,
            endpoints: ServerEndpoints::default(),
        };
        assert_eq!(refresh_resource(&e, true), Some("https://mcp.example"));
        assert_eq!(refresh_resource(&e, false), None);
        e.resource = None;
        assert_eq!(refresh_resource(&e, true), Some("https://mcp.example/mcp"));
    }

    #[test]
    fn a_pre_registered_client_is_kept_with_its_references() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut a = authorizer(d.path());
        a.s.client_id = Some("ci-bot".into());
        a.s.client_secret_ref = Some("local://ci-secret".into());
        let c = a
            .pre_registered(&ServerEndpoints::default())
            .expect("client");
        let kept = a.pre_registered_kept(&c);
        assert_eq!(kept.client_id, "ci-bot");
        assert_eq!(kept.client_secret_ref.as_deref(), Some("local://ci-secret"));
        assert_eq!(kept.source, ClientSource::PreRegistered);
    }

    #[tokio::test]
    async fn a_failed_refresh_ahead_of_expiry_keeps_the_valid_token() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = authorizer(d.path());
        let (e, mut t) = grant();
        // due (an hour-long token, 30 s left), not expired; the token endpoint is closed
        t.expires_at = Some(token::now() + 30);
        a.store.save(e, &t).await.expect("save");
        {
            let mut st = a.state.lock().await;
            a.load(&mut st).await.expect("load");
            st.current.as_mut().expect("loaded").entry.saved_at = token::now() - 3570;
        }
        let h = a.header_now().await.expect("the current token");
        assert_eq!(h.expect("a header").as_bytes(), b"Bearer at-canary-logout");
        // expired: the failure is the answer
        t.expires_at = Some(token::now() - 1);
        let (e, _) = grant();
        let b = authorizer(d.path());
        b.store.save(e, &t).await.expect("save");
        assert!(b.header_now().await.is_err());
    }

    #[tokio::test]
    async fn processes_refused_together_authorize_once() {
        let d = tempfile::tempdir().expect("tempdir");
        let a = authorizer(d.path());
        // another process is authorizing this server
        let turn = a
            .store
            .lock_waiting(&a.turn_key(), Duration::from_secs(5))
            .await
            .expect("turn");
        let mut b = authorizer(d.path());
        b.s.interactive = true;
        let waiting = tokio::spawn(async move {
            let mut st = b.state.lock().await;
            // discovery would need the network: adopting must come first
            b.grant(&mut st, None, &[], true).await?;
            Ok::<_, OAuthError>(st.current.as_ref().map(|c| c.tokens.access_token.clone()))
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!waiting.is_finished(), "it did not wait for its turn");
        let (e, t) = grant();
        a.store.save(e, &t).await.expect("save");
        drop(turn);
        let got = waiting.await.expect("task").expect("adopted");
        assert_eq!(got.as_deref(), Some("at-canary-logout"));
    }

    #[test]
    fn scope_lists() {
        let mut v = split(Some("a  b a"));
        assert_eq!(v, ["a", "b", "a"]);
        v.dedup();
        union(&mut v, ["b".to_string(), "c".to_string()]);
        assert_eq!(v, ["a", "b", "a", "c"]);
        assert_eq!(joined(&[]), None);
        assert_eq!(joined(&["x".into(), "y".into()]).as_deref(), Some("x y"));
    }

    #[test]
    fn the_bearer_header_is_sensitive() {
        let t = Tokens {
            access_token: "at-canary".into(),
            token_type: "Bearer".into(),
            refresh_token: None,
            expires_at: None,
            scope: None,
        };
        let h = bearer(&t).expect("header");
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains("canary"));
        assert!(!format!("{t:?}").contains("canary"));
    }
}
