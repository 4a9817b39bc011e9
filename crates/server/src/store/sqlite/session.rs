//! A SQLite connection as the store's [`Session`]: statements prepared once per connection
//! (`prepare_cached`), their `$1` parameters read as SQLite's `?1` (renumbered once each).

use std::collections::HashMap;

use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, CachedStatement, ToSql, TransactionBehavior};

use crate::error::{Error, Result};
use crate::store::dialect::{row_getters, Arg, End, Row, Session, Sql, Visit};

/// More than the store's statements, so that none is prepared twice.
const STATEMENT_CACHE: usize = 64;

/// The error of a failed statement or a row that cannot be read.
pub(super) fn store_error(e: rusqlite::Error) -> Error {
    Error::Store(e.to_string())
}

/// A connection, and its statements' texts as SQLite numbers them.
pub(super) struct Connection {
    pub(super) inner: rusqlite::Connection,
    numbered: HashMap<&'static str, String>,
}

impl Connection {
    /// Wraps an open connection.
    pub(super) fn new(inner: rusqlite::Connection) -> Self {
        inner.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Self {
            inner,
            numbered: HashMap::new(),
        }
    }

    /// Statements each on their own.
    pub(super) fn session(&mut self) -> SqliteSession<'_> {
        SqliteSession {
            c: &self.inner,
            numbered: &mut self.numbered,
        }
    }

    /// Runs `work` in one transaction begun with `behavior`.
    pub(super) fn transaction<T>(
        &mut self,
        behavior: TransactionBehavior,
        work: impl FnOnce(&mut dyn Session) -> Result<End<T>>,
    ) -> Result<T> {
        let t = self
            .inner
            .transaction_with_behavior(behavior)
            .map_err(store_error)?;
        let end = work(&mut SqliteSession {
            c: &t,
            numbered: &mut self.numbered,
        })?;
        end.finish(|| t.commit().map_err(store_error))
    }
}

/// Statements on one connection, in its transaction if it is in one.
pub(super) struct SqliteSession<'c> {
    c: &'c rusqlite::Connection,
    numbered: &'c mut HashMap<&'static str, String>,
}

impl<'c> SqliteSession<'c> {
    fn prepare(&mut self, sql: Sql) -> Result<CachedStatement<'c>> {
        let text = self.numbered.entry(sql).or_insert_with(|| numbered(sql));
        self.c.prepare_cached(text).map_err(store_error)
    }
}

impl Session for SqliteSession<'_> {
    fn select(&mut self, sql: Sql, args: &[Arg<'_>], visit: &mut Visit) -> Result<()> {
        let mut statement = self.prepare(sql)?;
        let mut rows = statement
            .query(params_from_iter(args))
            .map_err(store_error)?;
        while let Some(row) = rows.next().map_err(store_error)? {
            visit(row)?;
        }
        Ok(())
    }

    fn execute(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<usize> {
        self.prepare(sql)?
            .execute(params_from_iter(args))
            .map_err(store_error)
    }
}

impl Row for rusqlite::Row<'_> {
    row_getters!(get, store_error);
    fn byte(&self, column: usize) -> Result<u8> {
        self.get(column).map_err(store_error)
    }
    fn flag(&self, column: usize) -> Result<bool> {
        self.get::<_, i64>(column)
            .map(|value| value != 0)
            .map_err(store_error)
    }
}

impl ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Arg::Text(value) => value.to_sql(),
            Arg::OptText(value) => value.to_sql(),
            Arg::Int(value) => value.to_sql(),
            Arg::Small(value) => value.to_sql(),
            Arg::Flag(value) => value.to_sql(),
            Arg::OptBytes(value) => value.to_sql(),
        }
    }
}

/// A statement written with PostgreSQL's numbered parameters (`$1`) in SQLite's form (`?1`).
/// SQLite reads `$1` as a parameter *named* `$1`, numbered in order of first appearance, which
/// binds the wrong values wherever a statement names `$3` before `$1`; `?1` is numbered as
/// written.
pub(in crate::store) fn numbered(sql: &str) -> String {
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
