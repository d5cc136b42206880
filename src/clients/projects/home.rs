//! Where a recorded path lands in this scan: used as it is (this machine's
//! own home), or moved from the recording machine's home onto `--home DIR`.
//!
//! The recording machine's home is inferred per layout (Linux `/home/<user>`
//! or `/root`, macOS `/Users/<user>`, Windows `<drive>:\Users\<user>`): the
//! home that most recorded paths of that layout lie in. Pure: no file system.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::path::{HomeKey, RecordedPath};

/// The inferred original homes: for each layout, the home most of `recorded`
/// lie in (on a tie, the first in sorted order, so the result is stable).
pub fn infer_homes(recorded: &[RecordedPath]) -> Vec<HomeKey> {
    let mut counts: BTreeMap<HomeKey, usize> = BTreeMap::new();
    for key in recorded.iter().filter_map(RecordedPath::home) {
        *counts.entry(key).or_default() += 1;
    }
    let mut best: BTreeMap<_, (usize, HomeKey)> = BTreeMap::new();
    for (key, n) in counts {
        let slot = best.entry(key.layout).or_insert((0, key.clone()));
        if n > slot.0 {
            *slot = (n, key);
        }
    }
    best.into_values().map(|(_, key)| key).collect()
}

/// How recorded paths become paths to look at.
#[derive(Debug, Clone)]
pub enum HomeMap {
    /// The state files are this machine's: a recorded path is used as it is
    /// (when it is a path of this system).
    InPlace,
    /// The state files come from the home at `dir` (`--home DIR`): a path
    /// in one of `homes` moves onto `dir`; any other path is used as it is
    /// only when `keep_outside` (DIR is that home itself, on this machine),
    /// else dropped: it names a folder of the machine the home came from.
    Onto {
        dir: PathBuf,
        homes: Vec<HomeKey>,
        keep_outside: bool,
    },
}

impl HomeMap {
    /// Where `p` is looked for, or `None` when it is not in this scan's reach.
    pub fn map(&self, p: &RecordedPath) -> Option<PathBuf> {
        match self {
            Self::InPlace => p.local(),
            Self::Onto {
                dir,
                homes,
                keep_outside,
            } => match homes.iter().find_map(|h| p.below(h)) {
                Some(rest) => Some(join(dir, rest)),
                None if *keep_outside => p.local(),
                None => None,
            },
        }
    }
}

fn join(dir: &Path, rest: &[String]) -> PathBuf {
    let mut out = dir.to_path_buf();
    out.extend(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(s: &str) -> RecordedPath {
        RecordedPath::parse(s).unwrap()
    }

    #[test]
    fn the_home_most_paths_share_wins_per_layout() {
        let recorded = [
            rp("/home/alice/a"),
            rp("/home/alice/b"),
            rp("/home/bob/c"),
            rp("/Users/alice/d"),
            rp(r"C:\Users\Alice\e"),
            rp("/srv/f"),
        ];
        let homes: Vec<String> = infer_homes(&recorded)
            .iter()
            .map(HomeKey::display)
            .collect();
        assert_eq!(homes, ["/home/alice", "/Users/alice", r"c:\users\alice"]);
        // A tie is broken by sorted order, never by input order.
        let tie = [rp("/home/zed/x"), rp("/home/amy/y")];
        let homes: Vec<String> = infer_homes(&tie).iter().map(HomeKey::display).collect();
        assert_eq!(homes, ["/home/amy"]);
        assert!(infer_homes(&[rp("/srv/x")]).is_empty());
    }

    #[test]
    fn paths_in_the_original_home_move_onto_dir() {
        let recorded = [rp("/home/alice/src/app"), rp(r"C:\Users\alice\w")];
        let map = HomeMap::Onto {
            dir: PathBuf::from("/fixture"),
            homes: infer_homes(&recorded),
            keep_outside: false,
        };
        let m = |s: &str| map.map(&rp(s));
        assert_eq!(
            m("/home/alice/src/app"),
            Some(PathBuf::from("/fixture/src/app"))
        );
        assert_eq!(m("/home/alice"), Some(PathBuf::from("/fixture")));
        assert_eq!(
            m(r"c:\users\ALICE\w\x"),
            Some(PathBuf::from("/fixture/w/x"))
        );
        assert_eq!(m("/home/bob/src"), None);
        assert_eq!(m("/srv/app"), None);
        assert_eq!(m("/home"), None);
        let in_place = HomeMap::Onto {
            dir: PathBuf::from("/home/alice"),
            homes: infer_homes(&recorded),
            keep_outside: true,
        };
        assert_eq!(
            in_place.map(&rp("/srv/app")),
            Some(PathBuf::from("/srv/app"))
        );
        assert_eq!(
            HomeMap::InPlace.map(&rp("/srv/app")),
            Some(PathBuf::from("/srv/app"))
        );
        if cfg!(unix) {
            assert_eq!(HomeMap::InPlace.map(&rp(r"C:\Users\a")), None);
        }
    }
}
