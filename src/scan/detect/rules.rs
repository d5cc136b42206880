//! Typed token rules, written from each provider's published token format,
//! and the matcher that finds them anywhere in a string.
//!
//! All patterns are compiled once (bytes, Unicode off) into one `RegexSet`
//! that says which rules can match, then only those rules run their own
//! regex. A match must sit on token boundaries, pass the rule's check and
//! not look like a placeholder (`ghp_xxxx…`, `sk-proj-...`, low entropy).

use std::sync::LazyLock;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::{Detector, Hit, Severity, checks, placeholder};

/// Extra verification after a pattern matched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Check {
    /// Entropy floor (bits per byte) over the secret, no placeholder marker.
    Random(f64),
    /// As `Random(3.0)`, and the secret mixes at least two of lower, upper
    /// and digits and does not read as words: for short or generic prefixes
    /// (`re_`, `fw_`, `pa-`) that identifiers could also start with.
    Mixed,
    /// Three base64url segments whose header decodes to a JWT header; a
    /// Supabase `anon` key or the jwt.io example is not a secret.
    Jwt,
    /// Discord bot token: the first segment decodes to a numeric user id.
    Discord,
    /// PEM private key: the base64 body must be random.
    Pem,
    /// A password field of a connection string.
    Password,
}

/// One token format.
pub(super) struct Rule {
    /// Stable kebab-case id.
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// Regex (bytes, Unicode off). A group named `s` marks the secret inside
    /// the match; without one the whole match is the secret.
    pub pattern: &'static str,
    /// Bytes besides `[A-Za-z0-9_-]` that continue this token, so a match
    /// touching one of them on either side is part of something longer.
    /// `None`: the pattern carries its own context, no boundary check.
    pub edge: Option<&'static [u8]>,
    pub check: Check,
}

const R: Check = Check::Random(3.0);
const M: Check = Check::Mixed;
const WORD: Option<&[u8]> = Some(b"");
const B64: Option<&[u8]> = Some(b"+/=");

macro_rules! rule {
    ($id:literal, $title:literal, $sev:ident, $pat:literal) => {
        rule!($id, $title, $sev, $pat, WORD, R)
    };
    ($id:literal, $title:literal, $sev:ident, $pat:literal, $edge:expr) => {
        rule!($id, $title, $sev, $pat, $edge, R)
    };
    ($id:literal, $title:literal, $sev:ident, $pat:literal, $edge:expr, $check:expr) => {
        Rule {
            id: $id,
            title: $title,
            severity: Severity::$sev,
            pattern: $pat,
            edge: $edge,
            check: $check,
        }
    };
}

/// The table. Order matters only for ties: when two rules match the same
/// bytes, the earlier one names the finding.
#[rustfmt::skip]
pub(super) static RULES: &[Rule] = &[
    // --- GitHub (docs: "About authentication to GitHub", token formats) ---
    rule!("github-pat-classic", "GitHub personal access token (classic)", High, r"ghp_[A-Za-z0-9]{36}"),
    rule!("github-pat-fine-grained", "GitHub fine-grained personal access token", High, r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
    rule!("github-oauth-token", "GitHub OAuth access token", High, r"gho_[A-Za-z0-9]{36}"),
    rule!("github-user-token", "GitHub App user access token", High, r"ghu_[A-Za-z0-9]{36}"),
    rule!("github-app-token", "GitHub App installation access token", High, r"ghs_[A-Za-z0-9]{36}"),
    rule!("github-refresh-token", "GitHub App refresh token", High, r"ghr_[A-Za-z0-9]{36,76}"),
    // --- GitLab (docs: "Token prefixes") ---
    rule!("gitlab-pat", "GitLab personal, project or group access token", High, r"glpat-[A-Za-z0-9_-]{20,}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,10})?"),
    rule!("gitlab-deploy-token", "GitLab deploy token", High, r"gldt-[A-Za-z0-9_-]{20,}"),
    rule!("gitlab-runner-token", "GitLab runner authentication token", High, r"glrt-[A-Za-z0-9_-]{20,}"),
    rule!("gitlab-runner-registration-token", "GitLab runner registration token", High, r"GR1348941[A-Za-z0-9_-]{20}"),
    rule!("gitlab-token", "GitLab token (trigger, OAuth, CI job, feed, agent, SCIM)", High, r"gl(?:ptt|oas|cbt|ft|imt|agent|soat|ffct|wt)-[A-Za-z0-9_-]{20,}"),
    // --- Slack (docs: "Token types") ---
    rule!("slack-bot-token", "Slack bot token", High, r"xoxb-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{20,34}"),
    rule!("slack-user-token", "Slack user token", High, r"xoxp-[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[a-f0-9]{32}"),
    rule!("slack-config-token", "Slack configuration or refresh token", High, r"xoxe(?:\.xox[bp])?-1-[A-Za-z0-9]{60,}"),
    rule!("slack-app-token", "Slack app-level token", High, r"xapp-[0-9]-[A-Z0-9]{8,14}-[0-9]{8,14}-[a-f0-9]{64}"),
    rule!("slack-legacy-token", "Slack legacy workspace or refresh token", High, r"xox[aors]-[0-9]{1,14}-[A-Za-z0-9-]{20,}"),
    rule!("slack-webhook-url", "Slack incoming webhook URL", High, r"https://hooks\.slack\.com/services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}/(?P<s>[A-Za-z0-9]{24})", WORD),
    // --- Discord ---
    rule!("discord-webhook-url", "Discord webhook URL", High, r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/(?P<s>[A-Za-z0-9_-]{60,68})"),
    rule!("discord-bot-token", "Discord bot token", High, r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40}", WORD, Check::Discord),
    // --- OpenAI (project, service account, admin and user keys carry T3BlbkFJ) ---
    rule!("openai-project-key", "OpenAI project API key", High, r"sk-proj-[A-Za-z0-9_-]{40,}"),
    rule!("openai-service-account-key", "OpenAI service account key", High, r"sk-svcacct-[A-Za-z0-9_-]{40,}"),
    rule!("openai-admin-key", "OpenAI admin API key", Critical, r"sk-admin-[A-Za-z0-9_-]{40,}"),
    rule!("openai-api-key", "OpenAI API key", High, r"sk-[A-Za-z0-9_-]{10,}T3BlbkFJ[A-Za-z0-9_-]{10,}"),
    rule!("openrouter-api-key", "OpenRouter API key", High, r"sk-or-v1-[a-f0-9]{64}"),
    // --- Anthropic ---
    rule!("anthropic-admin-key", "Anthropic Admin API key", Critical, r"sk-ant-admin01-[A-Za-z0-9_-]{80,120}"),
    rule!("anthropic-api-key", "Anthropic API key", High, r"sk-ant-api03-[A-Za-z0-9_-]{80,120}"),
    rule!("anthropic-oauth-token", "Anthropic (Claude) OAuth token", High, r"sk-ant-o[ar]t01-[A-Za-z0-9_-]{80,120}"),
    // --- other AI providers ---
    rule!("groq-api-key", "Groq API key", High, r"gsk_[A-Za-z0-9]{52}"),
    rule!("replicate-api-token", "Replicate API token", High, r"r8_[A-Za-z0-9]{37}"),
    rule!("xai-api-key", "xAI API key", High, r"xai-[A-Za-z0-9]{80}"),
    rule!("perplexity-api-key", "Perplexity API key", High, r"pplx-[A-Za-z0-9]{40,56}"),
    rule!("huggingface-token", "Hugging Face access token", High, r"hf_[A-Za-z0-9]{30,40}"),
    rule!("langsmith-api-key", "LangSmith API key", High, r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}"),
    rule!("langfuse-secret-key", "Langfuse secret key", High, r"sk-lf-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"),
    rule!("pinecone-api-key", "Pinecone API key", High, r"pcsk_[A-Za-z0-9]{4,10}_[A-Za-z0-9]{40,}"),
    rule!("elevenlabs-api-key", "ElevenLabs API key", High, r"sk_[a-f0-9]{48}"),
    rule!("tavily-api-key", "Tavily API key", High, r"tvly-(?:dev-|prod-)?[A-Za-z0-9]{32}"),
    rule!("firecrawl-api-key", "Firecrawl API key", High, r"fc-[a-f0-9]{32}"),
    rule!("context7-api-key", "Context7 API key", High, r"ctx7sk[-_][A-Za-z0-9-]{30,}", WORD, M),
    rule!("brave-search-api-key", "Brave Search API key", High, r"BSA[A-Za-z0-9_-]{24,32}", WORD, M),
    rule!("apify-api-token", "Apify API token", High, r"apify_api_[A-Za-z0-9]{36}", WORD, M),
    rule!("browserbase-api-key", "Browserbase API key", High, r"bb_live_[A-Za-z0-9_-]{20,}", WORD, M),
    // --- AWS (access key ids: AKIA long-term, ASIA temporary) ---
    rule!("aws-access-key-id", "AWS access key id", High, r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
    rule!("aws-secret-access-key", "AWS secret access key", Critical, r#"(?i:aws_?secret_?(?:access_?)?key)["']?\s*[:=]\s*["']?(?P<s>[A-Za-z0-9/+]{40})"#, B64),
    // --- Google ---
    rule!("gcp-service-account-key", "Google Cloud service account private key", Critical, r#""private_key"\s*:\s*"(?P<s>-----BEGIN [A-Z ]{0,20}PRIVATE KEY-----[A-Za-z0-9+/=\s\\]{64,}-----END [A-Z ]{0,20}PRIVATE KEY-----(?:\\n|\n)?)""#, None, Check::Pem),
    rule!("google-api-key", "Google API key", High, r"AIza[A-Za-z0-9_-]{35}"),
    rule!("google-oauth-client-secret", "Google OAuth client secret", High, r"GOCSPX-[A-Za-z0-9_-]{28}"),
    rule!("google-oauth-access-token", "Google OAuth access token", High, r"ya29\.[A-Za-z0-9_-]{30,}"),
    rule!("google-oauth-refresh-token", "Google OAuth refresh token", High, r"1//0[A-Za-z0-9_-]{40,}"),
    // --- private keys ---
    rule!("private-key", "Private key (PEM)", Critical, r"-----BEGIN [A-Z0-9 ]{0,24}PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\s\\:,-]{40,}?-----END [A-Z0-9 ]{0,24}PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s\\]{64,})", None, Check::Pem),
    rule!("age-secret-key", "age secret key", Critical, r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    // --- Azure ---
    rule!("azure-storage-account-key", "Azure storage account key (connection string)", Critical, r"(?i:AccountKey)=(?P<s>[A-Za-z0-9+/]{86}==)", B64),
    rule!("azure-shared-access-key", "Azure Service Bus / Event Hubs shared access key", Critical, r"(?i:SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{43}=)", B64),
    rule!("azure-client-secret", "Azure AD client secret", Critical, r"[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}", Some(b"~.")),
    // --- payments ---
    rule!("stripe-live-secret-key", "Stripe live secret key", Critical, r"sk_live_[A-Za-z0-9]{24,247}"),
    rule!("stripe-live-restricted-key", "Stripe live restricted key", Critical, r"rk_live_[A-Za-z0-9]{24,247}"),
    rule!("stripe-test-key", "Stripe test secret or restricted key", Medium, r"[rs]k_test_[A-Za-z0-9]{24,247}"),
    rule!("stripe-webhook-secret", "Stripe webhook signing secret", High, r"whsec_[A-Za-z0-9+/=]{32,}", B64),
    rule!("square-access-token", "Square access token", Critical, r"(?:EAAA|sq0atp-)[A-Za-z0-9_-]{22,60}"),
    rule!("square-oauth-secret", "Square OAuth application secret", High, r"sq0csp-[A-Za-z0-9_-]{43}"),
    rule!("shopify-token", "Shopify access token or shared secret", High, r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
    // --- developer platforms ---
    rule!("npm-access-token", "npm access token", High, r"npm_[A-Za-z0-9]{36}"),
    rule!("pypi-upload-token", "PyPI upload token", High, r"pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}"),
    rule!("dockerhub-token", "Docker Hub personal or organization access token", High, r"dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,}"),
    rule!("atlassian-api-token", "Atlassian API token", High, r"AT(?:ATT|CTT)3[A-Za-z0-9_=-]{150,}", Some(b"=")),
    rule!("bitbucket-app-password", "Bitbucket app password", High, r"ATBB[A-Za-z0-9_=.-]{28,}", Some(b"=."), M),
    rule!("sendgrid-api-key", "SendGrid API key", High, r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}"),
    rule!("twilio-api-key", "Twilio API key SID", High, r"SK[0-9a-fA-F]{32}"),
    rule!("twilio-account-sid", "Twilio account SID (identifier that pairs with an auth token)", Low, r"AC[0-9a-f]{32}"),
    rule!("mailgun-api-key", "Mailgun API key", High, r"key-[a-f0-9]{32}"),
    rule!("mailchimp-api-key", "Mailchimp API key", High, r"[a-f0-9]{32}-us[0-9]{1,2}"),
    rule!("resend-api-key", "Resend API key", High, r"re_[A-Za-z0-9]{6,12}_[A-Za-z0-9]{20,32}", WORD, M),
    rule!("digitalocean-token", "DigitalOcean token", Critical, r"do[opr]_v1_[a-f0-9]{64}"),
    rule!("vault-token", "HashiCorp Vault / OpenBao token", Critical, r"hv[sbr]\.[A-Za-z0-9_-]{24,}"),
    rule!("vault-token", "HashiCorp Vault / OpenBao token", Critical, r#"(?i:(?:vault|bao)_token|x-vault-token)["']?\s*[:=]\s*["']?(?P<s>[sbr]\.[A-Za-z0-9]{24,})"#),
    rule!("grafana-service-account-token", "Grafana service account token", High, r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
    rule!("grafana-cloud-token", "Grafana Cloud access policy token", High, r"glc_[A-Za-z0-9+/]{32,400}={0,2}", B64),
    rule!("airtable-pat", "Airtable personal access token", High, r"pat[A-Za-z0-9]{14}\.[a-f0-9]{64}", WORD, M),
    rule!("linear-api-key", "Linear API key", High, r"lin_(?:api|oauth)_[A-Za-z0-9]{40,64}"),
    rule!("notion-token", "Notion integration token", High, r"(?:secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{40,50})", WORD, M),
    rule!("figma-token", "Figma access token", High, r"fig[du]_[A-Za-z0-9_-]{40,}"),
    rule!("sentry-token", "Sentry auth token", High, r"(?:sntrys_[A-Za-z0-9+/=_-]{60,}|sntryu_[a-f0-9]{64})", B64),
    rule!("postman-api-key", "Postman API key", High, r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    rule!("databricks-token", "Databricks personal access token", High, r"dapi[a-f0-9]{32}(?:-[0-9])?"),
    rule!("doppler-token", "Doppler token", Critical, r"dp\.(?:pt|st|sa|ct|scim|audit)\.(?:[a-z0-9_-]{1,30}\.)?[A-Za-z0-9]{40,}"),
    rule!("supabase-access-token", "Supabase personal access token", Critical, r"sbp_[a-f0-9]{40}"),
    rule!("supabase-secret-key", "Supabase secret API key", Critical, r"sb_secret_[A-Za-z0-9_-]{31,}"),
    rule!("netlify-token", "Netlify access token", High, r"nf[pcou]_[A-Za-z0-9]{36,}"),
    rule!("cloudflare-origin-ca-key", "Cloudflare Origin CA key", High, r"v1\.0-[a-f0-9]{24}-[a-f0-9]{146}"),
    rule!("telegram-bot-token", "Telegram bot token", High, r"(?:bot)?(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})"),
    rule!("new-relic-api-key", "New Relic user API key", High, r"NRAK-[A-Z0-9]{27}"),
    rule!("pulumi-access-token", "Pulumi access token", High, r"pul-[a-f0-9]{40}"),
    rule!("terraform-cloud-token", "Terraform Cloud / HCP Terraform API token", High, r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}", Some(b"=")),
    rule!("tailscale-key", "Tailscale API or auth key", High, r"tskey-(?:api|auth|client|scim|webhook)-[A-Za-z0-9]{6,}-[A-Za-z0-9]{20,}", WORD, M),
    rule!("onepassword-service-account-token", "1Password service account token", Critical, r"ops_eyJ[A-Za-z0-9+/=_-]{100,}", B64),
    rule!("planetscale-token", "PlanetScale token or password", High, r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,64}"),
    rule!("neon-api-key", "Neon API key", High, r"napi_[a-z0-9]{64}"),
    rule!("render-api-key", "Render API key", High, r"rnd_[A-Za-z0-9]{32}"),
    rule!("contentful-pat", "Contentful personal access token", High, r"CFPAT-[A-Za-z0-9_-]{43}"),
    rule!("hubspot-pat", "HubSpot private app access token", High, r"pat-(?:na|eu)[0-9]-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"),
    rule!("circleci-token", "CircleCI personal API token", High, r"CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}"),
    rule!("buildkite-token", "Buildkite API access token", High, r"bkua_[a-f0-9]{40}"),
    rule!("mapbox-secret-token", "Mapbox secret access token", High, r"sk\.eyJ[A-Za-z0-9_-]{50,}\.[A-Za-z0-9_-]{20,}"),
    rule!("zapier-mcp-url", "Zapier MCP server URL secret", High, r"https://(?:mcp|actions)\.zapier\.com/(?:api/mcp/s|mcp)/(?P<s>[A-Za-z0-9_=+-]{20,})", Some(b"=+")),
    // --- more providers ---
    rule!("heroku-api-key", "Heroku API key", High, r"HRKU-[A-Za-z0-9_-]{40,80}", WORD, M),
    rule!("fly-token", "Fly.io access token", High, r"(?:fo1_[A-Za-z0-9_-]{43}|fm[12][a-z]?_[A-Za-z0-9+/=_-]{100,})", B64),
    rule!("sourcegraph-token", "Sourcegraph access token", High, r"sgp_(?:local_|[a-f0-9]{16}_)?[a-f0-9]{40}"),
    rule!("facebook-access-token", "Meta (Facebook) access token", High, r"EAA[B-Z0-9][A-Za-z0-9]{80,}", WORD, M),
    rule!("clickup-api-token", "ClickUp personal API token", High, r"pk_[0-9]{6,10}_[A-Z0-9]{32}"),
    rule!("trello-token", "Trello API token", High, r"ATTA[A-Za-z0-9_=-]{60,}", Some(b"="), M),
    rule!("dropbox-token", "Dropbox access token", High, r"sl\.(?:u\.)?[A-Za-z0-9_-]{130,}", WORD, M),
    rule!("intercom-access-token", "Intercom access token", High, r"dG9rO[A-Za-z0-9+/]{40,}={0,2}", B64),
    rule!("elastic-cloud-api-key", "Elastic Cloud API key", High, r"essu_[A-Za-z0-9+/]{50,}={0,2}", B64),
    rule!("alibaba-access-key-id", "Alibaba Cloud AccessKey id", High, r"LTAI[A-Za-z0-9]{12,20}", WORD, M),
    rule!("tencent-secret-id", "Tencent Cloud SecretId", High, r"AKID[A-Za-z0-9]{32}", WORD, M),
    rule!("braintree-access-token", "Braintree access token", Critical, r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}"),
    rule!("plaid-access-token", "Plaid access token", High, r"access-(?:sandbox|development|production)-[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}"),
    rule!("fireworks-api-key", "Fireworks AI API key", High, r"fw_[A-Za-z0-9]{24,48}", WORD, M),
    rule!("voyage-api-key", "Voyage AI API key", High, r"pa-[A-Za-z0-9_-]{43}", WORD, M),
    rule!("e2b-api-key", "E2B API key", High, r"e2b_[a-f0-9]{40}"),
    rule!("twitter-bearer-token", "X (Twitter) app bearer token", High, r"A{21,22}[A-Za-z0-9%]{40,}", Some(b"%")),
    rule!("salesforce-access-token", "Salesforce access token", High, r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9_.]{80,}", Some(b"!.")),
    rule!("sonarqube-token", "SonarQube token", High, r"sq[upa]_[a-f0-9]{40}"),
    rule!("harness-pat", "Harness personal access token", High, r"pat\.[A-Za-z0-9_-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}"),
    rule!("posthog-personal-api-key", "PostHog personal API key", High, r"phx_[A-Za-z0-9]{43}"),
    rule!("azure-identifiable-key", "Azure identifiable API key (AI services, DevOps, ...)", Critical, r"[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9]{26,30}"),
    rule!("jwt", "JSON Web Token", High, r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{20,}", WORD, Check::Jwt),
    rule!("connection-string-password", "Password in a connection string", High, r"(?i:(?:^|;)\s*(?:password|pwd)\s*=\s*)(?P<s>[!-:<-~]{1,128})", None, Check::Password),
];

struct Compiled {
    set: RegexSet,
    each: Vec<Regex>,
}

/// Size limit per compiled regex; the largest rule needs well under this.
const SIZE_LIMIT: usize = 4 << 20;

static COMPILED: LazyLock<Compiled> = LazyLock::new(|| {
    let patterns: Vec<&str> = RULES.iter().map(|r| r.pattern).collect();
    let set = RegexSetBuilder::new(&patterns)
        .unicode(false)
        .size_limit(SIZE_LIMIT * 8)
        .build()
        .expect("the typed token rules are constants that compile (tested)");
    let each = RULES
        .iter()
        .map(|r| {
            RegexBuilder::new(r.pattern)
                .unicode(false)
                .size_limit(SIZE_LIMIT)
                .build()
                .expect("each typed token rule is a constant that compiles (tested)")
        })
        .collect();
    Compiled { set, each }
});

/// Forces compilation (tests, and callers that want to pay the cost early).
pub(super) fn warm() {
    LazyLock::force(&COMPILED);
}

/// Every typed token in `text`, deduplicated: overlapping matches keep the
/// longest, ties go to the earlier rule.
pub(super) fn find(text: &str) -> Vec<Hit> {
    let bytes = text.as_bytes();
    if bytes.len() < 8 {
        return Vec::new();
    }
    let compiled = &*COMPILED;
    let mut found: Vec<(usize, Hit)> = Vec::new();
    for idx in compiled.set.matches(bytes).iter() {
        let rule = &RULES[idx];
        let re = &compiled.each[idx];
        let mut at = 0;
        while at <= bytes.len() {
            let Some(caps) = re.captures_at(bytes, at) else {
                break;
            };
            let Some(whole) = caps.get(0) else { break };
            let secret = caps.name("s").unwrap_or(whole);
            let range = secret.start()..secret.end();
            if bounded(bytes, &range, whole.start()..whole.end(), rule.edge)
                && text.is_char_boundary(range.start)
                && text.is_char_boundary(range.end)
                && verify(rule, &text[range.clone()])
            {
                found.push((
                    idx,
                    Hit {
                        rule: rule.id,
                        title: rule.title,
                        severity: rule.severity,
                        detector: Detector::Format,
                        range,
                    },
                ));
                at = whole.end().max(at + 1);
            } else {
                at = whole.start() + 1;
            }
        }
    }
    found.sort_by_key(|(idx, h)| (std::cmp::Reverse(h.range.len()), *idx));
    let mut kept: Vec<Hit> = Vec::new();
    for (_, h) in found {
        if !kept.iter().any(|k| overlaps(&k.range, &h.range)) {
            kept.push(h);
        }
    }
    kept.sort_by_key(|h| h.range.start);
    kept
}

pub(super) fn overlaps(a: &std::ops::Range<usize>, b: &std::ops::Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// Whether the secret is not glued to a longer token on either side. Where
/// the pattern itself matched context before or after the secret (`bot` before
/// a Telegram token, `AccountKey=`), that side is the pattern's business.
fn bounded(
    b: &[u8],
    secret: &std::ops::Range<usize>,
    whole: std::ops::Range<usize>,
    edge: Option<&[u8]>,
) -> bool {
    let Some(extra) = edge else { return true };
    let joins = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || extra.contains(&c);
    let before_ok = secret.start > whole.start || secret.start == 0 || !joins(b[secret.start - 1]);
    let after_ok = secret.end < whole.end || secret.end >= b.len() || !joins(b[secret.end]);
    before_ok && after_ok
}

fn verify(rule: &Rule, secret: &str) -> bool {
    match rule.check {
        Check::Random(floor) => {
            !placeholder::has_marker(secret) && super::entropy::shannon(secret.as_bytes()) >= floor
        }
        Check::Mixed => {
            let b = secret.as_bytes();
            let alnum_classes = [
                b.iter().any(u8::is_ascii_lowercase),
                b.iter().any(u8::is_ascii_uppercase),
                b.iter().any(u8::is_ascii_digit),
            ];
            !placeholder::has_marker(secret)
                && super::entropy::shannon(b) >= 3.0
                && alnum_classes.iter().filter(|&&x| x).count() >= 2
                && !placeholder::reads_as_words(secret)
        }
        Check::Jwt => checks::jwt(secret),
        Check::Discord => checks::discord(secret),
        Check::Pem => checks::pem(secret),
        Check::Password => {
            super::reference::whole(secret).is_none() && placeholder::password_like(secret.trim())
        }
    }
}

/// (id, title, severity) of every typed rule, one entry per id.
pub(super) fn catalog() -> Vec<(&'static str, &'static str, Severity)> {
    let mut out: Vec<(&'static str, &'static str, Severity)> = Vec::new();
    for r in RULES {
        if !out.iter().any(|(id, _, _)| *id == r.id) {
            out.push((r.id, r.title, r.severity));
        }
    }
    out
}
