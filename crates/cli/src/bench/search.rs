//! The whole search as a user runs one: the owner encrypts a query, the backend aggregates it
//! over a resident database, the owner decodes every response and keeps the 10 nearest.

use paillier_gpu::hamming::{top_k, Selection, TopK};
use paillier_gpu::{EncryptedIndex, ExecutionContext, Result};

/// Nearest records kept.
pub(super) const SEARCH_TOP_K: usize = 10;

/// One search of `query` over `index`.
pub(super) fn whole_search(
    ctx: &ExecutionContext,
    index: &EncryptedIndex,
    query: &[u8],
) -> Result<TopK> {
    let encrypted = ctx.encrypt_batch(&[query])?;
    let responses = index.aggregate_batch(&encrypted, &Selection::All)?;
    let distances = ctx.decode_batch(&responses)?;
    Ok(top_k(&distances, SEARCH_TOP_K))
}

/// A resident database of `vectors`, encrypted by the owner on the context's backend.
pub(super) fn database(ctx: &ExecutionContext, vectors: &[Vec<u8>]) -> Result<EncryptedIndex> {
    let mut index = ctx.new_index()?;
    index.insert_batch(&ctx.encrypt_batch(vectors)?)?;
    Ok(index)
}
