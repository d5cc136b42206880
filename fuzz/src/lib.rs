//! The proxy, compiled on its own for fuzzing (see Cargo.toml for why).

#[path = "../../src/exit.rs"]
pub mod exit;
#[path = "../../src/proxy/mod.rs"]
pub mod proxy;
#[path = "../../src/secret.rs"]
pub mod secret;
