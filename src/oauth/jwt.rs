//! `private_key_jwt` client assertions (RFC 7523 §2.2, OpenID Connect Core
//! §9): a JWT signed with the client's private key.
//!
//! Owns reading the PEM key (PKCS#8, or PKCS#1 for RSA; an RSA key signs
//! RS256, a P-256 key ES256) and signing with aws-lc-rs. The claims: `iss`
//! and `sub` the client id, `aud` the authorization server's issuer, a
//! random `jti`, `iat`, `exp` five minutes on. The PEM is decoded into
//! zeroizing buffers (the DER never outlives the key pair built from it).
//! Must not put key material, or a parse error that could quote it, into a
//! message.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{rand, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use zeroize::Zeroizing;

use super::{Kind, OAuthError};

/// How long an assertion is valid.
const LIFETIME_SECS: u64 = 300;

/// The `client_assertion_type` of a JWT assertion.
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn config(m: &str) -> OAuthError {
    OAuthError::new(Kind::Config, format!("the --private-key {m}"))
}

enum Key {
    Rsa(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
}

/// The kinds of PEM private key read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Pkcs8,
    Pkcs1,
    Sec1,
}

/// The first private key block of `pem`: its form and DER (zeroized).
fn der(pem: &[u8]) -> Option<(Form, Zeroizing<Vec<u8>>)> {
    let text = std::str::from_utf8(pem).ok()?;
    let forms = [
        ("PRIVATE KEY", Form::Pkcs8),
        ("RSA PRIVATE KEY", Form::Pkcs1),
        ("EC PRIVATE KEY", Form::Sec1),
    ];
    forms.iter().find_map(|(label, form)| {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = text.find(&begin)? + begin.len();
        let stop = start + text[start..].find(&end)?;
        let b64: Zeroizing<String> = Zeroizing::new(
            text[start..stop]
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect(),
        );
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .ok()?;
        Some((*form, Zeroizing::new(bytes)))
    })
}

/// The key in `pem` (RSA or P-256).
fn key(pem: &[u8]) -> Result<Key, OAuthError> {
    let (form, der) =
        der(pem).ok_or_else(|| config("holds no PEM private key (PKCS#8 or PKCS#1)"))?;
    match form {
        Form::Pkcs8 => {
            if let Ok(ec) = signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                &der,
            ) {
                return Ok(Key::Ec(ec));
            }
            signature::RsaKeyPair::from_pkcs8(&der)
                .map(Key::Rsa)
                .map_err(|_| config("is neither an RSA nor a P-256 key"))
        }
        Form::Pkcs1 => signature::RsaKeyPair::from_der(&der)
            .map(Key::Rsa)
            .map_err(|_| config("is not a usable RSA key")),
        Form::Sec1 => signature::EcdsaKeyPair::from_private_key_der(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
        )
        .map(Key::Ec)
        .map_err(|_| config("is not a P-256 key")),
    }
}

/// A signed assertion for `client_id` with audience `aud`.
pub fn sign(pem: &[u8], client_id: &str, aud: &str) -> Result<Zeroizing<String>, OAuthError> {
    let key = key(pem)?;
    let alg = match key {
        Key::Rsa(_) => "RS256",
        Key::Ec(_) => "ES256",
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut jti = [0u8; 16];
    rand::fill(&mut jti).map_err(|_| config("cannot be used: no randomness"))?;
    let header = serde_json::json!({ "alg": alg, "typ": "JWT" });
    let claims = serde_json::json!({
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "jti": hex::encode(jti),
        "iat": now,
        "exp": now + LIFETIME_SECS,
    });
    let input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let rng = rand::SystemRandom::new();
    let sig = match key {
        Key::Rsa(pair) => {
            let mut sig = vec![0u8; pair.public_modulus_len()];
            pair.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| config("could not sign"))?;
            sig
        }
        Key::Ec(pair) => pair
            .sign(&rng, input.as_bytes())
            .map_err(|_| config("could not sign"))?
            .as_ref()
            .to_vec(),
    };
    Ok(Zeroizing::new(format!("{input}.{}", B64URL.encode(sig))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::KeyPair;

    fn pem(label: &str, der: &[u8]) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    fn parts(jwt: &str) -> (serde_json::Value, serde_json::Value, Vec<u8>, String) {
        let v: Vec<&str> = jwt.split('.').collect();
        let d = |s: &str| B64URL.decode(s).expect("b64");
        (
            serde_json::from_slice(&d(v[0])).expect("header"),
            serde_json::from_slice(&d(v[1])).expect("claims"),
            d(v[2]),
            format!("{}.{}", v[0], v[1]),
        )
    }

    #[test]
    fn pem_blocks_are_read_by_their_label() {
        let (f, d) = der(pem("RSA PRIVATE KEY", b"\x30\x01\x02").as_bytes()).expect("pkcs1");
        assert_eq!((f, d.as_slice()), (Form::Pkcs1, &b"\x30\x01\x02"[..]));
        let (f, _) = der(pem("EC PRIVATE KEY", b"\x30").as_bytes()).expect("sec1");
        assert_eq!(f, Form::Sec1);
        assert!(der(b"-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n").is_none());
        assert!(der(b"not a pem").is_none());
    }

    #[test]
    fn es256_assertion_verifies() {
        let rng = rand::SystemRandom::new();
        let doc = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &rng,
        )
        .expect("key");
        let pair = signature::EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            doc.as_ref(),
        )
        .expect("pair");
        let jwt = sign(
            pem("PRIVATE KEY", doc.as_ref()).as_bytes(),
            "cid",
            "https://as.example.com",
        )
        .expect("sign");
        let (h, c, sig, input) = parts(&jwt);
        assert_eq!(h["alg"], "ES256");
        assert_eq!(
            (c["iss"].as_str(), c["sub"].as_str()),
            (Some("cid"), Some("cid"))
        );
        assert_eq!(c["aud"], "https://as.example.com");
        signature::UnparsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            pair.public_key().as_ref(),
        )
        .verify(input.as_bytes(), &sig)
        .expect("signature verifies");
    }

    #[test]
    fn bad_keys_are_named_without_their_content() {
        let e = sign(
            b"-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n",
            "c",
            "a",
        )
        .unwrap_err();
        assert!(!e.message.contains("c2VjcmV0"), "{e}");
        assert!(sign(b"not pem", "c", "a").is_err());
    }
}
