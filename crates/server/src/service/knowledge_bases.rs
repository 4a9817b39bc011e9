//! Knowledge bases of an organisation: created, listed, read, and deleted with their chunks and
//! this replica's resident indexes of them, after the route has checked the admin key.

use crate::auth::new_id;
use crate::resident::Change;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{now, KnowledgeBase};

/// An error unless `name` is 1 to 256 characters, not all of them blank.
pub fn check_name(name: &str) -> ServiceResult<()> {
    if name.trim().is_empty() || name.len() > 256 {
        return Err(ServiceError::bad_input("name must be 1 to 256 characters"));
    }
    Ok(())
}

/// The answer to a caller that asks for a knowledge base that is not there (or not its
/// organisation's).
pub fn no_kb(kb_id: &str) -> ServiceError {
    ServiceError::not_found(format!("no knowledge base {kb_id}"))
}

/// The knowledge bases of `org`.
pub fn list(state: &AppState, org: &str) -> ServiceResult<Vec<KnowledgeBase>> {
    Ok(state.store.kbs(org)?)
}

/// Knowledge base `kb_id` of `org`; 404 when there is none.
pub fn get(state: &AppState, org: &str, kb_id: &str) -> ServiceResult<KnowledgeBase> {
    state.store.kb(org, kb_id)?.ok_or_else(|| no_kb(kb_id))
}

/// A new, empty knowledge base of `org`.
pub fn create(
    state: &AppState,
    org: String,
    name: String,
    description: String,
) -> ServiceResult<KnowledgeBase> {
    check_name(&name)?;
    let created_at = now();
    let kb = KnowledgeBase {
        id: new_id("kb"),
        org_id: org,
        name,
        description,
        chunks: 0,
        created_at: created_at.clone(),
        updated_at: created_at,
    };
    state.store.create_kb(&kb)?;
    Ok(kb)
}

/// Deletes knowledge base `kb_id` of `org` with its chunks, and forgets its resident indexes.
pub fn delete(state: &AppState, org: &str, kb_id: &str) -> ServiceResult<()> {
    state
        .indexes
        .rewrite(kb_id, || match state.store.delete_kb(org, kb_id)? {
            true => Ok(((), Change::Undescribed)),
            false => Err(no_kb(kb_id)),
        })?;
    state.indexes.forget_kb(kb_id);
    Ok(())
}
