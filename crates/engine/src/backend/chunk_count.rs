//! The decode operation's result per chunk: a masked count, or the checks the chunk failed.
//!
//! [`CrtDecode`](crate::backend::operation::CrtDecode) decrypts each chunk and reads it as
//! two-bit slots, each the sum of two bits (0, 1 or 2). An honest plaintext has no bit above its
//! slots and no slot holding 3, and (lookup scheme) lies in the subgroup of order n; a chunk
//! that fails any of these gets [`ChunkCount::Failed`] with its [`Defects`], never a count. The
//! GPU kernel writes one word a chunk ([`ChunkCount::from_word`] reads it); everything above the
//! engines sees this type only.

use std::fmt;

/// The top bits of the GPU kernel's word that make it a defect report, not a count (a count
/// is at most a few thousand, so it never has them).
pub const DEFECT_TAG: u32 = 0xFFFF_FF00;

/// The checks a chunk failed: a set of [`Defects::NOT_IN_SUBGROUP`], [`Defects::ABOVE_SLOTS`]
/// and [`Defects::SLOT_HOLDS_THREE`].
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
    const NONE: Defects = Defects(0);

    /// Whether every check of `other` failed here too.
    pub fn contains(self, other: Defects) -> bool {
        self.0 & other.0 == other.0
    }

    /// The checks of both.
    pub fn union(self, other: Defects) -> Defects {
        Defects(self.0 | other.0)
    }

    /// The low bits of the GPU kernel's word for these defects.
    pub fn bits(self) -> u32 {
        self.0
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
/// use paillier_gpu_engine::backend::{ChunkCount, Defects};
/// assert_eq!(ChunkCount::counted(7).count(), Ok(7));
/// let forged = ChunkCount::failed(Defects::ABOVE_SLOTS);
/// assert_eq!(forged.count(), Err(Defects::ABOVE_SLOTS));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChunkCount {
    /// The chunk passed every check: the popcount of its slots' low bits.
    Counted(u32),
    /// The chunk failed these checks; its plaintext means nothing.
    Failed(Defects),
}

impl Default for ChunkCount {
    fn default() -> Self {
        ChunkCount::Counted(0)
    }
}

impl ChunkCount {
    /// A chunk that passed every check, with its count.
    pub fn counted(count: u32) -> Self {
        ChunkCount::Counted(count)
    }

    /// A chunk that failed `defects`.
    pub fn failed(defects: Defects) -> Self {
        ChunkCount::Failed(defects)
    }

    /// Its count, or the checks it failed.
    pub fn count(self) -> Result<u32, Defects> {
        match self {
            ChunkCount::Counted(count) => Ok(count),
            ChunkCount::Failed(defects) => Err(defects),
        }
    }

    /// Reads the GPU kernel's word: the count, or [`DEFECT_TAG`] with the failed checks' bits.
    pub fn from_word(word: u32) -> Self {
        if word & DEFECT_TAG == DEFECT_TAG {
            ChunkCount::Failed(Defects(word & !DEFECT_TAG))
        } else {
            ChunkCount::Counted(word)
        }
    }

    /// The GPU kernel's word for it.
    pub fn word(self) -> u32 {
        match self {
            ChunkCount::Counted(count) => count,
            ChunkCount::Failed(defects) => DEFECT_TAG | defects.0,
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
    let mut defects = Defects::NONE;
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
    if defects == Defects::NONE {
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
        assert_eq!(
            ChunkCount::from_word(DEFECT_TAG | 5),
            ChunkCount::failed(both)
        );
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
