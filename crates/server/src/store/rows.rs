//! The store's row readers, one for each kind of row its statements select (the columns in the
//! order [`statements`](super::statements) names them).

use super::dialect::Row;
use super::{ApiKey, Chunk, IndexRow, KbVersion, KnowledgeBase, StoredContext};
use crate::error::Result;

/// A knowledge base from a row of `kb_columns!()`.
pub(super) fn kb_of(row: &dyn Row) -> Result<KnowledgeBase> {
    Ok(KnowledgeBase {
        id: row.text(0)?,
        org_id: row.text(1)?,
        name: row.text(2)?,
        description: row.text(3)?,
        chunks: row.int(4)?.max(0) as u64,
        created_at: row.text(5)?,
        updated_at: row.text(6)?,
    })
}

/// An API key from a row of `api_key_columns!()`.
pub(super) fn api_key_of(row: &dyn Row) -> Result<ApiKey> {
    Ok(ApiKey {
        hash: row.text(0)?,
        org_id: row.text(1)?,
        name: row.text(2)?,
        description: row.text(3)?,
        first_n: row.text(4)?,
        revoked: row.flag(5)?,
        created_at: row.text(6)?,
    })
}

/// A chunk from a row of `chunk_columns!()`.
pub(super) fn chunk_of(row: &dyn Row) -> Result<Chunk> {
    Ok(Chunk {
        kb_id: row.text(0)?,
        chunk_id: row.int(1)?,
        context_id: row.text(2)?,
        name: row.text(3)?,
        content: row.text(4)?,
        meta_data: row.text(5)?,
        pieces: row.bytes(6)?,
    })
}

/// An index row from a row of [`INDEX_ROWS`](super::statements::INDEX_ROWS).
pub(super) fn index_row_of(row: &dyn Row) -> Result<IndexRow> {
    Ok(IndexRow {
        chunk_id: row.int(0)?,
        meta_data: row.text(1)?,
        pieces: row.bytes(2)?,
    })
}

/// A version from a row of [`KB_VERSION`](super::statements::KB_VERSION).
pub(super) fn version_of(row: &dyn Row) -> Result<KbVersion> {
    Ok(KbVersion {
        version: row.int(0)?,
        rewritten: row.int(1)?,
    })
}

/// A stored context from a row of [`CONTEXT`](super::statements::CONTEXT).
pub(super) fn context_of(row: &dyn Row) -> Result<StoredContext> {
    Ok(StoredContext {
        data: row.text(0)?,
        creator_key: row.opt_text(1)?,
    })
}

/// The first column, as text.
pub(super) fn text_of(row: &dyn Row) -> Result<String> {
    row.text(0)
}

/// Nothing of the row: only that there was one.
pub(super) fn exists(_: &dyn Row) -> Result<()> {
    Ok(())
}
