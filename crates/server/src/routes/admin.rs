//! The admin plane: knowledge bases and API keys of the organisation whose admin key is given.
//! The work is [`service::knowledge_bases`](crate::service::knowledge_bases)' and
//! [`service::keys`](crate::service::keys)'.

use std::sync::Arc;

use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Value};

use super::answer::Answer;
use super::{blocking, Admin, JsonBody};
use crate::api_error::ApiResult;
use crate::service::{keys, knowledge_bases};
use crate::state::AppState;
use crate::store::{ApiKey, KnowledgeBase};

fn kb_json(kb: &KnowledgeBase) -> Value {
    json!({
        "id": kb.id,
        "name": kb.name,
        "description": kb.description,
        "numberOfVectors": kb.chunks,
        "createdAt": kb.created_at,
        "updatedAt": kb.updated_at,
    })
}

fn key_json(key: &ApiKey) -> Value {
    json!({
        "hash": key.hash,
        "firstN": key.first_n,
        "name": key.name,
        "description": key.description,
        "status": if key.revoked { "revoked" } else { "active" },
        "createdAt": key.created_at,
    })
}

#[derive(Deserialize)]
pub struct NamedBody {
    name: String,
    #[serde(default)]
    description: String,
}

/// GET /api/v1/kbs.
pub async fn list_kbs(State(state): State<Arc<AppState>>, Admin(org): Admin) -> ApiResult<Answer> {
    blocking(move || {
        Ok(Answer::json(
            knowledge_bases::list(&state, &org)?
                .iter()
                .map(kb_json)
                .collect(),
        ))
    })
    .await
}

/// GET /api/v1/kbs/{kb}.
pub async fn get_kb(
    State(state): State<Arc<AppState>>,
    Path(kb): Path<String>,
    Admin(org): Admin,
) -> ApiResult<Answer> {
    blocking(move || {
        Ok(Answer::json(kb_json(&knowledge_bases::get(
            &state, &org, &kb,
        )?)))
    })
    .await
}

/// POST /api/v1/kbs: `{name, description}`.
pub async fn create_kb(
    State(state): State<Arc<AppState>>,
    Admin(org): Admin,
    JsonBody(body): JsonBody<NamedBody>,
) -> ApiResult<Answer> {
    blocking(move || {
        let kb = knowledge_bases::create(&state, org, body.name, body.description)?;
        Ok(Answer::json(kb_json(&kb)))
    })
    .await
}

/// DELETE /api/v1/kbs/{kb}: with its chunks.
pub async fn delete_kb(
    State(state): State<Arc<AppState>>,
    Path(kb): Path<String>,
    Admin(org): Admin,
) -> ApiResult<Answer> {
    blocking(move || {
        knowledge_bases::delete(&state, &org, &kb)?;
        Ok(Answer::json(json!({ "deleted": kb })))
    })
    .await
}

/// GET /api/v1/keys.
pub async fn list_keys(State(state): State<Arc<AppState>>, Admin(org): Admin) -> ApiResult<Answer> {
    blocking(move || {
        Ok(Answer::json(
            keys::list(&state, &org)?.iter().map(key_json).collect(),
        ))
    })
    .await
}

/// POST /api/v1/keys: `{name, description}` → `{apiKey, secretKey}` (the secret shown once).
pub async fn create_key(
    State(state): State<Arc<AppState>>,
    Admin(org): Admin,
    JsonBody(body): JsonBody<NamedBody>,
) -> ApiResult<Answer> {
    blocking(move || {
        let (key, secret) = keys::create(&state, &org, &body.name, &body.description)?;
        Ok(Answer::json(
            json!({ "apiKey": key_json(&key), "secretKey": secret.as_str() }),
        ))
    })
    .await
}

/// GET /api/v1/keys/{hash}/permissions: `[{knowledgeBaseId, permission}]`.
pub async fn permissions(
    State(state): State<Arc<AppState>>,
    Path(hash): Path<String>,
    Admin(org): Admin,
) -> ApiResult<Answer> {
    blocking(move || {
        let list: Vec<Value> = keys::permissions(&state, &org, &hash)?
            .into_iter()
            .map(|(kb, bits)| json!({ "knowledgeBaseId": kb, "permission": bits }))
            .collect();
        Ok(Answer::json(Value::Array(list)))
    })
    .await
}

#[derive(Deserialize)]
pub struct PermissionBody {
    permission: u8,
}

/// PUT /api/v1/keys/{hash}/permissions/{kb}: `{permission}` (1 read, 3 read and write, 7 all).
pub async fn set_permission(
    State(state): State<Arc<AppState>>,
    Path((hash, kb)): Path<(String, String)>,
    Admin(org): Admin,
    JsonBody(body): JsonBody<PermissionBody>,
) -> ApiResult<Answer> {
    blocking(move || {
        keys::set_permission(&state, &org, &hash, &kb, body.permission)?;
        Ok(Answer::json(
            json!({ "knowledgeBaseId": kb, "permission": body.permission }),
        ))
    })
    .await
}

/// PATCH /api/v1/keys/{hash}/status/revoke: refused at once from then on.
pub async fn revoke_key(
    State(state): State<Arc<AppState>>,
    Path(hash): Path<String>,
    Admin(org): Admin,
) -> ApiResult<Answer> {
    blocking(move || {
        keys::revoke(&state, &org, &hash)?;
        Ok(Answer::json(json!({ "hash": hash, "status": "revoked" })))
    })
    .await
}
