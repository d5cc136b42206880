//! PKCE (RFC 7636, S256 only) and the `state` value of one authorization.
//!
//! Owns making the code verifier (32 random bytes, base64url: 43 characters),
//! its S256 challenge, and `state` (16 random bytes). They live in memory
//! only, zeroized when dropped; `Debug` never shows them. Must not store or
//! print anything.

use aws_lc_rs::{digest, rand};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use zeroize::Zeroizing;

/// The secrets of one authorization request.
pub struct Pkce {
    pub verifier: Zeroizing<String>,
    pub challenge: String,
    pub state: Zeroizing<String>,
}

impl std::fmt::Debug for Pkce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pkce { .. }")
    }
}

/// Random bytes, base64url without padding.
pub fn random(n: usize) -> Option<Zeroizing<String>> {
    let mut bytes = Zeroizing::new(vec![0u8; n]);
    rand::fill(&mut bytes).ok()?;
    Some(Zeroizing::new(B64URL.encode(&*bytes)))
}

/// `BASE64URL(SHA256(verifier))`.
pub fn challenge(verifier: &str) -> String {
    B64URL.encode(digest::digest(&digest::SHA256, verifier.as_bytes()).as_ref())
}

impl Pkce {
    /// A fresh verifier, its challenge and a state; None without randomness.
    pub fn new() -> Option<Pkce> {
        let verifier = random(32)?;
        let challenge = challenge(&verifier);
        Some(Pkce {
            verifier,
            challenge,
            state: random(16)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 appendix B.
    #[test]
    fn rfc7636_appendix_b() {
        let verifier_bytes: [u8; 32] = [
            116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212,
            37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121,
        ];
        let verifier = B64URL.encode(verifier_bytes);
        assert_eq!(verifier, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(
            challenge(&verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn fresh_values_are_long_and_distinct() {
        let a = Pkce::new().expect("random");
        let b = Pkce::new().expect("random");
        assert_eq!(a.verifier.len(), 43);
        assert!(
            a.verifier
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        assert_ne!(*a.verifier, *b.verifier);
        assert_ne!(*a.state, *b.state);
        assert_eq!(a.challenge, challenge(&a.verifier));
        assert!(!format!("{a:?}").contains(a.verifier.as_str()));
    }
}
