//! A server's credential posture, from its entry and its findings.
//!
//! Pure: no file system, no output.

use super::detect::{self, Indirection};
use super::finding::{Finding, Posture};
use super::runner;
use crate::clients::{Server, Transport};

/// Every string of the entry that could carry or point to a credential.
fn values(server: &Server) -> impl Iterator<Item = &str> {
    server
        .env
        .iter()
        .map(|(_, v)| v.value.as_str())
        .chain(server.headers.iter().map(|(_, v)| v.value.as_str()))
        .chain(server.args.iter().map(|a| a.value.as_str()))
        .chain(server.url.iter().map(|u| u.value.as_str()))
}

/// The launch argv: command then args.
pub fn argv(server: &Server) -> Vec<&str> {
    server
        .command
        .iter()
        .map(|c| c.value.as_str())
        .chain(server.args.iter().map(|a| a.value.as_str()))
        .collect()
}

/// Worst first: a plaintext secret decides; then a wrapper; then indirection.
pub fn posture(server: &Server, findings: &[Finding]) -> Posture {
    if !findings.is_empty() {
        return Posture::PlaintextSecret;
    }
    let indirections: Vec<Indirection> = values(server).filter_map(detect::indirection).collect();
    let helper_is_ours = server
        .headers_helper
        .as_ref()
        .is_some_and(|h| h.value.contains("mcp-warden"));
    if runner::wrapper(&argv(server)).is_some()
        || helper_is_ours
        || indirections.contains(&Indirection::Vault)
    {
        return Posture::VaultWrapped;
    }
    if !indirections.is_empty()
        || !server.forwarded_env.is_empty()
        || server.headers_helper.is_some()
    {
        return Posture::EnvIndirection;
    }
    let remote = server.url.is_some()
        || matches!(
            server.transport,
            Transport::Http | Transport::Sse | Transport::WebSocket
        );
    if remote {
        Posture::Oauth
    } else {
        Posture::NoCredentials
    }
}
