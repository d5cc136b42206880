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
    if x_filler(b) {
        return true;
    }
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

/// `xxxx` filler (`ghp_xxxxxxxx`, `xoxb-xxxx-xxxx`, `AKIAXXXXXXXXXXXXXXXX`):
/// a run of four or more x's that is long (six or more) or a fair share of
/// the letters and digits. A random 40-character token contains four x's in
/// a row about once in 20,000 draws; that alone does not make it a
/// placeholder.
fn x_filler(lower: &[u8]) -> bool {
    let mut run = 0;
    let mut longest = 0;
    for &c in lower {
        run = if c == b'x' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    if longest < 4 {
        return false;
    }
    let alnum = lower.iter().filter(|c| c.is_ascii_alphanumeric()).count();
    let xs = lower.iter().filter(|&&c| c == b'x').count();
    longest >= 6 || alnum <= 24 || xs * 5 >= alnum
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
    // paths (a base64 secret may start with `/` too)
    if (t.starts_with('/') && !is_random_base64(t))
        || t.starts_with("./")
        || t.starts_with("../")
        || t.starts_with("~/")
        || (t.starts_with('~')
            && t[1..]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._/-\\".contains(&c)))
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
    // File names and relative paths: `certs/server.key`, `sa.json`,
    // `config/tls/private.pem` (no upper case, so not base64).
    const EXTENSIONS: &[&str] = &[
        ".json", ".pem", ".key", ".crt", ".cer", ".txt", ".yaml", ".yml", ".env", ".p12", ".pfx",
        ".jks", ".toml", ".ini", ".conf", ".cfg", ".pub", ".der", ".asc", ".gpg", ".kdbx",
    ];
    if EXTENSIONS.iter().any(|e| lower.ends_with(e))
        || (t.contains('/')
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-/".contains(c)))
    {
        return true;
    }
    // versions: `1.2.3`, `v2.0.1-beta.2`, `3.11.4+build.7`
    {
        let v = t.strip_prefix(['v', 'V']).unwrap_or(t);
        let core_end = v.find(['-', '+']).unwrap_or(v.len());
        let core = &v[..core_end];
        let rest = &v[core_end..];
        if core.split('.').count() >= 2
            && core
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
            && rest
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-+.".contains(&c))
            && rest.len() <= 20
        {
            return true;
        }
    }
    // npm scoped package specs: `@scope/name`, `@scope/name@1.2.3`
    if let Some(rest) = t.strip_prefix('@')
        && let Some((scope, name)) = rest.split_once('/')
    {
        let name = name.split_once('@').map_or(name, |(n, _)| n);
        let part = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-._~".contains(&c))
        };
        if part(scope) && part(name) {
            return true;
        }
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
    if t == "*"
        || ([":*", "/*", ".*", ",*"].iter().any(|g| t.ends_with(g))
            && t[..t.len() - 1]
                .bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"_-.:/,@".contains(&c)))
    {
        return true;
    }
    is_region(&lower)
}

/// Standard-alphabet base64 that reads as random rather than as a path:
/// at least 20 characters, upper case, lower case and digits, and a run of
/// 16 or more between slashes (`/OMNJcCHMgWMSwKE4bkIrE1SS0crnSPn/BSXRhG`,
/// not `/Users/Me/Projects/MyApp2024`).
fn is_random_base64(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 20
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"+/=".contains(c))
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_digit)
        && t.split('/')
            .any(|seg| seg.len() >= 16 && !reads_as_words(seg))
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
    let word_count = parts.iter().filter(|p| is_word(p)).count();
    let is_short_number = |p: &&str| p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit());
    parts.len() >= 2
        && parts.iter().all(|p| is_word(p) || is_short_number(p))
        && word_count * 2 >= parts.len()
}

/// A plausible word: 2..=12 letters, lowercase, Capitalised or an upper-case
/// acronym of up to four letters; pronounceable (a vowel, no run of five
/// consonants), so random letters (`hxjlxk`) are not words.
fn is_word(p: &str) -> bool {
    let b = p.as_bytes();
    if matches!(b, b"A" | b"I" | b"a" | b"i") {
        return true;
    }
    if !b.iter().all(u8::is_ascii_alphabetic) || !(2..=12).contains(&b.len()) {
        return false;
    }
    let upper = b.iter().all(u8::is_ascii_uppercase);
    if upper && b.len() <= 4 {
        return true;
    }
    if !upper && !b[1..].iter().all(u8::is_ascii_lowercase) {
        return false;
    }
    let vowel = |c: &u8| b"aeiouyAEIOUY".contains(c);
    let mut run = 0;
    for c in b {
        run = if vowel(c) { 0 } else { run + 1 };
        if run >= 5 {
            return false;
        }
    }
    b.iter().any(vowel)
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
    if is_app_password(s) {
        return true;
    }
    // Words only (`custom-value`, `correct horse battery staple` from the
    // comic); a stock word among other characters (`S3cure!Pass`) is fine.
    // Random passwords cut at case changes and symbols fall into two- and
    // three-letter pieces that pass for words (`fao`, `He`, `Sya`), so one
    // piece of four letters or more is needed.
    if reads_as_words(s) && words(s).iter().any(|w| w.len() >= 4 && is_word(w)) {
        return false;
    }
    !is_default_password(s) && entropy::shannon(b) >= 2.5
}

/// A Google-style app password as it is shown and pasted: four groups of
/// four lower-case letters (`abcd efgh ijkl mnop` without the sequence),
/// with enough distinct letters to be generated rather than typed.
fn is_app_password(s: &str) -> bool {
    let groups: Vec<&str> = s.split(' ').collect();
    if groups.len() != 4
        || !groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|c| c.is_ascii_lowercase()))
    {
        return false;
    }
    let mut letters: Vec<u8> = s.bytes().filter(u8::is_ascii_lowercase).collect();
    if entropy::longest_sequence(&letters) >= 4 {
        return false;
    }
    letters.sort_unstable();
    letters.dedup();
    letters.len() >= 8
}

/// A short value (10..16 bytes, no spaces) with upper case, lower case,
/// digits and symbols that passes the password gate: strong enough to be a
/// real credential although too short for [`random_enough`].
pub(super) fn short_strong(s: &str) -> bool {
    let b = s.as_bytes();
    (10..16).contains(&b.len())
        && !b.iter().any(u8::is_ascii_whitespace)
        && b.iter().any(u8::is_ascii_uppercase)
        && b.iter().any(u8::is_ascii_lowercase)
        && b.iter().any(u8::is_ascii_digit)
        && b.iter().any(u8::is_ascii_punctuation)
        && !is_word_like(s)
        && password_like(s)
}

/// A BIP-39-style recovery phrase: 12, 15, 18, 21 or 24 lowercase words of
/// 3..=8 letters, not a placeholder (`word1 word2 ...`, `your twelve ...`)
/// and not the same few words repeated.
pub(super) fn mnemonic_like(s: &str) -> bool {
    let words: Vec<&str> = s.split_whitespace().collect();
    if ![12, 15, 18, 21, 24].contains(&words.len()) || has_marker(s) {
        return false;
    }
    let all_words = words
        .iter()
        .all(|w| (3..=8).contains(&w.len()) && w.bytes().all(|c| c.is_ascii_lowercase()));
    let mut distinct = words.clone();
    distinct.sort_unstable();
    distinct.dedup();
    all_words && distinct.len() * 4 >= words.len() * 3
}

/// Words that documentation passwords are built from.
const PASSWORD_STEMS: &[&str] = &[
    "password", "passwd", "pass", "pwd", "secret", "changeme", "change", "admin", "root", "test",
    "demo", "example", "sample", "default", "letmein", "welcome", "qwerty", "your", "my", "user",
    "db", "dev", "local", "prod", "redis", "postgres", "mysql", "mongodb", "mongo", "rabbit",
    "guest", "app", "service", "api", "server", "super", "strong", "mcp",
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
        // Sentences of instructions are not secrets.
        assert!(!random_enough("change-this-to-a-random-string"));
    }

    #[test]
    fn x_runs_in_long_random_values_are_not_filler() {
        let random = "Zk3pQ9vX2mLr8TfWq4Hn";
        let long = format!("ntn_{random}XXXx{random}");
        assert!(!has_marker(&long));
        for s in [
            "xxxx",
            "sk-proj-xxxx",
            "xoxb-xxxx-xxxx-xxxx",
            "re_xxxxxxxxx",
        ] {
            assert!(has_marker(s), "{s}");
        }
        assert!(has_marker(&format!("{random}xxxxxx{random}")));
    }

    #[test]
    fn slash_led_base64_is_not_a_path() {
        let v = format!("/{}/{}", "OMNJcCHMgWMSwKE4bkIrE1SS0", "crnSPnZBSXRhG");
        assert!(!is_non_secret_shape(&v));
        assert!(random_enough(&v));
        for p in [
            "/Users/Me/Projects/MyApp2024",
            "/var/run/secrets/token",
            "/ApplicationSupport/ClaudeDesktop",
        ] {
            assert!(is_non_secret_shape(p), "{p}");
        }
    }

    #[test]
    fn globs_are_identifiers_with_a_star() {
        assert!(is_non_secret_shape("app.*"));
        assert!(is_non_secret_shape("v1.2.3-Beta"));
        assert!(is_non_secret_shape("2024.11.04"));
        assert!(is_non_secret_shape("@acme/private-mcp"));
        assert!(is_non_secret_shape("@upstash/context7-mcp@1.0.14"));
        assert!(is_non_secret_shape("mcp:server:*"));
        assert!(!is_non_secret_shape("6~3Hyy6R.*"));
        assert!(password_like("6~3Hyy6R.*"));
        assert!(password_like("~g*k1*OXii0*"));
        assert!(is_non_secret_shape("~deploy/keys"));
        assert!(password_like("faoHeSya_2.91.wy"));
        assert!(!password_like("custom-value"));
        assert!(!password_like("correct horse battery staple"));
    }

    #[test]
    fn app_passwords() {
        assert!(password_like("kvuu uuig fgmu yyyf"));
        assert!(!password_like("abcd efgh ijkl mnop"));
        assert!(!password_like("xxxx xxxx xxxx xxxx"));
        assert!(!password_like("aaaa bbbb aaaa bbbb"));
        assert!(!password_like("your app pass word"));
    }
}
