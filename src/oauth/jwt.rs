//! `private_key_jwt` client assertions (RFC 7523 §2.2, OpenID Connect Core
//! §9): a JWT signed with the client's private key.
//!
//! Owns reading the PEM key (PKCS#8, or PKCS#1 for RSA; an RSA key signs
//! RS256, a P-256 key ES256) and signing with aws-lc-rs. The claims: `iss`
//! and `sub` the client id, `aud` the authorization server's issuer, a
//! random `jti`, `iat`, `exp` five minutes on. Must not put key material, or
//! a parse error that could quote it, into a message.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{rand, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
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

/// The key in `pem` (RSA or P-256).
fn key(pem: &[u8]) -> Result<Key, OAuthError> {
    let der = PrivateKeyDer::from_pem_slice(pem)
        .map_err(|_| config("holds no PEM private key (PKCS#8 or PKCS#1)"))?;
    match &der {
        PrivateKeyDer::Pkcs8(k) => {
            if let Ok(ec) = signature::EcdsaKeyPair::from_pkcs8(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                k.secret_pkcs8_der(),
            ) {
                return Ok(Key::Ec(ec));
            }
            signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der())
                .map(Key::Rsa)
                .map_err(|_| config("is neither an RSA nor a P-256 key"))
        }
        PrivateKeyDer::Pkcs1(k) => signature::RsaKeyPair::from_der(k.secret_pkcs1_der())
            .map(Key::Rsa)
            .map_err(|_| config("is not a usable RSA key")),
        PrivateKeyDer::Sec1(k) => signature::EcdsaKeyPair::from_private_key_der(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            k.secret_sec1_der(),
        )
        .map(Key::Ec)
        .map_err(|_| config("is not a P-256 key")),
        _ => Err(config("is of a kind that cannot sign here")),
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
