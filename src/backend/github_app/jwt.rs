//! The App's JWT: RS256 over `{iat, exp, iss}`, signed with the App's
//! private key, which authenticates the App to GitHub for ten minutes at most.
//!
//! Owns reading the PEM key (PKCS#1 `BEGIN RSA PRIVATE KEY` as GitHub hands
//! it out, or PKCS#8 `BEGIN PRIVATE KEY`) into zeroized buffers, and signing
//! with aws-lc-rs. Must not put key material, the JWT, or a parse error that
//! could quote either into a message.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::signature;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::backend::ErrorKind;
use crate::backend::rest::Fail;
use crate::secret::SecretValue;

/// `iat` is set this far in the past, against clock drift (GitHub's advice).
const BACKDATE_SECS: u64 = 60;
/// `exp` is this far ahead: GitHub refuses a JWT that lives past ten minutes.
const AHEAD_SECS: u64 = 540;

/// The kinds of PEM private key read here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Pkcs1,
    Pkcs8,
}

fn config(m: impl Into<String>) -> Fail {
    Fail::new(ErrorKind::Config, m)
}

/// A JWT for App `app_id`, signed with `pem` (the key's text).
pub(crate) fn sign(pem: &SecretValue, app_id: &str) -> Result<Zeroizing<String>, Fail> {
    let pair = key_pair(pem)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iat": now.saturating_sub(BACKDATE_SECS),
        "exp": now + AHEAD_SECS,
        "iss": app_id,
    });
    crate::backend::jws::rs256(&pair, &header, &claims)
        .map_err(|_| config("signing the App JWT with the private key failed"))
}

/// The RSA key in `pem`.
fn key_pair(pem: &SecretValue) -> Result<signature::RsaKeyPair, Fail> {
    let (form, der) = decode_pem(pem.expose())?;
    match form {
        Form::Pkcs1 => signature::RsaKeyPair::from_der(&der),
        Form::Pkcs8 => signature::RsaKeyPair::from_pkcs8(&der),
    }
    .map_err(|_| {
        config(
            "the App's private key is not a usable RSA key (GitHub App keys are 2048-bit RSA; \
             download a new one from the App's settings if this one is damaged)",
        )
    })
}

/// The DER bytes of the first private key block in `text`. A key stored on
/// one line with literal `\n` escapes (as in a `.env` file) is read too.
fn decode_pem(text: &[u8]) -> Result<(Form, Zeroizing<Vec<u8>>), Fail> {
    let not_pem = || {
        config(
            "the App's private key is not a PEM private key (expected -----BEGIN RSA PRIVATE \
             KEY----- as GitHub hands it out, or -----BEGIN PRIVATE KEY-----)",
        )
    };
    let text = std::str::from_utf8(text).map_err(|_| not_pem())?;
    let unescaped;
    let text = if !text.contains('\n') && text.contains("\\n") {
        unescaped = Zeroizing::new(text.replace("\\n", "\n"));
        unescaped.as_str()
    } else {
        text
    };
    let (form, begin, end) = if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        (
            Form::Pkcs1,
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----END RSA PRIVATE KEY-----",
        )
    } else if text.contains("-----BEGIN PRIVATE KEY-----") {
        (
            Form::Pkcs8,
            "-----BEGIN PRIVATE KEY-----",
            "-----END PRIVATE KEY-----",
        )
    } else if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        return Err(config(
            "the App's private key is encrypted; store it decrypted \
             (`openssl pkey -in key.pem -out plain.pem`)",
        ));
    } else {
        return Err(not_pem());
    };
    let body = text
        .split_once(begin)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(body, _)| body)
        .ok_or_else(not_pem)?;
    let mut b64 = Zeroizing::new(String::with_capacity(body.len()));
    b64.extend(body.chars().filter(|c| !c.is_ascii_whitespace()));
    let mut der = Zeroizing::new(Vec::with_capacity(b64.len() * 3 / 4 + 3));
    STANDARD
        .decode_vec(b64.as_bytes(), &mut der)
        .map_err(|_| not_pem())?;
    Ok((form, der))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;

    #[test]
    fn non_keys_are_refused_without_quoting_them() {
        for text in [
            "not a key at all",
            "-----BEGIN RSA PRIVATE KEY-----\n!!!notbase64!!!\n-----END RSA PRIVATE KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
            "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n",
        ] {
            let e = sign(&SecretValue::from_slice(text.as_bytes()), "1").unwrap_err();
            assert_eq!(e.kind, ErrorKind::Config);
            assert!(!e.message.contains("AAAA") && !e.message.contains("notbase64"));
        }
    }

    #[test]
    fn a_pkcs8_key_signs_a_verifiable_jwt() {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let pair = signature::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = pair.as_der().unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(der.as_ref())
        );
        let jwt = sign(&SecretValue::from_slice(pem.as_bytes()), "4242").unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let claims: serde_json::Value =
            serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["iss"], "4242");
        let (iat, exp) = (
            claims["iat"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, BACKDATE_SECS + AHEAD_SECS);
        assert!(exp - iat <= 600);
        let public = signature::UnparsedPublicKey::new(
            &signature::RSA_PKCS1_2048_8192_SHA256,
            pair.public_key().as_ref(),
        );
        let input = format!("{}.{}", parts[0], parts[1]);
        public
            .verify(input.as_bytes(), &B64URL.decode(parts[2]).unwrap())
            .unwrap();
    }

    #[test]
    fn pem_bodies_decode_with_escaped_newlines() {
        let one_line = "-----BEGIN RSA PRIVATE KEY-----\\nAAEC\\n-----END RSA PRIVATE KEY-----\\n";
        let (form, der) = decode_pem(one_line.as_bytes()).unwrap();
        assert_eq!((form, der.as_slice()), (Form::Pkcs1, &[0u8, 1, 2][..]));
        let crlf = "-----BEGIN PRIVATE KEY-----\r\nAAEC\r\n-----END PRIVATE KEY-----\r\n";
        let (form, der) = decode_pem(crlf.as_bytes()).unwrap();
        assert_eq!((form, der.as_slice()), (Form::Pkcs8, &[0u8, 1, 2][..]));
    }
}
