//! The secret value type.
//!
//! Owns [`SecretValue`]: bytes fetched from a backend on their way into a child's
//! environment. It redacts itself in `Debug` and `Display` and zeroizes its
//! buffer on drop. It must never grow a way to print or serialize the value;
//! the only door out is [`SecretValue::expose`], which callers use at the last
//! moment (building an environment, encrypting the store, building a redactor).

use std::fmt;

use secrecy::{ExposeSecret, SecretSlice};
use zeroize::Zeroizing;

/// A secret value: arbitrary bytes, redacted in formatting, zeroized on drop.
pub struct SecretValue(SecretSlice<u8>);

impl SecretValue {
    /// Takes ownership of `bytes`; the vector's buffer is zeroized when the value drops.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(SecretSlice::from(bytes))
    }

    /// Copies `bytes` into a new secret value.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// Takes a string's bytes; the string's buffer moves into the secret.
    pub fn from_string(s: String) -> Self {
        Self::new(s.into_bytes())
    }

    /// The value's bytes. Use at the last moment; never format or log them.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// The value as UTF-8, if it is.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.expose()).ok()
    }

    pub fn len(&self) -> usize {
        self.expose().len()
    }

    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }

    /// Position of the first NUL byte, which no environment variable can hold.
    pub fn nul_position(&self) -> Option<usize> {
        self.expose().iter().position(|&b| b == 0)
    }

    /// A zeroizing copy, for APIs that need an owned buffer.
    pub fn to_zeroizing(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.expose().to_vec())
    }
}

impl Clone for SecretValue {
    fn clone(&self) -> Self {
        Self::from_slice(self.expose())
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue([REDACTED])")
    }
}

impl fmt::Display for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for SecretValue {
    /// Constant-time in the length of the shorter input is not needed here: used in tests
    /// and to skip no-op writes; never on attacker-timed paths.
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for SecretValue {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact() {
        let canary = "canary-7f3a9c-do-not-print";
        let v = SecretValue::from_string(canary.to_string());
        assert!(!format!("{v:?}").contains(canary));
        assert!(!format!("{v}").contains(canary));
        assert!(!format!("{:#?}", Some(&v)).contains(canary));
        assert_eq!(v.expose(), canary.as_bytes());
    }

    #[test]
    fn nul_position_found() {
        assert_eq!(SecretValue::from_slice(b"ab\0c").nul_position(), Some(2));
        assert_eq!(SecretValue::from_slice(b"abc").nul_position(), None);
    }
}
