//! The ephemeral certificate authority secretless mode intercepts TLS with.
//!
//! Owns [`Authority`]: an ECDSA P-256 CA made when `run` starts, its key only
//! in this process's memory, name-constrained to the hosts the credentials are
//! for (so even a leaked key cannot sign for another host), and the per-host
//! rustls server configurations presenting leaves it signs. It must never write
//! the key anywhere, print it (its `Debug` shows only the hosts), sign for a
//! host not given to [`Authority::new`], or rely on a process-default rustls
//! crypto provider.
//!
//! A dNSName constraint also permits the name's subdomains (RFC 5280); the
//! leaves themselves are only ever issued for the exact hosts.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    NameConstraints, SanType, SerialNumber,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

/// The CA's common name.
pub const CA_NAME: &str = "mcp-warden secretless CA";
/// The leaves' common name: not host-shaped, so no verifier mistakes it for a
/// DNS name to check against the name constraints.
const LEAF_NAME: &str = "mcp-warden secretless leaf";
const HOUR: Duration = Duration::from_secs(3600);
const CA_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
const LEAF_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Why the CA or a leaf could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("the secretless CA needs at least one host")]
    NoHosts,
    #[error("{host:?} is not a DNS name or IP address the secretless CA can sign for")]
    BadHost { host: String },
    #[error("{host:?} is not one of the hosts the secretless CA was made for")]
    NotAllowed { host: String },
    #[error("cannot make a certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("cannot set up TLS for the secretless proxy: {0}")]
    Tls(#[from] rustls::Error),
    #[error("the system random number generator failed")]
    Random,
    #[error("the system clock is before 1970")]
    Clock,
}

/// A host the CA signs for, normalised (lower case, no trailing dot, no brackets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Host {
    Dns(String),
    Ip(IpAddr),
}

/// The ephemeral CA. Its key lives only in memory and drops with it.
pub struct Authority {
    issuer: Issuer<'static, KeyPair>,
    cert: CertificateDer<'static>,
    pem: String,
    hosts: Vec<Host>,
    configs: Mutex<HashMap<Host, Arc<rustls::ServerConfig>>>,
}

impl fmt::Debug for Authority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authority")
            .field("hosts", &self.hosts)
            .finish_non_exhaustive()
    }
}

impl Authority {
    /// A new CA permitted to sign only for `hosts` (DNS names or IP literals).
    pub fn new(hosts: &[String]) -> Result<Authority, CaError> {
        let mut parsed = Vec::new();
        for host in hosts {
            let host = parse_host(host)?;
            if !parsed.contains(&host) {
                parsed.push(host);
            }
        }
        if parsed.is_empty() {
            return Err(CaError::NoHosts);
        }
        let params = ca_params(&parsed)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let cert = params.self_signed(&key)?;
        Ok(Authority {
            pem: cert.pem(),
            cert: cert.der().clone(),
            issuer: Issuer::new(params, key),
            hosts: parsed,
            configs: Mutex::new(HashMap::new()),
        })
    }

    /// The CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        self.pem.clone()
    }

    /// The CA certificate, DER.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }

    /// A server configuration presenting a leaf for `host` (made once, then
    /// cached). Refuses a host not given to [`Authority::new`].
    pub fn server_config_for(&self, host: &str) -> Result<Arc<rustls::ServerConfig>, CaError> {
        let parsed = parse_host(host)?;
        if !self.hosts.contains(&parsed) {
            return Err(CaError::NotAllowed {
                host: host.to_string(),
            });
        }
        let mut configs = self.configs.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(config) = configs.get(&parsed) {
            return Ok(config.clone());
        }
        let (chain, key) = self.issue(&parsed)?;
        let config = Arc::new(server_config(chain, key)?);
        configs.insert(parsed, config.clone());
        Ok(config)
    }

    /// A leaf for `host` and its key, without checking `host` is allowed.
    fn issue(
        &self,
        host: &Host,
    ) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), CaError> {
        let params = leaf_params(host)?;
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let leaf = params.signed_by(&key, &self.issuer)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok((vec![leaf.der().clone(), self.cert.clone()], key))
    }
}

/// Parses a DNS name or IP literal (IPv6 with or without brackets).
fn parse_host(host: &str) -> Result<Host, CaError> {
    let bad = || CaError::BadHost {
        host: host.to_string(),
    };
    let trimmed = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&trimmed);
    match ServerName::try_from(bare).map_err(|_| bad())? {
        ServerName::IpAddress(ip) => Ok(Host::Ip(IpAddr::from(ip))),
        ServerName::DnsName(name) => Ok(Host::Dns(name.as_ref().to_string())),
        _ => Err(bad()),
    }
}

/// The CA's parameters: see the module doc.
fn ca_params(hosts: &[Host]) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, CA_NAME);
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    set_validity(&mut params, CA_LIFETIME)?;
    params.name_constraints = Some(name_constraints(hosts));
    Ok(params)
}

/// Permits exactly `hosts`; a name type with no permitted host is excluded
/// entirely (an empty dNSName, `0.0.0.0/0` and `::/0`), as the CA/Browser
/// Forum requires of technically constrained CAs.
fn name_constraints(hosts: &[Host]) -> NameConstraints {
    let permitted: Vec<GeneralSubtree> = hosts
        .iter()
        .map(|host| match host {
            Host::Dns(name) => GeneralSubtree::DnsName(name.clone()),
            Host::Ip(ip) => {
                let prefix = if ip.is_ipv4() { 32 } else { 128 };
                GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(*ip, prefix))
            }
        })
        .collect();
    let mut excluded = Vec::new();
    if !hosts.iter().any(|h| matches!(h, Host::Dns(_))) {
        excluded.push(GeneralSubtree::DnsName(String::new()));
    }
    if !hosts.iter().any(|h| matches!(h, Host::Ip(_))) {
        excluded.push(GeneralSubtree::IpAddress(CidrSubnet::V4([0; 4], [0; 4])));
        excluded.push(GeneralSubtree::IpAddress(CidrSubnet::V6([0; 16], [0; 16])));
    }
    NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: excluded,
    }
}

/// A leaf's parameters for `host`.
fn leaf_params(host: &Host) -> Result<CertificateParams, CaError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, LEAF_NAME);
    params.subject_alt_names = vec![match host {
        Host::Dns(name) => SanType::DnsName(name.clone().try_into()?),
        Host::Ip(ip) => SanType::IpAddress(*ip),
    }];
    params.serial_number = Some(random_serial()?);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    set_validity(&mut params, LEAF_LIFETIME)?;
    Ok(params)
}

/// A rustls server configuration (aws-lc-rs, TLS 1.2 and 1.3, ALPN h2 and
/// http/1.1) presenting `chain`.
fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<rustls::ServerConfig, CaError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A positive 16-byte random serial number.
fn random_serial() -> Result<SerialNumber, CaError> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| CaError::Random)?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

/// Sets `params` valid from an hour ago until `lifetime` from now.
fn set_validity(params: &mut CertificateParams, lifetime: Duration) -> Result<(), CaError> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| CaError::Clock)?;
    let before = now.checked_sub(HOUR).ok_or(CaError::Clock)?;
    // rcgen's time type, reached from the epoch so no direct `time` dependency is needed.
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + before;
    params.not_after = epoch + (now + lifetime);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a handshake between `client` and `server` in memory. Bounded.
    fn handshake(
        client: &mut rustls::ClientConnection,
        server: &mut rustls::ServerConnection,
    ) -> Result<(), rustls::Error> {
        for _ in 0..20 {
            let mut buf = Vec::new();
            while client.wants_write() {
                client.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                server.read_tls(&mut rd).unwrap();
                server.process_new_packets()?;
            }
            let mut buf = Vec::new();
            while server.wants_write() {
                server.write_tls(&mut buf).unwrap();
            }
            let mut rd = &buf[..];
            while !rd.is_empty() {
                client.read_tls(&mut rd).unwrap();
                client.process_new_packets()?;
            }
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok(());
            }
        }
        panic!("handshake did not finish");
    }

    fn client_for(ca: &Authority) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.cert_der()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"h2".to_vec()];
        Arc::new(config)
    }

    fn connect(
        ca: &Authority,
        server: Arc<rustls::ServerConfig>,
        name: &str,
    ) -> Result<(), rustls::Error> {
        let name = ServerName::try_from(name.to_string()).unwrap();
        let mut c = rustls::ClientConnection::new(client_for(ca), name).unwrap();
        let mut s = rustls::ServerConnection::new(server).unwrap();
        handshake(&mut c, &mut s)?;
        assert_eq!(c.alpn_protocol(), Some(&b"h2"[..]));
        Ok(())
    }

    fn hosts() -> Vec<String> {
        vec!["api.example.com".into(), "127.0.0.1".into(), "[::1]".into()]
    }

    #[test]
    fn handshake_with_allowed_hosts() {
        let ca = Authority::new(&hosts()).unwrap();
        connect(
            &ca,
            ca.server_config_for("api.example.com").unwrap(),
            "api.example.com",
        )
        .unwrap();
        connect(
            &ca,
            ca.server_config_for("API.example.com.").unwrap(),
            "api.example.com",
        )
        .unwrap();
        connect(&ca, ca.server_config_for("127.0.0.1").unwrap(), "127.0.0.1").unwrap();
        connect(&ca, ca.server_config_for("::1").unwrap(), "::1").unwrap();
        assert!(Arc::ptr_eq(
            &ca.server_config_for("127.0.0.1").unwrap(),
            &ca.server_config_for("127.0.0.1").unwrap()
        ));
    }

    #[test]
    fn client_refuses_a_name_the_leaf_does_not_carry() {
        let ca = Authority::new(&hosts()).unwrap();
        let server = ca.server_config_for("api.example.com").unwrap();
        let err = connect(&ca, server, "other.example.com").unwrap_err();
        assert!(
            matches!(err, rustls::Error::InvalidCertificate(_)),
            "{err:?}"
        );
    }

    #[test]
    fn hosts_not_given_are_refused() {
        let ca = Authority::new(&hosts()).unwrap();
        assert!(matches!(
            ca.server_config_for("evil.example.net"),
            Err(CaError::NotAllowed { .. })
        ));
        assert!(matches!(Authority::new(&[]), Err(CaError::NoHosts)));
        assert!(matches!(
            Authority::new(&["*.example.com".to_string()]),
            Err(CaError::BadHost { .. })
        ));
    }

    #[test]
    fn name_constraints_stop_leaves_for_other_hosts() {
        // Even a leaf the CA key signs for another host fails verification.
        for (allowed, other) in [
            ("api.example.com", "evil.example.net"),
            ("api.example.com", "10.0.0.1"),
            ("127.0.0.1", "evil.example.net"),
            ("127.0.0.1", "127.0.0.2"),
        ] {
            let ca = Authority::new(&[allowed.to_string()]).unwrap();
            let (chain, key) = ca.issue(&parse_host(other).unwrap()).unwrap();
            let server = Arc::new(server_config(chain, key).unwrap());
            let err = connect(&ca, server, other).unwrap_err();
            let text = format!("{err:?}");
            assert!(
                matches!(err, rustls::Error::InvalidCertificate(_))
                    && text.contains("NameConstraintViolation"),
                "{allowed} {other}: {text}"
            );
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let ca = Authority::new(&hosts()).unwrap();
        let text = format!("{ca:?}");
        assert!(text.contains("api.example.com"));
        assert!(!text.contains("PRIVATE") && !text.contains("issuer"));
        assert!(ca.cert_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
