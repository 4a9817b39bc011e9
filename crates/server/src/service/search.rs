//! Search: compute_hamming over a knowledge base's resident index, kept coherent with the store
//! (several replicas may write it), after the route has checked who asks.

use std::sync::RwLockReadGuard;

use axum::http::StatusCode;
use paillier_gpu::hamming::Selection;
use paillier_gpu::paillier::CiphertextBatch;

use super::pieces::{checked_record, decode_pieces};
use crate::api_error::{ApiError, ApiResult};
use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::state::{context_digest, AppState, Resident, Slot};
use crate::store::StoredContext;

/// A compute_hamming request, its caller's rights checked.
pub struct Query<'a> {
    /// The knowledge base searched.
    pub kb_id: &'a str,
    /// The context of the query and of the records aggregated.
    pub context_id: &'a str,
    /// The encrypted query, one base64 string per piece.
    pub pieces: &'a [String],
    /// Which records are aggregated, by their metadata.
    pub filter: Option<&'a Filter>,
    /// Which records are aggregated, by chunk id (both ends included).
    pub range: Option<(i64, i64)>,
}

/// What compute_hamming answers: one aggregated record per selected chunk.
pub struct Found {
    /// The query times each selected record.
    pub responses: CiphertextBatch,
    /// The chunk id of each response.
    pub chunk_ids: Vec<i64>,
    /// The bytes of one piece.
    pub width: usize,
}

/// The query, checked against the context's key, times every record of the knowledge base's
/// resident index that `query.filter` and `query.range` select. The index holds every chunk
/// committed before this call, by this replica or another (`stored` is the context as the
/// store holds it now).
pub fn compute_hamming(
    state: &AppState,
    org: &str,
    stored: &StoredContext,
    query: &Query<'_>,
    cancel: &Cancel,
) -> ApiResult<Found> {
    let slot = state.slot(query.kb_id, query.context_id);
    let held = current_index(
        state,
        org,
        stored,
        &slot,
        query.kb_id,
        query.context_id,
        cancel,
    )?;
    let Some(resident) = held.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the index is being rebuilt; ask again",
        ));
    };
    let record = decode_pieces(query.pieces, resident.shape, "the query")?;
    let encrypted = checked_record(
        resident.context.public_key(),
        resident.shape,
        &record,
        "the query",
    )?;
    if let Some(filter) = query.filter {
        crate::filter::check_work(filter, resident.chunk_ids.len())
            .map_err(ApiError::bad_request)?;
    }
    let positions = selected(resident, query.filter, query.range);
    cancel.check()?;
    // Everything selected: aggregate the resident records in place, without gathering.
    let selection = if positions.len() == resident.chunk_ids.len() {
        Selection::All
    } else {
        Selection::Ids(positions.clone())
    };
    let responses = resident.index.aggregate_batch(&encrypted, &selection)?;
    state.metrics.aggregated(positions.len());
    let chunk_ids: Vec<i64> = positions.iter().map(|&p| resident.chunk_ids[p]).collect();
    Ok(Found {
        responses,
        chunk_ids,
        width: resident.shape.piece_bytes,
    })
}

/// The resident index of `(kb_id, context_id)`, read-locked, holding every chunk committed
/// before this call (by this replica or any other) under the context as `stored` now: built on
/// first use, caught up from the store when writes were appended since, rebuilt when the
/// knowledge base was rewritten or the context stored anew.
fn current_index<'a>(
    state: &AppState,
    org: &str,
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
                let context = state.open_public(org, context_id, &stored.data)?;
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
