//! The Rust client's owner protocol against a real server on 127.0.0.1, run in this test's
//! process (`paillier_gpu_testing::TestServer`): where the versions seen are kept, two machines
//! of one owner with no false alarm, partitions (one answer through `tools/tamper-proxy.py`, so
//! python3 runs), private metadata and records under the earlier keys. The other lies of a
//! tampering service, and what drives the `paillier-gpu` program, are in the program's tests
//! (crates/cli/tests/server).
//!
//! One test binary, one module per file, so that the crate is linked once.

mod legacy_keys;
mod lying_service;
mod owner_state;
mod partitions;
mod private_meta;
mod two_machines;
