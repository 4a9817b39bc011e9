//! The server's routes over HTTP against a real server on 127.0.0.1, run in this test's process
//! (`paillier_gpu_testing::TestServer`): which key may do what, the bounds on connections, work
//! and bodies, the owner's digest routes, the answers' shapes, inference, and the store's
//! contract on SQLite and PostgreSQL. What needs the server's own process (a signal, a kill, a
//! descriptor limit) is in the program's tests (crates/cli/tests/server).
//!
//! One test binary, one module per file, so that the crate is linked once.

mod answers;
mod authorization;
mod client_gone;
mod connections;
mod digest_patch;
mod digest_routes;
mod follow_edits;
mod hardening;
mod inference;
mod sealed_pages;
mod stalls;
mod store_contract;
