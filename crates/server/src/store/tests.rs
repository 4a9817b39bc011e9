//! What only the SQLite store does: migrations of files written by earlier versions, private
//! files, and several processes on one file (the contract both stores keep is in
//! `crates/server/tests/service/store_contract.rs`).

use rusqlite::{params, Connection};

use super::sqlite::schema::MIGRATIONS;
use super::sqlite::STORE_FILE;
use super::{DigestSwap, DigestWritten, NewChunk, SqliteStore, Store};

fn chunk() -> NewChunk {
    NewChunk {
        name: "n".into(),
        content: "c".into(),
        meta_data: "{}".into(),
        pieces: vec![1, 2, 3],
    }
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
            .unwrap()
            .map(|inserted| inserted.ids),
        Some(vec![3])
    );
    assert_eq!(store.kb("org", "kb-1").unwrap().unwrap().chunks, 3);
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

#[test]
fn a_store_from_before_owner_digests_gets_them_and_loses_them_with_its_kb() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut connection = Connection::open(dir.path().join(STORE_FILE)).unwrap();
        let t = connection.transaction().unwrap();
        for migration in &MIGRATIONS[..4] {
            t.execute_batch(migration).unwrap();
        }
        t.pragma_update(None, "user_version", 4).unwrap();
        t.execute("INSERT INTO orgs VALUES ('org', 'acme', 'now')", [])
            .unwrap();
        t.execute(
            "INSERT INTO kbs (id, org_id, name, description, next_chunk_id, created_at, \
             updated_at) VALUES ('kb-1', 'org', 'docs', '', 1, 'now', 'now')",
            [],
        )
        .unwrap();
        t.commit().unwrap();
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    let state = store.owner_digest("kb-1", "ctx", None).unwrap().unwrap();
    assert_eq!(
        (state.digest, state.next_chunk_id, state.chunks),
        (None, 1, 0)
    );
    let swap = DigestSwap {
        expected_version: 0,
        version: 1,
        sealed: b"sealed".to_vec(),
        link: Some((0, vec![1; 32])),
    };
    assert!(matches!(
        store.put_owner_digest("kb-1", "ctx", &swap).unwrap(),
        DigestWritten::Written { .. }
    ));
    assert_eq!(
        store
            .owner_digest("kb-1", "ctx", None)
            .unwrap()
            .unwrap()
            .digest,
        Some((1, b"sealed".to_vec()))
    );
    assert!(store.delete_kb("org", "kb-1").unwrap());
    drop(store);
    let connection = Connection::open(dir.path().join(STORE_FILE)).unwrap();
    let left: i64 = connection
        .query_row("SELECT COUNT(*) FROM owner_digests", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 0, "a deleted knowledge base's digests go with it");
    let links: i64 = connection
        .query_row("SELECT COUNT(*) FROM owner_digest_links", [], |r| r.get(0))
        .unwrap();
    assert_eq!(links, 0, "and so do their links");
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

#[test]
fn a_backup_is_a_private_copy_of_one_instant() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("live")).unwrap();
    let org = store.create_org("acme", "hash", "xtr_a").unwrap();
    store.put_context(&org.id, "ctx", "{}", None).unwrap();
    let output = dir.path().join("copy.sqlite3");
    store.backup(&output).unwrap();
    // Never over an existing file.
    assert!(store.backup(&output).is_err());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&output).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::rename(&output, restored.join(STORE_FILE)).unwrap();
    let copy = SqliteStore::open(&restored).unwrap();
    assert_eq!(copy.org_of_admin_key("hash").unwrap(), Some(org.id.clone()));
    assert_eq!(copy.context(&org.id, "ctx").unwrap().unwrap().data, "{}");
}

#[test]
fn shared_statements_keep_their_parameter_numbers_on_sqlite() {
    // SQLite would number `$3` first in this statement; `?3` stays the third.
    assert_eq!(
        super::sqlite::numbered("UPDATE t SET a = $3, b = $10 WHERE k = $1 AND c = '$'"),
        "UPDATE t SET a = ?3, b = ?10 WHERE k = ?1 AND c = '$'"
    );
}
