//! Arithmetic modulo N² on two base-N digits, for whoever knows N: the key's owner with N = p
//! or q (encryption and decoding modulo p² and q²), and any encryptor with N = n (public-key
//! encryption modulo n²).
//!
//! A value `X mod N²` is held as two digits `(x0, x1)`, both below N, with
//! `X·R ≡ x0 + N·x1 (mod N²)` and `R = 2^(64·len)` for N's `len` limbs. The product of two such
//! values needs only arithmetic modulo N:
//!
//! ```text
//! x0·y0 + q·N = R·t                   one Montgomery product modulo N, keeping its quotient q;
//!                                     t − s·N is its result (s = 1 when it subtracted N)
//! (XR)(YR) ≡ x0·y0 + N·(x0·y1 + x1·y0)
//!          ≡ R·(t − s·N) + N·(x0·y1 + x1·y0 − q + s·R)                  (mod N²)
//! XY·R     ≡ (t − s·N) + N·((x0·y1 + x1·y0 − q)·R⁻¹ + s mod N)          (mod N²)
//! ```
//!
//! That is a Montgomery product modulo N, two products of N's width and one Montgomery
//! reduction: about `5·len²` limb products where a Montgomery product modulo N² takes `8·len²`
//! (docs/design.md). Like the rest of the engine it runs the same instructions
//! on the same addresses whatever the values: `s` enters the sums as a number, and the high
//! digit is reduced by subtracting N times a count, never by a branch.
//!
//! [`TwoDigit`] implements the engine interface of the exponentiations, so the fixed-base tables
//! (`FixedBaseTable::run_on_root`) and the secret-exponent power ([`TwoDigit::pow_secret`]) run
//! on it where the IFMA engine does not run N².

use zeroize::{Zeroize, ZeroizeOnDrop};

pub(crate) mod ifma;
pub(super) mod steps;

use super::form::Montgomery;
use super::montgomery::MontgomeryModulus;
use super::pow::Arithmetic;

/// The widest N: 128 limbs, n at key_len 4096 (temporaries of about 5 KB on the stack).
const MAX_ROOT_LIMBS: usize = 128;

/// Arithmetic modulo N² through arithmetic modulo N, for whoever knows N (see the module's
/// documentation). Secret when N is a prime factor of the key: every constant is wiped on drop
/// and never printed.
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::{MontgomeryModulus, TwoDigit};
///
/// // A 256-bit odd N (4 limbs) and N².
/// let n = BigUint::parse_bytes(
///     b"f2f5e69b6bba0a1a63d5bf3a9e8d6d0bd1f6c1e5c0a4a2b6c59f1e0b9f7e3a55",
///     16,
/// )
/// .unwrap();
/// let n_squared = &n * &n;
/// let root = MontgomeryModulus::new(&n).unwrap();
/// let square = MontgomeryModulus::new(&n_squared).unwrap();
/// let digits = TwoDigit::new(&square, &root).unwrap();
///
/// // 7^1000 mod N², the exponent read as 10 bits.
/// let base = square.montgomery_of_vartime(&BigUint::from(7u32)).unwrap();
/// let power = square.from_montgomery(&digits.pow_secret(&square, &base, &[1000], 10));
/// let expected = BigUint::from(7u32).modpow(&BigUint::from(1000u32), &n_squared);
/// assert_eq!(square.biguint_of(&power), expected);
/// ```
#[derive(Clone, ZeroizeOnDrop)]
pub struct TwoDigit {
    /// N and its Montgomery constants.
    root: MontgomeryModulus,
    /// The digits of 1.
    one: Vec<u64>,
    /// `R` as an integer of N²'s width: a Montgomery product modulo N² by it divides by R.
    r: Vec<u64>,
    /// `R³ mod N²`: a Montgomery product modulo N² by it turns `X·R` into `X·R²`, N²'s form.
    r_cubed: Vec<u64>,
    /// `N⁻¹ mod R`, for the exact division that splits a value into its digits.
    root_inverse: Vec<u64>,
    /// `N, 2N, 3N, 4N`, `len + 1` limbs each: the high digit of a product is reduced from
    /// below `4N + 1` by comparing with all four at once.
    multiples: Vec<u64>,
}

impl std::fmt::Debug for TwoDigit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoDigit(<redacted>)")
    }
}

impl TwoDigit {
    /// The arithmetic modulo `square` = N² for `root` = N, or `None` where it does not apply:
    /// `square` must have exactly twice N's limbs (then `R² ` is N²'s own Montgomery radix), N
    /// at least 4 limbs and at most `MAX_ROOT_LIMBS`, and `square` must be `root²`.
    pub fn new(square: &MontgomeryModulus, root: &MontgomeryModulus) -> Option<Self> {
        let n = root.len();
        if square.len() != 2 * n || !(4..=MAX_ROOT_LIMBS).contains(&n) {
            return None;
        }
        let mut root_squared = vec![0u64; 2 * n];
        steps::wide_product(
            root.modulus_limbs(),
            root.modulus_limbs(),
            &mut root_squared,
        );
        let matches = super::ct::equal_public(&root_squared, square.modulus_limbs());
        root_squared.zeroize();
        if !matches {
            return None;
        }
        let mut r = vec![0u64; 2 * n];
        r[n] = 1;
        // r_squared of N² is R⁴ mod N²; times R over R² is R³.
        let r_cubed = square.mul_raw(square.r_squared(), &r);
        let mut engine = Self {
            root: root.clone(),
            one: Vec::new(),
            r,
            r_cubed,
            root_inverse: inverse_mod_radix(root),
            multiples: multiples(root.modulus_limbs()),
        };
        engine.one = engine.enter(square, square.one());
        Some(engine)
    }

    /// Whether `root` is this arithmetic's N (the check reveals only whether they are equal).
    pub(crate) fn has_root(&self, root: &MontgomeryModulus) -> bool {
        root.len() == self.root.len()
            && super::ct::equal_public(root.modulus_limbs(), self.root.modulus_limbs())
    }

    /// The digits of a value given in N²'s Montgomery form (`X·R² mod N²`).
    pub(crate) fn enter(&self, square: &MontgomeryModulus, value: &[u64]) -> Vec<u64> {
        // X·R² · R / R² = X·R, below N².
        let mut times_r = square.mul_raw(value, &self.r);
        let digits = self.split(&times_r);
        times_r.zeroize();
        digits
    }

    /// N²'s Montgomery form (`X·R² mod N²`) of a value given by its digits.
    pub(crate) fn leave(&self, square: &MontgomeryModulus, digits: &[u64]) -> Montgomery {
        let n = self.root.len();
        let mut times_r = vec![0u64; 2 * n];
        steps::wide_product(self.root.modulus_limbs(), &digits[n..2 * n], &mut times_r);
        // x0 + N·x1 < N + N·(N − 1) = N², so the sum carries out of no limb of N²'s width.
        let mut carry = 0u64;
        for (i, t) in times_r.iter_mut().enumerate() {
            let addend = if i < n { digits[i] } else { 0 };
            let v = *t as u128 + addend as u128 + carry as u128;
            *t = v as u64;
            carry = (v >> 64) as u64;
        }
        let value = square.mul_raw(&times_r, &self.r_cubed);
        times_r.zeroize();
        Montgomery::from_raw(value)
    }

    /// `base^exponent mod N²` for a SECRET exponent of at most `exponent_bits` bits, base and
    /// result in N²'s Montgomery form: [`MontgomeryModulus::pow_secret`]'s fixed windows and
    /// full-row scans, on digits (the key owner's decryption, `c^(p−1) mod p²`).
    pub fn pow_secret(
        &self,
        square: &MontgomeryModulus,
        base: &Montgomery,
        exponent: &[u64],
        exponent_bits: usize,
    ) -> Montgomery {
        let mut digits = self.enter(square, base.as_limbs());
        let mut power = super::pow::fixed_window_pow(self, &digits, exponent, exponent_bits);
        let result = self.leave(square, &power);
        digits.zeroize();
        power.zeroize();
        result
    }

    /// The digits `(w mod N, w div N)` of `w < N²` (`2·len` limbs), without a branch or a
    /// division: `w mod N` through two Montgomery products, then `w div N` as the exact
    /// quotient `(w − w mod N)·N⁻¹ mod R`.
    fn split(&self, w: &[u64]) -> Vec<u64> {
        let n = self.root.len();
        let (low, high) = w.split_at(n);
        let mut digits = vec![0u64; 2 * n];
        let mut unit = vec![0u64; n];
        unit[0] = 1;
        // low·R⁻¹ + high ≡ w·R⁻¹ (mod N); high = w div R < N.
        let mut sum = self.root.mul_raw(low, &unit);
        let mut carry = 0u64;
        for (s, &h) in sum.iter_mut().zip(high) {
            let v = *s as u128 + h as u128 + carry as u128;
            *s = v as u64;
            carry = (v >> 64) as u64;
        }
        let mut reduced = vec![0u64; n];
        super::final_steps::subtract_once(&sum, carry, self.root.modulus_limbs(), &mut reduced);
        // (w·R⁻¹)·R² · R⁻¹ = w mod N.
        self.root
            .mul_into(&reduced, self.root.r_squared(), &mut digits[..n]);
        // w − w mod N is a multiple of N below N²; its low half times N⁻¹ mod R is the quotient.
        let mut difference = vec![0u64; n];
        let mut borrow = 0u64;
        for ((d, &x), &y) in difference.iter_mut().zip(low).zip(&digits[..n]) {
            let (d1, b1) = x.overflowing_sub(y);
            let (d2, b2) = d1.overflowing_sub(borrow);
            *d = d2;
            borrow = (b1 | b2) as u64;
        }
        let mut wide = vec![0u64; 2 * n];
        steps::wide_product(&difference, &self.root_inverse, &mut wide);
        digits[n..].copy_from_slice(&wide[..n]);
        for buffer in [
            &mut unit,
            &mut sum,
            &mut reduced,
            &mut difference,
            &mut wide,
        ] {
            buffer.zeroize();
        }
        digits
    }
}

impl Arithmetic for TwoDigit {
    fn width(&self) -> usize {
        2 * self.root.len()
    }

    fn one(&self) -> &[u64] {
        &self.one
    }

    fn mul(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        product(self, a, Some(b), out);
    }

    fn square(&self, a: &[u64], out: &mut [u64]) {
        product(self, a, None, out);
    }
}

/// `a·b`, or `a²` when `b` is `None`, in digits (`2·len` limbs each, as [`TwoDigit`] holds
/// them).
fn product(engine: &TwoDigit, a: &[u64], b: Option<&[u64]>, out: &mut [u64]) {
    // Temporaries on the stack, in the smallest of a few sizes (zeroing them is not free).
    match engine.root.len() {
        0..=8 => product_with::<8>(engine, a, b, out),
        9..=16 => product_with::<16>(engine, a, b, out),
        17..=32 => product_with::<32>(engine, a, b, out),
        33..=64 => product_with::<64>(engine, a, b, out),
        _ => product_with::<MAX_ROOT_LIMBS>(engine, a, b, out),
    }
}

/// [`product`] with temporaries of `LIMBS ≥ len` limbs.
#[inline(always)]
fn product_with<const LIMBS: usize>(
    engine: &TwoDigit,
    a: &[u64],
    b: Option<&[u64]>,
    out: &mut [u64],
) {
    let root = &engine.root;
    let n = root.len();
    let m = root.modulus_limbs();
    let (a0, a1) = a.split_at(n);
    let (z0, z1) = out.split_at_mut(n);
    let mut quotient = [0u64; LIMBS];
    let mut sum = [[0u64; LIMBS]; 2];
    let mut other = [[0u64; LIMBS]; 2];
    let quotient = &mut quotient[..n];
    let sum = &mut sum.as_flattened_mut()[..2 * n];
    let other = &mut other.as_flattened_mut()[..2 * n];

    // z0 = t − s·N with x0·y0 + q·N = R·t; then the cross products x0·y1 and x1·y0 (for a
    // square, x0·x1 twice: a quarter of the work saved in the square and half in the cross).
    let subtracted =
        steps::mont_product_with_quotient(a0, b.map(|b| &b[..n]), m, root.m0_inv(), z0, quotient);
    match b {
        Some(b) => {
            let (b0, b1) = b.split_at(n);
            steps::wide_product(a0, b1, sum);
            steps::wide_product(a1, b0, other);
        }
        None => {
            steps::wide_product(a0, a1, sum);
            other.copy_from_slice(sum);
        }
    }
    let top = cross_sum(sum, other, quotient, m, subtracted);
    // Times R⁻¹: ≡ (x0·y1 + x1·y0 − q)·R⁻¹ + s (mod N), and at most 2·N²/R + 1 + 2·N ≤ 4·N.
    let top = steps::reduce_partial(sum, top, m, root.m0_inv());
    high_digit(top, &sum[n..2 * n], &engine.multiples, m, z1);
    quotient.zeroize();
    sum.zeroize();
    other.zeroize();
}

/// `sum += other + (R − q) + (N − 1 + s)·R` over `2·len` limbs (`R − q = !q + 1` for the
/// `len`-limb quotient `q`; `s` is 0 or 1), returning the top limb. The term in `R` is 0 or N
/// modulo N after the reduction by R: it brings in `s` and keeps the sum positive. The sum is
/// below `2·N² + N·R + R`, so the top is at most 3. Never inlined, so that `tools/ct-check`
/// reads its compiled code on its own.
#[inline(never)]
fn cross_sum(sum: &mut [u64], other: &[u64], quotient: &[u64], m: &[u64], subtracted: u64) -> u64 {
    let n = quotient.len();
    let (low, high) = sum.split_at_mut(n);
    let (other_low, other_high) = other.split_at(n);
    let mut carry = 1u64;
    for ((s, &o), &q) in low.iter_mut().zip(other_low).zip(quotient) {
        let v = *s as u128 + o as u128 + !q as u128 + carry as u128;
        *s = v as u64;
        carry = (v >> 64) as u64;
    }
    // N − 1 + s: N is odd, so that is N with bit 0 replaced by s.
    for (i, ((s, &o), &mj)) in high.iter_mut().zip(other_high).zip(m).enumerate() {
        let addend = if i == 0 { (mj & !1) | subtracted } else { mj };
        let v = *s as u128 + o as u128 + addend as u128 + carry as u128;
        *s = v as u64;
        carry = (v >> 64) as u64;
    }
    carry
}

/// `z1 = (top, value) mod N` for `(top, value) ≤ 4·N`: one pass compares the value with N, 2N,
/// 3N and 4N at once (four borrow chains), the count `k` of those it reaches is the quotient,
/// and a second pass subtracts `k·N`. No branch on the values. Never inlined, as
/// [`cross_sum`].
#[inline(never)]
fn high_digit(top: u64, value: &[u64], multiples: &[u64], m: &[u64], z1: &mut [u64]) {
    let n = m.len();
    let mut borrows = [0u64; 4];
    for (i, &x) in value.iter().chain(std::iter::once(&top)).enumerate() {
        for (k, borrow) in borrows.iter_mut().enumerate() {
            let (d1, b1) = x.overflowing_sub(multiples[k * (n + 1) + i]);
            let (_, b2) = d1.overflowing_sub(*borrow);
            *borrow = (b1 | b2) as u64;
        }
    }
    // Each comparison that did not borrow adds one to the quotient (0 to 4).
    let quotient = borrows.iter().map(|b| 1 - b).sum::<u64>();
    let (mut product_carry, mut borrow) = (0u64, 0u64);
    for ((z, &x), &mj) in z1.iter_mut().zip(value).zip(m) {
        let p = mj as u128 * quotient as u128 + product_carry as u128;
        product_carry = (p >> 64) as u64;
        let (d1, b1) = x.overflowing_sub(p as u64);
        let (d2, b2) = d1.overflowing_sub(borrow);
        *z = d2;
        borrow = (b1 | b2) as u64;
    }
    // The result is below N: what was left in the top limb, the product's carry and the
    // borrow cancel, so nothing past `len` limbs needs writing.
}

/// `N, 2N, 3N, 4N` in `len + 1` limbs each.
fn multiples(m: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(4 * (m.len() + 1));
    for k in 1..=4u128 {
        let mut carry = 0u64;
        for &mj in m {
            let v = mj as u128 * k + carry as u128;
            out.push(v as u64);
            carry = (v >> 64) as u64;
        }
        out.push(carry);
    }
    out
}

/// `N⁻¹ mod R` by Newton's iteration `x ← x·(2 − N·x)`, which doubles the correct low bits each
/// time, from `N⁻¹ mod 2^64` (the negation of the modulus's `m0_inv`). A fixed number of rounds
/// for the width: constant-time in N.
pub(crate) fn inverse_mod_radix(root: &MontgomeryModulus) -> Vec<u64> {
    let n = root.len();
    let mut inverse = vec![0u64; n];
    inverse[0] = root.m0_inv().wrapping_neg();
    let mut wide = vec![0u64; 2 * n];
    let mut correct_limbs = 1;
    while correct_limbs < n {
        // t = 2 − N·x mod R, as the two's complement of N·x plus 2.
        steps::wide_product(root.modulus_limbs(), &inverse, &mut wide);
        let mut t: Vec<u64> = wide[..n].iter().map(|&w| !w).collect();
        let mut carry = 3u64; // !y + 1 = −y, and + 2
        for limb in t.iter_mut() {
            let (v, c) = limb.overflowing_add(carry);
            *limb = v;
            carry = c as u64;
        }
        steps::wide_product(&inverse, &t, &mut wide);
        inverse.copy_from_slice(&wide[..n]);
        t.zeroize();
        correct_limbs *= 2;
    }
    wide.zeroize();
    inverse
}

#[cfg(test)]
mod tests;
