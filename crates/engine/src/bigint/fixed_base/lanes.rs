//! A fixed-base table's blocks of exponents in the lanes: on two digits modulo the square root
//! of its modulus in the IFMA multi-buffer engine, or modulo the modulus itself in the narrow
//! lanes (AVX-512F).

use num_bigint::BigUint;
use zeroize::Zeroizing;

use super::FixedBaseTable;
use crate::bigint::convert::WipedBigUint;
use crate::bigint::form::Montgomery;
use crate::bigint::montgomery::MontgomeryModulus;
use crate::bigint::multi_buffer::{
    lay_out_rows, NarrowIsa, NarrowLanes, TwoDigitLanes, LANES, MIN_LANE_ITEMS,
};

/// The lanes a table's blocks run in, with its entries in their digits laid out by rows.
#[derive(Clone)]
pub(super) enum TableLanes {
    /// Two digits modulo the square root, on IFMA.
    TwoDigit(TwoDigitLanes, Vec<u64>),
    /// Modulo the table's modulus, in the narrow lanes.
    Narrow(NarrowLanes, Vec<u64>),
}

impl TableLanes {
    /// The entries, to wipe.
    pub(super) fn entries_mut(&mut self) -> &mut Vec<u64> {
        match self {
            Self::TwoDigit(_, entries) | Self::Narrow(_, entries) => entries,
        }
    }
}

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
        let entries = self.entered(modulus, width, |values, out| engine.enter(values, out));
        let rows = lay_out_rows(&entries, width, self.window_bits);
        self.lanes = Some(TableLanes::TwoDigit(engine, rows));
        true
    }

    /// [`run_in_lanes`](Self::run_in_lanes) on a CPU without IFMA: blocks of exponents in the
    /// narrow lanes on `isa` ([`NarrowLanes`]) modulo the table's modulus itself (secret where
    /// it is a prime's square), where they pay on `isa` (AVX-512F; not AVX2, whose row scan
    /// costs what it saves). Returns whether it will; the results are the same.
    pub fn run_in_narrow_lanes(&mut self, modulus: &MontgomeryModulus, isa: NarrowIsa) -> bool {
        if modulus.len() != self.limbs {
            return false;
        }
        let m = WipedBigUint(modulus.modulus());
        let Some(engine) = NarrowLanes::new(&m.0, modulus.len(), isa) else {
            return false;
        };
        if engine.fixed_base_min_items().is_none() {
            return false;
        }
        let width = engine.digit_width();
        let entries = self.entered(modulus, width, |values, out| engine.enter(values, out));
        let rows = lay_out_rows(&entries, width, self.window_bits);
        self.lanes = Some(TableLanes::Narrow(engine, rows));
        true
    }

    /// The table's entries in an engine's digits (`width` words each), entered eight at a time
    /// by `enter` from normal form, in constant time.
    fn entered(
        &self,
        modulus: &MontgomeryModulus,
        width: usize,
        enter: impl Fn(&[u64], &mut [u64]),
    ) -> Zeroizing<Vec<u64>> {
        let count = self.entries.len() / self.limbs;
        // Allocated whole: no reallocation leaves a copy of the (secret) digits behind.
        let mut entries = Zeroizing::new(vec![0u64; count * width]);
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
            enter(&normal[..group.len()], out);
        }
        entries
    }

    /// [`pow_block_into`](Self::pow_block_into) in the lanes, where the table runs there and the
    /// block has enough exponents; returns whether it ran.
    pub(super) fn pow_block_in_lanes(
        &self,
        exponents: &[&[u64]],
        exponent_bits: usize,
        out: &mut [u64],
    ) -> bool {
        let rows = exponent_bits.div_ceil(self.window_bits).min(self.rows);
        // The shape rule of `engine.rs`'s `lanes_pay`, here where the table holds the lanes.
        let fits = |fewest: usize| exponents.len() >= fewest && exponents.len() <= LANES;
        match &self.lanes {
            Some(TableLanes::TwoDigit(engine, entries)) if fits(MIN_LANE_ITEMS) => {
                engine.pow_fixed_base(entries, self.window_bits, rows, exponents, out);
                true
            }
            Some(TableLanes::Narrow(engine, entries))
                if engine.fixed_base_min_items().is_some_and(fits) =>
            {
                engine.pow_fixed_base(entries, self.window_bits, rows, exponents, out);
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use rand::{rngs::StdRng, SeedableRng};

    use crate::bigint::multi_buffer::NarrowIsa;
    use crate::bigint::{
        biguint_from_limbs, limbs_from_biguint, FixedBaseTable, MontgomeryModulus,
    };

    /// Blocks of one to eight exponents (zero and all ones among them) through `table`'s lanes,
    /// as `run` set them up, against num-bigint; `false` where `run` refused.
    fn blocks_match_num_bigint(
        seed: u64,
        shapes: &[(u64, usize, usize)],
        run: impl Fn(&mut FixedBaseTable, &MontgomeryModulus, &BigUint) -> bool,
    ) -> bool {
        let mut rng = StdRng::seed_from_u64(seed);
        for &(root_bits, window_bits, exponent_bits) in shapes {
            let root = rng.gen_biguint(root_bits)
                | (BigUint::from(1u32) << (root_bits - 1))
                | BigUint::from(1u32);
            let square = &root * &root;
            let modulus = MontgomeryModulus::new(&square).unwrap();
            let g = rng.gen_biguint_below(&square);
            let base = modulus.montgomery_of_vartime(&g).unwrap();
            let mut table = FixedBaseTable::new(&modulus, &base, exponent_bits, window_bits);
            if !run(&mut table, &modulus, &root) {
                return false;
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
        true
    }

    #[test]
    fn blocks_in_the_lanes_match_num_bigint() {
        let shapes = [(1024u64, 5, 300), (512, 4, 513), (100, 3, 64)];
        // `false` without AVX-512 IFMA.
        blocks_match_num_bigint(247, &shapes, |table, modulus, root| {
            table.run_in_lanes(modulus, root)
        });
    }

    /// The narrow lanes modulo the square itself: emulated on any CPU, and on AVX-512F where
    /// this CPU has it (the owner's p² of key_len 1024 and 2048, a public n² past 3,582 bits in
    /// 27-bit digits, a tiny one, windows of 3 to 8 bits); AVX2 is refused (it does not pay).
    #[test]
    fn blocks_in_the_narrow_lanes_match_num_bigint() {
        let shapes = [
            (1024u64, 5, 300),
            (512, 4, 513),
            (100, 3, 64),
            (2048, 8, 130),
        ];
        let narrow = |isa| {
            move |table: &mut FixedBaseTable, modulus: &MontgomeryModulus, _: &BigUint| {
                table.run_in_narrow_lanes(modulus, isa)
            }
        };
        assert!(blocks_match_num_bigint(
            249,
            &shapes,
            narrow(NarrowIsa::Emulated)
        ));
        if NarrowIsa::Avx512f.available() {
            assert!(blocks_match_num_bigint(
                250,
                &shapes,
                narrow(NarrowIsa::Avx512f)
            ));
        }
        if NarrowIsa::Avx2.available() {
            assert!(!blocks_match_num_bigint(
                251,
                &shapes,
                narrow(NarrowIsa::Avx2)
            ));
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
