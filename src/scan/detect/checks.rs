//! Structural checks for token formats a regex alone cannot confirm: JWTs
//! (decode the header), Discord bot tokens (decode the user id), PEM private
//! keys (random body) and HTTP Basic credentials (decode `user:password`).

use base64::Engine;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};

use super::{entropy, placeholder};

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);

fn decode_url_safe(s: &str) -> Option<Vec<u8>> {
    URL_SAFE.decode(s).ok()
}

/// A JWT: the first segment decodes to a JSON object naming an `alg`; the
/// token is not a public Supabase `anon` key nor the jwt.io example.
pub(super) fn jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(sig)) = (parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let Some(h) = decode_url_safe(header) else {
        return false;
    };
    let h = String::from_utf8_lossy(&h);
    if !h.trim_start().starts_with('{') || !h.contains("\"alg\"") {
        return false;
    }
    let Some(p) = decode_url_safe(payload) else {
        return false;
    };
    let p: String = String::from_utf8_lossy(&p)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if p.contains("\"role\":\"anon\"") || p.contains("\"name\":\"JohnDoe\"") {
        return false;
    }
    !placeholder::has_marker(sig) && entropy::shannon(sig.as_bytes()) >= 3.0
}

/// A Discord bot token: `base64(user id).timestamp.hmac`.
pub(super) fn discord(token: &str) -> bool {
    let Some(id) = token.split('.').next() else {
        return false;
    };
    let Some(decoded) = decode_url_safe(id).or_else(|| STANDARD.decode(id).ok()) else {
        return false;
    };
    (17..=20).contains(&decoded.len())
        && decoded.iter().all(u8::is_ascii_digit)
        && !placeholder::has_marker(token)
}

/// A PEM private key whose base64 body is random (not `...` or `MIIE...`).
pub(super) fn pem(block: &str) -> bool {
    let body: Vec<u8> = block
        .lines()
        .flat_map(|l| l.split("\\n"))
        .filter(|l| !l.contains("-----") && !l.contains(':'))
        .flat_map(|l| l.bytes())
        .filter(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        .collect();
    body.len() >= 40 && entropy::shannon(&body) >= 4.5 && !entropy::is_periodic(&body)
}

/// HTTP Basic credentials: the range of the password inside the decoded
/// `user:password`, if the value decodes to one with a real password.
pub(super) fn basic_password(b64: &str) -> Option<bool> {
    let decoded = general_purpose::STANDARD
        .decode(b64)
        .ok()
        .or_else(|| STANDARD.decode(b64).ok())?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some(!pass.is_empty() && pass != user && placeholder::password_like(pass))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64url(s: &str) -> String {
        general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn jwt_header_must_decode() {
        let sig = "Qm9vS3pYcE1UaEx2N2RKc0ZuV2E";
        let good = format!(
            "{}.{}.{sig}",
            b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64url(r#"{"sub":"svc-42","role":"service_role"}"#)
        );
        assert!(jwt(&good));
        let anon = format!(
            "{}.{}.{sig}",
            b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
            b64url(r#"{"role":"anon"}"#)
        );
        assert!(!jwt(&anon));
        let not_header = format!("{}.{}.{sig}", b64url("[1,2,3]"), b64url("{}"));
        assert!(!jwt(&not_header));
    }

    #[test]
    fn discord_id_must_be_numeric() {
        let id = general_purpose::STANDARD_NO_PAD.encode("112233445566778899");
        assert!(discord(&format!(
            "{id}.GkR2mW.Zq8LrT3vXp9NcY2kHs7DfJ4wBa6EuM1Q"
        )));
        let id = general_purpose::STANDARD_NO_PAD.encode("not-a-number-at-al");
        assert!(!discord(&format!(
            "{id}.GkR2mW.Zq8LrT3vXp9NcY2kHs7DfJ4wBa6EuM1Q"
        )));
    }

    #[test]
    fn basic_credentials() {
        let enc = |s: &str| general_purpose::STANDARD.encode(s);
        assert_eq!(basic_password(&enc("ci-bot:Vq7#pL2zR9xk")), Some(true));
        assert_eq!(basic_password(&enc("user:password")), Some(false));
        assert_eq!(basic_password(&enc("no-colon")), None);
        assert_eq!(basic_password("%%%"), None);
    }
}
