//! The store's contract, run against both stores: SQLite in a temporary folder and PostgreSQL
//! in a private cluster (see `paillier_gpu_testing::postgres`). Each test gets a fresh store,
//! and a way to open it again: a second handle is a second replica (or process) over the same
//! data.

mod digest_suite;
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
                    let Some(url) = paillier_gpu_testing::postgres::fresh_database() else { return };
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
    digest_suite::a_digest_is_replaced_only_over_the_version_expected,
    digest_suite::record_writes_commit_with_their_digest_or_not_at_all,
    digest_suite::appends_with_a_digest_are_appends,
    digest_suite::metadata_patches_commit_with_their_digest_merged_key_by_key,
    digest_suite::links_are_kept_with_their_writes_and_read_after_a_version,
);

/// A PostgreSQL database written by a newer version is refused, and one at this version is
/// left as it is.
#[test]
fn postgres_refuses_a_newer_schema() {
    let Some(cluster) = paillier_gpu_testing::postgres::cluster() else {
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

/// A PostgreSQL database from before the owner's digests (schema version 1) is brought up to
/// this version, its knowledge bases and chunks kept, and takes digests.
#[test]
fn postgres_migrates_a_store_from_before_owner_digests() {
    let Some(url) = paillier_gpu_testing::postgres::fresh_database() else {
        return;
    };
    let location = StoreLocation::Postgres(url.clone());
    let version = paillier_gpu_server::store::migrate(&location).unwrap();
    let store = open(&location);
    let org = store.create_org("acme", "admin-hash", "xtr_a").unwrap();
    store.create_kb(&store_suite::kb(&org.id, "kb-1")).unwrap();
    drop(store);
    // Version 1 as an earlier program left it: no digests' table, nor their links', nor the
    // pages of sealed vectors.
    let mut client = ::postgres::Client::connect(&url, ::postgres::NoTls).unwrap();
    client
        .batch_execute(
            "DROP TABLE sealed_pages; ALTER TABLE chunks DROP COLUMN page_no; \
             DROP TABLE owner_digest_links; DROP TABLE owner_digests; \
             UPDATE schema_version SET version = 1",
        )
        .unwrap();
    assert_eq!(
        paillier_gpu_server::store::migrate(&location).unwrap(),
        version
    );
    let store = open(&location);
    let swap = paillier_gpu_server::store::DigestSwap {
        expected_version: 0,
        version: 1,
        sealed: vec![1, 2, 3],
        link: Some((0, vec![7; 32])),
    };
    store.put_owner_digest("kb-1", "ctx", &swap).unwrap();
    let links = store
        .owner_digest("kb-1", "ctx", Some((0, 10)))
        .unwrap()
        .unwrap()
        .links;
    assert_eq!(links, [(1, 0, vec![7; 32])]);
    assert_eq!(
        store
            .owner_digest("kb-1", "ctx", None)
            .unwrap()
            .unwrap()
            .digest,
        Some((1, vec![1, 2, 3]))
    );
}
