//! The inner loops of the Montgomery engine: wide products, squares and Montgomery reduction over
//! little-endian `u64` limbs.
//!
//! Everything is written once over slices and marked `#[inline(always)]`; [`mont_mul`] and
//! [`mont_square`] then instantiate it for the widths Paillier uses (`p²` and `n²` of the usual key
//! lengths) with lengths known at compile time, which lets the compiler drop bounds checks and
//! unroll the carry chains. Other widths take the same code with run-time lengths. On CPUs with
//! BMI2 and ADX the products and squares run as assembly instead (`adx.rs`), about twice as fast.
//!
//! Nothing here branches on or indexes by the values: the running time depends only on the width.

use zeroize::Zeroize;

use super::adx;
use super::final_steps::{double_and_add_squares, subtract_once};

/// Widths (in limbs) compiled with a constant length: `p²` and `n²` for key_len 256 to 4096.
/// Any other width works through the run-time-length path.
macro_rules! for_each_fixed_width {
    ($n:expr, $call:ident, $fallback:expr) => {
        match $n {
            4 => $call!(4),
            8 => $call!(8),
            12 => $call!(12),
            16 => $call!(16),
            24 => $call!(24),
            32 => $call!(32),
            48 => $call!(48),
            64 => $call!(64),
            96 => $call!(96),
            128 => $call!(128),
            _ => $fallback,
        }
    };
}

/// Widths up to this many limbs keep the double-width temporary on the stack in the fallback.
const MAX_STACK_LIMBS: usize = 128;

/// `out = a·b·R⁻¹ mod m` for `a, b < m`, `R = 2^(64·len)`. `m0_inv` is `-m⁻¹ mod 2^64`.
/// All slices have the same length; `out` may not alias the inputs.
///
/// Three copies, picked by the CPU and the width only, all constant-time in the values: the
/// assembly product of `adx.rs` where the CPU has BMI2 and ADX and the width is a multiple of 4
/// limbs; else this code compiled for BMI2 (`mulx`, a multiply that leaves the flags alone)
/// where the CPU has it; else this code as the build targets.
pub(crate) fn mont_mul(a: &[u64], b: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    if adx::available() && adx::width_supported(m.len()) {
        mont_mul_adx(a, b, m, m0_inv, out);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("bmi2") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has BMI2, checked just above.
        unsafe {
            mont_mul_bmi2(a, b, m, m0_inv, out)
        };
        return;
    }
    mont_mul_any(a, b, m, m0_inv, out);
}

/// [`mont_mul`] compiled for BMI2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn mont_mul_bmi2(a: &[u64], b: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    mont_mul_any(a, b, m, m0_inv, out);
}

/// [`mont_mul`] for whatever the build targets.
#[inline(always)]
fn mont_mul_any(a: &[u64], b: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    macro_rules! fixed {
        ($w:literal) => {{
            let mut wide = [[0u64; $w]; 2];
            let wide = wide.as_flattened_mut();
            mul_wide(&a[..$w], &b[..$w], wide);
            reduce(wide, &m[..$w], m0_inv, &mut out[..$w]);
            wide.zeroize();
        }};
    }
    for_each_fixed_width!(m.len(), fixed, {
        with_wide_buffer(m.len(), |wide| {
            mul_wide(a, b, wide);
            reduce(wide, m, m0_inv, out);
        })
    })
}

/// `out = a²·R⁻¹ mod m` for `a < m`: about a quarter fewer limb products than [`mont_mul`].
/// The same three copies as [`mont_mul`] (the assembly square of `adx.rs` first).
pub(crate) fn mont_square(a: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    if adx::available() && adx::width_supported(m.len()) {
        mont_square_adx(a, m, m0_inv, out);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("bmi2") {
        #[allow(unsafe_code)]
        // SAFETY: the CPU has BMI2, checked just above.
        unsafe {
            mont_square_bmi2(a, m, m0_inv, out)
        };
        return;
    }
    mont_square_any(a, m, m0_inv, out);
}

/// [`mont_square`] compiled for BMI2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2")]
fn mont_square_bmi2(a: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    mont_square_any(a, m, m0_inv, out);
}

/// [`mont_square`] for whatever the build targets.
#[inline(always)]
fn mont_square_any(a: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    macro_rules! fixed {
        ($w:literal) => {{
            let mut wide = [[0u64; $w]; 2];
            let wide = wide.as_flattened_mut();
            square_wide(&a[..$w], wide);
            reduce(wide, &m[..$w], m0_inv, &mut out[..$w]);
            wide.zeroize();
        }};
    }
    for_each_fixed_width!(m.len(), fixed, {
        with_wide_buffer(m.len(), |wide| {
            square_wide(a, wide);
            reduce(wide, m, m0_inv, out);
        })
    })
}

/// [`mont_mul`] through [`adx::mont_mul`], with its scratch on the stack and wiped after.
/// The caller checked [`adx::available`] and [`adx::width_supported`].
fn mont_mul_adx(a: &[u64], b: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    let n = m.len();
    with_wide_buffer(n, |wide| {
        #[allow(unsafe_code)]
        // SAFETY: the caller checked that the CPU has BMI2 and ADX and that n suits the row;
        // every operand is sliced to n limbs and the scratch has 2·n.
        unsafe {
            adx::mont_mul(&a[..n], &b[..n], m, m0_inv, wide, &mut out[..n])
        }
    })
}

/// [`mont_square`] through [`adx::mont_square`], as [`mont_mul_adx`].
fn mont_square_adx(a: &[u64], m: &[u64], m0_inv: u64, out: &mut [u64]) {
    let n = m.len();
    with_wide_buffer(n, |wide| {
        #[allow(unsafe_code)]
        // SAFETY: as in `mont_mul_adx`.
        unsafe {
            adx::mont_square(&a[..n], m, m0_inv, wide, &mut out[..n])
        }
    })
}

/// Runs `f` with a zeroed `2·len`-limb buffer (on the stack up to [`MAX_STACK_LIMBS`], in the
/// smallest of a few sizes: zeroing a buffer for the widest modulus before every product of a
/// narrow one cost a tenth of the product) and wipes it after.
pub(super) fn with_wide_buffer(len: usize, f: impl FnOnce(&mut [u64])) {
    fn on_stack<const WIDE: usize>(len: usize, f: impl FnOnce(&mut [u64])) {
        let mut stack = [0u64; WIDE];
        f(&mut stack[..2 * len]);
        stack[..2 * len].zeroize(); // the rest was never written
    }
    match len {
        0..=16 => on_stack::<32>(len, f),
        17..=32 => on_stack::<64>(len, f),
        33..=64 => on_stack::<128>(len, f),
        65..=MAX_STACK_LIMBS => on_stack::<{ 2 * MAX_STACK_LIMBS }>(len, f),
        _ => {
            let mut heap = vec![0u64; 2 * len];
            f(&mut heap);
            heap.zeroize();
        }
    }
}

/// `wide = a·b`, the full double-width product of two equal-length values (`wide` has at least
/// `2·len` limbs; its first `2·len` are overwritten).
#[inline(always)]
pub(crate) fn mul_wide(a: &[u64], b: &[u64], wide: &mut [u64]) {
    let n = a.len();
    let (wide, _) = wide.split_at_mut(2 * n);
    wide[..n].fill(0);
    for (i, &bi) in b[..n].iter().enumerate() {
        let mut carry = 0u64;
        let row = &mut wide[i..i + n];
        for (t, &aj) in row.iter_mut().zip(&a[..n]) {
            let v = *t as u128 + (aj as u128) * (bi as u128) + carry as u128;
            *t = v as u64;
            carry = (v >> 64) as u64;
        }
        wide[i + n] = carry;
    }
}

/// `wide = a²`: the off-diagonal products once, doubled, plus the diagonal squares.
#[inline(always)]
pub(super) fn square_wide(a: &[u64], wide: &mut [u64]) {
    let n = a.len();
    let (wide, _) = wide.split_at_mut(2 * n);
    wide.fill(0);
    // Off-diagonal: sum over i < j of a[i]·a[j]·2^(64(i+j)).
    for i in 0..n {
        let ai = a[i] as u128;
        let mut carry = 0u64;
        let row = &mut wide[2 * i + 1..i + n];
        for (t, &aj) in row.iter_mut().zip(&a[i + 1..n]) {
            let v = *t as u128 + ai * (aj as u128) + carry as u128;
            *t = v as u64;
            carry = (v >> 64) as u64;
        }
        wide[i + n] = carry;
    }
    double_and_add_squares(a, wide);
}

/// Montgomery reduction: `out = wide·R⁻¹ mod m` for `wide < m·R` (true of a product of two
/// values below `m`). Destroys `wide`. Returns [`subtract_once`]'s flag.
#[inline(always)]
fn reduce(wide: &mut [u64], m: &[u64], m0_inv: u64, out: &mut [u64]) -> u64 {
    let n = m.len();
    let top_carry = reduce_rows(wide, m, m0_inv, None);
    subtract_once(&wide[n..2 * n], top_carry, m, out)
}

/// The rows of a Montgomery reduction, without the final subtraction: adds `q·m` to the
/// `2·len`-limb `wide` so that its low half becomes zero and returns the carry out of the top,
/// so that `(carry, wide[len..2·len]) = (wide + q·m)/R`. Writes `q` to `quotient` when given.
#[inline(always)]
pub(super) fn reduce_rows(
    wide: &mut [u64],
    m: &[u64],
    m0_inv: u64,
    mut quotient: Option<&mut [u64]>,
) -> u64 {
    let n = m.len();
    let (wide, _) = wide.split_at_mut(2 * n);
    let mut top_carry = 0u64;
    for i in 0..n {
        let q = wide[i].wrapping_mul(m0_inv);
        if let Some(quotient) = quotient.as_deref_mut() {
            quotient[i] = q;
        }
        let mut carry = 0u64;
        let row = &mut wide[i..i + n];
        for (t, &mj) in row.iter_mut().zip(&m[..n]) {
            let v = *t as u128 + (q as u128) * (mj as u128) + carry as u128;
            *t = v as u64;
            carry = (v >> 64) as u64;
        }
        let v = wide[i + n] as u128 + carry as u128 + top_carry as u128;
        wide[i + n] = v as u64;
        top_carry = (v >> 64) as u64;
    }
    top_carry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_matches_multiplication_at_every_width() {
        // Includes the all-ones pattern, which exercises every carry.
        for n in [1usize, 2, 3, 4, 5, 8, 16, 17, 32, 64] {
            for pattern in [u64::MAX, 0x8000_0000_0000_0001, 0x1234_5678_9abc_def0] {
                let a: Vec<u64> = (0..n).map(|i| pattern.rotate_left(i as u32)).collect();
                let mut by_mul = vec![0u64; 2 * n];
                let mut by_square = vec![1u64; 2 * n];
                mul_wide(&a, &a, &mut by_mul);
                square_wide(&a, &mut by_square);
                assert_eq!(by_mul, by_square, "width {n}");
            }
        }
    }
}
