//! Constant-time selection: masks the optimiser cannot see through, and the two selections every
//! secret-dependent choice of the CPU engines goes through.
//!
//! A mask computed in plain Rust (`((x == y) as u64).wrapping_neg()`) is known to LLVM to be 0
//! or all ones, and LLVM may then turn the masked code back into a branch. It did: the table scan
//! of the exponentiations compiled to a `cmp`/`jne` that skipped every entry but the wanted one,
//! and the IFMA engine's final subtraction became a branch. Here every mask passes through an
//! optimisation barrier (`subtle`'s [`Choice`], a volatile read, or `std::hint::black_box` on
//! the scan's mask array), so the compiler knows nothing of its value and has to keep the
//! arithmetic.
//!
//! The table scan has one compiled copy per instruction set (`select_entry_scan_*`: AVX-512F,
//! AVX2, and the build's baseline), chosen by the CPU alone; [`conditional_assign`] has one.
//! None is inlined, so `tools/ct-check` verifies each in the release binary (no conditional jump
//! on anything but the public loop counts, and no secret-dependent branch or address under
//! valgrind's memcheck).

use subtle::Choice;
use zeroize::Zeroize;

/// All ones for a true `choice`, zero for a false one.
#[inline(always)]
fn mask_of(choice: Choice) -> u64 {
    u64::from(choice.unwrap_u8()).wrapping_neg()
}

/// All ones when the low bit of `bit` is set, zero otherwise, opaque to the optimiser.
#[inline(always)]
pub(crate) fn bit_mask(bit: u64) -> u64 {
    mask_of(Choice::from((bit & 1) as u8))
}

/// Whether two secrets of the same length are equal, reading every limb whatever they hold
/// (`subtle`), with the answer [declassified](super::memcheck): only for checks whose answer is
/// public, such as a modulus that is not the square of its root (a caller's error).
pub(crate) fn equal_public(a: &[u64], b: &[u64]) -> bool {
    use subtle::ConstantTimeEq;
    super::memcheck::declassify(bool::from(a.ct_eq(b)))
}

/// Whether `a < m` (limbs of equal length), from the borrow of `a − m` over every limb, with the
/// answer declassified: for operands whose range is public (whether a batch may take an engine
/// that needs them reduced).
pub(crate) fn below_public(a: &[u64], m: &[u64]) -> bool {
    let mut borrow = 0u64;
    for (&x, &y) in a.iter().zip(m) {
        let (d, b1) = x.overflowing_sub(y);
        let (_, b2) = d.overflowing_sub(borrow);
        borrow = (b1 | b2) as u64;
    }
    super::memcheck::declassify(borrow == 1)
}

/// The most entries a scanned table may have: windows of up to 8 bits.
pub(crate) const MAX_ENTRIES: usize = 256;

/// Copies entry `index` of a flat table of `stride`-limb entries (at most [`MAX_ENTRIES`]) into
/// `out`, reading every entry in full: neither the instructions run nor the addresses read
/// depend on `index`.
///
/// The scan runs column by column: a few vector registers accumulate `entry & mask` over all
/// entries for 16 limbs at a time, so each limb of the table is loaded once and `out` is
/// written once (an entry-by-entry scan reads and writes `out` for every entry, which cost as
/// much as a product on the IFMA engine).
#[inline(always)]
pub(crate) fn select_entry(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has AVX-512F, checked just above.
            unsafe {
                select_entry_scan_avx512f(table, stride, index, out)
            };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has AVX2, checked just above.
            unsafe {
                select_entry_scan_avx2(table, stride, index, out)
            };
            return;
        }
    }
    select_entry_scan_baseline(table, stride, index, out);
}

/// [`select_entry`] compiled for AVX-512F (one `vpternlogq` per 8 limbs of an entry).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline(never)]
fn select_entry_scan_avx512f(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    scan(table, stride, index, out);
}

/// [`select_entry`] compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline(never)]
fn select_entry_scan_avx2(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    scan(table, stride, index, out);
}

/// [`select_entry`] for whatever the build targets.
#[inline(never)]
fn select_entry_scan_baseline(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    scan(table, stride, index, out);
}

#[inline(always)]
fn scan(table: &[u64], stride: usize, index: usize, out: &mut [u64]) {
    debug_assert!(
        table.len() / stride.max(1) <= MAX_ENTRIES,
        "windows are at most 8 bits"
    );
    let entries = (table.len() / stride.max(1)).min(MAX_ENTRIES);
    let mut masks = [0u64; MAX_ENTRIES];
    for (k, mask) in masks[..entries].iter_mut().enumerate() {
        *mask = u64::from(k == index).wrapping_neg();
    }
    // One barrier for all the masks (a call to `subtle` per entry cost a third of the scan):
    // after it the compiler knows nothing of their values, so it cannot skip an entry whose
    // mask it would otherwise know to be zero.
    std::hint::black_box(&mut masks[..entries]);
    let table = &table[..entries * stride];
    let width = stride.min(out.len());
    let mut start = 0;
    start = scan_columns::<16>(table, stride, &masks[..entries], start, &mut out[..width]);
    start = scan_columns::<8>(table, stride, &masks[..entries], start, &mut out[..width]);
    start = scan_columns::<4>(table, stride, &masks[..entries], start, &mut out[..width]);
    scan_columns::<1>(table, stride, &masks[..entries], start, &mut out[..width]);
    masks[..entries].zeroize();
}

/// Selects columns `start..` of the entries, `L` limbs at a time while `L` fit; returns the
/// first column left.
#[inline(always)]
fn scan_columns<const L: usize>(
    table: &[u64],
    stride: usize,
    masks: &[u64],
    mut start: usize,
    out: &mut [u64],
) -> usize {
    while start + L <= out.len() {
        let mut acc = [0u64; L];
        for (entry, &mask) in table.chunks_exact(stride).zip(masks) {
            for (a, &e) in acc.iter_mut().zip(&entry[start..start + L]) {
                *a |= e & mask;
            }
        }
        out[start..start + L].copy_from_slice(&acc);
        start += L;
    }
    start
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

    /// `a < m` from the borrow, against num-bigint's order, at equal, one-off and top-limb
    /// differences.
    #[test]
    fn below_is_the_order_of_the_numbers() {
        use num_bigint::BigUint;
        let m = [5u64, 0, 1 << 63];
        let value = |x: &[u64]| {
            BigUint::from_slice(
                &x.iter()
                    .flat_map(|&w| [w as u32, (w >> 32) as u32])
                    .collect::<Vec<_>>(),
            )
        };
        for x in [
            [5u64, 0, 1 << 63],
            [4, 0, 1 << 63],
            [6, 0, 1 << 63],
            [u64::MAX, u64::MAX, (1 << 63) - 1],
            [0, 0, u64::MAX],
            [0, 0, 0],
        ] {
            assert_eq!(below_public(&x, &m), value(&x) < value(&m), "{x:?}");
        }
    }

    #[test]
    fn masks_are_all_or_nothing() {
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

    /// Every stride the engines use (and odd ones, for the narrower column loops), every entry
    /// count up to a window of 6 bits, on every compiled copy this CPU can run.
    #[test]
    fn every_scan_copy_picks_every_entry_at_every_width() {
        type Scan = fn(&[u64], usize, usize, &mut [u64]);
        let mut copies: Vec<(&str, Scan)> = vec![("baseline", select_entry_scan_baseline)];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX2.
                copies.push(("avx2", |t, s, i, o| unsafe {
                    select_entry_scan_avx2(t, s, i, o)
                }));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has AVX-512F.
                copies.push(("avx512f", |t, s, i, o| unsafe {
                    select_entry_scan_avx512f(t, s, i, o)
                }));
            }
        }
        copies.push(("dispatched", select_entry));
        for stride in [1usize, 3, 4, 7, 8, 13, 16, 29, 32, 40, 64] {
            for entries in [1usize, 2, 16, 32, 64] {
                let table: Vec<u64> = (0..(stride * entries) as u64)
                    .map(|x| x.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
                    .collect();
                for index in 0..entries {
                    let expected = &table[index * stride..(index + 1) * stride];
                    for (name, copy) in &copies {
                        let mut out = vec![u64::MAX; stride];
                        copy(&table, stride, index, &mut out);
                        assert_eq!(
                            out, expected,
                            "{name}: stride {stride}, entry {index}/{entries}"
                        );
                    }
                }
                // An index past the table selects nothing.
                let mut out = vec![u64::MAX; stride];
                select_entry(&table, stride, entries, &mut out);
                assert!(out.iter().all(|&x| x == 0));
            }
        }
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
