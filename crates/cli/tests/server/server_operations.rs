//! The store's operations as a user runs them: `server init`, `server migrate` and `server
//! backup` on SQLite and PostgreSQL, and the errors for a store that is not one or not there.

use crate::common;

use common::cli::{fails, ok, run};
use serde_json::Value;

#[test]
fn migrate_and_backup_a_sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let org: Value = serde_json::from_str(&ok(run(
        dir.path(),
        None,
        &["server", "init", "--org", "acme", "--data-dir", store],
    )))
    .unwrap();
    let migrated: Value = serde_json::from_str(&ok(run(
        dir.path(),
        None,
        &["server", "migrate", "--data-dir", store],
    )))
    .unwrap();
    assert!(
        migrated["schema_version"].as_u64().unwrap() >= 4,
        "{migrated}"
    );
    let backup = dir.path().join("backup.sqlite3");
    let backup_arg = backup.to_str().unwrap();
    ok(run(
        dir.path(),
        None,
        &[
            "server",
            "backup",
            "--data-dir",
            store,
            "--output",
            backup_arg,
        ],
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Never over a file that exists.
    let refused = fails(run(
        dir.path(),
        None,
        &[
            "server",
            "backup",
            "--data-dir",
            store,
            "--output",
            backup_arg,
        ],
    ));
    assert!(refused.contains("backup.sqlite3"), "{refused}");
    // The copy is a store: the organisation is in it.
    let restored = dir.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::rename(&backup, restored.join("paillier-gpu.sqlite3")).unwrap();
    let again: Value = serde_json::from_str(&ok(run(
        dir.path(),
        None,
        &[
            "server",
            "migrate",
            "--data-dir",
            restored.to_str().unwrap(),
        ],
    )))
    .unwrap();
    assert_eq!(again, migrated);
    assert!(org["org_id"].as_str().is_some());
}

#[test]
fn postgres_stores_migrate_and_point_to_pg_dump_for_backups() {
    let dir = tempfile::tempdir().unwrap();
    let refused = fails(run(
        dir.path(),
        None,
        &["server", "migrate", "--store", "mysql://db/x"],
    ));
    assert!(refused.contains("postgres://"), "{refused}");
    let Some(url) = common::postgres::fresh_database() else {
        return;
    };
    let migrated: Value = serde_json::from_str(&ok(run(
        dir.path(),
        None,
        &["server", "migrate", "--store", &url],
    )))
    .unwrap();
    assert!(
        migrated["schema_version"].as_u64().unwrap() >= 1,
        "{migrated}"
    );
    ok(run(
        dir.path(),
        None,
        &["server", "init", "--org", "acme", "--store", &url],
    ));
    let refused = fails(run(
        dir.path(),
        None,
        &["server", "backup", "--store", &url, "--output", "x"],
    ));
    assert!(refused.contains("pg_dump"), "{refused}");
    // A database that is not there: a clear error within the connect timeout, no panic.
    let port = common::server::free_port();
    let nowhere = format!("postgres://paillier@127.0.0.1:{port}/none");
    let refused = fails(run(
        dir.path(),
        None,
        &["server", "migrate", "--store", &nowhere],
    ));
    assert!(refused.contains("store unavailable"), "{refused}");
}
