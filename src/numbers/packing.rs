//! [`PackedLayout`]: many samples' numbers in one plaintext, so that one ciphertext, and every
//! product on it, serves them all (the SIMD packing of BatchCrypt and of CKKS's slots, done
//! exactly on integers).
//!
//! Slot `s` of a plaintext holds a signed integer `v_s` of `slot_bits` bits, and the plaintext is
//! `V = Σ_s v_s · 2^(s·slot_bits)` (a negative `V` stored as `n − |V|`, python-paillier's rule).
//! Paillier adds plaintexts and multiplies them by integers, so a weighted sum of packed
//! plaintexts is the packed weighted sums, slot by slot, as long as no slot leaves
//! `±(2^(slot_bits−1) − 1)`: a borrow from a negative slot is taken back when unpacking. The
//! layout carries a public bound on every slot's magnitude, set when encrypting (the caller's
//! `max_abs`, never the data's largest value) and grown by each operation, and an operation whose
//! result could leave the slot is refused before it runs. Unpacking checks the bound again: a
//! slot beyond it, or anything above the last slot, is an error, never a wrong number.

use num_bigint::{BigInt, BigUint};
use num_integer::Integer;
use num_traits::{One, Signed, Zero};

use super::encoding::NumberRange;
use crate::error::{Error, Result};

/// The headroom above the inputs' magnitude that [`PackOptions`] leaves by default, in bits:
/// room for weights of up to about 40 bits summed over 256 inputs.
pub const DEFAULT_HEADROOM_BITS: u32 = 48;

/// How numbers are packed when encrypting: the largest magnitude any value may have, the
/// precision they are encoded at, and the bits each slot keeps free for the operations to come.
///
/// ```
/// use paillier_gpu::numbers::PackOptions;
/// let options = PackOptions::new(10.0).with_precision(1e-6).with_headroom_bits(40);
/// assert_eq!(options.headroom_bits, 40);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PackOptions {
    /// Every value's magnitude is at most this (checked; a value beyond it is an error). It is
    /// public in the layout: choose it from the data's domain, not from the data.
    pub max_abs: f64,
    /// One exponent for every value, `floor(log16(precision))`; without it, the lowest exponent
    /// at which every value is exact (short for integers and dyadic fractions such as 0.375,
    /// long for values such as 0.1: give a precision then).
    pub precision: Option<f64>,
    /// Bits of each slot above the inputs' magnitude, for what operations add to it.
    pub headroom_bits: u32,
}

impl PackOptions {
    /// Values of magnitude at most `max_abs`, exact, with [`DEFAULT_HEADROOM_BITS`].
    pub fn new(max_abs: f64) -> Self {
        Self {
            max_abs,
            precision: None,
            headroom_bits: DEFAULT_HEADROOM_BITS,
        }
    }

    /// The same, encoded at `precision`.
    pub fn with_precision(mut self, precision: f64) -> Self {
        self.precision = Some(precision);
        self
    }

    /// The same with `bits` of headroom per slot.
    pub fn with_headroom_bits(mut self, bits: u32) -> Self {
        self.headroom_bits = bits;
        self
    }
}

/// Where samples sit in a packed plaintext: `slots` signed slots of `slot_bits` bits, numbers at
/// one base-16 `exponent`, and a public bound on every slot's magnitude.
///
/// Invariants (checked by every constructor): `bound < 2^(slot_bits−1)` and
/// `slots · slot_bits < bits(max_int)`, so that every packed plaintext lies within ±max_int.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedLayout {
    slots: usize,
    slot_bits: u32,
    exponent: i32,
    bound: BigUint,
}

impl PackedLayout {
    /// As many slots of `slot_bits` bits as the key's plaintexts hold, for numbers at
    /// `exponent` whose magnitude is at most `bound`.
    pub fn new(range: &NumberRange, slot_bits: u32, exponent: i32, bound: BigUint) -> Result<Self> {
        let capacity = range.max_int().bits().saturating_sub(1);
        let slots = if slot_bits == 0 {
            0
        } else {
            capacity / u64::from(slot_bits)
        };
        if slots == 0 {
            return Err(Error::InvalidParameter(format!(
                "a slot of {slot_bits} bits does not fit this key's plaintext ({capacity} bits): \
                 use a larger key, a coarser precision, a smaller max_abs or less headroom"
            )));
        }
        let layout = Self {
            slots: slots as usize,
            slot_bits,
            exponent,
            bound: BigUint::zero(),
        };
        layout.with_bound(bound, exponent)
    }

    /// This layout for results at `exponent` whose slots reach at most `bound`; an error if
    /// that could leave a slot.
    pub fn with_bound(&self, bound: BigUint, exponent: i32) -> Result<Self> {
        if bound.bits() >= u64::from(self.slot_bits) {
            return Err(Error::NumberOverflow(format!(
                "values of up to {} bits do not fit slots of {} bits (one is the sign): encrypt \
                 the samples with at least {} more bits of headroom (`numbers encrypt \
                 --headroom-bits`, or headroom_bits= in Rust and Python), or round the model's \
                 weights to a coarser precision (`linear --precision P`, or precision=): without \
                 one, each weight is encoded exactly at its own exponent, which can take many \
                 bits",
                bound.bits(),
                self.slot_bits,
                bound.bits() + 1 - u64::from(self.slot_bits)
            )));
        }
        Ok(Self {
            bound,
            exponent,
            ..self.clone()
        })
    }

    /// Samples per plaintext.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Bits per slot, the sign included.
    pub fn slot_bits(&self) -> u32 {
        self.slot_bits
    }

    /// The base-16 exponent of every number.
    pub fn exponent(&self) -> i32 {
        self.exponent
    }

    /// The largest magnitude a slot's integer can have.
    pub fn bound(&self) -> &BigUint {
        &self.bound
    }

    /// `Σ_s 2^(s·slot_bits)`: the plaintext with 1 in every slot (a constant added to every
    /// sample is that constant times this).
    pub fn ones(&self) -> BigInt {
        (0..self.slots).fold(BigInt::zero(), |acc, _| (acc << self.slot_bits) + 1)
    }

    /// The plaintext of `slot_values` (at most `slots`; missing slots hold 0), each within the
    /// bound (an error names the first that is not, by `index_of` its slot).
    pub fn pack(
        &self,
        slot_values: &[BigInt],
        index_of: impl Fn(usize) -> usize,
    ) -> Result<BigInt> {
        if slot_values.len() > self.slots {
            return Err(Error::ShapeMismatch(format!(
                "{} values for {} slots",
                slot_values.len(),
                self.slots
            )));
        }
        if let Some(s) = slot_values.iter().position(|v| v.magnitude() > &self.bound) {
            return Err(Error::InvalidNumber {
                index: index_of(s),
                reason: "its magnitude is above the packing's max_abs".into(),
            });
        }
        Ok(slot_values
            .iter()
            .rev()
            .fold(BigInt::zero(), |acc, v| (acc << self.slot_bits) + v))
    }

    /// The slots' integers of a decrypted plaintext (signed, within ±max_int). A slot beyond
    /// the bound or bits above the last slot mean the ciphertext was not made with this layout
    /// (or was tampered with): an error, never wrong numbers.
    pub fn unpack(&self, plaintext: &BigInt) -> Result<Vec<BigInt>> {
        let modulus = BigInt::one() << self.slot_bits;
        let half = BigInt::one() << (self.slot_bits - 1);
        let mut rest = plaintext.clone();
        let mut out = Vec::with_capacity(self.slots);
        for _ in 0..self.slots {
            let mut v = rest.mod_floor(&modulus);
            if v >= half {
                v -= &modulus;
            }
            if v.magnitude() > &self.bound {
                return Err(self.not_this_layout());
            }
            rest = (rest - &v) >> self.slot_bits;
            out.push(v);
        }
        if !rest.is_zero() {
            return Err(self.not_this_layout());
        }
        Ok(out)
    }

    fn not_this_layout(&self) -> Error {
        Error::NumberOverflow(format!(
            "a decrypted plaintext does not unpack into {} slots of {} bits within the bound: it \
             was not made with this packing, or was altered",
            self.slots, self.slot_bits
        ))
    }
}

/// The largest magnitude `Σ_i |w_ij|·bound + |b_j|` over the outputs `j` of a layer with
/// row-major `weights` (`inputs × outputs`) and `biases`, for inputs within `bound`.
pub(super) fn layer_bound(
    weights: &[BigInt],
    biases: Option<&[BigInt]>,
    outputs: usize,
    bound: &BigUint,
) -> BigUint {
    (0..outputs)
        .map(|j| {
            let weight_sum: BigUint = weights
                .iter()
                .skip(j)
                .step_by(outputs)
                .map(|w| w.magnitude())
                .sum();
            let bias = biases.map_or_else(BigUint::zero, |b| b[j].abs().magnitude().clone());
            weight_sum * bound + bias
        })
        .max()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::RandBigInt;
    use rand::Rng;

    fn range(bits: u64) -> NumberRange {
        NumberRange::new(&((BigUint::one() << bits) - 1u32))
    }

    #[test]
    fn packing_then_unpacking_gives_every_slot_back() {
        let mut rng = rand::thread_rng();
        for slot_bits in [2u32, 3, 17, 64, 65, 100] {
            let bound = (BigUint::one() << (slot_bits - 1)) - 1u32;
            let layout = PackedLayout::new(&range(1024), slot_bits, 0, bound.clone()).unwrap();
            assert!(layout.slots() as u64 * u64::from(slot_bits) <= 1022);
            let values: Vec<BigInt> = (0..layout.slots())
                .map(|_| {
                    let m = rng.gen_biguint_below(&(&bound + 1u32));
                    if rng.gen() {
                        -BigInt::from(m)
                    } else {
                        BigInt::from(m)
                    }
                })
                .collect();
            let packed = layout.pack(&values, |s| s).unwrap();
            assert!(packed.magnitude() <= range(1024).max_int());
            assert_eq!(layout.unpack(&packed).unwrap(), values);
        }
    }

    #[test]
    fn sums_of_packed_plaintexts_are_packed_sums() {
        let layout = PackedLayout::new(&range(512), 20, 0, BigUint::from(1000u32)).unwrap();
        let a: Vec<BigInt> = (0..layout.slots() as i64)
            .map(|s| BigInt::from(s - 7))
            .collect();
        let b: Vec<BigInt> = (0..layout.slots() as i64)
            .map(|s| BigInt::from(3 - 2 * s))
            .collect();
        let sum = layout.pack(&a, |s| s).unwrap() * 5 + layout.pack(&b, |s| s).unwrap() * -3;
        let wide = layout.with_bound(BigUint::from(8000u32), 0).unwrap();
        let expected: Vec<BigInt> = a.iter().zip(&b).map(|(x, y)| x * 5 - y * 3).collect();
        assert_eq!(wide.unpack(&sum).unwrap(), expected);
    }

    #[test]
    fn values_and_plaintexts_outside_the_layout_are_refused() {
        let layout = PackedLayout::new(&range(256), 16, 0, BigUint::from(100u32)).unwrap();
        let err = layout.pack(&[BigInt::from(5), BigInt::from(-101)], |s| 10 + s);
        assert!(
            matches!(err, Err(Error::InvalidNumber { index: 11, .. })),
            "{err:?}"
        );
        assert!(layout
            .pack(&vec![BigInt::zero(); layout.slots() + 1], |s| s)
            .is_err());
        // A slot above the bound, and bits above the last slot.
        assert!(layout.unpack(&BigInt::from(101)).is_err());
        assert!(layout
            .unpack(&(BigInt::one() << (16 * layout.slots())))
            .is_err());
        // The bound must leave the sign bit free, and a slot must fit the key.
        assert!(matches!(
            layout.with_bound(BigUint::from(1u32 << 15), 0),
            Err(Error::NumberOverflow(_))
        ));
        assert!(layout
            .with_bound(BigUint::from((1u32 << 15) - 1), 0)
            .is_ok());
        assert!(PackedLayout::new(&range(256), 300, 0, BigUint::one()).is_err());
        assert!(PackedLayout::new(&range(256), 0, 0, BigUint::zero()).is_err());
    }

    #[test]
    fn the_layer_bound_is_the_largest_output() {
        let w: Vec<BigInt> = [1, -2, 3, 4].into_iter().map(BigInt::from).collect();
        let b: Vec<BigInt> = [BigInt::from(-10), BigInt::from(1)].to_vec();
        // Output 0: (1 + 3)·5 + 10 = 30; output 1: (2 + 4)·5 + 1 = 31.
        assert_eq!(
            layer_bound(&w, Some(&b), 2, &BigUint::from(5u32)),
            BigUint::from(31u32)
        );
        assert_eq!(
            layer_bound(&w, None, 2, &BigUint::from(5u32)),
            BigUint::from(30u32)
        );
    }
}
