//! The chunk statements of [`SqliteStore`](super::SqliteStore), each run in one transaction.

use super::numbered;
use crate::store::statements::*;
use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{
    now, Chunk, ChunkPatch, IndexRow, Inserted, KbVersion, NewChunk, MAX_META_BYTES,
};

/// Reads a knowledge base's version inside the caller's transaction or snapshot.
pub(super) fn kb_version(c: &Connection, kb_id: &str) -> rusqlite::Result<Option<KbVersion>> {
    c.query_row(&numbered(KB_VERSION), [kb_id], |r| {
        Ok(KbVersion {
            version: r.get(0)?,
            rewritten: r.get(1)?,
        })
    })
    .optional()
}

/// Marks a rewrite of the knowledge base (a delete or an edit) inside the caller's transaction.
fn rewrote(c: &Connection, kb_id: &str) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE kbs SET version = version + 1, rewritten = version + 1, updated_at = ?1 \
         WHERE id = ?2",
        params![now(), kb_id],
    )
    .map(drop)
}

pub(super) use crate::store::patches::{merged, Patched};

/// A chunk from a row of `chunk_columns!()`.
fn chunk_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<Chunk> {
    Ok(Chunk {
        kb_id: row.get(0)?,
        chunk_id: row.get(1)?,
        context_id: row.get(2)?,
        name: row.get(3)?,
        content: row.get(4)?,
        meta_data: row.get(5)?,
        pieces: row.get(6)?,
    })
}

/// The chunk table's columns, in [`chunk_of`]'s order.
pub(super) fn insert_chunks(
    c: &mut Connection,
    kb_id: &str,
    context_id: &str,
    context_data: &str,
    chunks: &[NewChunk],
) -> rusqlite::Result<Option<Inserted>> {
    // IMMEDIATE: the context's check and the insert are one write, with no other between.
    let t = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let Some((first, org_id, version)): Option<(i64, String, i64)> = t
        .query_row(
            "SELECT next_chunk_id, org_id, version FROM kbs WHERE id = ?1",
            [kb_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let stored: Option<String> = t
        .query_row(&numbered(CONTEXT_DATA), params![org_id, context_id], |r| {
            r.get(0)
        })
        .optional()?;
    if stored.as_deref() != Some(context_data) {
        return Ok(None);
    }
    t.execute(&numbered(BIND), params![org_id, kb_id, context_id])?;
    {
        let mut insert = t.prepare(concat!(
            "INSERT INTO chunks (",
            chunk_columns!(),
            ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
        ))?;
        for (offset, chunk) in chunks.iter().enumerate() {
            insert.execute(params![
                kb_id,
                first + offset as i64,
                context_id,
                chunk.name,
                chunk.content,
                chunk.meta_data,
                chunk.pieces
            ])?;
        }
    }
    let next = first + chunks.len() as i64;
    t.execute(
        &numbered(RECORD_INSERT),
        params![next, chunks.len() as i64, now(), version + 1, kb_id],
    )?;
    t.commit()?;
    Ok(Some(Inserted {
        ids: (first..next).collect(),
        version: version + 1,
    }))
}

pub(super) fn chunks_by_id(
    c: &mut Connection,
    kb_id: &str,
    ids: &[i64],
) -> rusqlite::Result<Vec<Chunk>> {
    let mut statement = c.prepare(concat!(
        "SELECT ",
        chunk_columns!(),
        " FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2"
    ))?;
    let mut found = Vec::new();
    for id in ids {
        if let Some(chunk) = statement
            .query_row(params![kb_id, id], chunk_of)
            .optional()?
        {
            found.push(chunk);
        }
    }
    Ok(found)
}

pub(super) fn chunk_contexts(
    c: &mut Connection,
    kb_id: &str,
    ids: &[i64],
) -> rusqlite::Result<Vec<(i64, String)>> {
    let mut statement =
        c.prepare("SELECT context_id FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2")?;
    let mut found = Vec::new();
    for &id in ids {
        if let Some(context) = statement
            .query_row(params![kb_id, id], |r| r.get::<_, String>(0))
            .optional()?
        {
            found.push((id, context));
        }
    }
    Ok(found)
}

pub(super) fn chunks_of(
    c: &mut Connection,
    kb_id: &str,
    context_id: &str,
) -> rusqlite::Result<Vec<Chunk>> {
    let mut statement = c.prepare(&numbered(CHUNKS_OF_CONTEXT))?;
    let rows = statement.query_map(params![kb_id, context_id], chunk_of)?;
    rows.collect()
}

/// Reads the index rows above `after` in pages, and the version they belong to, in one read
/// transaction; `visit` returns false to stop.
pub(super) fn index_rows(
    c: &mut Connection,
    kb_id: &str,
    context_id: &str,
    after: i64,
    page: usize,
    visit: &mut dyn FnMut(&[IndexRow]) -> bool,
) -> rusqlite::Result<KbVersion> {
    let t = c.transaction()?;
    let version = kb_version(&t, kb_id)?.unwrap_or_default();
    let mut statement = t.prepare(&numbered(INDEX_ROWS))?;
    let mut rows = statement.query(params![kb_id, context_id, after])?;
    let page = page.max(1);
    let mut held = Vec::with_capacity(page);
    while let Some(row) = rows.next()? {
        held.push(IndexRow {
            chunk_id: row.get(0)?,
            meta_data: row.get(1)?,
            pieces: row.get(2)?,
        });
        if held.len() == page {
            if !visit(&held) {
                return Ok(version);
            }
            held.clear();
        }
    }
    if !held.is_empty() {
        visit(&held);
    }
    Ok(version)
}

pub(super) fn patch_chunks(
    c: &mut Connection,
    kb_id: &str,
    context_id: &str,
    patches: &[(i64, ChunkPatch)],
    all_or_nothing: bool,
) -> rusqlite::Result<Patched> {
    let t = c.transaction()?;
    let mut found = Vec::new();
    {
        // A chunk keeps the context it was inserted under: one under another is not found.
        let mut read = t.prepare(&numbered(CHUNK_META))?;
        let mut write = t.prepare(&numbered(PATCH_CHUNK))?;
        for (id, patch) in patches {
            let Some(meta): Option<String> = read
                .query_row(params![kb_id, id, context_id], |r| r.get(0))
                .optional()?
            else {
                continue;
            };
            let meta = match &patch.meta_data {
                None => meta,
                Some(changes) => merged(&meta, changes),
            };
            if meta.len() > MAX_META_BYTES {
                return Ok(Patched::MetaTooLarge(*id, meta.len()));
            }
            write.execute(params![
                kb_id,
                id,
                patch.name,
                patch.content,
                meta,
                patch.pieces
            ])?;
            found.push(*id);
        }
    }
    if all_or_nothing && found.len() != patches.len() || found.is_empty() {
        return Ok(Patched::Ids(found));
    }
    rewrote(&t, kb_id)?;
    t.commit().map(|()| Patched::Ids(found))
}

pub(super) fn delete_chunks(
    c: &mut Connection,
    kb_id: &str,
    ids: &[i64],
) -> rusqlite::Result<usize> {
    let t = c.transaction()?;
    let mut deleted = 0;
    {
        let mut delete = t.prepare("DELETE FROM chunks WHERE kb_id = ?1 AND chunk_id = ?2")?;
        for id in ids {
            deleted += delete.execute(params![kb_id, id])?;
        }
    }
    if deleted == 0 {
        return Ok(0);
    }
    t.execute(
        "UPDATE kbs SET chunk_count = chunk_count - ?1 WHERE id = ?2",
        params![deleted as i64, kb_id],
    )?;
    rewrote(&t, kb_id)?;
    t.commit().map(|()| deleted)
}
