//! The store's contract, run against both stores: SQLite in a temporary folder and PostgreSQL
//! in a private cluster (see `support/postgres.rs`). Each test gets a fresh store, and a way to
//! open it again: a second handle is a second replica (or process) over the same data.

mod key_suite;
mod store_suite;

use std::sync::Arc;

use paillier_gpu_server::store::Store;
use paillier_gpu_server::store::{open_store, StoreLocation};

/// Opens handles on one store.
pub type Opener = dyn Fn() -> Arc<dyn Store>;

macro_rules! on_both_stores {
    ($($suite:ident::$name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let location = paillier_gpu_server::store::StoreLocation::Sqlite(dir.path().join("store"));
                    super::$suite::$name(&move || super::open(&location));
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(url) = crate::common::postgres::fresh_database() else { return };
                    let location = paillier_gpu_server::store::StoreLocation::Postgres(url);
                    super::$suite::$name(&move || super::open(&location));
                }
            )*
        }
    };
}

fn open(location: &StoreLocation) -> Arc<dyn Store> {
    open_store(location).unwrap()
}

on_both_stores!(
    key_suite::organisations_keys_and_permissions,
    key_suite::concurrent_key_creations_never_share_first_characters,
    store_suite::knowledge_bases_and_their_deletion,
    store_suite::inserts_and_deletes_keep_the_count,
    store_suite::a_context_id_names_one_content_until_deleted,
    store_suite::chunks_read_back_and_patch,
    store_suite::every_chunk_write_moves_the_version,
    store_suite::concurrent_writers_number_chunks_in_commit_order,
    store_suite::opening_again_migrates_nothing,
);

/// A PostgreSQL database written by a newer version is refused, and one at this version is
/// left as it is.
#[test]
fn postgres_refuses_a_newer_schema() {
    let Some(cluster) = crate::common::postgres::cluster() else {
        return;
    };
    let url = cluster.fresh_database();
    let location = StoreLocation::Postgres(url.clone());
    let version = paillier_gpu_server::store::migrate(&location).unwrap();
    assert_eq!(
        paillier_gpu_server::store::migrate(&location).unwrap(),
        version
    );
    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    client
        .execute("UPDATE schema_version SET version = version + 1", &[])
        .unwrap();
    match open_store(&location) {
        Err(paillier_gpu_server::Error::Store(message)) => {
            assert!(message.contains("newer"), "{message}")
        }
        other => panic!("{:?}", other.map(drop)),
    }
}
