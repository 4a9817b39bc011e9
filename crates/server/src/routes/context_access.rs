//! Who may do what with an execution context. A context is an identity: once stored, its id
//! names those bytes, for every caller (admins included) until it is deleted.
//!
//! - **Read** it (its JSON, sealed secret key included; list it; run inference under it; see
//!   the knowledge bases it is bound to): its creator's key, the organisation's admin, or a key
//!   with read permission on a knowledge base it is bound to.
//! - **Store** one: a key with write permission on at least one knowledge base, or the admin.
//! - **Bind** it to a knowledge base (inserting chunks under it binds it too): write permission
//!   on that knowledge base, and either read access to the context or an existing binding of
//!   the two (binding shows the context to the knowledge base's readers).
//! - **Delete** it: its creator's key, the admin, or a key with write permission on every
//!   knowledge base it is bound to (at least one); never while chunks are stored under it.
//!
//! A caller that may not read a context is told it does not exist (404), as for another
//! organisation's, so that ids cannot be probed.

use super::callers::KbGrant;
use super::Caller;
use crate::auth::permission;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::StoredContext;

/// The answer to a caller that may not see context `id`, or that asks for one that is not there.
pub use crate::service::contexts::no_context;

/// Whether `caller` may read the context `id`, stored by the key hashing to `creator_key`.
pub fn may_read(
    state: &AppState,
    caller: &Caller,
    id: &str,
    creator_key: Option<&str>,
) -> ServiceResult<bool> {
    if caller.is_admin() || is_creator(caller, creator_key) {
        return Ok(true);
    }
    for kb in state.store.kbs_of_context(caller.org(), id)? {
        if caller.permission(state, &kb)? & permission::READ != 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether `caller` may delete the context `id`.
pub fn may_delete(
    state: &AppState,
    caller: &Caller,
    id: &str,
    stored: &StoredContext,
) -> ServiceResult<bool> {
    if caller.is_admin() || is_creator(caller, stored.creator_key.as_deref()) {
        return Ok(true);
    }
    let bound = state.store.kbs_of_context(caller.org(), id)?;
    if bound.is_empty() {
        return Ok(false);
    }
    for kb in &bound {
        if caller.permission(state, kb)? & permission::WRITE == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The stored context `id` if `caller` may read it; 404 otherwise.
pub fn readable(state: &AppState, caller: &Caller, id: &str) -> ServiceResult<StoredContext> {
    match state.store.context(caller.org(), id)? {
        Some(stored) if may_read(state, caller, id, stored.creator_key.as_deref())? => Ok(stored),
        _ => Err(no_context(id)),
    }
}

/// The stored context `id` (read once), unless it is not stored or neither bound to the
/// granted knowledge base nor readable by `caller`: then a 404, as for a context that does not
/// exist, so that searching or editing a knowledge base under a context says nothing of
/// contexts the caller may not see.
pub fn usable_in_kb(
    state: &AppState,
    caller: &Caller,
    grant: &KbGrant,
    id: &str,
) -> ServiceResult<StoredContext> {
    bound_or_readable(state, caller, grant.kb_id(), id).map(|(_, stored)| stored)
}

/// Binds context `id` to the granted knowledge base, which needs write permission on it (the
/// grant's) and read access to the context unless the two are bound already. The stored
/// context, read once.
pub fn bind(
    state: &AppState,
    caller: &Caller,
    grant: &KbGrant,
    id: &str,
) -> ServiceResult<StoredContext> {
    if !grant.holds(permission::WRITE) {
        return Err(ServiceError::forbidden(format!(
            "binding a context to knowledge base {} needs write permission on it",
            grant.kb_id()
        )));
    }
    let kb_id = grant.kb_id();
    let (bound, stored) = bound_or_readable(state, caller, kb_id, id)?;
    // Deleted since it was read (by another request or replica): nothing is bound.
    if !bound && !state.store.bind(caller.org(), kb_id, id)? {
        return Err(no_context(id));
    }
    Ok(stored)
}

/// Whether context `id` is bound to `kb_id` already (false: not bound, but `caller` may read
/// it), and the context; 404 when it is not stored, or neither bound nor readable.
fn bound_or_readable(
    state: &AppState,
    caller: &Caller,
    kb_id: &str,
    id: &str,
) -> ServiceResult<(bool, StoredContext)> {
    let stored = state
        .store
        .context(caller.org(), id)?
        .ok_or_else(|| no_context(id))?;
    let bound = state
        .store
        .contexts_of_kb(caller.org(), kb_id)?
        .iter()
        .any(|c| c == id);
    if bound || may_read(state, caller, id, stored.creator_key.as_deref())? {
        return Ok((bound, stored));
    }
    Err(no_context(id))
}

fn is_creator(caller: &Caller, creator_key: Option<&str>) -> bool {
    matches!((caller.key_hash(), creator_key), (Some(key), Some(creator)) if key == creator)
}
