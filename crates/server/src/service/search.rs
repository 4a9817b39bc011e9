//! Search: compute_hamming over a knowledge base's resident index, kept coherent with the store
//! (several replicas may write it), after the route has checked who asks.

use paillier_gpu::hamming::Selection;
use paillier_gpu::paillier::CiphertextBatch;

use super::knowledge_bases::no_kb;
use super::pieces::{checked_record, decode_pieces};
use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::resident::Resident;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
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
) -> ServiceResult<Found> {
    let open = || state.open_public(org, query.context_id, &stored.data);
    state
        .indexes
        .read_current(
            query.kb_id,
            query.context_id,
            stored,
            open,
            cancel,
            |resident| aggregate(state, resident, query, cancel),
        )?
        .ok_or_else(|| no_kb(query.kb_id))?
}

/// The query times the records of `resident` it selects.
fn aggregate(
    state: &AppState,
    resident: &Resident,
    query: &Query<'_>,
    cancel: &Cancel,
) -> ServiceResult<Found> {
    let record = decode_pieces(query.pieces, resident.shape, "the query")?;
    let encrypted = checked_record(
        resident.context.public_key(),
        resident.shape,
        &record,
        "the query",
    )?;
    let positions = selected(resident, query.filter, query.range)?;
    cancel.check()?;
    // Everything selected: aggregate the resident records in place, without gathering.
    let selection = if positions.len() == resident.chunk_ids.len() {
        Selection::All
    } else {
        Selection::Ids(positions.clone())
    };
    let responses = aggregate_cancellable(resident, &encrypted, &selection, cancel)?;
    state.metrics.aggregated(positions.len());
    let chunk_ids: Vec<i64> = positions.iter().map(|&p| resident.chunk_ids[p]).collect();
    Ok(Found {
        responses,
        chunk_ids,
        width: resident.shape.piece_bytes,
    })
}

/// Records aggregated between two looks at whether the client is still there: large enough
/// that a GPU's launch costs little beside its work.
const AGGREGATE_BLOCK_RECORDS: usize = 1 << 14;

/// The query times the selected records, a block at a time, stopping once the client has gone.
fn aggregate_cancellable(
    resident: &Resident,
    query: &CiphertextBatch,
    selection: &Selection,
    cancel: &Cancel,
) -> ServiceResult<CiphertextBatch> {
    let mut responses = CiphertextBatch::new(resident.context.public_key(), resident.shape.pieces)?;
    let mut gone = false;
    let streamed =
        resident
            .index
            .aggregate_streamed(query, selection, AGGREGATE_BLOCK_RECORDS, |_, block| {
                if cancel.check().is_err() {
                    gone = true;
                    // Stops the stream; the error itself is replaced below.
                    return Err(paillier_gpu::Error::InvalidSelection(
                        "the client has gone".into(),
                    ));
                }
                responses.extend(block)
            });
    if gone {
        return Err(ServiceError::ClientGone);
    }
    streamed?;
    Ok(responses)
}

/// The positions in the index of the records that pass the filter and the range: from the
/// posting lists when the filter names listed values (the work then is what they select),
/// otherwise by testing every record; refused when that work is past
/// [`MAX_FILTER_WORK`](crate::filter::MAX_FILTER_WORK).
fn selected(
    resident: &Resident,
    filter: Option<&Filter>,
    range: Option<(i64, i64)>,
) -> ServiceResult<Vec<usize>> {
    let plan = resident.plan(filter);
    let checked = match (plan.candidates(), plan.remaining()) {
        (Some(candidates), remaining) => {
            crate::filter::check_indexed_work(plan.lookups(), candidates, remaining)
        }
        (None, Some(filter)) => crate::filter::check_work(filter, resident.chunk_ids.len()),
        (None, None) => Ok(()),
    };
    checked.map_err(ServiceError::bad_input)?;
    Ok(resident.select(&plan, range))
}
