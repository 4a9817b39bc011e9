//! What the tests of the server, the client and the program share: a real server on 127.0.0.1
//! in the test's own process ([`TestServer`]), the calls an administrator and a data-plane key
//! make to any running server ([`Service`]), a private PostgreSQL ([`postgres`]), the tampering
//! proxy of `tools/tamper-proxy.py` ([`tamper`]), the lies it tells about an answer ([`lies`])
//! and the test data they all use ([`data`]).
//!
//! Test code: a failed step panics with what it saw.

pub mod data;
pub mod lies;
pub mod net;
pub mod postgres;
pub mod server;
pub mod service;
pub mod sockets;
pub mod tamper;

pub use server::TestServer;
pub use service::Service;

/// The workspace's root folder (the one holding `Cargo.lock`).
pub fn repo_root() -> &'static std::path::Path {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.ancestors()
        .find(|folder| folder.join("Cargo.lock").exists())
        .unwrap_or(here)
}
