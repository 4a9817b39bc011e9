//! Changing stored chunks: `PUT /v1/chunk` replaces chunks whole (a new encrypted index
//! included), `PATCH /v1/chunk` changes some fields. Either makes the knowledge base's resident
//! indexes be rebuilt on their next search ([`crate::service::edits`] does the work).

use std::sync::Arc;

use axum::extract::State;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;

use super::answer::Answer;
use super::cancellable::work_slot;
use super::context_access;
use super::{blocking, Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::auth::permission;
use crate::service::edits::{self, ChunkChange};
use crate::service::ServiceError;
use crate::state::AppState;

#[derive(Deserialize)]
pub struct UpdateBody {
    kb_id: String,
    context_id: String,
    /// Read once the caller may write (see [`Edit::run`]).
    chunk_updates: Box<RawValue>,
}

#[derive(Deserialize)]
pub struct PatchBody {
    kb_id: String,
    context_id: String,
    chunk_patches: Box<RawValue>,
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
    /// Checks that the caller may write the knowledge base and use the context in it, reads
    /// the changes, and has the service check and apply them.
    fn run(self, state: &AppState, caller: &Caller) -> ApiResult<Answer> {
        let done = if self.whole { "updated" } else { "patched" };
        let grant = caller.kb_access(state, &self.kb_id, permission::WRITE)?;
        let stored = context_access::usable_in_kb(state, caller, &grant, &self.context_id)?;
        let sent: Vec<ChunkChange> = serde_json::from_str(self.sent.get())
            .map_err(|e| ServiceError::bad_input(format!("the chunks' changes: {e}")))?;
        let context = state.open_public(caller.org(), &self.context_id, &stored.data)?;
        let ids = edits::edit(
            state,
            &self.kb_id,
            &self.context_id,
            &context,
            sent,
            self.whole,
        )?;
        Ok(Answer::json(json!({ done: ids.len(), "chunk_ids": ids })))
    }
}
