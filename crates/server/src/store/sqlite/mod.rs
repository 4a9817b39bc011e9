//! [`SqliteStore`]: one file in the data folder, WAL, foreign keys on, every write in a
//! transaction committed (and synced, `synchronous=FULL`) before it returns. Writes go through
//! one connection; reads through a few more, so that one organisation's long read does not hold
//! up another's (WAL readers see the last commit and never wait for the writer).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension, Params, Row};

mod chunk_rows;
mod context_rows;
mod files;
pub(super) mod schema;

use files::{private_store_file, StoreBackup};
use schema::MIGRATIONS;

use super::statements::*;
use super::{
    now, ApiKey, Chunk, ChunkPatch, DeleteContext, IndexRow, Inserted, KbVersion, KnowledgeBase,
    NewChunk, Org, PutContext, Store, StoredContext,
};
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

/// Reads one selected row.
type RowOf<T> = fn(&Row<'_>) -> rusqlite::Result<T>;

fn store_error(e: rusqlite::Error) -> Error {
    Error::Store(e.to_string())
}

fn connect(path: &Path) -> Result<Connection> {
    let connection = Connection::open(path).map_err(store_error)?;
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
                Ok(Mutex::new(reader))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            dir: data_dir.to_owned(),
            writer: Mutex::new(writer),
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
        self.read(|c| c.backup(rusqlite::MAIN_DB, &snapshot, None))?;
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

    fn with<T>(&self, work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let mut connection = self
            .writer
            .lock()
            .map_err(|_| Error::Store("the store's connection was poisoned by a panic".into()))?;
        work(&mut connection).map_err(store_error)
    }

    /// Runs a read on a free reader, or waits for the next one in turn.
    fn read<T>(&self, work: impl FnOnce(&mut Connection) -> rusqlite::Result<T>) -> Result<T> {
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let free = (0..self.readers.len()).find_map(|i| {
            self.readers[(start + i) % self.readers.len()]
                .try_lock()
                .ok()
        });
        let mut connection = match free {
            Some(connection) => connection,
            None => self.readers[start % self.readers.len()]
                .lock()
                .map_err(|_| Error::Store("a store reader was poisoned by a panic".into()))?,
        };
        work(&mut connection).map_err(store_error)
    }

    /// Every row `sql` (numbered `$1`, as [`statements`](super::statements)) selects, each read
    /// by `row_of`.
    fn all<T>(&self, sql: &str, args: impl Params, row_of: RowOf<T>) -> Result<Vec<T>> {
        self.read(|c| {
            c.prepare(&numbered(sql))?
                .query_map(args, row_of)?
                .collect()
        })
    }

    /// The one row `sql` selects, or none.
    fn one<T>(&self, sql: &str, args: impl Params, row_of: RowOf<T>) -> Result<Option<T>> {
        self.read(|c| c.query_row(&numbered(sql), args, row_of).optional())
    }

    /// Runs one statement; true when it changed a row.
    fn execute(&self, sql: &str, args: impl Params) -> Result<bool> {
        self.with(|c| c.execute(&numbered(sql), args).map(|n| n > 0))
    }
}

fn migrate(connection: &mut Connection) -> Result<()> {
    let version: usize = connection
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(store_error)?;
    if version > MIGRATIONS.len() {
        return Err(Error::Store(format!(
            "the store is at schema version {version}, newer than this program's {}; use a \
             newer paillier-gpu",
            MIGRATIONS.len()
        )));
    }
    let transaction = connection.transaction().map_err(store_error)?;
    for (number, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        transaction.execute_batch(migration).map_err(store_error)?;
        transaction
            .pragma_update(None, "user_version", number + 1)
            .map_err(store_error)?;
    }
    transaction.commit().map_err(store_error)
}

fn kb_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<KnowledgeBase> {
    Ok(KnowledgeBase {
        id: row.get(0)?,
        org_id: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        chunks: row.get::<_, i64>(4)?.max(0) as u64,
        created_at: row.get(5)?,
        updated_at: row.get(6)?,
    })
}

fn api_key_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<ApiKey> {
    Ok(ApiKey {
        hash: row.get(0)?,
        org_id: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        first_n: row.get(4)?,
        revoked: row.get::<_, i64>(5)? != 0,
        created_at: row.get(6)?,
    })
}

impl Store for SqliteStore {
    fn create_org(&self, name: &str, admin_key_hash: &str, first_n: &str) -> Result<Org> {
        let id = crate::auth::new_id("org");
        self.with(|c| {
            let t = c.transaction()?;
            t.execute(&numbered(INSERT_ORG), params![id, name, now()])?;
            t.execute(
                &numbered(INSERT_ADMIN_KEY),
                params![admin_key_hash, id, first_n, now()],
            )?;
            t.commit()
        })?;
        Ok(Org {
            id,
            name: name.to_owned(),
        })
    }

    fn org_of_admin_key(&self, hash: &str) -> Result<Option<String>> {
        self.one(ORG_OF_ADMIN_KEY, [hash], |r| r.get(0))
    }

    fn create_api_key(&self, key: &ApiKey) -> Result<bool> {
        self.execute(
            INSERT_API_KEY,
            params![
                key.hash,
                key.org_id,
                key.name,
                key.description,
                key.first_n,
                false,
                key.created_at
            ],
        )
    }

    fn api_key(&self, hash: &str) -> Result<Option<ApiKey>> {
        self.one(API_KEY, [hash], api_key_of)
    }

    fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>> {
        self.all(API_KEYS, [org_id], api_key_of)
    }

    fn revoke_api_key(&self, org_id: &str, hash: &str) -> Result<bool> {
        self.execute(REVOKE_API_KEY, params![org_id, hash, true])
    }

    fn permissions(&self, hash: &str) -> Result<Vec<(String, u8)>> {
        self.all(PERMISSIONS, [hash], |r| Ok((r.get(0)?, r.get::<_, u8>(1)?)))
    }

    fn set_permission(&self, hash: &str, kb_id: &str, permission: u8) -> Result<()> {
        self.execute(SET_PERMISSION, params![hash, kb_id, permission])
            .map(drop)
    }

    fn create_kb(&self, kb: &KnowledgeBase) -> Result<()> {
        self.execute(
            INSERT_KB,
            params![
                kb.id,
                kb.org_id,
                kb.name,
                kb.description,
                kb.created_at,
                kb.updated_at
            ],
        )
        .map(drop)
    }

    fn kb(&self, org_id: &str, kb_id: &str) -> Result<Option<KnowledgeBase>> {
        self.one(KB, params![org_id, kb_id], kb_of)
    }

    fn kbs(&self, org_id: &str) -> Result<Vec<KnowledgeBase>> {
        self.all(KBS, [org_id], kb_of)
    }

    fn delete_kb(&self, org_id: &str, kb_id: &str) -> Result<bool> {
        self.execute(DELETE_KB, params![org_id, kb_id])
    }

    fn put_context(
        &self,
        org_id: &str,
        context_id: &str,
        data: &str,
        creator_key: Option<&str>,
    ) -> Result<PutContext> {
        self.with(|c| context_rows::put_context(c, org_id, context_id, data, creator_key))
    }

    fn context(&self, org_id: &str, context_id: &str) -> Result<Option<StoredContext>> {
        self.read(|c| context_rows::context(c, org_id, context_id))
    }

    fn contexts(&self, org_id: &str) -> Result<Vec<(String, Option<String>)>> {
        self.read(|c| context_rows::contexts(c, org_id))
    }

    fn delete_context(&self, org_id: &str, context_id: &str) -> Result<DeleteContext> {
        self.with(|c| context_rows::delete_context(c, org_id, context_id))
    }

    fn bind(&self, org_id: &str, kb_id: &str, context_id: &str) -> Result<bool> {
        self.with(|c| context_rows::bind(c, org_id, kb_id, context_id))
    }

    fn contexts_of_kb(&self, org_id: &str, kb_id: &str) -> Result<Vec<String>> {
        self.all(CONTEXTS_OF_KB, params![org_id, kb_id], |r| r.get(0))
    }

    fn kbs_of_context(&self, org_id: &str, context_id: &str) -> Result<Vec<String>> {
        self.all(KBS_OF_CONTEXT, params![org_id, context_id], |r| r.get(0))
    }

    fn insert_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        context_data: &str,
        chunks: &[NewChunk],
    ) -> Result<Option<Inserted>> {
        self.with(|c| chunk_rows::insert_chunks(c, kb_id, context_id, context_data, chunks))
    }
    fn kb_version(&self, kb_id: &str) -> Result<Option<KbVersion>> {
        self.read(|c| chunk_rows::kb_version(c, kb_id))
    }
    fn chunks_by_id(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<Chunk>> {
        self.read(|c| chunk_rows::chunks_by_id(c, kb_id, ids))
    }
    fn chunk_contexts(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        self.read(|c| chunk_rows::chunk_contexts(c, kb_id, ids))
    }
    fn chunks_of(&self, kb_id: &str, context_id: &str) -> Result<Vec<Chunk>> {
        self.read(|c| chunk_rows::chunks_of(c, kb_id, context_id))
    }
    fn index_rows(
        &self,
        kb_id: &str,
        context_id: &str,
        after: i64,
        page: usize,
        visit: &mut dyn FnMut(&[IndexRow]) -> Result<()>,
    ) -> Result<KbVersion> {
        // The visitor's own error is kept apart from the store's, and stops the read.
        let mut stopped = None;
        let version = self.read(|c| {
            chunk_rows::index_rows(c, kb_id, context_id, after, page, &mut |rows| {
                visit(rows).map_err(|e| stopped = Some(e)).is_ok()
            })
        })?;
        stopped.map_or(Ok(version), Err)
    }
    fn patch_chunks(
        &self,
        kb_id: &str,
        context_id: &str,
        patches: &[(i64, ChunkPatch)],
        all_or_nothing: bool,
    ) -> Result<Vec<i64>> {
        self.with(|c| chunk_rows::patch_chunks(c, kb_id, context_id, patches, all_or_nothing))?
            .into_ids()
    }
    fn delete_chunks(&self, kb_id: &str, ids: &[i64]) -> Result<usize> {
        self.with(|c| chunk_rows::delete_chunks(c, kb_id, ids))
    }
}

/// A statement written with PostgreSQL's numbered parameters (`$1`) in SQLite's form (`?1`).
/// SQLite reads `$1` as a parameter *named* `$1`, numbered in order of first appearance, which
/// binds the wrong values wherever a statement names `$3` before `$1`; `?1` is numbered as
/// written.
pub(super) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('?');
        } else {
            out.push(c);
        }
    }
    out
}
