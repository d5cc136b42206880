//! Secret-like names: environment variables, header names, command-line
//! flags and token-store keys (`GITHUB_TOKEN`, `X-Api-Key`, `--figma-api-key`,
//! `clientSecret`), and the provider a name points to when its tokens have no
//! published prefix (Cloudflare, Vercel, Mistral, ...).
//!
//! Only the last word of a name decides (`SLACK_TEAM_ID` ends in an id,
//! `TOKEN_URL` in a URL, `MAX_TOKENS` in a count), after dropping trailing
//! words that only describe the encoding (`_VALUE`, `_B64`).

use super::Severity;

/// What a name says about its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NameKind {
    /// A token, key or secret: judged by randomness.
    Secret,
    /// A password or passphrase: shorter values pass.
    Password,
    /// A wallet recovery phrase (`MNEMONIC`, `SEED_PHRASE`): twelve or more
    /// words.
    Mnemonic,
    /// Anything else: only typed formats and URLs apply.
    Other,
}

/// Last words that make a name secret-like.
const SECRET_WORDS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "KEY",
    "KEYS",
    "APIKEY",
    "PAT",
    "CREDENTIAL",
    "CREDENTIALS",
    "CREDS",
    "AUTH",
    "AUTHORIZATION",
    "BEARER",
    "COOKIE",
    "ACCESSTOKEN",
    "AUTHTOKEN",
    "APITOKEN",
    "SECRETKEY",
    "PRIVATEKEY",
    "SIGNATURE",
    "SIG",
    "AUTHENTICATION",
    "ACCESSKEY",
    "CLIENTSECRET",
    "APISECRET",
    "AUTHKEY",
    "JWT",
];

const PASSWORD_WORDS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "PWD",
    "PASS",
    "PASSPHRASE",
    "PASSCODE",
];

/// Trailing words that describe an encoding, skipped before judging.
/// Also stage and rotation suffixes (`GITHUB_TOKEN_PROD`, `API_KEY_OLD`).
const TRAILING_NEUTRAL: &[&str] = &[
    "VALUE",
    "B64",
    "BASE64",
    "RAW",
    "PLAIN",
    "STR",
    "BASE",
    "PROD",
    "PRODUCTION",
    "DEV",
    "STAGING",
    "STAGE",
    "OLD",
    "NEW",
    "BACKUP",
    "ALT",
    "PRIMARY",
    "SECONDARY",
    "LIVE",
    "SANDBOX",
    "LOCAL",
    "MAIN",
    "CURRENT",
    "NEXT",
    "PREVIOUS",
];

/// Words anywhere in a name that make it public by convention.
const PUBLIC_WORDS: &[&str] = &["PUBLIC", "PUB", "PUBLISHABLE", "ANON"];

/// Words right before the last one that make a `*_KEY` something other than
/// a credential (`SORT_KEY`, `SITE_KEY`, `CACHE_KEY`).
const NON_SECRET_QUALIFIERS: &[&str] = &[
    "SITE",
    "SORT",
    "PARTITION",
    "CACHE",
    "FOREIGN",
    "HOT",
    "ROUTING",
    "IDEMPOTENCY",
    "SHORTCUT",
    "DEDUP",
    "LOOKUP",
    "OBJECT",
    "MAX",
    "NUM",
    "MIN",
    // Keys that name a record, not a credential (`FIGMA_FILE_KEY`,
    // `JIRA_PROJECT_KEY`, `CONFLUENCE_SPACE_KEY`).
    "FILE",
    "PROJECT",
    "ISSUE",
    "SPACE",
    "BOARD",
    "PAGE",
    "DOC",
    "DOCUMENT",
    "SHEET",
    "FOLDER",
    "TABLE",
    "COLUMN",
    "ROW",
    "RECORD",
];

/// Two-word endings that make a name secret-like although their last word
/// alone does not: Telegram's `API_HASH`, a client `SESSION_STRING`.
const SECRET_PAIRS: &[(&str, &str)] = &[("API", "HASH"), ("SESSION", "STRING")];

/// Splits a name into upper-case words on separators and case changes:
/// `X-Api-Key` -> X, API, KEY; `clientSecret` -> CLIENT, SECRET;
/// `--figma-api-key` -> FIGMA, API, KEY.
pub(super) fn words(name: &str) -> Vec<String> {
    let b = name.as_bytes();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase()
            && i > 0
            && (b[i - 1].is_ascii_lowercase() || b[i - 1].is_ascii_digit())
            && !cur.is_empty()
        {
            out.push(std::mem::take(&mut cur));
        }
        cur.push(char::from(c.to_ascii_uppercase()));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// What `name` says about its value.
pub(super) fn classify(name: &str) -> NameKind {
    let mut w = words(name);
    // `API_KEY_2`, `KEY2`: numbering says nothing about the value.
    while w.len() > 1
        && w.last().is_some_and(|l| {
            TRAILING_NEUTRAL.contains(&l.as_str()) || l.bytes().all(|c| c.is_ascii_digit())
        })
    {
        w.pop();
    }
    if let Some(last) = w.last_mut() {
        let trimmed = last.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        if trimmed > 0 {
            last.truncate(trimmed);
        }
    }
    let Some(last) = w.last() else {
        return NameKind::Other;
    };
    if w.iter().any(|x| PUBLIC_WORDS.contains(&x.as_str())) {
        return NameKind::Other;
    }
    if w.len() >= 2 && NON_SECRET_QUALIFIERS.contains(&w[w.len() - 2].as_str()) {
        return NameKind::Other;
    }
    if PASSWORD_WORDS.contains(&last.as_str()) {
        return NameKind::Password;
    }
    if SECRET_WORDS.contains(&last.as_str()) {
        return NameKind::Secret;
    }
    if MNEMONIC_WORDS.contains(&last.as_str()) {
        return NameKind::Mnemonic;
    }
    if w.len() >= 2
        && SECRET_PAIRS
            .iter()
            .any(|(a, b)| w[w.len() - 2] == *a && last == b)
    {
        return NameKind::Secret;
    }
    // Run-together names: `PGPASSWORD`, `GHTOKEN`, `NPMAPIKEY`.
    if ["PASSWORD", "PASSWD", "PASSPHRASE"]
        .iter()
        .any(|x| last.len() > x.len() && last.ends_with(x))
    {
        return NameKind::Password;
    }
    if ["TOKEN", "SECRET", "APIKEY", "ACCESSKEY", "SECRETKEY"]
        .iter()
        .any(|x| last.len() > x.len() && last.ends_with(x))
    {
        return NameKind::Secret;
    }
    NameKind::Other
}

/// Last words of a recovery-phrase name.
const MNEMONIC_WORDS: &[&str] = &["MNEMONIC", "SEED", "SEEDPHRASE", "PHRASE", "RECOVERY"];

/// A provider-specific rule for a secret-like name, for providers whose
/// tokens carry no prefix of their own.
pub(super) struct NamedRule {
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
}

/// (words that must all occur, rule).
const NAMED: &[(&[&str], NamedRule)] = &[
    (
        &["AWS", "SECRET"],
        NamedRule {
            id: "aws-secret-access-key",
            title: "AWS secret access key",
            severity: Severity::Critical,
        },
    ),
    (
        &["AWS", "SESSION"],
        NamedRule {
            id: "aws-session-token",
            title: "AWS session token",
            severity: Severity::High,
        },
    ),
    (
        &["VAULT", "TOKEN"],
        NamedRule {
            id: "vault-token",
            title: "HashiCorp Vault / OpenBao token",
            severity: Severity::Critical,
        },
    ),
    (
        &["BAO", "TOKEN"],
        NamedRule {
            id: "vault-token",
            title: "HashiCorp Vault / OpenBao token",
            severity: Severity::Critical,
        },
    ),
    (
        &["AZURE", "CLIENT", "SECRET"],
        NamedRule {
            id: "azure-client-secret",
            title: "Azure AD client secret",
            severity: Severity::Critical,
        },
    ),
    (
        &["AZURE", "STORAGE"],
        NamedRule {
            id: "azure-storage-account-key",
            title: "Azure storage account key",
            severity: Severity::Critical,
        },
    ),
    (
        &["CLOUDFLARE"],
        NamedRule {
            id: "cloudflare-api-token",
            title: "Cloudflare API token",
            severity: Severity::High,
        },
    ),
    (
        &["VERCEL"],
        NamedRule {
            id: "vercel-token",
            title: "Vercel access token",
            severity: Severity::High,
        },
    ),
    (
        &["NETLIFY"],
        NamedRule {
            id: "netlify-token",
            title: "Netlify access token",
            severity: Severity::High,
        },
    ),
    (
        &["MISTRAL"],
        NamedRule {
            id: "mistral-api-key",
            title: "Mistral AI API key",
            severity: Severity::High,
        },
    ),
    (
        &["COHERE"],
        NamedRule {
            id: "cohere-api-key",
            title: "Cohere API key",
            severity: Severity::High,
        },
    ),
    (
        &["BRAVE"],
        NamedRule {
            id: "brave-search-api-key",
            title: "Brave Search API key",
            severity: Severity::High,
        },
    ),
    (
        &["EXA"],
        NamedRule {
            id: "exa-api-key",
            title: "Exa API key",
            severity: Severity::High,
        },
    ),
    (
        &["DEEPSEEK"],
        NamedRule {
            id: "deepseek-api-key",
            title: "DeepSeek API key",
            severity: Severity::High,
        },
    ),
    (
        &["DATADOG"],
        NamedRule {
            id: "datadog-api-key",
            title: "Datadog API or application key",
            severity: Severity::High,
        },
    ),
    (
        &["DD", "KEY"],
        NamedRule {
            id: "datadog-api-key",
            title: "Datadog API or application key",
            severity: Severity::High,
        },
    ),
    (
        &["TWILIO", "AUTH"],
        NamedRule {
            id: "twilio-auth-token",
            title: "Twilio auth token",
            severity: Severity::High,
        },
    ),
    (
        &["MAILGUN"],
        NamedRule {
            id: "mailgun-api-key",
            title: "Mailgun API key",
            severity: Severity::High,
        },
    ),
    (
        &["ALGOLIA", "ADMIN"],
        NamedRule {
            id: "algolia-admin-key",
            title: "Algolia admin API key",
            severity: Severity::High,
        },
    ),
];

/// The provider rule for a secret-like `name`, if one is known.
pub(super) fn provider(name: &str) -> Option<&'static NamedRule> {
    let w = words(name);
    NAMED
        .iter()
        .find(|(need, _)| need.iter().all(|n| w.iter().any(|x| x == n)))
        .map(|(_, rule)| rule)
}

/// (id, title, severity) of the name-gated provider rules.
pub(super) fn catalog() -> impl Iterator<Item = (&'static str, &'static str, Severity)> {
    NAMED.iter().map(|(_, r)| (r.id, r.title, r.severity))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for n in [
            "GITHUB_PERSONAL_ACCESS_TOKEN",
            "BRAVE_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "Authorization",
            "X-Api-Key",
            "X-Goog-Api-Key",
            "--api-key",
            "--figma-api-key",
            "--token",
            "clientSecret",
            "access_token",
            "SECRET_KEY_BASE",
            "OPENAI_APIKEY",
            "GITLAB_PAT",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "API_KEY_2",
            "OPENAI_API_KEY2",
            "GITHUB_TOKEN_PROD",
            "GHTOKEN",
            "TELEGRAM_API_HASH",
            "TELEGRAM_SESSION_STRING",
        ] {
            assert_eq!(classify(n), NameKind::Secret, "{n}");
        }
        for n in [
            "DB_PASSWORD",
            "--password",
            "REDIS_PASS",
            "KEY_PASSPHRASE",
            "PGPASSWORD",
        ] {
            assert_eq!(classify(n), NameKind::Password, "{n}");
        }
        for n in [
            "SLACK_TEAM_ID",
            "AWS_ACCESS_KEY_ID",
            "TOKEN_URL",
            "MAX_TOKENS",
            "SSH_PUBLIC_KEY",
            "PRIVATE_KEY_PATH",
            "GITHUB_TOKEN_FILE",
            "NEXT_PUBLIC_SUPABASE_ANON_KEY",
            "STRIPE_PUBLISHABLE_KEY",
            "DEBUG",
            "bearer_token_env_var",
            "X-Custom-Header",
            "--port",
            "",
            "HOTKEY",
            "OAUTH",
            "BYPASS",
            "MAXTOKENS",
            "FIGMA_FILE_KEY",
            "JIRA_PROJECT_KEY",
            "CONFLUENCE_SPACE_KEY",
            "COMMIT_HASH",
            "SESSION_ID",
        ] {
            assert_eq!(classify(n), NameKind::Other, "{n}");
        }
    }

    #[test]
    fn providers() {
        assert_eq!(
            provider("AWS_SECRET_ACCESS_KEY").map(|r| r.id),
            Some("aws-secret-access-key")
        );
        assert_eq!(
            provider("CLOUDFLARE_API_TOKEN").map(|r| r.id),
            Some("cloudflare-api-token")
        );
        assert!(provider("GITHUB_TOKEN").is_none());
        assert!(provider("EXAMPLE_TOKEN").is_none());
    }
}
