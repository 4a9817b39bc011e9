//! CPU limbs (little-endian u64) to and from GPU limbs (32- or 16-bit, one per u32 word).

use rayon::prelude::*;

use super::options::LimbPath;

/// Little-endian u64 limbs as GPU limbs, on several threads (a large batch's inputs are tens
/// of MB).
pub(super) fn to_gpu_words(limbs: &[u64], path: LimbPath) -> Vec<u32> {
    let per = path.per_u64();
    let mask = (1u64 << path.bits()) - 1;
    let mut words = vec![0u32; limbs.len() * per];
    words
        .par_chunks_mut(TASK_LIMBS * per)
        .zip(limbs.par_chunks(TASK_LIMBS))
        .for_each(|(out, limbs)| {
            for (w, &limb) in out.chunks_mut(per).zip(limbs) {
                for (k, word) in w.iter_mut().enumerate() {
                    *word = ((limb >> (path.bits() * k)) & mask) as u32;
                }
            }
        });
    words
}

/// u64 limbs per parallel task in [`from_gpu_words`].
const TASK_LIMBS: usize = 1 << 16;

/// GPU limbs back to u64 limbs, on several threads (a large batch's results are tens of MB).
pub(super) fn from_gpu_words(words: &[u32], path: LimbPath) -> Vec<u64> {
    let per = path.per_u64();
    let mask = (1u64 << path.bits()) - 1;
    let mut limbs = vec![0u64; words.len().div_ceil(per)];
    limbs
        .par_chunks_mut(TASK_LIMBS)
        .zip(words.par_chunks(TASK_LIMBS * per))
        .for_each(|(out, words)| {
            for (limb, w) in out.iter_mut().zip(words.chunks(per)) {
                *limb = w.iter().enumerate().fold(0u64, |acc, (k, &x)| {
                    acc | ((x as u64 & mask) << (path.bits() * k))
                });
            }
        });
    limbs
}

/// Exponent limbs as u32 words, whatever the limb path.
pub(super) fn exponent_words(limbs: &[u64]) -> Vec<u32> {
    to_gpu_words(limbs, LimbPath::Bits32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_on_both_paths() {
        let limbs = [0x0123_4567_89ab_cdef_u64, u64::MAX, 0, 1 << 63];
        for path in [LimbPath::Bits32, LimbPath::Bits16] {
            let words = to_gpu_words(&limbs, path);
            assert_eq!(words.len(), limbs.len() * path.per_u64());
            assert!(words.iter().all(|&w| (w as u64) < 1u64 << path.bits()));
            assert_eq!(from_gpu_words(&words, path), limbs);
        }
    }
}
