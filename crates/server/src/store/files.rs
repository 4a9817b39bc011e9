//! The store's folder and files, private to the user the server runs as: the folder 0700, the
//! store and SQLite's `-wal` and `-shm` beside it 0600, whatever the umask (they hold sealed
//! secret keys and key hashes).

use std::path::{Path, PathBuf};

use paillier_gpu::io::{ExistingFile, Recognise, Visibility};

use crate::error::{Error, Result};

/// The first bytes of every SQLite database file.
const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// A copy of the store (`server backup`): key hashes and sealed secret keys, so owner-only. An
/// existing file it may replace without being told to is an SQLite database.
pub(super) struct StoreBackup;

impl Recognise for StoreBackup {
    fn visibility(&self) -> Visibility {
        Visibility::Private
    }

    fn is_replaceable(&self, existing: &ExistingFile<'_>) -> paillier_gpu::Result<bool> {
        Ok(existing.head().starts_with(SQLITE_HEADER))
    }
}

/// Makes `data_dir` (created if needed) and the store file `name` in it private, creating the
/// file empty if it is missing, and any `-wal` and `-shm` beside it private too; returns the
/// store file's path. Call it before SQLite opens the store: closing a descriptor of a file
/// drops every POSIX lock the process holds on it, SQLite's included, so nothing here may
/// open the store once SQLite has (SQLite makes the `-wal` and `-shm` with the store's mode).
pub(super) fn private_store_file(data_dir: &Path, name: &str) -> Result<PathBuf> {
    create_private_dir(data_dir)?;
    let path = data_dir.join(name);
    create_private_file(&path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let beside = data_dir.join(format!("{name}{suffix}"));
        if beside.exists() {
            make_private(&beside, 0o600)?;
        }
    }
    Ok(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    let metadata = std::fs::metadata(dir).map_err(|e| Error::io(dir, e))?;
    // A shared folder such as /tmp (sticky bit) is no place for a store, and not ours to chmod.
    if metadata.mode() & 0o1000 != 0 {
        return Err(Error::InvalidSetting(format!(
            "{} is a shared folder (sticky bit); give the store a folder of its own",
            dir.display()
        )));
    }
    make_private(dir, 0o700)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    make_private(path, 0o600)
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> Result<()> {
    Ok(())
}

#[cfg(unix)]
fn make_private(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io(path, e))
}

#[cfg(not(unix))]
fn make_private(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_backup_replaces_only_an_sqlite_database() {
        let dir = tempfile::tempdir().unwrap();
        let judge = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            StoreBackup
                .is_replaceable(&ExistingFile::read(&path).unwrap())
                .unwrap()
        };
        assert!(judge("store.db", b"SQLite format 3\0rest of the header"));
        assert!(!judge("notes.txt", b"SQLite format 3 is a file format\n"));
        assert!(!judge("ctx.json", b"{\"pk\": \"x\", \"sk\": \"y\"}"));
    }
}
