//! Fixed-base powers in the two-digit lanes: eight exponents, one table of powers of one base
//! ([`FixedBaseTable`](crate::bigint::FixedBaseTable)'s rows, here in this engine's digits),
//! one product a row for every lane at once.

use zeroize::Zeroizing;

use super::super::row_select::row_entries;
use super::{LaneArithmetic, Lanes, TwoDigitLanes, Workspace, LANES};
use crate::bigint::exponent::bits_at;

impl TwoDigitLanes {
    /// 64-bit words of one value in this engine's digits (`2·L` limbs of 52 bits).
    pub(crate) fn digit_width(&self) -> usize {
        2 * self.limbs()
    }

    /// The `k ≤ 8` values of `values` (normal form, each below N²) in this engine's digits, one
    /// after the other into `out` ([`digit_width`](Self::digit_width) words each): how a table's
    /// entries enter the lanes, in constant time.
    ///
    /// # Panics
    /// Where `values` holds no value or more than eight, or `out` is shorter.
    pub(crate) fn enter(&self, values: &[u64], out: &mut [u64]) {
        let (l, width) = (self.limbs(), self.digit_width());
        let items = values.len() / self.limbs64;
        assert!(items > 0 && items <= LANES && out.len() >= items * width);
        let mut work = Workspace::new(l);
        let split = self.split_lanes(values, &mut work);
        let mut entered = Lanes::zeroed(2 * l);
        self.mul(&split, &self.to_engine, &mut work, &mut entered);
        for (lane, value) in out.chunks_exact_mut(width).take(items).enumerate() {
            for (j, limb) in value.iter_mut().enumerate() {
                *limb = entered[LANES * j + lane];
            }
        }
    }

    /// `g^exponents[i] mod N²` for the `k ≤ 8` exponents, in normal form into `out`
    /// (`limbs64` words each), from `entries`: `rows` rows of `2^window_bits` entries of
    /// `g^(j·2^(w·row))` made by [`enter`](Self::enter) and laid out by
    /// the row layout of `row_select.rs`. Each lane reads its exponent's
    /// `window_bits` bits a row and takes its entry by a full scan of the row, so the exponents
    /// may be secret (the owner's noise); the instructions and addresses depend on nothing but
    /// `k`, `rows` and the width.
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
        let (l, width) = (self.limbs(), self.digit_width());
        let items = exponents.len();
        let per_row = row_entries(window_bits);
        assert!(items > 0 && items <= LANES && out.len() >= items * self.limbs64);
        assert!(entries.len() >= rows * per_row * width);
        let mut work = Workspace::new(l);
        let mut acc = self.one.clone();
        let (mut selected, mut tmp) = (Lanes::zeroed(2 * l), Lanes::zeroed(2 * l));
        let mut digits = Zeroizing::new([0u64; LANES]);
        for (row, row_entries) in entries.chunks_exact(per_row * width).take(rows).enumerate() {
            for (lane, digit) in digits.iter_mut().enumerate() {
                let exponent = exponents[if lane < items { lane } else { 0 }];
                *digit = bits_at(exponent, row * window_bits, window_bits, usize::MAX) as u64;
            }
            self.select_words(row_entries, per_row, &digits, &mut selected);
            self.mul(&acc, &selected, &mut work, &mut tmp);
            std::mem::swap(&mut acc, &mut tmp);
        }
        self.leave(&acc, &mut work, &mut out[..items * self.limbs64]);
    }

    #[allow(unsafe_code)]
    fn select_words(&self, row: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` returns an engine only where the CPU has AVX-512F and IFMA; the kernel
        // checks the lengths.
        unsafe {
            super::super::row_select::select_words(row, entries, digits, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (row, entries, digits, out);
    }
}
