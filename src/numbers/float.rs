//! Exact conversions between `f64` and integers scaled by powers of two, with the rounding
//! Python uses (so that decoded values equal python-paillier's to the last bit).

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{ToPrimitive, Zero};

use crate::error::{Error, Result};

/// `value = mantissa · 2^exponent` exactly, with `mantissa` an integer of at most 53 bits
/// (`None` for NaN and infinities).
pub(crate) fn decompose(value: f64) -> Option<(i64, i32)> {
    if !value.is_finite() {
        return None;
    }
    let bits = value.to_bits();
    let negative = bits >> 63 == 1;
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = (bits & ((1u64 << 52) - 1)) as i64;
    let (mantissa, exponent) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1i64 << 52), biased - 1075)
    };
    Some((if negative { -mantissa } else { mantissa }, exponent))
}

/// The binary exponent of Python's `math.frexp(value)[1]`: `value = m·2^e` with
/// `0.5 ≤ |m| < 1`, and 0 for zero.
pub(crate) fn frexp_exponent(value: f64) -> Option<i32> {
    let (mantissa, exponent) = decompose(value)?;
    if mantissa == 0 {
        return Some(0);
    }
    let bits = 64 - mantissa.unsigned_abs().leading_zeros() as i32;
    Some(exponent + bits)
}

/// `value · 2^-shift` rounded to the nearest integer, ties to even (Python's `round` of a
/// `Fraction`), for `value = mantissa · 2^exponent`.
pub(crate) fn round_scaled(mantissa: i64, exponent: i32, shift: i64) -> BigInt {
    let sign = if mantissa < 0 {
        Sign::Minus
    } else {
        Sign::Plus
    };
    let magnitude = BigUint::from(mantissa.unsigned_abs());
    let k = exponent as i64 - shift;
    let rounded = if k >= 0 {
        magnitude << (k as u64)
    } else {
        round_shift_right(&magnitude, k.unsigned_abs())
    };
    BigInt::from_biguint(sign, rounded)
}

/// `x / 2^k` rounded to the nearest integer, ties to even.
fn round_shift_right(x: &BigUint, k: u64) -> BigUint {
    if k == 0 {
        return x.clone();
    }
    if k > x.bits() {
        // x < 2^(k−1): below one half.
        return BigUint::zero();
    }
    let quotient = x >> k;
    let remainder = x - (&quotient << k);
    let half = BigUint::from(1u32) << (k - 1);
    if remainder > half || (remainder == half && quotient.bit(0)) {
        quotient + 1u32
    } else {
        quotient
    }
}

/// `mantissa · 2^exponent` correctly rounded to the nearest `f64` (ties to even, subnormals
/// included), as Python's `int / 2**k` and `float(int)` give it; too large is an error.
pub(crate) fn scaled_to_f64(mantissa: &BigInt, exponent: i64) -> Result<f64> {
    let magnitude = mantissa.magnitude();
    if magnitude.is_zero() {
        return Ok(if mantissa.sign() == Sign::Minus {
            -0.0
        } else {
            0.0
        });
    }
    let bits = magnitude.bits() as i64;
    // The value's leading bit is 2^top.
    let top = bits - 1 + exponent;
    if top > 1023 {
        return Err(too_large());
    }
    // Significant bits the result can hold at this magnitude: 53, fewer among subnormals.
    let precision = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if precision <= 0 {
        // Below half the smallest subnormal, or exactly half of it (rounds to zero, even);
        // above half rounds up to it.
        let smallest_exponent = -1074i64;
        let half = BigUint::from(1u32);
        let above_half = top == smallest_exponent - 1 && magnitude > &(half << (bits - 1) as u64);
        let value = if above_half { f64::from_bits(1) } else { 0.0 };
        return Ok(if mantissa.sign() == Sign::Minus {
            -value
        } else {
            value
        });
    }
    let drop = (bits - precision).max(0) as u64;
    let kept = round_shift_right(magnitude, drop);
    // `kept` has at most precision + 1 bits (a carry): exact in an f64.
    let kept = kept.to_f64().ok_or_else(too_large)?;
    let value = multiply_by_power_of_two(kept, exponent + drop as i64);
    if value.is_infinite() {
        return Err(too_large());
    }
    Ok(if mantissa.sign() == Sign::Minus {
        -value
    } else {
        value
    })
}

/// `x · 2^k` for an `x` whose product is representable (exact), in steps that never overflow
/// or underflow on the way.
fn multiply_by_power_of_two(mut x: f64, mut k: i64) -> f64 {
    let step = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    while k > 1000 {
        x *= step(1000);
        k -= 1000;
    }
    while k < -1000 {
        x *= step(-1000);
        k += 1000;
    }
    x * step(k)
}

fn too_large() -> Error {
    Error::NumberOverflow("the decoded value is too large for a float".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decompose_is_exact(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let (m, e) = decompose(value).unwrap();
            prop_assert_eq!(scaled_to_f64(&BigInt::from(m), e as i64).unwrap(), value);
        }

        /// Against the oracle of a correctly rounded conversion: f64's own parse of the exact
        /// decimal expansion of m·2^e.
        #[test]
        fn rounds_like_python(m in any::<i64>(), e in -1200i64..1000) {
            let exact = BigInt::from(m);
            let Ok(ours) = scaled_to_f64(&exact, e) else { return Ok(()); };
            let oracle = exact_decimal(m, e).parse::<f64>().unwrap();
            prop_assert_eq!(ours.to_bits(), oracle.to_bits(), "m={} e={}", m, e);
        }
    }

    /// The exact decimal of m·2^e, for Rust's correctly rounded parser.
    fn exact_decimal(m: i64, e: i64) -> String {
        let big = BigInt::from(m);
        if e >= 0 {
            return (big << e as u64).to_string();
        }
        // m / 2^k = m·5^k / 10^k.
        let k = (-e) as u32;
        let scaled = big * num_traits::pow(BigInt::from(5u32), k as usize);
        format!("{scaled}e-{k}")
    }

    #[test]
    fn frexp_matches_python() {
        assert_eq!(frexp_exponent(0.0), Some(0));
        assert_eq!(frexp_exponent(1.0), Some(1));
        assert_eq!(frexp_exponent(0.5), Some(0));
        assert_eq!(frexp_exponent(-3.0), Some(2));
        assert_eq!(frexp_exponent(f64::from_bits(1)), Some(-1073));
        assert_eq!(frexp_exponent(f64::NAN), None);
    }

    #[test]
    fn rounds_ties_to_even() {
        assert_eq!(round_scaled(5, 0, 1), BigInt::from(2)); // 2.5 → 2
        assert_eq!(round_scaled(7, 0, 1), BigInt::from(4)); // 3.5 → 4
        assert_eq!(round_scaled(-5, 0, 1), BigInt::from(-2));
        assert_eq!(round_scaled(3, 0, 2), BigInt::from(1)); // 0.75 → 1
        assert_eq!(round_scaled(1, 0, 200), BigInt::from(0));
    }

    #[test]
    fn too_large_is_an_error() {
        assert!(scaled_to_f64(&BigInt::from(1), 1024).is_err());
        assert_eq!(
            scaled_to_f64(&BigInt::from(1), 1023).unwrap(),
            2f64.powi(1023)
        );
    }
}
