//! Placeholders, documentation examples and non-secret shapes, and the gates
//! that decide whether a candidate is random enough to be a real secret.
//!
//! `has_marker` is applied to every candidate, typed or not (`<TOKEN>`,
//! `xxxx`, `...`, `your-`, `EXAMPLE`); `random_enough` and `password_like`
//! gate the name heuristics, which have no format to lean on.

use super::entropy;

/// Substrings (lowercase) that mark documentation examples and placeholders.
/// Long enough that random tokens practically never contain them.
const MARKERS: &[&str] = &[
    "xxxx",
    "****",
    "...",
    "\u{2026}",
    "your",
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "replace",
    "insert",
    "dummy",
    "redacted",
    "sample",
    "<",
    ">",
    "0000000000",
    "123e4567-e89b-12d3-a456-426614174000",
    // Well-known documentation values (lowercased): the jwt.io example token,
    // Stripe's, GitHub's, Slack's, Mailgun's and Google's published examples,
    // and the Azure Storage (Azurite) and Cosmos DB emulator keys.
    "eyjzdwiioiixmjm0nty3odkwiiwibmftzsi6ikpvag4grg9liiwiawf0ijoxnte2mjm5mdiyfq",
    "sflkxwrjsmekkf2qt4fwpmejf36pok6yjv_adqssw5c",
    "4ec39hqlyjwdarjtt1zdp7dc",
    "bqokikjovbii2hlwgh4olfq2",
    "16c7e42f292c6912e7710c838347ae178b4a",
    "pdfzkvetue8sk7oocbrzbqgy",
    "3ax6xnjp29jd6fds4gc373sgvjxteol0",
    "aizasydagmwka4jsxz-hjgw7isln_3nambgewqe",
    "eby8vdm02xnocqflquwjpllmetlcdxj1ouzft50usrz6ifsufq2uvercz4i6tq",
    "c2y6ydjf5/r+ob0n8a7cgv30vrdjiwehlm+4qdu5de2nq9nduvtqobd4b8mggypmbiznqymsecagqy67xiw",
];

/// Whole-word parts (lowercase) that mark a hand-written, non-random value
/// when the value is made of words (`test-api-key`, `my_secret_token`).
const WORD_MARKERS: &[&str] = &[
    "test", "testing", "demo", "fake", "mock", "my", "todo", "tbd", "none", "null", "secret",
    "token", "key", "api", "password", "pass", "foo", "bar", "baz", "here", "value", "default",
    "abc", "xyz", "qwerty", "admin", "user", "hunter",
];

/// Whole values (lowercase, after trimming) that are never a secret.
const NON_SECRET_VALUES: &[&str] = &[
    "true",
    "false",
    "yes",
    "no",
    "on",
    "off",
    "null",
    "none",
    "nil",
    "undefined",
    "empty",
    "enabled",
    "disabled",
    "required",
    "optional",
    "secret",
    "password",
    "passwd",
    "pass",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "key",
    "changeme",
    "letmein",
    "admin",
    "root",
    "guest",
    "test",
    "testing",
    "demo",
    "default",
    "postgres",
    "mysql",
    "redis",
    "user",
    "username",
    "qwerty",
    "abc123",
    "password1",
    "password123",
    "secret123",
    "p@ssw0rd",
    "passw0rd",
    "s3cret",
    "s3cr3t",
    "hunter2",
    "mypassword",
    "mysecret",
    "mysecretpassword",
    "yourpassword",
    "supersecret",
    "topsecret",
    "foobar",
    "bearer",
];

/// Whether `s` contains a placeholder marker (`<TOKEN>`, `xxxx`, `sk-...`,
/// `your-api-key`, `EXAMPLE`) or is a hand-written pattern: one repeated
/// character, a long `0123456`/`abcdef` run, a short unit repeated.
pub(super) fn has_marker(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if MARKERS.iter().any(|m| lower.contains(m)) {
        return true;
    }
    let b = lower.as_bytes();
    let alnum: Vec<u8> = b
        .iter()
        .copied()
        .filter(u8::is_ascii_alphanumeric)
        .collect();
    if alnum.len() >= 4 && entropy::dominant_share(&alnum) > 0.5 {
        return true;
    }
    // `a1b2c3d4e5f6`: a sequence hidden by interleaving.
    let letters: Vec<u8> = b.iter().copied().filter(u8::is_ascii_alphabetic).collect();
    let digits: Vec<u8> = b.iter().copied().filter(u8::is_ascii_digit).collect();
    entropy::longest_sequence(b) >= 6
        || entropy::longest_sequence(&letters) >= 6
        || entropy::longest_sequence(&digits) >= 6
        || entropy::is_periodic(b)
}

/// Whether `s` is a value that is never a secret whatever its name: a
/// boolean, a number, a path, a URL without credentials, an email address, a
/// region, a glob like `mcp:*`, an all-digits id.
pub(super) fn is_non_secret_shape(s: &str) -> bool {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if t.is_empty() || NON_SECRET_VALUES.contains(&lower.as_str()) {
        return true;
    }
    let b = t.as_bytes();
    // numbers, including decimals and signs
    if b.iter().all(|c| c.is_ascii_digit() || b".-+_ ".contains(c)) {
        return true;
    }
    // paths
    if t.starts_with('/')
        || t.starts_with("./")
        || t.starts_with("../")
        || t.starts_with("~/")
        || t.starts_with('~')
        || (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'\\')
        || t.starts_with("\\\\")
    {
        return true;
    }
    // Publishable keys, public by design: Stripe/Clerk `pk_`, Mapbox `pk.`,
    // Supabase `sb_publishable_`, Langfuse `pk-lf-`, PostHog project `phc_`.
    if [
        "pk_live_",
        "pk_test_",
        "pk.eyj",
        "sb_publishable_",
        "pk-lf-",
        "phc_",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
    {
        return true;
    }
    // URLs (credentials inside are the URL detector's job)
    if lower.contains("://") {
        return true;
    }
    // email address
    if let Some((local, domain)) = t.split_once('@')
        && !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && domain
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
    {
        return true;
    }
    // globs and debug namespaces (`mcp:*`, `*`, `app.*`)
    if t == "*" || t.ends_with(":*") || t.ends_with("/*") || t.ends_with(".*") || t.ends_with(",*")
    {
        return true;
    }
    is_region(&lower)
}

/// Cloud region names: `us-east-1`, `eu-west-2`, `europe-west1`, `westeurope`.
fn is_region(lower: &str) -> bool {
    const AREAS: &[&str] = &[
        "us",
        "eu",
        "ap",
        "sa",
        "ca",
        "me",
        "af",
        "il",
        "mx",
        "cn",
        "us-gov",
        "europe",
        "asia",
        "australia",
        "northamerica",
        "southamerica",
        "africa",
    ];
    let parts: Vec<&str> = lower.split('-').collect();
    if parts.len() >= 2 && parts.len() <= 4 && AREAS.contains(&parts[0]) {
        let last = parts[parts.len() - 1];
        return last
            .trim_start_matches(|c: char| c.is_ascii_alphabetic())
            .chars()
            .all(|c| c.is_ascii_digit())
            && parts
                .iter()
                .all(|p| p.chars().all(|c| c.is_ascii_alphanumeric()));
    }
    false
}

/// Splits on separators and lower-to-upper case changes: `myApiKey-2` ->
/// `my`, `Api`, `Key`, `2`.
fn words(s: &str) -> Vec<&str> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..b.len() {
        let sep = !b[i].is_ascii_alphanumeric();
        let camel = i > start
            && b[i].is_ascii_uppercase()
            && (b[i - 1].is_ascii_lowercase()
                || (b[i - 1].is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(u8::is_ascii_lowercase)));
        if sep || camel {
            if i > start {
                out.push(&s[start..i]);
            }
            start = if sep { i + 1 } else { i };
        }
    }
    if start < b.len() {
        out.push(&s[start..]);
    }
    out
}

/// Whether `s` reads as words rather than random characters:
/// `my-custom-header-value`, `ThisIsMyApplication`, `your_api_token`,
/// `test-key-123`.
pub(super) fn is_word_like(s: &str) -> bool {
    let separated: Vec<&str> = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .collect();
    let marked = separated.len() >= 2
        && separated
            .iter()
            .any(|p| WORD_MARKERS.contains(&p.to_ascii_lowercase().as_str()));
    marked || reads_as_words(s)
}

/// Whether every part of `s` (split on separators and case changes) is a
/// plausible word or a short number, with at least two parts and half of
/// them words: `ThisIsMyApplication`, `custom-value-2`.
pub(super) fn reads_as_words(s: &str) -> bool {
    let parts = words(s);
    let is_word = |p: &&str| {
        let b = p.as_bytes();
        (b == b"A" || b == b"I")
            || b.iter().all(u8::is_ascii_alphabetic)
                && (2..=12).contains(&b.len())
                && (b[1..].iter().all(u8::is_ascii_lowercase)
                    || b.iter().all(u8::is_ascii_uppercase))
    };
    let is_short_number = |p: &&str| p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit());
    let word_count = parts.iter().filter(|p| is_word(p)).count();
    parts.len() >= 2
        && parts.iter().all(|p| is_word(p) || is_short_number(p))
        && word_count * 2 >= parts.len()
}

/// The gate for a value under a secret-like name (`*_TOKEN`, `*_KEY`,
/// `X-Api-Key`): long, random and not a placeholder.
pub(super) fn random_enough(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 16 || b.len() > 8192 {
        return false;
    }
    if b.iter()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || !c.is_ascii())
    {
        return false;
    }
    if has_marker(s) || is_non_secret_shape(s) || is_word_like(s) {
        return false;
    }
    let h = entropy::shannon(b);
    let classes = entropy::class_count(b);
    let floor = if b.len() >= 24 { 3.0 } else { 2.7 };
    h >= floor && classes >= 2
}

/// The gate for a password under a password-like name or in a URL: shorter
/// values pass, but not dictionary defaults, placeholders or sequences.
pub(super) fn password_like(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 6 || b.len() > 1024 {
        return false;
    }
    if b.iter().any(|c| c.is_ascii_control()) || s.trim() != s {
        return false;
    }
    if has_marker(s) || is_non_secret_shape(s) {
        return false;
    }
    if is_word_like(s) {
        return false;
    }
    !is_default_password(s) && entropy::shannon(b) >= 2.5
}

/// Words that documentation passwords are built from.
const PASSWORD_STEMS: &[&str] = &[
    "password", "passwd", "pass", "pwd", "secret", "changeme", "change", "admin", "root", "test",
    "demo", "example", "sample", "default", "letmein", "welcome", "qwerty", "your", "my", "user",
    "db", "dev", "local",
];

/// A documentation or default password: `password123`, `P@ssw0rd!`,
/// `mysecretpassword`, `userpass`, `Secret123`, `admin`: once leetspeak is
/// undone and digits and symbols dropped, nothing but stock words (and at
/// most three other letters) is left.
pub(super) fn is_default_password(s: &str) -> bool {
    let plain: String = s
        .chars()
        .filter(char::is_ascii_alphabetic)
        .collect::<String>()
        .to_ascii_lowercase();
    let leet: String = s
        .chars()
        .filter_map(|c| match c {
            '0' => Some('o'),
            '1' | '!' => Some('i'),
            '3' => Some('e'),
            '4' | '@' => Some('a'),
            '5' | '$' => Some('s'),
            '7' => Some('t'),
            c if c.is_ascii_alphabetic() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    [plain, leet].iter().any(|letters| {
        if letters.is_empty() || NON_SECRET_VALUES.contains(&letters.as_str()) {
            return true;
        }
        let mut rest = letters.clone();
        let mut removed = false;
        for stem in PASSWORD_STEMS {
            if rest.contains(stem) {
                rest = rest.replace(stem, "");
                removed = true;
            }
        }
        removed && rest.len() <= 3 && letters.len() - rest.len() >= 4
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        for s in [
            "<TOKEN>",
            "xxxx",
            "sk-...",
            "your-api-key",
            "AKIAIOSFODNN7EXAMPLE",
            "ins_sec_...",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "aaaaaaaaaaaaaaaa",
            "0123456789abcdef",
            "abc123abc123abc123",
            "REPLACE_ME",
        ] {
            assert!(has_marker(s), "{s}");
        }
        assert!(!has_marker("Zk3pQ9vX2mLr8TfW"));
    }

    #[test]
    fn shapes() {
        for s in [
            "true",
            "8080",
            "/path/to/data",
            "~/x",
            "C:\\x",
            "https://example.com/mcp",
            "me@example.com",
            "mcp:*",
            "us-east-1",
            "europe-west1",
        ] {
            assert!(is_non_secret_shape(s), "{s}");
        }
        assert!(!is_non_secret_shape("Zk3pQ9vX2mLr8TfW"));
    }

    #[test]
    fn word_like() {
        for s in [
            "my-custom-header-value",
            "ThisIsMyApplication",
            "test-key-123",
            "custom-value",
            "github_token",
            "ThisIsNotARealSecretKey",
        ] {
            assert!(is_word_like(s), "{s}");
        }
        for s in [
            "Zk3pQ9vX2mLr8TfW",
            "aB9xK2pQ7rT5wZ3m",
            "f3a9c1e07b2d4e68a5c9",
        ] {
            assert!(!is_word_like(s), "{s}");
        }
    }

    #[test]
    fn gates() {
        assert!(random_enough("Zk3pQ9vX2mLr8TfWq4Hn"));
        assert!(random_enough("5f2b7c9e-41ad-4e0b-9c3f-8d1a6e2b7f40"));
        assert!(!random_enough("your-api-token-here"));
        assert!(!random_enough("T01234567"));
        assert!(password_like("s9Vq!2rLm"));
        assert!(!password_like("password"));
        assert!(!password_like("Password123"));
        assert!(!password_like("changeme"));
        for p in [
            "P@ssw0rd!",
            "mysecretpassword",
            "userpass",
            "Secret123!",
            "admin123",
        ] {
            assert!(is_default_password(p), "{p}");
        }
        for p in ["Tr0ub4dor&3x", "s9Vq!2rLm", "Zk3pQ9vX2m", "db4Xk9"] {
            assert!(!is_default_password(p), "{p}");
        }
        assert!(has_marker("a1b2c3d4e5f6g7h8i9j0"));
    }
}
