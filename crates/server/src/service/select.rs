//! Selecting stored chunks, after the route has checked who asks: by id (with the width of
//! each one's ciphertext pieces, to read its index back) or by metadata filter.

use std::collections::HashMap;

use serde_json::Value;

use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::metadata::{self, meta_of};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
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
) -> ServiceResult<Vec<(Chunk, Option<usize>)>> {
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
/// it; `None`: every chunk), in id order. A scan of every chunk read from the store, not a
/// lookup in posting lists: those live in the resident index, which the metadata routes do not
/// build (they read contents and names, which it does not hold), and these routes return whole
/// chunks, whose reading costs more than the filter.
pub fn matching(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    sent: Option<&Value>,
    cancel: &Cancel,
) -> ServiceResult<Vec<Chunk>> {
    let filter = match sent {
        Some(sent) => Some(Filter::parse_sent(sent).map_err(ServiceError::bad_input)?),
        None => None,
    };
    let chunks = state.store.chunks_of(kb_id, context_id)?;
    if let Some(filter) = &filter {
        crate::filter::check_work(filter, chunks.len()).map_err(ServiceError::bad_input)?;
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

/// The most results one page holds.
pub const MAX_PAGE: usize = 10_000;

/// How a page of matches is ordered and cut, as the client asked.
pub struct PageRequest<'a> {
    /// `chunk_id` (the default), `name` or one of [`metadata::SORTABLE`].
    pub sort_by: Option<&'a str>,
    /// `desc` (the default) or `asc`.
    pub sort_order: Option<&'a str>,
    /// How many of the sorted matches to skip.
    pub offset: usize,
    /// How many to return at most (never more than [`MAX_PAGE`]); every match when `None`.
    pub limit: Option<usize>,
}

/// One page of matches.
pub struct Page {
    /// The page's chunks, in order.
    pub chunks: Vec<Chunk>,
    /// How many chunks matched in all.
    pub total: usize,
    /// The page's size as asked (capped at [`MAX_PAGE`]), or every match.
    pub limit: usize,
    /// Whether matches follow this page.
    pub has_more: bool,
}

/// The page `request` asks of `found`: sorted (ties by chunk id), then cut. A tag is read from
/// each chunk's metadata once, not at every comparison.
pub fn page(found: Vec<Chunk>, request: &PageRequest<'_>) -> ServiceResult<Page> {
    let descending = match request.sort_order.unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        other => {
            return Err(ServiceError::bad_input(format!(
                "sort_order is \"asc\" or \"desc\", not {other:?}"
            )))
        }
    };
    let mut found = match request.sort_by.unwrap_or("chunk_id") {
        "chunk_id" => {
            let mut found = found;
            found.sort_by_key(|c| c.chunk_id);
            found
        }
        "name" => {
            let mut found = found;
            found.sort_by(|a, b| a.name.cmp(&b.name).then(a.chunk_id.cmp(&b.chunk_id)));
            found
        }
        tag if metadata::SORTABLE.contains(&tag) => {
            let mut keyed: Vec<(Option<String>, Chunk)> = found
                .into_iter()
                .map(|c| (meta_of(&c.meta_data).get(tag).map(|v| v.to_string()), c))
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.chunk_id.cmp(&b.1.chunk_id)));
            keyed.into_iter().map(|(_, c)| c).collect()
        }
        other => {
            return Err(ServiceError::bad_input(format!(
                "sort_by is chunk_id, name or tag1 … tag5, not {other:?}"
            )))
        }
    };
    if descending {
        found.reverse();
    }
    let total = found.len();
    let limit = request.limit.map_or(total, |limit| limit.min(MAX_PAGE));
    let has_more = request.offset.saturating_add(limit) < total;
    let chunks = found.into_iter().skip(request.offset).take(limit).collect();
    Ok(Page {
        chunks,
        total,
        limit,
        has_more,
    })
}
