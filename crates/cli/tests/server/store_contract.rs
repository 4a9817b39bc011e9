//! The store's contract, run against both stores: SQLite in a temporary folder and PostgreSQL
//! in a private cluster (see `common/postgres.rs`). Each test gets a fresh store, and a way to
//! open it again: a second handle is a second replica (or process) over the same data.

mod store_suite;

use std::sync::Arc;

use paillier_gpu_server::store::Store;
use paillier_gpu_server::store::{open_store, StoreLocation};

/// Opens handles on one store.
pub type Opener = dyn Fn() -> Arc<dyn Store>;

macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    let dir = tempfile::tempdir().unwrap();
                    let location = paillier_gpu_server::store::StoreLocation::Sqlite(dir.path().join("store"));
                    super::store_suite::$name(&move || super::open(&location));
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(url) = crate::common::postgres::fresh_database() else { return };
                    let location = paillier_gpu_server::store::StoreLocation::Postgres(url);
                    super::store_suite::$name(&move || super::open(&location));
                }
            )*
        }
    };
}

fn open(location: &StoreLocation) -> Arc<dyn Store> {
    open_store(location).unwrap()
}

on_both_stores!(
    organisations_keys_and_permissions,
    knowledge_bases_and_their_deletion,
    inserts_and_deletes_keep_the_count,
    a_context_id_names_one_content_until_deleted,
    chunks_read_back_and_patch,
    every_chunk_write_moves_the_version,
    concurrent_writers_number_chunks_in_commit_order,
    opening_again_migrates_nothing,
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
