//! What can go wrong with the OS credential store, each as one diagnosis and
//! one fix: the line `run`, `secret` and `doctor` print.
//!
//! Owns the wording and the exit-code kind of every keychain failure. Pure
//! data: never talks to the store, never holds a value.

use super::super::{BackendError, ErrorKind};
use super::location::Location;

/// One keychain failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// `DBUS_SESSION_BUS_ADDRESS` is unset and no session bus was found.
    NoSession,
    /// The session bus named in `DBUS_SESSION_BUS_ADDRESS` did not accept a connection.
    DeadSession(String),
    /// The session bus works, but nothing provides `org.freedesktop.secrets`.
    NoProvider,
    /// The collection holding the item is locked and no desktop can prompt.
    Locked,
    /// The unlock prompt was shown and not answered within the timeout.
    PromptUnanswered,
    /// The unlock prompt was dismissed.
    Dismissed,
    /// The store refused access.
    Refused(String),
    /// No item with this service and account.
    NotFound(Location),
    /// Several items match and other applications stored some of them.
    Shared { location: Location, matches: usize },
    /// The platform's store does not accept this service or account (empty, too long).
    Rejected(String),
    /// The platform's store holds several credentials for this item.
    Ambiguous(usize),
    /// Windows: the credential under target name SERVICE has another user name.
    OtherAccount(Location),
    /// The store has no default collection to create items in.
    NoDefaultCollection,
    /// The store did not answer in time.
    NoAnswer,
    /// An earlier call of this process is still waiting for the store.
    Stalled,
    /// No credential store is built for this platform.
    NoPlatform,
    /// The platform's store does not offer this operation.
    Unsupported(String),
    /// Anything else the store reported (never a value).
    Other(String),
}

/// What `doctor` learns from a keychain that works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Reachable, and items can be read without a prompt.
    Unlocked,
    /// Reachable and locked: the first read asks on the desktop to unlock it.
    LockedWillPrompt,
}

impl Health {
    pub fn detail(self) -> &'static str {
        match self {
            Health::Unlocked => "the keychain answers and its default keyring is unlocked",
            Health::LockedWillPrompt => {
                "the keychain answers; its default keyring is locked and the first read \
                 will ask on the desktop to unlock it"
            }
        }
    }
}

impl Problem {
    /// The exit-code kind: missing 78, denied 77, unreachable or locked 69.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Problem::NotFound(_) => ErrorKind::NotFound,
            Problem::Dismissed | Problem::Refused(_) => ErrorKind::Denied,
            Problem::NoSession
            | Problem::DeadSession(_)
            | Problem::NoProvider
            | Problem::Locked
            | Problem::Other(_) => ErrorKind::Unreachable,
            Problem::PromptUnanswered | Problem::NoAnswer | Problem::Stalled => ErrorKind::TimedOut,
            Problem::NoDefaultCollection
            | Problem::NoPlatform
            | Problem::OtherAccount(_)
            | Problem::Shared { .. }
            | Problem::Rejected(_)
            | Problem::Ambiguous(_) => ErrorKind::Config,
            Problem::Unsupported(_) => ErrorKind::Unsupported,
        }
    }

    /// What is wrong, in one clause.
    pub fn diagnosis(&self) -> String {
        match self {
            Problem::NoSession => "no D-Bus session: DBUS_SESSION_BUS_ADDRESS is unset, so the \
                 Secret Service (the keychain) cannot be reached"
                .into(),
            Problem::DeadSession(detail) => {
                format!("the D-Bus session in DBUS_SESSION_BUS_ADDRESS does not answer ({detail})")
            }
            Problem::NoProvider => {
                "no Secret Service on this D-Bus session (nothing provides org.freedesktop.secrets)"
                    .into()
            }
            Problem::Locked => {
                "the keyring is locked and there is no desktop session to ask for its password"
                    .into()
            }
            Problem::PromptUnanswered => {
                "the keyring is locked and its unlock prompt was not answered in time".into()
            }
            Problem::Dismissed => {
                "the keyring's unlock prompt was dismissed (or could not be shown)".into()
            }
            Problem::Refused(detail) => format!("the Secret Service refused access ({detail})"),
            Problem::NotFound(loc) => format!(
                "no keychain item with service {:?} and account {:?}",
                loc.service, loc.account
            ),
            Problem::Shared { location, matches } => format!(
                "{matches} keychain items have service {:?} and account {:?} and other \
                 applications stored some of them, so mcp-warden removes none",
                location.service, location.account
            ),
            Problem::Rejected(detail) => {
                format!("the keychain does not accept this item ({detail})")
            }
            Problem::Ambiguous(count) => format!("{count} keychain credentials match this item"),
            Problem::OtherAccount(loc) => format!(
                "the Windows credential for service {:?} belongs to another account, not {:?} \
                 (Windows keeps one account per target name)",
                loc.service, loc.account
            ),
            Problem::NoDefaultCollection => {
                "the Secret Service has no default collection to store new items in".into()
            }
            Problem::NoAnswer => "the keychain did not answer in time".into(),
            Problem::Stalled => "the keychain did not answer an earlier request of this run \
                 (still waiting for it), so nothing more was asked"
                .into(),
            Problem::NoPlatform => "no OS credential store is built for this platform".into(),
            Problem::Unsupported(why) => format!("the keychain cannot do this: {why}"),
            Problem::Other(detail) => format!("the keychain failed: {detail}"),
        }
    }

    /// How to fix it, in one clause.
    pub fn fix(&self) -> String {
        match self {
            Problem::NoSession => "run mcp-warden inside your desktop session, or point it at \
                 the session bus: export DBUS_SESSION_BUS_ADDRESS=unix:path=$XDG_RUNTIME_DIR/bus"
                .into(),
            Problem::DeadSession(_) => "that session has ended: run from a live desktop session, \
                 or export the address of the running session bus (usually \
                 unix:path=$XDG_RUNTIME_DIR/bus)"
                .into(),
            Problem::NoProvider => "start a keyring daemon (gnome-keyring-daemon --start \
                 --components=secrets) or enable KeePassXC's Secret Service integration"
                .into(),
            Problem::Locked => "unlock it and retry: log in to the desktop, or pipe its password \
                 to gnome-keyring-daemon --unlock"
                .into(),
            Problem::PromptUnanswered => {
                "answer the prompt on the desktop, or raise --timeout".into()
            }
            Problem::Dismissed => {
                "unlock the keyring when asked (or beforehand), then retry".into()
            }
            Problem::Refused(_) => {
                "allow mcp-warden in your keyring's access settings (KeePassXC: \
                 Secret Service integration), or in a sandbox grant \
                 --talk-name=org.freedesktop.secrets"
                    .into()
            }
            Problem::NotFound(loc) => {
                format!("store it: mcp-warden secret set {}", loc.reference_text())
            }
            Problem::Shared { location, .. } => format!(
                "remove them with the programs that stored them, or all at once: \
                 secret-tool clear service {} username {}",
                shell_word(&location.service),
                shell_word(&location.account)
            ),
            Problem::Rejected(_) => "give the reference a service and account this platform \
                 accepts (docs/keyring.md: where the item lives, per platform)"
                .into(),
            Problem::Ambiguous(_) => "keep one of them: remove the others with the platform's \
                 own tool (Keychain Access, cmdkey)"
                .into(),
            Problem::OtherAccount(loc) => format!(
                "use another service name for this account, or remove that credential \
                 (cmdkey /delete:{}) if nothing uses it any more",
                loc.service
            ),
            Problem::NoDefaultCollection => "create a keyring and make it the default (Seahorse: \
                 File > New > Password Keyring, then Set as Default)"
                .into(),
            Problem::NoAnswer | Problem::Stalled => {
                "check that the keyring daemon is running and responsive, or \
                 raise --timeout"
                    .into()
            }
            Problem::NoPlatform => "use local:// (the encrypted local store) instead".into(),
            Problem::Unsupported(_) => "see docs/keyring.md for what each platform offers".into(),
            Problem::Other(_) => "check the keyring daemon's log".into(),
        }
    }

    /// The error line for `subject` (a reference or `keyring://`).
    pub fn error(&self, subject: impl std::fmt::Display) -> BackendError {
        BackendError::new(
            self.kind(),
            subject,
            format!("{}; {}", self.diagnosis(), self.fix()),
        )
    }
}

/// `word` as one shell word: bare when it is plain, single-quoted otherwise.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_.@:/+,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_has_its_own_diagnosis_and_exit_kind() {
        let loc = Location {
            service: "s".into(),
            account: "u".into(),
        };
        let all = [
            Problem::NoSession,
            Problem::DeadSession("refused".into()),
            Problem::NoProvider,
            Problem::Locked,
            Problem::PromptUnanswered,
            Problem::Dismissed,
            Problem::Refused("AccessDenied".into()),
            Problem::NotFound(loc.clone()),
            Problem::OtherAccount(loc.clone()),
            Problem::Shared {
                location: loc,
                matches: 2,
            },
            Problem::NoDefaultCollection,
            Problem::Rejected("account: cannot be empty".into()),
            Problem::Ambiguous(2),
            Problem::NoAnswer,
            Problem::Stalled,
            Problem::NoPlatform,
            Problem::Unsupported("y".into()),
            Problem::Other("x".into()),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for p in &all {
            assert!(seen.insert(p.diagnosis()), "{p:?} repeats a diagnosis");
            let line = p.error("keyring://s/u").to_string();
            assert!(!line.contains('\n'), "{line}");
        }
        assert_eq!(Problem::Locked.kind(), ErrorKind::Unreachable);
        assert_eq!(Problem::NoSession.kind(), ErrorKind::Unreachable);
        assert_eq!(Problem::Refused(String::new()).kind(), ErrorKind::Denied);
        assert_eq!(all[7].kind(), ErrorKind::NotFound);
        assert_eq!(all[8].kind(), ErrorKind::Config);
        for p in [Problem::Rejected(String::new()), Problem::Ambiguous(2)] {
            assert_eq!(ErrorKind::Config, p.kind(), "{p:?} is 78");
        }
        assert_eq!(shell_word("gh"), "gh");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
        assert!(
            Problem::NoSession
                .fix()
                .contains("DBUS_SESSION_BUS_ADDRESS")
        );
    }
}
