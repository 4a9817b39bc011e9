//! Values between radix 2^64 (normal form) and the narrow engine's digits of `bits` bits, and
//! the bound that decides how many such digits a product's columns can sum.

use zeroize::Zeroize;

use crate::bigint::ct;

/// Whether the columns of a Montgomery product of `digits`-digit values in radix `2^bits`
/// that sum `products` digit products a digit pair (two for a product modulo one modulus: the
/// operands' and the reduction's; three for the high digit of a product on two digits) sum
/// without overflow, with a digit's worth of addend and the previous column's carry:
/// `products·digits·(2^bits − 1)² + 2^bits + 2^(64 − bits) < 2^64`. Exact, in 128-bit
/// arithmetic.
///
/// ```text
/// two products:   28 bits up to 128 digits (moduli up to 3,582 bits), 27 bits up to 512
/// three products: 28 bits up to 85 digits (roots up to 2,374 bits), 27 bits up to 341
/// ```
pub(crate) fn columns_fit(products: u128, bits: u32, digits: usize) -> bool {
    let top = (1u128 << bits) - 1;
    products * digits as u128 * top * top + (1u128 << bits) + (1u128 << (64 - bits)) < 1u128 << 64
}

/// [`columns_fit`] for a product modulo one modulus (two products a column's digit pair).
pub(crate) fn digits_fit(bits: u32, digits: usize) -> bool {
    columns_fit(2, bits, digits)
}

/// The radix and digit count for an odd modulus of `modulus_bits` bits: the widest digits
/// (28 bits, else 27) whose count `L` keeps `4m < 2^(bits·L)` and the columns within
/// [`digits_fit`]; `None` where neither does.
pub(crate) fn radix_for(modulus_bits: usize) -> Option<(u32, usize)> {
    [28u32, 27].into_iter().find_map(|bits| {
        let digits = (modulus_bits + 2).div_ceil(bits as usize);
        digits_fit(bits, digits).then_some((bits, digits))
    })
}

/// The radix and digit count of a root N for products modulo N² on two digits modulo N: the
/// widest digits (28 bits, else 27) whose count `L` keeps `64·N < 2^(bits·L)` (each digit then
/// stays below `3N`) and the high digit's columns within [`columns_fit`]; `None` where neither
/// does.
pub(crate) fn two_digit_radix_for(root_bits: usize) -> Option<(u32, usize)> {
    [28u32, 27].into_iter().find_map(|bits| {
        let digits = (root_bits + 6).div_ceil(bits as usize);
        columns_fit(3, bits, digits).then_some((bits, digits))
    })
}

/// The low `bits·out.len()` bits of `x` (radix 2^64) as digits of `bits` bits.
pub(crate) fn to_radix(x: &[u64], bits: u32, out: &mut [u64]) {
    let (bits, mask) = (bits as usize, (1u64 << bits) - 1);
    for (j, digit) in out.iter_mut().enumerate() {
        let (word, shift) = ((bits * j) / 64, (bits * j) % 64);
        let low = x.get(word).copied().unwrap_or(0) >> shift;
        let high = match shift + bits > 64 {
            true => x.get(word + 1).copied().unwrap_or(0) << (64 - shift),
            false => 0,
        };
        *digit = (low | high) & mask;
    }
}

/// Normalised digits of `bits` bits back into radix 2^64 (`out` long enough for the value).
pub(crate) fn from_radix(x: &[u64], bits: u32, out: &mut [u64]) {
    let bits = bits as usize;
    out.fill(0);
    for (j, &digit) in x.iter().enumerate() {
        let (word, shift) = ((bits * j) / 64, (bits * j) % 64);
        if let Some(w) = out.get_mut(word) {
            *w |= digit << shift;
        }
        if shift + bits > 64 {
            if let Some(w) = out.get_mut(word + 1) {
                *w |= digit >> (64 - shift);
            }
        }
    }
}

/// `x − m` where `x ≥ m`, else `x`, in place and in constant time (normalised digits of `bits`
/// bits, as many as `m` has).
pub(crate) fn reduce_once(x: &mut [u64], m: &[u64], bits: u32) {
    let mask = (1u64 << bits) - 1;
    let mut diff = vec![0u64; x.len()];
    let mut borrow = 0u64;
    for ((d, &xj), &mj) in diff.iter_mut().zip(x.iter()).zip(m) {
        // Digits are below 2^32, so the sign bit of the difference is the borrow.
        let v = xj.wrapping_sub(mj).wrapping_sub(borrow);
        borrow = v >> 63;
        *d = v & mask;
    }
    ct::conditional_assign(ct::bit_mask(borrow ^ 1), x, &diff);
    diff.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_bound_holds_at_its_edges_and_not_past_them() {
        assert!(digits_fit(28, 128) && !digits_fit(28, 129));
        assert!(digits_fit(27, 512) && !digits_fit(27, 513));
        // Widest moduli per radix: two spare bits above the modulus.
        assert_eq!(radix_for(3582), Some((28, 128)));
        assert_eq!(radix_for(3583), Some((27, 133)));
        assert_eq!(radix_for(2048), Some((28, 74)));
        assert_eq!(radix_for(4096), Some((27, 152)));
        assert_eq!(radix_for(27 * 512 - 2), Some((27, 512)));
        assert_eq!(radix_for(27 * 512 - 1), None);
    }

    #[test]
    fn the_two_digit_bound_holds_at_its_edges_and_not_past_them() {
        assert!(columns_fit(3, 28, 85) && !columns_fit(3, 28, 86));
        assert!(columns_fit(3, 27, 341) && !columns_fit(3, 27, 342));
        // Six spare bits above the root: p of key_len 1024 in 37 digits.
        assert_eq!(two_digit_radix_for(1024), Some((28, 37)));
        assert_eq!(two_digit_radix_for(28 * 85 - 6), Some((28, 85)));
        assert_eq!(two_digit_radix_for(28 * 85 - 5), Some((27, 89)));
        assert_eq!(two_digit_radix_for(27 * 341 - 6), Some((27, 341)));
        assert_eq!(two_digit_radix_for(27 * 341 - 5), None);
    }

    #[test]
    fn digits_round_trip_at_both_radices() {
        let x: Vec<u64> = (0..9u64)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect();
        for bits in [27u32, 28] {
            let mut digits = vec![0u64; (64 * x.len()).div_ceil(bits as usize)];
            to_radix(&x, bits, &mut digits);
            assert!(digits.iter().all(|&d| d >> bits == 0));
            let mut back = vec![0u64; x.len()];
            from_radix(&digits, bits, &mut back);
            assert_eq!(back, x);
        }
    }
}
