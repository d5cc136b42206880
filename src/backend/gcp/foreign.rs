//! Checks on a credentials JSON that did not come from the user's own Google
//! setup: one named on a command line or in a client config
//! (`--vault-keyFilename`, `VAULT_KEYFILENAME`, `--vault-credentialsRef`).
//!
//! Such a file decides where tokens and local data are sent: an
//! `external_account` config reads a "subject token" (any local file, any
//! URL, the output of a program) and posts it to its `token_url`. So from
//! there only the types that carry their own secret (`service_account`,
//! `authorized_user`) are taken as they are; `external_account` and
//! `impersonated_service_account` must talk to Google's own STS and IAM
//! Credentials hosts, run no program, and read a subject-token URL only over
//! https or from a loopback or link-local host (a metadata service).
//! `GOOGLE_APPLICATION_CREDENTIALS` and gcloud's ADC file are the user's
//! choice and are not checked here. Pure functions; no I/O.

use reqwest::Url;
use serde_json::Value;

/// Google's Security Token Service: the only `token_url` accepted.
const STS_HOST: &str = "sts.googleapis.com";
/// IAM Credentials: the only impersonation host accepted.
const IAM_HOST: &str = "iamcredentials.googleapis.com";
/// `credential_source` keys that name a URL the subject token (or an AWS
/// credential) is read from.
const SOURCE_URLS: &[&str] = &["url", "region_url", "imdsv2_session_token_url"];

/// `Ok` when a credentials JSON from a command line or client config may be
/// used; else why not, as the tail of one line.
pub(crate) fn check(json: &Value) -> Result<(), String> {
    check_depth(json, 0)
}

fn check_depth(json: &Value, depth: usize) -> Result<(), String> {
    let s = |k: &str| json.get(k).and_then(Value::as_str);
    match s("type").unwrap_or("") {
        "service_account" | "authorized_user" => Ok(()),
        "impersonated_service_account" => {
            universe(json)?;
            let url = s("service_account_impersonation_url")
                .ok_or("an impersonated_service_account needs service_account_impersonation_url")?;
            https_on(url, IAM_HOST, "service_account_impersonation_url")?;
            match json.get("source_credentials") {
                Some(src) if depth == 0 => check_depth(src, depth + 1),
                Some(_) => Err("impersonation may not be nested".into()),
                None => Err("an impersonated_service_account needs source_credentials".into()),
            }
        }
        "external_account" => {
            universe(json)?;
            https_on(s("token_url").unwrap_or(""), STS_HOST, "token_url")?;
            if let Some(url) = s("service_account_impersonation_url") {
                https_on(url, IAM_HOST, "service_account_impersonation_url")?;
            }
            credential_source(json.get("credential_source"))
        }
        // Refused later with the list of supported types.
        _ => Ok(()),
    }
}

/// Only Google's own universe: the hosts above are its hosts.
fn universe(json: &Value) -> Result<(), String> {
    match json.get("universe_domain").and_then(Value::as_str) {
        None | Some("googleapis.com") => Ok(()),
        Some(other) => Err(format!(
            "universe_domain {other:?} is not accepted from here (only googleapis.com)"
        )),
    }
}

/// `url` is `https://HOST/...` on exactly `host`, with no credentials or port.
fn https_on(url: &str, host: &str, field: &str) -> Result<(), String> {
    let ok = Url::parse(url).ok().is_some_and(|u| {
        u.scheme() == "https"
            && u.host_str().is_some_and(|h| h.eq_ignore_ascii_case(host))
            && u.port().is_none()
            && u.username().is_empty()
            && u.password().is_none()
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} must be https://{host}/... (it names {})",
            shown_host(url)
        ))
    }
}

fn credential_source(src: Option<&Value>) -> Result<(), String> {
    let Some(src) = src.and_then(Value::as_object) else {
        return Err("an external_account needs a credential_source".into());
    };
    if src.contains_key("executable") {
        return Err("credential_source.executable runs a program; not accepted from here".into());
    }
    for key in SOURCE_URLS {
        let Some(v) = src.get(*key) else { continue };
        let url = v.as_str().unwrap_or("");
        if !source_url_ok(url) {
            return Err(format!(
                "credential_source.{key} must be https, or http to a loopback or link-local \
                 host (it names {})",
                shown_host(url)
            ));
        }
    }
    Ok(())
}

fn source_url_ok(url: &str) -> bool {
    let Ok(u) = Url::parse(url) else {
        return false;
    };
    match u.scheme() {
        "https" => u.host_str().is_some(),
        "http" => u
            .host_str()
            .is_some_and(crate::backend::rest::is_local_host),
        _ => false,
    }
}

/// The host of `url` for a message, or a placeholder; never the whole URL.
fn shown_host(url: &str) -> String {
    Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .map_or_else(|| "no usable URL".to_string(), |h| format!("host {h}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ext(token_url: &str, source: Value) -> Value {
        json!({"type": "external_account", "audience": "//iam.googleapis.com/x",
               "token_url": token_url, "credential_source": source})
    }

    #[test]
    fn own_secret_types_pass() {
        assert!(
            check(&json!({"type": "service_account", "token_uri": "https://x.example/"})).is_ok()
        );
        assert!(check(&json!({"type": "authorized_user"})).is_ok());
    }

    #[test]
    fn external_accounts_must_use_google_sts() {
        let file = json!({"file": "/var/run/token"});
        assert!(check(&ext("https://sts.googleapis.com/v1/token", file.clone())).is_ok());
        for bad in [
            "https://evil.example/v1/token",
            "http://sts.googleapis.com/v1/token",
            "https://sts.googleapis.com.evil.example/v1/token",
            "https://sts.googleapis.com:8443/v1/token",
            "https://u:p@sts.googleapis.com/v1/token",
            "",
        ] {
            let e = check(&ext(bad, file.clone())).unwrap_err();
            assert!(e.contains("token_url"), "{bad}: {e}");
        }
        let mut imp = ext("https://sts.googleapis.com/v1/token", file);
        imp["service_account_impersonation_url"] =
            json!("https://evil.example/x:generateAccessToken");
        assert!(check(&imp).unwrap_err().contains("impersonation"));
        imp["service_account_impersonation_url"] = json!(
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:generateAccessToken"
        );
        assert!(check(&imp).is_ok());
        imp["universe_domain"] = json!("evil.example");
        assert!(check(&imp).unwrap_err().contains("universe_domain"));
    }

    #[test]
    fn subject_token_sources_are_limited() {
        let sts = "https://sts.googleapis.com/v1/token";
        let exe = json!({"executable": {"command": "/bin/sh -c id"}});
        assert!(check(&ext(sts, exe)).unwrap_err().contains("executable"));
        for ok in [
            "https://idp.example/token",
            "http://169.254.169.254/latest/meta-data",
            "http://127.0.0.1:8080/token",
            "http://[::1]/t",
            "http://localhost/t",
        ] {
            assert!(check(&ext(sts, json!({"url": ok}))).is_ok(), "{ok}");
        }
        for bad in ["http://idp.example/token", "file:///etc/passwd", "nonsense"] {
            assert!(check(&ext(sts, json!({"url": bad}))).is_err(), "{bad}");
        }
        let aws = json!({"environment_id": "aws1", "region_url": "http://evil.example/r"});
        assert!(check(&ext(sts, aws)).is_err());
        assert!(check(&json!({"type": "external_account", "token_url": sts})).is_err());
    }

    #[test]
    fn impersonation_is_checked_with_its_source() {
        let good_url = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:generateAccessToken";
        let user = json!({"type": "authorized_user"});
        let imp = |url: &str, src: Value| {
            json!({"type": "impersonated_service_account",
                   "service_account_impersonation_url": url, "source_credentials": src})
        };
        assert!(check(&imp(good_url, user.clone())).is_ok());
        assert!(check(&imp("https://evil.example/x", user.clone())).is_err());
        let bad_src = ext(
            "https://evil.example/token",
            json!({"file": "/home/u/.config/gcloud/application_default_credentials.json"}),
        );
        assert!(
            check(&imp(good_url, bad_src))
                .unwrap_err()
                .contains("token_url")
        );
        let no_url = json!({"type": "impersonated_service_account", "source_credentials": user});
        assert!(check(&no_url).is_err());
    }
}
