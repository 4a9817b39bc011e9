//! The admin plane: knowledge bases and API keys of the organisation whose admin key is given.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::answer::Answer;
use super::{blocking, Admin, JsonBody};
use crate::api_error::{ApiError, ApiResult};
use crate::auth::{first_n, key_hash, new_id, new_secret, SHOWN_CHARACTERS};
use crate::state::AppState;
use crate::store::now;
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

fn check_name(name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.len() > 256 {
        return Err(ApiError::bad_request("name must be 1 to 256 characters"));
    }
    Ok(())
}

/// GET /api/v1/kbs.
pub async fn list_kbs(State(state): State<Arc<AppState>>, Admin(org): Admin) -> ApiResult<Answer> {
    blocking(move || {
        Ok(Answer::json(
            state.store.kbs(&org)?.iter().map(kb_json).collect(),
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
        let found = state
            .store
            .kb(&org, &kb)?
            .ok_or_else(|| ApiError::not_found(format!("no knowledge base {kb}")))?;
        Ok(Answer::json(kb_json(&found)))
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
        check_name(&body.name)?;
        let created_at = now();
        let kb = KnowledgeBase {
            id: new_id("kb"),
            org_id: org,
            name: body.name,
            description: body.description,
            chunks: 0,
            created_at: created_at.clone(),
            updated_at: created_at,
        };
        state.store.create_kb(&kb)?;
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
        state.rewrite(&kb, || match state.store.delete_kb(&org, &kb)? {
            true => Ok(()),
            false => Err(ApiError::not_found(format!("no knowledge base {kb}"))),
        })?;
        state.forget(&kb);
        Ok(Answer::json(json!({ "deleted": kb })))
    })
    .await
}

/// GET /api/v1/keys.
pub async fn list_keys(State(state): State<Arc<AppState>>, Admin(org): Admin) -> ApiResult<Answer> {
    blocking(move || {
        Ok(Answer::json(
            state.store.api_keys(&org)?.iter().map(key_json).collect(),
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
        check_name(&body.name)?;
        // Draw again while the first characters match one of the organisation's keys: the SDK's
        // CLI tells keys apart by them alone. With 2^20 of them, a clash is rare until an
        // organisation holds hundreds of thousands of keys.
        for _ in 0..KEY_DRAWS {
            let secret = new_secret();
            let key = ApiKey {
                hash: key_hash(&secret),
                org_id: org.clone(),
                name: body.name.clone(),
                description: body.description.clone(),
                first_n: first_n(&secret),
                revoked: false,
                created_at: now(),
            };
            if state.store.create_api_key(&key)? {
                return Ok(Answer::json(
                    json!({ "apiKey": key_json(&key), "secretKey": secret.as_str() }),
                ));
            }
        }
        Err(ApiError::new(
            StatusCode::CONFLICT,
            format!(
                "no new key whose first {SHOWN_CHARACTERS} characters differ from the \
                 organisation's other keys was found in {KEY_DRAWS} draws: it holds too many keys"
            ),
        ))
    })
    .await
}

/// How many keys `create_key` draws before it gives up on finding distinct first characters.
const KEY_DRAWS: usize = 64;

fn key_of_org(state: &AppState, org: &str, hash: &str) -> ApiResult<ApiKey> {
    match state.store.api_key(hash)? {
        Some(key) if key.org_id == org => Ok(key),
        _ => Err(ApiError::not_found(format!("no API key {hash}"))),
    }
}

/// GET /api/v1/keys/{hash}/permissions: `[{knowledgeBaseId, permission}]`.
pub async fn permissions(
    State(state): State<Arc<AppState>>,
    Path(hash): Path<String>,
    Admin(org): Admin,
) -> ApiResult<Answer> {
    blocking(move || {
        key_of_org(&state, &org, &hash)?;
        let list: Vec<Value> = state
            .store
            .permissions(&hash)?
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
        key_of_org(&state, &org, &hash)?;
        if state.store.kb(&org, &kb)?.is_none() {
            return Err(ApiError::not_found(format!("no knowledge base {kb}")));
        }
        if body.permission > 7 {
            return Err(ApiError::bad_request(
                "permission is a sum of 1 (read), 2 (write) and 4 (delete)",
            ));
        }
        state.store.set_permission(&hash, &kb, body.permission)?;
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
        if !state.store.revoke_api_key(&org, &hash)? {
            return Err(ApiError::not_found(format!("no API key {hash}")));
        }
        Ok(Answer::json(json!({ "hash": hash, "status": "revoked" })))
    })
    .await
}
