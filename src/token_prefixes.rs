//! Well-known credential prefixes (`ghp_`, `xoxb-`, `sk-`, `AKIA`, ...): the
//! visible, non-secret start of a provider's tokens.
//!
//! Owns the one list. `govern::assign` reads a "reference" starting with one
//! as a pasted value; `egress::placeholder` keeps the longest one a value
//! starts with verbatim. Must not hold anything else.

/// The prefixes (a value may start with several: `sk-ant-` and `sk-`).
pub const TOKEN_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xoxr-",
    "xapp-",
    "sk-ant-api03-",
    "sk-ant-",
    "sk-proj-",
    "sk-live_",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "pk_live_",
    "sk-",
    "AKIA",
    "ASIA",
    "AIza",
    "hf_",
    "npm_",
    "pypi-",
    "dop_v1_",
    "shpat_",
    "SG.",
];
