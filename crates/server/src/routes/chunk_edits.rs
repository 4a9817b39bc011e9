//! Changing stored chunks: `PUT /v1/chunk` replaces chunks whole (a new encrypted index
//! included), `PATCH /v1/chunk` changes some fields. Either makes the knowledge base's resident
//! indexes be rebuilt on their next search.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Map, Value};

use super::answer::Answer;
use super::cancellable::work_slot;
use super::chunks::check_meta_size;
use super::context_access::{self, no_context};
use super::{blocking, Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::service::pieces::{check_pieces, decode_pieces};
use crate::state::AppState;
use crate::store::ChunkPatch;

#[derive(Deserialize)]
pub struct UpdateBody {
    kb_id: String,
    context_id: String,
    /// Read once the caller may write (see [`changes`]).
    chunk_updates: Box<RawValue>,
}

#[derive(Deserialize)]
pub struct PatchBody {
    kb_id: String,
    context_id: String,
    chunk_patches: Box<RawValue>,
}

/// A chunk's new fields, by id.
#[derive(Deserialize)]
pub struct ChunkChange {
    chunk_id: i64,
    #[serde(default)]
    chunk_content: Option<String>,
    #[serde(default)]
    index: Option<Vec<String>>,
    #[serde(default)]
    meta_data: Option<Value>,
    #[serde(default)]
    name: Option<String>,
}

/// PUT /v1/chunk/{org}: every listed chunk replaced (all must exist).
pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<UpdateBody>,
) -> ApiResult<Answer> {
    let edit = Edit {
        kb_id: body.kb_id,
        context_id: body.context_id,
        sent: body.chunk_updates,
        whole: true,
    };
    let _slot = work_slot(&state).await?;
    blocking(move || edit.run(&state, &caller)).await
}

/// PATCH /v1/chunk/{org}: the given fields of every listed chunk (all must exist); `meta_data`
/// merges key by key.
pub async fn patch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<PatchBody>,
) -> ApiResult<Answer> {
    let edit = Edit {
        kb_id: body.kb_id,
        context_id: body.context_id,
        sent: body.chunk_patches,
        whole: false,
    };
    let _slot = work_slot(&state).await?;
    blocking(move || edit.run(&state, &caller)).await
}

/// An update (`whole`: every chunk replaced) or a patch of some chunks.
struct Edit {
    kb_id: String,
    context_id: String,
    sent: Box<RawValue>,
    whole: bool,
}

impl Edit {
    fn run(self, state: &AppState, caller: &Caller) -> ApiResult<Answer> {
        let done = if self.whole { "updated" } else { "patched" };
        let patches = changes(
            state,
            caller,
            &self.kb_id,
            &self.context_id,
            &self.sent,
            self.whole,
        )?;
        let ids = apply(state, &self.kb_id, &self.context_id, patches)?;
        Ok(Answer::json(json!({ done: ids.len(), "chunk_ids": ids })))
    }
}

/// The changes checked: the key may write, each index's ciphertexts belong to the context.
fn changes(
    state: &AppState,
    caller: &Caller,
    kb_id: &str,
    context_id: &str,
    sent: &RawValue,
    whole: bool,
) -> ApiResult<Vec<(i64, ChunkPatch)>> {
    caller.kb_access(state, kb_id, permission::WRITE)?;
    context_access::usable_in_kb(state, caller, kb_id, context_id)?;
    let sent: Vec<ChunkChange> = serde_json::from_str(sent.get())
        .map_err(|e| ApiError::bad_request(format!("the chunks' changes: {e}")))?;
    let context = state
        .public_context(caller.org(), context_id)?
        .ok_or_else(|| no_context(context_id))?;
    let shape = context.ciphertext_shape()?;
    let mut patches = Vec::with_capacity(sent.len());
    for change in sent {
        let what = format!("chunk {}", change.chunk_id);
        if whole && change.index.is_none() {
            return Err(ApiError::bad_request(format!(
                "{what}: an update carries the chunk's index"
            )));
        }
        let pieces = match &change.index {
            None => None,
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
                return Err(ApiError::bad_request(format!(
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

/// Writes the patches (all or none) to chunks stored under `context_id` and has the knowledge
/// base's indexes rebuilt. A chunk keeps the context it was inserted under: a patch naming
/// another is refused (409), since its ciphertexts would no longer be the context's.
pub fn apply(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    patches: Vec<(i64, ChunkPatch)>,
) -> ApiResult<Vec<i64>> {
    state.rewrite(kb_id, || {
        let found = state
            .store
            .patch_chunks(kb_id, context_id, &patches, true)?;
        if found.len() == patches.len() {
            return Ok(found);
        }
        let asked: Vec<i64> = patches.iter().map(|(id, _)| *id).collect();
        let elsewhere: Vec<(i64, String)> = state
            .store
            .chunk_contexts(kb_id, &asked)?
            .into_iter()
            .filter(|(_, context)| context != context_id)
            .collect();
        if let Some((id, context)) = elsewhere.first() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "chunk {id} is stored under execution context {context}, not {context_id}; \
                     a chunk keeps its context (delete it and insert it again to move it); \
                     nothing was changed"
                ),
            ));
        }
        let missing: Vec<i64> = asked.into_iter().filter(|id| !found.contains(id)).collect();
        Err(ApiError::not_found(format!(
            "no chunks {missing:?} in knowledge base {kb_id}; nothing was changed"
        )))
    })
}
