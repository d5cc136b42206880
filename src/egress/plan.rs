//! [`EgressPlan`]: what the egress proxy does for one run, decided before
//! anything is fetched.
//!
//! Owns the parsed form of `--secretless NAME=HOST[,HOST...]`,
//! `--egress strict|open` and `--egress-allow HOST` (and a profile's
//! `secretless` table), and the routing decision for one destination. Must
//! not hold values or open sockets.

use super::host::{HostError, HostPort};

/// What reaches hosts no secretless value is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Only bound hosts and `--egress-allow` extras can be reached at all.
    #[default]
    Strict,
    /// Other hosts pass as plain tunnels, not intercepted.
    Open,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "strict" => Some(Mode::Strict),
            "open" => Some(Mode::Open),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Strict => "strict",
            Mode::Open => "open",
        }
    }
}

/// One secretless variable: the child gets a placeholder, the real value goes
/// only to `hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secretless {
    pub var: String,
    pub hosts: Vec<HostPort>,
    /// Swap in request bodies too (the reference's `?body=1`).
    pub body: bool,
}

impl Secretless {
    /// Parses `NAME=HOST[:PORT][,HOST...]`.
    pub fn parse(text: &str) -> Result<Secretless, PlanError> {
        let (var, hosts) = text
            .split_once('=')
            .filter(|(v, h)| !v.is_empty() && !h.is_empty())
            .ok_or_else(|| PlanError::Syntax(text.to_string()))?;
        Self::new(var, hosts.split(','))
    }

    /// From a variable and its hosts (a profile's `secretless` table).
    pub fn new<'a>(
        var: &str,
        hosts: impl IntoIterator<Item = &'a str>,
    ) -> Result<Secretless, PlanError> {
        let hosts = hosts
            .into_iter()
            .map(|h| HostPort::parse(h.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.is_empty() {
            return Err(PlanError::NoHosts(var.to_string()));
        }
        Ok(Secretless {
            var: var.to_string(),
            hosts,
            body: false,
        })
    }
}

/// The egress side of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPlan {
    pub secretless: Vec<Secretless>,
    pub mode: Mode,
    /// Reachable in strict mode besides the bound hosts (inspected, no value swapped in).
    pub extra: Vec<HostPort>,
}

/// How one destination is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// TLS is terminated here; `bound` lists the secretless variables
    /// (indices into [`EgressPlan::secretless`]) whose value may go there.
    Intercept { bound: Vec<usize> },
    /// Passed through untouched (open mode, unlisted host).
    Tunnel,
    /// Not reachable (strict mode, unlisted host).
    Refuse,
}

impl EgressPlan {
    /// Whether the proxy runs at all.
    pub fn is_active(&self) -> bool {
        !self.secretless.is_empty()
    }

    /// The route to `host:port`, reached through `CONNECT` (`tls`) or as a
    /// plain-HTTP request. A value goes over plain HTTP only to a host
    /// written `http://HOST[:PORT]`.
    pub fn route(&self, host: &str, port: u16, tls: bool) -> Route {
        let listed = |h: &HostPort| h.matches(host, port, tls);
        let bound: Vec<usize> = self
            .secretless
            .iter()
            .enumerate()
            .filter(|(_, s)| s.hosts.iter().any(listed))
            .map(|(i, _)| i)
            .collect();
        if !bound.is_empty() || self.extra.iter().any(listed) {
            return Route::Intercept { bound };
        }
        match self.mode {
            Mode::Strict => Route::Refuse,
            Mode::Open => Route::Tunnel,
        }
    }

    /// Every host a leaf certificate may be made for (the CA's name constraints).
    pub fn intercepted_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self
            .secretless
            .iter()
            .flat_map(|s| s.hosts.iter())
            .chain(self.extra.iter())
            .map(|h| h.host.clone())
            .collect();
        hosts.sort();
        hosts.dedup();
        hosts
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--secretless takes NAME=HOST[:PORT][,HOST...], not '{0}'")]
    Syntax(String),
    #[error("--secretless {0}: give at least one host")]
    NoHosts(String),
    #[error(transparent)]
    Host(#[from] HostError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_bindings_extras_and_mode() {
        let mut plan = EgressPlan {
            secretless: vec![
                Secretless::parse("GH=api.github.com,uploads.github.com").unwrap(),
                Secretless::parse("API=127.0.0.1:8443").unwrap(),
            ],
            mode: Mode::Strict,
            extra: vec![HostPort::parse("pypi.org").unwrap()],
        };
        assert_eq!(
            plan.route("api.github.com", 443, true),
            Route::Intercept { bound: vec![0] }
        );
        assert_eq!(
            plan.route("127.0.0.1", 8443, true),
            Route::Intercept { bound: vec![1] }
        );
        // Plain HTTP carries a value only where the user wrote http://.
        assert_eq!(plan.route("127.0.0.1", 8443, false), Route::Refuse);
        assert_eq!(plan.route("api.github.com", 80, false), Route::Refuse);
        plan.secretless
            .push(Secretless::parse("P=http://127.0.0.1:8080").unwrap());
        assert_eq!(
            plan.route("127.0.0.1", 8080, false),
            Route::Intercept { bound: vec![2] }
        );
        assert_eq!(plan.route("127.0.0.1", 8080, true), Route::Refuse);
        plan.secretless.pop();
        assert_eq!(
            plan.route("pypi.org", 443, true),
            Route::Intercept { bound: vec![] }
        );
        assert_eq!(plan.route("example.com", 443, true), Route::Refuse);
        plan.mode = Mode::Open;
        assert_eq!(plan.route("example.com", 443, true), Route::Tunnel);
        assert_eq!(
            plan.intercepted_hosts(),
            [
                "127.0.0.1",
                "api.github.com",
                "pypi.org",
                "uploads.github.com"
            ]
        );
    }

    #[test]
    fn bad_bindings_are_refused() {
        assert!(Secretless::parse("GH").is_err());
        assert!(Secretless::parse("=a.com").is_err());
        assert!(Secretless::parse("GH=").is_err());
        assert!(Secretless::parse("GH=a.com,b c").is_err());
    }
}
