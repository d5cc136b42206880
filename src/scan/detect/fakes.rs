//! Test-only: deterministic random-looking fakes for the template corpora.
//!
//! Owns the PRNG (xorshift64*, seeded per case so runs are reproducible) and
//! the character classes a template names (`a` alphanumeric, `h` hex, `w`
//! base64url, ...). Shared by the detector's unit tests and the scan corpus
//! test; how each corpus writes its templates stays with that corpus.

/// xorshift64*: deterministic fakes without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// `n` characters drawn from `alphabet`.
    pub fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| char::from(alphabet[(self.next() % alphabet.len() as u64) as usize]))
            .collect()
    }
}

pub const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
pub const DIGITS: &[u8] = b"0123456789";

/// The characters of template class `class`, or `None` for an unknown class.
pub fn alphabet(class: &str) -> Option<&'static [u8]> {
    Some(match class {
        "a" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        "h" => b"0123456789abcdef",
        "H" => b"0123456789ABCDEF",
        "d" => DIGITS,
        "u" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        "U" => UPPER,
        "l" => b"abcdefghijklmnopqrstuvwxyz0123456789",
        "L" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        "b" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        "w" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
        "3" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
        "g" => b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L",
        "p" => b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!%^*_+-",
        _ => return None,
    })
}

/// Expands the templates in `template`, each written `OPEN inner CLOSE` with
/// `delimiters = (OPEN, CLOSE)`: an inner `CLASS:N` becomes `N` characters of
/// [`alphabet`]`(CLASS)`, an inner name `special` knows becomes what it
/// returns; anything else is left as written and looked at again from the
/// character after its opening.
pub fn expand(
    template: &str,
    delimiters: (&str, &str),
    rng: &mut Rng,
    special: impl Fn(&str, &mut Rng) -> Option<String>,
) -> String {
    let (open, close) = delimiters;
    let mut out = String::new();
    let mut rest = template;
    while let Some(at) = rest.find(open) {
        out.push_str(&rest[..at]);
        let after = &rest[at + open.len()..];
        let Some(end) = after.find(close) else {
            out.push_str(&rest[at..]);
            return out;
        };
        let inner = &after[..end];
        let expanded = special(inner, rng).or_else(|| {
            let (class, n) = inner.split_once(':')?;
            Some(rng.pick(alphabet(class)?, n.parse().ok()?))
        });
        match expanded {
            Some(s) => {
                out.push_str(&s);
                rest = &after[end + close.len()..];
            }
            None => {
                let first = open.chars().next().map_or(1, char::len_utf8);
                out.push_str(&rest[at..at + first]);
                rest = &rest[at + first..];
            }
        }
    }
    out.push_str(rest);
    out
}
