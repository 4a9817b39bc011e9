//! Placeholder during bring-up.
pub mod backend;
pub mod bigint;
pub mod error;
pub mod paillier;
pub use error::{Error, Result};
