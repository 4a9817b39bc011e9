//! Execution contexts: stored exactly as the client sent them (the secret key inside stays
//! sealed; the server reads only the public part), and their bindings to knowledge bases. Who
//! may do what is [`context_access`](super::context_access)'s; the work is
//! [`service::contexts`](crate::service::contexts)'.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::Response;
use serde_json::json;

use super::answer::Answer;
use super::context_access::{self, may_delete, may_read, readable};
use super::{blocking, Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::service::contexts;
use crate::service::ServiceError;
use crate::state::AppState;
use paillier_gpu_api::{self as api, StoreContext};

/// POST /v1/exec_context/{org}: `{data, context_id}` → `{context_id}`. The same bytes again
/// are a success that changes nothing; other bytes under a stored id are a 409.
pub async fn store(
    State(state): State<Arc<AppState>>,
    Path(org): Path<String>,
    caller: Caller,
    JsonBody(body): JsonBody<StoreContext>,
) -> ApiResult<Answer> {
    blocking(move || {
        if !caller.holds_anywhere(&state, permission::WRITE)? {
            return Err(ServiceError::forbidden(
                "storing an execution context needs write permission on a knowledge base \
                 (or the organisation's admin key)",
            )
            .into());
        }
        contexts::store(
            &state,
            &org,
            &body.context_id,
            body.data.get(),
            caller.key_hash(),
        )?;
        Answer::of(&api::ContextStored {
            context_id: Some(body.context_id),
        })
    })
    .await
}

/// GET /v1/exec_context/{org}/{id}: the stored context, byte for byte.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path((_, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Response> {
    blocking(move || {
        let stored = readable(&state, &caller, &id)?;
        Response::builder()
            .header(CONTENT_TYPE, "application/json")
            .body(Body::from(stored.data))
            .map_err(|e| ApiError::Answer(e.to_string()))
    })
    .await
}

/// GET /v1/exec_context/{org}: `{contexts: [ids]}`, those the caller may read.
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Answer> {
    blocking(move || {
        let mut ids = Vec::new();
        for (id, creator_key) in contexts::list(&state, caller.org())? {
            if may_read(&state, &caller, &id, creator_key.as_deref())? {
                ids.push(id);
            }
        }
        Answer::of(&api::Contexts { contexts: ids })
    })
    .await
}

/// DELETE /v1/exec_context/{org}/{id}: refused (409) while chunks are stored under it.
pub async fn delete(
    State(state): State<Arc<AppState>>,
    Path((_, id)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Answer> {
    blocking(move || {
        let stored = readable(&state, &caller, &id)?;
        if !may_delete(&state, &caller, &id, &stored)? {
            return Err(ServiceError::forbidden(format!(
                "this API key may not delete execution context {id}: its creator's key, the \
                 admin, or a key with write permission on every knowledge base it is bound to may"
            ))
            .into());
        }
        contexts::delete(&state, caller.org(), &id)?;
        Ok(Answer::json(json!({ "deleted": id })))
    })
    .await
}

/// GET /v1/exec_context/{org}/{kb}/context: `{context_ids}` (read permission on the knowledge
/// base).
pub async fn of_kb(
    State(state): State<Arc<AppState>>,
    Path((_, kb)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Answer> {
    blocking(move || {
        caller.kb_access(&state, &kb, permission::READ)?;
        Answer::of(&api::ContextsOfKb {
            context_ids: contexts::of_kb(&state, caller.org(), &kb)?,
        })
    })
    .await
}

/// GET /v1/exec_context/{org}/{ctx}/kb: `{kb_ids}`, those of the context's knowledge bases on
/// which the caller holds a permission (read access to the context needed).
pub async fn kbs_of(
    State(state): State<Arc<AppState>>,
    Path((_, ctx)): Path<(String, String)>,
    caller: Caller,
) -> ApiResult<Answer> {
    blocking(move || {
        readable(&state, &caller, &ctx)?;
        let mut kb_ids = Vec::new();
        for kb in contexts::kbs_of(&state, caller.org(), &ctx)? {
            if caller.permission(&state, &kb)? != 0 {
                kb_ids.push(kb);
            }
        }
        Answer::of(&api::KbsOfContext { kb_ids })
    })
    .await
}

/// POST /v1/exec_context/{org}/{kb}/bind/{ctx}.
pub async fn bind(
    State(state): State<Arc<AppState>>,
    Path((_, kb, ctx)): Path<(String, String, String)>,
    caller: Caller,
) -> ApiResult<Answer> {
    blocking(move || {
        let grant = caller.kb_access(&state, &kb, permission::WRITE)?;
        context_access::bind(&state, &caller, &grant, &ctx)?;
        Answer::of(&api::Bound {
            kb_id: kb,
            context_id: ctx,
        })
    })
    .await
}
