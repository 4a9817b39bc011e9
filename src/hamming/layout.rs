//! How binary vectors map onto Paillier plaintexts.

use crate::error::{Error, Result};
use crate::hazmat::backend::LimbBatch;

/// The packing of `embed_len`-dimensional binary vectors for a key of `key_len`-bit primes.
///
/// A piece holds up to `key_len - 1` dimensions, so its `2·dims`-bit plaintext stays below
/// `n ≥ 2^(2·key_len - 1)`. When `embed_len < key_len` (the SDK's rule) a vector is exactly one
/// piece and the plaintext is bit-for-bit the SDK's: dimension `i` at bit `2·(embed_len - 1 - i)`.
/// Longer vectors are split into consecutive pieces of `key_len - 1` dimensions, each packed the
/// same way (an extension of ours; the SDK cannot make such contexts).
///
/// ```
/// use paillier_gpu::hamming::VectorLayout;
/// let layout = VectorLayout::new(3, 512).unwrap();
/// // [1, 0, 1] → slots 01 00 01 → 0b010001 = 17
/// assert_eq!(layout.pack(&[1, 0, 1], 1)[0], vec![17]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VectorLayout {
    embed_len: usize,
    dims_per_piece: usize,
}

/// Largest supported `embed_len` (keeps hostile configs from asking for absurd allocations).
pub const MAX_EMBED_LEN: usize = 1 << 20;

impl VectorLayout {
    /// The layout for `embed_len` dimensions under `key_len`-bit primes.
    pub fn new(embed_len: usize, key_len: usize) -> Result<Self> {
        if embed_len == 0 || embed_len > MAX_EMBED_LEN {
            return Err(Error::InvalidParameter(format!(
                "embed_len {embed_len} is outside 1..={MAX_EMBED_LEN}"
            )));
        }
        if key_len < 2 {
            return Err(Error::InvalidParameter(format!(
                "key_len {key_len} is too small"
            )));
        }
        Ok(Self {
            embed_len,
            dims_per_piece: key_len - 1,
        })
    }

    /// Dimensions of a vector.
    pub fn embed_len(&self) -> usize {
        self.embed_len
    }

    /// Ciphertexts per vector.
    pub fn pieces(&self) -> usize {
        self.embed_len.div_ceil(self.dims_per_piece)
    }

    /// Dimensions held by piece `c`.
    pub fn piece_dims(&self, c: usize) -> usize {
        let start = c * self.dims_per_piece;
        self.embed_len
            .saturating_sub(start)
            .min(self.dims_per_piece)
    }

    /// Upper bound on a piece plaintext's bit length.
    pub fn message_bits(&self) -> usize {
        2 * self.piece_dims(0)
    }

    /// Checks that `vector` has `embed_len` entries, all 0 or 1. `index` names it in errors.
    pub fn check(&self, index: usize, vector: &[u8]) -> Result<()> {
        if vector.len() != self.embed_len {
            return Err(Error::VectorLength {
                index,
                expected: self.embed_len,
                found: vector.len(),
            });
        }
        if let Some(position) = vector.iter().position(|&b| b > 1) {
            return Err(Error::NonBinaryValue {
                index,
                position,
                value: vector[position].to_string(),
            });
        }
        Ok(())
    }

    /// Packs a checked vector into one plaintext per piece, each `limbs` limbs wide.
    pub fn pack(&self, vector: &[u8], limbs: usize) -> Vec<Vec<u64>> {
        let mut flat = vec![0u64; self.pieces() * limbs];
        self.pack_into(vector, &mut flat);
        flat.chunks(limbs.max(1)).map(<[u64]>::to_vec).collect()
    }

    /// [`pack`](Self::pack) into `out`, zeroed, `pieces() · limbs` limbs: piece after piece, with
    /// no allocation (what batch encryption does for every vector).
    pub fn pack_into(&self, vector: &[u8], out: &mut [u64]) {
        let limbs = out.len() / self.pieces().max(1);
        for (c, plaintext) in out.chunks_mut(limbs.max(1)).enumerate().take(self.pieces()) {
            let dims = self.piece_dims(c);
            let start = c * self.dims_per_piece;
            for (j, &bit) in vector[start..start + dims].iter().enumerate() {
                let position = 2 * (dims - 1 - j);
                plaintext[position / 64] |= u64::from(bit & 1) << (position % 64);
            }
        }
    }

    /// Limbs per piece of the slot-bits form: one bit per dimension.
    pub fn slot_bit_limbs(&self) -> usize {
        self.piece_dims(0).div_ceil(64)
    }

    /// [`pack_into`](Self::pack_into)'s plaintexts as their slot bits only
    /// ([`MessageForm::SlotBits`](crate::hazmat::backend::MessageForm)): bit `j` of a piece's item is
    /// its plaintext's bit `2j`, so dimension `i` lands at bit `dims - 1 - i`. `out` is zeroed,
    /// `pieces() · slot_bit_limbs()` limbs: an eighth of n²'s width at the SDK's layout.
    ///
    /// ```
    /// use paillier_gpu::hamming::VectorLayout;
    /// let layout = VectorLayout::new(3, 512).unwrap();
    /// let mut bits = [0u64; 1];
    /// layout.pack_slot_bits_into(&[1, 0, 1], &mut bits);
    /// assert_eq!(bits, [0b101]); // slots 01 00 01
    /// ```
    pub fn pack_slot_bits_into(&self, vector: &[u8], out: &mut [u64]) {
        let limbs = self.slot_bit_limbs().max(1);
        for (c, bits) in out.chunks_mut(limbs).enumerate().take(self.pieces()) {
            let dims = self.piece_dims(c);
            let start = c * self.dims_per_piece;
            for (j, &bit) in vector[start..start + dims].iter().enumerate() {
                let position = dims - 1 - j;
                bits[position / 64] |= u64::from(bit & 1) << (position % 64);
            }
        }
    }

    /// For each piece, the mask of its slots' low bits (`0b0101…01` over `2·dims` bits).
    pub fn masks(&self, limbs: usize) -> LimbBatch {
        let mut masks = LimbBatch::new(limbs);
        for c in 0..self.pieces() {
            let mut mask = vec![0u64; limbs];
            for slot in 0..self.piece_dims(c) {
                let position = 2 * slot;
                mask[position / 64] |= 1u64 << (position % 64);
            }
            // A layout always fits its own width: limbs come from the same key.
            let _ = masks.push(&mask);
        }
        masks
    }
}
