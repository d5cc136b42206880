//! The Secret Service (Linux): GNOME Keyring, KDE Wallet, KeePassXC.
//!
//! Owns one D-Bus connection and the calls `keyring://` makes on it, through
//! the `secret-service` crate that keyring-core's Secret Service store is
//! built on. An item is found by exactly the attributes that store,
//! `secret-tool` and Python's `keyring` use: `service` and `username`, in
//! every collection, so what they store reads here and what is stored here
//! reads there. Items mcp-warden creates also carry `application=mcp-warden`
//! (what `secret ls keyring://` lists). Several items may match (two tools
//! stored the same service and account): reads take the most recently
//! modified of those in unlocked collections (a stale duplicate in a locked
//! one must not stop a headless read), writes update them all (every program
//! then reads the one value), and `rm` deletes them only when they are all
//! ours; it never removes several items of which other applications stored
//! some.
//!
//! A locked collection is unlocked through the service's prompt only when a
//! desktop session can show it (`DISPLAY` or `WAYLAND_DISPLAY`); otherwise the
//! call fails at once as [`Problem::Locked`]. Blocking calls: run on a thread
//! of their own under a deadline (see `mod.rs`). Never formats a value.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secret_service::blocking::{Item, SecretService};
use secret_service::{EncryptionType, Error};

use super::location::{Listing, Location};
use super::problem::{Health, Problem};
use crate::backend::{SecretInfo, WriteOutcome};
use crate::secret::SecretValue;

/// The attribute that marks items mcp-warden created.
const APPLICATION: (&str, &str) = ("application", "mcp-warden");
/// Items `secret ls` lists at most: a keyring is not a database.
const MAX_LISTED: usize = 10_000;

/// A connection with an open Secret Service session. Shared by parallel
/// reads: D-Bus calls from several threads go out on the one connection.
pub struct Client {
    ss: SecretService<'static>,
    /// Held while an unlock prompt is up, so parallel reads ask once.
    unlocking: Mutex<()>,
}

/// Whether a prompt could be shown to the user.
fn desktop() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()))
}

/// Maps a Secret Service or D-Bus error to a problem (D-Bus error names decide).
fn problem(e: Error) -> Problem {
    match e {
        Error::Locked => Problem::Locked,
        Error::Prompt => Problem::Dismissed,
        Error::Unavailable => Problem::NoProvider,
        other => {
            let text = other.to_string();
            if text.contains("ServiceUnknown") || text.contains("NameHasNoOwner") {
                Problem::NoProvider
            } else if text.contains("AccessDenied") || text.contains("NotAuthorized") {
                Problem::Refused(one_line(&text))
            } else if text.contains("IsLocked") {
                Problem::Locked
            } else {
                Problem::Other(one_line(&text))
            }
        }
    }
}

/// An error text fit for one line.
fn one_line(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat.chars().take(200).collect()
}

/// The attributes that find the items of `loc`.
fn attributes(loc: &Location) -> HashMap<&str, &str> {
    HashMap::from([
        ("service", loc.service.as_str()),
        ("username", loc.account.as_str()),
    ])
}

/// Whether mcp-warden created every one of `items` (they carry `application=mcp-warden`).
fn all_ours(items: &[Item<'_>]) -> Result<bool, Problem> {
    for item in items {
        let attrs = item.get_attributes().map_err(problem)?;
        if attrs.get(APPLICATION.0).map(String::as_str) != Some(APPLICATION.1) {
            return Ok(false);
        }
    }
    Ok(true)
}

fn time(secs: u64) -> Option<SystemTime> {
    (secs > 0).then(|| UNIX_EPOCH + Duration::from_secs(secs))
}

impl Client {
    /// Connects to the session bus and opens an encrypted session.
    pub fn connect() -> Result<Client, Problem> {
        let bus_set = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty());
        let conn = zbus::blocking::Connection::session().map_err(|e| {
            if bus_set {
                Problem::DeadSession(one_line(&e.to_string()))
            } else {
                Problem::NoSession
            }
        })?;
        let ss = SecretService::connect_with_existing(EncryptionType::Dh, conn).map_err(problem)?;
        Ok(Client {
            ss,
            unlocking: Mutex::new(()),
        })
    }

    /// Unlocks `locked` through the service's prompt when a desktop can show
    /// it; `prompting` is set while the prompt is up.
    fn unlock(&self, locked: &[Item<'_>], prompting: &AtomicBool) -> Result<(), Problem> {
        if locked.is_empty() {
            return Ok(());
        }
        if !desktop() {
            return Err(Problem::Locked);
        }
        // One prompt at a time; a parallel read may have unlocked these meanwhile.
        let _one = self
            .unlocking
            .lock()
            .map_err(|_| Problem::Other("an earlier unlock failed midway".into()))?;
        let mut still = Vec::with_capacity(locked.len());
        for item in locked {
            if item.is_locked().map_err(problem)? {
                still.push(item);
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        prompting.store(true, Ordering::SeqCst);
        let refs: Vec<&Item<'_>> = still;
        let result = self.ss.unlock_all(&refs).map_err(problem);
        prompting.store(false, Ordering::SeqCst);
        result
    }

    /// Every item matching `attrs`, unlocked (or the reason it cannot be).
    fn search(
        &self,
        attrs: HashMap<&str, &str>,
        prompting: &AtomicBool,
    ) -> Result<Vec<Item<'_>>, Problem> {
        let found = self.ss.search_items(attrs).map_err(problem)?;
        self.unlock(&found.locked, prompting)?;
        let mut items = found.unlocked;
        items.extend(found.locked);
        Ok(items)
    }

    /// Every item of `loc`, unlocked.
    fn matching(&self, loc: &Location, prompting: &AtomicBool) -> Result<Vec<Item<'_>>, Problem> {
        self.search(attributes(loc), prompting)
    }

    /// The items of `loc` to read: those in unlocked collections when there
    /// are any; otherwise the locked ones, unlocked (or the reason they cannot be).
    fn readable(&self, loc: &Location, prompting: &AtomicBool) -> Result<Vec<Item<'_>>, Problem> {
        let found = self.ss.search_items(attributes(loc)).map_err(problem)?;
        if !found.unlocked.is_empty() {
            return Ok(found.unlocked);
        }
        self.unlock(&found.locked, prompting)?;
        Ok(found.locked)
    }

    /// The most recently modified readable item of `loc`.
    fn newest(&self, loc: &Location, prompting: &AtomicBool) -> Result<Item<'_>, Problem> {
        let mut items = self.readable(loc, prompting)?;
        if items.len() > 1 {
            let mut stamped = Vec::with_capacity(items.len());
            for item in items {
                let modified = item.get_modified().map_err(problem)?;
                stamped.push((modified, item));
            }
            stamped.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
            items = stamped.into_iter().map(|(_, item)| item).collect();
        }
        items
            .into_iter()
            .next()
            .ok_or_else(|| Problem::NotFound(loc.clone()))
    }

    pub fn read(&self, loc: &Location, prompting: &AtomicBool) -> Result<SecretValue, Problem> {
        let item = self.newest(loc, prompting)?;
        let secret = item.get_secret().map_err(problem)?;
        Ok(SecretValue::new(secret))
    }

    /// Updates every matching item, or creates one in the default collection.
    pub fn write(
        &self,
        loc: &Location,
        value: &[u8],
        prompting: &AtomicBool,
    ) -> Result<WriteOutcome, Problem> {
        let content_type = if std::str::from_utf8(value).is_ok() {
            "text/plain"
        } else {
            "application/octet-stream"
        };
        let items = self.matching(loc, prompting)?;
        if !items.is_empty() {
            for item in &items {
                item.set_secret(value, content_type).map_err(problem)?;
            }
            return Ok(WriteOutcome::Updated);
        }
        let collection = self.ss.get_default_collection().map_err(|e| match e {
            Error::NoResult => Problem::NoDefaultCollection,
            other => problem(other),
        })?;
        if collection.is_locked().map_err(problem)? {
            if !desktop() {
                return Err(Problem::Locked);
            }
            prompting.store(true, Ordering::SeqCst);
            let unlocked = collection.unlock().map_err(problem);
            prompting.store(false, Ordering::SeqCst);
            unlocked?;
        }
        let attrs = HashMap::from([
            ("service", loc.service.as_str()),
            ("username", loc.account.as_str()),
            APPLICATION,
        ]);
        let label = format!("{} ({})", loc.name(), APPLICATION.1);
        collection
            .create_item(&label, attrs, value, true, content_type)
            .map_err(problem)?;
        Ok(WriteOutcome::Created)
    }

    /// Deletes the item of `loc`, or all its items when mcp-warden created
    /// every one; refuses when several match and other applications stored some.
    pub fn delete(&self, loc: &Location, prompting: &AtomicBool) -> Result<(), Problem> {
        let items = self.matching(loc, prompting)?;
        if items.is_empty() {
            return Err(Problem::NotFound(loc.clone()));
        }
        if items.len() > 1 && !all_ours(&items)? {
            return Err(Problem::Shared {
                location: loc.clone(),
                matches: items.len(),
            });
        }
        for item in &items {
            item.delete().map_err(problem)?;
        }
        Ok(())
    }

    pub fn describe(&self, loc: &Location, prompting: &AtomicBool) -> Result<SecretInfo, Problem> {
        let item = self.newest(loc, prompting)?;
        self.info(&item)?
            .ok_or_else(|| Problem::NotFound(loc.clone()))
    }

    /// Name and times of an item; `None` when it lacks the two attributes.
    fn info(&self, item: &Item<'_>) -> Result<Option<SecretInfo>, Problem> {
        let mut attrs = item.get_attributes().map_err(problem)?;
        let (Some(service), Some(account)) = (attrs.remove("service"), attrs.remove("username"))
        else {
            return Ok(None);
        };
        Ok(Some(SecretInfo {
            name: Location { service, account }.name(),
            created: time(item.get_created().map_err(problem)?),
            updated: time(item.get_modified().map_err(problem)?),
            rotated: None,
            version: None,
        }))
    }

    pub fn list(
        &self,
        listing: &Listing,
        prompting: &AtomicBool,
    ) -> Result<Vec<SecretInfo>, Problem> {
        let (attrs, account_prefix) = match listing {
            Listing::Ours => (HashMap::from([APPLICATION]), ""),
            Listing::Service {
                service,
                account_prefix,
            } => (
                HashMap::from([("service", service.as_str())]),
                account_prefix.as_str(),
            ),
        };
        let items = self.search(attrs, prompting)?;
        let mut out = Vec::new();
        for item in items.iter().take(MAX_LISTED) {
            if let Some(info) = self.info(item)?
                && info
                    .name
                    .split_once('/')
                    .is_some_and(|(_, account)| account.starts_with(account_prefix))
            {
                out.push(info);
            }
        }
        Ok(out)
    }

    /// For `doctor`: whether the default collection is usable, and how.
    pub fn probe(&self) -> Result<Health, Problem> {
        let collection = self.ss.get_default_collection().map_err(|e| match e {
            Error::NoResult => Problem::NoDefaultCollection,
            other => problem(other),
        })?;
        match collection.is_locked().map_err(problem)? {
            false => Ok(Health::Unlocked),
            true if desktop() => Ok(Health::LockedWillPrompt),
            true => Err(Problem::Locked),
        }
    }
}
