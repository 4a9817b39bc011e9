//! What the tests of the program share: running it ([`cli`]), the files its commands take
//! ([`cli_files`]), a real server ([`server`]) and private PostgreSQL databases ([`postgres`]).
//! The root's `tests/common` (contexts, the SDK's fixtures, the GPU) is theirs too.

#![allow(dead_code)]

pub mod cli;
pub mod cli_files;
pub mod postgres;
pub mod server;
pub mod tamper;
