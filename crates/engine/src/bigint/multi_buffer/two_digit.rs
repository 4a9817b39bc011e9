//! Eight exponentiations modulo N² on two base-N digits: the multi-buffer engine's lanes with
//! the arithmetic of [`TwoDigit`](crate::bigint::TwoDigit), for whoever knows N (the key's
//! owner, with N = p or q).
//!
//! A value `X mod N²` is held as two digits `(x0, x1)` of N's width, with
//! `X·R ≡ x0 + N·x1 (mod N²)` for `R = 2^(52·L)`, each digit below `3N`. With an almost
//! Montgomery product modulo N that keeps its quotient, `x0·y0 + q·N = R·t`, so
//!
//! ```text
//! XY·R ≡ t + N·((x0·y1 + x1·y0 − q)·R⁻¹ mod N)     (mod N²)
//! ```
//!
//! one product modulo N for the low digit, two products of N's width and one reduction for the
//! high one: `5·L²` limb products where a product modulo N² takes `8·L²`, and `3.5·L²` for a
//! square where N²'s takes `6·L²`. The digits stay below `3N` when `64·N < R`, which the width
//! guarantees.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::aligned::Lanes;
use super::windows::{self, LaneArithmetic};
#[cfg(target_arch = "x86_64")]
use super::{digit_kernels, resident_kernels};
use super::{LANES, ROWS};
use crate::bigint::convert::{limbs_from_biguint, WipedBigUint};
use crate::bigint::ifma::{from_radix52, reduce_once, to_radix52, Ifma52, MASK52};

mod fixed_base;
mod products_of_powers;

/// Most 52-bit limbs of N: N² up to the multi-buffer engine's widest modulus.
const MAX_ROOT_LIMBS: usize = 80;

/// The constants of one odd N for eight exponentiations modulo N² at once, on two digits. Wiped
/// on drop (N is a prime of the key).
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::TwoDigitLanes;
///
/// let n = (BigUint::from(1u32) << 1023u32) + 1u32 + (BigUint::from(4321u32) << 500u32);
/// let n_squared = &n * &n;
/// let limbs64 = 32; // N²'s 2048 bits in 64-bit limbs
/// // `None` on a CPU without AVX-512 IFMA.
/// if let Some(lanes) = TwoDigitLanes::new(&n, limbs64) {
///     let mut bases = vec![0u64; 3 * limbs64];
///     for (i, base) in bases.chunks_exact_mut(limbs64).enumerate() {
///         base[0] = i as u64 + 2;
///     }
///     let mut out = vec![0u64; bases.len()];
///     lanes.pow_secret(&bases, &[&[1000u64][..]; 3], 10, &mut out);
///     let digits: Vec<u32> = out[2 * limbs64..]
///         .iter()
///         .flat_map(|&w| [w as u32, (w >> 32) as u32])
///         .collect();
///     let expected = BigUint::from(4u32).modpow(&BigUint::from(1000u32), &n_squared);
///     assert_eq!(BigUint::from_slice(&digits), expected);
/// }
/// ```
#[derive(Clone, ZeroizeOnDrop)]
pub struct TwoDigitLanes {
    /// N's 52-bit limbs, once (the kernels broadcast them).
    root: Vec<u64>,
    /// The limbs of `N − 1`: the high digit adds `N·R − q`.
    root_minus_one: Vec<u64>,
    /// N² in `2·L` limbs of 52 bits: the last reductions of a result.
    square: Vec<u64>,
    /// `-N⁻¹ mod 2^52`.
    k0: u64,
    /// The digits of `R³ mod N²` in every lane: a product by them takes a split value (`X·R⁻¹`
    /// in digits) to this engine's form.
    to_engine: Lanes,
    /// The digits of `R mod N²`: one in this engine's form.
    one: Lanes,
    /// The digits `(1, 0)`: a product by them takes this engine's form back to normal form.
    unit: Lanes,
    /// 64-bit limbs of a value modulo N² in normal form.
    limbs64: usize,
}

impl std::fmt::Debug for TwoDigitLanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwoDigitLanes(<redacted>)")
    }
}

/// `n⁻¹ mod 2^64` for odd `n`, by Newton's iteration (each step doubles the correct bits).
pub(super) fn inverse_mod_word(n: u64) -> u64 {
    let mut inverse = 1u64;
    for _ in 0..6 {
        inverse = inverse.wrapping_mul(2u64.wrapping_sub(n.wrapping_mul(inverse)));
    }
    inverse
}

impl TwoDigitLanes {
    /// The engine for odd `n > 1` whose square's normal form has `limbs64` limbs, or `None`
    /// where the CPU lacks AVX-512 IFMA, `n` is even or too wide, or `limbs64` too few. (The
    /// library's own operations take it where `engine.rs` picks it.)
    pub fn new(n: &BigUint, limbs64: usize) -> Option<Self> {
        if !Ifma52::available() || n.is_even() || *n <= BigUint::one() {
            return None;
        }
        // 64·N < 2^(52·L): six spare bits keep the digits below 3N; whole blocks of rows.
        let limbs = (n.bits() as usize + 6).div_ceil(52).div_ceil(ROWS) * ROWS;
        let n_squared = WipedBigUint(n * n);
        if limbs > MAX_ROOT_LIMBS || limbs64 * 64 < n_squared.bits() as usize {
            return None;
        }
        let radix52 = |x: &BigUint, count: usize| -> Option<Vec<u64>> {
            let wide = Zeroizing::new(limbs_from_biguint(x, limbs64).ok()?);
            let mut limbs = vec![0u64; count];
            to_radix52(&wide, &mut limbs);
            Some(limbs)
        };
        // A value modulo N² as its digits `(x mod N, x div N)` in every lane.
        let digits_in_lanes = |x: &BigUint| -> Option<Lanes> {
            let (high, low) = x.div_rem(n);
            let (low, high) = (WipedBigUint(low), WipedBigUint(high));
            let mut lanes = Lanes::zeroed(2 * limbs);
            for (digit, value) in [&*low, &*high].into_iter().enumerate() {
                let digit_limbs = Zeroizing::new(radix52(value, limbs)?);
                let vectors = lanes[digit * LANES * limbs..].chunks_exact_mut(LANES);
                for (vector, &limb) in vectors.zip(digit_limbs.iter()) {
                    vector.fill(limb);
                }
            }
            Some(lanes)
        };
        let r = WipedBigUint((BigUint::one() << (52 * limbs)) % &*n_squared);
        let r_cubed = WipedBigUint(&*r * &*r % &*n_squared * &*r % &*n_squared);
        let root = radix52(n, limbs)?;
        let mut root_minus_one = root.clone();
        root_minus_one[0] -= 1;
        let k0 = inverse_mod_word(n.iter_u64_digits().next()?).wrapping_neg() & MASK52;
        Some(Self {
            square: radix52(&n_squared, 2 * limbs)?,
            to_engine: digits_in_lanes(&r_cubed)?,
            one: digits_in_lanes(&r)?,
            unit: digits_in_lanes(&BigUint::one())?,
            root,
            root_minus_one,
            k0,
            limbs64,
        })
    }

    /// 52-bit limbs of a digit.
    fn limbs(&self) -> usize {
        self.root.len()
    }

    /// `bases[i]^exponents[i] mod N²` for the `k ≤ 8` items of `bases` (`k·limbs64` limbs,
    /// normal form, each below N²) into `out` (as long), fully reduced, for SECRET exponents of
    /// at most `exponent_bits` bits: fixed 4-bit windows, each lane's table entry chosen by a
    /// full scan. Lanes past `k` compute one to the first exponent's power. The instructions
    /// and addresses depend on nothing but `k`, the width and `exponent_bits`.
    ///
    /// # Panics
    /// Where `bases` holds no item or more than eight, or `exponents` or `out` fewer.
    pub fn pow_secret(
        &self,
        bases: &[u64],
        exponents: &[&[u64]],
        exponent_bits: usize,
        out: &mut [u64],
    ) {
        let l = self.limbs();
        let items = bases.len() / self.limbs64;
        assert!(items <= LANES && items > 0 && exponents.len() >= items);
        assert!(out.len() >= items * self.limbs64);
        let mut work = Workspace::new(l);
        let mut split = self.split_lanes(bases, &mut work);
        let acc = windows::pow_secret(self, &mut split, exponents, items, exponent_bits, &mut work);
        self.leave(&acc, &mut work, &mut out[..items * self.limbs64]);
    }

    /// The `k ≤ 8` values of `values` (normal form, `limbs64` each, below N²) as the digits of
    /// `value·R⁻¹`, lane by lane (one in the unused lanes).
    fn split_lanes(&self, values: &[u64], work: &mut Workspace) -> Lanes {
        let l = self.limbs();
        let mut wide = Lanes::zeroed(2 * l);
        wide[..LANES].fill(1);
        let mut limbs = Zeroizing::new(vec![0u64; 2 * l]);
        for (lane, value) in values.chunks_exact(self.limbs64).enumerate() {
            to_radix52(value, &mut limbs);
            for (j, &limb) in limbs.iter().enumerate() {
                wide[LANES * j + lane] = limb;
            }
        }
        let mut digits = Lanes::zeroed(2 * l);
        self.split(&wide, work, &mut digits);
        digits
    }

    /// The values whose digits in this engine's form `acc` holds, in normal form, fully
    /// reduced, into `out` (`limbs64` limbs a lane, as many lanes as it holds): digits with
    /// `x0 + N·x1 ≡ value`, joined (below 4N²), then three masked subtractions of N².
    fn leave(&self, acc: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let l = self.limbs();
        let (mut digits, mut wide) = (Lanes::zeroed(2 * l), Lanes::zeroed(2 * l));
        self.mul(acc, &self.unit, work, &mut digits);
        self.join(&digits, work, &mut wide);
        let mut limbs = Zeroizing::new(vec![0u64; 2 * l]);
        for (lane, result) in out.chunks_exact_mut(self.limbs64).enumerate() {
            for (j, limb) in limbs.iter_mut().enumerate() {
                *limb = wide[LANES * j + lane];
            }
            for _ in 0..3 {
                reduce_once(&mut limbs, &self.square);
            }
            from_radix52(&limbs, result);
        }
    }

    /// The digits of `x·R⁻¹` for values `x` below N² in `2·L` limbs.
    #[allow(unsafe_code)]
    fn split(&self, x: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let out = out.split_at_mut(LANES * self.limbs());
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `mul`.
        unsafe {
            digit_kernels::split(
                x,
                &self.root,
                &self.root_minus_one,
                self.k0,
                &mut work.columns,
                out.0,
                out.1,
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (x, out, work);
    }

    /// `x0 + N·x1` for digits `x` into `2·L` limbs.
    #[allow(unsafe_code)]
    fn join(&self, x: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let (x0, x1) = x.split_at(LANES * self.limbs());
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `mul`.
        unsafe {
            digit_kernels::join(x0, x1, &self.root, &mut work.columns, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (x0, x1, work, out);
    }
}

impl LaneArithmetic for TwoDigitLanes {
    type Work = Workspace;

    fn vectors(&self) -> usize {
        2 * self.limbs()
    }

    fn one(&self) -> &Lanes {
        &self.one
    }

    fn to_engine(&self) -> &Lanes {
        &self.to_engine
    }

    /// The product of two values in digits (`2·L` vectors each) into `out`.
    #[allow(unsafe_code)]
    fn mul(&self, x: &[u64], y: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let half = LANES * self.limbs();
        let (x, y, out) = (x.split_at(half), y.split_at(half), out.split_at_mut(half));
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` returns an engine only where the CPU has AVX-512F and IFMA; the kernels
        // check the lengths.
        unsafe {
            let kernel = if resident_kernels::serves(self.limbs()) {
                resident_kernels::mul
            } else {
                digit_kernels::mul
            };
            kernel(
                x.0,
                x.1,
                y.0,
                y.1,
                &self.root,
                &self.root_minus_one,
                self.k0,
                &mut work.columns,
                out.0,
                out.1,
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (x, y, out, work);
    }

    /// The square of a value in digits into `out`.
    #[allow(unsafe_code)]
    fn square(&self, x: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let half = LANES * self.limbs();
        let (x, out) = (x.split_at(half), out.split_at_mut(half));
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `mul`.
        unsafe {
            let kernel = if resident_kernels::serves(self.limbs()) {
                resident_kernels::square
            } else {
                digit_kernels::square
            };
            kernel(
                x.0,
                x.1,
                &self.root,
                &self.root_minus_one,
                self.k0,
                &mut work.columns,
                out.0,
                out.1,
            )
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (x, out, work);
    }
}

/// The kernels' column accumulators (the low digit's and the high digit's), wiped when dropped.
pub(super) struct Workspace {
    columns: Lanes,
}

impl Workspace {
    fn new(limbs: usize) -> Self {
        Self {
            columns: Lanes::zeroed(4 * limbs),
        }
    }
}
