//! Encrypted Hamming distance search over binary vectors.
//!
//! * [`VectorLayout`] packs a binary vector into plaintexts: bit `b_i` becomes the two-bit slot
//!   `0 b_i`, most significant first, so adding two packed vectors never carries out of a slot
//!   and the low bit of every slot is the XOR of the inputs.
//! * The owner encrypts vectors ([`encrypt_batch`]) and decodes aggregated results into
//!   distances ([`decode_batch`], [`top_k`]). Ciphertexts travel as one
//!   [`CiphertextBatch`] (flat limbs, one record per vector); [`EncryptedVector`] is the
//!   per-vector form of the SDK's files and of callers holding big integers, turned into a
//!   batch at the edge.
//! * The search backend keeps an [`EncryptedIndex`] built from the public key alone and
//!   multiplies every stored ciphertext with the encrypted query
//!   ([`EncryptedIndex::aggregate_batch`]);
//!   a database too large to hold, or read once, streams past the query instead
//!   ([`aggregate_blocks`]).

mod client;
mod index;
mod layout;
pub mod response_check;
mod streaming;

pub use client::{decode_batch, encrypt_batch, top_k, TopK};
pub use index::{EncryptedIndex, Selection};
pub use layout::VectorLayout;
pub use streaming::{aggregate_blocks, stream_block_records};

use crate::error::{Error, Result};
use crate::paillier::{Ciphertext, CiphertextBatch, PublicKey};

/// One encrypted vector: one ciphertext per chunk (a single chunk whenever `embed_len < key_len`,
/// which is every context the Python SDK can make).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedVector {
    /// The chunks, in order.
    pub chunks: Vec<Ciphertext>,
}

impl EncryptedVector {
    /// Wraps a list of chunk ciphertexts.
    pub fn new(chunks: Vec<Ciphertext>) -> Self {
        Self { chunks }
    }

    /// Checks `vectors` against `public_key` (each of `chunks` ciphertexts, each `0 < c < n²`)
    /// and gathers them into one batch. Errors name the vector.
    pub fn to_batch(
        public_key: &PublicKey,
        chunks: usize,
        vectors: &[EncryptedVector],
    ) -> Result<CiphertextBatch> {
        for (index, vector) in vectors.iter().enumerate() {
            if vector.chunks.len() != chunks {
                return Err(Error::InvalidCiphertext {
                    index,
                    reason: format!("{} chunks where {chunks} are expected", vector.chunks.len()),
                });
            }
        }
        CiphertextBatch::from_ciphertexts(
            public_key,
            chunks,
            vectors.iter().flat_map(|v| &v.chunks),
        )
    }

    /// One vector per record of `batch`.
    pub fn from_batch(batch: &CiphertextBatch) -> Vec<EncryptedVector> {
        let chunks = batch.pieces_per_record();
        (0..batch.records())
            .map(|r| {
                EncryptedVector::new(
                    (0..chunks)
                        .map(|c| batch.ciphertext(r * chunks + c))
                        .collect(),
                )
            })
            .collect()
    }
}
