//! Constant-time selection: masks the optimiser cannot see through, and the two selections every
//! secret-dependent choice of the CPU engines goes through.
//!
//! A mask computed in plain Rust (`((x == y) as u64).wrapping_neg()`) is known to LLVM to be 0
//! or all ones, and LLVM may then turn the masked code back into a branch. It did: the table scan
//! of the exponentiations compiled to a `cmp`/`jne` that skipped every entry but the wanted one,
//! and the IFMA engine's final subtraction became a branch. Here every mask comes out of
//! `subtle`'s [`Choice`], whose value passes through an optimisation barrier (a volatile read),
//! so the compiler knows nothing of it and has to keep the arithmetic.
//!
//! [`select_entry`] and [`conditional_assign`] are never inlined: each has one compiled copy, shared by
//! both engines, which `tools/ct-check` verifies in the release binary (no conditional jump on
//! anything but the public loop counts, and no secret-dependent branch or address under
//! valgrind's memcheck).

use subtle::{Choice, ConstantTimeEq};

/// All ones for a true `choice`, zero for a false one.
#[inline(always)]
fn mask_of(choice: Choice) -> u64 {
    u64::from(choice.unwrap_u8()).wrapping_neg()
}

/// All ones when `a == b`, zero otherwise, opaque to the optimiser.
#[inline(always)]
pub(crate) fn eq_mask(a: usize, b: usize) -> u64 {
    mask_of((a as u64).ct_eq(&(b as u64)))
}

/// All ones when the low bit of `bit` is set, zero otherwise, opaque to the optimiser.
#[inline(always)]
pub(crate) fn bit_mask(bit: u64) -> u64 {
    mask_of(Choice::from((bit & 1) as u8))
}

/// Copies entry `index` of a flat table of `stride`-limb entries into `out`, reading every entry
/// in full: neither the instructions run nor the addresses read depend on `index`.
#[inline(never)]
pub(crate) fn select_entry(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    out.fill(0);
    for (k, entry) in table.chunks_exact(stride).enumerate() {
        let mask = eq_mask(k, index);
        for (o, &e) in out.iter_mut().zip(entry) {
            *o |= e & mask;
        }
    }
}

/// `dst = src` where `mask` is all ones, `dst` unchanged where it is zero, limb by limb without
/// a branch (the final conditional subtraction of both engines).
#[inline(never)]
pub(crate) fn conditional_assign(mask: u64, dst: &mut [u64], src: &[u64]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = (s & mask) | (*d & !mask);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_are_all_or_nothing() {
        assert_eq!(eq_mask(5, 5), u64::MAX);
        assert_eq!(eq_mask(5, 4), 0);
        assert_eq!(eq_mask(0, usize::MAX), 0);
        assert_eq!(bit_mask(1), u64::MAX);
        assert_eq!(bit_mask(0), 0);
        assert_eq!(bit_mask(2), 0);
    }

    #[test]
    fn select_entry_picks_the_indexed_entry() {
        let table: Vec<u64> = (0..32).collect();
        let mut out = vec![0; 2];
        select_entry(&table, 2, 5, &mut out);
        assert_eq!(out, vec![10, 11]);
        select_entry(&table, 2, 15, &mut out);
        assert_eq!(out, vec![30, 31]);
    }

    #[test]
    fn conditional_assign_follows_the_mask() {
        let (a, b) = ([1u64, 2, 3], [7u64, 8, 9]);
        let mut out = b;
        conditional_assign(0, &mut out, &a);
        assert_eq!(out, b);
        conditional_assign(u64::MAX, &mut out, &a);
        assert_eq!(out, a);
    }
}
