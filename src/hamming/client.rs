//! The data owner's side: encrypt vectors, decode aggregated results, rank them.

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::response_check::ChunkCount;
use super::VectorLayout;
use crate::error::{Error, Result};
use crate::hazmat::backend::{pipeline, Backend, LimbBatch, MessageForm, Messages};
use crate::paillier::{CiphertextBatch, Encryptor, PublicKey, Scheme, SecretKey};

/// Encrypts binary vectors (each `embed_len` values of 0 or 1) into one [`CiphertextBatch`]:
/// one record per vector, one ciphertext per piece, the form the file writers and the index take.
///
/// With the owner's `secret_key` the work is done modulo p² and q² (about twice as fast, the
/// same ciphertexts); without it only the public key is used.
pub fn encrypt_batch<V: AsRef<[u8]> + Sync>(
    backend: &dyn Backend,
    public_key: &PublicKey,
    secret_key: Option<&SecretKey>,
    layout: &VectorLayout,
    vectors: &[V],
) -> Result<CiphertextBatch> {
    let limbs = public_key.ciphertext_limbs();
    let chunks = layout.pieces();
    let bits = layout.message_bits();
    let count = vectors.len() * chunks;
    // A device spreads the classic scheme's slot bits itself: an eighth of the bytes to write
    // and to upload. The CPU computes on values, and the lookup scheme reads messages as
    // exponents of g, so both are given values (packing bits to spread them on the host again
    // would be work done twice).
    let device_spreads = public_key.scheme() == Scheme::Paillier && !backend.runs_on_cpu(count);
    let (form, message_limbs) = if !device_spreads {
        (MessageForm::Value, limbs)
    } else {
        (MessageForm::SlotBits, layout.slot_bit_limbs())
    };
    let pieces = pipeline::pieces(backend, count, chunks);
    if pieces.len() > 1 {
        // Every vector checked before any is encrypted, so the error is the first bad vector's
        // whatever the device does. (Packing checks each vector again: a scan for a value above
        // 1, cheap beside the packing, and the one-piece path needs it.)
        check_all(layout, vectors)?;
    }
    // Each piece is packed, and its noise drawn, while the one before it encrypts.
    let mut out = vec![0u64; count * limbs];
    pipeline::pipelined(
        &pieces,
        &mut out,
        limbs,
        |range| {
            let piece = range.start / chunks..range.end / chunks;
            let messages = pack(
                layout,
                form,
                message_limbs,
                &vectors[piece.clone()],
                piece.start,
            )?;
            let noise = public_key.random_noise_exponents(messages.len())?;
            Ok((messages, noise))
        },
        |(packed, noise), out| {
            let messages = Messages {
                limbs: &packed,
                form,
                bits,
            };
            let encryptor = secret_key.map_or(Encryptor::Public, Encryptor::Owner);
            encryptor.encrypt_limbs_into(public_key, backend, messages, &noise, out)
        },
    )?;
    let ciphertexts = LimbBatch::from_flat(limbs, out)?;
    Ok(CiphertextBatch::from_products(
        public_key.fingerprint(),
        chunks,
        ciphertexts,
    ))
}

/// Checks every vector on every core; the error is the first bad vector's.
fn check_all<V: AsRef<[u8]> + Sync>(layout: &VectorLayout, vectors: &[V]) -> Result<()> {
    let first_bad = vectors
        .par_iter()
        .enumerate()
        .filter_map(|(i, vector)| layout.check(i, vector.as_ref()).err().map(|_| i))
        .min();
    match first_bad {
        Some(i) => layout.check(i, vectors[i].as_ref()),
        None => Ok(()),
    }
}

/// Checks and packs `vectors` (the first is vector `first` of the caller's batch, for errors)
/// on every core in one pass, straight into one flat batch of plaintexts in `form`, `limbs`
/// each, wiped on every path. The error is the first bad vector's, whichever core found it.
fn pack<V: AsRef<[u8]> + Sync>(
    layout: &VectorLayout,
    form: MessageForm,
    limbs: usize,
    vectors: &[V],
    first: usize,
) -> Result<Zeroizing<LimbBatch>> {
    let per_vector = layout.pieces() * limbs;
    let mut flat = Zeroizing::new(vec![0u64; vectors.len() * per_vector]);
    let first_bad = flat
        .par_chunks_mut(per_vector.max(1))
        .zip(vectors.par_iter())
        .enumerate()
        .filter_map(
            |(i, (out, vector))| match layout.check(first + i, vector.as_ref()) {
                Ok(()) => {
                    match form {
                        MessageForm::Value => layout.pack_into(vector.as_ref(), out),
                        MessageForm::SlotBits => layout.pack_slot_bits_into(vector.as_ref(), out),
                    }
                    None
                }
                Err(_) => Some(i),
            },
        )
        .min();
    if let Some(i) = first_bad {
        layout.check(first + i, vectors[i].as_ref())?;
    }
    Ok(Zeroizing::new(LimbBatch::from_flat(
        limbs,
        std::mem::take(&mut *flat),
    )?))
}

/// Decrypts aggregated ciphertexts (`Enc(x + q)`) into Hamming distances, one per record of
/// the batch, in order. Its ciphertexts were checked when the batch was made: only its key and
/// record shape are checked here.
///
/// A response that cannot be such an aggregate under this key (see
/// [`response_check`](super::response_check)) is refused with
/// [`Error::InvalidResponse`] naming it, rather than decoded into plausible distances.
///
/// On the CPU, a layout whose honest plaintexts all lie below the larger prime (key_len 1024
/// with up to 512 dimensions per piece, the SDK's) decodes with that prime alone: one
/// exponentiation per response instead of two, the same answers and the same refusals.
pub fn decode_batch(
    backend: &dyn Backend,
    public_key: &PublicKey,
    secret_key: &SecretKey,
    layout: &VectorLayout,
    responses: &CiphertextBatch,
) -> Result<Vec<u32>> {
    responses
        .key()
        .expect_context_key(&public_key.fingerprint(), "the responses")?;
    let chunks = layout.pieces();
    if responses.pieces_per_record() != chunks {
        return Err(Error::InvalidCiphertext {
            index: 0,
            reason: format!(
                "records of {} chunk(s) where the context needs {chunks}",
                responses.pieces_per_record()
            ),
        });
    }
    let limbs = crate::hazmat::bigint::limbs_for_bits(public_key.n().bits() as usize);
    let counts = secret_key.decode_values(backend, responses.limbs(), &layout.masks(limbs))?;
    distances_of(&counts, chunks)
}

/// Each record's distance, the sum of its `pieces` counts, or the first record's defects.
fn distances_of(counts: &[ChunkCount], chunks: usize) -> Result<Vec<u32>> {
    counts
        .chunks(chunks)
        .enumerate()
        .map(|(index, chunk_counts)| {
            chunk_counts
                .iter()
                .try_fold(0u32, |sum, chunk| match chunk.count() {
                    Ok(count) => Ok(sum + count),
                    Err(defects) => Err(Error::InvalidResponse {
                        index,
                        reason: defects.to_string(),
                    }),
                })
        })
        .collect()
}

/// The `k` smallest distances with their record ids, ties broken by the smaller id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopK {
    /// Record ids (0-based positions), nearest first.
    pub ids: Vec<usize>,
    /// Their distances.
    pub distances: Vec<u32>,
}

/// Ranks `distances` (indexed by record id) and keeps the `k` nearest.
///
/// ```
/// let top = paillier_gpu::hamming::top_k(&[5, 1, 3, 1], 3);
/// assert_eq!(top.ids, vec![1, 3, 2]);
/// assert_eq!(top.distances, vec![1, 1, 3]);
/// ```
pub fn top_k(distances: &[u32], k: usize) -> TopK {
    let mut order: Vec<(u32, usize)> = distances.iter().copied().zip(0..).collect();
    let k = k.min(order.len());
    if k < order.len() {
        order.select_nth_unstable(k);
        order.truncate(k);
    }
    order.sort_unstable();
    TopK {
        ids: order.iter().map(|&(_, id)| id).collect(),
        distances: order.iter().map(|&(d, _)| d).collect(),
    }
}
