//! MCP client config formats: where each client keeps its config on Linux,
//! macOS and Windows ([`catalog`]), how to read an entry into the common
//! [`model`] with the position of every value ([`read`]), and which project
//! folders clients remember ([`projects`]).
//!
//! Knows nothing of secrets, detection or backends: it reports what a file
//! says and where. Never writes a file (rewrites belong to `protect`).

pub mod catalog;
pub mod edit;
pub mod model;
pub mod projects;
pub mod read;
pub mod shape;

pub use model::{
    ConfigFile, Format, Located, Location, OsFamily, ReadError, Scope, Server, ServerField,
    Transport,
};
