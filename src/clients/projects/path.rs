//! A path as a client recorded it, possibly on another machine: POSIX
//! (`/home/alice/src/app`) or Windows (`C:\Users\alice\src\app`), parsed from
//! plain text or a `file://` URI, normalised, and where its owner's home is.
//!
//! Pure: text in, text out; never touches the file system.

use std::path::PathBuf;

use percent_encoding::percent_decode_str;

use crate::clients::model::OsFamily;

/// Which syntax the path was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Style {
    Posix,
    Windows,
}

/// An absolute path as recorded: its style, drive (Windows) and normal
/// components (no `.`, no `..`, no empty ones).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordedPath {
    style: Style,
    /// `C:` for Windows paths (upper-case letter); empty for POSIX.
    drive: String,
    parts: Vec<String>,
}

/// The home a recorded path lies in, by the usual layout of each system:
/// `/home/<user>` or `/root` (Linux), `/Users/<user>` (macOS),
/// `<drive>:\Users\<user>` (Windows).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HomeKey {
    /// Which system's layout matched (a home per layout is inferred).
    pub layout: Layout,
    /// The home's components after the drive, for comparison (lower-case on
    /// Windows, whose paths ignore case).
    key: Vec<String>,
}

/// The system layout a home path follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    Linux,
    MacOs,
    Windows,
}

impl Layout {
    pub fn os(self) -> OsFamily {
        match self {
            Self::Linux => OsFamily::Linux,
            Self::MacOs => OsFamily::MacOs,
            Self::Windows => OsFamily::Windows,
        }
    }
}

impl RecordedPath {
    /// An absolute POSIX or Windows path (`\\?\` long-path prefix accepted).
    /// `None` for relative paths, UNC shares, NUL bytes and any `..`
    /// component (a recorded root never needs one, and mapping one onto
    /// another home must not climb out of it).
    pub fn parse(text: &str) -> Option<Self> {
        if text.contains('\0') {
            return None;
        }
        let text = text.strip_prefix(r"\\?\").unwrap_or(text);
        let bytes = text.as_bytes();
        if bytes.first() == Some(&b'/') {
            return Self::build(Style::Posix, String::new(), text.split('/'));
        }
        let drive = bytes.first().filter(|b| b.is_ascii_alphabetic());
        if let Some(letter) = drive
            && bytes.get(1) == Some(&b':')
            && matches!(bytes.get(2), Some(b'\\' | b'/') | None)
        {
            let drive = format!("{}:", char::from(letter.to_ascii_uppercase()));
            return Self::build(Style::Windows, drive, text[2..].split(['\\', '/']));
        }
        None
    }

    /// A local `file://` URI as VS Code writes them (`file:///home/a/x%20y`,
    /// `file:///c%3A/Users/a/x`). `None` for other schemes (`vscode-remote://`,
    /// `vscode-vfs://`, ...) and for URIs naming another host.
    pub fn from_file_uri(uri: &str) -> Option<Self> {
        let scheme = uri.get(..7)?;
        if !scheme.eq_ignore_ascii_case("file://") {
            return None;
        }
        let rest = &uri[7..];
        let slash = rest.find('/')?;
        let host = &rest[..slash];
        if !host.is_empty() && !host.eq_ignore_ascii_case("localhost") {
            return None;
        }
        let encoded = rest[slash..].split(['?', '#']).next().unwrap_or("");
        let path = percent_decode_str(encoded).decode_utf8().ok()?;
        // `/c:/Users/...` is a Windows path behind the URI's leading slash.
        let b = path.as_bytes();
        if b.len() >= 3 && b[1].is_ascii_alphabetic() && b[2] == b':' {
            return Self::parse(&path[1..]);
        }
        Self::parse(&path)
    }

    fn build<'a>(
        style: Style,
        drive: String,
        parts: impl Iterator<Item = &'a str>,
    ) -> Option<Self> {
        let mut out = Vec::new();
        for part in parts {
            match part {
                "" | "." => {}
                ".." => return None,
                p => out.push(p.to_string()),
            }
        }
        Some(Self {
            style,
            drive,
            parts: out,
        })
    }

    pub fn style(&self) -> Style {
        self.style
    }

    /// The folder that holds this one; `None` for a root.
    pub fn parent(&self) -> Option<Self> {
        let mut parts = self.parts.clone();
        parts.pop()?;
        Some(Self {
            parts,
            ..self.clone()
        })
    }

    /// `rel` (or an absolute path, which replaces this one) resolved against
    /// this folder; `..` climbs, but never above the root.
    pub fn resolve(&self, rel: &str) -> Option<Self> {
        if let Some(abs) = Self::parse(rel) {
            return Some(abs);
        }
        if rel.contains('\0') {
            return None;
        }
        let mut parts = self.parts.clone();
        let seps: &[char] = match self.style {
            Style::Posix => &['/'],
            Style::Windows => &['/', '\\'],
        };
        for part in rel.split(seps) {
            match part {
                "" | "." => {}
                ".." => {
                    parts.pop()?;
                }
                p => parts.push(p.to_string()),
            }
        }
        Some(Self {
            parts,
            ..self.clone()
        })
    }

    /// This path on the system mcp-warden runs on: POSIX paths on Unix.
    pub fn local(&self) -> Option<PathBuf> {
        if cfg!(windows) != (self.style == Style::Windows) {
            return None;
        }
        let mut p = PathBuf::from(if self.style == Style::Windows {
            format!("{}\\", self.drive)
        } else {
            "/".to_string()
        });
        p.extend(&self.parts);
        Some(p)
    }

    /// The home this path lies in (or is), by the usual layouts.
    pub fn home(&self) -> Option<HomeKey> {
        let p: Vec<&str> = self.parts.iter().map(String::as_str).collect();
        let (layout, key): (Layout, Vec<String>) = match (self.style, p.as_slice()) {
            (Style::Posix, ["home", user, ..]) => {
                (Layout::Linux, vec!["home".into(), (*user).to_string()])
            }
            (Style::Posix, ["root", ..]) => (Layout::Linux, vec!["root".into()]),
            (Style::Posix, ["Users", user, ..]) => {
                (Layout::MacOs, vec!["Users".into(), (*user).to_string()])
            }
            (Style::Windows, [users, user, ..]) if users.eq_ignore_ascii_case("users") => (
                Layout::Windows,
                vec![
                    self.drive.to_lowercase(),
                    "users".into(),
                    user.to_lowercase(),
                ],
            ),
            _ => return None,
        };
        Some(HomeKey { layout, key })
    }

    /// The components below `home`, when this path lies in it (or is it).
    pub fn below(&self, home: &HomeKey) -> Option<&[String]> {
        let mine = self.home()?;
        if mine != *home {
            return None;
        }
        // Windows keys carry the drive as their first element.
        let depth = match home.layout {
            Layout::Windows => home.key.len() - 1,
            _ => home.key.len(),
        };
        self.parts.get(depth..)
    }
}

impl HomeKey {
    /// The home as a path of this system, when it is one (POSIX homes on Unix).
    pub fn local(&self) -> Option<PathBuf> {
        if cfg!(windows) || self.layout == Layout::Windows {
            return None;
        }
        let mut p = PathBuf::from("/");
        p.extend(&self.key);
        Some(p)
    }

    /// `/home/alice`, `c:\users\alice`: for messages and documentation.
    pub fn display(&self) -> String {
        match self.layout {
            Layout::Windows => self.key.join("\\"),
            _ => format!("/{}", self.key.join("/")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<RecordedPath> {
        RecordedPath::parse(s)
    }

    fn parts(r: &RecordedPath) -> Vec<&str> {
        r.parts.iter().map(String::as_str).collect()
    }

    #[test]
    fn posix_and_windows_paths_parse_and_normalise() {
        let a = p("/home/alice//src/./app/").unwrap();
        assert_eq!(a.style(), Style::Posix);
        assert_eq!(parts(&a), ["home", "alice", "src", "app"]);
        let w = p(r"c:\Users\Alice\src/app").unwrap();
        assert_eq!(w.style(), Style::Windows);
        assert_eq!(w.drive, "C:");
        assert_eq!(parts(&w), ["Users", "Alice", "src", "app"]);
        assert_eq!(p(r"\\?\C:\Users\a\x"), p(r"C:\Users\a\x"));
        for bad in [
            "relative/path",
            "~/src",
            "/home/a/../../etc",
            r"\\server\share\x",
            "/a\0b",
            "",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
        assert_eq!(p("/").map(|r| r.parts.len()), Some(0));
    }

    #[test]
    fn file_uris_are_decoded_and_remote_ones_refused() {
        let a = RecordedPath::from_file_uri("file:///home/alice/my%20app");
        assert_eq!(a, p("/home/alice/my app"));
        let w = RecordedPath::from_file_uri("file:///c%3A/Users/alice/src/app");
        assert_eq!(w, p(r"C:\Users\alice\src\app"));
        let w2 = RecordedPath::from_file_uri("file:///D:/work");
        assert_eq!(w2, p("D:/work"));
        assert_eq!(
            RecordedPath::from_file_uri("FILE://localhost/srv/x"),
            p("/srv/x")
        );
        for bad in [
            "vscode-remote://ssh-remote%2Bbox/home/alice/app",
            "vscode-vfs://github/org/repo",
            "file://fileserver/share/app",
            "file:///home/a/%2E%2E/%2E%2E/etc",
            "file:///home/a/%FF",
            "/home/alice/app",
        ] {
            assert_eq!(RecordedPath::from_file_uri(bad), None, "{bad}");
        }
    }

    #[test]
    fn homes_by_layout() {
        let home = |s: &str| p(s).and_then(|r| r.home()).map(|h| (h.layout, h.display()));
        assert_eq!(
            home("/home/alice/src/app"),
            Some((Layout::Linux, "/home/alice".into()))
        );
        assert_eq!(home("/root/x"), Some((Layout::Linux, "/root".into())));
        assert_eq!(
            home("/Users/alice/x"),
            Some((Layout::MacOs, "/Users/alice".into()))
        );
        assert_eq!(
            home(r"C:\Users\Alice\x"),
            Some((Layout::Windows, r"c:\users\alice".into()))
        );
        assert_eq!(home("/srv/app"), None);
        assert_eq!(home("/home"), None);
        let app = p(r"C:\USERS\alice\src\app").unwrap();
        let key = p(r"c:\Users\ALICE").and_then(|r| r.home()).unwrap();
        assert_eq!(
            app.below(&key),
            Some(&["src".to_string(), "app".to_string()][..])
        );
        let other = p("/home/bob/x").unwrap();
        let alice = p("/home/alice").and_then(|r| r.home()).unwrap();
        assert_eq!(other.below(&alice), None);
    }

    #[test]
    fn relative_folders_resolve_against_their_workspace() {
        let ws = p("/home/alice/ws").unwrap();
        assert_eq!(ws.resolve("../src/app"), p("/home/alice/src/app"));
        assert_eq!(ws.resolve("."), Some(ws.clone()));
        assert_eq!(ws.resolve("/opt/x"), p("/opt/x"));
        assert_eq!(ws.resolve("../../../../x"), None);
        let wws = p(r"C:\Users\a\ws").unwrap();
        assert_eq!(wws.resolve(r"..\src\app"), p(r"C:\Users\a\src\app"));
        assert_eq!(ws.parent(), p("/home/alice"));
    }
}
