//! The limb-level steps of the two-digit product: a Montgomery product and square that keep
//! their quotient, a wide product and the rows of a reduction, each through the assembly of
//! `adx.rs` where the CPU and the width allow and the compiled loops of `limbs.rs` elsewhere.

use crate::bigint::adx;
use crate::bigint::final_steps::subtract_once;
use crate::bigint::limbs::{mul_wide, reduce_rows, square_wide, with_wide_buffer};

/// [`mont_mul`](crate::bigint::limbs::mont_mul) of `a` and `b`, or the square of `a` when `b`
/// is `None`, that also writes the Montgomery quotient `q` (`len` limbs, with `a·b + q·m =
/// R·t`) and returns 1 when `out = t − m`, 0 when `out = t`: what the two-digit arithmetic
/// needs besides the product. `quotient` has `len` limbs.
pub(crate) fn mont_product_with_quotient(
    a: &[u64],
    b: Option<&[u64]>,
    m: &[u64],
    m0_inv: u64,
    out: &mut [u64],
    quotient: &mut [u64],
) -> u64 {
    let n = m.len();
    let mut subtracted = 0;
    with_wide_buffer(n, |wide| {
        if adx::available() && adx::width_supported(n) {
            #[allow(unsafe_code)]
            // SAFETY: BMI2, ADX and the width were checked just above; every operand is sliced
            // to n limbs, the scratch has 2·n and the quotient n.
            unsafe {
                subtracted = adx::mont_product_with_quotient(
                    &a[..n],
                    b.map(|b| &b[..n]),
                    m,
                    m0_inv,
                    wide,
                    &mut out[..n],
                    &mut quotient[..n],
                )
            };
        } else {
            match b {
                Some(b) => mul_wide(&a[..n], &b[..n], wide),
                None => square_wide(&a[..n], wide),
            }
            let top_carry = reduce_rows(wide, m, m0_inv, Some(&mut quotient[..n]));
            subtracted = subtract_once(&wide[n..2 * n], top_carry, m, &mut out[..n]);
        }
    });
    subtracted
}

/// `wide = a·b` (`2·len` limbs of `wide` overwritten), through the assembly row where the CPU
/// and the width allow.
pub(crate) fn wide_product(a: &[u64], b: &[u64], wide: &mut [u64]) {
    let n = a.len();
    if adx::available() && adx::width_supported(n) {
        #[allow(unsafe_code)]
        // SAFETY: BMI2, ADX and the width were checked just above; `b` and `wide` are sliced.
        unsafe {
            adx::wide_product(a, &b[..n], &mut wide[..2 * n])
        };
    } else {
        mul_wide(a, &b[..n], wide);
    }
}

/// The rows of a Montgomery reduction of `top_in·R² + wide` (`wide` of `2·len` limbs, `len` the
/// width of `m`) with no final subtraction: afterwards `(returned, wide[len..2·len]) =
/// (top_in·R² + wide + q·m)/R`, which is below `top_in·R + wide/R + m`.
pub(crate) fn reduce_partial(wide: &mut [u64], top_in: u64, m: &[u64], m0_inv: u64) -> u64 {
    let n = m.len();
    if adx::available() && adx::width_supported(n) {
        #[allow(unsafe_code)]
        // SAFETY: BMI2, ADX and the width were checked just above; `wide` is sliced to 2·n.
        unsafe {
            adx::reduce_partial(&mut wide[..2 * n], top_in, m, m0_inv)
        }
    } else {
        reduce_rows(wide, m, m0_inv, None) + top_in
    }
}
