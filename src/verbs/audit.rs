//! `audit`: show and filter the audit log (a table, or JSON lines with `--json`).

use super::Error;
use crate::cli::{AuditArgs, Outcome};
use crate::exit::ExitStatus;
use crate::proxy::audit::{self, AuditError, Query};

fn edge(e: AuditError) -> Error {
    match e.exit_code() {
        crate::exit::Code::Usage => Error::Usage(e.to_string()),
        crate::exit::Code::Config => Error::Config(e.to_string()),
        _ => Error::Io(e.to_string()),
    }
}

pub fn run(args: AuditArgs) -> Result<i32, Error> {
    let path = match args.audit_log {
        Some(p) => p,
        None => audit::default_path(super::data_paths()?.data_dir()),
    };
    let since = args
        .since
        .as_deref()
        .map(audit::parse_since)
        .transpose()
        .map_err(edge)?;
    let query = Query {
        server: args.server,
        method: args.method,
        tool: args.tool,
        outcome: args.outcome.map(|o| {
            match o {
                Outcome::Ok => "ok",
                Outcome::Error => "error",
                Outcome::ToolError => "tool_error",
                Outcome::Denied => "denied",
                Outcome::Cancelled => "cancelled",
                Outcome::CredentialExpired => "credential_expired",
            }
            .to_string()
        }),
        session: None,
        since,
    };
    let mut out = std::io::stdout().lock();
    audit::show(&path, &query, args.json, &mut out).map_err(edge)?;
    Ok(0)
}
