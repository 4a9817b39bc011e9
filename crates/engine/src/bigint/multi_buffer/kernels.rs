//! The AVX-512 IFMA kernels of the multi-buffer engine: lane `i` of every vector belongs to item
//! `i`, so a vector instruction does the same step of eight independent products and no carry,
//! shuffle or scalar round trip ever crosses between limbs.
//!
//! A value of `L` limbs is `L` vectors (`8·L` words, limb `j` of item `i` at `8·j + i`). The
//! products accumulate column by column in `2·L` vectors of scratch: each column gains at most
//! `(4·L + 2)·2^52` before it is normalised (four products a step for `L + 1` steps, or in the
//! squaring two for the doubled cross products, one for the diagonal and two a step of the
//! reduction), below 2^62 for every `L` up to 160.
//!
//! Every function here runs the same instructions on the same addresses whatever the values:
//! the loop counts are the width and the table's size, and [`select`] picks each lane's entry
//! with vector compares and masked moves over the whole table.

// The one place with `unsafe` in this engine: AVX-512 intrinsics (the caller checks the CPU) and
// the pointer arithmetic over slices whose lengths each function checks on entry.
#![allow(unsafe_code)]

use crate::bigint::avx512::*;

use super::LANES;
use crate::bigint::ifma::MASK52;

/// Rows of the product (limbs of `b`) per block: each column of the accumulator is loaded and
/// stored once a block, for `4·ROWS` products. The width is padded to a multiple of it.
pub(crate) const ROWS: usize = 4;

macro_rules! load {
    ($base:expr, $k:expr) => {
        _mm512_loadu_si512($base.add(LANES * ($k)).cast())
    };
}

macro_rules! store {
    ($base:expr, $k:expr, $v:expr) => {
        _mm512_storeu_si512($base.add(LANES * ($k)).cast(), $v)
    };
}

/// Almost Montgomery multiplication of eight pairs: `out = a·b·2^(−52·L) mod m` lane by lane,
/// below `2m` for `a, b < 2m` (with `4m < 2^(52·L)`), limbs normalised to 52 bits.
///
/// `m` holds the modulus's `L` limbs once (broadcast to every lane as they are read; `L` a
/// multiple of [`ROWS`]), `scratch` at least `16·L` words, `a`, `b` and `out` `8·L`.
///
/// # Safety
/// The CPU must have AVX-512F and AVX-512 IFMA.
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(crate) unsafe fn mul(
    a: &[u64],
    b: &[u64],
    m: &[u64],
    k0: u64,
    scratch: &mut [u64],
    out: &mut [u64],
) {
    let l = m.len();
    assert!(l > 0 && l.is_multiple_of(ROWS));
    assert!(a.len() >= LANES * l && b.len() >= LANES * l && out.len() >= LANES * l);
    assert!(scratch.len() >= 2 * LANES * l);
    let (a, b, m, r) = (a.as_ptr(), b.as_ptr(), m.as_ptr(), scratch.as_mut_ptr());
    clear(r, 2 * l);
    let k0v = _mm512_set1_epi64(k0 as i64);
    for i in (0..l).step_by(ROWS) {
        let rows = load_rows(b.add(LANES * i));
        reduce_block([(a, &rows)], m, k0v, r.add(LANES * i), l);
    }
    normalise(r.add(LANES * l), l, out.as_mut_ptr());
}

/// Almost Montgomery squaring of eight values: [`mul`]`(a, a)` with each cross product computed
/// once and doubled (three quarters of the products), then the reduction on its own.
///
/// # Safety
/// As [`mul`].
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(crate) unsafe fn square(a: &[u64], m: &[u64], k0: u64, scratch: &mut [u64], out: &mut [u64]) {
    let l = m.len();
    assert!(l > 0 && l.is_multiple_of(ROWS) && a.len() >= LANES * l && out.len() >= LANES * l);
    assert!(scratch.len() >= 2 * LANES * l);
    let r = scratch.as_mut_ptr();
    square_columns(a.as_ptr(), l, r);
    reduce(r, m.as_ptr(), k0, l, out.as_mut_ptr());
}

/// The `2·L` columns of the squares of the eight `L`-limb values at `a`, into `r`: each cross
/// product once, doubled, plus the squares on the diagonal.
#[inline]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(super) unsafe fn square_columns(a: *const u64, l: usize, r: *mut u64) {
    clear(r, 2 * l);
    for i in (0..l).step_by(ROWS) {
        // The cross products of rows i..i + ROWS with each other, then with every later limb.
        for s in 0..ROWS {
            let x = load!(a, i + s);
            for u in s + 1..ROWS {
                let (y, column) = (load!(a, i + u), 2 * i + s + u);
                store!(r, column, _mm512_madd52lo_epu64(load!(r, column), x, y));
                store!(
                    r,
                    column + 1,
                    _mm512_madd52hi_epu64(load!(r, column + 1), x, y)
                );
            }
        }
        let rows = load_rows(a.add(LANES * i));
        let later = l - i - ROWS;
        rectangle(
            &rows,
            a.add(LANES * (i + ROWS)),
            later,
            r.add(LANES * (2 * i + ROWS)),
        );
    }
    // Doubled, plus the squares on the diagonal.
    for i in 0..l {
        let x = load!(a, i);
        let even = _mm512_slli_epi64(load!(r, 2 * i), 1);
        let odd = _mm512_slli_epi64(load!(r, 2 * i + 1), 1);
        store!(r, 2 * i, _mm512_madd52lo_epu64(even, x, x));
        store!(r, 2 * i + 1, _mm512_madd52hi_epu64(odd, x, x));
    }
}

/// Montgomery reduction of the `2·L` columns at `r`: clears the low `L` columns with multiples
/// of `m` and carries the high ones into 52-bit limbs at `out`.
#[inline]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(super) unsafe fn reduce(r: *mut u64, m: *const u64, k0: u64, l: usize, out: *mut u64) {
    let k0v = _mm512_set1_epi64(k0 as i64);
    for i in (0..l).step_by(ROWS) {
        reduce_block([], m, k0v, r.add(LANES * i), l);
    }
    normalise(r.add(LANES * l), l, out);
}

#[inline]
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
pub(super) unsafe fn clear(r: *mut u64, vectors: usize) {
    for k in 0..vectors {
        store!(r, k, _mm512_setzero_si512());
    }
}

#[inline]
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
pub(super) unsafe fn load_rows(from: *const u64) -> [__m512i; ROWS] {
    let mut rows = [_mm512_setzero_si512(); ROWS];
    for (s, row) in rows.iter_mut().enumerate() {
        *row = load!(from, s);
    }
    rows
}

/// Adds `rows[s]·x[j]` to column `s + j` (low half) and `s + j + 1` (high half) at `r`, for
/// every row `s` and `j < count`: the squaring's cross products of a block of rows with the
/// limbs above it, column by column so that each column is loaded and stored once.
#[inline]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(super) unsafe fn rectangle(rows: &[__m512i; ROWS], x: *const u64, count: usize, r: *mut u64) {
    for t in 0..count + ROWS {
        let mut low = load!(r, t);
        let mut high = _mm512_setzero_si512();
        for (s, &row) in rows.iter().enumerate() {
            if t >= s && t - s < count {
                low = _mm512_madd52lo_epu64(low, load!(x, t - s), row);
            }
            if t > s && t - 1 - s < count {
                high = _mm512_madd52hi_epu64(high, load!(x, t - 1 - s), row);
            }
        }
        store!(r, t, _mm512_add_epi64(low, high));
    }
}

/// Adds `m·y` (and first, for each `(a, rows)` of `products`, `a·rows`) to the columns at `r`
/// (column `t` of the block at `r + 8t`), with the `y`s chosen one row at a time to clear the
/// block's first [`ROWS`] columns, whose carries move up; returns the `y`s (the quotient's
/// limbs for this block). Within a column the low and the high halves accumulate apart: two
/// shorter chains of dependent products instead of one.
#[inline]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
pub(super) unsafe fn reduce_block<const P: usize>(
    products: [(*const u64, &[__m512i; ROWS]); P],
    m: *const u64,
    k0v: __m512i,
    r: *mut u64,
    l: usize,
) -> [__m512i; ROWS] {
    let zero = _mm512_setzero_si512();
    macro_rules! limb {
        ($k:expr) => {
            _mm512_set1_epi64(*m.add($k) as i64)
        };
    }
    macro_rules! add_terms {
        ($low:ident, $high:ident, $ys:expr, $s:expr, $lo:expr, $hi:expr) => {
            if let Some(k) = $lo {
                for &(a, rows) in &products {
                    $low = _mm512_madd52lo_epu64($low, load!(a, k), rows[$s]);
                }
                $low = _mm512_madd52lo_epu64($low, limb!(k), $ys[$s]);
            }
            if let Some(k) = $hi {
                for &(a, rows) in &products {
                    $high = _mm512_madd52hi_epu64($high, load!(a, k), rows[$s]);
                }
                $high = _mm512_madd52hi_epu64($high, limb!(k), $ys[$s]);
            }
        };
    }
    let mut ys = [zero; ROWS];
    let mut carry = zero;
    // The block's first columns: rows before t are complete there, row t adds its low product
    // and then the multiple of m that clears the column.
    for t in 0..ROWS {
        let mut low = _mm512_add_epi64(load!(r, t), carry);
        let mut high = zero;
        for s in 0..t {
            add_terms!(low, high, ys, s, Some(t - s), Some(t - 1 - s));
        }
        low = _mm512_add_epi64(low, high);
        for &(a, rows) in &products {
            low = _mm512_madd52lo_epu64(low, load!(a, 0), rows[t]);
        }
        ys[t] = _mm512_madd52lo_epu64(zero, low, k0v);
        low = _mm512_madd52lo_epu64(low, limb!(0), ys[t]);
        carry = _mm512_srli_epi64(low, 52);
    }
    // Columns where every row contributes both halves.
    for t in ROWS..l {
        let mut low = load!(r, t);
        let mut high = zero;
        for s in 0..ROWS {
            add_terms!(low, high, ys, s, Some(t - s), Some(t - 1 - s));
        }
        if t == ROWS {
            low = _mm512_add_epi64(low, carry);
        }
        store!(r, t, _mm512_add_epi64(low, high));
    }
    // The last columns, past the top of some rows.
    for t in l..l + ROWS {
        let mut low = load!(r, t);
        let mut high = zero;
        for s in 0..ROWS {
            add_terms!(
                low,
                high,
                ys,
                s,
                (t - s < l).then_some(t - s),
                (t - 1 - s < l).then_some(t - 1 - s)
            );
        }
        if t == ROWS {
            low = _mm512_add_epi64(low, carry);
        }
        store!(r, t, _mm512_add_epi64(low, high));
    }
    ys
}

/// Carries the `l` accumulated columns at `columns` into 52-bit limbs at `out`, lane by lane.
/// The values are below `2m < 2^(52·l)`, so nothing carries out of the top.
#[inline]
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
pub(super) unsafe fn normalise(columns: *const u64, l: usize, out: *mut u64) {
    let mask = _mm512_set1_epi64(MASK52 as i64);
    let mut carry = _mm512_setzero_si512();
    for k in 0..l {
        let v = _mm512_add_epi64(load!(columns, k), carry);
        store!(out, k, _mm512_and_si512(v, mask));
        carry = _mm512_srli_epi64(v, 52);
    }
}

/// Lane by lane, entry `digits[i]` of a table of `entries` values (`8·L` words each, `L =
/// out.len() / 8`) into lane `i` of `out`: every entry is read in full by loads that zero the
/// lanes a vector compare rules out, so neither the instructions nor the addresses depend on the
/// digits.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg_attr(not(feature = "emulated-ifma"), target_feature(enable = "avx512f"))]
pub(crate) unsafe fn select(table: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
    let l = out.len() / LANES;
    assert!(table.len() >= entries * LANES * l);
    let scan = Scan::new(table, entries, LANES * l, digits);
    scan.run(l, out.as_mut_ptr());
}

/// A full scan of a table of vectors whose entries are `stride` words apart, keeping in each
/// lane what the entry `wanted` names there.
struct Scan {
    table: *const i64,
    entries: usize,
    stride: usize,
    wanted: __m512i,
}

/// `vpternlogq`'s truth table for `a | b | c`.
const OR3: i32 = 0xfe;

impl Scan {
    #[inline(always)]
    unsafe fn new(table: &[u64], entries: usize, stride: usize, digits: &[u64; LANES]) -> Self {
        Self {
            table: table.as_ptr().cast(),
            entries,
            stride,
            wanted: _mm512_loadu_si512(digits.as_ptr().cast()),
        }
    }

    /// The `count` output vectors. Blocks of eight stay in registers so that `out` is written
    /// once.
    #[inline(always)]
    unsafe fn run(&self, count: usize, out: *mut u64) {
        let mut start = 0;
        while start + 8 <= count {
            self.block::<8>(start, out);
            start += 8;
        }
        while start < count {
            self.block::<1>(start, out);
            start += 1;
        }
    }

    /// Output vectors `start .. start + W`. A load that zeroes lanes takes only a load port
    /// (a merging one an ALU port too), so two entries' loads meet in one three-way OR.
    #[inline(always)]
    unsafe fn block<const W: usize>(&self, start: usize, out: *mut u64) {
        let hit = |e: usize| _mm512_cmpeq_epi64_mask(self.wanted, _mm512_set1_epi64(e as i64));
        let at = |e: usize, k: usize| self.table.add(e * self.stride + LANES * (start + k));
        let mut acc = [_mm512_setzero_si512(); W];
        let mut e = 0;
        while e + 1 < self.entries {
            let (first, second) = (hit(e), hit(e + 1));
            for (k, slot) in acc.iter_mut().enumerate() {
                let a = _mm512_maskz_loadu_epi64(first, at(e, k));
                let b = _mm512_maskz_loadu_epi64(second, at(e + 1, k));
                *slot = _mm512_ternarylogic_epi64(*slot, a, b, OR3);
            }
            e += 2;
        }
        if e < self.entries {
            let only = hit(e);
            for (k, slot) in acc.iter_mut().enumerate() {
                *slot = _mm512_or_si512(*slot, _mm512_maskz_loadu_epi64(only, at(e, k)));
            }
        }
        for (k, slot) in acc.iter().enumerate() {
            store!(out, start + k, *slot);
        }
    }
}
