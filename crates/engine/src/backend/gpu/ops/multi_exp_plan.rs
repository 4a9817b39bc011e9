//! The host's half of the GPU multi-exponentiation: each row of exponents recoded into a
//! program of terms, "square `s` times, then multiply by odd power `d` of base `i`" — Straus's
//! interleaved sliding windows, decided here once per call so that the kernel
//! (`shaders/multi_exp.wgsl`) never looks at an exponent bit and every invocation of a row runs
//! the same instructions.
//!
//! A program follows its exponents' bits, so one made from a secret exponent (decoding's `p − 1`)
//! is itself secret: everything derived here is wiped before it is freed.

use zeroize::{Zeroize, Zeroizing};

use crate::backend::gpu::codegen::params::{Step, PHASE_FINISH, PHASE_START};
use crate::bigint::exponent::sliding_windows;
use crate::bigint::multi_pow::window_width;
use crate::bigint::ExponentRows;

/// Widest window on the GPU: its tables (`2^(w−1)` powers of every base of every sample) live in
/// device memory, and wider ones would cut the samples per chunk below what fills an adapter.
pub(in crate::backend::gpu) const MAX_WINDOW: usize = 5;

/// The second word of a term that only squares.
pub(in crate::backend::gpu) const NO_PRODUCT: u32 = u32::MAX;

/// Every row's program, padded to one length.
#[derive(Debug)]
pub(in crate::backend::gpu) struct TermPlan {
    /// Window bits: each base's table holds its `2^(window−1)` odd powers.
    pub window: usize,
    /// Term slots per row; shorter programs end in terms that do nothing.
    pub row_terms: usize,
    /// `rows × row_terms` terms of two words: the squarings, then the table entry to multiply by
    /// (`base · 2^(window−1) + (digit − 1)/2`) or [`NO_PRODUCT`].
    pub words: Vec<u32>,
    /// Per term slot, the most products any row makes there (to split the slots into dispatches).
    pub slot_products: Vec<usize>,
}

impl TermPlan {
    /// The programs of `rows`, with no term squaring more than `max_squarings` times (a long run
    /// becomes several terms, so that one term fits a dispatch's loop budget).
    pub fn new(rows: &ExponentRows<'_>, max_squarings: usize) -> Self {
        let row_count = rows.rows();
        let bits = rows.max_bits();
        let window = window_width(bits.max(1), rows.nonzero_per_base().max(1), MAX_WINDOW);
        let odd = 1usize << (window - 1);
        let max_squarings = max_squarings.max(1);
        let mut programs: Vec<Vec<[u32; 2]>> = (0..row_count)
            .map(|row| {
                // Reserved whole, so that no reallocation leaves an unwiped copy behind.
                let mut windows: Zeroizing<Vec<[usize; 2]>> =
                    Zeroizing::new(Vec::with_capacity(rows.per_row * (bits + 1)));
                for base in 0..rows.per_row {
                    let found = Zeroizing::new(sliding_windows(rows.exponent(row, base), window));
                    windows.extend(found.iter().map(|w| [w.low, base * odd + (w.digit >> 1)]));
                }
                // Top bit first; the order among equal positions does not change the product.
                windows.sort_by_key(|w| std::cmp::Reverse(w[0]));
                let mut program = Vec::with_capacity(windows.len() + bits / max_squarings + 2);
                let squarings_before = |program: &mut Vec<[u32; 2]>, mut squarings: usize| {
                    while squarings > max_squarings {
                        program.push([max_squarings as u32, NO_PRODUCT]);
                        squarings -= max_squarings;
                    }
                    squarings as u32
                };
                // The first product starts from one: squaring one is wasted work.
                let mut position = windows.first().map_or(0, |w| w[0]);
                for &[low, entry] in windows.iter() {
                    let squarings = squarings_before(&mut program, position - low);
                    program.push([squarings, entry as u32]);
                    position = low;
                }
                if position > 0 {
                    let squarings = squarings_before(&mut program, position);
                    program.push([squarings, NO_PRODUCT]);
                }
                program
            })
            .collect();
        let row_terms = programs.iter().map(Vec::len).max().unwrap_or(0);
        let mut words = Vec::with_capacity(row_count * row_terms * 2);
        let mut slot_products = vec![0usize; row_terms];
        for program in &programs {
            for (slot, most) in slot_products.iter_mut().enumerate() {
                let [squarings, entry] = program.get(slot).copied().unwrap_or([0, NO_PRODUCT]);
                words.extend([squarings, entry]);
                let products = squarings as usize + usize::from(entry != NO_PRODUCT);
                *most = (*most).max(products);
            }
        }
        programs.zeroize();
        Self {
            window,
            row_terms,
            words,
            slot_products,
        }
    }

    /// Products per row: its squarings and window products, slot by slot (a row's count; the
    /// rows of one call are padded to one length but not to one count).
    #[cfg(test)]
    pub fn row_products(&self, row: usize) -> usize {
        self.words[2 * row * self.row_terms..2 * (row + 1) * self.row_terms]
            .chunks(2)
            .map(|t| t[0] as usize + usize::from(t[1] != NO_PRODUCT))
            .sum()
    }

    /// Term slot ranges of at most `budget` loop back-edges each (a product costing
    /// `product_edges`, a slot 3 more), at least one slot each; no slots, one empty range (the
    /// kernel must still start and finish).
    pub fn slot_ranges(&self, product_edges: usize, budget: usize) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        let (mut from, mut spent) = (0, 0);
        for (slot, &products) in self.slot_products.iter().enumerate() {
            let cost = products * product_edges + 3;
            if slot > from && spent + cost > budget {
                ranges.push((from, slot));
                (from, spent) = (slot, 0);
            }
            spent += cost;
        }
        ranges.push((from, self.row_terms));
        ranges
    }
}

impl TermPlan {
    /// The dispatches of the program kernel: the [`slot_ranges`](Self::slot_ranges) of
    /// `budget`, the first starting the accumulator, the last finishing.
    pub fn steps(&self, product_edges: usize, budget: usize) -> Vec<Step> {
        self.slot_ranges(product_edges, budget)
            .into_iter()
            .map(|(from, to)| Step {
                phase: if from == 0 { PHASE_START } else { 0 }
                    | if to == self.row_terms {
                        PHASE_FINISH
                    } else {
                        0
                    },
                from: from as u32,
                to: to as u32,
            })
            .collect()
    }
}

impl Drop for TermPlan {
    fn drop(&mut self) {
        self.words.zeroize();
        self.slot_products.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a program on plain integers: the exponent each base ends up with.
    fn exponents_of(plan: &TermPlan, row: usize, per_row: usize) -> Vec<u128> {
        let odd = 1usize << (plan.window - 1);
        let mut acc = vec![0u128; per_row];
        for slot in 0..plan.row_terms {
            let at = 2 * (row * plan.row_terms + slot);
            let (squarings, entry) = (plan.words[at], plan.words[at + 1]);
            for e in acc.iter_mut() {
                *e <<= squarings;
            }
            if entry != NO_PRODUCT {
                let (base, digit) = (entry as usize / odd, entry as usize % odd);
                acc[base] += 2 * digit as u128 + 1;
            }
        }
        acc
    }

    #[test]
    fn programs_rebuild_every_exponent() {
        // Two rows of three bases: zeros, a lone top bit, runs of ones and of zeros.
        let exponents: [u64; 6] = [0, 1 << 40, 0b1011_0111_0000_0001, 5, 0, u64::MAX >> 3];
        let rows = ExponentRows {
            limbs: &exponents,
            limbs_per_exponent: 1,
            per_row: 3,
        };
        for max_squarings in [1, 3, 64] {
            let plan = TermPlan::new(&rows, max_squarings);
            for row in 0..2 {
                let expected: Vec<u128> = exponents[row * 3..row * 3 + 3]
                    .iter()
                    .map(|&e| e as u128)
                    .collect();
                assert_eq!(exponents_of(&plan, row, 3), expected, "row {row}");
            }
            assert!(plan.words.chunks(2).all(|t| t[0] as usize <= max_squarings));
        }
    }

    /// Decoding's count: a 1024-bit exponent (p − 1 at key_len 1024) by 5-bit sliding windows
    /// takes its 1,023 squarings and about 1,024/6 window products, where 4-bit fixed windows
    /// take 1,020 squarings and 256 products.
    #[test]
    fn a_1024_bit_exponent_costs_about_1_024_squarings_and_171_products() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut exponent = [0u64; 16];
        for limb in exponent.iter_mut() {
            // xorshift64: a fixed, typical exponent.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *limb = state;
        }
        exponent[15] |= 1 << 63;
        let rows = ExponentRows {
            limbs: &exponent,
            limbs_per_exponent: 16,
            per_row: 1,
        };
        let plan = TermPlan::new(&rows, 1 << 20);
        assert_eq!(plan.window, MAX_WINDOW);
        let products = plan.row_products(0);
        assert!(
            (1_023 + 150..1_023 + 190).contains(&products),
            "{products} products"
        );
    }

    #[test]
    fn zero_rows_do_nothing_and_slots_split_by_budget() {
        let zeros = [0u64; 4];
        let rows = ExponentRows {
            limbs: &zeros,
            limbs_per_exponent: 1,
            per_row: 2,
        };
        let plan = TermPlan::new(&rows, 8);
        assert_eq!(plan.row_terms, 0);
        assert_eq!(plan.slot_ranges(10, 100), vec![(0, 0)]);

        let exponents = [u64::MAX, 1];
        let rows = ExponentRows {
            limbs: &exponents,
            limbs_per_exponent: 1,
            per_row: 2,
        };
        let plan = TermPlan::new(&rows, 4);
        let ranges = plan.slot_ranges(10, 60);
        assert_eq!(ranges.first().map(|r| r.0), Some(0));
        assert_eq!(ranges.last().map(|r| r.1), Some(plan.row_terms));
        for pair in ranges.windows(2) {
            assert_eq!(pair[0].1, pair[1].0);
        }
        for &(from, to) in &ranges {
            let cost: usize = (from..to).map(|s| plan.slot_products[s] * 10 + 3).sum();
            assert!(to - from == 1 || cost <= 60, "{from}..{to} costs {cost}");
        }
    }
}
