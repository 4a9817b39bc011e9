//! A PostgreSQL connection as the store's [`Session`]: a pooled client, or a transaction on one,
//! with each statement prepared once a session; batches as one statement over arrays, and long
//! reads a page at a time through a portal.

use std::collections::HashMap;

use r2d2_postgres::postgres::types::ToSql;
use r2d2_postgres::postgres::{Client, Statement, Transaction};

use super::store_error;
use crate::error::{Error, Result};
use crate::store::dialect::{row_getters, Arg, Row, Session, Sql, Visit};
use crate::store::statements::chunk_columns;
use crate::store::NewChunk;

/// What a session's statements run on.
pub(super) enum On<'c, 't> {
    /// Each statement on its own.
    Client(&'c mut Client),
    /// One transaction.
    Transaction(&'c mut Transaction<'t>),
}

/// Runs `$call` on the client or the transaction, whichever the session holds.
macro_rules! on {
    ($session:expr, $c:ident => $call:expr) => {
        match &mut $session.on {
            On::Client($c) => $call,
            On::Transaction($c) => $call,
        }
    };
}

/// Statements on one connection, and those prepared on it so far.
pub(super) struct PgSession<'c, 't> {
    on: On<'c, 't>,
    prepared: HashMap<&'static str, Statement>,
}

impl<'c, 't> PgSession<'c, 't> {
    pub(super) fn new(on: On<'c, 't>) -> Self {
        Self {
            on,
            prepared: HashMap::new(),
        }
    }

    /// `sql` prepared, once a session (a patch runs its two statements once a chunk).
    fn statement(&mut self, sql: Sql) -> Result<Statement> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = on!(self, c => c.prepare(sql)).map_err(store_error)?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }
}

/// The arguments as the driver binds them.
fn bound<'a>(args: &'a [Arg<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    args.iter()
        .map(|arg| -> &(dyn ToSql + Sync) {
            match arg {
                Arg::Text(value) => value,
                Arg::OptText(value) => value,
                Arg::Int(value) => value,
                Arg::Small(value) => value,
                Arg::Flag(value) => value,
                Arg::OptBytes(value) => value,
            }
        })
        .collect()
}

impl Session for PgSession<'_, '_> {
    fn select(&mut self, sql: Sql, args: &[Arg<'_>], visit: &mut Visit) -> Result<()> {
        let statement = self.statement(sql)?;
        let rows = on!(self, c => c.query(&statement, &bound(args))).map_err(store_error)?;
        rows.iter().try_for_each(|row| visit(row))
    }

    fn execute(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<usize> {
        let statement = self.statement(sql)?;
        let changed = on!(self, c => c.execute(&statement, &bound(args))).map_err(store_error)?;
        Ok(changed as usize)
    }

    fn select_paged(
        &mut self,
        sql: Sql,
        args: &[Arg<'_>],
        page: usize,
        visit: &mut Visit,
    ) -> Result<()> {
        // Through a portal, a page at a time, so that the rows are never all held at once.
        let On::Transaction(t) = &mut self.on else {
            return Err(Error::Store("a portal is read in a transaction".into()));
        };
        let portal = t.bind(sql, &bound(args)).map_err(store_error)?;
        let page = page.clamp(1, i32::MAX as usize);
        loop {
            let rows = t.query_portal(&portal, page as i32).map_err(store_error)?;
            rows.iter().try_for_each(|row| visit(row))?;
            if rows.len() < page {
                return Ok(());
            }
        }
    }

    fn select_ids(&mut self, sql: Sql, kb_id: &str, ids: &[i64], visit: &mut Visit) -> Result<()> {
        let rows = on!(self, c => c.query(sql, &[&kb_id, &ids])).map_err(store_error)?;
        rows.iter().try_for_each(|row| visit(row))
    }

    fn execute_ids(&mut self, sql: Sql, kb_id: &str, ids: &[i64]) -> Result<usize> {
        let changed = on!(self, c => c.execute(sql, &[&kb_id, &ids])).map_err(store_error)?;
        Ok(changed as usize)
    }

    fn insert_chunks(
        &mut self,
        kb_id: &str,
        context_id: &str,
        first: i64,
        chunks: &[NewChunk],
    ) -> Result<()> {
        let ids: Vec<i64> = (first..).take(chunks.len()).collect();
        let names: Vec<&str> = chunks.iter().map(|c| c.name.as_str()).collect();
        let contents: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
        let metas: Vec<&str> = chunks.iter().map(|c| c.meta_data.as_str()).collect();
        let pieces: Vec<&[u8]> = chunks.iter().map(|c| c.pieces.as_slice()).collect();
        let sql = concat!(
            "INSERT INTO chunks (",
            chunk_columns!(),
            ") SELECT $1, id, $2, name, content, meta, pieces \
             FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[]) \
             AS batch (id, name, content, meta, pieces)"
        );
        // One statement for the whole batch: one round trip however many chunks.
        let args: [&(dyn ToSql + Sync); 7] = [
            &kb_id,
            &context_id,
            &ids,
            &names,
            &contents,
            &metas,
            &pieces,
        ];
        on!(self, c => c.execute(sql, &args)).map_err(store_error)?;
        Ok(())
    }
}

/// A row's value of the wrong type (the schema is not this program's).
fn row_error(e: r2d2_postgres::postgres::Error) -> Error {
    Error::Store(format!("PostgreSQL: {e}"))
}

impl Row for r2d2_postgres::postgres::Row {
    row_getters!(try_get, row_error);
    fn byte(&self, column: usize) -> Result<u8> {
        let value: i16 = self.try_get(column).map_err(row_error)?;
        Ok(value.clamp(0, 255) as u8)
    }
    fn flag(&self, column: usize) -> Result<bool> {
        self.try_get(column).map_err(row_error)
    }
}
