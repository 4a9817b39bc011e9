//! Edits by chunk id: updates (every listed chunk replaced whole, a new encrypted index
//! included), patches (some fields), deletes. Each is all or none. The knowledge base's resident
//! indexes follow a delete or a patch in place; a new encrypted index has them rebuilt on
//! their next search.

use serde_json::{Map, Value};

use super::ingest::check_meta_size;
use super::pieces::{check_pieces, decode_pieces};
use crate::resident::{Change, Rewrite};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::ChunkPatch;
use paillier_gpu::PublicContext;

/// A chunk's new fields, by id: the API's update item, which the client writes too.
pub use paillier_gpu_api::ChunkUpdate as ChunkChange;

/// Updates (`whole`: every chunk replaced, its index included) or patches the chunks of
/// knowledge base `kb_id` stored under context `context_id` (`context`, its public part), each
/// index's ciphertexts checked against the context's key first; all or none. The ids changed.
pub fn edit(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    context: &PublicContext,
    sent: Vec<ChunkChange>,
    whole: bool,
) -> ServiceResult<Vec<i64>> {
    let patches = changes(context, sent, whole)?;
    apply(state, kb_id, context_id, patches)
}

/// Deletes the chunks `ids` of knowledge base `kb_id` (those stored; others are skipped), its
/// indexes following. How many were deleted.
pub fn delete_by_id(state: &AppState, kb_id: &str, ids: &[i64]) -> ServiceResult<usize> {
    Ok(state.indexes.rewrite(kb_id, || {
        let deleted = state.store.delete_chunks(kb_id, ids)?;
        let change = match deleted {
            0 => Change::Nothing,
            _ => Change::Described(Rewrite {
                deleted: ids.to_vec(),
                patched: Vec::new(),
            }),
        };
        Ok::<_, crate::error::Error>((deleted, change))
    })?)
}

/// What the indexes follow of committed `patches` and `deleted`: the deletes and the
/// metadata, unless a patch carries new ciphertexts (then the indexes are rebuilt).
pub(super) fn change_of(patches: &[(i64, ChunkPatch)], deleted: &[i64]) -> Change {
    if patches.is_empty() && deleted.is_empty() {
        return Change::Nothing;
    }
    if patches.iter().any(|(_, patch)| patch.pieces.is_some()) {
        return Change::Undescribed;
    }
    Change::Described(Rewrite {
        deleted: deleted.to_vec(),
        patched: patches.iter().map(|(id, _)| *id).collect(),
    })
}

/// The changes checked: each index's ciphertexts belong to the context (and, `whole`, each
/// carries one).
pub(super) fn changes(
    context: &PublicContext,
    sent: Vec<ChunkChange>,
    whole: bool,
) -> ServiceResult<Vec<(i64, ChunkPatch)>> {
    changes_of(context, sent, whole, false)
}

/// [`changes`], where an update may also carry an empty `index`: its vector is sealed in a
/// page the same write sends (the caller checks that one does).
pub(super) fn changes_of(
    context: &PublicContext,
    sent: Vec<ChunkChange>,
    whole: bool,
    sealed_ok: bool,
) -> ServiceResult<Vec<(i64, ChunkPatch)>> {
    let shape = context.try_ciphertext_shape()?;
    let mut patches = Vec::with_capacity(sent.len());
    for change in sent {
        let what = format!("chunk {}", change.chunk_id);
        if whole && change.index.is_none() {
            return Err(ServiceError::bad_input(format!(
                "{what}: an update carries the chunk's index"
            )));
        }
        let pieces = match &change.index {
            None => None,
            Some(index) if sealed_ok && index.is_empty() => Some(Vec::new()),
            Some(index) => {
                let record = decode_pieces(index, shape, &what)?;
                check_pieces(context.public_key(), shape, &record, &what)?;
                Some(record)
            }
        };
        let meta_data: Option<Map<String, Value>> = match change.meta_data {
            None => None,
            Some(Value::Object(map)) => {
                check_meta_size(&Value::Object(map.clone()).to_string(), &what)?;
                Some(map)
            }
            Some(_) => {
                return Err(ServiceError::bad_input(format!(
                    "{what}: meta_data is not an object"
                )))
            }
        };
        patches.push((
            change.chunk_id,
            ChunkPatch {
                name: change.name,
                content: change.chunk_content,
                meta_data,
                pieces,
            },
        ));
    }
    Ok(patches)
}

/// Writes the patches (all or none) to chunks stored under `context_id`, the knowledge base's
/// indexes following (see [`change_of`]). A chunk keeps the context it was inserted under: a
/// patch naming another is refused (409), since its ciphertexts would no longer be the
/// context's.
pub fn apply(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    patches: Vec<(i64, ChunkPatch)>,
) -> ServiceResult<Vec<i64>> {
    state.indexes.rewrite(kb_id, || {
        let found = state
            .store
            .patch_chunks(kb_id, context_id, &patches, true)?;
        if found.len() == patches.len() {
            return Ok((found, change_of(&patches, &[])));
        }
        let asked: Vec<i64> = patches.iter().map(|(id, _)| *id).collect();
        let elsewhere: Vec<(i64, String)> = state
            .store
            .chunk_contexts(kb_id, &asked)?
            .into_iter()
            .filter(|(_, context)| context != context_id)
            .collect();
        if let Some((id, context)) = elsewhere.first() {
            return Err(ServiceError::conflict(format!(
                "chunk {id} is stored under execution context {context}, not {context_id}; \
                     a chunk keeps its context (delete it and insert it again to move it); \
                     nothing was changed"
            )));
        }
        let missing: Vec<i64> = asked.into_iter().filter(|id| !found.contains(id)).collect();
        Err(ServiceError::not_found(format!(
            "no chunks {missing:?} in knowledge base {kb_id}; nothing was changed"
        )))
    })
}
