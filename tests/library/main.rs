//! The library through its public API: the scheme and its arithmetic against num-bigint,
//! the formats and the SDK's fixtures, hostile and malformed input, secrets and concurrency.
//!
//! One test binary for the theme, one module per file, so that the crate is linked once.

#[path = "../common/mod.rs"]
mod common;

mod bad_context_files;
mod bad_input;
mod bigint_props;
mod ciphertext_batch;
mod concurrency;
mod constant_time;
mod context_file;
mod context_parts;
mod context_secrets;
mod encrypt_job;
mod fuzz_corpus;
mod hamming_props;
mod index_queries;
mod multi_buffer_batches;
mod numbers_files;
mod numbers_packed;
mod numbers_props;
mod operations;
mod output_safety;
mod paillier_props;
mod private_metadata;
mod record_codec;
mod response_checks;
mod sdk_fixtures;
mod stored_contexts;
mod streaming;
mod verifiable_one_bit;
mod verifiable_records;
