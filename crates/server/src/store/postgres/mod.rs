//! [`PostgresStore`]: the store several `serve` replicas share, on PostgreSQL through a pool of
//! synchronous connections (the routes call the store from the blocking pool). Each write is one
//! transaction, committed before it returns; chunk writes lock their knowledge base's row first,
//! so that ids and versions follow the commit order whichever replica wrote them.
//!
//! A database that cannot be reached is [`Error::StoreUnavailable`] (the server answers 503),
//! and the pool connects again once it is back.

mod chunk_rows;
mod context_rows;
mod schema;

use crate::store::statements::*;
use std::time::Duration;

use r2d2_postgres::postgres::{self, types::ToSql, NoTls, Row};
use r2d2_postgres::{r2d2, PostgresConnectionManager};

use super::{
    now, ApiKey, Chunk, ChunkPatch, DeleteContext, IndexRow, Inserted, KbVersion, KnowledgeBase,
    NewChunk, Org, PutContext, Store, StoredContext,
};
use crate::error::{Error, Result};
use schema::{MIGRATIONS, MIGRATION_LOCK};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Client = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// Connections a replica keeps open at most, beyond two per core (the default work slots,
/// each of which may hold one through an index build).
const POOL_HEADROOM: u32 = 16;
/// The advisory lock space of API key creations (a constant of this program's own; the second
/// key is the organisation's id, hashed).
const KEY_CREATION_LOCK: i32 = 0x6b65_7973;
/// How long a request waits for a connection (or for the database to answer a connect).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The shared store.
pub struct PostgresStore {
    /// Taken only by `drop`.
    pool: Option<Pool>,
}

impl Drop for PostgresStore {
    /// Closes the connections on a thread of their own: closing one blocks on the driver's
    /// runtime, which must not happen on an async worker (where the server may drop its state).
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            let _ = std::thread::spawn(move || drop(pool)).join();
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never shown.
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// The error of a failed statement, as a caller can act on it: the database gone, refusing
/// connections, or a transaction that lost a race it may retry (a deadlock, a lock or statement
/// timeout) is [`Error::StoreUnavailable`]; a value PostgreSQL refuses (a NUL in a text, say)
/// or a write that conflicts with another (a row deleted or made meanwhile) is
/// [`Error::RefusedValue`]; anything else [`Error::Store`].
pub(super) fn store_error(e: postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        return Error::StoreUnavailable(format!("PostgreSQL: {e}"));
    };
    let code = db.code().code();
    let message = format!("PostgreSQL: {}", db.message());
    match code {
        _ if code.starts_with("08") || code.starts_with("57P") => Error::StoreUnavailable(message),
        "40P01" | "40001" | "55P03" | "57014" => Error::StoreUnavailable(message),
        _ if code.starts_with("22") || code.starts_with("23") => Error::RefusedValue(message),
        _ => Error::Store(message),
    }
}

/// [`POOL_HEADROOM`] connections plus two per core.
fn pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    POOL_HEADROOM.saturating_add(u32::try_from(2 * cores).unwrap_or(u32::MAX))
}

/// Reads `T` from a row.
type RowOf<T> = fn(&Row) -> T;

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// key=value pairs; a `host` that is a folder is a Unix socket) and applies any migration it
    /// lacks.
    pub fn open(url: &str) -> Result<Self> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| Error::InvalidSetting(format!("the PostgreSQL URL: {e}")))?;
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let manager = PostgresConnectionManager::new(config, NoTls);
        // Not tested on checkout (a round trip for every statement): a connection the database
        // dropped fails its next statement (a 503), and the pool then discards it.
        let pool = r2d2::Pool::builder()
            .max_size(pool_size())
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(CONNECT_TIMEOUT)
            .error_handler(Box::new(r2d2::NopErrorHandler))
            .build_unchecked(manager);
        let store = Self { pool: Some(pool) };
        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations the database lacks, one replica at a time; returns the schema
    /// version.
    pub fn migrate(&self) -> Result<usize> {
        let mut client = self.client()?;
        let mut t = client.transaction().map_err(store_error)?;
        t.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .map_err(store_error)?;
        t.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            .map_err(store_error)?;
        let version: i32 = match t
            .query_opt("SELECT version FROM schema_version", &[])
            .map_err(store_error)?
        {
            Some(row) => row.get(0),
            None => {
                t.execute("INSERT INTO schema_version (version) VALUES (0)", &[])
                    .map_err(store_error)?;
                0
            }
        };
        let version = version.max(0) as usize;
        if version > MIGRATIONS.len() {
            return Err(Error::Store(format!(
                "the store is at schema version {version}, newer than this program's {}; use a \
                 newer paillier-gpu",
                MIGRATIONS.len()
            )));
        }
        for migration in &MIGRATIONS[version..] {
            t.batch_execute(migration).map_err(store_error)?;
        }
        t.execute(
            "UPDATE schema_version SET version = $1",
            &[&(MIGRATIONS.len() as i32)],
        )
        .map_err(store_error)?;
        t.commit().map_err(store_error)?;
        Ok(MIGRATIONS.len())
    }

    fn client(&self) -> Result<Client> {
        self.pool
            .as_ref()
            .ok_or_else(|| Error::Store("the PostgreSQL store is closed".into()))?
            .get()
            .map_err(|e| Error::StoreUnavailable(format!("PostgreSQL: no connection ({e})")))
    }

    fn with<T>(
        &self,
        work: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut client = self.client()?;
        work(&mut client).map_err(store_error)
    }

    fn all<T>(&self, sql: &str, args: &[&(dyn ToSql + Sync)], row_of: RowOf<T>) -> Result<Vec<T>> {
        self.with(|c| Ok(c.query(sql, args)?.iter().map(row_of).collect()))
    }

    fn one<T>(
        &self,
        sql: &str,
        args: &[&(dyn ToSql + Sync)],
        row_of: RowOf<T>,
    ) -> Result<Option<T>> {
        self.with(|c| Ok(c.query_opt(sql, args)?.as_ref().map(row_of)))
    }

    fn execute(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<bool> {
        self.with(|c| c.execute(sql, args).map(|n| n > 0))
    }
}

fn kb_of(row: &Row) -> KnowledgeBase {
    KnowledgeBase {
        id: row.get(0),
        org_id: row.get(1),
        name: row.get(2),
        description: row.get(3),
        chunks: row.get::<_, i64>(4).max(0) as u64,
        created_at: row.get(5),
        updated_at: row.get(6),
    }
}

fn api_key_of(row: &Row) -> ApiKey {
    ApiKey {
        hash: row.get(0),
        org_id: row.get(1),
        name: row.get(2),
        description: row.get(3),
        first_n: row.get(4),
        revoked: row.get(5),
        created_at: row.get(6),
    }
}

impl Store for PostgresStore {
    fn create_org(&self, name: &str, admin_key_hash: &str, first_n: &str) -> Result<Org> {
        let id = crate::auth::new_id("org");
        self.with(|c| {
            let mut t = c.transaction()?;
            t.execute(INSERT_ORG, &[&id, &name, &now()])?;
            t.execute(INSERT_ADMIN_KEY, &[&admin_key_hash, &id, &first_n, &now()])?;
            t.commit()
        })?;
        Ok(Org {
            id,
            name: name.to_owned(),
        })
    }

    fn org_of_admin_key(&self, hash: &str) -> Result<Option<String>> {
        self.one(ORG_OF_ADMIN_KEY, &[&hash], |r| r.get(0))
    }

    fn create_api_key(&self, key: &ApiKey) -> Result<bool> {
        self.with(|c| {
            let mut t = c.transaction()?;
            // One key creation of an organisation at a time, on every replica: the next one's
            // statement then sees this one's key (READ COMMITTED reads what committed before
            // each statement), so the clash check holds under concurrency too.
            t.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&KEY_CREATION_LOCK, &key.org_id],
            )?;
            let stored = t.execute(
                INSERT_API_KEY,
                &[
                    &key.hash,
                    &key.org_id,
                    &key.name,
                    &key.description,
                    &key.first_n,
                    &false,
                    &key.created_at,
                ],
            )?;
            t.commit()?;
            Ok(stored > 0)
        })
    }

    fn api_key(&self, hash: &str) -> Result<Option<ApiKey>> {
        self.one(API_KEY, &[&hash], api_key_of)
    }

    fn api_keys(&self, org_id: &str) -> Result<Vec<ApiKey>> {
        self.all(API_KEYS, &[&org_id], api_key_of)
    }

    fn revoke_api_key(&self, org_id: &str, hash: &str) -> Result<bool> {
        self.execute(REVOKE_API_KEY, &[&org_id, &hash, &true])
    }

    fn permissions(&self, hash: &str) -> Result<Vec<(String, u8)>> {
        self.all(PERMISSIONS, &[&hash], |r| {
            (r.get(0), r.get::<_, i16>(1).clamp(0, 255) as u8)
        })
    }

    fn set_permission(&self, hash: &str, kb_id: &str, permission: u8) -> Result<()> {
        self.execute(SET_PERMISSION, &[&hash, &kb_id, &i16::from(permission)])
            .map(drop)
    }

    fn create_kb(&self, kb: &KnowledgeBase) -> Result<()> {
        self.execute(
            INSERT_KB,
            &[
                &kb.id,
                &kb.org_id,
                &kb.name,
                &kb.description,
                &kb.created_at,
                &kb.updated_at,
            ],
        )
        .map(drop)
    }

    fn kb(&self, org_id: &str, kb_id: &str) -> Result<Option<KnowledgeBase>> {
        self.one(KB, &[&org_id, &kb_id], kb_of)
    }

    fn kbs(&self, org_id: &str) -> Result<Vec<KnowledgeBase>> {
        self.all(KBS, &[&org_id], kb_of)
    }

    fn delete_kb(&self, org_id: &str, kb_id: &str) -> Result<bool> {
        self.execute(DELETE_KB, &[&org_id, &kb_id])
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
        self.one(CONTEXT, &[&org_id, &context_id], |r| StoredContext {
            data: r.get(0),
            creator_key: r.get(1),
        })
    }

    fn contexts(&self, org_id: &str) -> Result<Vec<(String, Option<String>)>> {
        self.all(CONTEXTS, &[&org_id], |r| (r.get(0), r.get(1)))
    }

    fn delete_context(&self, org_id: &str, context_id: &str) -> Result<DeleteContext> {
        self.with(|c| context_rows::delete_context(c, org_id, context_id))
    }

    fn bind(&self, org_id: &str, kb_id: &str, context_id: &str) -> Result<bool> {
        self.with(|c| context_rows::bind(c, org_id, kb_id, context_id))
    }

    fn contexts_of_kb(&self, org_id: &str, kb_id: &str) -> Result<Vec<String>> {
        self.all(CONTEXTS_OF_KB, &[&org_id, &kb_id], |r| r.get(0))
    }

    fn kbs_of_context(&self, org_id: &str, context_id: &str) -> Result<Vec<String>> {
        self.all(KBS_OF_CONTEXT, &[&org_id, &context_id], |r| r.get(0))
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
        self.with(|c| chunk_rows::kb_version(c, kb_id))
    }

    fn chunks_by_id(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<Chunk>> {
        self.with(|c| chunk_rows::chunks_by_id(c, kb_id, ids))
    }

    fn chunk_contexts(&self, kb_id: &str, ids: &[i64]) -> Result<Vec<(i64, String)>> {
        self.with(|c| chunk_rows::chunk_contexts(c, kb_id, ids))
    }

    fn chunks_of(&self, kb_id: &str, context_id: &str) -> Result<Vec<Chunk>> {
        self.with(|c| chunk_rows::chunks_of(c, kb_id, context_id))
    }

    fn index_rows(
        &self,
        kb_id: &str,
        context_id: &str,
        after: i64,
        page: usize,
        visit: &mut dyn FnMut(&[IndexRow]) -> Result<()>,
    ) -> Result<KbVersion> {
        let mut stopped = None;
        let version = self.with(|c| {
            chunk_rows::index_rows(c, kb_id, context_id, after, page, &mut |rows| {
                visit(rows).map_err(|e| stopped = Some(e)).is_ok()
            })
        })?;
        stopped.map_or(Ok(version), Err)
    }

    fn delete_chunks(&self, kb_id: &str, ids: &[i64]) -> Result<usize> {
        self.with(|c| chunk_rows::delete_chunks(c, kb_id, ids))
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
}
