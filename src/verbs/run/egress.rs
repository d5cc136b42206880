//! The egress part of a [`super::plan::RunPlan`]: `--secretless`,
//! `--egress`, `--egress-allow` (and a profile's `secretless`, `egress`,
//! `egress_allow`) checked against the references to inject.
//!
//! Owns those rules: each secretless variable is injected; `?body=1` is
//! taken off its reference here (backends never see it); `--exec` cannot
//! keep a proxy alive; the egress options mean nothing without a secretless
//! variable. Must not start anything.

use super::super::Error;
use crate::egress::host::HostPort;
use crate::egress::{EgressPlan, Mode, Secretless};
use crate::resolve::Request;

/// What the command line says about egress, before it meets a profile.
#[derive(Default)]
pub struct EgressArgs {
    pub secretless: Vec<Secretless>,
    pub mode: Option<Mode>,
    pub extra: Vec<HostPort>,
}

impl EgressArgs {
    pub fn parse(
        secretless: &[String],
        mode: Option<&str>,
        extra: &[String],
    ) -> Result<Self, Error> {
        let usage = |e: &dyn std::fmt::Display| Error::Usage(e.to_string());
        Ok(EgressArgs {
            secretless: secretless
                .iter()
                .map(|s| Secretless::parse(s).map_err(|e| usage(&e)))
                .collect::<Result<_, _>>()?,
            mode: mode
                .map(|m| {
                    Mode::parse(m).ok_or_else(|| {
                        Error::Usage(format!("--egress takes strict or open, not '{m}'"))
                    })
                })
                .transpose()?,
            extra: extra
                .iter()
                .map(|h| HostPort::parse(h).map_err(|e| usage(&format!("--egress-allow: {e}"))))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Adds a profile's settings: bindings from both, strict if either says so.
    pub fn with_profile(mut self, p: &crate::govern::profile::Profile) -> Self {
        self.secretless.extend(p.secretless.iter().cloned());
        self.extra.extend(p.egress_allow.iter().cloned());
        self.mode = match (self.mode, p.egress) {
            (Some(Mode::Strict), _) | (_, Some(Mode::Strict)) => Some(Mode::Strict),
            (a, b) => a.or(b),
        };
        self
    }

    /// The plan, with `?body=1` moved from the references into it.
    pub fn plan(self, requests: &mut [Request], exec: bool) -> Result<EgressPlan, Error> {
        if self.secretless.is_empty() {
            if self.mode.is_some() || !self.extra.is_empty() {
                return Err(Error::Usage(
                    "--egress and --egress-allow go with --secretless NAME=HOST".into(),
                ));
            }
            return Ok(EgressPlan::default());
        }
        if exec {
            return Err(Error::Usage(
                "--secretless needs mcp-warden to stay as the server's egress proxy, which --exec removes; drop --exec".into(),
            ));
        }
        let mut secretless = self.secretless;
        refuse_duplicates(&secretless)?;
        for s in &mut secretless {
            s.body = take_body(requests, &s.var)?;
        }
        Ok(EgressPlan {
            secretless,
            mode: self.mode.unwrap_or_default(),
            extra: self.extra,
        })
    }
}

/// A variable bound twice would have two host lists: say which.
fn refuse_duplicates(secretless: &[Secretless]) -> Result<(), Error> {
    for (i, s) in secretless.iter().enumerate() {
        if secretless[..i].iter().any(|o| o.var == s.var) {
            return Err(Error::Usage(format!(
                "--secretless {0} is given twice; list every host once: {0}=HOST1,HOST2",
                s.var
            )));
        }
    }
    Ok(())
}

/// Whether `var`'s reference asks for swaps in bodies (`?body=1`); the
/// parameter is removed from the reference.
fn take_body(requests: &mut [Request], var: &str) -> Result<bool, Error> {
    let r = requests.iter_mut().find(|r| r.var == var).ok_or_else(|| {
        Error::Usage(format!(
            "--secretless {var}: {var} is not injected; give {var}=REF as well"
        ))
    })?;
    if !r.reference.scheme.yields().is_empty() {
        return Err(Error::Usage(format!(
            "--secretless {var}: {}:// credentials sign requests with their secret, which a \
             placeholder cannot do; run this server without --secretless for {var}",
            r.reference.scheme
        )));
    }
    let mut body = false;
    let mut bad = None;
    r.reference.params.retain(|(k, v)| {
        if k != "body" {
            return true;
        }
        match v.as_str() {
            "1" | "true" => body = true,
            "0" | "false" => body = false,
            _ => bad = Some(v.clone()),
        }
        false
    });
    match bad {
        Some(v) => Err(Error::Usage(format!(
            "{var}: ?body= takes 1 or 0, not '{v}'"
        ))),
        None => Ok(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{Scheme, SecretRef};

    fn req(var: &str, r: &str) -> Request {
        Request {
            var: var.into(),
            reference: SecretRef::parse_or_bare(r, Scheme::Local).unwrap(),
        }
    }

    #[test]
    fn body_is_taken_off_the_reference() {
        let args = EgressArgs::parse(&["GH=api.github.com".into()], None, &[]).unwrap();
        let mut requests = vec![req("GH", "local://gh?body=1"), req("X", "local://x?body=1")];
        let plan = args.plan(&mut requests, false).unwrap();
        assert!(plan.secretless[0].body);
        assert!(requests[0].reference.params.is_empty());
        // Only secretless references lose it.
        assert_eq!(requests[1].reference.params.len(), 1);
    }

    #[test]
    fn misuse_is_refused() {
        let plan = |s: &[&str], mode: Option<&str>, extra: &[&str], exec: bool| {
            let s: Vec<String> = s.iter().map(|x| x.to_string()).collect();
            let e: Vec<String> = extra.iter().map(|x| x.to_string()).collect();
            EgressArgs::parse(&s, mode, &e)
                .and_then(|a| a.plan(&mut [req("GH", "local://gh")], exec))
                .map(|_| ())
        };
        assert!(plan(&["GH=a.com"], None, &[], false).is_ok());
        assert!(plan(&["GH=a.com"], None, &[], true).is_err(), "--exec");
        assert!(
            plan(&["NOPE=a.com"], None, &[], false).is_err(),
            "not injected"
        );
        assert!(plan(&["GH=a.com", "GH=b.com"], None, &[], false).is_err());
        assert!(
            plan(&[], Some("open"), &[], false).is_err(),
            "--egress alone"
        );
        assert!(
            plan(&[], None, &["a.com"], false).is_err(),
            "--egress-allow alone"
        );
        assert!(plan(&["GH=a.com"], Some("wide"), &[], false).is_err());
    }

    #[test]
    fn signing_credentials_cannot_be_secretless() {
        let args = EgressArgs::parse(
            &["AWS_SECRET_ACCESS_KEY=sts.amazonaws.com".into()],
            None,
            &[],
        )
        .unwrap();
        let mut requests = crate::govern::assign::requests(
            &["AWS_*=aws-sts://arn:aws:iam::1:role/r".into()],
            Scheme::Local,
        )
        .unwrap();
        let e = args.plan(&mut requests, false).unwrap_err().to_string();
        assert!(e.contains("sign requests"), "{e}");
    }
}
