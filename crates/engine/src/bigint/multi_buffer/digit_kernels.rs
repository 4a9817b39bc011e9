//! The AVX-512 IFMA kernels of the two-digit lanes ([`TwoDigitLanes`](super::TwoDigitLanes)):
//! a product and a square modulo N² on digits, the split of a value into digits, and the
//! joining of two digits into one value.
//!
//! Columns are laid out as in [`kernels`]: `2·L` vectors, limb `j` of item `i` at `8·j + i`.
//! The low digit accumulates in one set of columns and the high digit in another, both reduced
//! block by block in one kernel per operation (the high digit needs each block's quotient from
//! the low one, and nothing else from it). A column of the high digit gains at most
//! `(6·L + 1)·2^52` before it is normalised (two products of `L` limbs, the complement of the
//! quotient and the reduction), below 2^62 for every `L` up to 80.
//!
//! Like every kernel of this engine, each runs the same instructions on the same addresses
//! whatever the values.

// AVX-512 intrinsics (the caller checks the CPU) and pointer arithmetic over slices whose
// lengths each function checks on entry. Each slice is its own argument: a tuple or array of
// them would be passed through memory, and `tools/ct_disasm.py` counts every length loaded
// from memory as data.
#![allow(unsafe_code)]

use crate::bigint::avx512::*;

use super::kernels::{
    self, clear, load_rows, normalise, rectangle, reduce_block, square_columns, ROWS,
};
use super::LANES;
use crate::bigint::ifma::MASK52;

/// Checks the shared lengths: `L` limbs a multiple of [`ROWS`], `m − 1` as long as `m`, every
/// digit `8·L` words, and `4·L` vectors of scratch (two sets of columns).
pub(super) fn check(m: &[u64], m_minus_one: &[u64], digits: &[&[u64]], scratch: &[u64]) -> usize {
    let l = m.len();
    assert!(l > 0 && l.is_multiple_of(ROWS) && m_minus_one.len() == l);
    assert!(digits.iter().all(|d| d.len() >= LANES * l));
    assert!(scratch.len() >= 4 * LANES * l);
    l
}

/// The product of eight pairs of values in digits, `x = (x0, x1)` and `y = (y0, y1)` (each
/// digit below `3m`, with `64·m < 2^(52·L)`), into `(out0, out1)`, each below `3m`:
///
/// ```text
/// x0·y0 + q·m = R·out0                                  (almost Montgomery, keeping q)
/// out1 ≡ (x0·y1 + x1·y0 + m·R − q)·R⁻¹  (mod m)         (one pass: both products, reduced)
/// ```
///
/// `m_minus_one` holds the limbs of `m − 1`: `m·R − q` is `(m − 1)·R + (R − 1 − q) + 1`, never
/// negative.
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512 IFMA.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(crate) unsafe fn mul(
    x0: &[u64],
    x1: &[u64],
    y0: &[u64],
    y1: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    let l = check(m, m_minus_one, &[x0, x1, y0, y1, out0, out1], scratch);
    let (low, high) = (
        scratch.as_mut_ptr(),
        scratch.as_mut_ptr().add(2 * LANES * l),
    );
    clear(low, 2 * l);
    start_high(high, m_minus_one);
    let (k0v, m) = (_mm512_set1_epi64(k0 as i64), m.as_ptr());
    for i in (0..l).step_by(ROWS) {
        let by_y0 = load_rows(y0.as_ptr().add(LANES * i));
        let by_y1 = load_rows(y1.as_ptr().add(LANES * i));
        let ys = reduce_block([(x0.as_ptr(), &by_y0)], m, k0v, low.add(LANES * i), l);
        subtract_quotient(high.add(LANES * i), &ys);
        let products = [(x0.as_ptr(), &by_y1), (x1.as_ptr(), &by_y0)];
        reduce_block(products, m, k0v, high.add(LANES * i), l);
    }
    normalise(low.add(LANES * l), l, out0.as_mut_ptr());
    normalise(high.add(LANES * l), l, out1.as_mut_ptr());
}

/// The square of eight values in digits `(x0, x1)` into `(out0, out1)`, as [`mul`]`(x, x)`:
/// the low digit by the squaring's columns (each cross product once), the high digit as
/// `2·x0·x1`, with `2·x0` (below `6m`, so it keeps its `L` limbs) passing through `out1`.
///
/// # Safety
/// As [`mul`].
#[allow(clippy::too_many_arguments)]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(crate) unsafe fn square(
    x0: &[u64],
    x1: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    let l = check(m, m_minus_one, &[x0, x1, out0, out1], scratch);
    let (low, high) = (
        scratch.as_mut_ptr(),
        scratch.as_mut_ptr().add(2 * LANES * l),
    );
    let doubled = out1.as_mut_ptr();
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let mut carry = _mm512_setzero_si512();
    for k in 0..l {
        let v = _mm512_loadu_si512(x0.as_ptr().add(LANES * k).cast());
        let v = _mm512_add_epi64(_mm512_slli_epi64(v, 1), carry);
        _mm512_storeu_si512(doubled.add(LANES * k).cast(), _mm512_and_si512(v, mask));
        carry = _mm512_srli_epi64(v, 52);
    }
    square_columns(x0.as_ptr(), l, low);
    start_high(high, m_minus_one);
    let (k0v, m) = (_mm512_set1_epi64(k0 as i64), m.as_ptr());
    for i in (0..l).step_by(ROWS) {
        let ys = reduce_block([], m, k0v, low.add(LANES * i), l);
        subtract_quotient(high.add(LANES * i), &ys);
        let by_x1 = load_rows(x1.as_ptr().add(LANES * i));
        reduce_block(
            [(doubled.cast_const(), &by_x1)],
            m,
            k0v,
            high.add(LANES * i),
            l,
        );
    }
    normalise(low.add(LANES * l), l, out0.as_mut_ptr());
    normalise(high.add(LANES * l), l, doubled);
}

/// Splits eight `2·L`-limb values `x` (below `m·2^(52·L)`) into the digits of `x·R⁻¹`:
/// `x + y·m = R·out0` (Montgomery's reduction, keeping `y`), and `out1 = (m·R − y)·R⁻¹ mod m`,
/// so that `out0 + m·out1 ≡ x·R⁻¹ (mod m²)`; both below `2m`.
///
/// # Safety
/// As [`mul`].
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(crate) unsafe fn split(
    x: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out0: &mut [u64],
    out1: &mut [u64],
) {
    let l = check(m, m_minus_one, &[out0, out1], scratch);
    assert!(x.len() >= 2 * LANES * l);
    scratch[..2 * LANES * l].copy_from_slice(&x[..2 * LANES * l]);
    let (low, high) = (
        scratch.as_mut_ptr(),
        scratch.as_mut_ptr().add(2 * LANES * l),
    );
    start_high(high, m_minus_one);
    let (k0v, m) = (_mm512_set1_epi64(k0 as i64), m.as_ptr());
    for i in (0..l).step_by(ROWS) {
        let ys = reduce_block([], m, k0v, low.add(LANES * i), l);
        subtract_quotient(high.add(LANES * i), &ys);
    }
    normalise(low.add(LANES * l), l, out0.as_mut_ptr());
    kernels::reduce(high, m, k0, l, out1.as_mut_ptr());
}

/// `x0 + m·x1` for eight pairs of `L`-limb digits, into the `2·L` limbs of `out` (the sum must
/// fit there).
///
/// # Safety
/// As [`mul`].
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(crate) unsafe fn join(x0: &[u64], x1: &[u64], m: &[u64], scratch: &mut [u64], out: &mut [u64]) {
    let l = m.len();
    assert!(l > 0 && l.is_multiple_of(ROWS) && x0.len() >= LANES * l && x1.len() >= LANES * l);
    assert!(out.len() >= 2 * LANES * l && scratch.len() >= 2 * LANES * l);
    let r = scratch.as_mut_ptr();
    clear(r.add(LANES * l), l);
    scratch[..LANES * l].copy_from_slice(&x0[..LANES * l]);
    for i in (0..l).step_by(ROWS) {
        let mut rows = [_mm512_setzero_si512(); ROWS];
        for (s, row) in rows.iter_mut().enumerate() {
            *row = _mm512_set1_epi64(m[i + s] as i64);
        }
        rectangle(&rows, x1.as_ptr(), l, r.add(LANES * i));
    }
    normalise(r, 2 * l, out.as_mut_ptr());
}

/// Sets the `2·L` columns at `r` to `m·R` less one in every low limb: `R − 1 + 1` in the low
/// columns (the `+ 1` in the first), `(m − 1)·R` in the high ones. Subtracting the quotient's
/// limbs ([`subtract_quotient`]) then leaves `m·R − q`.
#[inline]
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
unsafe fn start_high(r: *mut u64, m_minus_one: &[u64]) {
    let l = m_minus_one.len();
    let mask = _mm512_set1_epi64(MASK52 as i64);
    for (k, &limb) in m_minus_one.iter().enumerate() {
        let low = if k == 0 {
            _mm512_set1_epi64(MASK52 as i64 + 1)
        } else {
            mask
        };
        _mm512_storeu_si512(r.add(LANES * k).cast(), low);
        _mm512_storeu_si512(
            r.add(LANES * (l + k)).cast(),
            _mm512_set1_epi64(limb as i64),
        );
    }
}

/// Subtracts one block of the quotient's limbs from the columns at `r` (each holds at least
/// `2^52 − 1` from [`start_high`], and a limb is below 2^52).
#[inline]
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
unsafe fn subtract_quotient(r: *mut u64, ys: &[__m512i; ROWS]) {
    for (t, &y) in ys.iter().enumerate() {
        let column = r.add(LANES * t);
        let v = _mm512_loadu_si512(column.cast());
        _mm512_storeu_si512(column.cast(), _mm512_sub_epi64(v, y));
    }
}
