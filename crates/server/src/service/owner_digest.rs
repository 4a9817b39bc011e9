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
    let link = write
        .link
        .as_ref()
        .map(|link| link_of(write, link))
        .transpose()?;
    Ok(DigestSwap {
        expected_version: write.expected_version,
        version: write.version,
        sealed,
        link,
    })
}

/// A write's link as the store keeps it, `(prev, link)`: of the version written, on an earlier
/// version (not negative), 32 bytes of standard base64; a 400 otherwise.
fn link_of(write: &api::DigestWrite, link: &api::DigestLink) -> ServiceResult<(i64, Vec<u8>)> {
    if link.version != write.version || !(0..write.version).contains(&link.prev) {
        return Err(ServiceError::bad_input(format!(
            "owner digest: the link is of version {} written on version {}; it must be of the \
             version written ({}), on an earlier one",
            link.version, link.prev, write.version
        )));
    }
    match BASE64.decode(&link.link) {
        Ok(bytes) if bytes.len() == LINK_BYTES => Ok((link.prev, bytes)),
        _ => Err(ServiceError::bad_input(format!(
            "owner digest: the link is not {LINK_BYTES} bytes of standard base64"
        ))),
    }
}

/// A link's length: a SHA-256 or HMAC-SHA256 output.
const LINK_BYTES: usize = 32;

fn too_large(bytes: usize) -> ServiceError {
    ServiceError::too_large(format!(
        "owner digest: about {bytes} sealed bytes; at most {MAX_SEALED_BYTES}"
    ))
}

/// The `since` of a digest read's query (`since=N`, nothing else): a 400 for anything else.
pub fn since_of(query: Option<&str>) -> ServiceResult<Option<i64>> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    query
        .strip_prefix("since=")
        .and_then(|n| n.parse::<i64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ServiceError::bad_input(format!(
                "owner digest: the query is since=N, a version, not {:?}",
                query.chars().take(64).collect::<String>()
            ))
        })
}

/// The digest of `(kb_id, context_id)`, with the knowledge base's next chunk id and count, read
/// at one instant.
///
/// With `since`, the links of the versions after it too, at most [`api::MAX_DIGEST_LINKS`] (a
/// negative `since` is a 400).
pub fn read(
    state: &AppState,
    kb_id: &str,
    context_id: &str,
    since: Option<i64>,
) -> ServiceResult<api::OwnerDigest> {
    if let Some(since) = since.filter(|&since| since < 0) {
        return Err(ServiceError::bad_input(format!(
            "owner digest: since is a version, not negative ({since})"
        )));
    }
    // One more than given, to tell whether more follow.
    let links_after = since.map(|since| (since, api::MAX_DIGEST_LINKS + 1));
    let held = state
        .store
        .owner_digest(kb_id, context_id, links_after)?
        .ok_or_else(|| no_kb(kb_id))?;
    let more_links = held.links.len() > api::MAX_DIGEST_LINKS;
    let links = (held.links.into_iter().take(api::MAX_DIGEST_LINKS))
        .map(|(version, prev, link)| api::DigestLink {
            version,
            prev,
            link: BASE64.encode(link),
        })
        .collect();
    let (version, sealed) = match held.digest {
        Some((version, sealed)) => (version, Some(BASE64.encode(sealed))),
        None => (0, None),
    };
    Ok(api::OwnerDigest {
        version,
        sealed,
        next_chunk_id: held.next_chunk_id,
        chunks: held.chunks,
        links,
        more_links,
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
