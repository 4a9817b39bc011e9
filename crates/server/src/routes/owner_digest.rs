//! The owner's digest of a knowledge base's records under one context (ours, beside the XTrace
//! API): read with read permission on the knowledge base, replaced by compare-and-set with write
//! permission; the context must be usable in the knowledge base as for a search or an edit.
//! [`crate::service::owner_digest`] does the work.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};

use super::answer::Answer;
use super::context_access;
use super::{blocking, Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::auth::permission;
use crate::service::owner_digest;
use crate::state::AppState;
use paillier_gpu_api::DigestWrite;

/// GET /v1/owner_digest/{org}/{kb}/{context_id}[?since=N]: `{version, sealed, next_chunk_id,
/// chunks}`, and with `since` the links of the versions after it (`links`, `more_links`).
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path((_, kb_id, context_id)): Path<(String, String, String)>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Answer> {
    blocking(move || {
        let grant = caller.kb_access(&state, &kb_id, permission::READ)?;
        context_access::usable_in_kb(&state, &caller, &grant, &context_id)?;
        let since = owner_digest::since_of(query.as_deref())?;
        let read = owner_digest::read(&state, &kb_id, &context_id, since)?;
        Answer::of(&read)
    })
    .await
}

/// PUT /v1/owner_digest/{org}/{kb}/{context_id}: `{expected_version, version, sealed}` →
/// `{version, next_chunk_id}`; a 409 with `current_version` and `next_chunk_id` when the stored
/// version is not the one expected.
pub async fn put(
    State(state): State<Arc<AppState>>,
    Path((_, kb_id, context_id)): Path<(String, String, String)>,
    caller: Caller,
    JsonBody(body): JsonBody<DigestWrite>,
) -> ApiResult<Answer> {
    blocking(move || {
        let grant = caller.kb_access(&state, &kb_id, permission::WRITE)?;
        context_access::usable_in_kb(&state, &caller, &grant, &context_id)?;
        Answer::of(&owner_digest::put(&state, &kb_id, &context_id, &body)?)
    })
    .await
}
