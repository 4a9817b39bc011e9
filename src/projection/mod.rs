//! Float embeddings turned into the binary vectors a Hamming search works on, by random
//! hyperplanes the owner keys (SimHash): bit `i` of a vector says whether its dot product with
//! hyperplane `i` is not negative, so two vectors at angle θ differ in each bit with probability
//! θ / π, and the Hamming distance between their bits estimates the angle (`bits × θ / π`).
//!
//! Each hyperplane entry is the sum of four keystream bytes read as signed (Irwin–Hall: close
//! to a normal law, so the hyperplanes' directions are close to uniform even in few dimensions,
//! where ±1 entries would leave a handful of directions), the keystream AES-256 in counter mode
//! under a key derived from the context's data key by HKDF-SHA256 under a label of its own,
//! salted with the context's public-key fingerprint and bound to the embedding's dimensions.
//! So:
//! - the service, which never holds the data key, cannot map bits back to a public model's
//!   space (it would need the hyperplanes);
//! - the bits are the same on every machine: the entries are integers, drawn with no
//!   floating-point function, and a dot product adds its terms in one fixed order.
//!
//! ```
//! use paillier_gpu::projection::Projection;
//! use paillier_gpu::{ContextOptions, ExecutionContext};
//! let options = ContextOptions { key_len: 256, embed_len: 64, allow_insecure: true, ..Default::default() };
//! let ctx = ExecutionContext::create_with_passphrase(&options, "pw").unwrap();
//! let projection = Projection::for_context(&ctx, 3).unwrap();
//! let bits = projection.project(&[0.1, -2.0, 0.5]).unwrap();
//! assert_eq!(bits.len(), 64);
//! assert_eq!(bits, projection.project(&[0.2, -4.0, 1.0]).unwrap()); // a direction, not a length
//! ```

use aes_gcm::aes::cipher::generic_array::GenericArray;
use aes_gcm::aes::cipher::{BlockEncrypt, KeyInit};
use aes_gcm::aes::Aes256;
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::context::{DataKey, ExecutionContext};
use crate::error::{Error, Result};
use crate::hazmat::bigint::memcheck::declassify;

/// The HKDF label of the projection key.
const PROJECTION_LABEL: &[u8] = b"paillier-gpu/projection/1";
/// The salt's domain (before the context's fingerprint).
const PROJECTION_SALT: &[u8] = b"paillier-gpu/projection/1/context";

/// A keyed projection of `dims`-dimensional float embeddings onto `bits` bits, a context's
/// `embed_len` (see the module's documentation). The hyperplanes are wiped on drop; Debug
/// shows none.
pub struct Projection {
    dims: usize,
    bits: usize,
    /// `bits` rows of `dims` entries, each the sum of four signed keystream bytes.
    entries: Zeroizing<Vec<i16>>,
}

impl std::fmt::Debug for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projection")
            .field("dims", &self.dims)
            .field("bits", &self.bits)
            .finish_non_exhaustive()
    }
}

impl Projection {
    /// `context`'s projection of embeddings of `dims` dimensions onto its vectors' bits.
    ///
    /// # Errors
    /// As [`Projection::from_data_key`]'s, checked before the data key is asked for; and the
    /// key provider's, where it cannot give the data key.
    pub fn for_context(context: &ExecutionContext, dims: usize) -> Result<Self> {
        entry_count(dims, context.embed_len())?;
        let data_key = context.key_provider().data_key()?;
        let fingerprint = context.public().public_key().fingerprint().to_string();
        Self::from_data_key(&data_key, &fingerprint, dims, context.embed_len())
    }

    /// The projection of `dims`-dimensional embeddings onto `bits` bits under `data_key`, for
    /// the context whose public key's fingerprint is `fingerprint`: what
    /// [`Projection::for_context`] builds from a context, for a caller holding the data key
    /// alone. `fingerprint` must be the context's `public_key().fingerprint()` as text, and
    /// `bits` its `embed_len`, for the bits to be that context's; any other value gives
    /// another projection.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for no dimension, no bit, or more than 2³⁰ hyperplane
    /// entries (`bits × dims`).
    pub fn from_data_key(
        data_key: &DataKey,
        fingerprint: &str,
        dims: usize,
        bits: usize,
    ) -> Result<Self> {
        let entries = entry_count(dims, bits)?;
        let mut salt = PROJECTION_SALT.to_vec();
        salt.extend_from_slice(fingerprint.as_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is always a valid HKDF-SHA256 output length.
        let _ = Hkdf::<Sha256>::new(Some(&salt), data_key.as_bytes()).expand_multi_info(
            &[
                PROJECTION_LABEL,
                &(dims as u64).to_be_bytes(),
                &(bits as u64).to_be_bytes(),
            ],
            &mut *key,
        );
        let cipher = Aes256::new(GenericArray::from_slice(&*key));
        let mut drawn = Zeroizing::new(Vec::with_capacity(entries));
        let mut block = Zeroizing::new([0u8; 16]);
        for counter in 0..entries.div_ceil(4) as u128 {
            *block = counter.to_be_bytes();
            cipher.encrypt_block(GenericArray::from_mut_slice(&mut *block));
            for four in block.chunks_exact(4) {
                drawn.push(four.iter().map(|&b| i16::from(b as i8)).sum::<i16>());
            }
        }
        drawn.truncate(entries);
        Ok(Self {
            dims,
            bits,
            entries: drawn,
        })
    }

    /// The embeddings' dimensions it takes.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// `embedding`'s bits, one 0 or 1 a hyperplane (`bits` of them: a context's `embed_len`).
    /// An embedding of other dimensions, or holding a value that is not finite, is refused.
    pub fn project(&self, embedding: &[f64]) -> Result<Vec<u8>> {
        if embedding.len() != self.dims {
            return Err(Error::InvalidParameter(format!(
                "an embedding of {} dimensions; this projection takes {}",
                embedding.len(),
                self.dims
            )));
        }
        // Every value is read, and only the verdict is branched on: the embedding is the
        // owner's secret, and whether it was valid is what the error says anyway.
        let finite = embedding.iter().fold(true, |all, x| all & x.is_finite());
        if !declassify(finite) {
            return Err(Error::InvalidParameter(
                "an embedding holds a value that is not finite".into(),
            ));
        }
        Ok(self
            .entries
            .chunks(self.dims)
            .map(|row| {
                let dot: f64 = row
                    .iter()
                    .zip(embedding)
                    .map(|(&entry, &x)| f64::from(entry) * x)
                    .sum();
                u8::from(dot >= 0.0)
            })
            .collect())
    }
}

/// The hyperplane entries of a projection of `dims` dimensions onto `bits` bits, or why there
/// can be no such projection.
fn entry_count(dims: usize, bits: usize) -> Result<usize> {
    if dims == 0 {
        return Err(Error::InvalidParameter(
            "an embedding has at least one dimension".into(),
        ));
    }
    if bits == 0 {
        return Err(Error::InvalidParameter(
            "a projection makes at least one bit".into(),
        ));
    }
    bits.checked_mul(dims)
        .filter(|&n| n <= 1 << 30)
        .ok_or_else(|| {
            Error::InvalidParameter(format!(
                "{dims} dimensions onto {bits} bits: more hyperplane entries than a projection holds"
            ))
        })
}

#[cfg(test)]
mod tests;
