//! `headers`: resolve secrets and print HTTP headers built from them as one
//! JSON object on stdout — the contract of Claude Code's `headersHelper`, so a
//! remote MCP server's bearer token can live in a vault instead of the config.
//!
//! Stdout carries the values (that is this verb's job, like `secret get`);
//! errors name headers and variables, never values.

use std::io::Write;

use zeroize::Zeroizing;

use super::{Error, block_on_backends, parse_duration};
use crate::cli::HeadersArgs;
use crate::govern::assign::requests;
use crate::reference::Scheme;
use crate::resolve::resolve;
use crate::template;

/// RFC 9110 token characters, for header names.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `Name: template` -> (name, template).
fn split_header(n: usize, text: &str) -> Result<(&str, &str), Error> {
    let (name, template) = text.split_once(':').ok_or_else(|| {
        Error::Usage(format!(
            "-H number {n} is not 'Name: TEMPLATE' (not shown; it may hold a value)"
        ))
    })?;
    let name = name.trim();
    if !valid_name(name) {
        return Err(Error::Usage(format!(
            "-H number {n}: the header name is not a valid HTTP token"
        )));
    }
    Ok((name, template.trim_start()))
}

pub fn run(args: HeadersArgs) -> Result<i32, Error> {
    let timeout = parse_duration("--timeout", &args.timeout)?;
    if timeout.is_zero() {
        return Err(Error::Usage("--timeout must be greater than zero".into()));
    }
    let headers: Vec<(&str, &str)> = args
        .headers
        .iter()
        .enumerate()
        .map(|(i, h)| split_header(i + 1, h))
        .collect::<Result<_, _>>()?;
    let reqs = requests(&args.assignments, Scheme::Local)?;
    let registry = super::default_registry(timeout)?;
    let resolved = block_on_backends(&registry, async {
        if reqs.is_empty() {
            Ok(Vec::new())
        } else {
            resolve(&registry, &reqs, timeout).await
        }
    })??;

    // Built straight into a zeroizing buffer: no intermediate copies of the values.
    let mut out = Zeroizing::new(Vec::with_capacity(256));
    out.push(b'{');
    for (i, (name, tpl)) in headers.iter().enumerate() {
        let bytes = template::expand(tpl.as_bytes(), &resolved)
            .map_err(|e| Error::Usage(format!("header {name}: {e}")))?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Error::Data(format!("header {name}: a value is not UTF-8 text")))?;
        if text.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(Error::Data(format!(
                "header {name}: a value holds a line break or NUL, which no header may carry"
            )));
        }
        if i > 0 {
            out.push(b',');
        }
        serde_json::to_writer(&mut *out, name)
            .and_then(|()| {
                out.push(b':');
                serde_json::to_writer(&mut *out, text)
            })
            .map_err(|e| Error::Internal(format!("cannot encode header {name}: {e}")))?;
    }
    out.extend_from_slice(b"}\n");
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&out)
        .and_then(|()| stdout.flush())
        .map_err(|e| Error::Io(format!("cannot write the headers: {e}")))?;
    Ok(0)
}
