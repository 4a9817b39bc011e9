//! Eight exponentiations modulo N² at once on two digits modulo N in the narrow lanes, for
//! whoever knows N (the key's owner, with N = p or q): the arithmetic of
//! [`TwoDigitLanes`](crate::bigint::TwoDigitLanes) on CPUs without AVX-512 IFMA.
//!
//! A product modulo N² of `2·L` digits sums `2·(2L)² = 8·L²` digit products (operands and
//! reduction); on two digits of `L` it sums `5·L²` (the low digit `2·L²`, the high one `3·L²`:
//! [`super::digit_kernels`]), and a square `3.5·L²` where N²'s takes `6·L²`.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::super::aligned::Lanes;
use super::super::windows::{self, LaneArithmetic};
use super::super::LANES;
use super::{kernels, radix, NarrowIsa};
use crate::bigint::convert::{limbs_from_biguint, WipedBigUint};

/// The constants of one odd N for eight exponentiations modulo N² at once, on two digits in
/// the narrow lanes. Wiped on drop (N is a prime of the key).
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::{NarrowIsa, NarrowTwoDigitLanes};
///
/// let n = (BigUint::from(1u32) << 1023u32) + 1u32 + (BigUint::from(4321u32) << 500u32);
/// let n_squared = &n * &n;
/// let limbs64 = 32; // N²'s 2048 bits in 64-bit limbs
/// // `None` on a CPU without AVX2.
/// if let Some(lanes) = NarrowTwoDigitLanes::new(&n, limbs64, NarrowIsa::Avx2) {
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
pub struct NarrowTwoDigitLanes {
    /// N's digits, once (the kernels broadcast them).
    root: Vec<u64>,
    /// The digits of `N − 1`: the high digit adds `N·R − q`.
    root_minus_one: Vec<u64>,
    /// N²'s `2·L` digits: the last reductions of a result.
    square: Vec<u64>,
    /// `-N⁻¹ mod 2^bits`.
    k0: u64,
    /// Bits per digit: 28, or 27 for roots past 2,374 bits.
    #[zeroize(skip)]
    bits: u32,
    /// The digits of `R³ mod N²` (`R = 2^(bits·L)`) in every lane: a product by them takes a
    /// split value (`X·R⁻¹` in digits) to this engine's form.
    to_engine: Lanes,
    /// The digits of `R mod N²`: one in this engine's form.
    one: Lanes,
    /// The digits `(1, 0)`: a product by them takes this engine's form back to normal form.
    unit: Lanes,
    /// One, plain, as a value of `L` digits in every lane: the split's Montgomery reduction.
    plain_one: Lanes,
    /// 64-bit limbs of a value modulo N² in normal form.
    limbs64: usize,
    #[zeroize(skip)]
    isa: NarrowIsa,
}

impl std::fmt::Debug for NarrowTwoDigitLanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NarrowTwoDigitLanes({:?}, <redacted>)", self.isa)
    }
}

impl NarrowTwoDigitLanes {
    /// The engine for odd `n > 1` whose square's normal form has `limbs64` limbs, on `isa`, or
    /// `None` where the CPU lacks `isa`, `n` is even, one, or wider than 9,201 bits, or
    /// `limbs64` too few.
    pub fn new(n: &BigUint, limbs64: usize, isa: NarrowIsa) -> Option<Self> {
        if !isa.available() || n.is_even() || *n <= BigUint::one() {
            return None;
        }
        let (bits, digits) = radix::two_digit_radix_for(n.bits() as usize)?;
        let n_squared = WipedBigUint(n * n);
        if limbs64 * 64 < n_squared.bits() as usize {
            return None;
        }
        let to_digits = |x: &BigUint, count: usize| -> Option<Zeroizing<Vec<u64>>> {
            let words = limbs64.max(x.bits().div_ceil(64) as usize);
            let wide = Zeroizing::new(limbs_from_biguint(x, words).ok()?);
            let mut out = Zeroizing::new(vec![0u64; count]);
            radix::to_radix(&wide, bits, &mut out);
            Some(out)
        };
        // Digit vectors of L digits each, every lane the same.
        let in_lanes = |values: &[&BigUint]| -> Option<Lanes> {
            let mut lanes = Lanes::zeroed(values.len() * digits);
            for (k, value) in values.iter().enumerate() {
                let one_lane = to_digits(value, digits)?;
                let vectors = lanes[k * LANES * digits..].chunks_exact_mut(LANES);
                for (vector, &digit) in vectors.zip(one_lane.iter()) {
                    vector.fill(digit);
                }
            }
            Some(lanes)
        };
        // A value modulo N² as its digits `(x mod N, x div N)`.
        let split = |x: &BigUint| -> Option<Lanes> {
            let (high, low) = x.div_rem(n);
            let (low, high) = (WipedBigUint(low), WipedBigUint(high));
            in_lanes(&[&low.0, &high.0])
        };
        let r = WipedBigUint((BigUint::one() << (bits as usize * digits)) % &*n_squared);
        let r_cubed = WipedBigUint(&*r * &*r % &*n_squared * &*r % &*n_squared);
        let root = to_digits(n, digits)?.to_vec();
        let mut root_minus_one = root.clone();
        root_minus_one[0] -= 1;
        let n0 = n.iter_u64_digits().next()?;
        Some(Self {
            square: to_digits(&n_squared, 2 * digits)?.to_vec(),
            k0: super::super::two_digit::inverse_mod_word(n0).wrapping_neg() & ((1 << bits) - 1),
            bits,
            to_engine: split(&r_cubed)?,
            one: split(&r)?,
            unit: split(&BigUint::one())?,
            plain_one: in_lanes(&[&BigUint::one()])?,
            root,
            root_minus_one,
            limbs64,
            isa,
        })
    }

    /// The instruction set it runs on.
    pub fn isa(&self) -> NarrowIsa {
        self.isa
    }

    /// Fewest items of a group worth running here rather than on the portable engine one at a
    /// time (a group costs the same whatever it holds). Timed modulo a 2048-bit p² (key_len
    /// 1024) with a 1024-bit exponent on a Zen 5 class core: a group of eight 1.7 ms on
    /// AVX-512F and 3.4 ms on AVX2, against 0.73 ms an item for the portable two-digit power.
    pub(crate) fn min_items(&self) -> usize {
        match self.isa {
            NarrowIsa::Avx512f => 3,
            NarrowIsa::Avx2 => 5,
            #[cfg(test)]
            NarrowIsa::Emulated => 1,
        }
    }

    /// Digits of N.
    fn digits(&self) -> usize {
        self.root.len()
    }

    /// `bases[i]^exponents[i] mod N²` for the `k ≤ 8` items of `bases` (`k·limbs64` limbs,
    /// normal form, each below N²) into `out` (as long), fully reduced, for SECRET exponents of
    /// at most `exponent_bits` bits: as [`TwoDigitLanes::pow_secret`](crate::bigint::TwoDigitLanes::pow_secret).
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
        let items = bases.len() / self.limbs64;
        assert!(items <= LANES && items > 0 && exponents.len() >= items);
        assert!(out.len() >= items * self.limbs64);
        let mut work = Workspace::new(self.digits());
        let mut split = self.split_lanes(bases, &mut work);
        let acc = windows::pow_secret(self, &mut split, exponents, items, exponent_bits, &mut work);
        self.leave(&acc, &mut work, &mut out[..items * self.limbs64]);
    }

    /// The `k ≤ 8` values of `values` (normal form, below N²) as the digits of `value·R⁻¹`,
    /// lane by lane (one in the unused lanes): with `value = v0 + R·v1`, the Montgomery
    /// reduction `v0 + q·N = R·t` gives `x0 = t + v1` and `x1 = (N·R − q)·R⁻¹`, so that
    /// `x0 + N·x1 ≡ value·R⁻¹ (mod N²)`, each below `2N`.
    fn split_lanes(&self, values: &[u64], work: &mut Workspace) -> Lanes {
        let l = self.digits();
        let mut plain = Lanes::zeroed(2 * l);
        plain[..LANES].fill(1);
        let mut digits = Zeroizing::new(vec![0u64; 2 * l]);
        for (lane, value) in values.chunks_exact(self.limbs64).enumerate() {
            radix::to_radix(value, self.bits, &mut digits);
            for (j, &digit) in digits.iter().enumerate() {
                plain[LANES * j + lane] = digit;
            }
        }
        let mut split = Lanes::zeroed(2 * l);
        let half = LANES * l;
        let (v0, v1) = (plain.as_ptr(), plain[half..].as_ptr());
        let (x0, x1) = (split.as_mut_ptr(), split[half..].as_mut_ptr());
        let (one, t) = (self.plain_one.as_ptr(), work.doubled.as_mut_ptr());
        let (q, q_high) = (work.q.as_mut_ptr(), work.q_high.as_mut_ptr());
        let (m, m1, constants) = (&self.root, &self.root_minus_one, (self.k0, self.bits));
        on_lanes!(self, |k, h| {
            k::mul(v0.add(h), one.add(h), m, constants, q.add(h), t.add(h));
            k::add_digits(t.add(h), v1.add(h), l, self.bits, x0.add(h));
            k::split_high(q.add(h), m, m1, constants, q_high.add(h), x1.add(h));
        });
        split
    }

    /// The values whose digits in this engine's form `acc` holds, in normal form, fully
    /// reduced, into `out` (`limbs64` limbs a lane, as many lanes as it holds): digits with
    /// `x0 + N·x1 ≡ value`, joined (below 4N²), then three subtractions of N² in constant time.
    fn leave(&self, acc: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let l = self.digits();
        let (mut digits, mut wide) = (Lanes::zeroed(2 * l), Lanes::zeroed(2 * l));
        self.mul(acc, &self.unit, work, &mut digits);
        let (x0, x1, w) = (
            digits.as_ptr(),
            digits[LANES * l..].as_ptr(),
            wide.as_mut_ptr(),
        );
        on_lanes!(self, |k, h| k::join(
            x0.add(h),
            x1.add(h),
            &self.root,
            self.bits,
            w.add(h)
        ));
        let mut value = Zeroizing::new(vec![0u64; 2 * l]);
        for (lane, result) in out.chunks_exact_mut(self.limbs64).enumerate() {
            for (j, digit) in value.iter_mut().enumerate() {
                *digit = wide[LANES * j + lane];
            }
            for _ in 0..3 {
                radix::reduce_once(&mut value, &self.square, self.bits);
            }
            radix::from_radix(&value, self.bits, result);
        }
    }
}

impl LaneArithmetic for NarrowTwoDigitLanes {
    type Work = Workspace;

    fn vectors(&self) -> usize {
        2 * self.digits()
    }

    fn one(&self) -> &Lanes {
        &self.one
    }

    fn to_engine(&self) -> &Lanes {
        &self.to_engine
    }

    /// Both digits in one kernel: the low `x0·y0·R⁻¹`, the high from `x0·y1 + x1·y0`.
    fn mul(&self, x: &[u64], y: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let half = LANES * self.digits();
        assert!(x.len() >= 2 * half && y.len() >= 2 * half && out.len() >= 2 * half);
        let (x0, x1) = (x.as_ptr(), x[half..].as_ptr());
        let (y0, y1) = (y.as_ptr(), y[half..].as_ptr());
        let (out0, out1) = (out.as_mut_ptr(), out[half..].as_mut_ptr());
        let (q, q_high) = (work.q.as_mut_ptr(), work.q_high.as_mut_ptr());
        let (m, m1, constants) = (&self.root, &self.root_minus_one, (self.k0, self.bits));
        on_lanes!(self, |k, h| {
            k::mul_digits(
                (x0.add(h), x1.add(h)),
                (y0.add(h), y1.add(h)),
                m,
                m1,
                constants,
                (q.add(h), q_high.add(h)),
                (out0.add(h), out1.add(h)),
            )
        });
    }

    /// The low digit by the narrow squaring's sums, the high one as `(2·x0)·x1`.
    fn square(&self, x: &[u64], work: &mut Workspace, out: &mut [u64]) {
        let l = self.digits();
        let half = LANES * l;
        assert!(x.len() >= 2 * half && out.len() >= 2 * half);
        let (x0, x1) = (x.as_ptr(), x[half..].as_ptr());
        let (out0, out1) = (out.as_mut_ptr(), out[half..].as_mut_ptr());
        let (q, q_high) = (work.q.as_mut_ptr(), work.q_high.as_mut_ptr());
        let doubled = work.doubled.as_mut_ptr();
        let (m, m1, constants) = (&self.root, &self.root_minus_one, (self.k0, self.bits));
        on_lanes!(self, |k, h| {
            k::add_digits(x0.add(h), x0.add(h), l, self.bits, doubled.add(h));
            k::square_digits(
                (x0.add(h), x1.add(h)),
                doubled.add(h),
                m,
                m1,
                constants,
                (q.add(h), q_high.add(h)),
                (out0.add(h), out1.add(h)),
            );
        });
    }

    fn select(&self, table: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
        let vectors = out.len() / LANES;
        assert!(table.len() >= entries * LANES * vectors);
        let (t, d, o) = (table.as_ptr(), digits.as_ptr(), out.as_mut_ptr());
        on_lanes!(self, |k, h| k::select(
            t.add(h),
            entries,
            vectors,
            d.add(h),
            o.add(h)
        ));
    }
}

/// The kernels' scratch: the low digit's quotient, the high digit's, and `2·x0` (or a split's
/// reduction), `L` vectors each; wiped when dropped.
pub(in crate::bigint::multi_buffer) struct Workspace {
    q: Lanes,
    q_high: Lanes,
    doubled: Lanes,
}

impl Workspace {
    fn new(digits: usize) -> Self {
        Self {
            q: Lanes::zeroed(digits),
            q_high: Lanes::zeroed(digits),
            doubled: Lanes::zeroed(digits),
        }
    }
}

#[cfg(test)]
#[path = "two_digit_tests.rs"]
mod tests;
