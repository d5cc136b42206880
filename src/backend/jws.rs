//! Compact JWS with RS256: `BASE64URL(header).BASE64URL(claims).BASE64URL(sig)`
//! signed with an RSA key (aws-lc-rs), for the backends that authenticate
//! with a signed JWT (GitHub App JWTs, Azure client-certificate assertions).
//!
//! Owns the encoding and the signature only: callers choose the header and
//! claims and say what failed. The result is zeroized on drop; nothing here
//! prints or keeps the key.

use aws_lc_rs::{rand, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use zeroize::Zeroizing;

/// The signing failed (the key could not sign); says nothing about the key.
#[derive(Debug)]
pub(crate) struct SignFailed;

/// `header` and `claims` signed with `pair` (RS256).
pub(crate) fn rs256(
    pair: &signature::RsaKeyPair,
    header: &serde_json::Value,
    claims: &serde_json::Value,
) -> Result<Zeroizing<String>, SignFailed> {
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let mut sig = vec![0u8; pair.public_modulus_len()];
    pair.sign(
        &signature::RSA_PKCS1_SHA256,
        &rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| SignFailed)?;
    let mut jwt = Zeroizing::new(String::with_capacity(
        signing_input.len() + 1 + sig.len() * 4 / 3 + 4,
    ));
    jwt.push_str(&signing_input);
    jwt.push('.');
    B64URL.encode_string(&sig, &mut jwt);
    Ok(jwt)
}
