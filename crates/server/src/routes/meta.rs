//! Searching chunks by metadata, plain and paged, and deleting or patching the chunks a filter
//! selects (with `dry_run` to count them first).

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use serde_json::{json, Map, Value};

use super::answer::Answer;
use super::cancellable::{cancellable, work_slot};
use super::chunk_edits::apply;
use super::chunks::{check_meta_size, chunk_json};
use super::streamed;
use super::{Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::cancel::Cancel;
use crate::filter::Filter;
use crate::state::{meta_of, AppState};
use crate::store::{Chunk, ChunkPatch};
use paillier_gpu_client::api::MetaSearch;

/// Chunks filtered between two looks at whether the client is still there.
const CANCEL_CHECK_ROWS: usize = 4096;

/// The most results one page holds.
pub const MAX_PAGE: usize = 10_000;

/// The chunks of `(kb, context)` that pass the body's filter, in id order.
fn matching(
    state: &AppState,
    caller: &Caller,
    body: &MetaSearch,
    needed: u8,
    cancel: &Cancel,
) -> ApiResult<Vec<Chunk>> {
    caller.kb_access(state, &body.kb_id, needed)?;
    let filter = match sent_filter(body)? {
        Some(sent) => Some(Filter::parse_sent(&sent).map_err(ApiError::bad_request)?),
        None => None,
    };
    let chunks = state.store.chunks_of(&body.kb_id, &body.context_id)?;
    if let Some(filter) = &filter {
        filter
            .check_work(chunks.len())
            .map_err(ApiError::bad_request)?;
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
    let (found, body) = cancellable(move |cancel| {
        let found = matching(&state, &caller, &body, permission::READ, cancel)?;
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
    let (page, facts, body) = cancellable(move |cancel| {
        let mut found = matching(&state, &caller, &body, permission::READ, cancel)?;
        let sort_by = body.sort_by.as_deref().unwrap_or("chunk_id");
        let descending = match body.sort_order.as_deref().unwrap_or("desc") {
            "desc" => true,
            "asc" => false,
            other => {
                return Err(ApiError::bad_request(format!(
                    "sort_order is \"asc\" or \"desc\", not {other:?}"
                )))
            }
        };
        match sort_by {
            "chunk_id" => found.sort_by_key(|c| c.chunk_id),
            "name" => found.sort_by(|a, b| a.name.cmp(&b.name).then(a.chunk_id.cmp(&b.chunk_id))),
            "tag1" | "tag2" | "tag3" | "tag4" | "tag5" => {
                let tag = |c: &Chunk| meta_of(&c.meta_data).get(sort_by).map(|v| v.to_string());
                found.sort_by(|a, b| tag(a).cmp(&tag(b)).then(a.chunk_id.cmp(&b.chunk_id)));
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "sort_by is chunk_id, name or tag1 … tag5, not {other:?}"
                )))
            }
        }
        if descending {
            found.reverse();
        }
        let total = found.len();
        let limit = body.limit.map_or(total, |limit| limit.min(MAX_PAGE));
        let facts = json!({
            "total": total,
            "offset": body.offset,
            "limit": limit,
            "has_more": body.offset.saturating_add(limit) < total,
        });
        let page: Vec<Chunk> = found.into_iter().skip(body.offset).take(limit).collect();
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
    cancellable(move |cancel| {
        caller.kb_access(&state, &body.kb_id, permission::DELETE)?;
        require_filter(&body)?;
        let found = matching(&state, &caller, &body, permission::DELETE, cancel)?;
        let ids: Vec<i64> = found.iter().map(|c| c.chunk_id).collect();
        if body.dry_run {
            return Ok(Answer::json(
                json!({ "would_delete_count": ids.len(), "chunk_ids": ids }),
            ));
        }
        let deleted =
            state.rewrite(&body.kb_id, || state.store.delete_chunks(&body.kb_id, &ids))?;
        Ok(Answer::json(
            json!({ "deleted_count": deleted, "chunk_ids": ids }),
        ))
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
    cancellable(move |cancel| {
        caller.kb_access(&state, &body.kb_id, permission::WRITE)?;
        require_filter(&body)?;
        let sent: Option<Value> = body
            .patch
            .as_ref()
            .map(|raw| serde_json::from_str(raw.get()))
            .transpose()
            .map_err(|e| ApiError::bad_request(format!("patch: {e}")))?;
        let changes: Map<String, Value> = match sent {
            Some(Value::Object(map)) => map,
            _ => {
                return Err(ApiError::bad_request(
                    "patch is an object of metadata fields to set",
                ))
            }
        };
        if let Some(field) = changes.keys().find(|k| {
            !matches!(
                k.as_str(),
                "tag1" | "tag2" | "tag3" | "tag4" | "tag5" | "facets"
            )
        }) {
            return Err(ApiError::bad_request(format!(
                "patch sets metadata fields tag1 … tag5 and facets, not {field:?}"
            )));
        }
        check_meta_size(&Value::Object(changes.clone()).to_string(), "patch")?;
        let found = matching(&state, &caller, &body, permission::WRITE, cancel)?;
        let ids: Vec<i64> = found.iter().map(|c| c.chunk_id).collect();
        if body.dry_run {
            return Ok(Answer::json(
                json!({ "would_patch_count": ids.len(), "chunk_ids": ids }),
            ));
        }
        let patches = ids
            .iter()
            .map(|&id| {
                (
                    id,
                    ChunkPatch {
                        meta_data: Some(changes.clone()),
                        ..ChunkPatch::default()
                    },
                )
            })
            .collect();
        let patched = apply(&state, &body.kb_id, &body.context_id, patches)?;
        Ok(Answer::json(
            json!({ "patched_count": patched.len(), "chunk_ids": patched }),
        ))
    })
    .await
}

/// Deleting or patching by metadata needs a filter that says which chunks: a missing or
/// empty one (`{}`, `"{}"`, `{"$and": []}`) would select them all.
fn require_filter(body: &MetaSearch) -> ApiResult<()> {
    let refused = || {
        ApiError::bad_request(
            "a non-empty meta_filter is required: it says which chunks to change (delete \
             the knowledge base, or list its chunk ids, to change every chunk)",
        )
    };
    match sent_filter(body)? {
        None => Err(refused()),
        Some(sent) => match Filter::parse_sent(&sent) {
            Ok(filter) if filter.is_empty() => Err(refused()),
            _ => Ok(()),
        },
    }
}

/// The body's `meta_filter` as a value; `None` when absent or null.
fn sent_filter(body: &MetaSearch) -> ApiResult<Option<Value>> {
    let Some(raw) = &body.meta_filter else {
        return Ok(None);
    };
    let value: Value = serde_json::from_str(raw.get())
        .map_err(|e| ApiError::bad_request(format!("meta_filter: {e}")))?;
    Ok(Some(value).filter(|v| !v.is_null()))
}
