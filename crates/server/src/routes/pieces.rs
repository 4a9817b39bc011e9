//! The encrypted index a client sends (a chunk's, an update's, a query's): decoded from the
//! SDK's base64 pieces into one padded record, and checked to be ciphertexts of the context's
//! key: each `0 < c < n²` and coprime to n (a piece sharing a factor with n is no ciphertext,
//! and one that did would reveal the factor).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;

use rayon::prelude::*;

use crate::api_error::{ApiError, ApiResult};
use paillier_gpu::formats::ciphertexts::CiphertextShape;
use paillier_gpu::hazmat::bigint::biguint_from_limbs;
use paillier_gpu::paillier::{CiphertextBatch, PublicKey};

/// The pieces of one encrypted vector, base64 of little-endian bytes of any length up to the
/// ciphertext width (the SDK writes them without padding), as one padded record.
pub fn decode_pieces(pieces: &[String], shape: CiphertextShape, what: &str) -> ApiResult<Vec<u8>> {
    if pieces.len() != shape.chunks {
        return Err(ApiError::bad_request(format!(
            "{what} has {} ciphertext pieces; this context's vectors have {}",
            pieces.len(),
            shape.chunks
        )));
    }
    let mut record = Vec::with_capacity(shape.chunks * shape.chunk_bytes);
    for (i, piece) in pieces.iter().enumerate() {
        let mut bytes = BASE64
            .decode(piece)
            .map_err(|e| ApiError::bad_request(format!("{what}, piece {i}: not base64 ({e})")))?;
        if bytes.len() > shape.chunk_bytes {
            let padding = bytes.len() - shape.chunk_bytes;
            if bytes[shape.chunk_bytes..].iter().any(|&b| b != 0) {
                return Err(ApiError::bad_request(format!(
                    "{what}, piece {i}: a ciphertext of {} bytes, wider than n² ({} bytes)",
                    bytes.len() - padding,
                    shape.chunk_bytes
                )));
            }
            bytes.truncate(shape.chunk_bytes);
        }
        bytes.resize(shape.chunk_bytes, 0);
        record.extend_from_slice(&bytes);
    }
    Ok(record)
}

/// An error naming `what` and the piece unless every piece of `record` (as
/// [`decode_pieces`] made it) is a ciphertext of `public_key`: `0 < c < n²`.
pub fn check_pieces(
    public_key: &PublicKey,
    shape: CiphertextShape,
    record: &[u8],
    what: &str,
) -> ApiResult<()> {
    for (i, piece) in record.chunks(shape.chunk_bytes.max(1)).enumerate() {
        if let Err(paillier_gpu::Error::InvalidCiphertext { reason, .. }) =
            public_key.check_ciphertext(&BigUint::from_bytes_le(piece), 0)
        {
            return Err(ApiError::bad_request(format!(
                "{what}, piece {i}: {reason}"
            )));
        }
    }
    Ok(())
}

/// An error naming the record (through `what`, given its index in `batch`) and the piece,
/// unless every ciphertext of `batch` (each already checked below n²) is coprime to n. A
/// running product modulo n and one gcd check the whole batch, on every core: each piece
/// enters it as one Montgomery reduction modulo n (`c·R⁻¹`, valid since `c < n² < n·R`) and one
/// Montgomery product, each a unit multiple of the plain one, so the gcd with n is the plain
/// product's. The pieces are searched one by one only when that gcd is not 1.
pub fn check_coprime(
    public_key: &PublicKey,
    batch: &CiphertextBatch,
    what: impl Fn(usize) -> String,
) -> ApiResult<()> {
    let n = public_key.n();
    let limbs = batch.limbs();
    if let Ok(modulus) = public_key.n_modulus() {
        let width = limbs.limbs_per_item();
        let wide_len = 2 * modulus.len();
        if width <= wide_len && !limbs.is_empty() {
            let product = |items: &[u64], item_len: usize| {
                let mut product = modulus.one().to_vec();
                let mut next = vec![0u64; modulus.len()];
                let mut wide = vec![0u64; wide_len];
                let mut reduced = vec![0u64; modulus.len()];
                for item in items.chunks_exact(item_len) {
                    wide[..item_len].copy_from_slice(item);
                    wide[item_len..].fill(0);
                    let reducing = modulus.montgomery_reduce(&mut wide, &mut reduced);
                    debug_assert!(reducing.is_ok(), "widths are checked above");
                    modulus.mul_into(&product, &reduced, &mut next);
                    std::mem::swap(&mut product, &mut next);
                }
                product
            };
            let partials: Vec<Vec<u64>> = limbs
                .as_flat()
                .par_chunks(width * PIECES_PER_TASK)
                .map(|items| product(items, width))
                .collect();
            if modulus
                .biguint_of(&product(&partials.concat(), modulus.len()))
                .gcd(n)
                .is_one()
            {
                return Ok(());
            }
        }
    }
    let pieces = batch.chunks_per_record().max(1);
    for i in 0..limbs.len() {
        if !(biguint_from_limbs(limbs.item(i)) % n).gcd(n).is_one() {
            return Err(ApiError::bad_request(format!(
                "{}, piece {}: not a ciphertext of this context's key (it shares a factor \
                 with n)",
                what(i / pieces),
                i % pieces
            )));
        }
    }
    Ok(())
}

/// Ciphertexts multiplied by one task of the coprimality check.
const PIECES_PER_TASK: usize = 64;
