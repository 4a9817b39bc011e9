//! Elementwise homomorphic arithmetic on [`EncryptedArray`]s, with python-paillier's exponent
//! alignment, in batches on the backend.
//!
//! What each operation costs per element, in products modulo n² (`b`: bits of the operand):
//! * `add` (encrypted + encrypted): 1, plus `4·Δ` squarings on the side whose exponent is
//!   higher by Δ (it is brought down by raising it to `16^Δ`).
//! * `add_plain`: 1 (`g^m = 1 + m·n` needs no exponentiation), plus the alignment as above.
//! * `mul_plain`: one exponentiation by the plain mantissa, about `b·(1 + 1/(w+1))` products;
//!   a negative one adds 3 products (its inverse shares one big-integer inversion with at
//!   least 255 others) — never an exponent of n's length.
//! * `sum`: one product per element after alignment.

use num_bigint::BigUint;
use rayon::prelude::*;

use super::array::{encode_one, EncryptedArray};
use super::encoding::base_power;
use super::inverse::{invert_all, invert_each};
use super::values::{ElementExponents, Numbers};
use crate::error::{Error, Result};
use crate::hazmat::backend::multi_exp::product_of_groups;
use crate::hazmat::backend::{Backend, Exponents, LimbBatch, Secrecy};
use crate::hazmat::bigint::{limbs_from_biguint, PublicProducts};

/// Exponents of public values as a batch of equally wide items.
pub(super) fn public_exponents(values: &[BigUint]) -> Result<Exponents> {
    let bits = values.iter().map(|v| v.bits() as usize).max().unwrap_or(0);
    let limbs = bits.div_ceil(64).max(1);
    let mut batch = LimbBatch::new(limbs);
    batch.reserve(values.len());
    for v in values {
        batch.push(&limbs_from_biguint(v, limbs)?)?;
    }
    Ok(Exponents {
        values: batch,
        bits: bits.max(1),
        secrecy: Secrecy::Public,
    })
}

impl EncryptedArray {
    /// The same numbers at exponents `target` (each at most the element's own): element `i`
    /// raised to `16^(own − target)`, which multiplies its mantissa by as much.
    pub(super) fn aligned_to(
        &self,
        backend: &dyn Backend,
        target: &ElementExponents,
    ) -> Result<EncryptedArray> {
        let modulus = self.public_key.n_squared_modulus();
        self.check_shifts(target)?;
        if let (ElementExponents::Shared(own), ElementExponents::Shared(to)) =
            (&self.exponents, target)
        {
            // The fast path: one exponent for every element.
            let mut out = self.clone();
            out.exponents = target.clone();
            if own > to {
                let factor = public_exponents(&[base_power((own - to) as u32)])?;
                out.ciphertexts = backend.modexp(modulus, &self.ciphertexts, &factor)?;
            }
            return Ok(out);
        }
        // Per element, on every core (a phe-style array of 10^5 floats has as many
        // exponents): the elements to bring down, raised to 16^Δ = 2^(4·Δ) in one batch.
        let shift = |i: usize| (self.exponents.get(i) - target.get(i)).max(0) as usize;
        let moved: Vec<usize> = (0..self.len())
            .into_par_iter()
            .filter(|&i| shift(i) > 0)
            .collect();
        let ciphertexts = if moved.is_empty() {
            self.ciphertexts.clone()
        } else if 2 * moved.len() >= self.len() {
            // Most move (floats encoded exactly): every element, those that stay raised to
            // 2^0, so that the device's result is the array and nothing is gathered or copied.
            raised_to_sixteen(backend, modulus, &self.ciphertexts, shift)?
        } else {
            let s = self.ciphertexts.limbs_per_item();
            let mut bases = vec![0u64; moved.len() * s];
            bases
                .par_chunks_mut(s)
                .zip(moved.par_iter())
                .for_each(|(base, &i)| base.copy_from_slice(self.ciphertexts.item(i)));
            let bases = LimbBatch::from_flat(s, bases)?;
            let powers = raised_to_sixteen(backend, modulus, &bases, |k| shift(moved[k]))?;
            let mut ciphertexts = self.ciphertexts.clone();
            scatter(&mut ciphertexts, &moved, powers.as_flat());
            ciphertexts
        };
        Ok(EncryptedArray {
            public_key: self.public_key.clone(),
            ciphertexts,
            exponents: target.clone(),
            kind: self.kind,
            shape: self.shape.clone(),
        })
    }

    /// An error when some element would be raised to `16^d` with `4·d` above n's bits: any
    /// mantissa but zero would leave the range, and the exponent alone would be a number of
    /// `4·d` bits (exponents from a file or `phe` could ask for billions).
    fn check_shifts(&self, target: &ElementExponents) -> Result<()> {
        let limit = self.public_key.n().bits() / 4;
        let too_far = (0..self.len())
            .map(|i| (self.exponents.get(i), target.get(i)))
            .find(|&(own, to)| own > to && (own as i64 - to as i64) as u64 > limit);
        match too_far {
            Some((own, to)) => Err(Error::NumberOverflow(format!(
                "aligning exponent {own} to {to} multiplies a mantissa by 16^{}, which leaves \
                 the range of n for any value but zero",
                own as i64 - to as i64
            ))),
            None => Ok(()),
        }
    }

    /// Elementwise sum of two encrypted arrays of one shape (or of one with a single element,
    /// which is added to every element).
    pub fn add(&self, backend: &dyn Backend, other: &EncryptedArray) -> Result<EncryptedArray> {
        self.check_same_key(other)?;
        let count = self.broadcast_count(other.len())?;
        let (a, b) = (self.broadcast_to(count)?, other.broadcast_to(count)?);
        let target = pairwise_min(&a.exponents, &b.exponents, count);
        let (a, b) = (
            a.aligned_to(backend, &target)?,
            b.aligned_to(backend, &target)?,
        );
        let modulus = self.public_key.n_squared_modulus();
        Ok(EncryptedArray {
            ciphertexts: backend.modmul(modulus, &a.ciphertexts, &b.ciphertexts)?,
            kind: self.kind.and(other.kind),
            shape: if self.len() == count {
                self.shape.clone()
            } else {
                other.shape.clone()
            },
            ..a
        })
    }

    /// Adds plain numbers elementwise (one number: to every element), python-paillier's way:
    /// each is encoded at most at its element's exponent, and the element comes down to the
    /// number's exponent where that is lower.
    pub fn add_plain(&self, backend: &dyn Backend, values: Numbers<'_>) -> Result<EncryptedArray> {
        let count = self.broadcast_count(values.len())?;
        let range = self.range();
        let limbs = self.public_key.ciphertext_limbs();
        let encoded: Vec<(Vec<u64>, i32)> = (0..count)
            .into_par_iter()
            .map(|i| {
                let own = self.exponents.get(i % self.len());
                encode_one(
                    &range,
                    values.get(i % values.len()),
                    None,
                    Some(own),
                    limbs,
                    i,
                )
            })
            .collect::<Result<_>>()?;
        let mut base = self.broadcast_to(count)?;
        let target = ElementExponents::from_vec(encoded.iter().map(|(_, e)| *e).collect());
        base = base.aligned_to(backend, &target)?;
        // g^m = 1 + m·n mod n² (m < n, so m·n + 1 < n²).
        let n = self.public_key.n();
        let g_m: Vec<Vec<u64>> = encoded
            .par_iter()
            .map(|(m, _)| {
                limbs_from_biguint(
                    &(crate::hazmat::bigint::biguint_from_limbs(m) * n + 1u32),
                    limbs,
                )
            })
            .collect::<Result<_, _>>()?;
        let mut factors = LimbBatch::new(limbs);
        for f in &g_m {
            factors.push(f)?;
        }
        let modulus = self.public_key.n_squared_modulus();
        base.ciphertexts = backend.modmul(modulus, &base.ciphertexts, &factors)?;
        base.kind = self.kind.and(values.kind());
        Ok(base)
    }

    /// Multiplies elementwise by plain numbers (one number: every element), each encoded with
    /// its own exponent as python-paillier does; the exponents add.
    pub fn mul_plain(&self, backend: &dyn Backend, values: Numbers<'_>) -> Result<EncryptedArray> {
        let count = self.broadcast_count(values.len())?;
        let range = self.range();
        let signed: Vec<(num_bigint::BigInt, i32)> = (0..count)
            .into_par_iter()
            .map(|i| {
                let value = values.get(i % values.len());
                let exponent = super::encoding::exponent_for(value, None, None);
                let mantissa = exponent.and_then(|e| super::encoding::mantissa_at(value, e));
                match (mantissa, exponent) {
                    (Some(m), Some(e)) => {
                        range.residue(&m, i)?;
                        Ok((m, e))
                    }
                    _ => Err(Error::InvalidNumber {
                        index: i,
                        reason: "NaN and infinities cannot multiply".into(),
                    }),
                }
            })
            .collect::<Result<_>>()?;
        let base = self.broadcast_to(count)?;
        let magnitudes: Vec<BigUint> = signed.iter().map(|(m, _)| m.magnitude().clone()).collect();
        let negative: Vec<bool> = signed
            .iter()
            .map(|(m, _)| m.sign() == num_bigint::Sign::Minus)
            .collect();
        let exponents = public_exponents(&magnitudes)?;
        let modulus = self.public_key.n_squared_modulus();
        let mut ciphertexts = backend.modexp(modulus, &base.ciphertexts, &exponents)?;
        negate_where(modulus, &mut ciphertexts, |i| negative[i % negative.len()])?;
        let own = |i: usize| base.exponents.get(i);
        let new_exponents = ElementExponents::from_vec(
            (0..count)
                .map(|i| own(i) + signed[i % signed.len()].1)
                .collect(),
        );
        Ok(EncryptedArray {
            ciphertexts,
            exponents: new_exponents,
            kind: self.kind.and(values.kind()),
            ..base
        })
    }

    /// Every element's negation (one shared inversion per 256 elements).
    pub fn neg(&self) -> Result<EncryptedArray> {
        let mut out = self.clone();
        out.ciphertexts = invert_all(self.public_key.n_squared_modulus(), &self.ciphertexts)?;
        Ok(out)
    }

    /// Elementwise difference.
    pub fn sub(&self, backend: &dyn Backend, other: &EncryptedArray) -> Result<EncryptedArray> {
        self.add(backend, &other.neg()?)
    }

    /// The sum of every element, as a one-element array: the elements come down to the lowest
    /// exponent, then a tree of products.
    pub fn sum(&self, backend: &dyn Backend) -> Result<EncryptedArray> {
        if self.is_empty() {
            return Err(Error::ShapeMismatch("the sum of an empty array".into()));
        }
        let target = ElementExponents::Shared(self.exponents.min().unwrap_or(0));
        let aligned = self.aligned_to(backend, &target)?;
        let modulus = self.public_key.n_squared_modulus();
        let total = product_of_groups(backend, modulus, aligned.ciphertexts, self.len())?;
        Ok(EncryptedArray {
            ciphertexts: total,
            exponents: target,
            shape: vec![],
            ..self.clone()
        })
    }

    /// How many elements an elementwise operation with `other` elements gives.
    fn broadcast_count(&self, other: usize) -> Result<usize> {
        if other == self.len() || other == 1 {
            Ok(self.len())
        } else if self.len() == 1 && other > 0 {
            Ok(other)
        } else {
            Err(Error::ShapeMismatch(format!(
                "{other} values for an array of shape {:?}",
                self.shape
            )))
        }
    }

    /// This array repeated to `count` elements (itself unless it has one element).
    fn broadcast_to(&self, count: usize) -> Result<EncryptedArray> {
        if count == self.len() {
            return Ok(self.clone());
        }
        let mut ciphertexts = LimbBatch::new(self.ciphertexts.limbs_per_item());
        ciphertexts.reserve(count);
        for _ in 0..count {
            ciphertexts.push(self.ciphertexts.item(0))?;
        }
        Ok(EncryptedArray {
            ciphertexts,
            exponents: ElementExponents::Shared(self.exponents.get(0)),
            shape: vec![count],
            ..self.clone()
        })
    }
}

/// `bases[k] ^ (16 ^ shift(k))` in one batch on the backend (`16^d = 2^(4·d)`: one bit set).
fn raised_to_sixteen(
    backend: &dyn Backend,
    modulus: &crate::hazmat::bigint::MontgomeryModulus,
    bases: &LimbBatch,
    shift: impl Fn(usize) -> usize + Sync,
) -> Result<LimbBatch> {
    let count = bases.len();
    let bits = 4 * (0..count).into_par_iter().map(&shift).max().unwrap_or(0) + 1;
    let limbs = bits.div_ceil(64);
    let mut powers_of_two = vec![0u64; count * limbs];
    powers_of_two
        .par_chunks_mut(limbs)
        .enumerate()
        .for_each(|(k, exponent)| {
            let bit = 4 * shift(k);
            exponent[bit / 64] = 1 << (bit % 64);
        });
    let exponents = Exponents {
        values: LimbBatch::from_flat(limbs, powers_of_two)?,
        bits,
        secrecy: Secrecy::Public,
    };
    Ok(backend.modexp(modulus, bases, &exponents)?)
}

/// `min(a_i, b_i)` elementwise.
fn pairwise_min(a: &ElementExponents, b: &ElementExponents, count: usize) -> ElementExponents {
    match (a, b) {
        (ElementExponents::Shared(x), ElementExponents::Shared(y)) => {
            ElementExponents::Shared(*x.min(y))
        }
        _ => ElementExponents::from_vec((0..count).map(|i| a.get(i).min(b.get(i))).collect()),
    }
}

/// Replaces the items where `negative(i)` by their inverses, on every core.
pub(super) fn negate_where(
    modulus: &crate::hazmat::bigint::MontgomeryModulus,
    items: &mut LimbBatch,
    negative: impl Fn(usize) -> bool + Sync,
) -> Result<()> {
    let picked: Vec<usize> = (0..items.len())
        .into_par_iter()
        .filter(|&i| negative(i))
        .collect();
    if picked.is_empty() {
        return Ok(());
    }
    let s = items.limbs_per_item();
    let mut inverses = vec![0u64; picked.len() * s];
    let source = &*items;
    let products = PublicProducts::new(modulus)?;
    invert_each(
        &products,
        |k| source.item(picked[k]),
        &mut inverses,
        |_, inverse, out| out.copy_from_slice(&products.value(inverse)),
    )
    .map_err(|e| match e {
        // Name the item, not its place among the picked ones.
        Error::InvalidCiphertext { index, reason } => Error::InvalidCiphertext {
            index: picked.get(index).copied().unwrap_or(index),
            reason,
        },
        e => e,
    })?;
    scatter(items, &picked, &inverses);
    Ok(())
}

/// Writes item `k` of `values` (flat, the items' width) over item `picked[k]` of `items`, on
/// every core; `picked` is ascending, so each item finds its value by a search.
fn scatter(items: &mut LimbBatch, picked: &[usize], values: &[u64]) {
    let s = items.limbs_per_item();
    items
        .as_flat_mut()
        .par_chunks_mut(s)
        .enumerate()
        .for_each(|(i, item)| {
            if let Ok(k) = picked.binary_search(&i) {
                item.copy_from_slice(&values[k * s..(k + 1) * s]);
            }
        });
}
