//! The Rust client's owner protocol against a real server on 127.0.0.1, run in this test's
//! process (`paillier_gpu_testing::TestServer`), through `tools/tamper-proxy.py` where the
//! service lies (so python3 runs) or with its store put back to an earlier copy: where the
//! versions seen are kept, two machines of one owner with no false alarm, forks, the lies about
//! an answer and those only the owner's digest catches, the ways a lying service tried on the
//! protocol's steps, partitions, private metadata and records under the earlier keys. What
//! drives the `paillier-gpu` program (the CLI's half of the same lies) is in the program's tests
//! (crates/cli/tests/server).
//!
//! One test binary, one module per file, so that the crate is linked once.

mod answer_lies;
mod digest_lies;
mod forks;
mod legacy_keys;
mod lying_partitions;
mod lying_service;
mod owner_state;
mod partitions;
mod private_meta;
mod sealed_edits;
mod sealed_moves;
mod sealed_vectors;
mod two_machines;
