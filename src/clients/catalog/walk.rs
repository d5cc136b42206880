//! Bounded directory listing for the catalog's few open-ended locations
//! (plugin trees, token caches, block folders).
//!
//! Never follows a symbolic link to a directory (so no loop can form), stops
//! at a depth and an entry budget, and ignores what it cannot read. Symbolic
//! links to files are kept: dotfile managers link config files routinely.

use std::fs;
use std::path::{Path, PathBuf};

/// How far and how much one walk may look.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// 1 = the directory's own entries only.
    pub depth: usize,
    /// Entries looked at, all levels together.
    pub entries: usize,
}

/// Files under `dir` (sorted) whose name `wanted` accepts, given the file's
/// path relative to `dir`.
pub(crate) fn files(dir: &Path, limits: Limits, wanted: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut budget = limits.entries;
    let mut stack = vec![(dir.to_path_buf(), 1usize)];
    while let Some((current, depth)) = stack.pop() {
        let Ok(reader) = fs::read_dir(&current) else {
            continue;
        };
        for entry in reader {
            if budget == 0 {
                found.sort();
                return found;
            }
            budget -= 1;
            let Ok(entry) = entry else { continue };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                if depth < limits.depth {
                    stack.push((path, depth + 1));
                }
            } else if (kind.is_file() || (kind.is_symlink() && path.is_file()))
                && path.strip_prefix(dir).is_ok_and(wanted)
            {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The real subdirectories (not links) of `dir` whose name `wanted` accepts,
/// sorted, looking at no more than `limit` entries.
pub(crate) fn subdirs(dir: &Path, limit: usize, wanted: &dyn Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(reader) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = reader
        .take(limit)
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| e.file_name().to_str().is_some_and(wanted))
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_never_follows_directory_links() {
        let Ok(tmp) = tempfile::tempdir() else {
            panic!("tempdir")
        };
        let root = tmp.path();
        let deep = root.join("a/b/c");
        assert!(fs::create_dir_all(&deep).is_ok());
        for p in ["a/x.json", "a/b/c/y.json", "z.txt"] {
            assert!(fs::write(root.join(p), "{}").is_ok());
        }
        #[cfg(unix)]
        {
            // a loop back to the root, and a link to a file
            assert!(std::os::unix::fs::symlink(root, root.join("a/b/loop")).is_ok());
            assert!(std::os::unix::fs::symlink(root.join("a/x.json"), root.join("l.json")).is_ok());
        }
        let json = |p: &Path| p.extension().is_some_and(|e| e == "json");
        let all = files(
            root,
            Limits {
                depth: 8,
                entries: 1000,
            },
            &json,
        );
        let mut expected = vec![root.join("a/b/c/y.json"), root.join("a/x.json")];
        if cfg!(unix) {
            expected.push(root.join("l.json"));
        }
        expected.sort();
        assert_eq!(all, expected);
        let shallow = files(
            root,
            Limits {
                depth: 2,
                entries: 1000,
            },
            &json,
        );
        assert!(!shallow.contains(&root.join("a/b/c/y.json")));
        let few = files(
            root,
            Limits {
                depth: 8,
                entries: 1,
            },
            &json,
        );
        assert!(few.len() <= 1);
    }
}
