//! The macOS Keychain and the Windows Credential Manager, through their
//! keyring-core stores (compiled on those platforms only).
//!
//! macOS: a generic password whose service and account are the reference's
//! (what `security add-generic-password -s SERVICE -a ACCOUNT`, Keychain
//! Access and Python's `keyring` use). Windows: a generic credential whose
//! target name is SERVICE and user name ACCOUNT (what `cmdkey
//! /generic:SERVICE /user:ACCOUNT` and Python's `keyring` create), so one
//! service holds one account there. The Windows store keys such a credential
//! by target name alone and never compares the user name, so every call here
//! first checks that the stored user name is ACCOUNT: another account's
//! credential is not found for reads and `rm`, and a write is refused rather
//! than overwriting it. The OS itself asks the user when an item
//! is locked or guarded. Neither store reports creation or change times.
//! Must not format a value.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error};

use super::location::{Listing, Location};
use super::problem::{Health, Problem};
use crate::backend::{SecretInfo, WriteOutcome};
use crate::secret::SecretValue;

/// The platform's credential store.
pub struct Client {
    store: Arc<CredentialStore>,
}

fn problem(e: Error, loc: Option<&Location>) -> Problem {
    match (e, loc) {
        (Error::NoEntry, Some(loc)) => Problem::NotFound(loc.clone()),
        (Error::NoStorageAccess(err), _) => Problem::Refused(err.to_string()),
        (Error::NotSupportedByStore(why), _) => Problem::Unsupported(why),
        (Error::Ambiguous(items), _) => Problem::Ambiguous(items.len()),
        (Error::Invalid(what, why), _) => Problem::Rejected(format!("{what}: {why}")),
        (Error::TooLong(what, limit), _) => {
            Problem::Rejected(format!("{what}: longer than the limit of {limit}"))
        }
        (other, _) => Problem::Other(other.to_string()),
    }
}

/// What the store holds under a reference's key.
enum Stored {
    Absent,
    /// A credential of this reference's account.
    ThisAccount,
    /// Windows: the target name's credential has another user name.
    OtherAccount,
}

/// Whether the stored credential belongs to `loc`'s account. The Windows
/// store finds a credential by target name (SERVICE) alone, so its user name
/// must be compared here; the macOS store matches service and account itself.
fn stored(entry: &Entry, loc: &Location) -> Result<Stored, Problem> {
    match entry.get_attributes() {
        Ok(attributes) if cfg!(windows) && attributes.get("username") != Some(&loc.account) => {
            Ok(Stored::OtherAccount)
        }
        Ok(_) => Ok(Stored::ThisAccount),
        Err(Error::NoEntry) => Ok(Stored::Absent),
        Err(e) => Err(problem(e, Some(loc))),
    }
}

/// Windows: a credential created under an explicit target name gets an empty
/// user name from the store; give it the reference's account.
#[cfg(windows)]
fn claim(entry: &Entry, loc: &Location) -> Result<(), Problem> {
    let username = HashMap::from([("username", loc.account.as_str())]);
    entry
        .update_attributes(&username)
        .map_err(|e| problem(e, Some(loc)))
}

/// The macOS store records the account itself.
#[cfg(not(windows))]
fn claim(_entry: &Entry, _loc: &Location) -> Result<(), Problem> {
    Ok(())
}

impl Client {
    pub fn connect() -> Result<Client, Problem> {
        #[cfg(target_os = "macos")]
        let store: Arc<CredentialStore> =
            apple_native_keyring_store::keychain::Store::new().map_err(|e| problem(e, None))?;
        #[cfg(windows)]
        let store: Arc<CredentialStore> =
            windows_native_keyring_store::Store::new().map_err(|e| problem(e, None))?;
        Ok(Client { store })
    }

    fn entry(&self, loc: &Location) -> Result<Entry, Problem> {
        #[cfg(windows)]
        let built = {
            let modifiers = HashMap::from([("target", loc.service.as_str())]);
            Entry::new_in_store_with_modifiers(&self.store, &loc.service, &loc.account, &modifiers)
        };
        #[cfg(not(windows))]
        let built = Entry::new_in_store(&self.store, &loc.service, &loc.account);
        built.map_err(|e| problem(e, Some(loc)))
    }

    /// The entry of `loc` when a credential of its account is stored (on
    /// Windows, another account's credential under SERVICE is not found).
    fn existing(&self, loc: &Location) -> Result<Entry, Problem> {
        let entry = self.entry(loc)?;
        match stored(&entry, loc)? {
            Stored::ThisAccount => Ok(entry),
            Stored::Absent | Stored::OtherAccount => Err(Problem::NotFound(loc.clone())),
        }
    }

    pub fn read(&self, loc: &Location, _prompting: &AtomicBool) -> Result<SecretValue, Problem> {
        let secret = self
            .existing(loc)?
            .get_secret()
            .map_err(|e| problem(e, Some(loc)))?;
        Ok(SecretValue::new(secret))
    }

    pub fn write(
        &self,
        loc: &Location,
        value: &[u8],
        _prompting: &AtomicBool,
    ) -> Result<WriteOutcome, Problem> {
        let entry = self.entry(loc)?;
        let outcome = match stored(&entry, loc)? {
            Stored::OtherAccount => return Err(Problem::OtherAccount(loc.clone())),
            Stored::ThisAccount => WriteOutcome::Updated,
            Stored::Absent => WriteOutcome::Created,
        };
        entry.set_secret(value).map_err(|e| problem(e, Some(loc)))?;
        if matches!(outcome, WriteOutcome::Created) {
            claim(&entry, loc)?;
        }
        Ok(outcome)
    }

    pub fn delete(&self, loc: &Location, _prompting: &AtomicBool) -> Result<(), Problem> {
        self.existing(loc)?
            .delete_credential()
            .map_err(|e| problem(e, Some(loc)))
    }

    /// The item exists; the store keeps no times to report.
    pub fn describe(&self, loc: &Location, _prompting: &AtomicBool) -> Result<SecretInfo, Problem> {
        self.existing(loc)?;
        Ok(SecretInfo {
            name: loc.name(),
            ..SecretInfo::default()
        })
    }

    /// A service's accounts, where the store can search; never "ours".
    pub fn list(
        &self,
        listing: &Listing,
        _prompting: &AtomicBool,
    ) -> Result<Vec<SecretInfo>, Problem> {
        let Listing::Service {
            service,
            account_prefix,
        } = listing
        else {
            return Err(Problem::Unsupported(
                "this platform's store cannot list by creator; name a service: \
                 mcp-warden secret ls keyring://SERVICE"
                    .into(),
            ));
        };
        self.service_accounts(service, account_prefix)
    }

    /// macOS: the store's search by service.
    #[cfg(not(windows))]
    fn service_accounts(
        &self,
        service: &str,
        account_prefix: &str,
    ) -> Result<Vec<SecretInfo>, Problem> {
        let spec = HashMap::from([("service", service)]);
        let found = Entry::search_in_store(&self.store, &spec).map_err(|e| problem(e, None))?;
        Ok(found
            .iter()
            .filter_map(Entry::get_specifiers)
            .filter(|(s, account)| s == service && account.starts_with(account_prefix))
            .map(|(service, account)| SecretInfo {
                name: Location { service, account }.name(),
                ..SecretInfo::default()
            })
            .collect())
    }

    /// Windows: the one credential under target name `service`, when its
    /// user name starts with `account_prefix` (the store's search matches
    /// another target-name scheme, so it cannot list these).
    #[cfg(windows)]
    fn service_accounts(
        &self,
        service: &str,
        account_prefix: &str,
    ) -> Result<Vec<SecretInfo>, Problem> {
        let any = Location {
            service: service.to_string(),
            account: String::new(),
        };
        let attributes = match self.entry(&any)?.get_attributes() {
            Ok(attributes) => attributes,
            Err(Error::NoEntry) => return Ok(Vec::new()),
            Err(e) => return Err(problem(e, None)),
        };
        let account = attributes.get("username").cloned().unwrap_or_default();
        if !account.starts_with(account_prefix) {
            return Ok(Vec::new());
        }
        Ok(vec![SecretInfo {
            name: Location {
                service: service.to_string(),
                account,
            }
            .name(),
            ..SecretInfo::default()
        }])
    }

    pub fn probe(&self) -> Result<Health, Problem> {
        Ok(Health::Unlocked)
    }
}
