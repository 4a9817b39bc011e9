//! [`SqliteStore`]: one file in the data folder, WAL, foreign keys on, every write in a
//! transaction committed (and synced, `synchronous=FULL`) before it returns. Writes go through
//! one connection; reads through a few more, so that one organisation's long read does not hold
//! up another's (WAL readers see the last commit and never wait for the writer). One writer at
//! a time is also what orders the chunk writes: no row locks are needed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::TransactionBehavior;

pub(super) mod schema;
mod session;

use schema::MIGRATIONS;
#[cfg(test)]
pub(super) use session::numbered;
use session::{store_error, Connection};

use super::dialect::{Begin, Dialect, End, Session, Sql};
use super::files::{private_store_file, StoreBackup};
use super::schema_version::pending;
use super::statements::{chunk_columns, CONTEXT_DATA};
use crate::error::{Error, Result};
use paillier_gpu::formats::StreamedOutput;
use paillier_gpu::io::Output;

/// The store's file name inside the data folder.
pub const STORE_FILE: &str = "paillier-gpu.sqlite3";

/// Connections that only read.
const READERS: usize = 4;

/// The embedded store.
pub struct SqliteStore {
    /// The store's folder.
    dir: PathBuf,
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn connect(path: &Path) -> Result<rusqlite::Connection> {
    let connection = rusqlite::Connection::open(path).map_err(store_error)?;
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(store_error)?;
    connection
        .busy_timeout(std::time::Duration::from_secs(10))
        .map_err(store_error)?;
    Ok(connection)
}

impl SqliteStore {
    /// Opens (creating it if needed) the store in `data_dir`, applying any migration it lacks.
    /// The folder is made private to this user (0700) and the store's files 0600, whatever the
    /// umask: they hold sealed secret keys and key hashes.
    pub fn open(data_dir: &Path) -> Result<Self> {
        let path = private_store_file(data_dir, STORE_FILE)?;
        let mut writer = connect(&path)?;
        migrate(&mut writer)?;
        let readers = (0..READERS)
            .map(|_| {
                let reader = connect(&path)?;
                reader
                    .execute_batch("PRAGMA query_only = ON;")
                    .map_err(store_error)?;
                Ok(Mutex::new(Connection::new(reader)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            dir: data_dir.to_owned(),
            writer: Mutex::new(Connection::new(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// Copies the store, as of one instant, to `output` (the path given, which must not
    /// exist): SQLite's online backup (the server may go on writing meanwhile) into a private
    /// file in the store's folder, then written through the one output mechanism (private,
    /// atomic, never over the store itself).
    pub fn backup(&self, output: &Path) -> Result<()> {
        if std::fs::symlink_metadata(output).is_ok() {
            return Err(Error::InvalidSetting(format!(
                "{} exists; a backup is written to a new file",
                output.display()
            )));
        }
        let live = self.dir.join(STORE_FILE);
        let output = Output::prepare_as(output, &[&live], &StoreBackup, false)?;
        let snapshot = tempfile::Builder::new()
            .prefix(".backup-")
            .tempfile_in(&self.dir)
            .map_err(|e| Error::io(&self.dir, e))?
            .into_temp_path();
        self.reader()?
            .inner
            .backup(rusqlite::MAIN_DB, &snapshot, None)
            .map_err(store_error)?;
        let mut copy = std::fs::File::open(&snapshot).map_err(|e| Error::io(&snapshot, e))?;
        let named = output.requested().to_owned();
        output.write_with(|out| {
            let copied = match out {
                StreamedOutput::File(file) => std::io::copy(&mut copy, file),
                StreamedOutput::Stream(stream) => std::io::copy(&mut copy, stream),
            };
            copied
                .map(drop)
                .map_err(|e| paillier_gpu::Error::io(&named, e))
        })?;
        Ok(())
    }

    fn writer(&self) -> Result<MutexGuard<'_, Connection>> {
        self.writer
            .lock()
            .map_err(|_| Error::Store("the store's connection was poisoned by a panic".into()))
    }

    /// A free reader, or else the next one in turn once it is free.
    fn reader(&self) -> Result<MutexGuard<'_, Connection>> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let free = (0..self.readers.len()).find_map(|i| {
            self.readers[(start + i) % self.readers.len()]
                .try_lock()
                .ok()
        });
        match free {
            Some(connection) => Ok(connection),
            None => self.readers[start % self.readers.len()]
                .lock()
                .map_err(|_| Error::Store("a store reader was poisoned by a panic".into())),
        }
    }
}

/// Applies the migrations the store lacks in one transaction, counting them in `user_version`.
fn migrate(connection: &mut rusqlite::Connection) -> Result<()> {
    let version: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(store_error)?;
    let pending = pending(version, MIGRATIONS)?;
    let transaction = connection.transaction().map_err(store_error)?;
    for (number, migration) in (version + 1..).zip(pending) {
        transaction.execute_batch(migration).map_err(store_error)?;
        transaction
            .pragma_update(None, "user_version", number)
            .map_err(store_error)?;
    }
    transaction.commit().map_err(store_error)
}

impl Dialect for SqliteStore {
    const KB_FOR_WRITE: Sql = "SELECT next_chunk_id, org_id, version FROM kbs WHERE id = ?1";
    const ONE_WRITER: bool = true;
    const CONTEXT_FOR_INSERT: Sql = CONTEXT_DATA;
    const CONTEXT_FOR_BIND: Sql = "SELECT 1 FROM contexts WHERE org_id = ?1 AND context_id = ?2";
    const CONTEXT_FOR_DELETE: Option<Sql> = None;
    const INSERT_CONTEXT_FIRST: Option<Sql> = None;
    const CHUNKS_BY_ID: Sql = concat!(
        "SELECT ",
        chunk_columns!(),
        " FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2"
    );
    const CHUNK_CONTEXTS: Sql =
        "SELECT chunk_id, context_id FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2";
    const DELETE_CHUNKS: Sql = "DELETE FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2";
    const DROP_PAGES_OF: Sql = "DELETE FROM sealed_pages WHERE page_no = \
         (SELECT page_no FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2)";
    const PAGE_MATES: Sql = "SELECT chunk_id FROM chunks WHERE kb_id = ?1 AND page_no = \
         (SELECT page_no FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2)";
    const PAGE_NOS_OF: Sql = "SELECT page_no FROM chunks \
         WHERE kb_id = ?1 AND chunk_id = ?2 AND page_no IS NOT NULL";
    const KEY_CREATION_LOCK: Option<Sql> = None;

    fn read<T>(&self, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        work(&mut self.reader()?.session())
    }

    fn write<T>(&self, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        work(&mut self.writer()?.session())
    }

    fn transaction<T>(
        &self,
        begin: Begin,
        work: impl FnOnce(&mut dyn Session) -> Result<End<T>>,
    ) -> Result<T> {
        match begin {
            Begin::Plain => self
                .writer()?
                .transaction(TransactionBehavior::Deferred, work),
            Begin::Write => self
                .writer()?
                .transaction(TransactionBehavior::Immediate, work),
            // WAL: a reader's transaction sees one snapshot from its first read on.
            Begin::Snapshot => self
                .reader()?
                .transaction(TransactionBehavior::Deferred, work),
        }
    }
}
