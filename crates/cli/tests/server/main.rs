//! `paillier-gpu serve` as a real server on 127.0.0.1: the XTrace API the SDK speaks, the
//! search and inference routes, the remote client against it, and its bounds on connections.
//!
//! One test binary for the theme, one module per file, so that the crate is linked once.

#[path = "../../../../tests/common/mod.rs"]
mod shared;
#[path = "../support/mod.rs"]
mod support;

/// The root's shared helpers and the program's, under one name.
#[allow(unused_imports)]
mod common {
    pub use super::shared::*;
    pub use super::support::*;
}

mod server_admin_cli;
mod server_first_use;
mod server_guide;
mod server_operations;
mod server_owner_digest_client_kill;
mod server_owner_digest_fork;
mod server_owner_digest_kill;
mod server_owner_digest_lies;
mod server_partitions_cli;
mod server_process;
mod server_remote;
mod server_replica_faults;
mod server_replicas;
mod server_sealed_cli;
mod server_trustless;
mod server_trustless_cli;
mod server_verify;
