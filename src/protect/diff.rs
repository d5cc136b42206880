//! Unified diffs of config files with every secret masked, for the dry run
//! of `protect` and `restore`.
//!
//! Owns masking of known secret texts in both sides before diffing; never
//! prints a value.

use similar::TextDiff;

/// A secret's text as written in the file, and what to show instead.
pub struct Mask {
    pub text: String,
    pub shown: String,
}

fn masked(text: &str, masks: &[Mask]) -> String {
    let mut out = text.to_string();
    // Longest first, so a secret containing another is masked whole.
    let mut order: Vec<&Mask> = masks.iter().filter(|m| !m.text.is_empty()).collect();
    order.sort_by_key(|m| std::cmp::Reverse(m.text.len()));
    for m in order {
        out = out.replace(&m.text, &m.shown);
    }
    out
}

/// `--- label` / `+++ label` unified diff with 3 lines of context.
pub fn unified(label: &str, old: &str, new: &str, masks: &[Mask]) -> String {
    let old = masked(old, masks);
    let new = masked(new, masks);
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(label, label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_both_sides() {
        let m = [Mask {
            text: "ghp_secretsecret".into(),
            shown: "[ghp_… (16 chars)]".into(),
        }];
        let d = unified("f", "a\n\"ghp_secretsecret\"\n", "a\n\"local://x\"\n", &m);
        assert!(!d.contains("ghp_secretsecret"));
        assert!(d.contains("-\"[ghp_… (16 chars)]\""));
        assert!(d.contains("+\"local://x\""));
    }
}
