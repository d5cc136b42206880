//! Exposure: every value protect moves sat in a config file in plaintext
//! (and may live on in backups, sync folders or version control), so it
//! should be rotated. Protect records, per secret, what the backend said
//! right after storing it (change time, version); a secret counts as
//! exposed until the backend shows a newer version or change than that.
//!
//! Owns that record and the rotation test; reads the journal, never a value.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::journal::{self, Exposure};
use crate::backend::SecretInfo;
use crate::reference::SecretRef;

/// The backend's last change: the latest of rotated, updated and created.
fn changed(info: &SecretInfo) -> Option<SystemTime> {
    [info.rotated, info.updated, info.created]
        .into_iter()
        .flatten()
        .max()
}

fn millis(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_millis()).ok())
}

/// What to record right after storing: the backend's change time and version.
pub fn baseline(info: Option<&SecretInfo>) -> Exposure {
    Exposure {
        changed_ms: info.and_then(changed).and_then(millis),
        version: info.and_then(|i| i.version.clone()),
    }
}

/// A secret protect moved out of a plaintext config.
#[derive(Debug, Clone)]
pub struct Exposed {
    /// When protect moved it.
    pub since: SystemTime,
    baseline: Exposure,
}

impl Exposed {
    /// Whether the backend shows a value newer than the one protect stored:
    /// another version when the backend versions, else a later change time.
    pub fn rotated(&self, info: &SecretInfo) -> bool {
        if let (Some(now), Some(then)) = (&info.version, &self.baseline.version) {
            return now != then;
        }
        let then = self.baseline.changed_ms.or_else(|| millis(self.since));
        match (changed(info).and_then(millis), then) {
            (Some(now), Some(then)) => now > then,
            _ => false,
        }
    }
}

/// The key exposures are found by: the reference without its selector.
pub fn key(r: &SecretRef) -> String {
    r.without_selector().to_string()
}

/// Every secret the journal says protect moved, by [`key`], the latest move
/// of each. Unreadable records are left out (restore reports them).
pub fn from_journal(data_dir: &Path) -> BTreeMap<String, Exposed> {
    let (records, _) = journal::read_all(data_dir);
    let mut out = BTreeMap::new();
    for (_, r) in records {
        let since = UNIX_EPOCH
            + Duration::from_secs(r.created)
            + Duration::from_nanos(r.sequence.min(999_999_999));
        for s in r.secrets {
            let Ok(reference) = SecretRef::parse(&s.reference) else {
                continue;
            };
            out.insert(
                key(&reference),
                Exposed {
                    since,
                    baseline: s.exposed.unwrap_or_default(),
                },
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(updated: u64, version: Option<&str>) -> SecretInfo {
        SecretInfo {
            name: "x".into(),
            created: Some(UNIX_EPOCH + Duration::from_secs(100)),
            updated: Some(UNIX_EPOCH + Duration::from_secs(updated)),
            rotated: None,
            version: version.map(str::to_string),
        }
    }

    #[test]
    fn rotation_is_a_newer_version_or_change() {
        let stored = info(200, None);
        let e = Exposed {
            since: UNIX_EPOCH + Duration::from_secs(200),
            baseline: baseline(Some(&stored)),
        };
        assert!(!e.rotated(&stored));
        assert!(e.rotated(&info(201, None)));
        let v = Exposed {
            since: UNIX_EPOCH,
            baseline: baseline(Some(&info(200, Some("1")))),
        };
        assert!(!v.rotated(&info(900, Some("1"))), "metadata-only change");
        assert!(v.rotated(&info(200, Some("2"))));
        // No baseline: protect's own time stands in.
        let old = Exposed {
            since: UNIX_EPOCH + Duration::from_secs(300),
            baseline: Exposure::default(),
        };
        assert!(!old.rotated(&info(250, None)));
        assert!(old.rotated(&info(301, None)));
    }
}
