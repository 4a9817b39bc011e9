//! Execution contexts: stored exactly as the client sent them (the secret key inside stays
//! sealed; the server reads only the public part), listed, deleted, and their bindings to
//! knowledge bases, after the route has checked who asks.

use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{DeleteContext, PutContext};
use paillier_gpu::context::PublicContext;

/// The deepest nesting of arrays and objects a stored context may hold: a context is a few
/// levels deep, and clients (Python's `json` among them) fail on very deep documents.
pub const MAX_CONTEXT_DEPTH: usize = 16;

/// The answer to a caller that may not see context `id`, or that asks for one that is not there.
pub fn no_context(id: &str) -> ServiceError {
    ServiceError::not_found(format!("no execution context {id}"))
}

/// Stores `data` as context `context_id` of `org`, by the key hashing to `creator_key`. The same
/// bytes again are a success that changes nothing; other bytes under a stored id are a 409.
pub fn store(
    state: &AppState,
    org: &str,
    context_id: &str,
    data: &str,
    creator_key: Option<&str>,
) -> ServiceResult<()> {
    if context_id.is_empty() || context_id.len() > 256 {
        return Err(ServiceError::bad_input(
            "context_id must be 1 to 256 characters",
        ));
    }
    if json_depth(data) > MAX_CONTEXT_DEPTH {
        return Err(ServiceError::bad_input(format!(
            "data nests arrays and objects more than {MAX_CONTEXT_DEPTH} deep; an \
             execution context does not"
        )));
    }
    let context = PublicContext::from_public_json(data)
        .map_err(|e| ServiceError::bad_input(format!("data is not an execution context: {e}")))?;
    let weaknesses = context.config().weaknesses();
    if !weaknesses.is_empty() && !state.allow_weak_contexts {
        return Err(ServiceError::bad_input(weak_context_message(&weaknesses)));
    }
    context.try_ciphertext_shape()?;
    match state
        .store
        .put_context(org, context_id, data, creator_key)?
    {
        PutContext::Created | PutContext::Unchanged => Ok(()),
        PutContext::Conflict => Err(ServiceError::conflict(format!(
            "execution context {context_id} is stored with other contents; a context id \
                 names one context for good (delete it first to store another under its id)"
        ))),
    }
}

/// Every context of `org`: its id and the hash of the key that stored it.
pub fn list(state: &AppState, org: &str) -> ServiceResult<Vec<(String, Option<String>)>> {
    Ok(state.store.contexts(org)?)
}

/// Deletes context `id` of `org` and forgets what was opened or indexed under it; refused (409)
/// while chunks are stored under it.
pub fn delete(state: &AppState, org: &str, id: &str) -> ServiceResult<()> {
    match state.store.delete_context(org, id)? {
        DeleteContext::Deleted => {
            state.forget_context(org, id);
            Ok(())
        }
        DeleteContext::Missing => Err(no_context(id)),
        DeleteContext::InUse(kbs) => Err(ServiceError::conflict(format!(
            "chunks of knowledge bases {kbs:?} are encrypted under execution context \
                 {id}; delete them (or the knowledge bases) first"
        ))),
    }
}

/// The ids of the contexts bound to knowledge base `kb_id`.
pub fn of_kb(state: &AppState, org: &str, kb_id: &str) -> ServiceResult<Vec<String>> {
    Ok(state.store.contexts_of_kb(org, kb_id)?)
}

/// The ids of the knowledge bases context `id` is bound to.
pub fn kbs_of(state: &AppState, org: &str, id: &str) -> ServiceResult<Vec<String>> {
    Ok(state.store.kbs_of_context(org, id)?)
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
