//! The last steps of a Montgomery product, shared by the portable loops (`limbs.rs`) and the
//! assembly (`adx.rs`): doubling a square's cross products, and the final conditional
//! subtraction. Neither branches on or indexes by the values.

use super::ct;

/// The end of a square: `wide = 2·wide + Σ a[i]²·2^(128i)`, where `wide` holds the off-diagonal
/// products once. Doubles (shifts left by one bit) and adds the squares in one pass.
#[inline(always)]
pub(super) fn double_and_add_squares(a: &[u64], wide: &mut [u64]) {
    let n = a.len();
    let mut shifted_out = 0u64;
    let mut carry = 0u64;
    for i in 0..n {
        let lo = wide[2 * i];
        let hi = wide[2 * i + 1];
        let d_lo = (lo << 1) | shifted_out;
        let d_hi = (hi << 1) | (lo >> 63);
        shifted_out = hi >> 63;
        let sq = (a[i] as u128) * (a[i] as u128);
        let v = d_lo as u128 + (sq as u64) as u128 + carry as u128;
        wide[2 * i] = v as u64;
        let v = d_hi as u128 + (sq >> 64) + (v >> 64);
        wide[2 * i + 1] = v as u64;
        carry = (v >> 64) as u64;
    }
    // a² < 2^(128n), so nothing is left in `shifted_out` or `carry`.
}

/// `out = (top_carry, high) mod m` for a value below `2m`: subtracts `m` once and keeps whichever
/// is reduced, without a branch (the end of every Montgomery reduction). Returns 1 when `m` was
/// subtracted, 0 when not (a value, never a branch).
#[inline(always)]
pub(super) fn subtract_once(high: &[u64], top_carry: u64, m: &[u64], out: &mut [u64]) -> u64 {
    let n = m.len();
    let high = &high[..n];
    let mut borrow = 0u64;
    for ((o, &h), &mj) in out[..n].iter_mut().zip(high).zip(&m[..n]) {
        let (d1, b1) = h.overflowing_sub(mj);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *o = d2;
        borrow = (b1 | b2) as u64;
    }
    // The true value is below m exactly when the subtraction borrowed past the top carry
    // (both are 0 or 1): keep the high half then.
    let keep_high = ct::bit_mask(borrow & !top_carry);
    ct::conditional_assign(keep_high, &mut out[..n], high);
    !keep_high & 1
}
