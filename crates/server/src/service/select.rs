//! Selecting stored chunks, after the route has checked who asks: by id (with the width of
//! each one's ciphertext pieces, to read its index back) or by metadata filter.

use std::collections::HashMap;

use serde_json::Value;

use crate::api_error::{ApiError, ApiResult};
use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::state::{meta_of, AppState};
use crate::store::Chunk;

/// Chunks filtered between two looks at whether the client is still there.
const CANCEL_CHECK_ROWS: usize = 4096;

/// The chunks `ids` of knowledge base `kb_id` that are stored, in id order, each with the bytes
/// of one ciphertext piece of its context of `org` (`None` when the context is gone).
pub fn by_id(
    state: &AppState,
    org: &str,
    kb_id: &str,
    ids: &[i64],
) -> ApiResult<Vec<(Chunk, Option<usize>)>> {
    let chunks = state.store.chunks_by_id(kb_id, ids)?;
    // Each context's width read once, however many of its chunks are asked for.
    let mut widths = HashMap::new();
    let mut out = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        let width = match widths.get(&chunk.context_id) {
            Some(&width) => width,
            None => {
                let width = state
                    .public_context(org, &chunk.context_id)?
                    .and_then(|c| c.try_ciphertext_shape().ok())
                    .map(|s| s.piece_bytes);
                widths.insert(chunk.context_id.clone(), width);
                width
            }
        };
        out.push((chunk, width));
    }
    Ok(out)
}

/// The chunks of `(kb_id, context_id)` that pass `sent` (a `meta_filter` as the client sent
/// it; `None`: every chunk), in id order.
pub fn matching(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    sent: Option<&Value>,
    cancel: &Cancel,
) -> ApiResult<Vec<Chunk>> {
    let filter = match sent {
        Some(sent) => Some(Filter::parse_sent(sent).map_err(ApiError::bad_request)?),
        None => None,
    };
    let chunks = state.store.chunks_of(kb_id, context_id)?;
    if let Some(filter) = &filter {
        crate::filter::check_work(filter, chunks.len()).map_err(ApiError::bad_request)?;
    }
    let mut found = Vec::new();
    for (i, chunk) in chunks.into_iter().enumerate() {
        if i % CANCEL_CHECK_ROWS == 0 {
            cancel.check()?;
        }
        if filter
            .as_ref()
            .is_none_or(|f| f.matches(&meta_of(&chunk.meta_data)))
        {
            found.push(chunk);
        }
    }
    Ok(found)
}
