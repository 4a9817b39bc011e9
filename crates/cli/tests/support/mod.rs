//! What the tests of the program share: running it ([`cli`]), the files its commands take
//! ([`cli_files`]) and the `paillier-gpu serve` program on 127.0.0.1 ([`server`]). The root's
//! `tests/common` (contexts, the SDK's fixtures, the GPU) is theirs too, and so is
//! `paillier-gpu-testing` (a private PostgreSQL, the tampering proxy, the test data).

#![allow(dead_code, unused_imports)]

pub mod cli;
pub mod cli_files;
pub mod server;
pub use paillier_gpu_testing::{postgres, tamper};
