//! Execution contexts: stored exactly as the client sent them (the secret key inside stays
//! sealed; the server reads only the public part), and their bindings to knowledge bases.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, value::RawValue, Value};

use super::{blocking, Caller, JsonBody};
use crate::context::PublicContext;
use crate::server::error::{ApiError, ApiResult};
use crate::server::state::AppState;

#[derive(Deserialize)]
pub struct StoreBody {
    data: Box<RawValue>,
    context_id: String,
}

/// POST /v1/exec_context/{org}: `{data, context_id}` → `{context_id}`.
pub async fn store(
    State(state): State<Arc<AppState>>,
    Path(org): Path<String>,
    _: Caller,
    JsonBody(body): JsonBody<StoreBody>,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        if body.context_id.is_empty() || body.context_id.len() > 256 {
            return Err(ApiError::bad_request(
                "context_id must be 1 to 256 characters",
            ));
        }
        let data = body.data.get();
        let context = PublicContext::from_json(data)
            .map_err(|e| ApiError::bad_request(format!("data is not an execution context: {e}")))?;
        let weaknesses = context.config().weaknesses();
        if !weaknesses.is_empty() && !state.allow_weak_contexts {
            return Err(ApiError::bad_request(format!(
                "the context is weaker than this server accepts ({}); create a context with \
                 key_len of at least 1024 (and alpha_len of at least 512 for lookup contexts), \
                 or start the server with --allow-weak-contexts",
                weaknesses.join("; ")
            )));
        }
        context.ciphertext_shape()?;
        state.store.put_context(&org, &body.context_id, data)?;
        Ok(Json(json!({ "context_id": body.context_id })))
    })
    .await
}

/// GET /v1/exec_context/{org}/{id}: the stored context, byte for byte.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path((org, id)): Path<(String, String)>,
    _: Caller,
) -> ApiResult<Response> {
    blocking(move || {
        let data = state
            .store
            .context(&org, &id)?
            .ok_or_else(|| ApiError::not_found(format!("no execution context {id}")))?;
        Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(data))
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
}

/// GET /v1/exec_context/{org}: `{contexts: [ids]}`.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(org): Path<String>,
    _: Caller,
) -> ApiResult<Json<Value>> {
    blocking(move || Ok(Json(json!({ "contexts": state.store.context_ids(&org)? })))).await
}

/// DELETE /v1/exec_context/{org}/{id}.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path((org, id)): Path<(String, String)>,
    _: Caller,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        if !state.store.delete_context(&org, &id)? {
            return Err(ApiError::not_found(format!("no execution context {id}")));
        }
        Ok(Json(json!({ "deleted": id })))
    })
    .await
}

/// GET /v1/exec_context/{org}/{kb}/context: `{context_ids}`.
pub async fn of_kb(
    State(state): State<Arc<AppState>>,
    Path((org, kb)): Path<(String, String)>,
    _: Caller,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        Ok(Json(
            json!({ "context_ids": state.store.contexts_of_kb(&org, &kb)? }),
        ))
    })
    .await
}

/// GET /v1/exec_context/{org}/{ctx}/kb: `{kb_ids}`.
pub async fn kbs_of(
    State(state): State<Arc<AppState>>,
    Path((org, ctx)): Path<(String, String)>,
    _: Caller,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        Ok(Json(
            json!({ "kb_ids": state.store.kbs_of_context(&org, &ctx)? }),
        ))
    })
    .await
}

/// POST /v1/exec_context/{org}/{kb}/bind/{ctx}.
pub async fn bind(
    State(state): State<Arc<AppState>>,
    Path((org, kb, ctx)): Path<(String, String, String)>,
    _: Caller,
) -> ApiResult<Json<Value>> {
    blocking(move || {
        if state.store.kb(&org, &kb)?.is_none() {
            return Err(ApiError::not_found(format!("no knowledge base {kb}")));
        }
        if state.store.context(&org, &ctx)?.is_none() {
            return Err(ApiError::not_found(format!("no execution context {ctx}")));
        }
        state.store.bind(&org, &kb, &ctx)?;
        Ok(Json(json!({ "kb_id": kb, "context_id": ctx })))
    })
    .await
}
