//! Noise exponents for encryption, drawn on every core.
//!
//! Each exponent is uniform below `2^bits`. The words come from ChaCha20 keystreams: the batch
//! is cut into chunks of [`ITEMS_PER_KEY`] exponents, each chunk gets its own 256-bit key from
//! the operating system (all keys in one request), and the chunks are filled in parallel. A
//! fresh key per chunk means no keystream is ever reused, so a fixed nonce is safe. This is the
//! construction of the OS's own generator (ChaCha20 keyed from the entropy pool) run on every
//! core: one system request per batch instead of one stream of bytes through the kernel on one
//! thread, which would bound the GPU's encryption on the host.

use chacha20::cipher::{KeyIvInit, StreamCipher};
use chacha20::ChaCha20;
use rand::RngCore;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{Exponents, LimbBatch, Secrecy};
use crate::error::{Error, Result};

/// Exponents per ChaCha20 key.
pub const ITEMS_PER_KEY: usize = 4096;

/// `count` secret exponents, each uniform below `2^bits` (as `gen_biguint(bits)` draws).
///
/// ```
/// use paillier_gpu_engine::backend::noise::random_exponents;
/// let e = random_exponents(3, 130).unwrap();
/// assert_eq!((e.values.len(), e.values.limbs_per_item(), e.bits), (3, 3, 130));
/// assert!(e.values.iter().all(|x| x[2] < 4));
/// ```
pub fn random_exponents(count: usize, bits: usize) -> Result<Exponents> {
    let limbs = bits.div_ceil(64).max(1);
    let mut words = vec![0u64; count * limbs];
    let mut keys = Zeroizing::new(vec![0u8; 32 * count.div_ceil(ITEMS_PER_KEY)]);
    rand::rngs::OsRng
        .try_fill_bytes(&mut keys)
        .map_err(|e| Error::InvalidParameter(format!("the OS random generator failed: {e}")))?;
    let top_bits = bits - (limbs - 1) * 64;
    let top_mask = if bits == 0 {
        0
    } else if top_bits < 64 {
        (1u64 << top_bits) - 1
    } else {
        u64::MAX
    };
    words
        .par_chunks_mut(ITEMS_PER_KEY * limbs)
        .zip(keys.par_chunks(32))
        .for_each(|(chunk, key)| {
            let mut key_bytes = Zeroizing::new([0u8; 32]);
            key_bytes.copy_from_slice(key);
            let mut cipher = ChaCha20::new(&(*key_bytes).into(), &[0u8; 12].into());
            let mut bytes = Zeroizing::new(vec![0u8; chunk.len() * 8]);
            cipher.apply_keystream(&mut bytes);
            for (word, raw) in chunk.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut le = [0u8; 8];
                le.copy_from_slice(raw);
                *word = u64::from_le_bytes(le);
            }
            for item in chunk.chunks_exact_mut(limbs) {
                item[limbs - 1] &= top_mask;
            }
        });
    Ok(Exponents {
        values: LimbBatch::from_flat(limbs, words)?,
        bits,
        secrecy: Secrecy::Secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponents_are_below_the_bound_distinct_and_use_every_bit() {
        for bits in [1usize, 63, 64, 65, 640, 1024] {
            let e = random_exponents(2 * ITEMS_PER_KEY + 3, bits).unwrap();
            let limbs = bits.div_ceil(64);
            assert_eq!(e.values.limbs_per_item(), limbs);
            let top = bits - (limbs - 1) * 64;
            let mut seen_top = 0u64;
            for x in e.values.iter() {
                if top < 64 {
                    assert!(x[limbs - 1] < 1 << top, "{bits}");
                }
                seen_top |= x[limbs - 1];
            }
            // The highest allowed bit turns up (probability 1 − 2^-8195 otherwise).
            assert_eq!(seen_top >> (top - 1), 1, "{bits}");
            if bits >= 64 {
                // Chunks under different keys differ: no keystream is reused.
                let first = e.values.item(0).to_vec();
                assert_ne!(e.values.item(ITEMS_PER_KEY), &first[..]);
                assert_ne!(e.values.item(1), &first[..]);
            }
        }
        assert_eq!(random_exponents(0, 640).unwrap().values.len(), 0);
    }
}
