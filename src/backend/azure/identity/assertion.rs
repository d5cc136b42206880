//! Client assertions for Entra ID: a JWT signed with the client
//! certificate's RSA key (RS256, `x5t` and `x5t#S256` naming the certificate),
//! or the federated token a workload identity platform mounts in a file.
//!
//! Owns reading the PEM certificate file (certificate and private key in one
//! file, as `AZURE_CLIENT_CERTIFICATE_PATH` holds them) and signing with
//! aws-lc-rs, the crypto library the binary already carries. Must not put key
//! material or a parse error that could quote it into a message.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::{digest, rand, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use zeroize::Zeroizing;

use crate::backend::ErrorKind;
use crate::backend::rest::Fail;

/// How long a signed assertion is valid.
const LIFETIME_SECS: u64 = 600;

fn config(m: String) -> Fail {
    Fail::new(ErrorKind::Config, m)
}

/// A client assertion for `client_id`, audience `aud` (the token endpoint).
pub(crate) fn sign(path: &Path, client_id: &str, aud: &str) -> Result<Zeroizing<String>, Fail> {
    let shown = path.display();
    let pem = Zeroizing::new(
        std::fs::read(path)
            .map_err(|e| config(format!("AZURE_CLIENT_CERTIFICATE_PATH {shown}: {e}")))?,
    );
    if !pem.starts_with(b"-----") && !pem.iter().take(64).any(|b| *b == b'-') {
        return Err(config(format!(
            "AZURE_CLIENT_CERTIFICATE_PATH {shown} is not PEM (a PKCS#12 .pfx file?); convert it \
             with `openssl pkcs12 -in cert.pfx -out cert.pem -nodes`"
        )));
    }
    let cert = CertificateDer::pem_slice_iter(&pem)
        .next()
        .and_then(Result::ok)
        .ok_or_else(|| {
            config(format!(
                "AZURE_CLIENT_CERTIFICATE_PATH {shown} holds no PEM certificate"
            ))
        })?;
    // The key's parse error is not shown: it could quote key material.
    let key = PrivateKeyDer::from_pem_slice(&pem).map_err(|_| {
        config(format!(
            "AZURE_CLIENT_CERTIFICATE_PATH {shown} holds no PEM private key (put the key and \
             the certificate in one file)"
        ))
    })?;
    let pair = match &key {
        PrivateKeyDer::Pkcs8(k) => signature::RsaKeyPair::from_pkcs8(k.secret_pkcs8_der()),
        PrivateKeyDer::Pkcs1(k) => signature::RsaKeyPair::from_der(k.secret_pkcs1_der()),
        _ => {
            return Err(config(format!(
                "AZURE_CLIENT_CERTIFICATE_PATH {shown}: only RSA keys are supported"
            )));
        }
    }
    .map_err(|_| {
        config(format!(
            "AZURE_CLIENT_CERTIFICATE_PATH {shown}: the private key is not a usable RSA key"
        ))
    })?;

    let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, cert.as_ref());
    let sha256 = digest::digest(&digest::SHA256, cert.as_ref());
    let header = serde_json::json!({
        "alg": "RS256",
        "typ": "JWT",
        "x5t": B64URL.encode(sha1.as_ref()),
        "x5t#S256": B64URL.encode(sha256.as_ref()),
    });
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut jti = [0u8; 16];
    rand::fill(&mut jti).map_err(|_| config("no randomness for the assertion id".into()))?;
    let claims = serde_json::json!({
        "aud": aud,
        "iss": client_id,
        "sub": client_id,
        "jti": hex::encode(jti),
        "iat": now,
        "nbf": now,
        "exp": now + LIFETIME_SECS,
    });
    crate::backend::jws::rs256(&pair, &header, &claims).map_err(|_| {
        config(format!(
            "AZURE_CLIENT_CERTIFICATE_PATH {shown}: signing failed"
        ))
    })
}

/// The federated token in `path` (`AZURE_FEDERATED_TOKEN_FILE`), read fresh.
pub(crate) fn federated(path: &Path) -> Result<Zeroizing<String>, Fail> {
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        config(format!(
            "AZURE_FEDERATED_TOKEN_FILE {}: {e}",
            path.display()
        ))
    })?);
    let t = text.trim();
    if t.is_empty() {
        return Err(config(format!(
            "AZURE_FEDERATED_TOKEN_FILE {} is empty",
            path.display()
        )));
    }
    Ok(Zeroizing::new(t.to_string()))
}
