//! Unified diffs of config files with every secret masked, for the dry run
//! of `protect` and `restore`.
//!
//! Masks both sides (see [`super::mask`]) before diffing; never prints a value.

use similar::TextDiff;

use super::mask::Masker;

/// `--- label` / `+++ label` unified diff with 3 lines of context.
pub fn unified(label: &str, old: &[u8], new: &[u8], masker: &Masker) -> String {
    let old = masker.mask(old);
    let new = masker.mask(new);
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(label, label)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::Format;

    #[test]
    fn masks_both_sides() {
        let m = Masker::new(
            Format::Json,
            [(
                "ghp_secretsecret".to_string(),
                "ghp_… (16 chars)".to_string(),
            )],
        );
        let d = unified(
            "f",
            b"{\"a\":\n\"ghp_secretsecret\"}\n",
            b"{\"a\":\n\"local://x\"}\n",
            &m,
        );
        assert!(!d.contains("ghp_secretsecret"));
        assert!(d.contains("-\"[ghp_… (16 chars)]\""), "{d}");
        assert!(d.contains("+\"local://x\""));
    }
}
