//! The narrow kernels of the two-digit lanes ([`NarrowTwoDigitLanes`](super::NarrowTwoDigitLanes)):
//! the high digit of a product modulo N² on two digits modulo N, the joining of two digits into
//! one value, and the sum of two values of one width.
//!
//! A value modulo N² is two digits of N's width, `(x0, x1)`, with `X·R ≡ x0 + N·x1 (mod N²)`.
//! The low digit of a product is the narrow kernels' Montgomery product modulo N, which stores
//! its quotient `q` (`x0·y0 + q·N = R·out0`); the high digit is
//!
//! ```text
//! out1 = (x0·y1 + x1·y0 + N·R − q + q'·N) / R          (q' its own quotient)
//! ```
//!
//! so its columns sum two products a digit pair and the reduction's (three, where a product
//! modulo one modulus sums two: [`super::radix::columns_fit`] bounds them), plus the columns of
//! `N·R − q = (N − 1)·R + (R − 1 − q) + 1`, none negative.
//!
//! Like the other narrow kernels, these run the same instructions on the same addresses
//! whatever the values; they are written once and compiled per instruction set.

/// Defines `mul_digits`, `square_digits`, `split_high`, `join` and `add_digits` beside `narrow_kernels!`'s functions (it must be
/// invoked in the same module, after them).
macro_rules! narrow_digit_kernels {
    ($(#[$feature:meta])*) => {
        /// Column `t` of `N·R − q_low` (`t < 2l`): `2^bits − 1 − q_t` below `l` (plus one in
        /// column 0), then the digits of `N − 1`.
        #[inline]
        $(#[$feature])*
        unsafe fn addend(q_low: *const u64, m_minus_one: &[u64], mask: V, t: usize) -> V {
            let l = m_minus_one.len();
            match (t < l, t == 0) {
                (true, true) => add(sub(mask, unsafe { at(q_low, t) }), splat(1)),
                (true, false) => sub(mask, unsafe { at(q_low, t) }),
                _ => splat(m_minus_one[t - l]),
            }
        }

        /// Both digits of a product on two digits: the low one from the operand sums
        /// `low_sums` (and `low_top`, the last column's) as [`reduce_columns`] closes them,
        /// keeping its quotient in `q_low`; the high one from `high_sums` and `high_top` plus
        /// `N·R − q_low`, its quotient in `q_high`. The two run column pair by column pair in
        /// one stream, so that the high digit's chain of dependent closings overlaps the low
        /// one's (each high column waits only on the low column of its index).
        #[allow(clippy::too_many_arguments)]
        #[inline]
        $(#[$feature])*
        unsafe fn reduce_two_digits(
            (low_sums, low_top): (impl Fn(usize) -> (V, V), V),
            (high_sums, high_top): (impl Fn(usize) -> (V, V), V),
            m: &[u64],
            m_minus_one: &[u64],
            (k0, bits): (u64, u32),
            (q_low, q_high): (*mut u64, *mut u64),
            (out0, out1): (*mut u64, *mut u64),
        ) {
            let l = m.len();
            let constants = (splat(m[0]), splat(k0), splat((1u64 << bits) - 1), bits);
            let mask = constants.2;
            let (mut carry_low, mut carry_high) = (zero(), zero());
            let last = 2 * l - 2;
            let (mut low, mut high) = match last > 0 {
                true => (low_sums(0), high_sums(0)),
                false => ((zero(), zero()), (zero(), zero())),
            };
            for t in (0..last).step_by(2) {
                let reductions_low = unsafe { reduction_sums(q_low, m, t) };
                let reductions_high = unsafe { reduction_sums(q_high, m, t) };
                let (upcoming_low, upcoming_high) = match t + 2 < last {
                    true => (low_sums(t + 2), high_sums(t + 2)),
                    false => ((zero(), zero()), (zero(), zero())),
                };
                carry_low =
                    unsafe { close_pair(low, reductions_low, t, m, constants, (q_low, out0, carry_low)) };
                let with_addend = unsafe {
                    (
                        add(high.0, addend(q_low, m_minus_one, mask, t)),
                        add(high.1, addend(q_low, m_minus_one, mask, t + 1)),
                    )
                };
                carry_high = unsafe {
                    close_pair(with_addend, reductions_high, t, m, constants, (q_high, out1, carry_high))
                };
                (low, high) = (upcoming_low, upcoming_high);
            }
            unsafe { close_last((low_top, zero()), m, constants, (q_low, out0, carry_low)) };
            let high_top = add(high_top, unsafe { addend(q_low, m_minus_one, mask, last) });
            let beyond = splat(m_minus_one[l - 1]);
            unsafe { close_last((high_top, beyond), m, constants, (q_high, out1, carry_high)) };
        }

        /// The product of `WIDTH` pairs of values on two digits, `x = (x0, x1)` and `y = (y0,
        /// y1)`, each digit below `3N` with `64·N < R`, into `(out0, out1)`, each below `3N`:
        ///
        /// ```text
        /// x0·y0 + q·N = R·out0
        /// x0·y1 + x1·y0 + N·R − q + q'·N = R·out1
        /// ```
        ///
        /// # Safety
        /// The CPU must have the instructions of the attributes; every pointer addresses `l =
        /// m.len()` vectors eight words apart with `WIDTH` lanes readable (and for `q_low`,
        /// `q_high`, `out0` and `out1`, writable), the outputs apart from the others;
        /// `m_minus_one` is as long as `m`.
        #[allow(clippy::too_many_arguments)]
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn mul_digits(
            (x0, x1): (*const u64, *const u64),
            (y0, y1): (*const u64, *const u64),
            m: &[u64],
            m_minus_one: &[u64],
            constants: (u64, u32),
            quotients: (*mut u64, *mut u64),
            outs: (*mut u64, *mut u64),
        ) {
            let l = m.len();
            let low_sums = |t: usize| unsafe { product_sums(x0, y0, t, l) };
            let high_sums = |t: usize| unsafe {
                let (a, b) = (product_sums(x0, y1, t, l), product_sums(x1, y0, t, l));
                (add(a.0, b.0), add(a.1, b.1))
            };
            let (low_top, high_top) = unsafe {
                let top = |a, b| mul32(at(a, l - 1), at(b, l - 1));
                (top(x0, y0), add(top(x0, y1), top(x1, y0)))
            };
            unsafe {
                reduce_two_digits(
                    (low_sums, low_top),
                    (high_sums, high_top),
                    m,
                    m_minus_one,
                    constants,
                    quotients,
                    outs,
                )
            };
        }

        /// The square of `WIDTH` values on two digits, as [`mul_digits`]`(x, x)`: the low digit
        /// by the squaring's sums, the high one as `doubled·x1`, where `doubled` holds `2·x0`.
        ///
        /// # Safety
        /// As [`mul_digits`], `doubled` addressing `l` vectors.
        #[allow(clippy::too_many_arguments)]
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn square_digits(
            (x0, x1): (*const u64, *const u64),
            doubled: *const u64,
            m: &[u64],
            m_minus_one: &[u64],
            constants: (u64, u32),
            quotients: (*mut u64, *mut u64),
            outs: (*mut u64, *mut u64),
        ) {
            let l = m.len();
            let low_sums = |t: usize| unsafe { square_sums(x0, t, l) };
            let high_sums = |t: usize| unsafe { product_sums(doubled, x1, t, l) };
            let (low_top, high_top) = unsafe {
                (mul32(at(x0, l - 1), at(x0, l - 1)), mul32(at(doubled, l - 1), at(x1, l - 1)))
            };
            unsafe {
                reduce_two_digits(
                    (low_sums, low_top),
                    (high_sums, high_top),
                    m,
                    m_minus_one,
                    constants,
                    quotients,
                    outs,
                )
            };
        }

        /// The high digit of a split: `(N·R − q_low + q·N) / R` into `out`, where `q_low` is
        /// the quotient of the low digit's reduction.
        ///
        /// # Safety
        /// As [`mul_digits`], for `q_low`, `q` and `out`.
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn split_high(
            q_low: *const u64,
            m: &[u64],
            m_minus_one: &[u64],
            constants: (u64, u32),
            q: *mut u64,
            out: *mut u64,
        ) {
            let l = m.len();
            let mask = splat((1u64 << constants.1) - 1);
            let sums = |t: usize| unsafe {
                (addend(q_low, m_minus_one, mask, t), addend(q_low, m_minus_one, mask, t + 1))
            };
            let top = unsafe { addend(q_low, m_minus_one, mask, 2 * l - 2) };
            let beyond = splat(m_minus_one[l - 1]);
            unsafe { reduce_columns(sums, (top, beyond), m, constants, q, out) };
        }

        /// `x0 + m·x1` for digits of `l = m.len()` digits into the `2·l` digits of `out`,
        /// normalised (the sum must be below `2^(2·bits·l)`).
        ///
        /// # Safety
        /// The CPU must have the instructions of the attributes; `x0` and `x1` address `l`
        /// vectors, `out` `2·l`, eight words apart with `WIDTH` lanes readable (writable).
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn join(
            x0: *const u64,
            x1: *const u64,
            m: &[u64],
            bits: u32,
            out: *mut u64,
        ) {
            let l = m.len();
            let mask = splat((1u64 << bits) - 1);
            let mut carry = zero();
            for t in 0..2 * l - 1 {
                let mut column = carry;
                for i in lowest(t, l)..=t.min(l - 1) {
                    column = add(column, mul32(splat(m[i]), unsafe { at(x1, t - i) }));
                }
                if t < l {
                    column = add(column, unsafe { at(x0, t) });
                }
                unsafe { store(out.add(super::super::LANES * t), and(column, mask)) };
                carry = shift_right(column, bits);
            }
            unsafe { store(out.add(super::super::LANES * (2 * l - 1)), carry) };
        }

        /// `x + y` for values of `l` digits into `out`, each digit but the top normalised (the
        /// top keeps what is left: the sum must be below `2^(bits·l)` for normal digits).
        ///
        /// # Safety
        /// As [`join`], with `l` vectors at each pointer.
        $(#[$feature])*
        pub(in crate::bigint::multi_buffer::narrow) unsafe fn add_digits(
            x: *const u64,
            y: *const u64,
            l: usize,
            bits: u32,
            out: *mut u64,
        ) {
            let mask = splat((1u64 << bits) - 1);
            let mut carry = zero();
            for k in 0..l {
                let sum = add(add(unsafe { at(x, k) }, unsafe { at(y, k) }), carry);
                let digit = match k + 1 < l {
                    true => and(sum, mask),
                    false => sum,
                };
                unsafe { store(out.add(super::super::LANES * k), digit) };
                carry = shift_right(sum, bits);
            }
        }
    };
}
