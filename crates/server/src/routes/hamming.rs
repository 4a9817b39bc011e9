//! compute_hamming: the query times every selected record of a knowledge base's resident index.
//! `range` (chunk ids, both ends included) and `meta_filter` choose which records are aggregated;
//! the answer lists `[pieces, chunk_id]` for each, as msgpack (pieces as little-endian bytes)
//! unless the client accepts only JSON (pieces as integers).

use std::sync::{Arc, RwLockReadGuard};

use axum::extract::State;
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::cancellable::{cancellable, work_slot};
use super::context_access;
use super::hamming_answer as answer;
use super::pieces::{check_coprime, check_pieces, decode_pieces};
use super::{Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::state::{context_digest, AppState, Resident, Slot};
use crate::store::StoredContext;
use paillier_gpu::hamming::Selection;
use paillier_gpu::paillier::CiphertextBatch;

/// The most ciphertext pieces a query may carry.
pub const MAX_QUERY_PIECES: usize = 4096;

#[derive(Deserialize)]
pub struct HammingBody {
    kb_id: String,
    context_id: String,
    query: Vec<String>,
    /// Parsed once the caller's permission is checked.
    #[serde(default)]
    meta_filter: Option<Box<RawValue>>,
    #[serde(default)]
    range: Option<Vec<i64>>,
}

/// POST /v1/compute_hamming/{org}.
pub async fn compute(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody<HammingBody>,
) -> ApiResult<Response> {
    let json_only = headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/json") && !accept.contains("msgpack"));
    // Held until the answer is written: the responses are memory until then.
    let slot = work_slot(&state).await?;
    let (responses, chunk_ids, width) = cancellable(move |cancel| {
        caller.kb_access(&state, &body.kb_id, permission::READ)?;
        if body.query.len() > MAX_QUERY_PIECES {
            return Err(ApiError::bad_request(format!(
                "the query has {} pieces; at most {MAX_QUERY_PIECES}",
                body.query.len()
            )));
        }
        let sent: Option<Value> = body
            .meta_filter
            .as_ref()
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("meta_filter: {e}")))?;
        let filter = sent
            .as_ref()
            .filter(|f| !f.is_null())
            .map(Filter::parse_sent)
            .transpose()
            .map_err(ApiError::bad_request)?;
        let range = match body.range.as_deref() {
            None => None,
            Some([low, high]) if low <= high => Some((*low, *high)),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "range is [first chunk id, last chunk id]",
                ))
            }
        };
        // Resident slots only for contexts that exist: an unknown id costs nothing.
        let stored =
            match context_access::usable_in_kb(&state, &caller, &body.kb_id, &body.context_id) {
                Ok(stored) => stored,
                Err(refused) => {
                    // Deleted through another replica: this one's index of it goes too (the
                    // caller may read the knowledge base, so the index is its organisation's).
                    if state
                        .store
                        .context(caller.org(), &body.context_id)?
                        .is_none()
                    {
                        state.forget_index(&body.kb_id, &body.context_id);
                    }
                    return Err(refused);
                }
            };
        let slot = state.slot(&body.kb_id, &body.context_id);
        let held = current_index(
            &state,
            &caller,
            &stored,
            &slot,
            &body.kb_id,
            &body.context_id,
            cancel,
        )?;
        let Some(resident) = held.as_ref() else {
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "the index is being rebuilt; ask again",
            ));
        };
        let record = decode_pieces(&body.query, resident.shape, "the query")?;
        check_pieces(
            resident.context.public_key(),
            resident.shape,
            &record,
            "the query",
        )?;
        let public_key = resident.context.public_key();
        let query = CiphertextBatch::from_le_bytes(
            public_key,
            resident.shape.chunks,
            resident.shape.chunk_bytes,
            &record,
            0,
        )
        .map_err(|e| ApiError::bad_request(format!("the query: {e}")))?;
        check_coprime(public_key, &query, |_| "the query".into())?;
        if let Some(filter) = &filter {
            filter
                .check_work(resident.chunk_ids.len())
                .map_err(ApiError::bad_request)?;
        }
        let positions = selected(resident, filter.as_ref(), range);
        cancel.check()?;
        // Everything selected: aggregate the resident records in place, without gathering.
        let selection = if positions.len() == resident.chunk_ids.len() {
            Selection::All
        } else {
            Selection::Ids(positions.clone())
        };
        let responses = resident.index.aggregate_batch(&query, &selection)?;
        state.metrics.aggregated(positions.len());
        let chunk_ids: Vec<i64> = positions.iter().map(|&p| resident.chunk_ids[p]).collect();
        Ok((responses, chunk_ids, resident.shape.chunk_bytes))
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
        .map_err(|e| ApiError::bad_request(e.to_string()))
}

/// The resident index of `(kb_id, context_id)`, read-locked, holding every chunk committed
/// before this call (by this replica or any other) under the context as `stored` now: built on
/// first use, caught up from the store when writes were appended since, rebuilt when the
/// knowledge base was rewritten or the context stored anew.
fn current_index<'a>(
    state: &AppState,
    caller: &Caller,
    stored: &StoredContext,
    slot: &'a Slot,
    kb_id: &str,
    context_id: &str,
    cancel: &Cancel,
) -> ApiResult<RwLockReadGuard<'a, Option<Resident>>> {
    let store = state
        .store
        .kb_version(kb_id)?
        .ok_or_else(|| ApiError::not_found(format!("no knowledge base {kb_id}")))?;
    let digest = context_digest(&stored.data);
    let current = |r: &Resident| r.context_digest == digest && r.version >= store.version;
    loop {
        {
            let held = slot.read().unwrap_or_else(|e| e.into_inner());
            if held.as_ref().is_some_and(current) {
                return Ok(held);
            }
        }
        let mut held = slot.write().unwrap_or_else(|e| e.into_inner());
        match held.as_mut() {
            Some(resident) if current(resident) => {}
            Some(resident)
                if resident.context_digest == digest && store.rewritten <= resident.version =>
            {
                match state.catch_up(resident, kb_id, context_id, cancel) {
                    Ok(true) => {}
                    // Rewritten meanwhile: the next turn rebuilds.
                    Ok(false) => *held = None,
                    // The client went: what was appended is a prefix of a later snapshot,
                    // and the version is still the old one, so the index stays usable.
                    Err(e) if cancel.check().is_err() => return Err(e),
                    Err(e) => {
                        *held = None;
                        return Err(e);
                    }
                }
            }
            _ => {
                *held = None;
                let context = state.open_public(caller.org(), context_id, &stored.data)?;
                *held = Some(state.build(context, digest, kb_id, context_id, cancel)?);
            }
        }
    }
}

/// The positions in the index of the records that pass the filter and the range.
fn selected(resident: &Resident, filter: Option<&Filter>, range: Option<(i64, i64)>) -> Vec<usize> {
    (0..resident.chunk_ids.len())
        .filter(|&i| range.is_none_or(|(low, high)| (low..=high).contains(&resident.chunk_ids[i])))
        .filter(|&i| filter.is_none_or(|f| f.matches(&resident.meta[i])))
        .collect()
}
