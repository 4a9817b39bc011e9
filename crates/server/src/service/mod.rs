//! The service: what the API does, below the routes (which parse, check who asks, call it and
//! answer) and above the store. Search keeps each knowledge base's resident index coherent with
//! the store; pieces turns what clients send into ciphertexts of the context's key, checked
//! once each by the library.

pub mod contexts;
pub mod edits;
pub mod inference;
pub mod ingest;
pub mod keys;
pub mod knowledge_bases;
pub mod meta_edits;
pub mod owner_digest;
pub mod pieces;
pub mod records;
pub mod sealed;
pub mod search;
pub mod select;

mod error;
pub use error::{ServiceError, ServiceResult};
