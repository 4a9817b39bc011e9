//! python-paillier's number encoding (`phe.EncodedNumber`), exactly: a number is an integer
//! mantissa and a base-16 exponent, `value = mantissa · 16^exponent`, and the mantissa is stored
//! modulo n, negative ones as `n − |mantissa|`.
//!
//! * An integer gets exponent 0; a float without a precision gets the exponent that holds its 53
//!   mantissa bits exactly, `floor((frexp_exponent − 53) / 4)`; a `precision` gives every value
//!   the exponent `floor(log16(precision))`. A `max_exponent` lowers the exponent to it.
//! * The mantissa is `round(value · 16^-exponent)`, computed exactly, ties to even.
//! * `max_int = n / 3 − 1`: a mantissa beyond ±max_int is refused when encoding, and a decrypted
//!   residue between `max_int` and `n − max_int` is an overflow, never a wrong number.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{Signed, ToPrimitive, Zero};

use super::float::{decompose, frexp_exponent, round_scaled, scaled_to_f64};
use crate::error::{Error, Result};

/// The encoding's base, 16 as in python-paillier.
pub const BASE: u32 = 16;
const LOG2_BASE: i32 = 4;
const FLOAT_MANTISSA_BITS: i32 = 53;

/// A plain number to encode: what python-paillier tells apart by Python type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Scalar {
    /// An integer: exponent 0 unless a `max_exponent` or precision lowers it.
    Int(i64),
    /// A float (finite): its own exponent unless a precision is given.
    Float(f64),
}

/// The mantissa bounds and modulus of one key: what encoding and decoding need of it.
#[derive(Clone, Debug)]
pub struct NumberRange {
    n: BigUint,
    max_int: BigUint,
}

impl NumberRange {
    /// The range of a key with modulus `n`: `max_int = n / 3 − 1`, as python-paillier.
    pub fn new(n: &BigUint) -> Self {
        let max_int = n / 3u32 - 1u32;
        Self {
            n: n.clone(),
            max_int,
        }
    }

    /// The largest mantissa magnitude this key encodes.
    pub fn max_int(&self) -> &BigUint {
        &self.max_int
    }

    /// The modulus.
    pub fn n(&self) -> &BigUint {
        &self.n
    }

    /// A signed mantissa as its residue modulo n, refused beyond ±max_int.
    pub fn residue(&self, mantissa: &BigInt, index: usize) -> Result<BigUint> {
        if mantissa.magnitude() > &self.max_int {
            return Err(Error::InvalidNumber {
                index,
                reason: format!(
                    "its mantissa needs {} bits; this key holds at most {} (max_int = n/3 − 1)",
                    mantissa.magnitude().bits(),
                    self.max_int.bits()
                ),
            });
        }
        Ok(match mantissa.sign() {
            Sign::Minus => &self.n - mantissa.magnitude(),
            _ => mantissa.magnitude().clone(),
        })
    }

    /// A decrypted residue as its signed mantissa; the overflow band is an error.
    pub fn mantissa(&self, residue: &BigUint, index: usize) -> Result<BigInt> {
        if residue >= &self.n {
            return Err(Error::InvalidNumber {
                index,
                reason: "the decrypted residue is not below n (corrupted)".into(),
            });
        }
        if residue <= &self.max_int {
            return Ok(BigInt::from_biguint(Sign::Plus, residue.clone()));
        }
        let negative = &self.n - residue;
        if negative <= self.max_int {
            return Ok(BigInt::from_biguint(Sign::Minus, negative));
        }
        Err(Error::InvalidNumber {
            index,
            reason: "overflow: the result is beyond ±max_int (an operation grew it past what the \
                     key holds)"
                .into(),
        })
    }
}

/// The exponent of `floor(log16(precision))`, as python-paillier computes it (in floating
/// point: `math.log(precision, 16)`).
pub fn precision_exponent(precision: f64) -> Result<i32> {
    if !(precision.is_finite() && precision > 0.0) {
        return Err(Error::InvalidParameter(format!(
            "precision {precision} is not a positive finite number"
        )));
    }
    Ok((precision.ln() / f64::from(BASE).ln()).floor() as i32)
}

/// The exponent python-paillier gives `value` with no precision: 0 for an integer; for a float,
/// the one that keeps all 53 mantissa bits. `None` for NaN and infinities.
pub fn natural_exponent(value: Scalar) -> Option<i32> {
    match value {
        Scalar::Int(_) => Some(0),
        Scalar::Float(x) => {
            let lsb = frexp_exponent(x)? - FLOAT_MANTISSA_BITS;
            Some(lsb.div_euclid(LOG2_BASE))
        }
    }
}

/// The largest exponent at which `value` is encoded exactly, which gives it the shortest exact
/// mantissa (`i32::MAX` for zero, `None` for NaN and infinities). Not python-paillier's rule
/// (which keeps all 53 bits of a float): packed numbers use it, where short mantissas are what
/// fits a slot.
pub fn shortest_exponent(value: Scalar) -> Option<i32> {
    let (mantissa, exponent) = match value {
        Scalar::Int(i) => (i, 0),
        Scalar::Float(x) => decompose(x)?,
    };
    if mantissa == 0 {
        return Some(i32::MAX);
    }
    let lowest_bit = exponent + mantissa.trailing_zeros() as i32;
    Some(lowest_bit.div_euclid(LOG2_BASE))
}

/// The exponent `value` is encoded at: its precision's or its own, lowered to `max_exponent`.
pub fn exponent_for(
    value: Scalar,
    precision: Option<i32>,
    max_exponent: Option<i32>,
) -> Option<i32> {
    let own = match precision {
        Some(exponent) => exponent,
        None => natural_exponent(value)?,
    };
    Some(match max_exponent {
        Some(max) => own.min(max),
        None => own,
    })
}

/// `round(value · 16^-exponent)`, exactly (ties to even). `None` for NaN and infinities.
pub fn mantissa_at(value: Scalar, exponent: i32) -> Option<BigInt> {
    let (m, e) = match value {
        Scalar::Int(i) => {
            let big = BigInt::from(i);
            return Some(if exponent <= 0 {
                big << (LOG2_BASE * -exponent) as u64
            } else {
                // An integer at a positive exponent (a precision above 1): rounded.
                let divisor = BigInt::from(BASE).pow(exponent as u32);
                round_ratio(&big, &divisor)
            });
        }
        Scalar::Float(x) => decompose(x)?,
    };
    Some(round_scaled(
        m,
        e,
        i64::from(LOG2_BASE) * i64::from(exponent),
    ))
}

/// `a / b` rounded to the nearest integer, ties to even, for `b > 0`.
fn round_ratio(a: &BigInt, b: &BigInt) -> BigInt {
    let (q, r) = (a.div_euclid_(b), a.rem_euclid_(b));
    let twice = &r * 2;
    if &twice > b || (&twice == b && q.magnitude().bit(0)) {
        q + 1
    } else {
        q
    }
}

trait Euclid {
    fn div_euclid_(&self, b: &BigInt) -> BigInt;
    fn rem_euclid_(&self, b: &BigInt) -> BigInt;
}

impl Euclid for BigInt {
    fn div_euclid_(&self, b: &BigInt) -> BigInt {
        num_integer::Integer::div_floor(self, b)
    }
    fn rem_euclid_(&self, b: &BigInt) -> BigInt {
        num_integer::Integer::mod_floor(self, b)
    }
}

/// A decoded number as an `f64`: `mantissa · 16^exponent` correctly rounded (Python's
/// `int / 16**k`, or `float(int)`).
pub fn to_f64(mantissa: &BigInt, exponent: i32) -> Result<f64> {
    scaled_to_f64(mantissa, i64::from(LOG2_BASE) * i64::from(exponent))
}

/// A decoded number as an `i64`: `mantissa · 16^exponent` when that is an integer in range.
pub fn to_i64(mantissa: &BigInt, exponent: i32) -> Result<i64> {
    let value = if exponent >= 0 {
        mantissa << (LOG2_BASE * exponent) as u64
    } else {
        let divisor = BigInt::from(1) << (LOG2_BASE * -exponent) as u64;
        if !(mantissa % &divisor).is_zero() {
            return Err(Error::NumberOverflow(
                "the decoded value is not an integer".into(),
            ));
        }
        mantissa / divisor
    };
    value.to_i64().ok_or_else(|| {
        Error::NumberOverflow(format!(
            "the decoded value ({} bits) does not fit an int64",
            value.abs().bits()
        ))
    })
}

/// `16^k` as a big integer, for exponent alignment.
pub(crate) fn base_power(k: u32) -> BigUint {
    BigUint::from(1u32) << (LOG2_BASE as u64 * u64::from(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed with python-paillier 1.5 (`EncodedNumber.encode(pk, x).exponent` and
    /// `.encoding` for a positive x).
    #[test]
    fn exponents_match_python_paillier() {
        assert_eq!(natural_exponent(Scalar::Float(0.0)), Some(-14));
        assert_eq!(natural_exponent(Scalar::Float(1.0)), Some(-13));
        assert_eq!(natural_exponent(Scalar::Float(0.1)), Some(-14));
        assert_eq!(natural_exponent(Scalar::Float(-1234.5)), Some(-11));
        assert_eq!(natural_exponent(Scalar::Int(-7)), Some(0));
        assert_eq!(precision_exponent(1e-6).unwrap(), -5);
        assert_eq!(precision_exponent(1.0).unwrap(), 0);
        assert_eq!(precision_exponent(0.5).unwrap(), -1);
        assert!(precision_exponent(0.0).is_err());
        assert!(precision_exponent(f64::NAN).is_err());
    }

    #[test]
    fn mantissas_are_exact() {
        // 0.1 = 3602879701896397 / 2^55; at exponent -14 (2^-56): × 2.
        assert_eq!(
            mantissa_at(Scalar::Float(0.1), -14).unwrap(),
            BigInt::from(3602879701896397i64 << 1)
        );
        // 1.5 at exponent 0: round(1.5) = 2 (ties to even); 2.5 → 2.
        assert_eq!(mantissa_at(Scalar::Float(1.5), 0).unwrap(), BigInt::from(2));
        assert_eq!(mantissa_at(Scalar::Float(2.5), 0).unwrap(), BigInt::from(2));
        assert_eq!(
            mantissa_at(Scalar::Float(-2.5), 0).unwrap(),
            BigInt::from(-2)
        );
        assert_eq!(mantissa_at(Scalar::Int(3), -2).unwrap(), BigInt::from(768));
        assert_eq!(mantissa_at(Scalar::Int(24), 1).unwrap(), BigInt::from(2));
        assert_eq!(mantissa_at(Scalar::Int(40), 1).unwrap(), BigInt::from(2));
        assert!(mantissa_at(Scalar::Float(f64::INFINITY), 0).is_none());
    }

    #[test]
    fn residues_round_trip_and_refuse_overflow() {
        let range = NumberRange::new(&BigUint::from(1_000_003u32));
        assert_eq!(range.max_int(), &BigUint::from(333_333u32));
        for m in [-333_333i64, -1, 0, 1, 333_333] {
            let r = range.residue(&BigInt::from(m), 0).unwrap();
            assert_eq!(range.mantissa(&r, 0).unwrap(), BigInt::from(m));
        }
        assert!(range.residue(&BigInt::from(333_334), 0).is_err());
        assert!(range.mantissa(&BigUint::from(500_000u32), 0).is_err());
        assert!(range.mantissa(&BigUint::from(1_000_003u32), 0).is_err());
    }

    #[test]
    fn decoding() {
        assert_eq!(to_f64(&BigInt::from(3), -1).unwrap(), 0.1875);
        assert_eq!(to_i64(&BigInt::from(-3), 2).unwrap(), -768);
        assert!(to_i64(&BigInt::from(3), -1).is_err());
        assert!(to_i64(&(BigInt::from(1) << 80), 0).is_err());
    }
}
