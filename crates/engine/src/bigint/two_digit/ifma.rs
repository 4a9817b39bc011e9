//! The two-digit arithmetic modulo N² on the AVX-512 IFMA engine, for a PUBLIC N (n itself):
//! public-key encryption's fixed-base powers and the linear layer's multi-exponentiations,
//! modulo n².
//!
//! Same identity as the module above, in radix 2^52 with `R = 2^(52·L)` for N's `L` limbs
//! (a multiple of 8): a value `X mod N²` is held as digits `(x0, x1)`, both below `2N`, with
//! `X·R ≡ x0 + N·x1 (mod N²)`. One product is two word-serial Montgomery products over the same
//! steps, fused in one loop:
//!
//! ```text
//! t = (x0·y0 + Q·N) / R                        Q = Σ q_i·2^(52i), the first product's quotient
//! A = (x0·y1 + x1·y0 + (R − Q) + Q'·N) / R     Q' making it exact; A ≥ 1
//! XY·R ≡ t + N·(A − 1)              (mod N²)   since A − 1 ≡ (x0·y1 + x1·y0 − Q)·R⁻¹ (mod N)
//! ```
//!
//! Step i adds `q_i`'s complement to the second sum as soon as the first has made it. A product
//! is `L` steps of `10·L/8` IFMA multiply-adds (5 products of a vector by a limb, low and high
//! halves), where a Montgomery product on N²'s `2L` limbs is `2L` steps of `4·2L/8`: 1.6× fewer.
//! A square's cross term is `(2·x0)·x1`, one product: 2× fewer. Bounds: with every digit below
//! `2N` and `32·N ≤ R`, `t < 2N` and `A − 1 < 1.25·N`, so the digits stay below `2N`; no
//! accumulator lane passes `7·2^52·L < 2^64`.
//!
//! The kernel and [`leave`](PublicTwoDigitIfma::leave) have no branch on the values and index
//! nothing by them (`tools/ct-check` reads their compiled code), so secret values may pass
//! through (the noise of public-key encryption). N must be public: the engine is found by a
//! square root in variable time, and values are entered through num-bigint (public ones only:
//! the table entries and the linear layer's ciphertexts).

// `unsafe`: calling the fused kernel, which needs the CPU feature checked at run time
// (`Ifma52::available`), and the vector loads and stores inside it.
#![allow(unsafe_code)]

use num_bigint::BigUint;
use num_traits::One;
use zeroize::Zeroize;

use super::super::convert::{biguint_from_limbs, limbs_from_biguint};
use super::super::form::Montgomery;
use super::super::ifma::{carry_through, from_radix52, reduce_once, to_radix52, Ifma52, MASK52};
use super::super::montgomery::MontgomeryModulus;
use super::super::pow::Arithmetic;
use super::steps;

/// Widest N in vectors of eight 52-bit limbs: n up to 4155 bits (key_len 2048 and below).
const MAX_VECTORS: usize = 10;

/// Arithmetic modulo a public square N² through two digits modulo N on AVX-512 IFMA.
#[derive(Clone, Debug)]
pub(crate) struct PublicTwoDigitIfma {
    /// N in `limbs` 52-bit limbs.
    root52: Vec<u64>,
    /// `-N⁻¹ mod 2^52`.
    k0: u64,
    /// The digits of 1.
    one: Vec<u64>,
    /// N and N² as integers, for entering and leaving.
    root: BigUint,
    square: BigUint,
    /// `R mod N²`.
    r: BigUint,
    /// N in 64-bit limbs.
    root64: Vec<u64>,
    /// `R⁻¹·R64² mod N²` (`R64` N²'s own Montgomery radix): a Montgomery product modulo N² by it
    /// takes `X·R` to `X·R64`, N²'s form.
    into_square_form: Vec<u64>,
}

impl PublicTwoDigitIfma {
    /// The engine for `square` = N² (public), or `None` where the CPU lacks IFMA, the modulus
    /// is not an odd square, or N is too wide.
    pub(crate) fn for_public_square_vartime(square: &MontgomeryModulus) -> Option<Self> {
        if !Ifma52::available() {
            return None;
        }
        let square_value = square.modulus();
        let root = square_value.sqrt();
        if &root * &root != square_value || !root.bit(0) {
            return None;
        }
        // 32·N ≤ R: five spare bits, for the second digit's bound.
        let limbs = ((root.bits() as usize + 5).div_ceil(52)).div_ceil(8) * 8;
        if limbs / 8 > MAX_VECTORS || limbs == 0 {
            return None;
        }
        let r = (BigUint::one() << (52 * limbs)) % &square_value;
        let r_inverse = r.modinv(&square_value)?;
        let r64 = (BigUint::one() << (64 * square.len())) % &square_value;
        let into_square_form = limbs_from_biguint(
            &(&r_inverse * &r64 % &square_value * &r64 % &square_value),
            square.len(),
        )
        .ok()?;
        let root64 = limbs_from_biguint(&root, (root.bits() as usize).div_ceil(64)).ok()?;
        let mut root52 = vec![0u64; limbs];
        to_radix52(&root64, &mut root52);
        // -N⁻¹ mod 2^52 from N⁻¹ mod 2^64 by Newton's iteration (N is odd).
        let n0 = root64[0];
        let mut inverse = 1u64;
        for _ in 0..6 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(n0.wrapping_mul(inverse)));
        }
        let mut engine = Self {
            root52,
            k0: inverse.wrapping_neg() & MASK52,
            one: Vec::new(),
            root,
            square: square_value,
            r,
            root64,
            into_square_form,
        };
        engine.one = engine.digits_of(&engine.r.clone());
        Some(engine)
    }

    /// 52-bit limbs per digit.
    fn limbs(&self) -> usize {
        self.root52.len()
    }

    /// The digits of `y = X·R mod N²`: `(y mod N, y div N)`.
    fn digits_of(&self, y: &BigUint) -> Vec<u64> {
        let limbs = self.limbs();
        let mut digits = vec![0u64; 2 * limbs];
        for (value, out) in [y % &self.root, y / &self.root]
            .iter()
            .zip(digits.chunks_exact_mut(limbs))
        {
            let limbs64 = value.iter_u64_digits().collect::<Vec<_>>();
            to_radix52(&limbs64, out);
        }
        digits
    }

    /// The digits of `x` (radix 2^64, below N², normal form).
    pub(crate) fn enter_vartime(&self, x: &[u64]) -> Vec<u64> {
        self.digits_of(&(biguint_from_limbs(x) * &self.r % &self.square))
    }

    /// N²'s Montgomery form of the value whose digits are `digits`, without a branch on them:
    /// the digits brought below N with the value kept (`x0 − N + N·(x1 + 1)` where `x0 ≥ N`),
    /// `Y = x0 + N·x1 < N²` in radix 2^64, and one Montgomery product modulo N² that divides by
    /// R and enters N²'s form.
    pub(crate) fn leave(&self, square: &MontgomeryModulus, digits: &[u64]) -> Montgomery {
        let limbs = self.limbs();
        let half = self.root64.len();
        let mut parts = [digits[..limbs].to_vec(), digits[limbs..2 * limbs].to_vec()];
        // x1 < 2N to below N (N·N ≡ 0); then x0 < 2N to below N, its N carried into x1 as
        // one, and x1 ≤ N below N again.
        reduce_once(&mut parts[1], &self.root52);
        let carried = reduce_once(&mut parts[0], &self.root52);
        add_to_radix52(&mut parts[1], carried);
        reduce_once(&mut parts[1], &self.root52);
        let mut wide_parts = [vec![0u64; half], vec![0u64; half]];
        for (part, wide) in parts.iter().zip(wide_parts.iter_mut()) {
            from_radix52(part, wide);
        }
        let mut y = vec![0u64; 2 * half];
        steps::wide_product(&self.root64, &wide_parts[1], &mut y);
        add_low_digit(&mut y, &wide_parts[0]);
        // Below N², so the limbs past N²'s width are zero.
        let value = square.mul_raw(&y[..square.len()], &self.into_square_form);
        for buffer in parts.iter_mut().chain(wide_parts.iter_mut()) {
            buffer.zeroize();
        }
        y.zeroize();
        Montgomery::from_raw(value)
    }

    /// The digits of one table entry given in N²'s Montgomery form (public).
    pub(crate) fn enter_montgomery_vartime(
        &self,
        square: &MontgomeryModulus,
        value: &[u64],
    ) -> Vec<u64> {
        self.enter_vartime(&square.from_montgomery(&Montgomery::from_raw(value.to_vec())))
    }
}

impl Arithmetic for PublicTwoDigitIfma {
    fn width(&self) -> usize {
        2 * self.limbs()
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

/// `y += x0` for `y = N·x1`: `x0 + N·x1 ≤ (N − 1) + N·(N − 1) < N²`, so no carry leaves `y`.
/// Never inlined, so that `tools/ct-check` reads its compiled code on its own.
#[inline(never)]
fn add_low_digit(y: &mut [u64], x0: &[u64]) {
    let mut carry = 0u64;
    for (i, limb) in y.iter_mut().enumerate() {
        let addend = x0.get(i).copied().unwrap_or(0);
        let v = *limb as u128 + addend as u128 + carry as u128;
        *limb = v as u64;
        carry = (v >> 64) as u64;
    }
}

/// `x += small` in normalised 52-bit limbs, the carry run through every limb (no branch); the
/// caller knows the sum fits. Never inlined, as [`add_low_digit`].
#[inline(never)]
fn add_to_radix52(x: &mut [u64], small: u64) {
    carry_through(x, small);
}

/// `out = a·b` (or `a²`) in digits.
fn product(engine: &PublicTwoDigitIfma, a: &[u64], b: Option<&[u64]>, out: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        let limbs = engine.limbs();
        let (a0, a1) = a.split_at(limbs);
        let (z0, z1) = out.split_at_mut(limbs);
        let (m, k0) = (&engine.root52[..], engine.k0);
        // For a square the cross term is (2·a0)·a1: one product instead of two.
        let mut twice = [0u64; 8 * MAX_VECTORS];
        let square = b.is_none();
        let (b0, b1) = match b {
            Some(b) => b.split_at(limbs),
            None => {
                double_into(a0, &mut twice[..limbs]);
                (a0, a1)
            }
        };
        macro_rules! call {
            ($($v:literal)*) => {
                match limbs / 8 {
                    $($v => {
                        // SAFETY: engines exist only where the CPU has AVX-512F and IFMA
                        // (`for_public_square_vartime`), and every slice has 8·$v limbs.
                        unsafe {
                            if square {
                                fused::<$v, true>(a0, &twice, b0, b1, m, k0, z0, z1)
                            } else {
                                fused::<$v, false>(a0, a1, b0, b1, m, k0, z0, z1)
                            }
                        }
                    })*
                    _ => {}
                }
            };
        }
        call!(1 2 3 4 5 6 7 8 9 10);
        if square {
            twice.zeroize();
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        // Never constructed off x86-64 (`Ifma52::available` is false there).
        let _ = (engine, a, b, out);
    }
}

/// `out = 2·x` in normalised 52-bit limbs (`x < 2N`, so `2x < 4N < R` fits).
fn double_into(x: &[u64], out: &mut [u64]) {
    let mut carry = 0u64;
    for (o, &limb) in out.iter_mut().zip(x) {
        let v = (limb << 1) | carry;
        carry = v >> 52;
        *o = v & MASK52;
    }
}

/// The fused two-digit product (see the module's documentation), word-serial over `b0`/`b1`:
/// `z0 = (a0·b0 + Q·N)/R`, `z1 = (a0·b1 + c·b0 + R − Q + Q'·N)/R − 1` where `c = a1` for a
/// product. For a square (`SQUARE`), `b0 = a0`, `b1 = a1` and the cross term is `c·b1` alone,
/// with `c = 2·a0`.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
#[allow(clippy::too_many_arguments)]
unsafe fn fused<const V: usize, const SQUARE: bool>(
    a0: &[u64],
    c: &[u64],
    b0: &[u64],
    b1: &[u64],
    m: &[u64],
    k0: u64,
    z0: &mut [u64],
    z1: &mut [u64],
) {
    use crate::bigint::avx512::*;
    let limbs = 8 * V;
    let (a0, c, b0, b1, m) = (
        &a0[..limbs],
        &c[..limbs],
        &b0[..limbs],
        &b1[..limbs],
        &m[..limbs],
    );
    let zero = _mm512_setzero_si512();
    let (mut av, mut cv, mut mv) = ([zero; V], [zero; V], [zero; V]);
    let (mut first, mut second) = ([zero; V], [zero; V]);
    for k in 0..V {
        av[k] = _mm512_loadu_si512(a0[8 * k..].as_ptr().cast());
        cv[k] = _mm512_loadu_si512(c[8 * k..].as_ptr().cast());
        mv[k] = _mm512_loadu_si512(m[8 * k..].as_ptr().cast());
    }
    // The + 1 of R − Q = Σ (2^52 − 1 − q_i)·2^(52i) + 1.
    second[0] = _mm512_maskz_set1_epi64(1, 1);
    for i in 0..limbs {
        let x0 = _mm512_set1_epi64(b0[i] as i64);
        let x1 = _mm512_set1_epi64(b1[i] as i64);
        // c times b0 for a product, times b1 for a square.
        let cross = if SQUARE { x1 } else { x0 };
        for k in 0..V {
            first[k] = _mm512_madd52lo_epu64(first[k], av[k], x0);
            second[k] = _mm512_madd52lo_epu64(second[k], cv[k], cross);
        }
        if !SQUARE {
            for k in 0..V {
                second[k] = _mm512_madd52lo_epu64(second[k], av[k], x1);
            }
        }
        let low = _mm_cvtsi128_si64(_mm512_castsi512_si128(first[0])) as u64;
        let q = low.wrapping_mul(k0) & MASK52;
        let qv = _mm512_set1_epi64(q as i64);
        for k in 0..V {
            first[k] = _mm512_madd52lo_epu64(first[k], mv[k], qv);
        }
        // The second sum's low limb with q_i's complement, then its own quotient.
        let low2 = (_mm_cvtsi128_si64(_mm512_castsi512_si128(second[0])) as u64) + (MASK52 - q);
        second[0] = _mm512_add_epi64(second[0], _mm512_maskz_set1_epi64(1, (MASK52 - q) as i64));
        let q2v = _mm512_set1_epi64((low2.wrapping_mul(k0) & MASK52) as i64);
        for k in 0..V {
            second[k] = _mm512_madd52lo_epu64(second[k], mv[k], q2v);
        }
        // Both low limbs are now multiples of 2^52: keep their carries, drop the limbs.
        drop_low_column(&mut first);
        drop_low_column(&mut second);
        for k in 0..V {
            first[k] = _mm512_madd52hi_epu64(first[k], av[k], x0);
            first[k] = _mm512_madd52hi_epu64(first[k], mv[k], qv);
            second[k] = _mm512_madd52hi_epu64(second[k], cv[k], cross);
            second[k] = _mm512_madd52hi_epu64(second[k], mv[k], q2v);
        }
        if !SQUARE {
            for k in 0..V {
                second[k] = _mm512_madd52hi_epu64(second[k], av[k], x1);
            }
        }
    }
    // Back to 52-bit limbs; z1 takes its − 1 in the same pass (A ≥ 1, so no borrow leaves).
    // Written out twice rather than looped over an array of references: the constant-time
    // check must see every address come from an argument.
    macro_rules! store_normalised {
        ($acc:expr, $out:expr, $start:expr) => {
            for k in 0..V {
                _mm512_storeu_si512($out[8 * k..].as_mut_ptr().cast(), $acc[k]);
            }
            let mut carry: i64 = $start;
            for limb in $out[..limbs].iter_mut() {
                let v = *limb as i64 + carry;
                *limb = (v as u64) & MASK52;
                carry = v >> 52;
            }
        };
    }
    store_normalised!(first, z0, 0);
    store_normalised!(second, z1, -1);
}

#[cfg(test)]
mod tests;
