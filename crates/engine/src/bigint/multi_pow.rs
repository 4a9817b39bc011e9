//! Multi-exponentiation for public exponents: `Π_i base_i ^ e_ji` for several rows `j` over the
//! same bases, sharing the squarings within a row (Straus) and the bases' tables across rows.
//!
//! A row of `k` exponents of `b` bits costs `b` squarings and about `k·b/(w+1)` products with
//! sliding windows of width `w`, instead of `k·b` squarings for `k` separate powers; the odd
//! powers of each base (`2^(w−1)` products) are made once for every row. This is the linear
//! layer's inner loop: the bases are a sample's encrypted features, the rows the weights.

use super::exponent::{bit_length, sliding_windows};
use super::montgomery::MontgomeryModulus;
use super::pow::Arithmetic;
use super::two_digit::ifma::PublicTwoDigitIfma;
use super::Montgomery;

/// The exponents of a multi-exponentiation: `rows × bases` items of `limbs` limbs each, row-major.
#[derive(Clone, Copy, Debug)]
pub struct ExponentRows<'a> {
    /// Flat little-endian limbs, row-major.
    pub limbs: &'a [u64],
    /// Limbs per exponent.
    pub limbs_per_exponent: usize,
    /// Exponents per row (the number of bases).
    pub per_row: usize,
}

impl ExponentRows<'_> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        let row = self.per_row * self.limbs_per_exponent;
        self.limbs.len().checked_div(row).unwrap_or(0)
    }

    /// The exponent of `base` in `row`.
    pub(crate) fn exponent(&self, row: usize, base: usize) -> &[u64] {
        let start = (row * self.per_row + base) * self.limbs_per_exponent;
        &self.limbs[start..start + self.limbs_per_exponent]
    }

    /// Nonzero exponents per base, on average (rounded up): the rows whose windows a base's
    /// table serves. The linear layer's rows are half zeros (each weight sits in its positive
    /// or its negative row), which favours narrower windows than the row count would.
    pub(crate) fn nonzero_per_base(&self) -> usize {
        let nonzero = self
            .limbs
            .chunks(self.limbs_per_exponent.max(1))
            .filter(|e| e.iter().any(|&l| l != 0))
            .count();
        nonzero.div_ceil(self.per_row.max(1))
    }

    /// The longest exponent's bit length.
    pub(crate) fn max_bits(&self) -> usize {
        self.limbs
            .chunks(self.limbs_per_exponent.max(1))
            .map(bit_length)
            .max()
            .unwrap_or(0)
    }
}

impl MontgomeryModulus {
    /// `out[j] = Π_i bases[i] ^ rows[j][i]` for PUBLIC exponents, bases and results in
    /// Montgomery form. The sequence of operations depends on the exponents' bits: never use it
    /// with a secret exponent.
    ///
    /// ```
    /// use num_bigint::BigUint;
    /// use paillier_gpu_engine::bigint::{ExponentRows, MontgomeryModulus};
    ///
    /// let m = MontgomeryModulus::new(&BigUint::from(1_000_003u32)).unwrap();
    /// let bases = [m.to_montgomery(&[2]), m.to_montgomery(&[3])];
    /// // One row: 2^5 · 3^4 = 2592.
    /// let rows = ExponentRows { limbs: &[5, 4], limbs_per_exponent: 1, per_row: 2 };
    /// let out = m.multi_pow_vartime(&bases, &rows);
    /// assert_eq!(m.from_montgomery(&out[0]), vec![2592]);
    /// ```
    pub fn multi_pow_vartime(
        &self,
        bases: &[Montgomery],
        rows: &ExponentRows<'_>,
    ) -> Vec<Montgomery> {
        debug_assert_eq!(bases.len(), rows.per_row);
        let results = match self.ifma() {
            Some(engine) => {
                let entered: Vec<Vec<u64>> =
                    bases.iter().map(|b| engine.enter(b.as_limbs())).collect();
                straus(engine, &entered, rows)
                    .iter()
                    .map(|r| engine.leave(r))
                    .collect::<Vec<_>>()
            }
            None => {
                let plain: Vec<Vec<u64>> = bases.iter().map(|b| b.as_limbs().to_vec()).collect();
                straus(&super::pow::Portable(self), &plain, rows)
            }
        };
        results.into_iter().map(Montgomery::from_raw).collect()
    }
}

/// [`MontgomeryModulus::multi_pow_vartime`] on values in normal form, on the fastest engine for
/// the modulus: where it is a public square N² (n² of a public key) and the CPU has AVX-512
/// IFMA, two digits modulo N (`two_digit/ifma.rs`, 1.6× fewer multiply-adds a product); else
/// the modulus's own engine. Prepared once for many samples.
pub(crate) struct PublicMultiPow<'a> {
    modulus: &'a MontgomeryModulus,
    two_digit: Option<PublicTwoDigitIfma>,
}

impl<'a> PublicMultiPow<'a> {
    /// Prepares the engine for a PUBLIC modulus (its square root is found in variable time).
    pub(crate) fn new(modulus: &'a MontgomeryModulus) -> Self {
        Self {
            modulus,
            two_digit: super::for_public_square_vartime(modulus),
        }
    }

    /// `out[j] = Π_i bases[i] ^ rows[j][i]` for PUBLIC bases (normal form, the modulus's
    /// width each, below it) and exponents; `out` holds `rows` results of that width.
    pub(crate) fn run(&self, bases: &[u64], rows: &ExponentRows<'_>, out: &mut [u64]) {
        let s = self.modulus.len();
        match &self.two_digit {
            Some(engine) => {
                let entered: Vec<Vec<u64>> = bases
                    .chunks_exact(s)
                    .map(|b| engine.enter_vartime(b))
                    .collect();
                for (o, r) in out.chunks_exact_mut(s).zip(straus(engine, &entered, rows)) {
                    o.copy_from_slice(
                        &self
                            .modulus
                            .from_montgomery(&engine.leave(self.modulus, &r)),
                    );
                }
            }
            None => {
                let montgomery: Vec<_> = bases
                    .chunks_exact(s)
                    .map(|b| self.modulus.to_montgomery(b))
                    .collect();
                for (o, r) in out
                    .chunks_exact_mut(s)
                    .zip(self.modulus.multi_pow_vartime(&montgomery, rows))
                {
                    o.copy_from_slice(&self.modulus.from_montgomery(&r));
                }
            }
        }
    }
}

/// The window of at most `max_width` bits that minimises table and product work: `2^(w−1)`
/// products per base for its odd powers, `terms·bits/(w+1)` products per base for its `terms`
/// nonzero exponents.
pub(crate) fn window_width(bits: usize, terms: usize, max_width: usize) -> usize {
    let cost = |w: usize| (1usize << (w - 1)) + terms * bits / (w + 1);
    (1..=max_width.max(1)).min_by_key(|&w| cost(w)).unwrap_or(1)
}

fn straus<A: Arithmetic>(arith: &A, bases: &[Vec<u64>], rows: &ExponentRows<'_>) -> Vec<Vec<u64>> {
    let s = arith.width();
    straus_with(arith, bases, rows, || vec![0u64; s])
}

/// Straus over values of any storage (`zeroed` makes one of the engine's width): the lanes keep
/// theirs on vector boundaries.
pub(super) fn straus_with<A, V>(
    arith: &A,
    bases: &[V],
    rows: &ExponentRows<'_>,
    zeroed: impl Fn() -> V,
) -> Vec<V>
where
    A: Arithmetic,
    V: Clone + std::ops::DerefMut<Target = [u64]>,
{
    let one = || {
        let mut value = zeroed();
        value.copy_from_slice(arith.one());
        value
    };
    let bits = rows.max_bits();
    let row_count = rows.rows();
    if bits == 0 {
        return (0..row_count).map(|_| one()).collect();
    }
    let width = window_width(bits, rows.nonzero_per_base().max(1), 8);
    // odd[i][t] = base_i^(2t+1), made once for every row.
    let odd: Vec<Vec<V>> = bases
        .iter()
        .map(|base| {
            let mut square = zeroed();
            arith.square(base, &mut square);
            let mut powers = Vec::with_capacity(1 << (width - 1));
            powers.push(base.clone());
            for t in 1..(1 << (width - 1)) {
                let mut next = zeroed();
                arith.mul(&powers[t - 1], &square, &mut next);
                powers.push(next);
            }
            powers
        })
        .collect();
    let mut tmp = zeroed();
    (0..row_count)
        .map(|row| {
            // The products to make at each bit position, top down.
            let mut at_bit: Vec<Vec<(usize, usize)>> = vec![Vec::new(); bits];
            for (i, _) in bases.iter().enumerate() {
                for window in sliding_windows(rows.exponent(row, i), width) {
                    at_bit[window.low].push((i, window.digit >> 1));
                }
            }
            let mut acc: Option<V> = None;
            for position in (0..bits).rev() {
                if let Some(value) = acc.as_mut() {
                    arith.square(value, &mut tmp);
                    std::mem::swap(value, &mut tmp);
                }
                for &(base, entry) in &at_bit[position] {
                    match acc.as_mut() {
                        // The first product is a copy: squaring one is wasted work.
                        None => acc = Some(odd[base][entry].clone()),
                        Some(value) => {
                            arith.mul(value, &odd[base][entry], &mut tmp);
                            std::mem::swap(value, &mut tmp);
                        }
                    }
                }
            }
            acc.unwrap_or_else(one)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::{BigUint, RandBigInt};
    use proptest::prelude::*;

    /// Plain-form products of powers on both engines: n² of a key (two digits where the CPU
    /// has IFMA) and a modulus that is no square (the modulus's own engine).
    #[test]
    fn public_multi_pow_matches_num_bigint_on_squares_and_others() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let root = rng.gen_biguint(1024) | BigUint::from(1u32) | (BigUint::from(1u32) << 1023);
        for modulus in [&root * &root, &root * &root + 2u32] {
            let m = MontgomeryModulus::new(&modulus).unwrap();
            let s = m.len();
            let (k, r) = (5, 3);
            let bases: Vec<BigUint> = (0..k).map(|_| rng.gen_biguint_below(&modulus)).collect();
            let exponents: Vec<BigUint> = (0..k * r).map(|_| rng.gen_biguint(70)).collect();
            let flat_exponents: Vec<u64> = exponents
                .iter()
                .flat_map(|e| crate::bigint::limbs_from_biguint(e, 2).unwrap())
                .collect();
            let rows = ExponentRows {
                limbs: &flat_exponents,
                limbs_per_exponent: 2,
                per_row: k,
            };
            let flat_bases: Vec<u64> = bases
                .iter()
                .flat_map(|b| crate::bigint::limbs_from_biguint(b, s).unwrap())
                .collect();
            let mut out = vec![0u64; r * s];
            PublicMultiPow::new(&m).run(&flat_bases, &rows, &mut out);
            for (j, value) in out.chunks_exact(s).enumerate() {
                let expected = (0..k).fold(BigUint::from(1u32), |acc, i| {
                    acc * bases[i].modpow(&exponents[j * k + i], &modulus) % &modulus
                });
                assert_eq!(crate::bigint::biguint_from_limbs(value), expected);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn equals_the_product_of_powers(seed in any::<u64>(), k in 1usize..6, r in 1usize..4, bits in 0usize..140) {
            use rand::SeedableRng;
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let modulus = rng.gen_biguint(300) | BigUint::from(1u32) | (BigUint::from(1u32) << 299);
            let m = MontgomeryModulus::new(&modulus).unwrap();
            let bases: Vec<BigUint> = (0..k).map(|_| rng.gen_biguint_below(&modulus)).collect();
            let limbs = 3;
            let exponents: Vec<BigUint> = (0..k * r).map(|_| rng.gen_biguint(bits as u64)).collect();
            let flat: Vec<u64> = exponents.iter().flat_map(|e| crate::bigint::limbs_from_biguint(e, limbs).unwrap()).collect();
            let rows = ExponentRows { limbs: &flat, limbs_per_exponent: limbs, per_row: k };
            let montgomery: Vec<_> = bases.iter().map(|b| m.montgomery_of_vartime(b).unwrap()).collect();
            let out = m.multi_pow_vartime(&montgomery, &rows);
            prop_assert_eq!(out.len(), r);
            for (j, value) in out.iter().enumerate() {
                let expected = (0..k).fold(BigUint::from(1u32), |acc, i| {
                    acc * bases[i].modpow(&exponents[j * k + i], &modulus) % &modulus
                });
                prop_assert_eq!(m.biguint_of(&m.from_montgomery(value)), expected);
            }
        }
    }
}
