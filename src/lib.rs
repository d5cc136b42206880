//! mcp-warden: takes long-lived secrets out of MCP server configurations.
//!
//! Dependencies point one way:
//! `main/cli -> verbs -> (govern, protect, launch) -> (resolve, rotation, proxy, remote, scan) ->
//! (backend, clients) -> (reference, secret, template, exit, atomic_file, paths)`;
//! docs/ARCHITECTURE.md describes each folder.

pub mod allocator;
pub mod atomic_file;
pub mod backend;
pub mod cli;
pub mod clients;
pub mod diag;
pub mod egress;
pub mod exit;
pub mod govern;
pub mod harden;
pub mod launch;
pub mod oauth;
pub mod paths;
pub mod protect;
pub mod proxy;
pub mod reference;
pub mod remote;
pub mod resolve;
pub mod rotation;
pub mod scan;
pub mod secret;
pub mod template;
pub mod token_prefixes;
pub mod verbs;
pub mod version;
