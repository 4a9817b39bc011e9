//! A fixed-base table's blocks of exponents in the lanes of the multi-buffer engine, on two
//! digits modulo the square root of its modulus.

use num_bigint::BigUint;
use zeroize::Zeroizing;

use super::FixedBaseTable;
use crate::bigint::form::Montgomery;
use crate::bigint::montgomery::MontgomeryModulus;
use crate::bigint::multi_buffer::{TwoDigitLanes, LANES, MIN_LANE_ITEMS};

impl FixedBaseTable {
    /// For a table modulo `modulus` = N² with N = `root` known (the key's owner modulo p² and
    /// q², or anyone modulo a public n²) on a CPU with AVX-512 IFMA: runs blocks of four to
    /// eight exponents ([`pow_block_into`](Self::pow_block_into)) in the lanes of the
    /// multi-buffer engine on two digits modulo N ([`TwoDigitLanes`]), eight products at once.
    /// Returns whether it will. The results and [`entries`](Self::entries) are unchanged; the
    /// table holds a further copy of its entries in that engine's form, entered in constant
    /// time (secret where N is a prime).
    pub fn run_in_lanes(&mut self, modulus: &MontgomeryModulus, root: &BigUint) -> bool {
        if modulus.len() != self.limbs || root * root != modulus.modulus() {
            return false;
        }
        let Some(engine) = TwoDigitLanes::new(root, modulus.len()) else {
            return false;
        };
        let width = engine.digit_width();
        let count = self.entries.len() / self.limbs;
        // Allocated whole: no reallocation leaves a copy of the (secret) digits behind.
        let mut entries = vec![0u64; count * width];
        let mut normal = Zeroizing::new(vec![0u64; LANES * self.limbs]);
        for (group, out) in self
            .entries
            .chunks(LANES * self.limbs)
            .zip(entries.chunks_mut(LANES * width))
        {
            for (entry, value) in group
                .chunks_exact(self.limbs)
                .zip(normal.chunks_mut(self.limbs))
            {
                let plain = modulus.from_montgomery(&Montgomery::from_raw(entry.to_vec()));
                value.copy_from_slice(&Zeroizing::new(plain));
            }
            engine.enter(&normal[..group.len()], out);
        }
        let rows = engine.lay_out_rows(&Zeroizing::new(entries), self.window_bits);
        self.lanes = Some((engine, rows));
        true
    }

    /// [`pow_block_into`](Self::pow_block_into) in the lanes, where the table runs there and the
    /// block has enough exponents; returns whether it ran.
    pub(super) fn pow_block_in_lanes(
        &self,
        exponents: &[&[u64]],
        exponent_bits: usize,
        out: &mut [u64],
    ) -> bool {
        let Some((engine, entries)) = &self.lanes else {
            return false;
        };
        // The shape rule of `engine.rs`'s `lanes_pay`, here where the table holds the lanes.
        if exponents.len() < MIN_LANE_ITEMS || exponents.len() > LANES {
            return false;
        }
        let rows = exponent_bits.div_ceil(self.window_bits).min(self.rows);
        engine.pow_fixed_base(entries, self.window_bits, rows, exponents, out);
        true
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use rand::{rngs::StdRng, SeedableRng};

    use crate::bigint::{
        biguint_from_limbs, limbs_from_biguint, FixedBaseTable, MontgomeryModulus,
    };

    #[test]
    fn blocks_in_the_lanes_match_num_bigint() {
        let mut rng = StdRng::seed_from_u64(247);
        for (root_bits, window_bits, exponent_bits) in
            [(1024u64, 5, 300), (512, 4, 513), (100, 3, 64)]
        {
            let root = rng.gen_biguint(root_bits)
                | (BigUint::from(1u32) << (root_bits - 1))
                | BigUint::from(1u32);
            let square = &root * &root;
            let modulus = MontgomeryModulus::new(&square).unwrap();
            let g = rng.gen_biguint_below(&square);
            let base = modulus.montgomery_of_vartime(&g).unwrap();
            let mut table = FixedBaseTable::new(&modulus, &base, exponent_bits, window_bits);
            if !table.run_in_lanes(&modulus, &root) {
                return; // no AVX-512 IFMA
            }
            let s = modulus.len();
            let exponent_limbs = exponent_bits.div_ceil(64);
            for items in 1..=8 {
                let mut exponents: Vec<BigUint> = (0..items)
                    .map(|_| rng.gen_biguint(exponent_bits as u64))
                    .collect();
                exponents[0] = BigUint::from(0u32);
                if items > 1 {
                    exponents[1] = (BigUint::from(1u32) << exponent_bits) - 1u32;
                }
                let flat: Vec<u64> = exponents
                    .iter()
                    .flat_map(|e| limbs_from_biguint(e, exponent_limbs).unwrap())
                    .collect();
                let mut out = vec![u64::MAX; (items + 1) * s];
                table.pow_block_into(&modulus, &flat, exponent_limbs, exponent_bits, &mut out);
                for (i, e) in exponents.iter().enumerate() {
                    let got = biguint_from_limbs(&out[i * s..(i + 1) * s]);
                    assert_eq!(
                        got,
                        g.modpow(e, &square),
                        "item {i} of {items}, N of {root_bits} bits"
                    );
                }
                assert!(
                    out[items * s..].iter().all(|&w| w == u64::MAX),
                    "wrote past the block"
                );
            }
        }
    }

    #[test]
    fn a_root_that_is_not_the_square_root_is_refused() {
        let mut rng = StdRng::seed_from_u64(248);
        let root = rng.gen_biguint(512) | (BigUint::from(1u32) << 511u32) | BigUint::from(1u32);
        let modulus = MontgomeryModulus::new(&(&root * &root)).unwrap();
        let base = modulus.montgomery_of_vartime(&BigUint::from(3u32)).unwrap();
        let mut table = FixedBaseTable::new(&modulus, &base, 64, 4);
        assert!(!table.run_in_lanes(&modulus, &(&root + 2u32)));
    }
}
