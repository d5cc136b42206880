//! `keyring://SERVICE/ACCOUNT`: which item a reference names.
//!
//! Owns the split of a location into service and account (the first `/`
//! ends the service; the account may hold further `/`, or be empty as in
//! `keyring://SERVICE/`). Pure string work.

use crate::reference::SecretRef;

use super::super::{BackendError, ErrorKind};

/// One keychain item: the service (the platform's "service" or "where") and
/// the account (its "username" or "account").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub service: String,
    pub account: String,
}

impl Location {
    /// The item `r` names.
    pub fn of(r: &SecretRef) -> Result<Location, BackendError> {
        BackendError::check_params(r, &[])?;
        Location::parse(&r.location).ok_or_else(|| {
            BackendError::new(
                ErrorKind::Config,
                r,
                "write keyring://SERVICE/ACCOUNT (the item's service and account, e.g. \
                 keyring://github/me)",
            )
        })
    }

    /// `SERVICE/ACCOUNT`; `None` without a `/` or with an empty service.
    pub fn parse(location: &str) -> Option<Location> {
        let (service, account) = location.split_once('/')?;
        if service.is_empty() {
            return None;
        }
        Some(Location {
            service: service.to_string(),
            account: account.to_string(),
        })
    }

    /// `SERVICE/ACCOUNT`, as `secret ls` names items.
    pub fn name(&self) -> String {
        format!("{}/{}", self.service, self.account)
    }

    /// The reference that names this item.
    pub fn reference_text(&self) -> String {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, ESCAPES).to_string();
        format!("keyring://{}/{}", enc(&self.service), enc(&self.account))
    }
}

/// What a location cannot hold literally (kept readable otherwise).
const ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b'%')
    .add(b'?')
    .add(b'#')
    .add(b' ');

/// What `secret ls keyring://PREFIX` lists: every item mcp-warden created
/// (no prefix), or a service's items whose account starts with a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    Ours,
    Service {
        service: String,
        account_prefix: String,
    },
}

impl Listing {
    pub fn parse(prefix: &str) -> Listing {
        match prefix.split_once('/') {
            _ if prefix.is_empty() => Listing::Ours,
            Some((service, account)) => Listing::Service {
                service: service.to_string(),
                account_prefix: account.to_string(),
            },
            None => Listing::Service {
                service: prefix.to_string(),
                account_prefix: String::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_slash_ends_the_service() {
        let l = Location::parse("mcp-warden/claude/github/TOKEN").unwrap();
        assert_eq!(l.service, "mcp-warden");
        assert_eq!(l.account, "claude/github/TOKEN");
        assert_eq!(l.name(), "mcp-warden/claude/github/TOKEN");
        assert_eq!(Location::parse("gh:github.com/").unwrap().account, "");
        assert!(Location::parse("service-only").is_none());
        assert!(Location::parse("/account").is_none());
    }

    #[test]
    fn a_location_prints_as_a_reference_that_parses_back() {
        let l = Location {
            service: "my app".into(),
            account: "a#b?c%".into(),
        };
        let text = l.reference_text();
        let r = SecretRef::parse(&text).unwrap();
        assert_eq!(Location::of(&r).unwrap(), l);
    }

    #[test]
    fn listings_name_a_service_or_what_we_created() {
        assert_eq!(Listing::parse(""), Listing::Ours);
        assert_eq!(
            Listing::parse("svc"),
            Listing::Service {
                service: "svc".into(),
                account_prefix: String::new()
            }
        );
        assert_eq!(
            Listing::parse("svc/claude/"),
            Listing::Service {
                service: "svc".into(),
                account_prefix: "claude/".into()
            }
        );
    }
}
