//! `HOST[:PORT]`: where a secretless value may go, and where the child may
//! connect at all.
//!
//! Owns parsing and matching of the host lists `--secretless` and
//! `--egress-allow` take. A host without a port means the scheme's default
//! (443 through `CONNECT`, 80 for plain HTTP). Names are compared in ASCII
//! lower case without a trailing dot; IP literals by value. Must not resolve
//! names: the proxy connects to what the child asked for, and the binding is
//! to that name.

use std::fmt;
use std::net::IpAddr;

/// One allowed destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// Lower case, no trailing dot; an IPv6 literal without brackets.
    pub host: String,
    /// `None`: the default port of the scheme used.
    pub port: Option<u16>,
    /// Written `http://HOST[:PORT]`: plain HTTP there, never HTTPS. Without
    /// it, HTTPS only: a value never crosses plain HTTP unless asked.
    pub plain: bool,
}

/// Why a host did not parse (the text is a host, never a secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not HOST[:PORT] ({why})")]
pub struct HostError {
    pub text: String,
    pub why: &'static str,
}

impl HostPort {
    /// Parses `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6
    /// literal, each optionally after `http://` (plain HTTP).
    pub fn parse(text: &str) -> Result<HostPort, HostError> {
        let err = |why| HostError {
            text: text.to_string(),
            why,
        };
        let (plain, rest) = match text.strip_prefix("http://") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (host, port) = split_port(rest).ok_or_else(|| err("bad port"))?;
        let host = normalize(host);
        if host.is_empty() {
            return Err(err("empty host"));
        }
        if host.parse::<IpAddr>().is_err() && !is_dns_name(&host) {
            return Err(err("a host name has letters, digits, '-' and '.' only"));
        }
        Ok(HostPort { host, port, plain })
    }

    /// Whether a connection to `host:port` (through CONNECT when `tls`, else
    /// plain HTTP) is to this destination.
    pub fn matches(&self, host: &str, port: u16, tls: bool) -> bool {
        let default_port = if self.plain { 80 } else { 443 };
        self.plain != tls
            && self.port.unwrap_or(default_port) == port
            && same_host(&self.host, host)
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let scheme = if self.plain { "http://" } else { "" };
        match self.port {
            Some(p) => write!(f, "{scheme}{host}:{p}"),
            None => write!(f, "{scheme}{host}"),
        }
    }
}

/// A host as a request names it, compared with a listed one.
pub fn same_host(listed: &str, asked: &str) -> bool {
    let asked = normalize(asked);
    match (listed.parse::<IpAddr>(), asked.parse::<IpAddr>()) {
        (Ok(a), Ok(b)) => a == b,
        _ => listed == asked,
    }
}

/// Lower case, brackets and one trailing dot removed.
pub fn normalize(host: &str) -> String {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
}

/// `(host, port)` of `text`; `None` when a port is present but not a number.
fn split_port(text: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?.parse().ok()?))),
        };
    }
    if text.matches(':').count() > 1 {
        return Some((text, None));
    }
    match text.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok().filter(|p| *p != 0)?))),
        None => Some((text, None)),
    }
}

fn is_dns_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_ports_and_literals() {
        let h = HostPort::parse("API.GitHub.com.").unwrap();
        assert_eq!((h.host.as_str(), h.port), ("api.github.com", None));
        assert!(h.matches("api.github.com", 443, true));
        assert!(h.matches("API.github.com.", 443, true));
        assert!(!h.matches("api.github.com", 8443, true));
        assert!(!h.matches("evil.api.github.com", 443, true));
        let p = HostPort::parse("127.0.0.1:8443").unwrap();
        assert!(p.matches("127.0.0.1", 8443, true));
        assert!(!p.matches("127.0.0.1", 443, true));
        // A port alone never means plain HTTP; http:// does, and only that.
        assert!(!p.matches("127.0.0.1", 8443, false));
        let plain = HostPort::parse("http://127.0.0.1:8080").unwrap();
        assert!(plain.matches("127.0.0.1", 8080, false));
        assert!(!plain.matches("127.0.0.1", 8080, true));
        assert!(
            HostPort::parse("http://intranet")
                .unwrap()
                .matches("intranet", 80, false)
        );
        assert_eq!(plain.to_string(), "http://127.0.0.1:8080");
        let v6 = HostPort::parse("[::1]:9000").unwrap();
        assert!(v6.matches("[0:0::1]", 9000, true));
        assert_eq!(v6.to_string(), "[::1]:9000");
        assert_eq!(HostPort::parse("::1").unwrap().port, None);
    }

    #[test]
    fn bad_hosts_are_refused() {
        for bad in [
            "",
            ":443",
            "a b",
            "host:0",
            "host:x",
            "-a.com",
            "a..b",
            "https://a.com",
        ] {
            assert!(HostPort::parse(bad).is_err(), "{bad}");
        }
    }
}
