//! compute_hamming: the query times every selected record of a knowledge base's resident index.
//! `range` (chunk ids, both ends included) and `meta_filter` choose which records are aggregated;
//! the answer lists `[pieces, chunk_id]` for each, as msgpack (pieces as little-endian bytes)
//! unless the client accepts only JSON (pieces as integers).

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::cancellable::{cancellable, work_slot};
use super::context_access;
use super::hamming_answer as answer;
use super::{Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::filter::Filter;
use crate::service::search;
use crate::service::ServiceError;
use crate::state::AppState;
use paillier_gpu_api::ComputeHamming;

/// The most ciphertext pieces a query may carry.
pub const MAX_QUERY_PIECES: usize = 4096;

/// POST /v1/compute_hamming/{org}.
pub async fn compute(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ComputeHamming>,
) -> ApiResult<Response> {
    let json_only = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("msgpack"));
    // Held until the answer is written: the responses are memory until then.
    let slot = work_slot(&state).await?;
    let (responses, chunk_ids, width) =
        cancellable(state.metrics.abandoned_counter(), move |cancel| {
            let grant = caller.kb_access(&state, &body.kb_id, permission::READ)?;
            if body.query.len() > MAX_QUERY_PIECES {
                return Err(ServiceError::bad_input(format!(
                    "the query has {} pieces; at most {MAX_QUERY_PIECES}",
                    body.query.len()
                ))
                .into());
            }
            let sent: Option<Value> = body
                .meta_filter
                .as_ref()
                .map(|raw| serde_json::from_str(raw.get()))
                .transpose()
                .map_err(|e| ServiceError::bad_input(format!("meta_filter: {e}")))?;
            let filter = sent
                .as_ref()
                .filter(|f| !f.is_null())
                .map(Filter::parse_sent)
                .transpose()
                .map_err(ServiceError::bad_input)?;
            let range = match body.range.as_deref() {
                None => None,
                Some([low, high]) if low <= high => Some((*low, *high)),
                Some(_) => {
                    return Err(
                        ServiceError::bad_input("range is [first chunk id, last chunk id]").into(),
                    )
                }
            };
            // Resident slots only for contexts that exist: an unknown id costs nothing.
            let stored =
                match context_access::usable_in_kb(&state, &caller, &grant, &body.context_id) {
                    Ok(stored) => stored,
                    Err(refused) => {
                        // Deleted through another replica: this one's index of it goes too (the
                        // caller may read the knowledge base, so the index is its organisation's).
                        if state
                            .store
                            .context(caller.org(), &body.context_id)?
                            .is_none()
                        {
                            state.indexes.forget_index(&body.kb_id, &body.context_id);
                        }
                        return Err(refused.into());
                    }
                };
            let found = search::compute_hamming(
                &state,
                caller.org(),
                &stored,
                &search::Query {
                    kb_id: &body.kb_id,
                    context_id: &body.context_id,
                    pieces: &body.query,
                    filter: filter.as_ref(),
                    range,
                },
                cancel,
            )?;
            Ok((found.responses, found.chunk_ids, found.width))
        })
        .await?;
    // The index is free again: the answer is written from the responses, a block at a time.
    let (content_type, body) = if json_only {
        (
            "application/json",
            answer::json(responses, chunk_ids, width, slot),
        )
    } else {
        (
            "application/x-msgpack",
            answer::msgpack(responses, chunk_ids, width, slot),
        )
    };
    Response::builder()
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .map_err(|e| ApiError::Answer(e.to_string()))
}
