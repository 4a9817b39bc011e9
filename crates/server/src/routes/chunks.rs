//! Chunks: inserted with every ciphertext of their index checked against the context's key,
//! read back by id, deleted by id.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use rayon::prelude::*;
use serde_json::{json, Map, Value};

use super::answer::Answer;
use super::cancellable::work_slot;
use super::context_access::{self, no_context};
use super::{blocking, Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::service::pieces::{check_pieces, decode_pieces};
use crate::state::{context_digest, AppState};
use crate::store::{Chunk, NewChunk, MAX_META_BYTES};
use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::PublicContext;
use paillier_gpu_client::api::{Chunk as SentChunk, InsertChunks};

/// The most chunks one request may carry (the SDK sends 500).
pub const MAX_CHUNKS_PER_REQUEST: usize = 10_000;

/// An error unless a chunk's metadata text fits [`MAX_META_BYTES`].
pub fn check_meta_size(meta: &str, what: &str) -> ApiResult<()> {
    if meta.len() > MAX_META_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{what}: meta_data of {} bytes; at most {MAX_META_BYTES}",
                meta.len()
            ),
        ));
    }
    Ok(())
}

/// POST /v1/chunk/{org}: `{kb_id, context_id, chunks}` → `{chunk_ids, inserted}`.
pub async fn insert(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<InsertChunks>,
) -> ApiResult<Answer> {
    let _slot = work_slot(&state).await?;
    blocking(move || {
        caller.kb_access(&state, &body.kb_id, permission::WRITE)?;
        let sent: Vec<SentChunk> = serde_json::from_str(body.chunks.get())
            .map_err(|e| ApiError::bad_request(format!("chunks: {e}")))?;
        if sent.len() > MAX_CHUNKS_PER_REQUEST {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "{} chunks in one request; send at most {MAX_CHUNKS_PER_REQUEST}",
                    sent.len()
                ),
            ));
        }
        // Chunks under a context bind it to the knowledge base (its readers may then read it).
        context_access::bind(&state, &caller, &body.kb_id, &body.context_id)?;
        let stored = state
            .store
            .context(caller.org(), &body.context_id)?
            .ok_or_else(|| no_context(&body.context_id))?;
        let context = state.open_public(caller.org(), &body.context_id, &stored.data)?;
        let shape = context.ciphertext_shape()?;
        // Decoded on every core; the first bad chunk is the one named.
        let decoded: Vec<ApiResult<NewChunk>> = sent
            .into_par_iter()
            .enumerate()
            .map(|(i, sent)| new_chunk(i, sent, &context, shape))
            .collect();
        let chunks = decoded.into_iter().collect::<ApiResult<Vec<NewChunk>>>()?;
        let slot = state.slot(&body.kb_id, &body.context_id);
        let mut resident = slot.write().unwrap_or_else(|e| e.into_inner());
        // Committed only if the context is still the one checked against.
        let inserted = state
            .store
            .insert_chunks(&body.kb_id, &body.context_id, &stored.data, &chunks)?
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "execution context {} was deleted or replaced while these chunks were \
                         checked; nothing was inserted",
                        body.context_id
                    ),
                )
            })?;
        let ids = inserted.ids;
        // Followed in place when nothing else was committed since the index's version (another
        // writer, another replica); otherwise the next search catches up from the store.
        let same_context = resident
            .as_ref()
            .is_some_and(|held| held.context_digest == context_digest(&stored.data));
        if resident.is_some() && !same_context {
            // Built for an earlier context under this id (deleted and stored again elsewhere).
            *resident = None;
        }
        if let Some(held) = resident.as_mut() {
            if held.version + 1 == inserted.version {
                let stored: Vec<Chunk> = chunks
                    .into_iter()
                    .zip(&ids)
                    .map(|(c, &id)| Chunk {
                        kb_id: body.kb_id.clone(),
                        chunk_id: id,
                        context_id: body.context_id.clone(),
                        name: c.name,
                        content: c.content,
                        meta_data: c.meta_data,
                        pieces: c.pieces,
                    })
                    .collect();
                if held.append(&stored, inserted.version).is_err() {
                    *resident = None;
                }
            }
        }
        Ok(Answer::json(
            json!({ "chunk_ids": ids, "inserted": ids.len() }),
        ))
    })
    .await
}

/// Chunk `i` of an insert, its pieces decoded and checked against the context's key.
fn new_chunk(
    i: usize,
    sent: SentChunk,
    context: &PublicContext,
    shape: CiphertextShape,
) -> ApiResult<NewChunk> {
    let what = format!("chunk {i}");
    let pieces = decode_pieces(&sent.index, shape, &what)?;
    check_pieces(context.public_key(), shape, &pieces, &what)?;
    let meta = match sent.meta_data {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(meta @ Value::Object(_)) => meta,
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "chunk {i}: meta_data is not an object"
            )))
        }
    };
    let meta_data = meta.to_string();
    check_meta_size(&meta_data, &what)?;
    Ok(NewChunk {
        name: sent.name.unwrap_or_else(|| format!("chunk_{i}")),
        content: sent.chunk_content,
        meta_data,
        pieces,
    })
}

/// `chunk_ids` (repeated), `kb_id` and `projection` (repeated) from a query string.
fn query_of(raw: Option<String>) -> ApiResult<(String, Vec<i64>, Vec<String>)> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::bad_request(format!("query string: {e}")))?;
    let mut kb_id = None;
    let mut ids = Vec::new();
    let mut projection = Vec::new();
    for (name, value) in pairs {
        match name.as_str() {
            "kb_id" => kb_id = Some(value),
            "chunk_ids" | "chunk_ids[]" => ids.push(value.parse().map_err(|_| {
                ApiError::bad_request(format!("chunk_ids: {value:?} is not an integer"))
            })?),
            "projection" | "projection[]" => projection.push(value),
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {other:?}"
                )))
            }
        }
    }
    let kb_id = kb_id.ok_or_else(|| ApiError::bad_request("kb_id is missing"))?;
    Ok((kb_id, ids, projection))
}

/// The metadata fields a projection may name (kept inside `meta_data`).
const META_FIELDS: [&str; 6] = ["tag1", "tag2", "tag3", "tag4", "tag5", "facets"];

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
        .filter(|p| META_FIELDS.contains(&p.as_str()))
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
        let chunks = state.store.chunks_by_id(&kb_id, &ids)?;
        // Each context's width read once, however many of its chunks are asked for.
        let mut widths = std::collections::HashMap::new();
        let mut out = Vec::with_capacity(chunks.len());
        for chunk in &chunks {
            let width = match widths.get(&chunk.context_id) {
                Some(&width) => width,
                None => {
                    let width = state
                        .public_context(caller.org(), &chunk.context_id)?
                        .and_then(|c| c.ciphertext_shape().ok())
                        .map(|s| s.chunk_bytes);
                    widths.insert(chunk.context_id.clone(), width);
                    width
                }
            };
            out.push(chunk_json(chunk, width, &projection));
        }
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
        let deleted = state.rewrite(&kb_id, || state.store.delete_chunks(&kb_id, &ids))?;
        Ok(Answer::json(json!({ "deleted_count": deleted })))
    })
    .await
}
