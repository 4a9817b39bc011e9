//! Reading an exponent's bits: its length, one bit, a fixed window at any position, and the
//! left-to-right sliding windows of the variable-time exponentiations.

/// Bits up to and including the top one bit (0 for zero).
pub(crate) fn bit_length(limbs: &[u64]) -> usize {
    for (i, &limb) in limbs.iter().enumerate().rev() {
        if limb != 0 {
            return i * 64 + 64 - limb.leading_zeros() as usize;
        }
    }
    0
}

/// Bit `i` (zero past the last limb).
pub(crate) fn bit(limbs: &[u64], i: usize) -> bool {
    limbs.get(i / 64).is_some_and(|l| (l >> (i % 64)) & 1 == 1)
}

/// `width` bits of `limbs` starting at bit `start`, ignoring bits at or above `limit`.
/// Reads the same limbs whatever their values.
pub(crate) fn bits_at(limbs: &[u64], start: usize, width: usize, limit: usize) -> usize {
    let mut value = 0usize;
    for j in 0..width {
        let i = start + j;
        if i < limit {
            let limb = limbs.get(i / 64).copied().unwrap_or(0);
            value |= (((limb >> (i % 64)) & 1) as usize) << j;
        }
    }
    value
}

/// One window of an exponent: `digit` (odd) times `2^low`.
pub(crate) struct Window {
    pub low: usize,
    pub digit: usize,
}

/// Windows of a secret exponent (the GPU's decoding program) are wiped before they are freed.
impl zeroize::Zeroize for Window {
    fn zeroize(&mut self) {
        self.low.zeroize();
        self.digit.zeroize();
    }
}

/// Left-to-right sliding windows of at most `width` bits, each ending in a one bit: the
/// exponent is the sum of `digit·2^low` over them.
pub(crate) fn sliding_windows(exponent: &[u64], width: usize) -> Vec<Window> {
    // Reserved whole (a window takes at least one bit), so that no reallocation leaves a copy
    // of a secret exponent's windows behind.
    let bits = bit_length(exponent);
    let mut windows = Vec::with_capacity(bits.div_ceil(width.max(1)) * 2);
    let mut i = bits as isize - 1;
    while i >= 0 {
        if !bit(exponent, i as usize) {
            i -= 1;
            continue;
        }
        let mut low = (i - width as isize + 1).max(0);
        while !bit(exponent, low as usize) {
            low += 1;
        }
        let mut digit = 0usize;
        for j in (low..=i).rev() {
            digit = (digit << 1) | bit(exponent, j as usize) as usize;
        }
        windows.push(Window {
            low: low as usize,
            digit,
        });
        i = low - 1;
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::super::convert::biguint_from_limbs;
    use super::*;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sliding_windows_sum_to_the_exponent(
            limbs in proptest::collection::vec(any::<u64>(), 0..5),
            width in 1usize..8,
        ) {
            let mut sum = BigUint::default();
            for window in sliding_windows(&limbs, width) {
                prop_assert_eq!(window.digit % 2, 1);
                prop_assert!(window.digit < 1 << width);
                sum += BigUint::from(window.digit) << window.low;
            }
            prop_assert_eq!(sum, biguint_from_limbs(&limbs));
        }

        #[test]
        fn bits_at_reads_the_bits_below_the_limit(
            limbs in proptest::collection::vec(any::<u64>(), 1..4),
            start in 0usize..300,
            width in 1usize..9,
            limit in 0usize..300,
        ) {
            let mut expected = 0usize;
            for j in 0..width {
                if start + j < limit && bit(&limbs, start + j) {
                    expected |= 1 << j;
                }
            }
            prop_assert_eq!(bits_at(&limbs, start, width, limit), expected);
        }
    }
}
