//! Execution contexts: stored exactly as the client sent them (the secret key inside stays
//! sealed; the server reads only the public part), and their bindings to knowledge bases. Who
//! may do what is [`context_access`](super::context_access)'s.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::answer::Answer;
use super::context_access::{self, may_delete, may_read, no_context, readable};
use super::{blocking, Caller, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::permission;
use crate::state::AppState;
use crate::store::{DeleteContext, PutContext};
use paillier_gpu::context::PublicContext;
use paillier_gpu_client::api::StoreContext;

/// The deepest nesting of arrays and objects a stored context may hold: a context is a few
/// levels deep, and clients (Python's `json` among them) fail on very deep documents.
pub const MAX_CONTEXT_DEPTH: usize = 16;

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
            return Err(ApiError::forbidden(
                "storing an execution context needs write permission on a knowledge base \
                 (or the organisation's admin key)",
            ));
        }
        if body.context_id.is_empty() || body.context_id.len() > 256 {
            return Err(ApiError::bad_request(
                "context_id must be 1 to 256 characters",
            ));
        }
        let data = body.data.get();
        if json_depth(data) > MAX_CONTEXT_DEPTH {
            return Err(ApiError::bad_request(format!(
                "data nests arrays and objects more than {MAX_CONTEXT_DEPTH} deep; an \
                 execution context does not"
            )));
        }
        let context = PublicContext::from_json(data)
            .map_err(|e| ApiError::bad_request(format!("data is not an execution context: {e}")))?;
        let weaknesses = context.config().weaknesses();
        if !weaknesses.is_empty() && !state.allow_weak_contexts {
            return Err(ApiError::bad_request(weak_context_message(&weaknesses)));
        }
        context.ciphertext_shape()?;
        match state
            .store
            .put_context(&org, &body.context_id, data, caller.key_hash())?
        {
            PutContext::Created | PutContext::Unchanged => {
                Ok(Answer::json(json!({ "context_id": body.context_id })))
            }
            PutContext::Conflict => Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "execution context {} is stored with other contents; a context id names one \
                     context for good (delete it first to store another under its id)",
                    body.context_id
                ),
            )),
        }
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
            .map_err(|e| ApiError::bad_request(e.to_string()))
    })
    .await
}

/// GET /v1/exec_context/{org}: `{contexts: [ids]}`, those the caller may read.
pub async fn list(State(state): State<Arc<AppState>>, caller: Caller) -> ApiResult<Answer> {
    blocking(move || {
        let mut ids = Vec::new();
        for (id, creator_key) in state.store.contexts(caller.org())? {
            if may_read(&state, &caller, &id, creator_key.as_deref())? {
                ids.push(id);
            }
        }
        Ok(Answer::json(json!({ "contexts": ids })))
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
            return Err(ApiError::forbidden(format!(
                "this API key may not delete execution context {id}: its creator's key, the \
                 admin, or a key with write permission on every knowledge base it is bound to may"
            )));
        }
        match state.store.delete_context(caller.org(), &id)? {
            DeleteContext::Deleted => {
                state.forget_context(caller.org(), &id);
                Ok(Answer::json(json!({ "deleted": id })))
            }
            DeleteContext::Missing => Err(no_context(&id)),
            DeleteContext::InUse(kbs) => Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "chunks of knowledge bases {kbs:?} are encrypted under execution context \
                     {id}; delete them (or the knowledge bases) first"
                ),
            )),
        }
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
        Ok(Answer::json(
            json!({ "context_ids": state.store.contexts_of_kb(caller.org(), &kb)? }),
        ))
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
        for kb in state.store.kbs_of_context(caller.org(), &ctx)? {
            if caller.permission(&state, &kb)? != 0 {
                kb_ids.push(kb);
            }
        }
        Ok(Answer::json(json!({ "kb_ids": kb_ids })))
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
        context_access::bind(&state, &caller, &kb, &ctx)?;
        Ok(Answer::json(json!({ "kb_id": kb, "context_id": ctx })))
    })
    .await
}

/// How deeply `text` (JSON) nests arrays and objects, brackets inside strings not counted.
pub fn json_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Why a weak context is refused and the ways on. The XTrace SDK's `xtrace init` makes such a
/// context whatever the user chooses, so its users meet this message first.
fn weak_context_message(weaknesses: &[String]) -> String {
    format!(
        "the context is weaker than this server accepts ({}). The XTrace SDK's `xtrace init` \
         always makes such a context (paillier_lookup with alpha_len 50: anyone holding its \
         public key recovers its secret key in minutes). Make a strong one instead, then write \
         the CLI's .env by hand rather than running `xtrace init`: with the SDK's Python, \
         ExecutionContext.create(..., key_len=1024), save_to_disk, then save_to_remote with an \
         API key that may write a knowledge base; or `paillier-gpu context create \
         --sdk-compatible` and `paillier-gpu context push` (the server's docs/sdk-cli.md). For \
         a throwaway test only, start the server with --allow-weak-contexts",
        weaknesses.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::json_depth;

    #[test]
    fn depth_counts_brackets_outside_strings() {
        assert_eq!(json_depth("1"), 0);
        assert_eq!(json_depth(r#"{"a": [1, {"b": "[[[{"}]}"#), 3);
        assert_eq!(json_depth(r#"{"a": "\"[["}"#), 1);
        assert_eq!(json_depth(&"[".repeat(100_000)), 100_000);
    }
}
