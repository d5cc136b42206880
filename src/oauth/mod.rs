//! OAuth 2.1 for remote MCP servers: the client side of the MCP
//! authorization spec, and where its results are kept.
//!
//! Owns getting, keeping and refreshing the bearer tokens `connect` sends.
//! Must not read MCP messages or write a token anywhere but a backend.
//!
//! # Submodules
//!
//! - [`store`]: tokens and client registrations through the backend
//!   interface, the non-secret index, the per-grant refresh lock.
//! - [`lock`]: one holder at a time across processes (a file lock).

pub mod lock;
pub mod store;
