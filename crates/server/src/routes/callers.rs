//! Who is calling: the extractors that authenticate a request before its handler runs, and the
//! permission check of a knowledge base.
//!
//! A handler names its caller as an argument ([`Admin`] on the admin plane, [`Caller`] on the
//! data plane), so no handler can forget the check and none repeats it. Both look the key up
//! on the blocking pool (the store is synchronous), and both run before the body is read: an
//! unauthenticated request is a 401 whatever its body.

use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::HeaderMap;

use super::blocking;
use crate::api_error::{ApiError, ApiResult};
use crate::auth::{key_hash, permission};
use crate::service::knowledge_bases::no_kb;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{ApiKey, KnowledgeBase};

/// An admin-plane caller: the organisation whose admin key the request carries (headers
/// `x-xtrace-key` and `x-xtrace-org-id`).
pub struct Admin(pub String);

impl FromRequestParts<Arc<AppState>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Self> {
        let (state, headers) = (Arc::clone(state), parts.headers.clone());
        blocking(move || Ok(admin_org(&state, &headers)?))
            .await
            .map(Admin)
    }
}

/// A data-plane caller, of the organisation the path names as `{org}` (another organisation's
/// id answers 404, as one that does not exist; a route without `{org}` takes any organisation's
/// caller): an API key (header `x-api-key`), known and not revoked, or the organisation's admin
/// key (headers `x-xtrace-key` and `x-xtrace-org-id`), which may do everything an API key with
/// every permission on every knowledge base may.
pub struct Caller {
    org_id: String,
    key: Option<ApiKey>,
}

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> ApiResult<Self> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::rejected(e.status(), e.body_text()))?;
        let org = params
            .iter()
            .find(|(name, _)| *name == "org")
            .map(|(_, value)| value.to_owned());
        let (state, headers) = (Arc::clone(state), parts.headers.clone());
        blocking(move || {
            let caller =
                if headers.contains_key("x-api-key") || !headers.contains_key("x-xtrace-key") {
                    let key = api_key(&state, &headers)?;
                    Caller {
                        org_id: key.org_id.clone(),
                        key: Some(key),
                    }
                } else {
                    Caller {
                        org_id: admin_org(&state, &headers)?,
                        key: None,
                    }
                };
            match org {
                Some(org) if org != caller.org_id => {
                    Err(ServiceError::not_found(format!("no organisation {org}")).into())
                }
                _ => Ok(caller),
            }
        })
        .await
    }
}

/// What [`Caller::kb_access`] granted: the caller holds these permission bits on this knowledge
/// base of its organisation. Made only there, so that what takes one checks nothing again.
pub struct KbGrant {
    kb: KnowledgeBase,
    bits: u8,
}

impl KbGrant {
    /// The knowledge base's id.
    pub fn kb_id(&self) -> &str {
        &self.kb.id
    }

    /// Whether the grant holds every bit of `needed`.
    pub fn holds(&self, needed: u8) -> bool {
        self.bits & needed == needed
    }
}

impl Caller {
    /// The caller's grant on knowledge base `kb_id` of its organisation, if it holds every bit
    /// of `needed` on it.
    pub fn kb_access(&self, state: &AppState, kb_id: &str, needed: u8) -> ServiceResult<KbGrant> {
        let kb = state
            .store
            .kb(&self.org_id, kb_id)?
            .ok_or_else(|| no_kb(kb_id))?;
        let granted = self.permission(state, kb_id)?;
        if granted & needed != needed {
            let what = match needed {
                permission::READ => "read",
                permission::WRITE => "write to",
                _ => "delete from",
            };
            return Err(ServiceError::forbidden(format!(
                "this API key may not {what} knowledge base {kb_id} (its permission is {granted}); \
                 an admin sets it with PUT /api/v1/keys/{{hash}}/permissions/{kb_id}"
            )));
        }
        Ok(KbGrant { kb, bits: granted })
    }

    /// The caller's permission bits on knowledge base `kb_id` (every bit for an admin).
    pub fn permission(&self, state: &AppState, kb_id: &str) -> ServiceResult<u8> {
        let Some(key) = &self.key else {
            return Ok(permission::READ | permission::WRITE | permission::DELETE);
        };
        Ok(state
            .store
            .permissions(&key.hash)?
            .into_iter()
            .find(|(kb, _)| kb == kb_id)
            .map_or(0, |(_, bits)| bits))
    }

    /// Whether the caller holds `needed` on at least one knowledge base (an admin always does).
    pub fn holds_anywhere(&self, state: &AppState, needed: u8) -> ServiceResult<bool> {
        let Some(key) = &self.key else {
            return Ok(true);
        };
        Ok(state
            .store
            .permissions(&key.hash)?
            .iter()
            .any(|(_, bits)| bits & needed == needed))
    }

    /// The caller's organisation.
    pub fn org(&self) -> &str {
        &self.org_id
    }

    /// The hash of the caller's API key; `None` for the organisation's admin.
    pub fn key_hash(&self) -> Option<&str> {
        self.key.as_ref().map(|key| key.hash.as_str())
    }

    /// Whether the caller is the organisation's admin.
    pub fn is_admin(&self) -> bool {
        self.key.is_none()
    }
}

/// The API key of a data-plane request, known and not revoked, whichever its organisation.
fn api_key(state: &AppState, headers: &HeaderMap) -> ServiceResult<ApiKey> {
    let secret = headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ServiceError::unauthenticated("missing x-api-key header"))?;
    let key = state
        .store
        .api_key(&key_hash(secret))?
        .ok_or_else(|| ServiceError::unauthenticated("unknown API key"))?;
    if key.revoked {
        return Err(ServiceError::unauthenticated("this API key was revoked"));
    }
    Ok(key)
}

/// The organisation of an admin-plane request, from its two headers.
fn admin_org(state: &AppState, headers: &HeaderMap) -> ServiceResult<String> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(secret), Some(org_id)) = (header("x-xtrace-key"), header("x-xtrace-org-id")) else {
        return Err(ServiceError::unauthenticated(
            "admin calls need the x-xtrace-key and x-xtrace-org-id headers",
        ));
    };
    match state.store.org_of_admin_key(&key_hash(secret))? {
        Some(org) if org == org_id => Ok(org),
        _ => Err(ServiceError::unauthenticated(
            "unknown admin key for this organisation",
        )),
    }
}
