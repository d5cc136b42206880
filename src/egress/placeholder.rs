//! Placeholders: random stand-ins with a real credential's visible shape.
//!
//! Owns [`make`]: the value a secretless child sees instead of the real
//! credential. A placeholder has the real value's length, keeps a known token
//! prefix (`ghp_`, `sk-ant-api03-`, `AKIA`, ...) and every byte that is not an
//! ASCII letter or digit, and replaces every other letter or digit with a random
//! one of the same class, so format checks in the child still pass. It must
//! never derive anything from the real value's letters or digits (only their
//! positions and classes), never put the value in an error, and never return a
//! placeholder with fewer than [`MIN_RANDOM`] random characters.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::secret::SecretValue;

/// The fewest random characters a placeholder may have.
pub const MIN_RANDOM: usize = 16;

/// How many placeholders are drawn before giving up on one that collides with
/// the real value or a taken value.
const TRIES: usize = 16;

const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &[u8] = b"0123456789";
const LOWER_HEX: &[u8] = b"0123456789abcdef";
const UPPER_HEX: &[u8] = b"0123456789ABCDEF";

/// Why no placeholder was made. Never carries the value.
#[derive(Debug, thiserror::Error)]
pub enum PlaceholderError {
    #[error(
        "only {random} characters of this value would be random in its placeholder, and at \
         least {MIN_RANDOM} are needed: the value is too short or has too few letters and \
         digits for secretless mode; do not use secretless mode for it"
    )]
    TooFewRandom { random: usize },
    #[error("the system random number generator failed")]
    Random,
    #[error(
        "no placeholder distinct from the real value and the other values was found in \
         {TRIES} tries"
    )]
    Collision,
}

/// How the characters after the prefix are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alphabet {
    /// Each letter or digit stays in its class (lowercase, uppercase, digit).
    Classes,
    /// The rest is lowercase hex: every letter or digit becomes one.
    LowerHex,
    /// The rest is uppercase hex: every letter or digit becomes one.
    UpperHex,
}

/// A random stand-in for `real` with its visible shape (see the module doc),
/// different from `real`, neither containing nor contained in `real` or any
/// non-empty value of `taken`.
pub fn make(real: &[u8], taken: &[&[u8]]) -> Result<SecretValue, PlaceholderError> {
    let prefix = prefix_len(real);
    let random = real[prefix..]
        .iter()
        .filter(|b| b.is_ascii_alphanumeric())
        .count();
    if random < MIN_RANDOM {
        return Err(PlaceholderError::TooFewRandom { random });
    }
    let alphabet = alphabet_of(&real[prefix..]);
    let mut rng = Draw::new();
    for _ in 0..TRIES {
        let candidate = draw(real, prefix, alphabet, &mut rng)?;
        if distinct(&candidate, real, taken) {
            return Ok(SecretValue::new(candidate));
        }
    }
    Err(PlaceholderError::Collision)
}

/// Length of the longest known prefix `real` starts with (0 if none).
fn prefix_len(real: &[u8]) -> usize {
    crate::token_prefixes::TOKEN_PREFIXES
        .iter()
        .filter(|p| real.starts_with(p.as_bytes()))
        .map(|p| p.len())
        .max()
        .unwrap_or(0)
}

/// Hex when every letter or digit of `rest` is hex of one case and at least one
/// is a letter; otherwise per-class.
fn alphabet_of(rest: &[u8]) -> Alphabet {
    let alnum = || rest.iter().filter(|b| b.is_ascii_alphanumeric());
    let has_letter = alnum().any(|b| b.is_ascii_alphabetic());
    if !has_letter {
        return Alphabet::Classes;
    }
    if alnum().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Alphabet::LowerHex
    } else if alnum().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F')) {
        Alphabet::UpperHex
    } else {
        Alphabet::Classes
    }
}

/// One candidate: the prefix and non-alphanumeric bytes kept, the rest drawn.
fn draw(
    real: &[u8],
    prefix: usize,
    alphabet: Alphabet,
    rng: &mut Draw,
) -> Result<Vec<u8>, PlaceholderError> {
    let mut out = Vec::with_capacity(real.len());
    out.extend_from_slice(&real[..prefix]);
    for &b in &real[prefix..] {
        let set = match (alphabet, b) {
            (_, b) if !b.is_ascii_alphanumeric() => None,
            (Alphabet::LowerHex, _) => Some(LOWER_HEX),
            (Alphabet::UpperHex, _) => Some(UPPER_HEX),
            (Alphabet::Classes, b'a'..=b'z') => Some(LOWER),
            (Alphabet::Classes, b'A'..=b'Z') => Some(UPPER),
            (Alphabet::Classes, _) => Some(DIGITS),
        };
        match set {
            Some(set) => out.push(set[rng.below(set.len())?]),
            None => out.push(b),
        }
    }
    Ok(out)
}

/// Whether `candidate` differs from `real` and neither contains nor is
/// contained in `real` or any non-empty taken value.
fn distinct(candidate: &[u8], real: &[u8], taken: &[&[u8]]) -> bool {
    std::iter::once(real)
        .chain(taken.iter().copied())
        .filter(|t| !t.is_empty())
        .all(|t| !contains(candidate, t) && !contains(t, candidate))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// Unbiased draws from the system random number generator, a buffer at a time.
struct Draw {
    rng: SystemRandom,
    buf: Zeroizing<[u8; 64]>,
    used: usize,
}

impl Draw {
    fn new() -> Self {
        Self {
            rng: SystemRandom::new(),
            buf: Zeroizing::new([0; 64]),
            used: 64,
        }
    }

    fn byte(&mut self) -> Result<u8, PlaceholderError> {
        if self.used == self.buf.len() {
            self.rng
                .fill(&mut self.buf[..])
                .map_err(|_| PlaceholderError::Random)?;
            self.used = 0;
        }
        let b = self.buf[self.used];
        self.used += 1;
        Ok(b)
    }

    /// A uniform number in `0..n` (`1 <= n <= 256`), by rejection: no modulo bias.
    fn below(&mut self, n: usize) -> Result<usize, PlaceholderError> {
        let limit = 256 - 256 % n;
        loop {
            let b = usize::from(self.byte()?);
            if b < limit {
                return Ok(b % n);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(b: u8) -> u8 {
        match b {
            b'a'..=b'z' => b'a',
            b'A'..=b'Z' => b'A',
            b'0'..=b'9' => b'0',
            other => other,
        }
    }

    fn shape(v: &[u8]) -> Vec<u8> {
        v.iter().map(|&b| class(b)).collect()
    }

    #[test]
    fn prefixes_kept() {
        let cases: &[(&str, &str)] = &[
            ("ghp_", "ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3"),
            (
                "github_pat_",
                "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOP",
            ),
            (
                "sk-ant-api03-",
                "sk-ant-api03-Zx9-Yw8_Vu7Ts6Rq5Po4Nm3Lk2Ji1",
            ),
            ("sk-proj-", "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx"),
            ("AKIA", "AKIAIOSFODNN7EXAMPLEXYZ"),
            ("xoxb-", "xoxb-1234567890-0987654321-AbCdEfGhIjKl"),
            ("SG.", "SG.abcdefghijklmnop.QRSTUVWXYZ0123456789"),
            ("sk-", "sk-abcdefghijklmnopqrstuvwx"),
        ];
        for (prefix, real) in cases {
            let p = make(real.as_bytes(), &[]).unwrap();
            assert!(p.expose().starts_with(prefix.as_bytes()), "{prefix}");
            assert_eq!(p.len(), real.len());
        }
    }

    #[test]
    fn longest_prefix_wins() {
        assert_eq!(prefix_len(b"sk-ant-api03-xyz"), "sk-ant-api03-".len());
        assert_eq!(prefix_len(b"sk-ant-xyz"), "sk-ant-".len());
        assert_eq!(prefix_len(b"sk-xyz"), "sk-".len());
        assert_eq!(prefix_len(b"none"), 0);
    }

    #[test]
    fn classes_and_other_bytes_kept() {
        let real = "Ab1-Cd2_Ef3.Gh4/Ij5+Kl6=Mn7é Op8Qr9".as_bytes();
        let p = make(real, &[]).unwrap();
        assert_eq!(p.len(), real.len());
        assert_eq!(shape(p.expose()), shape(real));
        assert_ne!(p.expose(), real);
    }

    #[test]
    fn hex_stays_hex() {
        let real = b"0123456789abcdef0123456789abcdef";
        for _ in 0..20 {
            let p = make(real, &[]).unwrap();
            assert!(
                p.expose()
                    .iter()
                    .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            );
        }
        let upper = b"DEADBEEF-0123-4567-89AB-CDEF01234567";
        let p = make(upper, &[]).unwrap();
        assert!(
            p.expose()
                .iter()
                .all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'F' | b'-'))
        );
        assert_eq!(p.expose()[8], b'-');
    }

    #[test]
    fn digits_stay_digits() {
        let real = b"1234567890123456789012";
        let p = make(real, &[]).unwrap();
        assert!(p.expose().iter().all(u8::is_ascii_digit));
        assert_eq!(alphabet_of(b"Abcdef0123"), Alphabet::Classes);
        assert_eq!(alphabet_of(b"abcdef0123"), Alphabet::LowerHex);
    }

    #[test]
    fn two_calls_differ() {
        let real = b"ghp_aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3";
        let a = make(real, &[]).unwrap();
        let b = make(real, &[]).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn too_short_refused_without_the_value() {
        let real = "ghp_short-canary9";
        let err = make(real.as_bytes(), &[]).unwrap_err();
        assert!(matches!(err, PlaceholderError::TooFewRandom { random: 12 }));
        let text = err.to_string();
        assert!(!text.contains(real) && !text.contains("canary"));
        assert!(text.contains("12") && text.contains("16"), "{text}");
        assert!(!format!("{err:?}").contains("canary"));
    }

    #[test]
    fn taken_values_avoided() {
        // A taken value every candidate contains: no placeholder can be made.
        let real = b"abcdefghijklmnop-qrstu";
        let err = make(real, &[b"-"]).unwrap_err();
        assert!(matches!(err, PlaceholderError::Collision));
        // Empty taken values are ignored.
        assert!(make(real, &[b""]).is_ok());
    }
}
