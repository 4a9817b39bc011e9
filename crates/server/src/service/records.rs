//! Record writes that commit with the owner's digest: inserts, updates, patches and deletes
//! under one context and the digest's compare-and-set, in one store transaction, or none of it.
//! The chunks are checked as an insert, an update and a patch (`PATCH /v1/chunk`) check them;
//! the resident indexes follow as after those writes: an append-only batch is appended to a
//! current index, any other is a rewrite.

use std::collections::HashSet;

use super::edits::{change_of, changes, changes_of, ChunkChange};
use super::ingest::{checked_chunks_of, committed as stored_chunks};
use super::owner_digest::{committed, swap_of};
use super::sealed::checked_pages;
use crate::resident::{context_digest, Change, Committed};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{RecordBatch, StoredContext};
use paillier_gpu_api::{self as api, Chunk as SentChunk};

/// A records write as the route read it: the lists parsed, nothing checked yet.
pub struct RecordsRequest {
    /// The digest's compare-and-set.
    pub digest: api::DigestWrite,
    /// The id the first inserted chunk must get.
    pub first_chunk_id: Option<i64>,
    /// Chunks to insert, in order.
    pub insert: Vec<SentChunk>,
    /// Chunks replaced whole (each with its index).
    pub update: Vec<ChunkChange>,
    /// Chunks changed in the fields given (typically their metadata, merged key by key).
    pub patch: Vec<ChunkChange>,
    /// Chunks to delete.
    pub delete: Vec<i64>,
    /// Pages of sealed vectors.
    pub pages: Vec<api::SentPage>,
}

/// Writes `request` to knowledge base `kb_id` under context `context_id` of `org` (`stored`, as
/// the store held it when the caller was checked): every inserted and updated index checked
/// against the context's key first, then one transaction. The ids inserted, the digest's
/// version and the next chunk id.
pub fn write(
    state: &AppState,
    org: &str,
    kb_id: &str,
    context_id: &str,
    stored: &StoredContext,
    request: RecordsRequest,
) -> ServiceResult<api::RecordsWritten> {
    let swap = swap_of(&request.digest)?;
    check_ids(&request)?;
    let context = state.open_public(org, context_id, &stored.data)?;
    let insert = if request.insert.is_empty() {
        Vec::new()
    } else {
        checked_chunks_of(&context, request.insert, true)?
    };
    let mut update = if request.update.is_empty() {
        Vec::new()
    } else {
        changes_of(&context, request.update, true, true)?
    };
    let pages = checked_pages(
        &context,
        request.pages,
        request.first_chunk_id,
        &insert,
        &update,
    )?;
    if !request.patch.is_empty() {
        // The store applies an update and a patch alike: the fields given, metadata merged.
        update.extend(changes(&context, request.patch, false)?);
    }
    let batch = RecordBatch {
        first_chunk_id: request.first_chunk_id,
        insert,
        update,
        delete: request.delete,
        pages,
    };
    let commit = |batch: &RecordBatch| -> ServiceResult<(Vec<i64>, i64, i64)> {
        let written = state
            .store
            .write_records(kb_id, context_id, &stored.data, &swap, batch)?;
        committed(written, kb_id, context_id)
    };
    let mut next_chunk_id = 0;
    let chunk_ids = if !batch.update.is_empty() || !batch.delete.is_empty() {
        // The knowledge base's indexes follow the deletes and patches once they commit, as
        // after an edit; an insert in the same commit has them rebuilt.
        let (ids, _, next) = state.indexes.rewrite(kb_id, || {
            let written = commit(&batch)?;
            let change = match batch.insert.is_empty() {
                true => change_of(&batch.update, &batch.delete),
                false => Change::Undescribed,
            };
            Ok::<_, ServiceError>((written, change))
        })?;
        next_chunk_id = next;
        ids
    } else if !batch.insert.is_empty() {
        // An append: a current index takes the chunks as after an insert.
        let digest = context_digest(&stored.data);
        state.indexes.insert(kb_id, context_id, digest, || {
            let (ids, kb_version, next) = commit(&batch)?;
            next_chunk_id = next;
            Ok::<_, ServiceError>(Committed {
                version: kb_version,
                chunks: stored_chunks(kb_id, context_id, batch.insert, &ids),
            })
        })?
    } else {
        // The digest alone: no chunk changes, no index to follow.
        let (ids, _, next) = commit(&batch)?;
        next_chunk_id = next;
        ids
    };
    Ok(api::RecordsWritten {
        chunk_ids,
        version: swap.version,
        next_chunk_id,
    })
}

/// An error unless `first_chunk_id` is given exactly when chunks are inserted, and no id is
/// named twice among the updates, patches and deletes.
fn check_ids(request: &RecordsRequest) -> ServiceResult<()> {
    match (request.insert.is_empty(), request.first_chunk_id) {
        (false, None) => {
            return Err(ServiceError::bad_input(
                "first_chunk_id: required when chunks are inserted",
            ))
        }
        (true, Some(_)) => {
            return Err(ServiceError::bad_input(
                "first_chunk_id: given, but no chunk is inserted",
            ))
        }
        _ => {}
    }
    let mut seen = HashSet::new();
    let changed = request.update.iter().chain(&request.patch);
    let named = (changed.map(|u| u.chunk_id)).chain(request.delete.iter().copied());
    for id in named {
        if !seen.insert(id) {
            return Err(ServiceError::bad_input(format!(
                "chunk {id} is named twice among the updates, patches and deletes"
            )));
        }
    }
    Ok(())
}
