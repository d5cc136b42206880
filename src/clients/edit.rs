//! TEMPORARY compile stub (not committed): replaced by the edit branch.
pub use crate::clients::Format;
use std::ops::Range;
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Value {
    String(String),
    StringArray(Vec<String>),
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Set {
        pointer: String,
        value: Value,
    },
    Remove {
        pointer: String,
    },
    Insert {
        pointer: String,
        key: String,
        value: Value,
        before: Option<String>,
    },
}
#[derive(Debug, thiserror::Error)]
#[error("edit error")]
pub struct EditError;
pub fn apply(_f: Format, _o: &[u8], _e: &[Edit]) -> Result<Vec<u8>, EditError> {
    unimplemented!()
}
pub fn span(_f: Format, _b: &[u8], _p: &str) -> Result<Range<usize>, EditError> {
    unimplemented!()
}
