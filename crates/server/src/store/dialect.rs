//! The seam between the one store (`sql_store`) and the two databases it runs on: what each
//! dialect writes its own way (its connections and transactions, its locks, its placeholders,
//! its batch statements) behind [`Dialect`], [`Session`] and [`Row`]; everything else is written
//! once over them.

use super::statements::INSERT_CHUNK;
use super::NewChunk;
use crate::error::Result;

/// A statement's text, written with numbered parameters (`$1`).
pub type Sql = &'static str;

/// What a read hands each selected row to; its error stops the read.
pub type Visit<'v> = dyn FnMut(&dyn Row) -> Result<()> + 'v;

/// A statement's parameter, as both dialects bind it.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// Text.
    Text(&'a str),
    /// Text, or NULL.
    OptText(Option<&'a str>),
    /// A 64-bit integer.
    Int(i64),
    /// A small integer (PostgreSQL's SMALLINT).
    Small(i16),
    /// A truth value (an integer 0 or 1 in SQLite).
    Flag(bool),
    /// Bytes, or NULL.
    OptBytes(Option<&'a [u8]>),
}

/// How a transaction begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Begin {
    /// A write transaction that takes its locks as its statements need them.
    Plain,
    /// A write whose first read already holds the database's write lock (SQLite's `IMMEDIATE`;
    /// PostgreSQL's statements lock their rows themselves).
    Write,
    /// A read of one consistent snapshot (SQLite's reader in a transaction; PostgreSQL's
    /// `REPEATABLE READ`, read only).
    Snapshot,
}

/// How a transaction ends: committed, or rolled back with its writes undone.
pub enum End<T> {
    /// Commit, then answer `T`.
    Commit(T),
    /// Roll back, then answer `T`.
    RollBack(T),
}

impl<T> End<T> {
    /// Ends a transaction: `commit` runs for [`End::Commit`]; a rolled-back one is only
    /// dropped (dropping a transaction rolls it back, in both drivers).
    pub fn finish(self, commit: impl FnOnce() -> Result<()>) -> Result<T> {
        match self {
            End::Commit(value) => commit().map(|()| value),
            End::RollBack(value) => Ok(value),
        }
    }
}

/// One selected row, its columns read by position. A value of the wrong type is an error.
pub trait Row {
    /// A text column.
    fn text(&self, column: usize) -> Result<String>;
    /// A text column that may be NULL.
    fn opt_text(&self, column: usize) -> Result<Option<String>>;
    /// An integer column.
    fn int(&self, column: usize) -> Result<i64>;
    /// A permission column, 0 to 255.
    fn byte(&self, column: usize) -> Result<u8>;
    /// A truth-value column.
    fn flag(&self, column: usize) -> Result<bool>;
    /// A bytes column.
    fn bytes(&self, column: usize) -> Result<Vec<u8>>;
}

/// The [`Row`] methods whose column types both dialects read alike, each value read by
/// `$get(column)` (a dialect's fallible getter) and its error mapped by `$error`.
macro_rules! row_getters {
    ($get:ident, $error:path) => {
        fn text(&self, column: usize) -> Result<String> {
            self.$get(column).map_err($error)
        }
        fn opt_text(&self, column: usize) -> Result<Option<String>> {
            self.$get(column).map_err($error)
        }
        fn int(&self, column: usize) -> Result<i64> {
            self.$get(column).map_err($error)
        }
        fn bytes(&self, column: usize) -> Result<Vec<u8>> {
            self.$get(column).map_err($error)
        }
    };
}
pub(super) use row_getters;

/// A connection, in a transaction or not, running statements written with numbered parameters
/// (`$1`, as in [`statements`](super::statements)). Its errors are the store's (each dialect
/// maps its own). The provided methods run a statement once per row or id, as any SQL database
/// can; a dialect with a batch form of one writes its own.
pub trait Session {
    /// Runs a statement that selects, handing each row to `visit` in turn; an error from
    /// `visit` stops the read and is returned.
    fn select(&mut self, sql: Sql, args: &[Arg<'_>], visit: &mut Visit) -> Result<()>;
    /// Runs a statement that writes; returns how many rows it changed.
    fn execute(&mut self, sql: Sql, args: &[Arg<'_>]) -> Result<usize>;

    /// [`select`](Self::select), its rows fetched at most `page` (at least one) at a time
    /// where the dialect fetches them in pages. Called in a [`Begin::Snapshot`].
    fn select_paged(
        &mut self,
        sql: Sql,
        args: &[Arg<'_>],
        _page: usize,
        visit: &mut Visit,
    ) -> Result<()> {
        self.select(sql, args, visit)
    }
    /// Runs a statement of knowledge base `$1` and chunk ids `$2` (one id, or all of them in
    /// the dialect's batch form), handing the rows it selects to `visit`.
    fn select_ids(&mut self, sql: Sql, kb_id: &str, ids: &[i64], visit: &mut Visit) -> Result<()> {
        ids.iter()
            .try_for_each(|&id| self.select(sql, &[Arg::Text(kb_id), Arg::Int(id)], visit))
    }
    /// Like [`select_ids`](Self::select_ids), for a statement that writes; returns how many
    /// rows it changed.
    fn execute_ids(&mut self, sql: Sql, kb_id: &str, ids: &[i64]) -> Result<usize> {
        let mut changed = 0;
        for &id in ids {
            changed += self.execute(sql, &[Arg::Text(kb_id), Arg::Int(id)])?;
        }
        Ok(changed)
    }
    /// Inserts `chunks` numbered on from `first`, under one context.
    fn insert_chunks(
        &mut self,
        kb_id: &str,
        context_id: &str,
        first: i64,
        chunks: &[NewChunk],
    ) -> Result<()> {
        for (id, chunk) in (first..).zip(chunks) {
            let row = [
                Arg::Text(kb_id),
                Arg::Int(id),
                Arg::Text(context_id),
                Arg::Text(&chunk.name),
                Arg::Text(&chunk.content),
                Arg::Text(&chunk.meta_data),
                Arg::OptBytes(Some(&chunk.pieces)),
            ];
            self.execute(INSERT_CHUNK, &row)?;
        }
        Ok(())
    }
}

impl dyn Session + '_ {
    /// Every row `sql` selects, each read by `row_of`.
    pub fn all<T>(
        &mut self,
        sql: Sql,
        args: &[Arg<'_>],
        row_of: impl Fn(&dyn Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut found = Vec::new();
        self.select(sql, args, &mut |row| {
            found.push(row_of(row)?);
            Ok(())
        })?;
        Ok(found)
    }

    /// The row `sql` selects (its first, where a key names one), or none.
    pub fn one<T>(
        &mut self,
        sql: Sql,
        args: &[Arg<'_>],
        row_of: impl Fn(&dyn Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut found = None;
        self.select(sql, args, &mut |row| {
            if found.is_none() {
                found = Some(row_of(row)?);
            }
            Ok(())
        })?;
        Ok(found)
    }
}

/// A database the store runs on: how it hands out sessions, and the statements it writes its
/// own way (each with the parameters of the statement it stands for, numbered alike).
pub trait Dialect: Send + Sync {
    /// `(next_chunk_id, org_id, version)` of knowledge base `$1`, read for a chunk write (and
    /// its row locked until the transaction ends where writers may run at once).
    const KB_FOR_WRITE: Sql;
    /// True where the database lets one writer in at a time: a rewrite of chunks then need not
    /// lock its knowledge base first.
    const ONE_WRITER: bool;
    /// `data` of context `$2` of organisation `$1`, read by an insert of chunks under it (and
    /// held against its deletion until the transaction ends).
    const CONTEXT_FOR_INSERT: Sql;
    /// Selects a row when context `$2` of organisation `$1` is stored, before a binding to it
    /// (held against its deletion until the transaction ends).
    const CONTEXT_FOR_BIND: Sql;
    /// Locks context `$2` of organisation `$1` for its deletion, selecting a row when it is
    /// stored; `None` where the transaction's own lock serialises deletions and inserts.
    const CONTEXT_FOR_DELETE: Option<Sql>;
    /// The chunks (`chunk_columns!()`) of knowledge base `$1` and ids `$2`, for
    /// [`Session::select_ids`].
    const CHUNKS_BY_ID: Sql;
    /// `(chunk_id, context_id)` of the chunks of knowledge base `$1` and ids `$2`.
    const CHUNK_CONTEXTS: Sql;
    /// Deletes the chunks of knowledge base `$1` and ids `$2`, for [`Session::execute_ids`].
    const DELETE_CHUNKS: Sql;
    /// Deletes the pages of sealed vectors holding the chunks of knowledge base `$1` and ids
    /// `$2`, for [`Session::execute_ids`].
    const DROP_PAGES_OF: Sql;
    /// The chunks of knowledge base `$1` on the pages holding chunks `$2`, for
    /// [`Session::select_ids`].
    const PAGE_MATES: Sql;
    /// The page numbers (`page_no`, none where a chunk has no page) of the chunks of knowledge
    /// base `$1` and ids `$2`, for [`Session::select_ids`].
    const PAGE_NOS_OF: Sql;
    /// Inserts a context (`$1` to `$5` of [`INSERT_CONTEXT`](super::statements::INSERT_CONTEXT))
    /// unless its id is stored, before anything is read, where writers of one id may race: one
    /// inserts, the others wait for it, then find its row. `None` where the one writer reads
    /// first, then inserts.
    const INSERT_CONTEXT_FIRST: Option<Sql>;
    /// Serialises key creations of organisation `$1` until the transaction ends; `None` where
    /// the database's one writer does.
    const KEY_CREATION_LOCK: Option<Sql>;

    /// Runs `work` on a connection that reads, each statement on its own.
    fn read<T>(&self, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T>;
    /// Runs `work` on a connection that writes, each statement committed on its own.
    fn write<T>(&self, work: impl FnOnce(&mut dyn Session) -> Result<T>) -> Result<T>;
    /// Runs `work` in one transaction, ended as it answers; an error rolls it back.
    fn transaction<T>(
        &self,
        begin: Begin,
        work: impl FnOnce(&mut dyn Session) -> Result<End<T>>,
    ) -> Result<T>;
}
