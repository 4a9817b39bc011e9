//! Ingest: chunks inserted with every ciphertext of their index checked against the context's
//! key, committed only under the context checked against, and appended to the knowledge base's
//! resident index when it is current (otherwise the next search catches up from the store).

use rayon::prelude::*;
use serde_json::{Map, Value};

use super::pieces::{check_pieces, decode_pieces};
use crate::resident::{context_digest, Committed};
use crate::service::{ServiceError, ServiceResult};
use crate::state::AppState;
use crate::store::{Chunk, NewChunk, StoredContext, MAX_META_BYTES};
use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::paillier::CiphertextBatch;
use paillier_gpu::PublicContext;
use paillier_gpu_api::Chunk as SentChunk;

/// An error unless a chunk's metadata text fits [`MAX_META_BYTES`].
pub fn check_meta_size(meta: &str, what: &str) -> ServiceResult<()> {
    if meta.len() > MAX_META_BYTES {
        return Err(ServiceError::too_large(format!(
            "{what}: meta_data of {} bytes; at most {MAX_META_BYTES}",
            meta.len()
        )));
    }
    Ok(())
}

/// Inserts the `sent` chunks into knowledge base `kb_id` under context `context_id` of `org`
/// (`stored`, as the store held it when the caller was checked), each chunk's pieces decoded
/// and checked against the context's key first (the first bad chunk is the one named); all or
/// none. The chunks' ids, in the order sent.
pub fn insert(
    state: &AppState,
    org: &str,
    kb_id: &str,
    context_id: &str,
    stored: &StoredContext,
    sent: Vec<SentChunk>,
) -> ServiceResult<Vec<i64>> {
    let context = state.open_public(org, context_id, &stored.data)?;
    let chunks = checked_chunks(&context, sent)?;
    let digest = context_digest(&stored.data);
    state.indexes.insert(kb_id, context_id, digest, || {
        // Committed only if the context is still the one checked against.
        let inserted = state
            .store
            .insert_chunks(kb_id, context_id, &stored.data, &chunks)?
            .ok_or_else(|| {
                ServiceError::conflict(format!(
                    "execution context {context_id} was deleted or replaced while these chunks \
                     were checked; nothing was inserted"
                ))
            })?;
        Ok(Committed {
            version: inserted.version,
            chunks: committed(kb_id, context_id, chunks, &inserted.ids),
        })
    })
}

/// The `sent` chunks as the store takes them, each one's pieces decoded and every ciphertext
/// checked against `context`'s key (the first bad chunk is the one named).
pub(super) fn checked_chunks(
    context: &PublicContext,
    sent: Vec<SentChunk>,
) -> ServiceResult<Vec<NewChunk>> {
    checked_chunks_of(context, sent, false)
}

/// [`checked_chunks`], where a chunk may also come with an empty `index`: its vector is sealed
/// in a page the same write sends (the caller checks that one does).
pub(super) fn checked_chunks_of(
    context: &PublicContext,
    sent: Vec<SentChunk>,
    sealed_ok: bool,
) -> ServiceResult<Vec<NewChunk>> {
    let shape = context.try_ciphertext_shape()?;
    // Decoded on every core; the first bad chunk is the one named.
    let decoded: Vec<ServiceResult<NewChunk>> = sent
        .into_par_iter()
        .enumerate()
        .map(|(i, sent)| match sealed_ok && sent.index.is_empty() {
            true => new_chunk_with(i, sent, Vec::new()),
            false => decode_pieces(&sent.index, shape, &format!("chunk {i}"))
                .and_then(|pieces| new_chunk_with(i, sent, pieces)),
        })
        .collect();
    let chunks = decoded
        .into_iter()
        .collect::<ServiceResult<Vec<NewChunk>>>()?;
    check_ciphertexts(context, shape, &chunks)?;
    Ok(chunks)
}

/// The chunks as the store now holds them, with the ids it gave.
pub(super) fn committed(
    kb_id: &str,
    context_id: &str,
    chunks: Vec<NewChunk>,
    ids: &[i64],
) -> Vec<Chunk> {
    chunks
        .into_iter()
        .zip(ids)
        .map(|(c, &id)| Chunk {
            kb_id: kb_id.to_owned(),
            chunk_id: id,
            context_id: context_id.to_owned(),
            name: c.name,
            content: c.content,
            meta_data: c.meta_data,
            pieces: c.pieces,
        })
        .collect()
}

/// Every piece of every chunk a ciphertext of the context's key, checked once by the library as
/// one batch (its check of the factors shared with n costs one gcd for the whole batch, where a
/// batch per chunk would cost one per chunk: half of ingest's time). An error names the first
/// bad chunk and its piece.
fn check_ciphertexts(
    context: &PublicContext,
    shape: CiphertextShape,
    chunks: &[NewChunk],
) -> ServiceResult<()> {
    // Chunks of sealed vectors hold no pieces; an error names a chunk by its place among all.
    let indexed: Vec<usize> = (0..chunks.len())
        .filter(|&i| !chunks[i].pieces.is_empty())
        .collect();
    let mut all_pieces = Vec::with_capacity(indexed.len() * shape.pieces * shape.piece_bytes);
    for &i in &indexed {
        all_pieces.extend_from_slice(&chunks[i].pieces);
    }
    let public_key = context.public_key();
    match CiphertextBatch::from_le_bytes(
        public_key,
        shape.pieces,
        shape.piece_bytes,
        &all_pieces,
        0,
    ) {
        Ok(_) => Ok(()),
        Err(paillier_gpu::Error::InvalidCiphertext { index, reason }) => {
            let index = indexed.get(index).copied().unwrap_or(index);
            let what = format!("chunk {index}");
            if let Some(chunk) = chunks.get(index) {
                // The error path only: the chunk read again a piece to a record names the piece.
                check_pieces(public_key, shape, &chunk.pieces, &what)?;
            }
            Err(ServiceError::bad_input(format!("{what}: {reason}")))
        }
        Err(e) => Err(ServiceError::bad_input(e.to_string())),
    }
}

/// Chunk `i` of an insert with its `pieces` decoded (checked with the others', by
/// [`check_ciphertexts`]).
fn new_chunk_with(i: usize, sent: SentChunk, pieces: Vec<u8>) -> ServiceResult<NewChunk> {
    let what = format!("chunk {i}");
    let meta = match sent.meta_data {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(meta @ Value::Object(_)) => meta,
        Some(_) => {
            return Err(ServiceError::bad_input(format!(
                "chunk {i}: meta_data is not an object"
            )))
        }
    };
    let meta_data = meta.to_string();
    check_meta_size(&meta_data, &what)?;
    Ok(NewChunk {
        name: sent.name.unwrap_or_else(|| format!("chunk_{i}")),
        content: sent.chunk_content,
        meta_data,
        pieces,
    })
}
