//! Platforms without a credential store built in: every call says so.

use std::sync::atomic::AtomicBool;

use super::location::{Listing, Location};
use super::problem::{Health, Problem};
use crate::backend::{SecretInfo, WriteOutcome};
use crate::secret::SecretValue;

pub struct Client;

impl Client {
    pub fn connect() -> Result<Client, Problem> {
        Err(Problem::NoPlatform)
    }
    pub fn read(&self, _: &Location, _: &AtomicBool) -> Result<SecretValue, Problem> {
        Err(Problem::NoPlatform)
    }
    pub fn write(&self, _: &Location, _: &[u8], _: &AtomicBool) -> Result<WriteOutcome, Problem> {
        Err(Problem::NoPlatform)
    }
    pub fn delete(&self, _: &Location, _: &AtomicBool) -> Result<(), Problem> {
        Err(Problem::NoPlatform)
    }
    pub fn describe(&self, _: &Location, _: &AtomicBool) -> Result<SecretInfo, Problem> {
        Err(Problem::NoPlatform)
    }
    pub fn list(&self, _: &Listing, _: &AtomicBool) -> Result<Vec<SecretInfo>, Problem> {
        Err(Problem::NoPlatform)
    }
    pub fn probe(&self) -> Result<Health, Problem> {
        Err(Problem::NoPlatform)
    }
}
