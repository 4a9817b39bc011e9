//! The narrow kernels: almost Montgomery products, squares and the table scan of eight
//! exponentiations at once, in digits of `bits` ≤ 28 bits (radix 2^bits) multiplied 32 by 32
//! into 64 bits (`vpmuludq`), one item in each lane.
//!
//! A value of `L` digits is `L` vectors of eight words (digit `j` of item `i` at `8·j + i`), as
//! in the IFMA engine. Products are summed column by column (product scanning): column `t`
//! gains `a_i·b_(t−i)` and `q_i·m_(t−i)` for every `i` in range, then the carry of column
//! `t − 1`. With digits below `2^bits` that is at most `2·L·(2^bits − 1)² + 2^(64 − bits)`,
//! which must stay below 2^64 ([`super::radix::digits_fit`] is that bound, and the engine
//! takes no wider modulus): up to 128 digits (3,582-bit moduli) at 28 bits, 512 at 27.
//!
//! For `t < L` the column's low digit decides the quotient digit `q_t = (column·k0) mod
//! 2^bits`, whose multiple of `m_0` clears it; the columns from `L` on are the result's digits.
//! The result is below `2m` for operands below `2m` where `4m < 2^(bits·L)`.
//!
//! The text is written once, in [`narrow_kernels`], and compiled per instruction set against a
//! module of [`super::vectors`]; every loop count is a width or a table size, never a value.

// The one place with `unsafe` in this engine: loads and stores through pointers whose extent the
// callers check (`mod.rs`), in functions compiled for an instruction set the caller checked.
#![allow(unsafe_code)]

/// Defines `mul`, `square` and `select` over the operations in scope (a module of
/// [`super::vectors`]: `V`, `zero`, `splat`, `load`, `store`, `add`, `mul32`, `and`,
/// `shift_right`, `pick`), each function carrying the attributes given (its `target_feature`).
/// Each processes the lanes of one register (`WIDTH`: eight on AVX-512F, four on AVX2) of
/// vectors that are eight words apart.
macro_rules! narrow_kernels {
    ($(#[$feature:meta])*) => {
        /// Vector `k` of the values at `p` (eight words apart).
        #[inline(always)]
        unsafe fn at(p: *const u64, k: usize) -> V {
            // SAFETY: the callers keep `k` below the vectors their slices hold.
            unsafe { load(p.add(super::super::LANES * k)) }
        }

        /// Closes column `t` (its sum `column`, carry in) of a product of `l` digits: a
        /// quotient digit for `t < l` (stored in `q`), else the result's digit `t − l` (into
        /// `out`); returns the carry into column `t + 1`.
        #[inline]
        $(#[$feature])*
        unsafe fn close_column(
            column: V,
            t: usize,
            l: usize,
            (m0, k0, mask, bits): (V, V, V, u32),
            q: *mut u64,
            out: *mut u64,
        ) -> V {
            let lanes = super::super::LANES;
            if t < l {
                let digit = and(mul32(column, k0), mask);
                // SAFETY: `t < l` and `q` holds `l` vectors.
                unsafe { store(q.add(lanes * t), digit) };
                shift_right(add(column, mul32(digit, m0)), bits)
            } else {
                // SAFETY: `t − l < l − 1` and `out` holds `l` vectors.
                unsafe { store(out.add(lanes * (t - l)), and(column, mask)) };
                shift_right(column, bits)
            }
        }

        /// `Σ q_i·m_(t−i)` over the quotient digits known before column `t` closes.
        #[inline]
        $(#[$feature])*
        unsafe fn reduction_terms(q: *const u64, m: &[u64], t: usize, l: usize) -> V {
            let (mut even, mut odd) = (zero(), zero());
            let (low, high) = ((t + 1).saturating_sub(l), t.min(l));
            let mut i = low;
            while i + 1 < high {
                even = add(even, mul32(unsafe { at(q, i) }, splat(m[t - i])));
                odd = add(odd, mul32(unsafe { at(q, i + 1) }, splat(m[t - i - 1])));
                i += 2;
            }
            if i < high {
                even = add(even, mul32(unsafe { at(q, i) }, splat(m[t - i])));
            }
            add(even, odd)
        }

        /// Almost Montgomery product of `WIDTH` pairs: `out = a·b·2^(−bits·l) mod m` lane by
        /// lane, below `2m`, digits normalised; `q` is scratch of `l` vectors.
        ///
        /// # Safety
        /// The CPU must have the instructions of the attributes; `a`, `b`, `q` and `out` point
        /// to `l = m.len() ≥ 1` vectors eight words apart with `WIDTH` lanes readable (and for
        /// `q`, `out` writable), `out` apart from the others.
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn mul(
            a: *const u64,
            b: *const u64,
            m: &[u64],
            (k0, bits): (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            let l = m.len();
            let constants = (splat(m[0]), splat(k0), splat((1u64 << bits) - 1), bits);
            let mut carry = zero();
            for t in 0..2 * l - 1 {
                let (low, high) = ((t + 1).saturating_sub(l), t.min(l - 1));
                let (mut even, mut odd) = (zero(), zero());
                let mut i = low;
                while i < high {
                    even = add(even, mul32(unsafe { at(a, i) }, unsafe { at(b, t - i) }));
                    odd = add(odd, mul32(unsafe { at(a, i + 1) }, unsafe { at(b, t - i - 1) }));
                    i += 2;
                }
                if i == high {
                    even = add(even, mul32(unsafe { at(a, i) }, unsafe { at(b, t - i) }));
                }
                let reduction = unsafe { reduction_terms(q, m, t, l) };
                let column = add(add(even, odd), add(reduction, carry));
                carry = unsafe { close_column(column, t, l, constants, q, out) };
            }
            unsafe { store(out.add(super::super::LANES * (l - 1)), carry) };
        }

        /// Almost Montgomery square of `WIDTH` values: [`mul`]`(a, a)` with each cross product
        /// computed once and doubled.
        ///
        /// # Safety
        /// As [`mul`].
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn square(
            a: *const u64,
            m: &[u64],
            (k0, bits): (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            let l = m.len();
            let constants = (splat(m[0]), splat(k0), splat((1u64 << bits) - 1), bits);
            let mut carry = zero();
            for t in 0..2 * l - 1 {
                let low = (t + 1).saturating_sub(l);
                let (mut even, mut odd) = (zero(), zero());
                // The pairs i < t − i once each.
                let mut i = low;
                while i + 1 < t.div_ceil(2) {
                    even = add(even, mul32(unsafe { at(a, i) }, unsafe { at(a, t - i) }));
                    odd = add(odd, mul32(unsafe { at(a, i + 1) }, unsafe { at(a, t - i - 1) }));
                    i += 2;
                }
                if i < t.div_ceil(2) {
                    even = add(even, mul32(unsafe { at(a, i) }, unsafe { at(a, t - i) }));
                }
                let cross = add(even, odd);
                let mut column = add(cross, cross);
                if t % 2 == 0 {
                    let x = unsafe { at(a, t / 2) };
                    column = add(column, mul32(x, x));
                }
                let reduction = unsafe { reduction_terms(q, m, t, l) };
                column = add(column, add(reduction, carry));
                carry = unsafe { close_column(column, t, l, constants, q, out) };
            }
            unsafe { store(out.add(super::super::LANES * (l - 1)), carry) };
        }

        /// Lane by lane, entry `digits[i]` of a table of `entries` values of `vectors` vectors
        /// each (entry `e` from vector `e·vectors`) into `out`: every entry is read and kept
        /// under a compare's mask, whatever the digits.
        ///
        /// # Safety
        /// The CPU must have the instructions of the attributes; `table` holds
        /// `entries·vectors` vectors, `out` `vectors`, `digits` `WIDTH` words.
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn select(
            table: *const u64,
            entries: usize,
            vectors: usize,
            digits: *const u64,
            out: *mut u64,
        ) {
            let wanted = unsafe { load(digits) };
            for k in 0..vectors {
                let mut acc = zero();
                for e in 0..entries {
                    let entry = unsafe { at(table, e * vectors + k) };
                    acc = pick(acc, wanted, splat(e as u64), entry);
                }
                unsafe { store(out.add(super::super::LANES * k), acc) };
            }
        }
    };
}

/// The kernels on AVX-512F: eight lanes a register.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx512 {
    #[allow(unused_imports)]
    use super::super::vectors::avx512::*;
    narrow_kernels!(#[target_feature(enable = "avx512f")]);
}

/// The kernels on AVX2: four lanes a register, so a vector of eight takes two calls.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    #[allow(unused_imports)]
    use super::super::vectors::avx2::*;
    narrow_kernels!(#[target_feature(enable = "avx2")]);
}

/// The kernels on plain arrays (tests only: results, not speed or constant time).
#[cfg(test)]
pub(super) mod emulated {
    #[allow(unused_imports)]
    use super::super::vectors::emulated::*;
    narrow_kernels!();
}
