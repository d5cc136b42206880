//! The 1Password CLI, `op`: `op item get --vault=VAULT --format=json -- ITEM`
//! (one run per item, however many of its fields are wanted), `op read REF`
//! (file attachments, one-time passwords), `op item list` and `op whoami`.
//!
//! Owns finding `op` on PATH (absolute entries only; no shell), the argv
//! (names and references only, never a value), bounding each run by the
//! deadline (the process is killed when it passes) and its output by size,
//! keeping stdout (values) out of every message, and summarising stderr as
//! one line without values. `op` signs in by itself: a service account
//! (`OP_SERVICE_ACCOUNT_TOKEN`) or the desktop app. Must not write.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use zeroize::Zeroizing;

use super::item::{Field, FileRef, Item};
use super::target::{Attribute, ItemKey};
use crate::backend::ErrorKind;
use crate::backend::rest::{Fail, one_line};
use crate::secret::SecretValue;

/// The most `op` may print: an item with attachments listed, or one file.
const MAX_STDOUT: usize = 4 << 20;
/// Only one line of stderr is quoted; more is read and dropped.
const MAX_STDERR: usize = 64 << 10;

/// Settings `op` must not inherit from us (see `run`).
const CHILD_ENV_REMOVED: [&str; 3] = ["OP_CONNECT_HOST", "OP_CONNECT_TOKEN", "OP_INCLUDE_ARCHIVE"];

/// `op` in an absolute PATH directory: an empty or relative entry would run
/// an `op` from the working directory.
pub(crate) fn find_op() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|d| d.is_absolute())
        .map(|d| d.join("op"))
        .find(|p| p.is_file())
}

fn missing() -> Fail {
    Fail::new(
        ErrorKind::Config,
        "the 1Password CLI `op` is not on PATH; install it, or set OP_CONNECT_HOST and \
         OP_CONNECT_TOKEN to use a Connect server",
    )
}

/// What `op` printed and how it ended.
struct Output {
    status: std::process::ExitStatus,
    stdout: Zeroizing<Vec<u8>>,
    stderr: Zeroizing<Vec<u8>>,
}

/// Reads at most `cap` bytes of `r`; `None` when there is more. The buffer
/// grows as output arrives (most runs print a few KiB), by a copy into a
/// new one, so every buffer let go of is zeroized, never left to realloc.
async fn read_capped(
    r: Option<impl tokio::io::AsyncRead + Unpin>,
    cap: usize,
) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    use tokio::io::AsyncReadExt;
    let mut buf = Zeroizing::new(Vec::new());
    let Some(r) = r else {
        return Ok(Some(buf));
    };
    let mut r = r.take(cap as u64 + 1);
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = r.read(&mut chunk[..]).await?;
        if n == 0 {
            break;
        }
        append(&mut buf, &chunk[..n]);
    }
    Ok((buf.len() <= cap).then_some(buf))
}

/// Appends `more` to `buf`; when it does not fit, into a new buffer twice as
/// large, the old one zeroized on drop.
fn append(buf: &mut Zeroizing<Vec<u8>>, more: &[u8]) {
    let need = buf.len() + more.len();
    if need > buf.capacity() {
        let mut grown = Zeroizing::new(Vec::with_capacity(need.max(buf.capacity() * 2).max(8192)));
        grown.extend_from_slice(buf);
        *buf = grown;
    }
    buf.extend_from_slice(more);
}

/// Runs `op ARGS` to its end or until `deadline` (then it is killed).
async fn run(args: &[&str], deadline: Instant) -> Result<Output, Fail> {
    let op = find_op().ok_or_else(missing)?;
    let mut cmd = tokio::process::Command::new(&op);
    // `op` would use these itself: Connect settings send its token to any
    // host (cleartext http included) and archived items would be read.
    // `?via=cli` means the CLI's own sign-in, nothing else.
    for name in CHILD_ENV_REMOVED {
        cmd.env_remove(name);
    }
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| {
        Fail::new(
            ErrorKind::Config,
            format!("cannot start the 1Password CLI ({}): {e}", op.display()),
        )
    })?;
    let work = async {
        let (out, err) = tokio::join!(
            read_capped(child.stdout.take(), MAX_STDOUT),
            read_capped(child.stderr.take(), MAX_STDERR)
        );
        let failed = |e: std::io::Error| {
            Fail::new(
                ErrorKind::Io,
                format!("cannot read the 1Password CLI's output: {e}"),
            )
        };
        let Some(stdout) = out.map_err(failed)? else {
            return Err(Fail::new(
                ErrorKind::BadData,
                "the 1Password CLI printed more than 4 MiB on stdout; not read",
            ));
        };
        let Some(stderr) = err.map_err(failed)? else {
            return Err(Fail::new(
                ErrorKind::BadData,
                "the 1Password CLI printed more than 64 KiB on stderr; not read",
            ));
        };
        let status = child.wait().await.map_err(failed)?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    };
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, work).await {
        Ok(r) => r,
        // Dropping `work` drops the child, which kills it.
        Err(_) => Err(Fail::new(
            ErrorKind::TimedOut,
            "the 1Password CLI did not answer in time and was stopped; check it is signed in \
             (a desktop app prompt waits for you), or raise --timeout",
        )),
    }
}

/// Runs `op` and returns its stdout, or the failure its stderr describes.
async fn stdout_of(args: &[&str], deadline: Instant) -> Result<Zeroizing<Vec<u8>>, Fail> {
    let out = run(args, deadline).await?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    Err(failure(&out.stderr))
}

/// `op item get --vault=VAULT --format=json -- ITEM`: the whole item. Names
/// are never where a flag could be read: `--vault=` joins the vault to its
/// flag, and `--` ends the flags before the item (a title may start with `-`).
pub(crate) async fn item(key: &ItemKey, deadline: Instant) -> Result<Item, Fail> {
    let out = stdout_of(
        &[
            "item",
            "get",
            &format!("--vault={}", key.vault),
            "--format=json",
            "--no-color",
            "--",
            &key.item,
        ],
        deadline,
    )
    .await?;
    Item::parse(&out, "the 1Password CLI")
}

/// The field or file of an item that `op read` is to read, by ID: what
/// [`super::item::select`] chose, so `op` cannot resolve a name otherwise.
#[derive(Debug, Clone)]
pub(crate) struct ReadPath {
    pub section: Option<String>,
    pub id: String,
}

impl ReadPath {
    pub fn field(f: &Field) -> ReadPath {
        ReadPath {
            section: f.section_id().map(str::to_string),
            id: f.id.clone(),
        }
    }

    pub fn file(f: &FileRef) -> ReadPath {
        ReadPath {
            section: f.section_id().map(str::to_string),
            id: f.id.clone(),
        }
    }
}

/// `op://VAULT_ID/ITEM_ID[/SECTION_ID]/FIELD_ID[?attribute=…]`: IDs only
/// (1Password's references take an ID wherever a name goes), each checked to
/// hold only what a reference allows, so no name can add a `/` part or a
/// `?` query.
fn reference(item: &Item, at: &ReadPath, attribute: Attribute) -> Result<String, Fail> {
    let vault = item.vault.as_ref().map(|v| v.id.as_str()).unwrap_or("");
    let mut parts = vec![vault, item.id.as_str()];
    parts.extend(at.section.as_deref());
    parts.push(&at.id);
    // What 1Password's reference syntax allows; older items have section
    // IDs such as "add more".
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ');
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.chars().all(allowed))
    {
        return Err(Fail::new(
            ErrorKind::BadData,
            "the 1Password CLI gave an item whose vault, item, section or field ID cannot go \
             into an `op read` reference; update the CLI",
        ));
    }
    let mut s = format!("op://{}", parts.join("/"));
    if !matches!(attribute, Attribute::Value | Attribute::Content) {
        s.push_str("?attribute=");
        s.push_str(attribute.as_str());
    }
    Ok(s)
}

/// `op read --no-newline -- op://IDS`: one field, attachment or one-time
/// password of `item`, named by IDs only.
pub(crate) async fn read(
    item: &Item,
    at: &ReadPath,
    attribute: Attribute,
    deadline: Instant,
) -> Result<SecretValue, Fail> {
    let r = reference(item, at, attribute)?;
    let out = stdout_of(&["read", "--no-newline", "--no-color", "--", &r], deadline).await?;
    Ok(SecretValue::from_slice(&out))
}

/// An item as `op item list` shows it.
pub(crate) struct Listed {
    pub title: String,
    pub created: Option<std::time::SystemTime>,
    pub updated: Option<std::time::SystemTime>,
}

/// `op item list --vault=VAULT --format=json`: titles and times, no values.
pub(crate) async fn list(vault: &str, deadline: Instant) -> Result<Vec<Listed>, Fail> {
    #[derive(serde::Deserialize)]
    struct Row {
        #[serde(default)]
        title: String,
        #[serde(default)]
        created_at: Option<String>,
        #[serde(default)]
        updated_at: Option<String>,
    }
    let out = stdout_of(
        &[
            "item",
            "list",
            &format!("--vault={vault}"),
            "--format=json",
            "--no-color",
        ],
        deadline,
    )
    .await?;
    let rows: Vec<Row> = serde_json::from_slice(&out).map_err(|_| {
        Fail::new(
            ErrorKind::BadData,
            "the 1Password CLI printed an item list that is not JSON; update it",
        )
    })?;
    let t = |s: &Option<String>| s.as_deref().and_then(crate::backend::rest::rfc3339);
    Ok(rows
        .into_iter()
        .map(|r| Listed {
            created: t(&r.created_at),
            updated: t(&r.updated_at),
            title: r.title,
        })
        .collect())
}

/// For `doctor`: where `op` is and who it is signed in as (`op whoami`).
pub(crate) async fn whoami(deadline: Instant) -> Result<String, Fail> {
    #[derive(serde::Deserialize)]
    struct Who {
        #[serde(default)]
        url: Option<String>,
        #[serde(default)]
        user_type: Option<String>,
        #[serde(default)]
        email: Option<String>,
    }
    let op = find_op().ok_or_else(missing)?;
    let out = stdout_of(&["whoami", "--format", "json", "--no-color"], deadline).await?;
    let who: Who = serde_json::from_slice(&out).map_err(|_| {
        Fail::new(
            ErrorKind::BadData,
            "`op whoami` printed something that is not JSON; update the 1Password CLI",
        )
    })?;
    let account = who
        .email
        .or(who.user_type)
        .unwrap_or_else(|| "an account".into());
    Ok(format!(
        "{} signed in as {}{}",
        op.display(),
        one_line(&account, 80),
        who.url
            .map(|u| format!(" at {}", one_line(&u, 80)))
            .unwrap_or_default()
    ))
}

/// The failure `op`'s stderr describes, as one line: its first `[ERROR]`
/// line (or first line) without the date, and nothing of the other lines,
/// which may echo data.
fn failure(stderr: &[u8]) -> Fail {
    let text = strip_escapes(&String::from_utf8_lossy(stderr));
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("[ERROR]"))
        .or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()))
        .unwrap_or("");
    let said = strip_date(first.trim_start_matches("[ERROR]").trim());
    let said = one_line(said, 200);
    let lower = said.to_ascii_lowercase();
    let (kind, hint) = if busy(&lower) {
        (
            ErrorKind::Unreachable,
            "1Password is throttling or failing; try again later",
        )
    } else if lower.contains("isn't an item")
        || lower.contains("isn't a vault")
        || lower.contains("isn't a field")
        || lower.contains("not found")
        || lower.contains("no item found")
        || lower.contains("could not find")
    {
        (ErrorKind::NotFound, "check the vault, item and field names")
    } else if lower.contains("not currently signed in")
        || lower.contains("not signed in")
        || lower.contains("sign in")
        || lower.contains("signin")
        || lower.contains("authorization")
        || lower.contains("unauthorized")
        || lower.contains("forbidden")
        || lower.contains("permission")
        || lower.contains("service account")
    {
        (
            ErrorKind::Denied,
            "sign in (`op signin`) or set OP_SERVICE_ACCOUNT_TOKEN to a token with access",
        )
    } else if lower.contains("connection")
        || lower.contains("network")
        || lower.contains("timeout")
        || lower.contains("dial tcp")
        || lower.contains("no such host")
    {
        (ErrorKind::Unreachable, "check the network")
    } else {
        (ErrorKind::Config, "run the same `op` command to see why")
    };
    let said = if said.is_empty() {
        "failed without a message".to_string()
    } else {
        format!("said: {said}")
    };
    Fail::new(kind, format!("the 1Password CLI {said}; {hint}"))
}

/// Whether `op` says 1Password throttled it (429) or failed (5xx).
fn busy(lower: &str) -> bool {
    const SAID: [&str; 7] = [
        "too many requests",
        "rate limit",
        "internal server error",
        "bad gateway",
        "service unavailable",
        "gateway timeout",
        "(429)",
    ];
    if SAID.iter().any(|s| lower.contains(s)) {
        return true;
    }
    // A status code in parentheses or after "status": (500) … (599), status 503.
    let b = lower.as_bytes();
    (0..b.len().saturating_sub(2)).any(|i| {
        b[i] == b'5'
            && b[i + 1].is_ascii_digit()
            && b[i + 2].is_ascii_digit()
            && !b.get(i + 3).is_some_and(u8::is_ascii_digit)
            && (i == 0 || !b[i - 1].is_ascii_digit())
            && (lower[..i].ends_with('(')
                || lower[..i].ends_with("status ")
                || lower[..i].ends_with("status code "))
    })
}

/// `2024/01/02 03:04:05 message` -> `message`.
fn strip_date(s: &str) -> &str {
    let mut parts = s.splitn(3, ' ');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(d), Some(t), Some(rest))
            if d.len() == 10 && d.as_bytes()[4] == b'/' && t.contains(':') =>
        {
            rest
        }
        _ => s,
    }
}

/// Drops ANSI escape sequences (`ESC [ … letter`).
fn strip_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\u{1b}' {
            if it.peek() == Some(&'[') {
                it.next();
                for n in it.by_ref() {
                    if n.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_read_references_are_ids_only() {
        let item = Item::parse(
            br#"{"id": "iiii1", "title": "A?attribute=type", "vault": {"id": "vvvv1"},
                "sections": [{"id": "s1", "label": "Admin/Ops"}]}"#,
            "test",
        )
        .unwrap();
        let at = |section: Option<&str>, id: &str| ReadPath {
            section: section.map(str::to_string),
            id: id.into(),
        };
        assert_eq!(
            reference(&item, &at(Some("s1"), "otp1"), Attribute::Otp).unwrap(),
            "op://vvvv1/iiii1/s1/otp1?attribute=otp"
        );
        assert_eq!(
            reference(&item, &at(Some("add more"), "otp1"), Attribute::Otp).unwrap(),
            "op://vvvv1/iiii1/add more/otp1?attribute=otp"
        );
        assert_eq!(
            reference(&item, &at(None, "file1"), Attribute::Content).unwrap(),
            "op://vvvv1/iiii1/file1"
        );
        for bad in ["a?attribute=type", "a/b", ""] {
            assert!(
                reference(&item, &at(None, bad), Attribute::Value).is_err(),
                "{bad}"
            );
        }
        let no_vault = Item::parse(br#"{"id": "iiii1"}"#, "test").unwrap();
        assert!(reference(&no_vault, &at(None, "f"), Attribute::Otp).is_err());
    }

    #[test]
    fn stderr_becomes_one_line_from_the_error_line_only() {
        let f = failure(
            b"[ERROR] 2026/12/03 05:00:00 \"Nope\" isn't an item in the \"dev\" vault. Specify the item with its UUID, name, or domain.\nvalue=s3cr3t-canary\n",
        );
        assert_eq!(f.kind, ErrorKind::NotFound);
        assert!(f.message.contains("isn't an item"), "{}", f.message);
        assert!(!f.message.contains("2026/12/03"), "{}", f.message);
        assert!(!f.message.contains("s3cr3t"), "{}", f.message);
        let f = failure(
            b"\x1b[31m[ERROR] 2026/12/03 05:00:00 You are not currently signed in.\x1b[0m\n",
        );
        assert_eq!(f.kind, ErrorKind::Denied, "{}", f.message);
        assert!(!f.message.contains('\u{1b}'));
        assert_eq!(failure(b"").kind, ErrorKind::Config);
    }

    #[test]
    fn throttling_and_server_failures_are_unreachable() {
        for said in [
            "[ERROR] 2026/12/03 05:00:00 Too many requests. Try again later.",
            "[ERROR] 2026/12/03 05:00:00 (429) Too Many Requests",
            "[ERROR] 2026/12/03 05:00:00 (500) Internal Server Error",
            "[ERROR] 2026/12/03 05:00:00 unexpected status 503 from the server",
            "[ERROR] 2026/12/03 05:00:00 (502) Bad Gateway",
        ] {
            assert_eq!(
                failure(said.as_bytes()).kind,
                ErrorKind::Unreachable,
                "{said}"
            );
        }
        // A 5 in a name is not a status.
        let f = failure(b"[ERROR] \"A500\" isn't an item in the \"dev\" vault.");
        assert_eq!(f.kind, ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn output_is_read_whole_up_to_the_cap_only() {
        let big = vec![7u8; 100_000];
        let got = read_capped(Some(&big[..]), 100_000).await.unwrap().unwrap();
        assert_eq!(&got[..], &big[..]);
        assert!(got.capacity() < 4 << 20, "no 4 MiB buffer for 100 KB");
        assert!(read_capped(Some(&big[..]), 99_999).await.unwrap().is_none());
        let none: Option<&[u8]> = None;
        assert!(read_capped(none, 10).await.unwrap().unwrap().is_empty());
    }
}
