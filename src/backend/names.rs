//! Reversible mapping of free-form names (`claude-desktop/github/GITHUB_TOKEN`)
//! onto the names cloud secret stores accept, for `protect --to`.
//!
//! GCP Secret Manager ids allow letters, digits, `-` and `_`; Key Vault names
//! letters, digits and `-`. Each mapping keeps what the store allows and
//! writes everything else as an escape starting with one reserved character
//! (`_` for GCP, `-` for Azure), the reserved character itself doubled, so
//! every stored name decodes back to exactly one original. Pure functions.

/// Escapes of the characters `protect` names contain besides letters and digits.
const CODES: &[(char, char)] = &[('/', 's'), ('.', 'd'), ('_', 'u'), ('-', 'h')];

fn encode(name: &str, esc: char, allowed: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if c == esc {
            out.push(esc);
            out.push(esc);
        } else if c.is_ascii_alphanumeric() || (allowed(c) && c != esc) {
            out.push(c);
        } else if let Some((_, code)) = CODES.iter().find(|(from, _)| *from == c) {
            out.push(esc);
            out.push(*code);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push(esc);
                out.push('x');
                out.push_str(&format!("{b:02x}"));
            }
        }
    }
    out
}

fn decode(stored: &str, esc: char) -> Option<String> {
    let mut bytes = Vec::with_capacity(stored.len());
    let mut it = stored.chars();
    while let Some(c) = it.next() {
        if c != esc {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match it.next()? {
            n if n == esc => bytes.push(esc as u8),
            'x' => {
                let hex: String = it.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            code => {
                let (from, _) = CODES.iter().find(|(_, c)| *c == code)?;
                bytes.push(*from as u8);
            }
        }
    }
    String::from_utf8(bytes).ok()
}

/// A GCP Secret Manager secret id for `name` (escape `_`).
pub fn gcp_secret_id(name: &str) -> String {
    encode(name, '_', |c| c == '-')
}

/// The name a GCP secret id made by [`gcp_secret_id`] stands for.
pub fn gcp_name(id: &str) -> Option<String> {
    decode(id, '_')
}

/// An Azure Key Vault secret name for `name` (escape `-`).
pub fn azure_secret_name(name: &str) -> String {
    encode(name, '-', |_| false)
}

/// The name an Azure secret name made by [`azure_secret_name`] stands for.
pub fn azure_name(stored: &str) -> Option<String> {
    decode(stored, '-')
}

/// `ITEM/FIELD` for a `protect` name under 1Password: the last segment is
/// the field, the segments before it, joined by spaces, the item (so each
/// server's secrets share one item); `mcp-warden` when there are none.
/// `protect` names hold only `[A-Za-z0-9._-]` and `/`, all of which
/// 1Password's references allow, so nothing needs escaping.
pub fn op_item_field(name: &str) -> String {
    let segs: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    match segs.split_last() {
        None => "mcp-warden/secret".into(),
        Some((field, [])) => format!("mcp-warden/{field}"),
        Some((field, item)) => format!("{}/{field}", item.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn protect_names_map_and_come_back() {
        let n = "claude-desktop/git.hub/GITHUB_TOKEN";
        assert_eq!(gcp_secret_id(n), "claude-desktop_sgit_dhub_sGITHUB__TOKEN");
        assert_eq!(
            azure_secret_name(n),
            "claude--desktop-sgit-dhub-sGITHUB-uTOKEN"
        );
        assert_eq!(gcp_name(&gcp_secret_id(n)).as_deref(), Some(n));
        assert_eq!(azure_name(&azure_secret_name(n)).as_deref(), Some(n));
        assert_eq!(azure_secret_name("a b"), "a-x20b");
        assert_eq!(
            op_item_field("claude-desktop/git.hub/GITHUB_TOKEN"),
            "claude-desktop git.hub/GITHUB_TOKEN"
        );
        assert_eq!(op_item_field("TOKEN"), "mcp-warden/TOKEN");
    }

    proptest! {
        #[test]
        fn every_name_round_trips_into_allowed_characters(n in "\\PC{0,40}") {
            let g = gcp_secret_id(&n);
            prop_assert!(g.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
            prop_assert_eq!(gcp_name(&g), Some(n.clone()));
            let a = azure_secret_name(&n);
            prop_assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            prop_assert_eq!(azure_name(&a), Some(n));
        }
    }
}
