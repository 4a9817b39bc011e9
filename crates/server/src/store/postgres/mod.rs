//! [`PostgresStore`]: the store several `serve` replicas share, on PostgreSQL through a pool of
//! synchronous connections (the routes call the store from the blocking pool). Each write is one
//! transaction, committed before it returns; chunk writes lock their knowledge base's row first,
//! so that ids and versions follow the commit order whichever replica wrote them.
//!
//! A database that cannot be reached is [`Error::StoreUnavailable`] (the server answers 503),
//! and the pool connects again once it is back.

mod schema;
mod session;

use std::time::Duration;

use r2d2_postgres::postgres::{self, IsolationLevel, NoTls};
use r2d2_postgres::{r2d2, PostgresConnectionManager};

use super::dialect::{Begin, Dialect, End, Session, Sql};
use super::schema_version::pending;
use super::statements::chunk_columns;
use crate::error::{Error, Result};
use schema::{MIGRATIONS, MIGRATION_LOCK};
use session::{On, PgSession};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
type Client = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// Connections a replica keeps open at most, beyond two per core (the default work slots,
/// each of which may hold one through an index build).
const POOL_HEADROOM: u32 = 16;
/// How long a request waits for a connection (or for the database to answer a connect) when
/// the URL names no `connect_timeout`.
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

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or
    /// key=value pairs; a `host` that is a folder is a Unix socket) and applies any migration it
    /// lacks.
    pub fn open(url: &str) -> Result<Self> {
        let config: postgres::Config = url
            .parse()
            .map_err(|e| Error::InvalidSetting(format!("the PostgreSQL URL: {e}")))?;
        let mut config = config;
        // The URL's connect_timeout bounds the whole wait for a connection, pool included, so
        // that a request meets a database that went away with a 503 within it. (The driver
        // ignores a zero, libpq's "no limit"; the pool would refuse one.)
        let connect_timeout = *config
            .get_connect_timeout()
            .filter(|timeout| !timeout.is_zero())
            .unwrap_or(&CONNECT_TIMEOUT);
        config.connect_timeout(connect_timeout);
        let manager = PostgresConnectionManager::new(config, NoTls);
        // Not tested on checkout (a round trip for every statement): a connection the database
        // dropped fails its next statement (a 503), and the pool then discards it.
        let pool = r2d2::Pool::builder()
            .max_size(pool_size())
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(connect_timeout)
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
            Some(row) => row.try_get(0).map_err(store_error)?,
            None => {
                t.execute("INSERT INTO schema_version (version) VALUES (0)", &[])
                    .map_err(store_error)?;
                0
            }
        };
        for migration in pending(version.max(0) as usize, MIGRATIONS)? {
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
}

impl Dialect for PostgresStore {
    const KB_FOR_WRITE: Sql =
        "SELECT next_chunk_id, org_id, version FROM kbs WHERE id = $1 FOR UPDATE";
    const ONE_WRITER: bool = false;
    // FOR SHARE: a delete of the context waits for the insert or binding, then sees it.
    const CONTEXT_FOR_INSERT: Sql =
        "SELECT data FROM contexts WHERE org_id = $1 AND context_id = $2 FOR SHARE";
    const CONTEXT_FOR_BIND: Sql =
        "SELECT 1 FROM contexts WHERE org_id = $1 AND context_id = $2 FOR SHARE";
    const CONTEXT_FOR_DELETE: Option<Sql> =
        Some("SELECT 1 FROM contexts WHERE org_id = $1 AND context_id = $2 FOR UPDATE");
    // Arrays: one statement for all the ids.
    const CHUNKS_BY_ID: Sql = concat!(
        "SELECT ",
        chunk_columns!(),
        " FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2) ORDER BY chunk_id"
    );
    const CHUNK_CONTEXTS: Sql =
        "SELECT chunk_id, context_id FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2)";
    const DELETE_CHUNKS: Sql = "DELETE FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2)";
    const DROP_PAGES_OF: Sql = "DELETE FROM sealed_pages WHERE page_no IN \
         (SELECT page_no FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2))";
    const PAGE_MATES: Sql = "SELECT chunk_id FROM chunks WHERE kb_id = $1 AND page_no IN \
         (SELECT page_no FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2))";
    const PAGE_NOS_OF: Sql = "SELECT DISTINCT page_no FROM chunks \
         WHERE kb_id = $1 AND chunk_id = ANY($2) AND page_no IS NOT NULL";
    const INSERT_CONTEXT_FIRST: Option<Sql> = Some(
        "INSERT INTO contexts (org_id, context_id, data, created_at, creator_key) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    );
    // The advisory lock space of key creations, 0x6b657973 ("keys"), a constant of this
    // program's own; the second key is the organisation's id, hashed. Held on every replica.
    const KEY_CREATION_LOCK: Option<Sql> =
        Some("SELECT pg_advisory_xact_lock(1801812339, hashtext($1))");

    fn read<T>(&self, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        let mut client = self.client()?;
        work(&mut PgSession::new(On::Client(&mut client)))
    }

    fn write<T>(&self, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T> {
        self.read(work)
    }

    fn transaction<T>(
        &self,
        begin: Begin,
        work: impl FnOnce(&mut dyn Session) -> Result<End<T>>,
    ) -> Result<T> {
        let mut client = self.client()?;
        let mut t = match begin {
            Begin::Plain | Begin::Write => client.transaction(),
            Begin::Snapshot => client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start(),
        }
        .map_err(store_error)?;
        let end = work(&mut PgSession::new(On::Transaction(&mut t)))?;
        end.finish(|| t.commit().map_err(store_error))
    }
}
