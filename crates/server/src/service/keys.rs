//! API keys of an organisation: created (the secret shown once), listed, given permissions on
//! its knowledge bases, revoked, after the route has checked the admin key.

use zeroize::Zeroizing;

use super::knowledge_bases::{self, check_name};
use crate::auth::{first_n, key_hash, new_secret, SHOWN_CHARACTERS};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{now, ApiKey};

/// How many keys `create` draws before it gives up on finding distinct first characters.
pub const KEY_DRAWS: usize = 64;

/// The API keys of `org`.
pub fn list(state: &AppState, org: &str) -> ServiceResult<Vec<ApiKey>> {
    Ok(state.store.api_keys(org)?)
}

/// A new API key of `org`, and its secret (which the server keeps only the hash of).
pub fn create(
    state: &AppState,
    org: &str,
    name: &str,
    description: &str,
) -> ServiceResult<(ApiKey, Zeroizing<String>)> {
    check_name(name)?;
    // Draw again while the first characters match one of the organisation's keys: the SDK's
    // CLI tells keys apart by them alone. With 2^20 of them, a clash is rare until an
    // organisation holds hundreds of thousands of keys.
    for _ in 0..KEY_DRAWS {
        let secret = new_secret();
        let key = ApiKey {
            hash: key_hash(&secret),
            org_id: org.to_string(),
            name: name.to_string(),
            description: description.to_string(),
            first_n: first_n(&secret),
            revoked: false,
            created_at: now(),
        };
        if state.store.create_api_key(&key)? {
            return Ok((key, secret));
        }
    }
    Err(ServiceError::conflict(format!(
        "no new key whose first {SHOWN_CHARACTERS} characters differ from the \
             organisation's other keys was found in {KEY_DRAWS} draws: it holds too many keys"
    )))
}

fn key_of_org(state: &AppState, org: &str, hash: &str) -> ServiceResult<ApiKey> {
    match state.store.api_key(hash)? {
        Some(key) if key.org_id == org => Ok(key),
        _ => Err(ServiceError::not_found(format!("no API key {hash}"))),
    }
}

/// The permissions of key `hash` of `org`: `(knowledge base id, bits)`.
pub fn permissions(state: &AppState, org: &str, hash: &str) -> ServiceResult<Vec<(String, u8)>> {
    key_of_org(state, org, hash)?;
    Ok(state.store.permissions(hash)?)
}

/// Gives key `hash` of `org` the permission `bits` (1 read, 2 write, 4 delete, summed) on
/// knowledge base `kb_id` of `org`.
pub fn set_permission(
    state: &AppState,
    org: &str,
    hash: &str,
    kb_id: &str,
    bits: u8,
) -> ServiceResult<()> {
    key_of_org(state, org, hash)?;
    knowledge_bases::get(state, org, kb_id)?;
    if bits > 7 {
        return Err(ServiceError::bad_input(
            "permission is a sum of 1 (read), 2 (write) and 4 (delete)",
        ));
    }
    state.store.set_permission(hash, kb_id, bits)?;
    Ok(())
}

/// Revokes key `hash` of `org`: refused at once from then on.
pub fn revoke(state: &AppState, org: &str, hash: &str) -> ServiceResult<()> {
    if !state.store.revoke_api_key(org, hash)? {
        return Err(ServiceError::not_found(format!("no API key {hash}")));
    }
    Ok(())
}
