//! Buffers of whole vectors on 64-byte boundaries: a 64-byte load from an address that is not a
//! multiple of 64 spans two cache lines and costs two, and the kernels load little else.

// The one cast here: a slice of 64-byte-aligned `[u64; 8]` blocks viewed as the `u64`s it holds.
#![allow(unsafe_code)]

use zeroize::Zeroize;

use super::LANES;

/// One vector's words, aligned as a vector.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Block([u64; LANES]);

/// `vectors` blocks of eight words, 64-byte aligned, read and written as one `u64` slice
/// (`Deref`), wiped on drop.
#[derive(Clone)]
pub(super) struct Lanes {
    blocks: Vec<Block>,
}

impl Lanes {
    /// `vectors` vectors of zeros.
    pub(super) fn zeroed(vectors: usize) -> Self {
        Self {
            blocks: vec![Block::default(); vectors],
        }
    }

    /// The vectors of `words` (a multiple of eight long).
    #[cfg(test)]
    fn from_words(words: &[u64]) -> Self {
        let vectors = words.len() / LANES;
        let mut lanes = Self::zeroed(vectors);
        lanes.copy_from_slice(&words[..LANES * vectors]);
        lanes
    }
}

impl std::ops::Deref for Lanes {
    type Target = [u64];
    fn deref(&self) -> &[u64] {
        // SAFETY: `Block` is `repr(C)` around `[u64; 8]` with no padding (64 bytes at an
        // alignment of 64), so the blocks are `8·len` contiguous, initialised `u64`s.
        unsafe {
            std::slice::from_raw_parts(self.blocks.as_ptr().cast(), LANES * self.blocks.len())
        }
    }
}

impl std::ops::DerefMut for Lanes {
    fn deref_mut(&mut self) -> &mut [u64] {
        // SAFETY: as in `deref`, through the unique borrow.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.blocks.as_mut_ptr().cast(),
                LANES * self.blocks.len(),
            )
        }
    }
}

impl Drop for Lanes {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl Zeroize for Lanes {
    fn zeroize(&mut self) {
        let words: &mut [u64] = self;
        words.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_starts_on_a_line_and_the_words_round_trip() {
        let words: Vec<u64> = (0..40).collect();
        let lanes = Lanes::from_words(&words);
        assert_eq!(lanes.as_ptr() as usize % 64, 0);
        assert_eq!(&lanes[..], &words[..]);
        assert_eq!(Lanes::zeroed(3).len(), 24);
    }
}
