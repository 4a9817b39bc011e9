//! Edits by metadata: deleting, or merging metadata fields into, the chunks of a knowledge base
//! under a context that a filter selects (with a dry run to count them first). The route has
//! checked who asks and that the filter selects something less than everything.

use serde_json::{Map, Value};

use super::edits::{apply, delete_by_id};
use super::ingest::check_meta_size;
use super::select::matching;
use crate::cancel::Cancel;
use crate::metadata;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::ChunkPatch;

/// What a delete or patch by metadata did, or would do.
pub enum Outcome {
    /// A dry run: the ids of the chunks selected; nothing was changed.
    Would(Vec<i64>),
    /// How many chunks were changed, and the ids (a delete's: those selected; a patch's: those
    /// patched).
    Done { count: usize, ids: Vec<i64> },
}

/// Deletes the chunks of `(kb_id, context_id)` that `filter` (a `meta_filter` as sent)
/// selects, unless `dry_run`.
pub fn delete_by_meta(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    filter: &Value,
    dry_run: bool,
    cancel: &Cancel,
) -> ServiceResult<Outcome> {
    let found = matching(state, kb_id, context_id, Some(filter), cancel)?;
    let ids: Vec<i64> = found.iter().map(|c| c.chunk_id).collect();
    if dry_run {
        return Ok(Outcome::Would(ids));
    }
    let deleted = delete_by_id(state, kb_id, &ids)?;
    Ok(Outcome::Done {
        count: deleted,
        ids,
    })
}

/// Merges `patch` (an object of metadata fields `tag1` … `tag5` and `facets`, as sent) into
/// the metadata of the chunks of `(kb_id, context_id)` that `filter` (a `meta_filter` as sent)
/// selects, unless `dry_run`; all or none.
pub fn patch_by_meta(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    filter: &Value,
    patch: Option<Value>,
    dry_run: bool,
    cancel: &Cancel,
) -> ServiceResult<Outcome> {
    let changes: Map<String, Value> = match patch {
        Some(Value::Object(map)) => map,
        _ => {
            return Err(ServiceError::bad_input(
                "patch is an object of metadata fields to set",
            ))
        }
    };
    if let Some(field) = changes
        .keys()
        .find(|k| !metadata::FIELDS.contains(&k.as_str()))
    {
        return Err(ServiceError::bad_input(format!(
            "patch sets metadata fields tag1 … tag5 and facets, not {field:?}"
        )));
    }
    check_meta_size(&Value::Object(changes.clone()).to_string(), "patch")?;
    let found = matching(state, kb_id, context_id, Some(filter), cancel)?;
    let ids: Vec<i64> = found.iter().map(|c| c.chunk_id).collect();
    if dry_run {
        return Ok(Outcome::Would(ids));
    }
    let patches = ids
        .iter()
        .map(|&id| {
            (
                id,
                ChunkPatch {
                    meta_data: Some(changes.clone()),
                    ..ChunkPatch::default()
                },
            )
        })
        .collect();
    let patched = apply(state, kb_id, context_id, patches)?;
    Ok(Outcome::Done {
        count: patched.len(),
        ids: patched,
    })
}
