//! The owner's digest of a knowledge base's records under one context: sealed bytes the server
//! keeps for its owner and never reads, with a version that only a compare-and-set moves, so
//! that another machine of the owner can take it up and no two writers both replace one
//! version.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::service::knowledge_bases::no_kb;
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{DigestSwap, DigestWritten};
use paillier_gpu_api as api;

/// The largest sealed digest, decoded: past it a write is a 413. 4 MiB leaves room for a
/// partition model (about 100 bytes a partition and 64 to 128 bytes a centroid, for up to
/// 4,000 partitions) beside the records' digest; its base64 (5.4 MiB) is well within the
/// default body limit (64 MiB, `--max-body-bytes`).
pub const MAX_SEALED_BYTES: usize = paillier_gpu::verifiable::OwnerDigest::MAX_SEALED_BYTES;

/// A digest write as the store takes it: versions not negative (a 400), the sealed bytes
/// standard base64 (a 400) of at most [`MAX_SEALED_BYTES`] (a 413). Whether the versions fit
/// what is stored is the store's compare-and-set.
pub fn swap_of(write: &api::DigestWrite) -> ServiceResult<DigestSwap> {
    if write.expected_version < 0 || write.version < 0 {
        return Err(ServiceError::bad_input(format!(
            "owner digest: versions are not negative (expected_version {}, version {})",
            write.expected_version, write.version
        )));
    }
    // Refused before decoding: base64 holds 3 bytes in every 4 characters.
    if write.sealed.len() / 4 * 3 > MAX_SEALED_BYTES + 3 {
        return Err(too_large(write.sealed.len() / 4 * 3));
    }
    let sealed = BASE64
        .decode(&write.sealed)
        .map_err(|e| ServiceError::bad_input(format!("owner digest: sealed is not base64: {e}")))?;
    if sealed.len() > MAX_SEALED_BYTES {
        return Err(too_large(sealed.len()));
    }
    Ok(DigestSwap {
        expected_version: write.expected_version,
        version: write.version,
        sealed,
    })
}

fn too_large(bytes: usize) -> ServiceError {
    ServiceError::too_large(format!(
        "owner digest: about {bytes} sealed bytes; at most {MAX_SEALED_BYTES}"
    ))
}

/// The digest of `(kb_id, context_id)`, with the knowledge base's next chunk id and count, read
/// at one instant.
pub fn read(state: &AppState, kb_id: &str, context_id: &str) -> ServiceResult<api::OwnerDigest> {
    let held = state
        .store
        .owner_digest(kb_id, context_id)?
        .ok_or_else(|| no_kb(kb_id))?;
    let (version, sealed) = match held.digest {
        Some((version, sealed)) => (version, Some(BASE64.encode(sealed))),
        None => (0, None),
    };
    Ok(api::OwnerDigest {
        version,
        sealed,
        next_chunk_id: held.next_chunk_id,
        chunks: held.chunks,
    })
}

/// Replaces the digest of `(kb_id, context_id)` by compare-and-set; a
/// [`ServiceError::DigestConflict`], and nothing written, when the stored version is not the
/// one expected.
pub fn put(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    write: &api::DigestWrite,
) -> ServiceResult<api::PutOwnerDigest> {
    let swap = swap_of(write)?;
    let written = state.store.put_owner_digest(kb_id, context_id, &swap)?;
    let (_, _, next_chunk_id) = committed(written, kb_id, context_id)?;
    Ok(api::PutOwnerDigest {
        version: swap.version,
        next_chunk_id,
    })
}

/// What a committed digest write did, `(chunk_ids, kb_version, next_chunk_id)`; each of the
/// store's refusals as the service's error.
pub(super) fn committed(
    written: DigestWritten,
    kb_id: &str,
    context_id: &str,
) -> ServiceResult<(Vec<i64>, i64, i64)> {
    match written {
        DigestWritten::Written {
            chunk_ids,
            kb_version,
            next_chunk_id,
        } => Ok((chunk_ids, kb_version, next_chunk_id)),
        DigestWritten::Conflict(conflict) => Err(ServiceError::DigestConflict {
            current_version: conflict.current_version,
            next_chunk_id: conflict.next_chunk_id,
        }),
        DigestWritten::Missing(ids) => Err(ServiceError::not_found(format!(
            "no chunks {ids:?} in knowledge base {kb_id}; nothing was written"
        ))),
        DigestWritten::OtherContext(id, other) => Err(ServiceError::conflict(format!(
            "chunk {id} is stored under execution context {other}, not {context_id}; a chunk \
             keeps its context; nothing was written"
        ))),
        DigestWritten::ContextChanged => Err(ServiceError::conflict(format!(
            "execution context {context_id} was deleted or replaced while these chunks were \
             checked; nothing was written"
        ))),
        DigestWritten::NoKb => Err(no_kb(kb_id)),
    }
}
