//! Machine mode's project roots: the folders clients remember (Claude Code's
//! `projects`, Codex trust entries, Gemini CLI's trusted folders, VS Code /
//! Cursor / Windsurf `workspaceStorage`), moved onto the scanned home,
//! de-duplicated and bounded, and the project-level config files at each root.
//!
//! Reads the clients' state files and checks which folders and files exist;
//! never reads a config file (the caller scans the locations returned), never
//! writes. A root that does not exist, or is not a directory, is passed over
//! silently, as is a state file that cannot be read or parsed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::clients::catalog::{self, EnvLookup, RecordFile, RecordKind};
use crate::clients::projects::{self as recorded, HomeMap, Opened, RecordedPath};
use crate::clients::read::MAX_CONFIG_BYTES;
use crate::clients::{Location, OsFamily};

/// Project roots followed in one scan, at most.
pub const MAX_ROOTS: usize = 500;
/// Candidate folders looked at, all sources together, at most.
const MAX_CANDIDATES: usize = 20_000;
/// State files other than `~/.claude.json` (which holds history and is
/// allowed [`MAX_CONFIG_BYTES`]) are far smaller than this.
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

/// Where to look and how to read recorded paths.
pub struct Options<'a> {
    /// The home scanned.
    pub home: &'a Path,
    /// The path sets scanned (`--os`).
    pub families: &'a [OsFamily],
    pub env: EnvLookup<'a>,
    /// `--home DIR` was given: the state files may come from another
    /// machine, and paths in its home are moved onto DIR.
    pub overridden: bool,
}

/// One project folder and every source that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRoot {
    pub path: PathBuf,
    /// `claude-code projects`, `codex trust`, `gemini-cli trustedFolders`,
    /// `<editor> workspaceStorage`, in the order first seen.
    pub sources: Vec<String>,
}

/// A config file found at a project root.
#[derive(Debug, Clone)]
pub struct ProjectFile {
    pub location: Location,
    /// Index into [`Discovered::roots`].
    pub root: usize,
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    /// The roots followed, at most [`MAX_ROOTS`].
    pub roots: Vec<ProjectRoot>,
    /// Existing roots left out by the bound.
    pub over_limit: usize,
    /// Config files at the roots that the user-level scan does not already have.
    pub files: Vec<ProjectFile>,
}

/// A recorded folder and the source that named it.
struct Named {
    path: RecordedPath,
    source: String,
}

/// Follows the project roots the clients under `opts.home` remember.
/// `known` are the files already found (the user-level configs): a root's
/// file that is one of them (a root at the home itself) is not listed again.
pub fn discover(opts: &Options<'_>, known: &[Location]) -> Discovered {
    let records = records(opts);
    let (mut named, workspaces) = read_records(&records);
    let map = home_map(opts, &named, &workspaces);
    named.extend(expand_workspaces(&workspaces, &map));
    let (roots, over_limit) = existing_roots(&named, &map);
    let files = root_files(&roots, known);
    Discovered {
        roots,
        over_limit,
        files,
    }
}

/// The state files of every path set scanned, each once.
fn records(opts: &Options<'_>) -> Vec<RecordFile> {
    let mut seen = HashSet::new();
    opts.families
        .iter()
        .flat_map(|os| catalog::project_records(opts.home, *os, opts.env))
        .filter(|r| seen.insert(r.path.clone()))
        .collect()
}

/// The folders the state files name, and the multi-root workspace files
/// they point at (read once the home mapping is known).
fn read_records(records: &[RecordFile]) -> (Vec<Named>, Vec<Named>) {
    let mut named = Vec::new();
    let mut workspaces = Vec::new();
    for record in records {
        let limit = match record.kind {
            RecordKind::ClaudeProjects => MAX_CONFIG_BYTES,
            _ => MAX_STATE_BYTES,
        };
        let Ok(bytes) = super::read_limited(&record.path, limit) else {
            continue;
        };
        let source = record.source();
        let paths = match record.kind {
            RecordKind::ClaudeProjects => recorded::claude_projects(&bytes),
            RecordKind::CodexTrust => recorded::codex_projects(&bytes),
            RecordKind::GeminiTrustedFolders => recorded::gemini_trusted(&bytes),
            RecordKind::WorkspaceStorage => match recorded::workspace_json(&bytes) {
                Some(Opened::Folder(path)) => vec![path],
                Some(Opened::Workspace(path)) => {
                    workspaces.push(Named { path, source });
                    continue;
                }
                None => Vec::new(),
            },
        };
        named.extend(paths.into_iter().map(|path| Named {
            path,
            source: source.clone(),
        }));
    }
    (named, workspaces)
}

/// In place for this machine's own home; under `--home DIR`, the recording
/// machine's home (inferred from every recorded path) moves onto DIR.
fn home_map(opts: &Options<'_>, named: &[Named], workspaces: &[Named]) -> HomeMap {
    if !opts.overridden {
        return HomeMap::InPlace;
    }
    let all: Vec<RecordedPath> = named
        .iter()
        .chain(workspaces)
        .map(|n| n.path.clone())
        .collect();
    let homes = recorded::infer_homes(&all);
    let dir = canonical(opts.home);
    let keep_outside = homes
        .iter()
        .filter_map(|h| h.local())
        .any(|h| canonical(&h) == dir);
    HomeMap::Onto {
        dir: opts.home.to_path_buf(),
        homes,
        keep_outside,
    }
}

/// The folders of each multi-root workspace file, named by the source that
/// opened it.
fn expand_workspaces(workspaces: &[Named], map: &HomeMap) -> Vec<Named> {
    let mut out = Vec::new();
    let mut read = HashSet::new();
    for ws in workspaces {
        let Some(file) = map.map(&ws.path) else {
            continue;
        };
        if !read.insert((file.clone(), ws.source.clone())) {
            continue;
        }
        let Ok(bytes) = super::read_limited(&file, MAX_STATE_BYTES) else {
            continue;
        };
        out.extend(
            recorded::workspace_folders(&bytes, &ws.path)
                .into_iter()
                .map(|path| Named {
                    path,
                    source: ws.source.clone(),
                }),
        );
    }
    out
}

/// The named folders that exist, each once (by canonical path) with all
/// its sources, the first [`MAX_ROOTS`] of them; and how many more exist.
fn existing_roots(named: &[Named], map: &HomeMap) -> (Vec<ProjectRoot>, usize) {
    let mut roots: Vec<ProjectRoot> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let mut over: HashSet<PathBuf> = HashSet::new();
    for n in named.iter().take(MAX_CANDIDATES) {
        let Some(path) = map.map(&n.path) else {
            continue;
        };
        if !path.is_dir() {
            continue;
        }
        let key = canonical(&path);
        match index.get(&key) {
            Some(&i) => {
                if let Some(root) = roots.get_mut(i)
                    && !root.sources.contains(&n.source)
                {
                    root.sources.push(n.source.clone());
                }
            }
            None if roots.len() < MAX_ROOTS => {
                index.insert(key, roots.len());
                roots.push(ProjectRoot {
                    path,
                    sources: vec![n.source.clone()],
                });
            }
            None => {
                over.insert(key);
            }
        }
    }
    (roots, over.len())
}

/// The project-level config files at each root, each file once, leaving out
/// those already `known`.
fn root_files(roots: &[ProjectRoot], known: &[Location]) -> Vec<ProjectFile> {
    let mut seen: HashSet<PathBuf> = known.iter().map(|l| canonical(&l.path)).collect();
    let mut files = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        for location in catalog::project_files(&root.path) {
            if seen.insert(canonical(&location.path)) {
                files.push(ProjectFile { location, root: i });
            }
        }
    }
    files
}

/// The path with links resolved, or as given when that fails.
fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Sets each result's project root from the discovery that found its file.
pub fn attach(files: &mut [super::finding::FileResult], discovered: &Discovered) {
    let by_path: HashMap<&Path, &ProjectRoot> = discovered
        .files
        .iter()
        .filter_map(|f| {
            discovered
                .roots
                .get(f.root)
                .map(|r| (f.location.path.as_path(), r))
        })
        .collect();
    for file in files {
        if let Some(root) = by_path.get(file.path.as_path()) {
            file.project_root = Some((*root).clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(path: &Path, source: &str) -> Named {
        Named {
            path: RecordedPath::parse(&path.display().to_string()).unwrap(),
            source: source.to_string(),
        }
    }

    #[test]
    fn one_root_per_folder_with_every_source_and_only_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real");
        std::fs::create_dir_all(real.join(".cursor")).unwrap();
        std::fs::write(real.join(".cursor/mcp.json"), "{}").unwrap();
        let link = tmp.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let file = tmp.path().join("a-file");
        std::fs::write(&file, "").unwrap();
        let list = [
            named(&real, "claude-code projects"),
            named(&link, "codex trust"),
            named(&real, "claude-code projects"),
            named(&file, "codex trust"),
            named(&tmp.path().join("gone"), "codex trust"),
        ];
        let (roots, over) = existing_roots(&list, &HomeMap::InPlace);
        assert_eq!(over, 0);
        assert_eq!(
            roots,
            [ProjectRoot {
                path: real.clone(),
                sources: vec!["claude-code projects".into(), "codex trust".into()],
            }]
        );
        // The file is listed once, and not at all when it is already known.
        let files = root_files(&roots, &[]);
        assert_eq!(files.len(), 1);
        let known = Location {
            client: "cursor",
            scope: crate::clients::Scope::User,
            path: link.join(".cursor/mcp.json"),
            format: crate::clients::Format::Json,
        };
        assert!(root_files(&roots, &[known]).is_empty());
    }
}
