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
//! The text is written once, in `narrow_kernels!`, and compiled per instruction set against a
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

        /// Digit `k` of `y`: vector `k` of a value, or with `BROADCAST` the word `y[k]` (the
        /// modulus's digit) in every lane.
        #[inline]
        $(#[$feature])*
        unsafe fn digit<const BROADCAST: bool>(y: *const u64, k: usize) -> V {
            match BROADCAST {
                true => splat(unsafe { *y.add(k) }),
                false => unsafe { at(y, k) },
            }
        }

        /// `(Σ x_i·y_(t−i), Σ x_i·y_(t+1−i))` over `i` in `from..to`: two columns at once, each
        /// `y` loaded once and used by both (one load a product where a column alone takes two),
        /// two `i` a step into four sums (shorter chains of dependent additions). With
        /// `BROADCAST`, `y` is the modulus's digits ([`digit`]): the reduction's terms.
        ///
        /// # Safety
        /// `x` holds vectors `from..to`, `y` digits `t + 1 − from` down to `t + 1 − to`.
        #[inline]
        $(#[$feature])*
        unsafe fn column_pair<const BROADCAST: bool>(
            x: *const u64,
            y: *const u64,
            t: usize,
            (from, to): (usize, usize),
        ) -> (V, V) {
            let (mut this, mut next) = (zero(), zero());
            let (mut this_odd, mut next_odd) = (zero(), zero());
            if from < to {
                let mut previous = unsafe { digit::<BROADCAST>(y, t + 1 - from) };
                let mut i = from;
                while i + 1 < to {
                    let (x0, y0) = unsafe { (at(x, i), digit::<BROADCAST>(y, t - i)) };
                    let (x1, y1) = unsafe { (at(x, i + 1), digit::<BROADCAST>(y, t - i - 1)) };
                    this = add(this, mul32(x0, y0));
                    next = add(next, mul32(x0, previous));
                    this_odd = add(this_odd, mul32(x1, y1));
                    next_odd = add(next_odd, mul32(x1, y0));
                    previous = y1;
                    i += 2;
                }
                if i < to {
                    let (x0, y0) = unsafe { (at(x, i), digit::<BROADCAST>(y, t - i)) };
                    this = add(this, mul32(x0, y0));
                    next = add(next, mul32(x0, previous));
                }
            }
            (add(this, this_odd), add(next, next_odd))
        }

        /// The lowest `i` with a digit `t − i` below `l`.
        #[inline(always)]
        fn lowest(t: usize, l: usize) -> usize {
            (t + 1).saturating_sub(l)
        }

        /// The reduction's terms of columns `t` and `t + 1` known before column `t` closes:
        /// `q_i·m_(t−i)` and `q_i·m_(t+1−i)` for `i < t` (the term of `q_t` comes later).
        #[inline]
        $(#[$feature])*
        unsafe fn reduction_sums(q: *const u64, m: &[u64], t: usize) -> (V, V) {
            let l = m.len();
            let (low, low_next) = (lowest(t, l), lowest(t + 1, l));
            let (mut this, next) = unsafe { column_pair::<true>(q, m.as_ptr(), t, (low_next, t.min(l))) };
            if low < low_next && low < t.min(l) {
                this = add(this, mul32(unsafe { at(q, low) }, splat(m[t - low])));
            }
            (this, next)
        }

        /// Closes columns `t` and `t + 1` (`t + 1 < 2l − 1`) from their sums of operand
        /// products and of the reduction's known terms: adds the carries and the term of `q_t`
        /// (known once column `t` closes); returns the carry into `t + 2`.
        #[inline]
        $(#[$feature])*
        unsafe fn close_pair(
            (this, next): (V, V),
            (reduce_this, reduce_next): (V, V),
            t: usize,
            m: &[u64],
            constants: (V, V, V, u32),
            (q, out, carry): (*mut u64, *mut u64, V),
        ) -> V {
            let l = m.len();
            let column = add(add(this, reduce_this), carry);
            let carry = unsafe { close_column(column, t, l, constants, q, out) };
            let mut column = add(add(next, reduce_next), carry);
            if t < l {
                column = add(column, mul32(unsafe { at(q, t) }, splat(m[1])));
            }
            unsafe { close_column(column, t + 1, l, constants, q, out) }
        }

        /// Closes the last column, `2l − 2` (the operands' sum `top`, one term of the
        /// reduction), and stores the result's top digit: its carry plus `beyond` (what a sum
        /// adds past the product's columns).
        #[inline]
        $(#[$feature])*
        unsafe fn close_last(
            (top, beyond): (V, V),
            m: &[u64],
            constants: (V, V, V, u32),
            (q, out, carry): (*mut u64, *mut u64, V),
        ) {
            let l = m.len();
            let t = 2 * l - 2;
            let mut column = add(top, carry);
            if l > 1 {
                column = add(column, mul32(unsafe { at(q, l - 1) }, splat(m[l - 1])));
            }
            let carry = unsafe { close_column(column, t, l, constants, q, out) };
            unsafe { store(out.add(super::super::LANES * (l - 1)), add(carry, beyond)) };
        }

        /// The sums `Σ a_i·b_(t−i)` and `Σ a_i·b_(t+1−i)` of columns `t` and `t + 1`.
        #[inline]
        $(#[$feature])*
        unsafe fn product_sums(a: *const u64, b: *const u64, t: usize, l: usize) -> (V, V) {
            let (low, low_next) = (lowest(t, l), lowest(t + 1, l));
            let (high, high_next) = (t.min(l - 1), (t + 1).min(l - 1));
            let (mut this, mut next) = unsafe { column_pair::<false>(a, b, t, (low_next, high + 1)) };
            if low < low_next {
                this = add(this, mul32(unsafe { at(a, low) }, unsafe { at(b, t - low) }));
            }
            if high_next > high {
                next = add(next, mul32(unsafe { at(a, high_next) }, unsafe { at(b, t + 1 - high_next) }));
            }
            (this, next)
        }

        /// The sums of columns `t` and `t + 1` (`t` even) of `a²`: each cross product once,
        /// doubled, and the square on the diagonal. Column `t + 1` has one pair more than `t`,
        /// `(t/2, t/2 + 1)`.
        #[inline]
        $(#[$feature])*
        unsafe fn square_sums(a: *const u64, t: usize, l: usize) -> (V, V) {
            let (low, low_next) = (lowest(t, l), lowest(t + 1, l));
            let (mut this, mut next) = unsafe { column_pair::<false>(a, a, t, (low_next, t / 2)) };
            if low < low_next && low < t / 2 {
                this = add(this, mul32(unsafe { at(a, low) }, unsafe { at(a, t - low) }));
            }
            let half = unsafe { at(a, t / 2) };
            next = add(next, mul32(half, unsafe { at(a, t / 2 + 1) }));
            (add(add(this, this), mul32(half, half)), add(next, next))
        }

        /// Closes every column of a Montgomery product modulo `m` whose operand sums
        /// `sums(t)` gives for columns `t` and `t + 1` (`t` even, below `2l − 2`), `top` for
        /// the last column, and `beyond` past it (added to the top digit). Columns close two
        /// at a time ([`column_pair`]), the last alone; the next pair's operand sums are
        /// issued before the current pair closes, so that they fill the wait on its quotient
        /// digits (stored in `q`).
        #[inline]
        $(#[$feature])*
        unsafe fn reduce_columns(
            sums: impl Fn(usize) -> (V, V),
            (top, beyond): (V, V),
            m: &[u64],
            (k0, bits): (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            let l = m.len();
            let constants = (splat(m[0]), splat(k0), splat((1u64 << bits) - 1), bits);
            let mut carry = zero();
            let last = 2 * l - 2;
            let mut current = match last > 0 {
                true => sums(0),
                false => (zero(), zero()),
            };
            for t in (0..last).step_by(2) {
                let reductions = unsafe { reduction_sums(q, m, t) };
                let upcoming = match t + 2 < last {
                    true => sums(t + 2),
                    false => (zero(), zero()),
                };
                carry = unsafe { close_pair(current, reductions, t, m, constants, (q, out, carry)) };
                current = upcoming;
            }
            unsafe { close_last((top, beyond), m, constants, (q, out, carry)) };
        }

        /// Almost Montgomery product of `WIDTH` pairs, or with `SQUARE` of `a` by itself (`b`
        /// is then `a`, and each cross product is computed once and doubled).
        #[inline]
        $(#[$feature])*
        unsafe fn montgomery<const SQUARE: bool>(
            a: *const u64,
            b: *const u64,
            m: &[u64],
            constants: (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            let l = m.len();
            let sums = |t: usize| match SQUARE {
                true => unsafe { square_sums(a, t, l) },
                false => unsafe { product_sums(a, b, t, l) },
            };
            let top = mul32(unsafe { at(a, l - 1) }, unsafe { at(b, l - 1) });
            unsafe { reduce_columns(sums, (top, zero()), m, constants, q, out) };
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
            constants: (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            unsafe { montgomery::<false>(a, b, m, constants, q, out) }
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
            constants: (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            unsafe { montgomery::<true>(a, a, m, constants, q, out) }
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

        /// Lane by lane, entry `digits[i]` of a row of `entries` values shared by every lane,
        /// stored word by word (word `k` of entry `e` at `row[k·entries + e]`), into `out`
        /// (`vectors` vectors): every entry is broadcast and kept under a compare's mask,
        /// whatever the digits.
        ///
        /// # Safety
        /// The CPU must have the instructions of the attributes; `row` holds
        /// `entries·vectors` words, `out` `vectors` vectors, `digits` `WIDTH` words.
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn select_shared(
            row: *const u64,
            entries: usize,
            vectors: usize,
            digits: *const u64,
            out: *mut u64,
        ) {
            let wanted = unsafe { load(digits) };
            for k in 0..vectors {
                let mut acc = zero();
                for e in 0..entries {
                    let entry = splat(unsafe { *row.add(k * entries + e) });
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
    narrow_digit_kernels!(#[target_feature(enable = "avx512f")]);
}

/// The kernels on AVX2: four lanes a register, so a vector of eight takes two calls.
#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    #[allow(unused_imports)]
    use super::super::vectors::avx2::*;
    narrow_kernels!(#[target_feature(enable = "avx2")]);
    narrow_digit_kernels!(#[target_feature(enable = "avx2")]);
}

/// The kernels on plain arrays (tests only: results, not speed or constant time).
#[cfg(test)]
pub(super) mod emulated {
    #[allow(unused_imports)]
    use super::super::vectors::emulated::*;
    narrow_kernels!();
    narrow_digit_kernels!();
}
