//! What decoding checks before it believes a response.
//!
//! An honest aggregate `Enc(x) · Enc(q)` decrypts to a plaintext whose two-bit slots hold 0, 1 or
//! 2 and which has no bit above its `2·dims` slot bits; and (lookup scheme) `c^a` lies in the
//! subgroup of order n, so that `x_p = c^e_p mod p²` is `≡ 1 (mod p)` and `x_q` likewise. A
//! backend that shifts plaintexts, or a response made under another key, fails one of these with
//! overwhelming probability instead of decoding to plausible distances.
//!
//! [`Backend::crt_decode`](super::Backend::crt_decode) reports a failed check in the count itself:
//! a count is at most a few thousand, so the top byte pattern [`DEFECT_TAG`] cannot be one, and the
//! low bits say which checks failed. The GPU kernel writes the same words.

/// Set in a `crt_decode` result that is a defect report, not a count.
pub const DEFECT_TAG: u32 = 0xFFFF_FF00;
/// `x_p ≢ 1 (mod p)` or `x_q ≢ 1 (mod q)`: not in the plaintext subgroup (never for an honest
/// ciphertext of either scheme; for the classic scheme every unit passes).
pub const NOT_IN_SUBGROUP: u32 = 1;
/// A plaintext bit above the slots (the plaintext is at least `4^dims`).
pub const ABOVE_SLOTS: u32 = 2;
/// A slot holds 3, which no sum of two bits can.
pub const SLOT_HOLDS_THREE: u32 = 4;

/// The result word for a decrypted plaintext `m` (little-endian limbs) under `mask` (the low bit
/// of each slot): its masked popcount, or a defect report.
///
/// Outside the subgroup the plaintext is meaningless, so [`NOT_IN_SUBGROUP`] is then reported
/// alone.
pub fn count_or_defect(m: &[u64], mask: &[u64], in_subgroup: bool) -> u32 {
    if !in_subgroup {
        return DEFECT_TAG | NOT_IN_SUBGROUP;
    }
    let mut count = 0u32;
    let mut defects = 0;
    for (k, &limb) in m.iter().enumerate() {
        let low_bits = mask.get(k).copied().unwrap_or(0);
        let slot_bits = low_bits | (low_bits << 1);
        if limb & !slot_bits != 0 {
            defects |= ABOVE_SLOTS;
        }
        if limb & (limb >> 1) & low_bits != 0 {
            defects |= SLOT_HOLDS_THREE;
        }
        count += (limb & low_bits).count_ones();
    }
    if defects == 0 {
        count
    } else {
        DEFECT_TAG | defects
    }
}

/// The failed checks in a `crt_decode` result word, or `None` when it is a count.
pub fn defects(word: u32) -> Option<u32> {
    (word & DEFECT_TAG == DEFECT_TAG).then_some(word & !DEFECT_TAG)
}

/// The failed checks in words, for an error message.
pub fn describe(defects: u32) -> String {
    let mut reasons = Vec::new();
    if defects & NOT_IN_SUBGROUP != 0 {
        reasons.push("it does not decrypt into the plaintext subgroup of this key");
    }
    if defects & ABOVE_SLOTS != 0 {
        reasons.push("its plaintext has bits above the vector's slots");
    }
    if defects & SLOT_HOLDS_THREE != 0 {
        reasons.push("a slot of its plaintext holds 3");
    }
    if reasons.is_empty() {
        reasons.push("it failed a decoding check");
    }
    format!(
        "{}: not an aggregate of two vectors under this context (made under another key, or altered)",
        reasons.join(", and ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn honest_slots_count_their_low_bits() {
        // Slots (high to low): 2, 1, 0, 1 → low bits set in slots 0 and 2.
        let m = [0b10_01_00_01u64];
        let mask = [0b01_01_01_01u64];
        assert_eq!(count_or_defect(&m, &mask, true), 2);
        assert_eq!(defects(2), None);
    }

    #[test]
    fn each_defect_is_reported() {
        let mask = [0b01_01u64, 0];
        assert_eq!(
            defects(count_or_defect(&[0b11, 0], &mask, true)),
            Some(SLOT_HOLDS_THREE)
        );
        assert_eq!(
            defects(count_or_defect(&[0b1_00_00, 0], &mask, true)),
            Some(ABOVE_SLOTS)
        );
        assert_eq!(
            defects(count_or_defect(&[0, 1], &mask, true)),
            Some(ABOVE_SLOTS)
        );
        assert_eq!(
            defects(count_or_defect(&[1, 0], &mask, false)),
            Some(NOT_IN_SUBGROUP)
        );
        assert!(describe(NOT_IN_SUBGROUP | SLOT_HOLDS_THREE).contains("holds 3"));
    }

    #[test]
    fn the_top_slot_of_a_full_limb_is_not_above_the_slots() {
        let mask = [0x5555_5555_5555_5555u64];
        assert_eq!(count_or_defect(&[0x8000_0000_0000_0001], &mask, true), 1);
    }
}
