//! What decoding checks before it believes a response.
//!
//! An honest aggregate `Enc(x) · Enc(q)` decrypts to a plaintext whose two-bit slots hold 0, 1 or
//! 2 and which has no bit above its `2·dims` slot bits; and (lookup scheme) `c^a` lies in the
//! subgroup of order n, so that `x_p = c^e_p mod p²` is `≡ 1 (mod p)` and `x_q` likewise. A
//! backend that shifts plaintexts, or a response made under another key, fails one of these with
//! overwhelming probability instead of decoding to plausible distances.
//!
//! [`Backend::crt_decode`](crate::hazmat::backend::Backend::crt_decode) returns one
//! [`ChunkCount`] a chunk: its count, or the [`Defects`] it failed. The engines carry it as one
//! word (a count is at most a few thousand, so the top bits [`DEFECT_TAG`] cannot be one, and the
//! low bits say which checks failed; the GPU kernel writes the same words), which only this type
//! reads.

use std::fmt;

/// The top bits of an engine's word that make it a defect report, not a count.
pub const DEFECT_TAG: u32 = 0xFFFF_FF00;

/// The response checks a chunk failed: a set of [`Defects::NOT_IN_SUBGROUP`],
/// [`Defects::ABOVE_SLOTS`] and [`Defects::SLOT_HOLDS_THREE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Defects(u32);

impl Defects {
    /// `x_p ≢ 1 (mod p)` or `x_q ≢ 1 (mod q)`: not in the plaintext subgroup (never for an
    /// honest ciphertext of either scheme; for the classic scheme every unit passes).
    pub const NOT_IN_SUBGROUP: Defects = Defects(1);
    /// A plaintext bit above the slots (the plaintext is at least `4^dims`).
    pub const ABOVE_SLOTS: Defects = Defects(2);
    /// A slot holds 3, which no sum of two bits can.
    pub const SLOT_HOLDS_THREE: Defects = Defects(4);

    /// Whether every check of `other` failed here too.
    pub fn contains(self, other: Defects) -> bool {
        self.0 & other.0 == other.0
    }

    /// The checks of both.
    pub fn union(self, other: Defects) -> Defects {
        Defects(self.0 | other.0)
    }
}

impl fmt::Display for Defects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut reasons = Vec::new();
        if self.contains(Defects::NOT_IN_SUBGROUP) {
            reasons.push("it does not decrypt into the plaintext subgroup of this key");
        }
        if self.contains(Defects::ABOVE_SLOTS) {
            reasons.push("its plaintext has bits above the vector's slots");
        }
        if self.contains(Defects::SLOT_HOLDS_THREE) {
            reasons.push("a slot of its plaintext holds 3");
        }
        if reasons.is_empty() {
            reasons.push("it failed a decoding check");
        }
        write!(
            f,
            "{}: not an aggregate of two vectors under this context (made under another key, or altered)",
            reasons.join(", and ")
        )
    }
}

/// One decoded chunk: its masked count, or the checks it failed.
///
/// ```
/// use paillier_gpu::hamming::response_check::{ChunkCount, Defects};
/// assert_eq!(ChunkCount::counted(7).count(), Ok(7));
/// let forged = ChunkCount::failed(Defects::ABOVE_SLOTS);
/// assert_eq!(forged.count(), Err(Defects::ABOVE_SLOTS));
/// ```
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct ChunkCount(u32);

impl ChunkCount {
    /// A chunk that passed every check, with its count.
    pub fn counted(count: u32) -> Self {
        ChunkCount(count)
    }

    /// A chunk that failed `defects`.
    pub fn failed(defects: Defects) -> Self {
        ChunkCount(DEFECT_TAG | defects.0)
    }

    /// Its count, or the checks it failed.
    pub fn count(self) -> Result<u32, Defects> {
        if self.0 & DEFECT_TAG == DEFECT_TAG {
            Err(Defects(self.0 & !DEFECT_TAG))
        } else {
            Ok(self.0)
        }
    }

    /// The engines' word: the count, or [`DEFECT_TAG`] with the failed checks' bits (what the
    /// GPU kernel writes).
    pub fn from_word(word: u32) -> Self {
        ChunkCount(word)
    }

    /// The engines' word for it.
    pub fn word(self) -> u32 {
        self.0
    }
}

impl fmt::Debug for ChunkCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.count() {
            Ok(count) => write!(f, "Count({count})"),
            Err(defects) => write!(f, "Failed({:#x})", defects.0),
        }
    }
}

/// The check of a decrypted plaintext `m` (little-endian limbs) under `mask` (the low bit of each
/// slot): its masked popcount, or the checks it failed.
///
/// Outside the subgroup the plaintext is meaningless, so [`Defects::NOT_IN_SUBGROUP`] is then
/// reported alone.
pub fn count_or_defect(m: &[u64], mask: &[u64], in_subgroup: bool) -> ChunkCount {
    if !in_subgroup {
        return ChunkCount::failed(Defects::NOT_IN_SUBGROUP);
    }
    let mut count = 0u32;
    let mut defects = Defects(0);
    for (k, &limb) in m.iter().enumerate() {
        let low_bits = mask.get(k).copied().unwrap_or(0);
        let slot_bits = low_bits | (low_bits << 1);
        if limb & !slot_bits != 0 {
            defects = defects.union(Defects::ABOVE_SLOTS);
        }
        if limb & (limb >> 1) & low_bits != 0 {
            defects = defects.union(Defects::SLOT_HOLDS_THREE);
        }
        count += (limb & low_bits).count_ones();
    }
    if defects == Defects(0) {
        ChunkCount::counted(count)
    } else {
        ChunkCount::failed(defects)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honest_slots_count_their_low_bits() {
        // Slots (high to low): 2, 1, 0, 1 → low bits set in slots 0 and 2.
        let m = [0b10_01_00_01u64];
        let mask = [0b01_01_01_01u64];
        assert_eq!(count_or_defect(&m, &mask, true).count(), Ok(2));
        assert_eq!(ChunkCount::from_word(2).count(), Ok(2));
    }

    #[test]
    fn each_defect_is_reported() {
        let mask = [0b01_01u64, 0];
        let cases = [
            ([0b11, 0], true, Defects::SLOT_HOLDS_THREE),
            ([0b1_00_00, 0], true, Defects::ABOVE_SLOTS),
            ([0, 1], true, Defects::ABOVE_SLOTS),
            ([1, 0], false, Defects::NOT_IN_SUBGROUP),
        ];
        for (plaintext, in_subgroup, defect) in cases {
            assert_eq!(
                count_or_defect(&plaintext, &mask, in_subgroup).count(),
                Err(defect),
                "{plaintext:?}, in the subgroup: {in_subgroup}"
            );
        }
        let both = Defects::NOT_IN_SUBGROUP.union(Defects::SLOT_HOLDS_THREE);
        assert!(both.to_string().contains("holds 3"));
        assert_eq!(ChunkCount::failed(both).word(), DEFECT_TAG | 5);
    }

    #[test]
    fn the_top_slot_of_a_full_limb_is_not_above_the_slots() {
        let mask = [0x5555_5555_5555_5555u64];
        assert_eq!(
            count_or_defect(&[0x8000_0000_0000_0001], &mask, true).count(),
            Ok(1)
        );
    }
}
