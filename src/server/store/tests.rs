//! The SQLite store's chunk counts: kept by inserts and deletes, and computed once for a store
//! written before the count was kept.

use rusqlite::{params, Connection};

use super::schema::MIGRATIONS;
use super::sqlite::STORE_FILE;
use super::{KnowledgeBase, NewChunk, SqliteStore, Store};

fn kb(org_id: &str) -> KnowledgeBase {
    KnowledgeBase {
        id: "kb-1".into(),
        org_id: org_id.into(),
        name: "docs".into(),
        description: String::new(),
        chunks: 0,
        created_at: "2026-11-24T00:00:00Z".into(),
        updated_at: "2026-11-24T00:00:00Z".into(),
    }
}

fn chunk() -> NewChunk {
    NewChunk {
        name: "n".into(),
        content: "c".into(),
        meta_data: "{}".into(),
        pieces: vec![1, 2, 3],
    }
}

#[test]
fn inserts_and_deletes_keep_the_count() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = store.create_org("acme", "hash", "xtr_a").unwrap();
    store.create_kb(&kb(&org.id)).unwrap();
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 0);
    let ids = store
        .insert_chunks("kb-1", "ctx", &[chunk(), chunk(), chunk()])
        .unwrap();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 3);
    // A missing id deletes nothing and counts nothing.
    assert_eq!(store.delete_chunks("kb-1", &[2, 99]).unwrap(), 1);
    assert_eq!(store.kbs(&org.id).unwrap()[0].chunks, 2);
    store.insert_chunks("kb-1", "ctx", &[chunk()]).unwrap();
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 3);
}

#[test]
fn a_store_from_before_the_count_is_counted_once() {
    let dir = tempfile::tempdir().unwrap();
    {
        let connection = Connection::open(dir.path().join(STORE_FILE)).unwrap();
        connection.execute_batch(MIGRATIONS[0]).unwrap();
        connection.pragma_update(None, "user_version", 1).unwrap();
        connection
            .execute("INSERT INTO orgs VALUES ('org', 'acme', 'now')", [])
            .unwrap();
        connection
            .execute(
                "INSERT INTO kbs (id, org_id, name, description, next_chunk_id, created_at, \
                 updated_at) VALUES ('kb-1', 'org', 'docs', '', 3, 'now', 'now')",
                [],
            )
            .unwrap();
        for id in [1, 2] {
            connection
                .execute(
                    "INSERT INTO chunks VALUES ('kb-1', ?1, 'ctx', '', '', '{}', x'01')",
                    params![id],
                )
                .unwrap();
        }
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.kb("org", "kb-1").unwrap().unwrap().chunks, 2);
    assert_eq!(
        store.insert_chunks("kb-1", "ctx", &[chunk()]).unwrap(),
        vec![3]
    );
    assert_eq!(store.kb("org", "kb-1").unwrap().unwrap().chunks, 3);
}
