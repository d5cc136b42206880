//! Token stores: the plaintext OAuth caches other tools leave (`~/.mcp-auth`,
//! Gemini's, Copilot's, opencode's, Antigravity's) and Goose's fallback
//! `secrets.yaml`. Lists their credential-looking string fields.
//!
//! Decides which keys look like credentials; judges no values.

use super::tree::{Kind, Node, child, child_index};
use crate::clients::model::Located;

/// Credential-looking string fields of `root`, in file order, with their key.
/// With `every_string`, each string leaf counts (a file that holds nothing
/// but secrets, such as Goose's `secrets.yaml`).
pub(crate) fn credentials(root: &Node, every_string: bool) -> Vec<(String, Located)> {
    let mut out = Vec::new();
    walk(root, "", "", every_string, &mut out);
    out
}

/// Credential-looking string fields of `node`, which sits at `pointer` under
/// `key` (so a credential key's own string value counts too).
pub(crate) fn credentials_at(node: &Node, key: &str, pointer: &str) -> Vec<(String, Located)> {
    let mut out = Vec::new();
    walk(node, key, pointer, false, &mut out);
    out
}

fn walk(
    node: &Node,
    key: &str,
    pointer: &str,
    every_string: bool,
    out: &mut Vec<(String, Located)>,
) {
    // The tree is at most MAX_DEPTH deep, so this recursion is bounded.
    match &node.kind {
        Kind::Map(entries) => {
            for e in entries {
                walk(&e.value, &e.key, &child(pointer, &e.key), every_string, out);
            }
        }
        Kind::List(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, key, &child_index(pointer, i), every_string, out);
            }
        }
        Kind::Str(s) if !s.is_empty() && (every_string || is_credential_key(key)) => {
            if let Some(located) = node.located(pointer.to_string()) {
                out.push((key.to_string(), located));
            }
        }
        _ => {}
    }
}

/// `access_token`, `refreshToken`, `client_secret`, `private_key`, ... but not
/// `token_type`, `token_endpoint`, `expires_at` and the like.
pub(crate) fn is_credential_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    const NOT: [&str; 9] = [
        "type", "endpoint", "url", "uri", "expir", "issued", "scope", "lifetime", "count",
    ];
    const YES: [&str; 12] = [
        "token",
        "secret",
        "password",
        "passwd",
        "privatekey",
        "apikey",
        "codeverifier",
        "credential",
        "assertion",
        "authorization",
        "cookie",
        "sessionkey",
    ];
    !NOT.iter().any(|n| k.contains(n)) && YES.iter().any(|y| k.contains(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_keys() {
        for k in [
            "access_token",
            "refreshToken",
            "client_secret",
            "private_key",
            "codeVerifier",
            "id_token",
        ] {
            assert!(is_credential_key(k), "{k}");
        }
        for k in [
            "token_type",
            "expires_in",
            "tokenEndpoint",
            "client_id",
            "serverUrl",
            "scope",
            "client_secret_expires_at",
        ] {
            assert!(!is_credential_key(k), "{k}");
        }
    }
}
