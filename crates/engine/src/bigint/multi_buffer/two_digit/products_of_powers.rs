//! Products of powers with PUBLIC exponents in the two-digit lanes: up to eight samples at once,
//! lane `s` holding sample `s`'s bases. The samples share their exponent rows (a linear layer's
//! weights), so every lane takes the same windows: the schedule is one sample's Straus
//! (`bigint/multi_pow.rs`) and no lane's table entry needs a scan.

use std::cell::RefCell;

use num_bigint::BigUint;
use num_traits::One;

use super::{LaneArithmetic, Lanes, TwoDigitLanes, Workspace, LANES};
use crate::bigint::montgomery::MontgomeryModulus;
use crate::bigint::multi_pow::{straus_with, ExponentRows};
use crate::bigint::pow::Arithmetic;

/// The lanes as Straus's arithmetic: a value is `2·L` vectors (the two digits of eight values).
struct LaneValues<'a> {
    engine: &'a TwoDigitLanes,
    work: RefCell<Workspace>,
}

impl Arithmetic for LaneValues<'_> {
    fn width(&self) -> usize {
        LANES * self.engine.vectors()
    }
    fn one(&self) -> &[u64] {
        self.engine.one()
    }
    #[inline(never)]
    fn mul(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        self.engine.mul(a, b, &mut self.work.borrow_mut(), out)
    }
    #[inline(never)]
    fn square(&self, a: &[u64], out: &mut [u64]) {
        self.engine.square(a, &mut self.work.borrow_mut(), out)
    }
}

impl TwoDigitLanes {
    /// The lanes modulo a PUBLIC square `square` = N² (n² of a public key), or `None` where the
    /// CPU lacks IFMA or `square` is no odd square (its root is found in variable time).
    pub(crate) fn for_public_square_vartime(square: &MontgomeryModulus) -> Option<Self> {
        let value = square.modulus();
        let root = value.sqrt();
        if &root * &root != value || root <= BigUint::one() {
            return None;
        }
        Self::new(&root, square.len())
    }

    /// `out[s·rows + j] = Π_i bases[s·per_row + i] ^ rows[j][i] mod N²` for the `k ≤ 8` samples
    /// of `bases` (`per_row` values of `limbs64` limbs each, normal form, below N²), fully
    /// reduced into `out` (`k·rows` values), for PUBLIC bases and exponents: the sequence of
    /// products follows the exponents' bits.
    ///
    /// # Panics
    /// Where `bases` holds no sample or more than eight, or `out` is shorter.
    pub(crate) fn multi_pow_public(&self, bases: &[u64], rows: &ExponentRows<'_>, out: &mut [u64]) {
        let (l, width) = (self.limbs(), self.limbs64);
        let sample = rows.per_row * width;
        let samples = bases.len() / sample.max(1);
        assert!(samples > 0 && samples <= LANES && out.len() >= samples * rows.rows() * width);
        let arith = LaneValues {
            engine: self,
            work: RefCell::new(Workspace::new(l)),
        };
        // Base i of every sample, side by side in the lanes, in this engine's form.
        let mut gathered = vec![0u64; samples * width];
        let entered: Vec<Lanes> = (0..rows.per_row)
            .map(|i| {
                for (s, value) in gathered.chunks_exact_mut(width).enumerate() {
                    let at = s * sample + i * width;
                    value.copy_from_slice(&bases[at..at + width]);
                }
                let mut work = arith.work.borrow_mut();
                let split = self.split_lanes(&gathered, &mut work);
                let mut value = Lanes::zeroed(2 * l);
                self.mul(&split, &self.to_engine, &mut work, &mut value);
                value
            })
            .collect();
        let products = straus_with(&arith, &entered, rows, || Lanes::zeroed(2 * l));
        let row_count = rows.rows();
        let mut work = arith.work.borrow_mut();
        for (j, product) in products.iter().enumerate() {
            self.leave(product, &mut work, &mut gathered);
            for (s, value) in gathered.chunks_exact(width).enumerate() {
                let at = (s * row_count + j) * width;
                out[at..at + width].copy_from_slice(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bigint::ifma::Ifma52;
    use crate::bigint::{biguint_from_limbs, limbs_from_biguint};
    use num_bigint::RandBigInt;
    use proptest::prelude::*;
    use rand::{Rng, SeedableRng};

    /// Every sample count from one to eight, exponents of up to 200 bits with zeros among them,
    /// against num-bigint, at N of 1024 and 2048 bits (the blocked and the register kernels'
    /// widths of n²'s digits differ).
    fn check(seed: u64, root_bits: u64, samples: usize, per_row: usize, row_count: usize) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let root =
            rng.gen_biguint(root_bits) | BigUint::one() | (BigUint::one() << (root_bits - 1));
        let square = &root * &root;
        let modulus = MontgomeryModulus::new(&square).unwrap();
        let lanes = TwoDigitLanes::for_public_square_vartime(&modulus);
        assert_eq!(lanes.is_some(), Ifma52::available());
        let Some(lanes) = lanes else {
            return;
        };
        let width = modulus.len();
        let bases: Vec<BigUint> = (0..samples * per_row)
            .map(|_| rng.gen_biguint_below(&square))
            .collect();
        let exponents: Vec<BigUint> = (0..row_count * per_row)
            .map(|t| match t % 5 {
                0 => BigUint::default(),
                _ => {
                    let bits = rng.gen_range(1..200);
                    rng.gen_biguint(bits)
                }
            })
            .collect();
        let flat = |values: &[BigUint], limbs: usize| -> Vec<u64> {
            values
                .iter()
                .flat_map(|v| limbs_from_biguint(v, limbs).unwrap())
                .collect()
        };
        let exponent_limbs = flat(&exponents, 4);
        let rows = ExponentRows {
            limbs: &exponent_limbs,
            limbs_per_exponent: 4,
            per_row,
        };
        let mut out = vec![0u64; samples * row_count * width];
        lanes.multi_pow_public(&flat(&bases, width), &rows, &mut out);
        for (at, value) in out.chunks_exact(width).enumerate() {
            let (s, j) = (at / row_count, at % row_count);
            let expected = (0..per_row).fold(BigUint::one(), |acc, i| {
                acc * bases[s * per_row + i].modpow(&exponents[j * per_row + i], &square) % &square
            });
            assert_eq!(biguint_from_limbs(value), expected, "sample {s}, row {j}");
        }
    }

    #[test]
    fn a_full_group_at_n_of_2048_bits() {
        check(1, 2048, 8, 6, 3);
    }

    #[test]
    fn no_modulus_that_is_no_square() {
        let modulus = MontgomeryModulus::new(&BigUint::from(1_000_003u32 * 7)).unwrap();
        assert!(TwoDigitLanes::for_public_square_vartime(&modulus).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]
        #[test]
        fn equals_the_products_of_powers(
            seed in any::<u64>(),
            root_bits in prop::sample::select(vec![512u64, 1000, 1024, 1536]),
            samples in 1usize..=8,
            per_row in 1usize..5,
            row_count in 1usize..4,
        ) {
            check(seed, root_bits, samples, per_row, row_count);
        }
    }
}
