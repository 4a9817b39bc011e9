//! The SQLite store: chunk counts kept by inserts and deletes (and computed once for a store
//! written before the count was kept), contexts as identities, and private files.

use rusqlite::{params, Connection};

use super::schema::MIGRATIONS;
use super::sqlite::STORE_FILE;
use super::{ChunkPatch, DeleteContext, KnowledgeBase, NewChunk, PutContext, SqliteStore, Store};

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
    store.put_context(&org.id, "ctx", "{}", None).unwrap();
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 0);
    let ids = store
        .insert_chunks("kb-1", "ctx", "{}", &[chunk(), chunk(), chunk()])
        .unwrap()
        .unwrap();
    assert_eq!(ids, vec![1, 2, 3]);
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 3);
    // A missing id deletes nothing and counts nothing.
    assert_eq!(store.delete_chunks("kb-1", &[2, 99]).unwrap(), 1);
    assert_eq!(store.kbs(&org.id).unwrap()[0].chunks, 2);
    store
        .insert_chunks("kb-1", "ctx", "{}", &[chunk()])
        .unwrap();
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 3);
    // Not under a context stored with other bytes, nor under one not stored at all.
    assert_eq!(
        store
            .insert_chunks("kb-1", "ctx", "{\"a\": 1}", &[chunk()])
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .insert_chunks("kb-1", "gone", "{}", &[chunk()])
            .unwrap(),
        None
    );
    assert_eq!(store.kb(&org.id, "kb-1").unwrap().unwrap().chunks, 3);
    assert_eq!(store.contexts_of_kb(&org.id, "kb-1").unwrap(), vec!["ctx"]);
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
                "INSERT INTO contexts VALUES ('org', 'ctx', '{}', 'now')",
                [],
            )
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
        store
            .insert_chunks("kb-1", "ctx", "{}", &[chunk()])
            .unwrap(),
        Some(vec![3])
    );
    assert_eq!(store.kb("org", "kb-1").unwrap().unwrap().chunks, 3);
}

#[test]
fn a_context_id_names_one_content_until_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = store.create_org("acme", "hash", "xtr_a").unwrap();
    store.create_kb(&kb(&org.id)).unwrap();
    let put = |data: &str, creator: Option<&str>| {
        store.put_context(&org.id, "ctx", data, creator).unwrap()
    };
    assert_eq!(put("{\"a\": 1}", Some("k1")), PutContext::Created);
    assert_eq!(put("{\"a\": 1}", Some("k2")), PutContext::Unchanged);
    assert_eq!(put("{\"a\": 2}", None), PutContext::Conflict);
    let stored = store.context(&org.id, "ctx").unwrap().unwrap();
    assert_eq!(stored.data, "{\"a\": 1}");
    assert_eq!(stored.creator_key.as_deref(), Some("k1"));
    assert_eq!(
        store.contexts(&org.id).unwrap(),
        vec![("ctx".to_owned(), Some("k1".to_owned()))]
    );

    // Not deleted while chunks are stored under it.
    store
        .insert_chunks("kb-1", "ctx", "{\"a\": 1}", &[chunk()])
        .unwrap()
        .unwrap();
    assert_eq!(
        store.delete_context(&org.id, "ctx").unwrap(),
        DeleteContext::InUse(vec!["kb-1".to_owned()])
    );
    assert_eq!(
        store.chunk_contexts("kb-1", &[1, 2]).unwrap(),
        vec![(1, "ctx".to_owned())]
    );
    // A patch names the chunk's own context or finds nothing.
    let patch = ChunkPatch {
        name: Some("renamed".into()),
        ..ChunkPatch::default()
    };
    assert!(store
        .patch_chunks("kb-1", "other", &[(1, patch.clone())], true)
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .patch_chunks("kb-1", "ctx", &[(1, patch)], true)
            .unwrap(),
        vec![1]
    );
    store.delete_chunks("kb-1", &[1]).unwrap();
    assert_eq!(
        store.delete_context(&org.id, "ctx").unwrap(),
        DeleteContext::Deleted
    );
    assert_eq!(
        store.delete_context(&org.id, "ctx").unwrap(),
        DeleteContext::Missing
    );
    assert_eq!(put("{\"a\": 2}", None), PutContext::Created);
}

#[test]
fn a_store_from_before_creators_binds_its_chunks_contexts() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut connection = Connection::open(dir.path().join(STORE_FILE)).unwrap();
        let t = connection.transaction().unwrap();
        t.execute_batch(MIGRATIONS[0]).unwrap();
        t.execute_batch(MIGRATIONS[1]).unwrap();
        t.pragma_update(None, "user_version", 2).unwrap();
        t.execute("INSERT INTO orgs VALUES ('org', 'acme', 'now')", [])
            .unwrap();
        t.execute(
            "INSERT INTO kbs (id, org_id, name, description, next_chunk_id, created_at, \
             updated_at) VALUES ('kb-1', 'org', 'docs', '', 2, 'now', 'now')",
            [],
        )
        .unwrap();
        t.execute(
            "INSERT INTO contexts VALUES ('org', 'ctx', '{}', 'now')",
            [],
        )
        .unwrap();
        t.execute(
            "INSERT INTO chunks VALUES ('kb-1', 1, 'ctx', '', '', '{}', x'01')",
            [],
        )
        .unwrap();
        t.commit().unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.contexts_of_kb("org", "kb-1").unwrap(), vec!["ctx"]);
    assert_eq!(
        store.context("org", "ctx").unwrap().unwrap().creator_key,
        None
    );
}

#[cfg(unix)]
#[test]
fn the_store_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("store");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let store = SqliteStore::open(&dir).unwrap();
    store.create_org("acme", "hash", "xtr_a").unwrap();
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    assert!(files >= 3, "the store, its -wal and -shm");
}

#[test]
fn readers_see_writes_made_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let org = store.create_org("acme", "hash", "xtr_a").unwrap();
    store.put_context(&org.id, "ctx", "v0", None).unwrap();
    let path = dir.path().join(STORE_FILE);
    for round in 1..6 {
        let data = format!("v{round}");
        let script = format!(
            "import sqlite3; c = sqlite3.connect({:?}); c.execute(\"UPDATE contexts SET data = '{data}'\"); c.commit()",
            path.display().to_string()
        );
        let status = std::process::Command::new("python3")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(status.success());
        for _ in 0..8 {
            assert_eq!(store.context(&org.id, "ctx").unwrap().unwrap().data, data);
        }
    }
}
