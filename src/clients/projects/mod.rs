//! The project folders clients remember, read from their state files
//! (located by [`crate::clients::catalog::project_records`]): Claude Code's
//! `projects`, Codex trust entries, Gemini CLI's trusted folders, VS Code
//! family `workspace.json` files and the multi-root workspaces they open
//! ([`formats`]); recorded paths as text of any system ([`path`]); and how a
//! path recorded on another machine lands under `--home DIR` ([`home`]).
//!
//! Pure: bytes and text in, paths out. Never touches the file system; the
//! caller reads the files and checks which folders exist.

pub mod formats;
pub mod home;
pub mod path;

pub use formats::{
    MAX_ENTRIES, Opened, claude_projects, codex_projects, gemini_trusted, workspace_folders,
    workspace_json,
};
pub use home::{HomeMap, infer_homes};
pub use path::{HomeKey, Layout, RecordedPath, Style};
