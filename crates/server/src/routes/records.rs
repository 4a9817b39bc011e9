//! `POST /v1/records/{org}` (ours, beside the XTrace API): chunks inserted, updated, patched and
//! deleted under one context, committed in one transaction with the owner's digest, or none of
//! it.
//! Write permission on the knowledge base; the context usable in it as an insert (which binds
//! it) or an update needs. [`crate::service::records`] does the work.

use std::sync::Arc;

use axum::extract::State;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::answer::Answer;
use super::cancellable::work_slot;
use super::chunks::MAX_CHUNKS_PER_REQUEST;
use super::context_access;
use super::{blocking, Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::auth::permission;
use crate::service::records::{self, RecordsRequest};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use paillier_gpu_api::RecordWrites;

/// POST /v1/records/{org}: [`RecordWrites`] → `{chunk_ids, version, next_chunk_id}`.
pub async fn write(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<RecordWrites>,
) -> ApiResult<Answer> {
    let _slot = work_slot(&state).await?;
    blocking(move || {
        let grant = caller.kb_access(&state, &body.kb_id, permission::WRITE)?;
        // Read only now that the caller may write.
        let insert = list(body.insert.as_deref(), "insert")?;
        let update = list(body.update.as_deref(), "update")?;
        let patch = list(body.patch.as_deref(), "patch")?;
        let pages: Vec<paillier_gpu_api::SentPage> = list(body.pages.as_deref(), "pages")?;
        // A page names up to PAGE_RECORDS chunks: counted as one here, its chunks bounded by
        // the body's size.
        let named = insert.len() + update.len() + patch.len() + body.delete.len() + pages.len();
        if named > MAX_CHUNKS_PER_REQUEST {
            return Err(ServiceError::too_large(format!(
                "{named} chunks inserted, updated, patched and deleted in one request; send at \
                 most {MAX_CHUNKS_PER_REQUEST}"
            ))
            .into());
        }
        // Chunks inserted under a context bind it to the knowledge base, as an insert does.
        let stored = if insert.is_empty() {
            context_access::usable_in_kb(&state, &caller, &grant, &body.context_id)?
        } else {
            context_access::bind(&state, &caller, &grant, &body.context_id)?
        };
        let request = RecordsRequest {
            digest: body.owner_digest,
            first_chunk_id: body.first_chunk_id,
            insert,
            update,
            patch,
            delete: body.delete,
            pages,
        };
        let written = records::write(
            &state,
            caller.org(),
            &body.kb_id,
            &body.context_id,
            &stored,
            request,
        )?;
        Answer::of(&written)
    })
    .await
}

/// A list field's items; an absent field is an empty list.
fn list<T: DeserializeOwned>(raw: Option<&RawValue>, field: &str) -> ServiceResult<Vec<T>> {
    match raw {
        None => Ok(Vec::new()),
        Some(raw) => serde_json::from_str(raw.get())
            .map_err(|e| ServiceError::bad_input(format!("{field}: {e}"))),
    }
}
