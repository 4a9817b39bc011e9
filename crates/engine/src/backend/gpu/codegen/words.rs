//! CPU limbs (little-endian u64) to and from GPU limbs (32- or 16-bit, one per u32 word).

use rayon::prelude::*;

use super::variants::LimbPath;

/// Little-endian u64 limbs as GPU limbs, on several threads (a large batch's inputs are tens
/// of MB).
pub(in crate::backend::gpu) fn to_gpu_words(limbs: &[u64], path: LimbPath) -> Vec<u32> {
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

/// A batch's GPU words for an upload: the limbs themselves where the layouts already match (32-bit
/// GPU limbs on a little-endian host: a u64 limb is its low word, then its high word), with no
/// copy and no pass over the data; else a converted copy, wiped when dropped.
pub(in crate::backend::gpu) enum Words<'a> {
    Borrowed(&'a [u32]),
    Owned(zeroize::Zeroizing<Vec<u32>>),
}

impl std::ops::Deref for Words<'_> {
    type Target = [u32];

    fn deref(&self) -> &[u32] {
        match self {
            Words::Borrowed(words) => words,
            Words::Owned(words) => words,
        }
    }
}

/// `limbs` as GPU limbs of `path`: borrowed where they match (see [`Words`]).
pub(in crate::backend::gpu) fn gpu_words(limbs: &[u64], path: LimbPath) -> Words<'_> {
    if path == LimbPath::Bits32 && cfg!(target_endian = "little") {
        Words::Borrowed(bytemuck::cast_slice(limbs))
    } else {
        Words::Owned(zeroize::Zeroizing::new(to_gpu_words(limbs, path)))
    }
}

/// Result words read back from the device into u64 storage, so that 32-bit GPU limbs become
/// the batch's limbs with no conversion and no second buffer.
pub(in crate::backend::gpu) struct ReadWords {
    storage: Vec<u64>,
    words: usize,
}

impl ReadWords {
    /// Room for `words` words (zeroed lazily by the allocator: the copies out of mapped memory
    /// touch its pages first, on several threads).
    pub(in crate::backend::gpu) fn new(words: usize) -> Self {
        Self {
            storage: vec![0u64; words.div_ceil(2)],
            words,
        }
    }

    pub(in crate::backend::gpu) fn words_mut(&mut self) -> &mut [u32] {
        &mut bytemuck::cast_slice_mut(&mut self.storage)[..self.words]
    }

    pub(in crate::backend::gpu) fn words(&self) -> &[u32] {
        &bytemuck::cast_slice(&self.storage)[..self.words]
    }

    /// The words as u64 limbs: the storage itself on the 32-bit path of a little-endian host.
    pub(in crate::backend::gpu) fn into_limbs(self, path: LimbPath) -> Vec<u64> {
        if path == LimbPath::Bits32
            && cfg!(target_endian = "little")
            && self.words.is_multiple_of(2)
        {
            self.storage
        } else {
            from_gpu_words(self.words(), path)
        }
    }
}

/// u64 limbs per parallel task in [`from_gpu_words`].
const TASK_LIMBS: usize = 1 << 16;

/// GPU limbs back to u64 limbs, on several threads (a large batch's results are tens of MB).
pub(in crate::backend::gpu) fn from_gpu_words(words: &[u32], path: LimbPath) -> Vec<u64> {
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
pub(in crate::backend::gpu) fn exponent_words(limbs: &[u64]) -> Vec<u32> {
    to_gpu_words(limbs, LimbPath::Bits32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_words_are_the_converted_words() {
        let limbs = [0x0123_4567_89ab_cdef_u64, u64::MAX, 0, 1 << 63, 7];
        for path in [LimbPath::Bits32, LimbPath::Bits16] {
            assert_eq!(&*gpu_words(&limbs, path), &to_gpu_words(&limbs, path)[..]);
        }
        assert!(matches!(
            gpu_words(&limbs, LimbPath::Bits32),
            Words::Borrowed(_)
        ));
    }

    #[test]
    fn read_words_become_the_limbs_they_hold() {
        let limbs = [0x0123_4567_89ab_cdef_u64, u64::MAX, 0, 1 << 63];
        for path in [LimbPath::Bits32, LimbPath::Bits16] {
            let words = to_gpu_words(&limbs, path);
            let mut read = ReadWords::new(words.len());
            read.words_mut().copy_from_slice(&words);
            assert_eq!(read.words(), &words[..]);
            assert_eq!(read.into_limbs(path), limbs);
        }
        let mut odd = ReadWords::new(3);
        odd.words_mut().copy_from_slice(&[1, 2, 3]);
        assert_eq!(odd.words(), &[1, 2, 3]);
    }

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
