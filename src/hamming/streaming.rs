//! The search backend's aggregation over a database that streams past it (from a file, a
//! socket) block by block, instead of one held in an [`EncryptedIndex`](super::EncryptedIndex):
//! memory stays at one block whatever the database's size, and the reader, the products and the
//! writer reuse their buffers.

use crate::error::{Error, Result};
use crate::hazmat::backend::Backend;
use crate::paillier::{CiphertextBatch, PublicKey};

/// Records per block on the CPU: a few hundred KB of ciphertexts, enough for every core to
/// share and small enough to stay in cache from the reader to the writer.
const CPU_BLOCK_RECORDS: usize = 1024;
/// Records per block on a GPU: tens of MB, so that a dispatch's fixed cost is spread thin.
const GPU_BLOCK_RECORDS: usize = 1 << 16;

/// The block size [`aggregate_blocks`] suits on `backend` for records of `chunks` ciphertexts.
pub fn stream_block_records(backend: &dyn Backend, chunks: usize) -> usize {
    let chunks = chunks.max(1);
    if backend.runs_on_cpu(GPU_BLOCK_RECORDS * chunks) {
        CPU_BLOCK_RECORDS
    } else {
        GPU_BLOCK_RECORDS
    }
}

/// Multiplies the encrypted `query` (one record) into every record that `next_block` gives,
/// handing each block's responses to `sink` before the next block is read; returns the records
/// answered.
///
/// `next_block(max, block)` appends at most `max` records to the (emptied) `block` and returns
/// how many, 0 at the end; [`CiphertextReader::read_block`] is one. The responses of a block come
/// in its order, each `Enc(x)·Enc(q) mod n²`, as [`EncryptedIndex::aggregate_batch`] gives them.
/// An error from either callback stops the stream and is returned.
///
/// [`CiphertextReader::read_block`]: crate::formats::ciphertexts::CiphertextReader::read_block
/// [`EncryptedIndex::aggregate_batch`]: super::EncryptedIndex::aggregate_batch
///
/// ```
/// # use paillier_gpu::{ContextOptions, ExecutionContext};
/// use paillier_gpu::hamming::aggregate_blocks;
/// # let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
/// let ctx = ExecutionContext::create_with_passphrase(&options, "p").unwrap();
/// let database = ctx.encrypt_batch(&[[0u8; 8], [1; 8], [0; 8]]).unwrap();
/// let query = ctx.encrypt_batch(&[[1u8; 8]]).unwrap();
/// let mut next = 0;
/// let mut distances = Vec::new();
/// aggregate_blocks(
///     ctx.public().backend().unwrap().as_ref(),
///     ctx.public().public_key(),
///     &query,
///     2,
///     |max, block| {
///         // Two records at most per block, from the batch standing in for a file.
///         let end = (next + max).min(database.records());
///         block.extend(&database.records_in(next..end)?)?;
///         let read = end - next;
///         next = end;
///         Ok(read)
///     },
///     |responses| Ok(distances.extend(ctx.decode_batch(responses)?)),
/// )
/// .unwrap();
/// assert_eq!(distances, vec![8, 0, 8]);
/// ```
pub fn aggregate_blocks(
    backend: &dyn Backend,
    public_key: &PublicKey,
    query: &CiphertextBatch,
    records_per_block: usize,
    mut next_block: impl FnMut(usize, &mut CiphertextBatch) -> Result<usize>,
    mut sink: impl FnMut(&CiphertextBatch) -> Result<()>,
) -> Result<usize> {
    query.key().expect(
        &public_key.fingerprint(),
        "the query",
        "the public key given is",
    )?;
    if query.records() != 1 {
        return Err(Error::InvalidCiphertext {
            index: 0,
            reason: format!("the query holds {} records, not 1", query.records()),
        });
    }
    if records_per_block == 0 {
        return Err(Error::InvalidParameter(
            "records_per_block must be at least 1".into(),
        ));
    }
    let chunks = query.pieces_per_record();
    let modulus = public_key.n_squared_modulus();
    let mut block = CiphertextBatch::new(public_key, chunks)?;
    let mut answered = 0;
    loop {
        block.clear();
        let read = next_block(records_per_block, &mut block)?;
        if read == 0 {
            return Ok(answered);
        }
        let products = backend
            .modmul(modulus, block.limbs(), query.limbs())
            .map_err(|e| Error::from(e).with_index_offset(answered))?;
        let responses = CiphertextBatch::from_products(block.key(), chunks, products);
        sink(&responses)?;
        answered += block.records();
    }
}
