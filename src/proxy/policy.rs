//! Tool policy: which `tools/call` names may reach the server.
//!
//! Owns [`ToolPolicy`] (`--allow-tool` / `--deny-tool` globs; deny wins; an empty
//! allow list allows everything not denied) and nothing else: it does not read
//! messages or answer them (the relay does, see `message.rs`). Matching is on
//! the decoded tool name, case-sensitive, with `*`, `?` and `[...]` matching any
//! character including `/` and `.`.

use glob::{MatchOptions, Pattern};

use super::ProxyError;

const OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: true,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// Allow and deny globs for tool names.
#[derive(Debug, Clone, Default)]
pub struct ToolPolicy {
    allow: Vec<Pattern>,
    deny: Vec<Pattern>,
}

impl ToolPolicy {
    /// Compiles the globs; an invalid one is an error naming it.
    pub fn new(allow: &[String], deny: &[String]) -> Result<Self, ProxyError> {
        let compile = |list: &[String], flag: &'static str| {
            list.iter()
                .map(|g| {
                    Pattern::new(g).map_err(|e| ProxyError::BadGlob {
                        flag,
                        glob: g.clone(),
                        reason: e.msg.to_string(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            allow: compile(allow, "--allow-tool")?,
            deny: compile(deny, "--deny-tool")?,
        })
    }

    /// Whether any rule is configured (if not, nothing is inspected for policy).
    pub fn is_active(&self) -> bool {
        !self.allow.is_empty() || !self.deny.is_empty()
    }

    /// Whether a call to `tool` may be forwarded.
    pub fn allows(&self, tool: &str) -> bool {
        if self.deny.iter().any(|p| p.matches_with(tool, OPTIONS)) {
            return false;
        }
        self.allow.is_empty() || self.allow.iter().any(|p| p.matches_with(tool, OPTIONS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(allow: &[&str], deny: &[&str]) -> ToolPolicy {
        let s = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        ToolPolicy::new(&s(allow), &s(deny)).expect("valid")
    }

    #[test]
    fn empty_allows_all() {
        let pol = p(&[], &[]);
        assert!(!pol.is_active());
        assert!(pol.allows("anything/at.all"));
    }

    #[test]
    fn deny_wins_over_allow() {
        let pol = p(&["*"], &["delete_*", "admin/*"]);
        assert!(pol.allows("echo"));
        assert!(!pol.allows("delete_repo"));
        assert!(!pol.allows("admin/x/y"));
    }

    #[test]
    fn allow_list_is_exclusive_and_case_sensitive() {
        let pol = p(&["get_*", "echo"], &[]);
        assert!(pol.allows("get_file"));
        assert!(pol.allows("echo"));
        assert!(!pol.allows("Echo"));
        assert!(!pol.allows("push_files"));
        assert!(!pol.allows(""));
    }

    #[test]
    fn bad_glob_is_an_error() {
        let err = ToolPolicy::new(&["[".into()], &[]).expect_err("invalid");
        assert!(err.to_string().contains("--allow-tool"));
    }
}
