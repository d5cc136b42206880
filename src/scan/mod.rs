//! Scan: find plaintext secrets in MCP client configs and report them.
//!
//! Owns detectors, findings, posture and reports. Reads files; never writes
//! one, never starts a server, never prints a secret (values are masked to at
//! most their first four characters and their length).

pub mod detect;
