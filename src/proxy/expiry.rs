//! Short-lived credentials the server was started with: what the audit log's
//! start record says of them, and the answer to a tool call made after one
//! expired.
//!
//! Owns [`Credential`] (a minted credential as the proxy sees it: variables,
//! reference, kind, scope, expiry — never its value), [`Expiry`] (the
//! earliest expiry of those nothing refreshes) and the JSON-RPC error the
//! proxy answers with. Must not know backends or refresh anything.

use std::time::SystemTime;

/// JSON-RPC error code of the answer to a tool call after a credential
/// expired (implementation-defined server error range).
pub const EXPIRED_CODE: i64 = -32001;

/// A credential minted for this run. Never holds its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The variables it fills.
    pub vars: Vec<String>,
    /// The reference it was minted from, as written.
    pub reference: String,
    /// What kind: "GitHub App installation token", ...
    pub what: String,
    pub scope: String,
    pub expires: SystemTime,
    /// Kept valid by mcp-warden (secretless mode refreshes it).
    pub refreshed: bool,
}

/// The first credential the server holds that nothing refreshes.
#[derive(Debug, Clone)]
pub struct Expiry {
    at: SystemTime,
    vars: String,
    reference: String,
}

impl Expiry {
    /// The earliest expiry among `credentials` that are not refreshed.
    pub fn of(credentials: &[Credential]) -> Option<Expiry> {
        credentials
            .iter()
            .filter(|c| !c.refreshed)
            .min_by_key(|c| c.expires)
            .map(|c| Expiry {
                at: c.expires,
                vars: c.vars.join(", "),
                reference: c.reference.clone(),
            })
    }

    pub fn passed(&self, now: SystemTime) -> bool {
        now >= self.at
    }

    /// What the client (and so the model and the user) reads.
    pub fn message(&self) -> String {
        format!(
            "mcp-warden: the short-lived credential in {} ({}) expired at {}; the server \
             cannot work with it any more: restart the server to mint a new one, or run it \
             with --secretless so mcp-warden refreshes it",
            self.vars,
            self.reference,
            humantime::format_rfc3339_seconds(self.at)
        )
    }

    /// The JSON-RPC error answering request `id` (raw JSON).
    pub fn write_error(&self, id: &[u8], out: &mut Vec<u8>) {
        let message = serde_json::to_string(&self.message()).unwrap_or_else(|_| "\"\"".into());
        let at = humantime::format_rfc3339_seconds(self.at).to_string();
        out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
        out.extend_from_slice(id);
        out.extend_from_slice(b",\"error\":{\"code\":");
        out.extend_from_slice(EXPIRED_CODE.to_string().as_bytes());
        out.extend_from_slice(b",\"message\":");
        out.extend_from_slice(message.as_bytes());
        out.extend_from_slice(b",\"data\":{\"expiredAt\":\"");
        out.extend_from_slice(at.as_bytes());
        out.extend_from_slice(b"\",\"deniedBy\":\"mcp-warden\"}}}");
    }
}

/// The start record's `credentials` member: raw JSON.
pub fn to_json(credentials: &[Credential]) -> Vec<u8> {
    let list: Vec<serde_json::Value> = credentials
        .iter()
        .map(|c| {
            serde_json::json!({
                "vars": c.vars,
                "reference": c.reference,
                "kind": c.what,
                "scope": c.scope,
                "expires": humantime::format_rfc3339_seconds(c.expires).to_string(),
                "refresh": if c.refreshed { "secretless" } else { "none" },
            })
        })
        .collect();
    serde_json::to_vec(&list).unwrap_or_else(|_| b"[]".to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn cred(var: &str, secs: u64, refreshed: bool) -> Credential {
        Credential {
            vars: vec![var.into()],
            reference: format!("gcp-token://{var}@p.iam.gserviceaccount.com"),
            what: "Google access token".into(),
            scope: "cloud-platform".into(),
            expires: SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
            refreshed,
        }
    }

    #[test]
    fn the_earliest_unrefreshed_credential_decides() {
        let e = Expiry::of(&[
            cred("A", 50, true),
            cred("B", 90, false),
            cred("C", 70, false),
        ])
        .unwrap();
        assert!(!e.passed(SystemTime::UNIX_EPOCH + Duration::from_secs(69)));
        assert!(e.passed(SystemTime::UNIX_EPOCH + Duration::from_secs(70)));
        assert!(e.message().contains("in C ("), "{}", e.message());
        assert!(Expiry::of(&[cred("A", 50, true)]).is_none());
    }

    #[test]
    fn the_error_is_json_rpc() {
        let e = Expiry::of(&[cred("B", 90, false)]).unwrap();
        let mut out = Vec::new();
        e.write_error(b"7", &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["error"]["code"], EXPIRED_CODE);
        assert_eq!(v["error"]["data"]["expiredAt"], "1970-01-01T00:01:30Z");
        let list: serde_json::Value =
            serde_json::from_slice(&to_json(&[cred("B", 90, false)])).unwrap();
        assert_eq!(list[0]["vars"][0], "B");
        assert_eq!(list[0]["refresh"], "none");
    }
}
