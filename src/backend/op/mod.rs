//! 1Password (`op://VAULT/ITEM[/SECTION]/FIELD[?attribute=…][&via=connect|cli]`),
//! in 1Password's own secret reference syntax.
//!
//! Owns access to 1Password: choosing the way in (a Connect server when
//! `OP_CONNECT_HOST` and `OP_CONNECT_TOKEN` are set, else the `op` CLI;
//! `?via=` overrides), grouping references by vault and item so each item
//! is fetched once however many of its fields are wanted, all items
//! concurrently within the deadline, and the writable side through Connect
//! (`secret set|rm|ls`, `protect --to op://VAULT/`, metadata for
//! `inventory`). [`target`] reads references, [`item`] picks fields,
//! [`connect`] and [`cli`] are the two ways in, [`locate`] finds an item
//! through Connect with the name -> ID hints of [`ids`] (saved after each
//! operation), [`write`] the writes.
//! Must not know MCP or the server process, apply selectors, print, or put
//! a token or value into an error.

mod cli;
mod connect;
mod ids;
mod item;
mod locate;
mod target;
mod write;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Instant;

use self::connect::Connect;
use self::ids::IdCache;
use self::item::{FileRef, Item, Selected};
use self::target::{ItemKey, Target, Via};
use super::rest::{self, Fail};
use super::{Backend, BackendError, BoxFuture, ErrorKind, SecretInfo, Settings, WriteOutcome};
use crate::reference::{Scheme, SecretRef};
use crate::secret::SecretValue;

pub struct OpBackend {
    settings: Settings,
    /// `None` when Connect is not configured.
    connect: OnceLock<Option<Result<Connect, Fail>>>,
    /// Connect name -> ID hints, read on first use.
    ids: OnceLock<IdCache>,
}

/// What a reference needs once its item is known.
enum Pick {
    Value(SecretValue),
    /// A file's content: one more request (Connect) or `op read` (CLI).
    File(FileRef),
    /// Only `op read` can produce it (a one-time password the answer lacks):
    /// the field's section ID and ID.
    Read(cli::ReadPath),
}

/// One reference of a group: its index in the caller's slice and its target.
type Member = (usize, Target);
/// One result of a group, by index.
type Got = (usize, Result<SecretValue, Fail>);

impl OpBackend {
    /// Reads nothing and touches no network until first use.
    pub fn new(settings: &Settings) -> Self {
        Self {
            settings: settings.clone(),
            connect: OnceLock::new(),
            ids: OnceLock::new(),
        }
    }

    fn deadline(&self) -> Instant {
        Instant::now() + rest::call_timeout(self.settings.timeout)
    }

    fn target(&self, r: &SecretRef) -> Result<Target, BackendError> {
        BackendError::check_params(r, target::PARAMS)?;
        target::parse(&r.location, &r.params)
            .map_err(|m| BackendError::new(ErrorKind::Config, r, m))
    }

    fn connect_configured(&self) -> Option<&Result<Connect, Fail>> {
        self.connect
            .get_or_init(|| Connect::from_env(rest::call_timeout(self.settings.timeout)))
            .as_ref()
    }

    /// The ID cache of the configured Connect server.
    fn ids(&self, c: &Connect) -> &IdCache {
        self.ids
            .get_or_init(|| IdCache::open(self.settings.paths.op_connect_ids(), c.server()))
    }

    /// Writes what this run learnt about names, if anything.
    fn save_ids(&self) {
        if let Some(ids) = self.ids.get() {
            ids.save();
        }
    }

    fn connect(&self) -> Result<&Connect, Fail> {
        match self.connect_configured() {
            Some(Ok(c)) => Ok(c),
            Some(Err(f)) => Err(f.clone()),
            None => Err(Fail::new(
                ErrorKind::Config,
                "1Password Connect is not configured: set OP_CONNECT_HOST and OP_CONNECT_TOKEN \
                 (or drop ?via=connect to use the op CLI)",
            )),
        }
    }

    /// `?via=`, else Connect when it is configured, else the CLI.
    fn via(&self, t: &Target) -> Via {
        t.via.unwrap_or(if self.connect_configured().is_some() {
            Via::Connect
        } else {
            Via::Cli
        })
    }

    async fn fetch_all(&self, refs: &[SecretRef]) -> Vec<Result<SecretValue, BackendError>> {
        let mut results: Vec<Option<Result<SecretValue, BackendError>>> =
            refs.iter().map(|_| None).collect();
        let mut groups: BTreeMap<(Via, ItemKey), Vec<Member>> = BTreeMap::new();
        for (i, r) in refs.iter().enumerate() {
            match self.target(r) {
                Ok(t) => {
                    let via = self.via(&t);
                    tracing::debug!("{r}: 1password through {via:?}");
                    groups.entry((via, t.key.clone())).or_default().push((i, t))
                }
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        let deadline = self.deadline();
        let jobs: Vec<_> = groups
            .into_iter()
            .map(|((via, key), members)| async move {
                match via {
                    Via::Connect => self.connect_group(&key, members, deadline).await,
                    Via::Cli => cli_group(&key, members, deadline).await,
                }
            })
            .collect();
        for got in rest::join_all(jobs).await {
            for (i, r) in got {
                results[i] = Some(r.map_err(|f| f.at(&refs[i])));
            }
        }
        self.save_ids();
        results
            .into_iter()
            .zip(refs)
            .map(|(v, r)| {
                v.unwrap_or_else(|| {
                    Err(BackendError::new(
                        ErrorKind::Io,
                        r,
                        "internal error: not fetched",
                    ))
                })
            })
            .collect()
    }

    /// The item through Connect: its vault ID and the whole item.
    async fn connect_item(&self, key: &ItemKey, deadline: Instant) -> Result<(String, Item), Fail> {
        let c = self.connect()?;
        let found = locate::locate(c, self.ids(c), key, deadline).await?;
        let item = found.item.ok_or_else(|| no_item(key))?;
        Ok((found.vault_id, item))
    }

    /// One item request for every field of it that is wanted; file contents concurrently.
    async fn connect_group(
        &self,
        key: &ItemKey,
        members: Vec<Member>,
        deadline: Instant,
    ) -> Vec<Got> {
        let (vault_id, item) = match self.connect_item(key, deadline).await {
            Ok(v) => v,
            Err(f) => {
                return members
                    .into_iter()
                    .map(|(i, _)| (i, Err(f.clone())))
                    .collect();
            }
        };
        let jobs: Vec<_> = members
            .into_iter()
            .map(|(i, t)| {
                let picked = pick(&item, &t);
                let vault_id = &vault_id;
                let item_id = &item.id;
                async move {
                    let got = match picked {
                        Err(f) => Err(f),
                        Ok(Pick::Value(v)) => Ok(v),
                        Ok(Pick::File(file)) => match self.connect() {
                            Ok(c) => c.file_content(vault_id, item_id, &file, deadline).await,
                            Err(f) => Err(f),
                        },
                        Ok(Pick::Read(_)) => Err(Fail::new(
                            ErrorKind::NotFound,
                            "1Password Connect sent no one-time password for this field; check \
                             it is an OTP field",
                        )),
                    };
                    (i, got)
                }
            })
            .collect();
        rest::join_all(jobs).await
    }

    fn write_ref<'a>(
        &'a self,
        r: &'a SecretRef,
        verb: &str,
    ) -> Result<(Target, &'a Connect), BackendError> {
        let t = self.target(r)?;
        if t.attribute != target::Attribute::Value {
            return Err(BackendError::new(
                ErrorKind::Config,
                r,
                format!("{verb} works on a field's value: drop ?attribute="),
            ));
        }
        if self.via(&t) == Via::Cli {
            return Err(BackendError::new(
                ErrorKind::Unsupported,
                r,
                format!(
                    "{verb} goes through 1Password Connect only; the op CLI path is read-only \
                     here: set OP_CONNECT_HOST and OP_CONNECT_TOKEN (or use `op item edit`)"
                ),
            ));
        }
        let c = self.connect().map_err(|f| f.at(r))?;
        Ok((t, c))
    }
}

/// One `op item get` for every field of the item that is wanted; `op read`
/// for attachments and one-time passwords.
async fn cli_group(key: &ItemKey, members: Vec<Member>, deadline: Instant) -> Vec<Got> {
    let item = match cli::item(key, deadline).await {
        Ok(v) => v,
        Err(f) => {
            return members
                .into_iter()
                .map(|(i, _)| (i, Err(f.clone())))
                .collect();
        }
    };
    let jobs: Vec<_> = members
        .into_iter()
        .map(|(i, t)| {
            let picked = pick(&item, &t);
            let item = &item;
            async move {
                let got = match picked {
                    Err(f) => Err(f),
                    Ok(Pick::Value(v)) => Ok(v),
                    Ok(Pick::File(f)) => {
                        cli::read(item, &cli::ReadPath::file(&f), t.attribute, deadline).await
                    }
                    Ok(Pick::Read(at)) => cli::read(item, &at, t.attribute, deadline).await,
                };
                (i, got)
            }
        })
        .collect();
    rest::join_all(jobs).await
}

fn no_item(key: &ItemKey) -> Fail {
    Fail::new(
        ErrorKind::NotFound,
        format!(
            "no item {:?} in vault {:?} (or the token cannot see it)",
            key.item, key.vault
        ),
    )
}

/// What `t` needs from `item`.
fn pick(item: &Item, t: &Target) -> Result<Pick, Fail> {
    match item::select(item, t)? {
        Selected::Field(f) => Ok(match item::field_value(f, t.attribute)? {
            Some(v) => Pick::Value(v),
            None => Pick::Read(cli::ReadPath::field(f)),
        }),
        Selected::File(f) => Ok(match item::file_attribute(f, t.attribute)? {
            Some(s) => Pick::Value(SecretValue::from_string(s)),
            None => Pick::File(f.clone()),
        }),
    }
}

impl Backend for OpBackend {
    fn scheme(&self) -> Scheme {
        Scheme::Op
    }

    fn fetch<'a>(
        &'a self,
        refs: &'a [SecretRef],
    ) -> BoxFuture<'a, Vec<Result<SecretValue, BackendError>>> {
        Box::pin(self.fetch_all(refs))
    }

    /// Through Connect: sets the field's value, adding the field (or
    /// creating the item) when missing. 1Password holds text only.
    fn write<'a>(
        &'a self,
        r: &'a SecretRef,
        value: &'a SecretValue,
    ) -> BoxFuture<'a, Result<WriteOutcome, BackendError>> {
        Box::pin(async move {
            let (t, c) = self.write_ref(r, "writing")?;
            let Some(text) = value.as_str() else {
                return Err(BackendError::new(
                    ErrorKind::BadData,
                    r,
                    "1Password fields hold text and this value is not UTF-8; store it \
                     base64-encoded",
                ));
            };
            let done = write::set(c, self.ids(c), &t, text, self.deadline()).await;
            self.save_ids();
            done.map_err(|f| f.at(r))
        })
    }

    /// Through Connect: removes the field (the item, when it was its only field).
    fn delete<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let (t, c) = self.write_ref(r, "deleting")?;
            let done = write::remove(c, self.ids(c), &t, self.deadline()).await;
            self.save_ids();
            done.map_err(|f| f.at(r))
        })
    }

    /// `op://VAULT/[PREFIX]`: the vault's items whose titles start with PREFIX.
    fn list<'a>(
        &'a self,
        prefix: &'a str,
        params: &'a [(String, String)],
    ) -> BoxFuture<'a, Result<Vec<SecretInfo>, BackendError>> {
        Box::pin(async move {
            let subject = format!("op://{prefix}");
            let fail = |m: String| BackendError::new(ErrorKind::Config, &subject, m);
            let mut via = None;
            for (k, v) in params {
                match (k.as_str(), v.as_str()) {
                    ("via", "connect") => via = Some(Via::Connect),
                    ("via", "cli") => via = Some(Via::Cli),
                    _ => return Err(fail(format!("unknown parameter {k}={v:?} here (via only)"))),
                }
            }
            let (vault, title_prefix) = prefix.split_once('/').unwrap_or((prefix, ""));
            if vault.is_empty() || title_prefix.contains('/') {
                return Err(fail("name the vault to list: op://VAULT/[PREFIX]".into()));
            }
            let via = via.unwrap_or(if self.connect_configured().is_some() {
                Via::Connect
            } else {
                Via::Cli
            });
            let deadline = self.deadline();
            let found = match via {
                Via::Connect => {
                    async {
                        let c = self.connect()?;
                        let vault_id = c.vault_id(vault, deadline).await?;
                        let items = c.list(&vault_id, title_prefix, deadline).await?;
                        Ok(items
                            .into_iter()
                            .map(|s| (s.title, s.created, s.updated))
                            .collect::<Vec<_>>())
                    }
                    .await
                }
                Via::Cli => cli::list(vault, deadline).await.map(|rows| {
                    rows.into_iter()
                        .filter(|r| r.title.starts_with(title_prefix))
                        .map(|r| (r.title, r.created, r.updated))
                        .collect()
                }),
            };
            let found: Vec<_> = found.map_err(|f: Fail| f.at(&subject))?;
            Ok(found
                .into_iter()
                .map(|(title, created, updated)| SecretInfo {
                    name: format!("{vault}/{title}"),
                    created,
                    updated,
                    ..SecretInfo::default()
                })
                .collect())
        })
    }

    /// The item's created and updated times and version, once the field is
    /// known to be there. 1Password keeps times per item, not per field.
    fn describe<'a>(&'a self, r: &'a SecretRef) -> BoxFuture<'a, Result<SecretInfo, BackendError>> {
        Box::pin(async move {
            let t = self.target(r)?;
            let deadline = self.deadline();
            let item = match self.via(&t) {
                Via::Connect => {
                    let got = self.connect_item(&t.key, deadline).await;
                    self.save_ids();
                    got.map(|(_, i)| i)
                }
                Via::Cli => cli::item(&t.key, deadline).await,
            }
            .map_err(|f| f.at(r))?;
            item::select(&item, &t).map_err(|m| m.fail.at(r))?;
            Ok(SecretInfo {
                name: t.op_reference(),
                created: item.created(),
                updated: item.updated(),
                rotated: None,
                version: item.version.map(|v| v.to_string()),
            })
        })
    }
}

/// One `doctor` finding about 1Password.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub ok: bool,
    pub subject: String,
    pub detail: String,
    pub fix: Option<String>,
}

/// For `doctor`: Connect reachable and the token accepted (when
/// configured), and `op` present and signed in (when it is on PATH or
/// Connect is not configured).
pub async fn diagnose(settings: &Settings) -> Vec<Diagnosis> {
    let deadline = Instant::now() + rest::call_timeout(settings.timeout);
    let mut out = Vec::new();
    let connect = Connect::from_env(rest::call_timeout(settings.timeout));
    let have_connect = connect.is_some();
    if let Some(c) = connect {
        let got = match c {
            Ok(c) => c.check(deadline).await.map(|n| {
                let s = if n == 1 { "" } else { "s" };
                format!("{} reachable, token accepted ({n} vault{s})", c.peer())
            }),
            Err(f) => Err(f),
        };
        out.push(match got {
            Ok(detail) => Diagnosis {
                ok: true,
                subject: "1Password Connect".into(),
                detail,
                fix: None,
            },
            Err(f) => Diagnosis {
                ok: false,
                subject: "1Password Connect".into(),
                fix: Some(
                    match f.kind {
                        ErrorKind::Denied => {
                            "check OP_CONNECT_TOKEN: a token of this Connect server"
                        }
                        _ => "check OP_CONNECT_HOST and that the Connect server is running",
                    }
                    .into(),
                ),
                detail: f.message,
            },
        });
    }
    if !have_connect || cli::find_op().is_some() {
        out.push(match cli::whoami(deadline).await {
            Ok(detail) => Diagnosis {
                ok: true,
                subject: "1Password CLI".into(),
                detail,
                fix: None,
            },
            Err(f) => Diagnosis {
                ok: false,
                subject: "1Password CLI".into(),
                fix: Some(
                    "install `op` and sign in (`op signin`), or set OP_SERVICE_ACCOUNT_TOKEN"
                        .into(),
                ),
                detail: f.message,
            },
        });
    }
    out
}
