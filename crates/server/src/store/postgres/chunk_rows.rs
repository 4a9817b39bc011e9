//! The chunk statements of [`PostgresStore`](super::PostgresStore). Every write locks its
//! knowledge base's row first (`FOR UPDATE`): writers of one knowledge base, on any replica,
//! commit one after another, so ids and versions follow the commit order, and no two writes
//! can deadlock on its chunks.

use crate::store::statements::*;
use std::collections::HashMap;

use r2d2_postgres::postgres::{Client, Error, Row, Transaction};

use crate::store::patches::{merged, Patched};
use crate::store::{
    now, Chunk, ChunkPatch, IndexRow, Inserted, KbVersion, NewChunk, MAX_META_BYTES,
};

/// The chunk table's columns, in [`chunk_of`]'s order.
fn chunk_of(row: &Row) -> Chunk {
    Chunk {
        kb_id: row.get(0),
        chunk_id: row.get(1),
        context_id: row.get(2),
        name: row.get(3),
        content: row.get(4),
        meta_data: row.get(5),
        pieces: row.get(6),
    }
}

/// Locks the knowledge base's row until the transaction ends: `(next_chunk_id, org_id,
/// version)`, or `None` when it does not exist.
fn lock_kb(t: &mut Transaction<'_>, kb_id: &str) -> Result<Option<(i64, String, i64)>, Error> {
    Ok(t.query_opt(
        "SELECT next_chunk_id, org_id, version FROM kbs WHERE id = $1 FOR UPDATE",
        &[&kb_id],
    )?
    .map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// Marks a rewrite (a delete or an edit) of the locked knowledge base.
fn rewrote(t: &mut Transaction<'_>, kb_id: &str, removed: i64) -> Result<(), Error> {
    t.execute(
        "UPDATE kbs SET version = version + 1, rewritten = version + 1, \
         chunk_count = chunk_count - $1, updated_at = $2 WHERE id = $3",
        &[&removed, &now(), &kb_id],
    )
    .map(drop)
}

pub(super) fn kb_version(c: &mut Client, kb_id: &str) -> Result<Option<KbVersion>, Error> {
    Ok(c.query_opt(KB_VERSION, &[&kb_id])?.map(|r| KbVersion {
        version: r.get(0),
        rewritten: r.get(1),
    }))
}

pub(super) fn insert_chunks(
    c: &mut Client,
    kb_id: &str,
    context_id: &str,
    context_data: &str,
    chunks: &[NewChunk],
) -> Result<Option<Inserted>, Error> {
    let mut t = c.transaction()?;
    let Some((first, org_id, version)) = lock_kb(&mut t, kb_id)? else {
        return Ok(None);
    };
    // FOR SHARE: a delete of the context waits for this insert, then sees its chunks.
    let stored: Option<String> = t
        .query_opt(
            "SELECT data FROM contexts WHERE org_id = $1 AND context_id = $2 FOR SHARE",
            &[&org_id, &context_id],
        )?
        .map(|r| r.get(0));
    if stored.as_deref() != Some(context_data) {
        return Ok(None);
    }
    t.execute(BIND, &[&org_id, &kb_id, &context_id])?;
    let next = first + chunks.len() as i64;
    let ids: Vec<i64> = (first..next).collect();
    let names: Vec<&str> = chunks.iter().map(|c| c.name.as_str()).collect();
    let contents: Vec<&str> = chunks.iter().map(|c| c.content.as_str()).collect();
    let metas: Vec<&str> = chunks.iter().map(|c| c.meta_data.as_str()).collect();
    let pieces: Vec<&[u8]> = chunks.iter().map(|c| c.pieces.as_slice()).collect();
    // One statement for the whole batch: one round trip however many chunks.
    t.execute(
        concat!(
            "INSERT INTO chunks (",
            chunk_columns!(),
            ") SELECT $1, id, $2, name, content, meta, pieces \
             FROM UNNEST($3::bigint[], $4::text[], $5::text[], $6::text[], $7::bytea[]) \
             AS batch (id, name, content, meta, pieces)"
        ),
        &[
            &kb_id,
            &context_id,
            &ids,
            &names,
            &contents,
            &metas,
            &pieces,
        ],
    )?;
    t.execute(
        RECORD_INSERT,
        &[
            &next,
            &(chunks.len() as i64),
            &now(),
            &(version + 1),
            &kb_id,
        ],
    )?;
    t.commit()?;
    Ok(Some(Inserted {
        ids,
        version: version + 1,
    }))
}

pub(super) fn chunks_by_id(c: &mut Client, kb_id: &str, ids: &[i64]) -> Result<Vec<Chunk>, Error> {
    let rows = c.query(
        concat!(
            "SELECT ",
            chunk_columns!(),
            " FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2) ORDER BY chunk_id"
        ),
        &[&kb_id, &ids],
    )?;
    let by_id: HashMap<i64, Chunk> = rows.iter().map(|r| (r.get(1), chunk_of(r))).collect();
    Ok(in_asked_order(ids, &by_id))
}

pub(super) fn chunk_contexts(
    c: &mut Client,
    kb_id: &str,
    ids: &[i64],
) -> Result<Vec<(i64, String)>, Error> {
    let rows = c.query(
        "SELECT chunk_id, context_id FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2)",
        &[&kb_id, &ids],
    )?;
    let by_id: HashMap<i64, (i64, String)> = rows
        .iter()
        .map(|r| (r.get(0), (r.get(0), r.get(1))))
        .collect();
    Ok(in_asked_order(ids, &by_id))
}

/// What was found of `ids`, in the order asked for (repeats included), as the SQLite store
/// answers.
fn in_asked_order<T: Clone>(ids: &[i64], found: &HashMap<i64, T>) -> Vec<T> {
    ids.iter().filter_map(|id| found.get(id).cloned()).collect()
}

pub(super) fn chunks_of(
    c: &mut Client,
    kb_id: &str,
    context_id: &str,
) -> Result<Vec<Chunk>, Error> {
    let rows = c.query(CHUNKS_OF_CONTEXT, &[&kb_id, &context_id])?;
    Ok(rows.iter().map(chunk_of).collect())
}

/// Reads the index rows above `after` a page at a time through a portal, and the version they
/// belong to, in one snapshot; `visit` returns false to stop.
pub(super) fn index_rows(
    c: &mut Client,
    kb_id: &str,
    context_id: &str,
    after: i64,
    page: usize,
    visit: &mut dyn FnMut(&[IndexRow]) -> bool,
) -> Result<KbVersion, Error> {
    let mut t = c
        .build_transaction()
        .isolation_level(r2d2_postgres::postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let version = t
        .query_opt(KB_VERSION, &[&kb_id])?
        .map(|r| KbVersion {
            version: r.get(0),
            rewritten: r.get(1),
        })
        .unwrap_or_default();
    let portal = t.bind(INDEX_ROWS, &[&kb_id, &context_id, &after])?;
    let page = page.clamp(1, i32::MAX as usize);
    loop {
        let rows = t.query_portal(&portal, page as i32)?;
        if rows.is_empty() {
            break;
        }
        let held: Vec<IndexRow> = rows
            .iter()
            .map(|r| IndexRow {
                chunk_id: r.get(0),
                meta_data: r.get(1),
                pieces: r.get(2),
            })
            .collect();
        if !visit(&held) || rows.len() < page {
            break;
        }
    }
    t.commit()?;
    Ok(version)
}

pub(super) fn delete_chunks(c: &mut Client, kb_id: &str, ids: &[i64]) -> Result<usize, Error> {
    let mut t = c.transaction()?;
    if lock_kb(&mut t, kb_id)?.is_none() {
        return Ok(0);
    }
    let deleted = t.execute(
        "DELETE FROM chunks WHERE kb_id = $1 AND chunk_id = ANY($2)",
        &[&kb_id, &ids],
    )?;
    if deleted == 0 {
        return Ok(0);
    }
    rewrote(&mut t, kb_id, deleted as i64)?;
    t.commit()?;
    Ok(deleted as usize)
}

pub(super) fn patch_chunks(
    c: &mut Client,
    kb_id: &str,
    context_id: &str,
    patches: &[(i64, ChunkPatch)],
    all_or_nothing: bool,
) -> Result<Patched, Error> {
    let mut t = c.transaction()?;
    if lock_kb(&mut t, kb_id)?.is_none() {
        return Ok(Patched::Ids(Vec::new()));
    }
    let read = t.prepare(CHUNK_META)?;
    let write = t.prepare(PATCH_CHUNK)?;
    let mut found = Vec::new();
    for (id, patch) in patches {
        // A chunk keeps the context it was inserted under: one under another is not found.
        let Some(row) = t.query_opt(&read, &[&kb_id, id, &context_id])? else {
            continue;
        };
        let meta: String = row.get(0);
        let meta = match &patch.meta_data {
            None => meta,
            Some(changes) => merged(&meta, changes),
        };
        if meta.len() > MAX_META_BYTES {
            return Ok(Patched::MetaTooLarge(*id, meta.len()));
        }
        t.execute(
            &write,
            &[
                &kb_id,
                id,
                &patch.name,
                &patch.content,
                &meta,
                &patch.pieces,
            ],
        )?;
        found.push(*id);
    }
    if all_or_nothing && found.len() != patches.len() || found.is_empty() {
        return Ok(Patched::Ids(found));
    }
    rewrote(&mut t, kb_id, 0)?;
    t.commit()?;
    Ok(Patched::Ids(found))
}
