//! The AVX-512 IFMA kernels of the two-digit lanes ([`TwoDigitLanes`](super::TwoDigitLanes)):
//! the high digit of a product modulo N², and the joining of two digits into one value. The low
//! digit is [`kernels::mul`] or [`kernels::square`] keeping its quotient.
//!
//! Columns are laid out as in [`kernels`]: `2·L` vectors, limb `j` of item `i` at `8·j + i`. A
//! column of the high digit gains at most `(6·L + 1)·2^52` before it is normalised (two
//! products of `L` limbs, or one doubled, the complement of the quotient and the reduction),
//! below 2^62 for every `L` up to 80.
//!
//! Like every kernel of this engine, each runs the same instructions on the same addresses
//! whatever the values.

// AVX-512 intrinsics (the caller checks the CPU) and pointer arithmetic over slices whose
// lengths each function checks on entry.
#![allow(unsafe_code)]

use std::arch::x86_64::*;

use super::kernels::{self, clear, load_rows, normalise, rectangle, ROWS};
use super::LANES;
use crate::bigint::ifma::MASK52;

/// The cross terms of a high digit: `x0·y1 + x1·y0` for a product, `2·x0·x1` for a square, and
/// none when a value is split into digits.
pub(crate) enum Cross<'a> {
    /// Digits `(x0, x1)` and `(y0, y1)`.
    Product([&'a [u64]; 4]),
    /// Digits `(x0, x1)` of the value squared.
    Square([&'a [u64]; 2]),
    /// No cross terms.
    Split,
}

/// The high digit `h = (cross − q)·2^(−52·L) mod m` of eight values, below `3m` when the digits
/// are (with `64·m < 2^(52·L)`), limbs normalised to 52 bits; `q` is the quotient the low
/// digit's product kept (`8·L` words), `m_minus_one` holds the limbs of `m − 1` once. It adds
/// `m·2^(52·L) − q` (non-negative, a multiple of m above the low columns) in place of `−q`, so
/// nothing is ever negative. Each kind of cross terms has a kernel of its own, so that no
/// branch in a kernel reads the (public) kind from memory.
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512 IFMA.
#[inline(always)]
pub(crate) unsafe fn high_digit(
    cross: Cross<'_>,
    q: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out: &mut [u64],
) {
    let l = m.len();
    assert!(l > 0 && l.is_multiple_of(ROWS) && m_minus_one.len() == l);
    assert!(q.len() >= LANES * l && out.len() >= LANES * l && scratch.len() >= 2 * LANES * l);
    match cross {
        Cross::Product(digits) => {
            high_digit_of_product(digits, q, m, m_minus_one, k0, scratch, out)
        }
        Cross::Square(digits) => high_digit_of_square(digits, q, m, m_minus_one, k0, scratch, out),
        Cross::Split => high_digit_of_split(q, m, m_minus_one, k0, scratch, out),
    }
}

/// [`high_digit`] with the cross terms `x0·y1 + x1·y0` of `[x0, x1, y0, y1]`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn high_digit_of_product(
    [x0, x1, y0, y1]: [&[u64]; 4],
    q: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out: &mut [u64],
) {
    let (l, r) = (m.len(), scratch.as_mut_ptr());
    clear(r, 2 * l);
    accumulate_product(x0, y1, l, r);
    accumulate_product(x1, y0, l, r);
    reduce_high(r, q, m, m_minus_one, k0, out);
}

/// [`high_digit`] with the cross terms `2·x0·x1` of `[x0, x1]`.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn high_digit_of_square(
    [x0, x1]: [&[u64]; 2],
    q: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out: &mut [u64],
) {
    let (l, r) = (m.len(), scratch.as_mut_ptr());
    clear(r, 2 * l);
    accumulate_product(x0, x1, l, r);
    for k in 0..2 * l {
        let v = _mm512_loadu_si512(r.add(LANES * k).cast());
        _mm512_storeu_si512(r.add(LANES * k).cast(), _mm512_slli_epi64(v, 1));
    }
    reduce_high(r, q, m, m_minus_one, k0, out);
}

/// [`high_digit`] with no cross terms.
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn high_digit_of_split(
    q: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out: &mut [u64],
) {
    let (l, r) = (m.len(), scratch.as_mut_ptr());
    clear(r, 2 * l);
    reduce_high(r, q, m, m_minus_one, k0, out);
}

/// Adds `m·2^(52·L) − q` to the cross terms at `r` and reduces them into `out`.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn reduce_high(
    r: *mut u64,
    q: &[u64],
    m: &[u64],
    m_minus_one: &[u64],
    k0: u64,
    out: &mut [u64],
) {
    let l = m.len();
    // + (R − 1 − q) + 1 in the low columns, + (m − 1)·R in the high ones.
    let mask = _mm512_set1_epi64(MASK52 as i64);
    for (k, &limb) in m_minus_one.iter().enumerate() {
        let column = r.add(LANES * k);
        let q_limb = _mm512_loadu_si512(q.as_ptr().add(LANES * k).cast());
        let mut v = _mm512_add_epi64(
            _mm512_loadu_si512(column.cast()),
            _mm512_sub_epi64(mask, q_limb),
        );
        if k == 0 {
            v = _mm512_add_epi64(v, _mm512_set1_epi64(1));
        }
        _mm512_storeu_si512(column.cast(), v);
        let high = r.add(LANES * (l + k));
        let limb = _mm512_set1_epi64(limb as i64);
        _mm512_storeu_si512(
            high.cast(),
            _mm512_add_epi64(_mm512_loadu_si512(high.cast()), limb),
        );
    }
    kernels::reduce(r, m.as_ptr(), k0, l, out.as_mut_ptr(), std::ptr::null_mut());
}

/// Montgomery reduction of the eight `2·L`-limb values `x` (below `m·2^(52·L)`): the low digit
/// `(x + y·m)·2^(−52·L)` into `out` (below `2m`) and its quotient `y` into `q`, which
/// [`high_digit`] with [`Cross::Split`] turns into the high digit.
///
/// # Safety
/// As [`high_digit`].
#[target_feature(enable = "avx512f,avx512ifma")]
pub(crate) unsafe fn split(
    x: &[u64],
    m: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out: &mut [u64],
    q: &mut [u64],
) {
    let l = m.len();
    assert!(l > 0 && l.is_multiple_of(ROWS) && x.len() >= 2 * LANES * l);
    assert!(q.len() >= LANES * l && out.len() >= LANES * l && scratch.len() >= 2 * LANES * l);
    scratch[..2 * LANES * l].copy_from_slice(&x[..2 * LANES * l]);
    kernels::reduce(
        scratch.as_mut_ptr(),
        m.as_ptr(),
        k0,
        l,
        out.as_mut_ptr(),
        q.as_mut_ptr(),
    );
}

/// `x0 + m·x1` for eight pairs of `L`-limb digits, into the `2·L` limbs of `out` (the sum must
/// fit there).
///
/// # Safety
/// As [`high_digit`].
#[target_feature(enable = "avx512f,avx512ifma")]
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

/// Adds the full product `a·b` of eight pairs of `l`-limb values to the `2·l` columns at `r`, a
/// block of [`ROWS`] limbs of `b` at a time.
#[inline]
#[target_feature(enable = "avx512f,avx512ifma")]
unsafe fn accumulate_product(a: &[u64], b: &[u64], l: usize, r: *mut u64) {
    assert!(a.len() >= LANES * l && b.len() >= LANES * l);
    for i in (0..l).step_by(ROWS) {
        let rows = load_rows(b.as_ptr().add(LANES * i));
        rectangle(&rows, a.as_ptr(), l, r.add(LANES * i));
    }
}
