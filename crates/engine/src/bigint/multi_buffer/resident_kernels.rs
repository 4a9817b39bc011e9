//! The two-digit lanes' product and square for narrow digits (`L` of 12 to 20 limbs: N up to
//! 1,034 bits, p and q of every key up to n of 2,048 bits), with the accumulator in registers.
//! At 24 limbs the window and its operands no longer fit the 32 vector registers: the compiler
//! spills, and the disassembly check can no longer tell a spilled counter from data.
//!
//! The blocked kernels ([`digit_kernels`](super::digit_kernels)) keep their `2·L` columns in
//! memory and reduce four rows a block, each block starting with four quotient limbs in a row
//! that wait on one another. Here, as in ipp-crypto's `mbx` kernels, the `L + 1` columns in
//! flight live in registers (operand scanning: one row of products and one step of the
//! reduction at a time, then the window slides up a column), the `L` registers give the IFMA
//! ports `L` independent chains, and each row's quotient limb is computed first, so that the
//! next row never waits long for it. The square's low digit sums each cross product once, all
//! its columns first in straight-line code (literal column indices, so that no loop exit waits
//! on the branch predictor), then reduces row by row with the window in registers: `3.5·L²`
//! limb products for the square.
//!
//! The results equal the blocked kernels' word for word: an almost Montgomery product's quotient
//! is the one `q < R` with `x·y + q·m ≡ 0 (mod R)`, whatever the order of the work.
//!
//! Every function runs the same instructions on the same addresses whatever the values: the
//! loops' bounds are the width and the row or column index.

// AVX-512 intrinsics (the caller checks the CPU) and pointer arithmetic over slices whose
// lengths each entry point checks. Each slice is its own argument (see `digit_kernels`).
#![allow(unsafe_code)]

use crate::bigint::avx512::*;

use super::digit_kernels::check;
use super::LANES;
use crate::bigint::ifma::MASK52;

/// Whether [`mul`] and [`square`] serve digits of `l` limbs.
pub(crate) fn serves(l: usize) -> bool {
    matches!(l, 12 | 16 | 20)
}

// The helpers below carry no target features of their own so that they can be inlined always
// (Rust refuses `#[inline(always)]` with `#[target_feature]`): an outlined `Window::step` would
// pass the window through memory. They run only inside the kernels, which enable the features.
#[inline(always)]
unsafe fn load(base: *const u64, k: usize) -> __m512i {
    _mm512_loadu_si512(base.add(LANES * k).cast())
}

#[inline(always)]
unsafe fn store(base: *mut u64, k: usize, v: __m512i) {
    _mm512_storeu_si512(base.add(LANES * k).cast(), v)
}

/// Limb `k` of the modulus, in every lane.
#[inline(always)]
unsafe fn limb(m: *const u64, k: usize) -> __m512i {
    _mm512_set1_epi64(*m.add(k) as i64)
}

/// The columns `i .. i + L` of a product in progress: `low[k]` is column `i + k`, `top` column
/// `i + L`.
struct Window<const L: usize> {
    low: [__m512i; L],
    top: __m512i,
}

impl<const L: usize> Window<L> {
    #[inline(always)]
    unsafe fn zero() -> Self {
        Self {
            low: [_mm512_setzero_si512(); L],
            top: _mm512_setzero_si512(),
        }
    }

    /// One row of a product and one step of Montgomery's reduction: adds `Σ x·b` for the `P`
    /// pairs of `rows` (the `L` limbs at `x` times one limb vector `b`) and `y·m`, with `y`
    /// chosen to clear the first column's low 52 bits, then slides the window up a column.
    /// Returns `y`.
    ///
    /// The next row's `y` waits on the first two columns, so they come first and their terms
    /// that wait on this `y` sum apart from the rest: the scheduler issues the oldest ready work
    /// first, and the chain from one `y` to the next stays about three multiply-adds long.
    #[inline(always)]
    unsafe fn step<const P: usize>(
        &mut self,
        rows: [(*const u64, __m512i); P],
        m: *const u64,
        k0: __m512i,
    ) -> __m512i {
        let zero = _mm512_setzero_si512();
        let mut products = zero;
        for &(x, b) in &rows {
            products = _mm512_madd52lo_epu64(products, load(x, 0), b);
        }
        let first = _mm512_add_epi64(self.low[0], products);
        let y = _mm512_madd52lo_epu64(zero, first, k0);
        let carry = _mm512_srli_epi64(_mm512_madd52lo_epu64(first, limb(m, 0), y), 52);
        let by_y = _mm512_madd52lo_epu64(zero, limb(m, 1), y);
        let by_y = _mm512_madd52hi_epu64(by_y, limb(m, 0), y);
        let mut second = self.low[1];
        for &(x, b) in &rows {
            second = _mm512_madd52lo_epu64(second, load(x, 1), b);
            second = _mm512_madd52hi_epu64(second, load(x, 0), b);
        }
        self.low[1] = _mm512_add_epi64(_mm512_add_epi64(second, carry), by_y);
        // One loop per row, each short enough for the compiler to unroll whole (the window's
        // indices must be constants for it to stay in registers).
        for &(x, b) in &rows {
            for j in 2..L {
                let v = _mm512_madd52lo_epu64(self.low[j], load(x, j), b);
                self.low[j] = _mm512_madd52hi_epu64(v, load(x, j - 1), b);
            }
        }
        for j in 2..L {
            let v = _mm512_madd52lo_epu64(self.low[j], limb(m, j), y);
            self.low[j] = _mm512_madd52hi_epu64(v, limb(m, j - 1), y);
        }
        for &(x, b) in &rows {
            self.top = _mm512_madd52hi_epu64(self.top, load(x, L - 1), b);
        }
        self.top = _mm512_madd52hi_epu64(self.top, limb(m, L - 1), y);
        let (low, top) = (&self.low, self.top);
        self.low = std::array::from_fn(|j| if j + 1 < L { low[j + 1] } else { top });
        self.top = zero;
        y
    }

    /// Carries the window's columns into 52-bit limbs at `out` (the value fits in `L` limbs).
    #[inline(always)]
    unsafe fn normalise(&self, out: *mut u64) {
        let mask = _mm512_set1_epi64(MASK52 as i64);
        let mut carry = _mm512_setzero_si512();
        for (k, &column) in self.low.iter().enumerate() {
            let v = _mm512_add_epi64(column, carry);
            store(out, k, _mm512_and_si512(v, mask));
            carry = _mm512_srli_epi64(v, 52);
        }
    }
}

/// The high digit: `(xa·ya + xb·yb + m·R − q)·R⁻¹ mod m` (almost: below `3m`), or without
/// `xb·yb` where `P` is one, with `q`'s `L` limb vectors at `q` and `m − 1`'s limbs at
/// `m_minus_one`, into `out`. `m·R − q` enters column by column: `2^52 − 1 − q_i` (and one more
/// in column 0), then `(m − 1)·R` on top. Every pointer is its own argument, in a register or a
/// stack slot (see `digit_kernels`).
#[allow(clippy::too_many_arguments)]
// Not inlined: one copy per width, compiled on its own, keeps its window in registers (inlined
// into the product beside the low digit's pass, the product ran a third slower).
#[inline(never)]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
unsafe fn high_digit<const L: usize, const P: usize>(
    xa: *const u64,
    ya: *const u64,
    xb: *const u64,
    yb: *const u64,
    q: *const u64,
    m: *const u64,
    m_minus_one: *const u64,
    k0: __m512i,
    out: *mut u64,
) {
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let mut window = Window::<L>::zero();
    // Two rows an iteration (L is even): the window slides twice between moves.
    for pair in (0..L).step_by(2) {
        for i in [pair, pair + 1] {
            let complement = _mm512_sub_epi64(mask, load(q, i));
            window.low[0] = _mm512_add_epi64(window.low[0], complement);
            if i == 0 {
                window.low[0] = _mm512_add_epi64(window.low[0], _mm512_set1_epi64(1));
            }
            if P == 2 {
                window.step([(xa, load(ya, i)), (xb, load(yb, i))], m, k0);
            } else {
                window.step([(xa, load(ya, i))], m, k0);
            }
        }
    }
    for j in 0..L {
        window.low[j] = _mm512_add_epi64(window.low[j], limb(m_minus_one, j));
    }
    window.normalise(out);
}

/// The low digit: `x0·y0·R⁻¹` (almost Montgomery, below `3m` for digits below `3m`) into
/// `out0`, keeping the quotient's `L` limb vectors at `q`.
#[inline(always)]
unsafe fn low_digit<const L: usize>(
    x0: *const u64,
    y0: *const u64,
    m: *const u64,
    k0: __m512i,
    q: *mut u64,
    out0: *mut u64,
) {
    let mut window = Window::<L>::zero();
    for pair in (0..L).step_by(2) {
        for i in [pair, pair + 1] {
            let y = window.step([(x0, load(y0, i))], m, k0);
            store(q, i, y);
        }
    }
    window.normalise(out0);
}

/// [`digit_kernels::mul`](super::digit_kernels::mul) for `L` limbs; `scratch` holds the
/// quotient's `L` vectors.
#[allow(clippy::too_many_arguments)]
// Not inlined, like `high_digit` (inlined, the product ran a third slower).
#[inline(never)]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
unsafe fn mul_width<const L: usize>(
    x0: *const u64,
    x1: *const u64,
    y0: *const u64,
    y1: *const u64,
    m: *const u64,
    m_minus_one: *const u64,
    k0: __m512i,
    scratch: *mut u64,
    out0: *mut u64,
    out1: *mut u64,
) {
    low_digit::<L>(x0, y0, m, k0, scratch, out0);
    high_digit::<L, 2>(x0, y1, x1, y0, scratch, m, m_minus_one, k0, out1);
}

/// The square's low digit: `x·x·R⁻¹` (almost Montgomery) into `out0`, keeping the quotient's
/// `L` limb vectors at `q`, with each cross product computed once.
///
/// With `d` the limbs of `2·x` and `e_j = 2·x_j mod 2^52`, `x² = Σ_i x_i·2^(104·i)·(x_i +
/// e_(i+1)·2^52 + Σ_(j ≥ i+2) d_j·2^(52·(j−i)))`: `L·(L + 1)` multiply-adds where the product
/// takes `2·L²`. The square's `2·L` columns are summed first, in straight-line code (the pairs
/// `(u, v)` of a sum `s` give their low halves to column `s` and their high halves to column
/// `s + 1`), then reduced a row at a time with the window in registers. Columns `0 .. L` go to
/// `columns`, columns `L .. 2L` to `q`: row `i` reads column `L + i` before it writes `q`'s
/// vector `i`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn low_digit_square<const L: usize>(
    x: *const u64,
    doubled: *const u64,
    shifted: *const u64,
    m: *const u64,
    k0: __m512i,
    q: *mut u64,
    columns: *mut u64,
    out0: *mut u64,
) {
    let column = |s: usize| {
        if s < L {
            columns.add(LANES * s)
        } else {
            q.add(LANES * (s - L))
        }
    };
    let mut pending = _mm512_setzero_si512();
    // Literal sums, so that every loop in `square_pairs` has constant bounds and unrolls: no
    // loop exit for the branch predictor to miss. Sums from `2·L` on are empty.
    macro_rules! sums {
        ($($s:literal)*) => {$(
            if $s < 2 * L {
                let (low, high) = square_pairs::<L>(x, doubled, shifted, $s);
                _mm512_storeu_si512(column($s).cast(), _mm512_add_epi64(pending, low));
                pending = high;
            }
        )*};
    }
    sums!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31
          32 33 34 35 36 37 38 39);
    // Column 2·L's share, the high half of the empty last sum, is zero.
    let _ = pending;
    let mut window = Window::<L>::zero();
    window.low = std::array::from_fn(|k| load(columns, k));
    for pair in (0..L).step_by(2) {
        for i in [pair, pair + 1] {
            window.top = load(q, i);
            let y = window.step::<0>([], m, k0);
            store(q, i, y);
        }
    }
    window.normalise(out0);
}

/// The sums of the low and of the high halves of the square's pairs whose indices add up to
/// `s` (see [`low_digit_square`]): `x_a·d_(s−a)` for `s − a ≥ a + 2`, then `x_i·x_i` where
/// `s = 2i` or `x_i·e_(i+1)` where `s = 2i + 1`. The loop's bounds depend on `s` alone; two
/// chains of sums halve the wait from one multiply-add to the next.
#[inline(always)]
unsafe fn square_pairs<const L: usize>(
    x: *const u64,
    doubled: *const u64,
    shifted: *const u64,
    s: usize,
) -> (__m512i, __m512i) {
    let zero = _mm512_setzero_si512();
    let mut sums = [[zero; 2]; 2];
    let add = |sum: &mut [__m512i; 2], u: __m512i, v: __m512i| {
        sum[0] = _mm512_madd52lo_epu64(sum[0], u, v);
        sum[1] = _mm512_madd52hi_epu64(sum[1], u, v);
    };
    // `s − a ≥ a + 2` is `a < s / 2`; `s − a ≤ L − 1` is `a ≥ s − L + 1`.
    let (mut a, end) = (s.saturating_sub(L - 1), s / 2);
    while a + 1 < end {
        add(&mut sums[0], load(x, a), load(doubled, s - a));
        add(&mut sums[1], load(x, a + 1), load(doubled, s - a - 1));
        a += 2;
    }
    if a < end {
        add(&mut sums[0], load(x, a), load(doubled, s - a));
    }
    let i = s / 2;
    if s.is_multiple_of(2) {
        add(&mut sums[1], load(x, i), load(x, i));
    } else if i + 1 < L {
        add(&mut sums[1], load(x, i), load(shifted, i + 1));
    }
    (
        _mm512_add_epi64(sums[0][0], sums[1][0]),
        _mm512_add_epi64(sums[0][1], sums[1][1]),
    )
}

/// [`digit_kernels::square`](super::digit_kernels::square) for `L` limbs; `scratch` holds the
/// quotient's `L` vectors, `2·x0`'s `L` limbs, `2·x0`'s limbs each without the carry from
/// below, and the low digit's first columns.
#[allow(clippy::too_many_arguments)]
#[inline]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
unsafe fn square_width<const L: usize>(
    x0: *const u64,
    x1: *const u64,
    m: *const u64,
    m_minus_one: *const u64,
    k0: __m512i,
    scratch: *mut u64,
    out0: *mut u64,
    out1: *mut u64,
) {
    let q = scratch;
    let doubled = scratch.add(LANES * L);
    let shifted = scratch.add(2 * LANES * L);
    let columns = scratch.add(3 * LANES * L);
    // 2·x0 below 6m keeps its L limbs.
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let mut carry = _mm512_setzero_si512();
    for k in 0..L {
        let twice = _mm512_slli_epi64(load(x0, k), 1);
        let v = _mm512_add_epi64(twice, carry);
        store(doubled, k, _mm512_and_si512(v, mask));
        store(shifted, k, _mm512_and_si512(twice, mask));
        carry = _mm512_srli_epi64(v, 52);
    }
    let (doubled, shifted) = (doubled.cast_const(), shifted.cast_const());
    low_digit_square::<L>(x0, doubled, shifted, m, k0, q, columns, out0);
    high_digit::<L, 1>(doubled, x1, doubled, x1, q, m, m_minus_one, k0, out1);
}

/// The product of eight pairs of values in digits, as
/// [`digit_kernels::mul`](super::digit_kernels::mul) (the same arguments and results) for the
/// widths [`serves`] accepts.
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
    assert!(serves(l));
    let k0 = _mm512_set1_epi64(k0 as i64);
    let (x0, x1, y0, y1) = (x0.as_ptr(), x1.as_ptr(), y0.as_ptr(), y1.as_ptr());
    let (m, m_minus_one, scratch) = (m.as_ptr(), m_minus_one.as_ptr(), scratch.as_mut_ptr());
    let (out0, out1) = (out0.as_mut_ptr(), out1.as_mut_ptr());
    match l {
        12 => mul_width::<12>(x0, x1, y0, y1, m, m_minus_one, k0, scratch, out0, out1),
        16 => mul_width::<16>(x0, x1, y0, y1, m, m_minus_one, k0, scratch, out0, out1),
        _ => mul_width::<20>(x0, x1, y0, y1, m, m_minus_one, k0, scratch, out0, out1),
    }
}

/// The square of eight values in digits, as
/// [`digit_kernels::square`](super::digit_kernels::square) for the widths [`serves`] accepts.
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
    assert!(serves(l));
    let k0 = _mm512_set1_epi64(k0 as i64);
    let (x0, x1) = (x0.as_ptr(), x1.as_ptr());
    let (m, m_minus_one, scratch) = (m.as_ptr(), m_minus_one.as_ptr(), scratch.as_mut_ptr());
    let (out0, out1) = (out0.as_mut_ptr(), out1.as_mut_ptr());
    match l {
        12 => square_width::<12>(x0, x1, m, m_minus_one, k0, scratch, out0, out1),
        16 => square_width::<16>(x0, x1, m, m_minus_one, k0, scratch, out0, out1),
        _ => square_width::<20>(x0, x1, m, m_minus_one, k0, scratch, out0, out1),
    }
}
