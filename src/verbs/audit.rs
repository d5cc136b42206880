//! `audit`: show and filter the audit log.

use super::Error;
use crate::cli::AuditArgs;

pub fn run(_args: AuditArgs) -> Result<i32, Error> {
    Err(Error::Internal("audit viewer is being wired".into()))
}
