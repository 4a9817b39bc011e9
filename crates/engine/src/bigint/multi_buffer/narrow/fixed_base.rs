//! Fixed-base powers in the narrow lanes: eight exponents, one table of powers of one base
//! ([`FixedBaseTable`](crate::bigint::FixedBaseTable)'s rows, here in this engine's digits),
//! one product a row for every lane at once. The encryptions' noise `h^r`, on CPUs without
//! AVX-512 IFMA.

use zeroize::Zeroizing;

use super::super::aligned::Lanes;
use super::super::row_select::row_entries;
use super::super::windows::{LaneArithmetic, LaneItems};
use super::super::LANES;
use super::{NarrowIsa, NarrowLanes};
use crate::bigint::exponent::bits_at;

impl NarrowLanes {
    /// 64-bit words of one value in this engine's digits (one digit a word).
    pub(crate) fn digit_width(&self) -> usize {
        self.digits()
    }

    /// The `k ≤ 8` values of `values` (normal form, each below m) in this engine's form, one
    /// after the other into `out` ([`digit_width`](Self::digit_width) words each): how a
    /// table's entries enter the lanes, in constant time.
    ///
    /// # Panics
    /// Where `values` holds no value or more than eight, or `out` is shorter.
    pub(crate) fn enter(&self, values: &[u64], out: &mut [u64]) {
        let width = self.digit_width();
        let items = values.len() / self.limbs64();
        assert!(items > 0 && items <= LANES && out.len() >= items * width);
        let mut work = self.workspace();
        let mut plain = Lanes::zeroed(width);
        self.spread(values, &mut plain);
        let mut entered = Lanes::zeroed(width);
        self.mul(&plain, self.to_engine(), &mut work, &mut entered);
        for (lane, value) in out.chunks_exact_mut(width).take(items).enumerate() {
            for (j, digit) in value.iter_mut().enumerate() {
                *digit = entered[LANES * j + lane];
            }
        }
    }

    /// Fewest exponents of a block worth running here rather than one at a time on two digits
    /// modulo the square root (`FixedBaseTable::run_on_root`), or `None` where the lanes never
    /// pay. On AVX-512F the row scan is two permutes per sixteen entries and the products cost
    /// what a secret power's do, so the secret powers' count holds; on AVX2 every entry of a row
    /// is read into every lane, which with the half-speed products leaves nothing to gain.
    pub(crate) fn fixed_base_min_items(&self) -> Option<usize> {
        match self.isa {
            NarrowIsa::Avx512f => Some(self.min_items()),
            NarrowIsa::Avx2 => None,
            #[cfg(test)]
            NarrowIsa::Emulated => Some(1),
        }
    }

    /// `g^exponents[i] mod m` for the `k ≤ 8` exponents, in normal form into `out`
    /// (`limbs64` words each), from `entries`: `rows` rows of `2^window_bits` entries of
    /// `g^(j·2^(w·row))` made by [`enter`](Self::enter) and laid out by
    /// the row layout of `row_select.rs`. Each lane reads its exponent's `window_bits` bits
    /// a row and takes its entry by a full scan of the row, so the exponents may be secret (the
    /// owner's noise); the instructions and addresses depend on nothing but `k`, `rows` and the
    /// width.
    ///
    /// # Panics
    /// Where there is no exponent or more than eight, `entries` holds fewer rows, or `out` is
    /// shorter.
    pub(crate) fn pow_fixed_base(
        &self,
        entries: &[u64],
        window_bits: usize,
        rows: usize,
        exponents: &[&[u64]],
        out: &mut [u64],
    ) {
        let width = self.digit_width();
        let items = exponents.len();
        let per_row = row_entries(window_bits);
        assert!(items > 0 && items <= LANES && out.len() >= items * self.limbs64());
        assert!(entries.len() >= rows * per_row * width);
        let mut work = self.workspace();
        let mut acc = self.one().clone();
        let (mut selected, mut tmp) = (Lanes::zeroed(width), Lanes::zeroed(width));
        let mut digits = Zeroizing::new([0u64; LANES]);
        for (row, row_entries) in entries.chunks_exact(per_row * width).take(rows).enumerate() {
            for (lane, digit) in digits.iter_mut().enumerate() {
                let exponent = exponents[if lane < items { lane } else { 0 }];
                *digit = bits_at(exponent, row * window_bits, window_bits, usize::MAX) as u64;
            }
            self.select_shared(row_entries, per_row, &digits, &mut selected);
            self.mul(&acc, &selected, &mut work, &mut tmp);
            std::mem::swap(&mut acc, &mut tmp);
        }
        // acc·R⁻¹: the powers in normal form, at most m; then fully reduced, lane by lane.
        self.mul(&acc, self.unit(), &mut work, &mut tmp);
        self.gather(&tmp, &mut out[..items * self.limbs64()]);
    }
}
