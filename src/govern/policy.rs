//! The policy a profile runs under, and how sources combine: narrowing only.
//!
//! Owns [`Policy`] (audit, redaction, pin mode, rotation mode, tool
//! allow/deny globs, timeout), [`Layer`] (what one source says: `[defaults]`, a server table,
//! a project file, the command line), [`Policy::narrow`] (which refuses any
//! weakening and says which `--insecure-*` flag would allow it), and
//! [`Insecure`] (the explicit overrides). Must not read files or print.

use std::fmt;
use std::time::Duration;

/// How strictly a profile's command must be pinned. Ordered: `Off < Warn < Required`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PinMode {
    /// No pin checks at all.
    Off,
    /// A recorded pin must match; an unpinned command is a one-line warning.
    Warn,
    /// A recorded pin must exist and match, and every part must be pinnable.
    Required,
}

impl PinMode {
    pub fn parse(s: &str) -> Option<PinMode> {
        match s {
            "off" => Some(PinMode::Off),
            "warn" => Some(PinMode::Warn),
            "required" => Some(PinMode::Required),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PinMode::Off => "off",
            PinMode::Warn => "warn",
            PinMode::Required => "required",
        }
    }
}

impl fmt::Display for PinMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an overdue static secret does to `run`. Ordered: `Report < Warn < Enforce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RotationMode {
    /// Only `inventory` says so.
    Report,
    /// `run` prints one line per overdue reference on stderr and starts.
    Warn,
    /// `run` refuses to start (77).
    Enforce,
}

impl RotationMode {
    pub fn parse(s: &str) -> Option<RotationMode> {
        match s {
            "report" => Some(RotationMode::Report),
            "warn" => Some(RotationMode::Warn),
            "enforce" => Some(RotationMode::Enforce),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RotationMode::Report => "report",
            RotationMode::Warn => "warn",
            RotationMode::Enforce => "enforce",
        }
    }
}

/// The effective policy of one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub audit: bool,
    pub redact: bool,
    pub pin: PinMode,
    pub rotation: RotationMode,
    /// `None`: every tool not denied is allowed.
    pub allow_tools: Option<Vec<String>>,
    pub deny_tools: Vec<String>,
    /// Per-reference timeout.
    pub timeout: Duration,
}

impl Default for Policy {
    /// What a profile gets when the file says nothing: audit and redaction on,
    /// pins checked with warnings, 10 s per reference.
    fn default() -> Self {
        Policy {
            audit: true,
            redact: true,
            pin: PinMode::Warn,
            rotation: RotationMode::Report,
            allow_tools: None,
            deny_tools: Vec::new(),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What one source says; `None`/empty means "nothing to say".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub audit: Option<bool>,
    pub redact: Option<bool>,
    pub pin: Option<PinMode>,
    pub rotation: Option<RotationMode>,
    pub allow_tools: Option<Vec<String>>,
    pub deny_tools: Vec<String>,
    pub timeout: Option<Duration>,
}

/// An attempt to weaken the policy, refused unless its override is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Weakening {
    Audit,
    Redact,
    Pin {
        from: PinMode,
        to: PinMode,
    },
    Rotation {
        from: RotationMode,
        to: RotationMode,
    },
    /// An allowed-tool glob not within the allow list being narrowed.
    AllowTool(String),
}

impl Weakening {
    /// The `--insecure-*` flag that permits this weakening.
    pub fn flag(&self) -> &'static str {
        match self {
            Weakening::Audit => "--insecure-no-audit",
            Weakening::Redact => "--insecure-no-redact",
            Weakening::Pin { .. } => "--insecure-no-pin",
            Weakening::Rotation { .. } => "--insecure-no-rotation",
            Weakening::AllowTool(_) => "--insecure-no-tool-policy",
        }
    }
}

impl fmt::Display for Weakening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Weakening::Audit => f.write_str("turns audit off"),
            Weakening::Redact => f.write_str("turns redaction off"),
            Weakening::Pin { from, to } => write!(
                f,
                "lowers pin from {from:?} to {to:?}",
                from = from.as_str(),
                to = to.as_str()
            ),
            Weakening::Rotation { from, to } => write!(
                f,
                "lowers rotation from {from:?} to {to:?}",
                from = from.as_str(),
                to = to.as_str()
            ),
            Weakening::AllowTool(g) => {
                write!(f, "allows tools `{g}` beyond the allow list it narrows")
            }
        }
    }
}

/// Whether every tool name `narrow` matches is also matched by `wide`.
///
/// Sound but incomplete: true when the globs are equal, when `narrow` has no
/// wildcard and `wide` matches it, or when both use only `*` wildcards and
/// `wide` matches `narrow`'s text (each `*` of `narrow` is then absorbed by a
/// `*` of `wide`). Anything cleverer is refused rather than guessed.
fn covered(wide: &str, narrow: &str) -> bool {
    if wide == narrow {
        return true;
    }
    let special = |s: &str, set: &[char]| s.chars().any(|c| set.contains(&c));
    let Ok(w) = glob::Pattern::new(wide) else {
        return false;
    };
    if !special(narrow, &['*', '?', '[', ']']) {
        return w.matches(narrow);
    }
    !special(narrow, &['?', '[', ']']) && !special(wide, &['?', '[', ']']) && w.matches(narrow)
}

impl Policy {
    /// Sets every field a layer names, without the narrowing rule: for the
    /// user-level `[defaults]`, which are the user's own floor.
    pub fn set(&mut self, layer: &Layer) {
        if let Some(a) = layer.audit {
            self.audit = a;
        }
        if let Some(r) = layer.redact {
            self.redact = r;
        }
        if let Some(p) = layer.pin {
            self.pin = p;
        }
        if let Some(r) = layer.rotation {
            self.rotation = r;
        }
        if let Some(a) = &layer.allow_tools {
            self.allow_tools = Some(a.clone());
        }
        self.add_denies(&layer.deny_tools);
        if let Some(t) = layer.timeout {
            self.timeout = t;
        }
    }

    fn add_denies(&mut self, deny: &[String]) {
        for d in deny {
            if !self.deny_tools.contains(d) {
                self.deny_tools.push(d.clone());
            }
        }
    }

    /// Applies `layer` where it narrows; returns what it tried to weaken
    /// (those parts are not applied). Deny globs add up; an allow list must lie
    /// within the current one; the lower timeout wins.
    pub fn narrow(&mut self, layer: &Layer) -> Vec<Weakening> {
        let mut weak = Vec::new();
        match layer.audit {
            Some(false) if self.audit => weak.push(Weakening::Audit),
            Some(a) => self.audit = a,
            None => {}
        }
        match layer.redact {
            Some(false) if self.redact => weak.push(Weakening::Redact),
            Some(r) => self.redact = r,
            None => {}
        }
        match layer.pin {
            Some(p) if p < self.pin => weak.push(Weakening::Pin {
                from: self.pin,
                to: p,
            }),
            Some(p) => self.pin = p,
            None => {}
        }
        match layer.rotation {
            Some(r) if r < self.rotation => weak.push(Weakening::Rotation {
                from: self.rotation,
                to: r,
            }),
            Some(r) => self.rotation = r,
            None => {}
        }
        if let Some(allow) = &layer.allow_tools {
            let outside: Vec<&String> = match &self.allow_tools {
                None => Vec::new(),
                Some(cur) => allow
                    .iter()
                    .filter(|g| !cur.iter().any(|w| covered(w, g)))
                    .collect(),
            };
            if outside.is_empty() {
                self.allow_tools = Some(allow.clone());
            } else {
                weak.extend(outside.into_iter().map(|g| Weakening::AllowTool(g.clone())));
            }
        }
        self.add_denies(&layer.deny_tools);
        if let Some(t) = layer.timeout {
            self.timeout = self.timeout.min(t);
        }
        weak
    }
}

/// The explicit `--insecure-*` overrides of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Insecure {
    pub no_audit: bool,
    pub no_redact: bool,
    pub no_pin: bool,
    pub no_rotation: bool,
    pub no_tool_policy: bool,
}

impl Insecure {
    pub fn any(&self) -> bool {
        self.no_audit || self.no_redact || self.no_pin || self.no_rotation || self.no_tool_policy
    }

    /// Whether this override permits `w`.
    pub fn permits(&self, w: &Weakening) -> bool {
        match w {
            Weakening::Audit => self.no_audit,
            Weakening::Redact => self.no_redact,
            Weakening::Pin { .. } => self.no_pin,
            Weakening::Rotation { .. } => self.no_rotation,
            Weakening::AllowTool(_) => self.no_tool_policy,
        }
    }

    /// The flags given, as written on the command line (for the audit record).
    pub fn flags(&self) -> Vec<&'static str> {
        [
            (self.no_audit, "--insecure-no-audit"),
            (self.no_redact, "--insecure-no-redact"),
            (self.no_pin, "--insecure-no-pin"),
            (self.no_rotation, "--insecure-no-rotation"),
            (self.no_tool_policy, "--insecure-no-tool-policy"),
        ]
        .into_iter()
        .filter_map(|(on, f)| on.then_some(f))
        .collect()
    }

    /// Applies the overrides to a policy that has been narrowed.
    pub fn apply(&self, p: &mut Policy) {
        if self.no_audit {
            p.audit = false;
        }
        if self.no_redact {
            p.redact = false;
        }
        if self.no_pin {
            p.pin = PinMode::Off;
        }
        if self.no_rotation {
            p.rotation = RotationMode::Report;
        }
        if self.no_tool_policy {
            p.allow_tools = None;
            p.deny_tools.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn globs(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn narrowing_cannot_weaken() {
        let mut p = Policy::default();
        let w = p.narrow(&Layer {
            audit: Some(false),
            redact: Some(false),
            pin: Some(PinMode::Off),
            ..Layer::default()
        });
        assert_eq!(w.len(), 3, "{w:?}");
        assert_eq!(p, Policy::default());
        p.narrow(&Layer {
            rotation: Some(RotationMode::Enforce),
            ..Layer::default()
        });
        let w = p.narrow(&Layer {
            rotation: Some(RotationMode::Warn),
            ..Layer::default()
        });
        assert_eq!(
            w,
            vec![Weakening::Rotation {
                from: RotationMode::Enforce,
                to: RotationMode::Warn
            }]
        );
        assert_eq!(p.rotation, RotationMode::Enforce, "the stronger mode wins");
        p.rotation = RotationMode::Report;
        let w = p.narrow(&Layer {
            pin: Some(PinMode::Required),
            deny_tools: vec!["delete_*".into()],
            timeout: Some(Duration::from_secs(3)),
            ..Layer::default()
        });
        assert!(w.is_empty());
        assert_eq!(p.pin, PinMode::Required);
        assert_eq!(p.deny_tools, vec!["delete_*".to_string()]);
        assert_eq!(p.timeout, Duration::from_secs(3));
        p.narrow(&Layer {
            timeout: Some(Duration::from_secs(30)),
            ..Layer::default()
        });
        assert_eq!(p.timeout, Duration::from_secs(3), "the lower timeout wins");
    }

    #[test]
    fn allow_lists_only_shrink() {
        let mut p = Policy {
            allow_tools: globs(&["search_*", "get_issue"]),
            ..Policy::default()
        };
        assert!(
            p.narrow(&Layer {
                allow_tools: globs(&["search_code", "search_i*"]),
                ..Layer::default()
            })
            .is_empty()
        );
        assert_eq!(p.allow_tools, globs(&["search_code", "search_i*"]));
        let w = p.narrow(&Layer {
            allow_tools: globs(&["search_*"]),
            ..Layer::default()
        });
        assert_eq!(w, vec![Weakening::AllowTool("search_*".into())]);
        let w = p.narrow(&Layer {
            allow_tools: globs(&["search_[ab]"]),
            ..Layer::default()
        });
        assert_eq!(w.len(), 1, "character classes are not guessed at");
        let mut open = Policy::default();
        assert!(
            open.narrow(&Layer {
                allow_tools: globs(&["x"]),
                ..Layer::default()
            })
            .is_empty()
        );
    }

    #[test]
    fn coverage_is_sound_on_tricky_globs() {
        assert!(!covered("*]", "[ab]"));
        assert!(!covered("a?", "a*"));
        assert!(covered("a*b", "a*xb"));
        assert!(covered("*", "anything*"));
    }

    #[test]
    fn overrides_apply_and_permit() {
        let i = Insecure {
            no_audit: true,
            ..Insecure::default()
        };
        assert!(i.permits(&Weakening::Audit));
        assert!(!i.permits(&Weakening::Redact));
        let mut p = Policy::default();
        i.apply(&mut p);
        assert!(!p.audit && p.redact);
        assert_eq!(i.flags(), vec!["--insecure-no-audit"]);
    }
}
