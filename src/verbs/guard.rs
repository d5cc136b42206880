//! Composes the stdio proxy with the supervise launcher.
//!
//! Owns deciding whether a proxy sits between client and server and building
//! it from `run`'s guard options. Temporary: until the proxy lands, the child
//! inherits our stdio.

use std::ffi::OsString;

use super::Error;
use crate::backend::Registry;
use crate::cli::GuardArgs;
use crate::launch::supervise::RelayFactory;
use crate::resolve::Resolved;

pub fn relay_for(
    _args: &GuardArgs,
    _command: &[OsString],
    _resolved: &[Resolved],
    _registry: &Registry,
) -> Result<Option<RelayFactory>, Error> {
    Ok(None)
}
