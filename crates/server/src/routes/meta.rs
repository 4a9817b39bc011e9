//! Searching chunks by metadata, plain and paged, and deleting or patching the chunks a filter
//! selects (with `dry_run` to count them first; [`crate::service::meta_edits`] does those).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Value};

use super::answer::Answer;
use super::cancellable::{cancellable, work_slot};
use super::chunks::chunk_json;
use super::streamed;
use super::{Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::auth::permission;
use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::service::meta_edits::{self, Outcome};
use crate::service::select;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::Chunk;
use paillier_gpu_api::MetaSearch;

/// The chunks of `(kb, context)` that pass the body's filter, in id order, if the caller may
/// read the knowledge base.
fn matching(
    state: &AppState,
    caller: &Caller,
    body: &MetaSearch,
    cancel: &Cancel,
) -> ServiceResult<Vec<Chunk>> {
    caller.kb_access(state, &body.kb_id, permission::READ)?;
    let sent = sent_filter(body)?;
    select::matching(state, &body.kb_id, &body.context_id, sent.as_ref(), cancel)
}

/// The fields a search returns: the projection, or the id, name and metadata (and the content
/// when asked).
fn projected(chunk: &Chunk, body: &MetaSearch) -> Value {
    let projection = body.projection.clone().unwrap_or_else(|| {
        let mut fields = vec!["chunk_id".to_owned(), "name".into(), "meta_data".into()];
        if body.return_content {
            fields.push("chunk_content".into());
        }
        fields
    });
    chunk_json(chunk, None, &projection)
}

/// POST /v1/chunk/meta/{org}: the chunks that pass `meta_filter`, streamed.
pub async fn search(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<MetaSearch>,
) -> ApiResult<Response> {
    let slot = work_slot(&state).await?;
    let (found, body) = cancellable(state.metrics.abandoned_counter(), move |cancel| {
        let found = matching(&state, &caller, &body, cancel)?;
        Ok((found, body))
    })
    .await?;
    streamed::json_list(String::new(), found, String::new(), slot, move |c| {
        projected(c, &body)
    })
}

/// POST /v1/chunk/meta/page/{org}: one page, sorted by `sort_by` (`chunk_id`, `name` or a
/// metadata field) in `sort_order` (`asc` or `desc`); without a `limit`, every match (the SDK's
/// "returns all if omitted"), streamed.
pub async fn search_page(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<MetaSearch>,
) -> ApiResult<Response> {
    let slot = work_slot(&state).await?;
    let (page, facts, body) = cancellable(state.metrics.abandoned_counter(), move |cancel| {
        let found = matching(&state, &caller, &body, cancel)?;
        let page = select::page(
            found,
            &select::PageRequest {
                sort_by: body.sort_by.as_deref(),
                sort_order: body.sort_order.as_deref(),
                offset: body.offset,
                limit: body.limit,
            },
        )?;
        let facts = json!({
            "total": page.total,
            "offset": body.offset,
            "limit": page.limit,
            "has_more": page.has_more,
        });
        let page = page.chunks;
        Ok((page, facts, body))
    })
    .await?;
    // {"results": [...], "total": …, …}: the facts' fields follow the list.
    let facts = facts.to_string();
    let tail = format!(",{}", facts.strip_prefix('{').unwrap_or("}"));
    streamed::json_list("{\"results\":".to_owned(), page, tail, slot, move |c| {
        projected(c, &body)
    })
}

/// DELETE /v1/chunk/by-meta/{org}: `{deleted_count}`, or `{would_delete_count}` on a dry run.
pub async fn delete_by_meta(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<MetaSearch>,
) -> ApiResult<Answer> {
    let _slot = work_slot(&state).await?;
    cancellable(state.metrics.abandoned_counter(), move |cancel| {
        caller.kb_access(&state, &body.kb_id, permission::DELETE)?;
        let filter = required_filter(&body)?;
        let outcome = meta_edits::delete_by_meta(
            &state,
            &body.kb_id,
            &body.context_id,
            &filter,
            body.dry_run,
            cancel,
        )?;
        Ok(Answer::json(match outcome {
            Outcome::Would(ids) => json!({ "would_delete_count": ids.len(), "chunk_ids": ids }),
            Outcome::Done { count, ids } => json!({ "deleted_count": count, "chunk_ids": ids }),
        }))
    })
    .await
}

/// PATCH /v1/chunk/by-meta/{org}: merges `patch` into the metadata of the chunks selected;
/// `{patched_count}`, or `{would_patch_count}` on a dry run.
pub async fn patch_by_meta(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<MetaSearch>,
) -> ApiResult<Answer> {
    let _slot = work_slot(&state).await?;
    cancellable(state.metrics.abandoned_counter(), move |cancel| {
        caller.kb_access(&state, &body.kb_id, permission::WRITE)?;
        let filter = required_filter(&body)?;
        let patch: Option<Value> = body
            .patch
            .as_ref()
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(|e| ServiceError::bad_input(format!("patch: {e}")))?;
        let outcome = meta_edits::patch_by_meta(
            &state,
            &body.kb_id,
            &body.context_id,
            &filter,
            patch,
            body.dry_run,
            cancel,
        )?;
        Ok(Answer::json(match outcome {
            Outcome::Would(ids) => json!({ "would_patch_count": ids.len(), "chunk_ids": ids }),
            Outcome::Done { count, ids } => json!({ "patched_count": count, "chunk_ids": ids }),
        }))
    })
    .await
}

/// Deleting or patching by metadata needs a filter that says which chunks: a missing or
/// empty one (`{}`, `"{}"`, `{"$and": []}`) would select them all. The filter as sent.
fn required_filter(body: &MetaSearch) -> ServiceResult<Value> {
    let refused = || {
        ServiceError::bad_input(
            "a non-empty meta_filter is required: it says which chunks to change (delete \
             the knowledge base, or list its chunk ids, to change every chunk)",
        )
    };
    match sent_filter(body)? {
        None => Err(refused()),
        Some(sent) => match Filter::parse_sent(&sent) {
            Ok(filter) if filter.is_empty() => Err(refused()),
            // One that does not parse is refused as it is read (after the patch, if any).
            _ => Ok(sent),
        },
    }
}

/// The body's `meta_filter` as a value; `None` when absent or null.
fn sent_filter(body: &MetaSearch) -> ServiceResult<Option<Value>> {
    let Some(raw) = &body.meta_filter else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(raw.get())
        .map_err(|e| ServiceError::bad_input(format!("meta_filter: {e}")))?;
    Ok(Some(value).filter(|v| !v.is_null()))
}
