//! Chunks: inserted with every ciphertext of their index checked against the context's key
//! (by [`crate::service::ingest`]), read back by id, deleted by id. The routes parse the
//! request, check who asks, call the service and answer.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde_json::{json, Map, Value};

use super::answer::Answer;
use super::cancellable::work_slot;
use super::context_access;
use super::{blocking, Caller, JsonBody};
use crate::api_error::ApiResult;
use crate::auth::permission;
use crate::metadata;
use crate::service::ServiceError;
use crate::service::{edits, ingest, select};
use crate::state::AppState;
use crate::store::Chunk;
use paillier_gpu_api::{self as api, Chunk as SentChunk, InsertChunks};

/// The most chunks one request may carry (the SDK sends 500).
pub const MAX_CHUNKS_PER_REQUEST: usize = 10_000;

/// POST /v1/chunk/{org}: `{kb_id, context_id, chunks}` → `{chunk_ids, inserted}`.
pub async fn insert(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<InsertChunks>,
) -> ApiResult<Answer> {
    let _slot = work_slot(&state).await?;
    blocking(move || {
        let grant = caller.kb_access(&state, &body.kb_id, permission::WRITE)?;
        let sent: Vec<SentChunk> = serde_json::from_str(body.chunks.get())
            .map_err(|e| ServiceError::bad_input(format!("chunks: {e}")))?;
        if sent.len() > MAX_CHUNKS_PER_REQUEST {
            return Err(ServiceError::too_large(format!(
                "{} chunks in one request; send at most {MAX_CHUNKS_PER_REQUEST}",
                sent.len()
            ))
            .into());
        }
        // Chunks under a context bind it to the knowledge base (its readers may then read it).
        let stored = context_access::bind(&state, &caller, &grant, &body.context_id)?;
        let ids = ingest::insert(
            &state,
            caller.org(),
            &body.kb_id,
            &body.context_id,
            &stored,
            sent,
        )?;
        Answer::of(&api::Inserted {
            inserted: ids.len(),
            chunk_ids: ids,
        })
    })
    .await
}

/// `chunk_ids` (repeated), `kb_id` and `projection` (repeated) from a query string.
fn query_of(raw: Option<String>) -> ApiResult<(String, Vec<i64>, Vec<String>)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ServiceError::bad_input(format!("query string: {e}")))?;
    let mut kb_id = None;
    let mut ids = Vec::new();
    let mut projection = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "kb_id" => kb_id = Some(value),
            "chunk_ids" | "chunk_ids[]" => ids.push(value.parse().map_err(|_| {
                ServiceError::bad_input(format!("chunk_ids: {value:?} is not an integer"))
            })?),
            "projection" | "projection[]" => projection.push(value),
            other => {
                return Err(
                    ServiceError::bad_input(format!("unknown query parameter {other:?}")).into(),
                )
            }
        }
    }
    let kb_id = kb_id.ok_or_else(|| ServiceError::bad_input("kb_id is missing"))?;
    Ok((kb_id, ids, projection))
}

/// A chunk as the SDK reads it, with only the `projection`'s fields when one is given. A
/// projection naming metadata fields (`tag1` … `facets`, as the SDK's `Retriever` asks) keeps
/// those inside `meta_data`.
pub fn chunk_json(chunk: &Chunk, shape_bytes: Option<usize>, projection: &[String]) -> Value {
    let index: Vec<String> = match shape_bytes {
        Some(width) if width > 0 => chunk
            .pieces
            .chunks(width)
            .map(|p| BASE64.encode(p))
            .collect(),
        _ => Vec::new(),
    };
    let all = json!({
        "chunk_id": chunk.chunk_id,
        "kb_id": chunk.kb_id,
        "context_id": chunk.context_id,
        "name": chunk.name,
        "chunk_content": chunk.content,
        "meta_data": serde_json::from_str::<Value>(&chunk.meta_data).unwrap_or(Value::Null),
        "index": index,
    });
    if projection.is_empty() {
        return all;
    }
    let Value::Object(mut fields) = all else {
        return all;
    };
    let meta = fields.remove("meta_data");
    let mut kept: Map<String, Value> = fields
        .into_iter()
        .filter(|(name, _)| projection.contains(name))
        .collect();
    kept.entry("chunk_id").or_insert(json!(chunk.chunk_id));
    let wanted_meta: Vec<&String> = projection
        .iter()
        .filter(|p| metadata::FIELDS.contains(&p.as_str()))
        .collect();
    if projection.iter().any(|p| p == "meta_data") {
        kept.insert("meta_data".into(), meta.unwrap_or(Value::Null));
    } else if !wanted_meta.is_empty() {
        let mut partial = Map::new();
        if let Some(Value::Object(meta)) = meta {
            for (name, value) in meta {
                if wanted_meta.contains(&&name) {
                    partial.insert(name, value);
                }
            }
        }
        kept.insert("meta_data".into(), Value::Object(partial));
    }
    Value::Object(kept)
}

/// GET /v1/chunk/{org}?kb_id=…&chunk_ids=…[&projection=…]: a list of chunks.
pub async fn get_by_id(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Answer> {
    blocking(move || {
        let (kb_id, ids, projection) = query_of(query)?;
        caller.kb_access(&state, &kb_id, permission::READ)?;
        let out = select::by_id(&state, caller.org(), &kb_id, &ids)?
            .iter()
            .map(|(chunk, width)| chunk_json(chunk, *width, &projection))
            .collect();
        Ok(Answer::json(Value::Array(out)))
    })
    .await
}

/// DELETE /v1/chunk/{org}?kb_id=…&chunk_ids=…: `{deleted_count}`.
pub async fn delete_by_id(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> ApiResult<Answer> {
    blocking(move || {
        let (kb_id, ids, _) = query_of(query)?;
        caller.kb_access(&state, &kb_id, permission::DELETE)?;
        let deleted = edits::delete_by_id(&state, &kb_id, &ids)?;
        Ok(Answer::json(json!({ "deleted_count": deleted })))
    })
    .await
}
