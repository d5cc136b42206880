//! The TLS client configuration for Vault: rustls with the aws-lc-rs
//! provider (the one the AWS SDK already links, so the binary carries one).
//!
//! Owns the trust roots (the system's, like the AWS SDK, unless `VAULT_CACERT`
//! or `VAULT_CAPATH` name others, which then replace them as in the Vault CLI)
//! and the client certificate for mutual TLS. Must not offer any way to turn
//! verification off.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::config::Tls;

/// Builds the client configuration; `with_roots` is false for plain-http
/// addresses, where loading the system roots would be wasted work.
pub(crate) fn client_config(t: &Tls, with_roots: bool) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    if with_roots {
        if t.ca_cert.is_none() && t.ca_path.is_none() {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                return Err(
                    "no system CA certificates found; set VAULT_CACERT to the CA bundle".into(),
                );
            }
        }
        if let Some(f) = &t.ca_cert {
            add_pem(&mut roots, f, "VAULT_CACERT")?;
        }
        if let Some(dir) = &t.ca_path {
            let entries = std::fs::read_dir(dir)
                .map_err(|e| format!("VAULT_CAPATH {}: {e}", dir.display()))?;
            let mut files: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            // Like the Vault CLI: every file that holds PEM certificates counts.
            for f in files {
                if let Ok(certs) = read_certs(&f, "VAULT_CAPATH") {
                    roots.add_parsable_certificates(certs);
                }
            }
            if roots.is_empty() {
                return Err(format!(
                    "VAULT_CAPATH {} holds no PEM certificates",
                    dir.display()
                ));
            }
        }
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?
        .with_root_certificates(roots);
    match (&t.client_cert, &t.client_key) {
        (Some(cert), Some(key)) => {
            let chain = read_certs(cert, "VAULT_CLIENT_CERT")?;
            // The key's parse error is not shown: it could quote key material.
            let key = PrivateKeyDer::from_pem_file(key).map_err(|_| {
                format!(
                    "VAULT_CLIENT_KEY {}: cannot read a PEM private key from it",
                    key.display()
                )
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("VAULT_CLIENT_CERT/VAULT_CLIENT_KEY do not fit: {e}"))
        }
        _ => Ok(builder.with_no_client_auth()),
    }
}

fn read_certs(path: &Path, var: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{var} {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{var} {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{var} {}: no PEM certificate in it",
            path.display()
        ));
    }
    Ok(certs)
}

fn add_pem(roots: &mut RootCertStore, path: &Path, var: &str) -> Result<(), String> {
    for c in read_certs(path, var)? {
        roots
            .add(c)
            .map_err(|e| format!("{var} {}: {e}", path.display()))?;
    }
    Ok(())
}
