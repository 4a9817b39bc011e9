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
mod server_answers;
mod server_authorization;
mod server_client_gone;
mod server_connections;
mod server_first_use;
mod server_follow_edits;
mod server_guide;
mod server_hardening;
mod server_inference;
mod server_legacy_keys;
mod server_operations;
mod server_owner_digest;
mod server_owner_digest_client_kill;
mod server_owner_digest_fork;
mod server_owner_digest_honest;
mod server_owner_digest_kill;
mod server_owner_digest_lies;
mod server_owner_digest_patch;
mod server_partitions;
mod server_partitions_cli;
mod server_private_meta;
mod server_remote;
mod server_replica_faults;
mod server_replicas;
mod server_stalls;
mod server_trustless;
mod server_trustless_cli;
mod server_verify;
mod store_contract;
