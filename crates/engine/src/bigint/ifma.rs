//! Montgomery arithmetic in radix 2^52 on AVX-512 IFMA (`vpmadd52luq` / `vpmadd52huq`).
//!
//! IFMA multiplies eight pairs of 52-bit limbs per instruction and accumulates into 64-bit lanes,
//! so a product needs no carry chain until the end: this is the "almost Montgomery
//! multiplication" (AMM) of Gueron and Krasnov, "Accelerating big integer arithmetic using Intel
//! IFMA extensions" (ARITH 2016), also used by OpenSSL's RSAZ-AVX512 code.
//!
//! * Values have `L` limbs of 52 bits, `L` a multiple of 8 with `4m < R52 = 2^(52·L)`; AMM takes
//!   inputs below `2m` and returns `a·b·R52⁻¹ mod m`, also below `2m` (never fully reduced until
//!   the exit conversion).
//! * The public API of [`MontgomeryModulus`](super::MontgomeryModulus) keeps the radix-2^64
//!   Montgomery form (`x·R64`); exponentiations convert into this engine's form once at entry
//!   (one AMM by `R52²·R64⁻¹`) and out once at exit (one AMM by `R64`), so callers and the GPU see
//!   the same values whichever engine ran.
//! * Like the portable engine, nothing here branches on or indexes by the values.

// The one place with `unsafe`: calling the IFMA kernel, which needs the CPU feature checked at
// run time (`Ifma52::new`), and the vector loads and stores inside it.
#![allow(unsafe_code)]

use num_bigint::BigUint;
use num_traits::One;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::convert::limbs_from_biguint;
use super::ct;

pub(crate) const MASK52: u64 = (1 << 52) - 1;

/// Most 512-bit vectors per value: 160 limbs, moduli up to 8318 bits.
const MAX_VECTORS: usize = 20;

/// Widest values (in vectors of eight limbs) whose products [`Ifma52::mul_pair`] interleaves.
const MAX_PAIRED_VECTORS: usize = 8;

/// The radix-2^52 constants of one odd modulus.
#[derive(Clone, ZeroizeOnDrop)]
pub(crate) struct Ifma52 {
    /// 52-bit limbs of the modulus, `limbs` of them.
    modulus: Vec<u64>,
    /// `-m⁻¹ mod 2^52`.
    k0: u64,
    /// `R52²·R64⁻¹ mod m`: AMM by it takes `x·R64` to `x·R52`.
    into_engine: Vec<u64>,
    /// `R64 mod m`: AMM by it takes `x·R52` back to `x·R64`.
    out_of_engine: Vec<u64>,
    /// `R52 mod m`: one in this engine's form.
    one: Vec<u64>,
    /// Limbs of the radix-2^64 form (to convert back).
    limbs64: usize,
}

impl Ifma52 {
    /// The engine for odd `m` of `limbs64` 64-bit limbs with inverse `m0_inv = -m⁻¹ mod 2^64`,
    /// or `None` where the CPU lacks AVX-512 IFMA or the width is out of range.
    pub(crate) fn new(m: &BigUint, limbs64: usize, m0_inv: u64) -> Option<Self> {
        if !Self::available() {
            return None;
        }
        let bits = m.bits() as usize;
        // 4m < R52: two spare bits.
        let limbs = (bits + 2).div_ceil(52).div_ceil(8) * 8;
        if limbs / 8 > MAX_VECTORS {
            return None;
        }
        let r52 = BigUint::one() << (52 * limbs);
        let r64 = BigUint::one() << (64 * limbs64);
        let r64_inverse = r64.modinv(m)?;
        let to_radix = |x: &BigUint| -> Option<Vec<u64>> {
            let limbs64 = limbs_from_biguint(x, limbs64).ok()?;
            let mut out = vec![0u64; limbs];
            to_radix52(&limbs64, &mut out);
            Some(out)
        };
        Some(Self {
            modulus: to_radix(m)?,
            k0: m0_inv & MASK52,
            into_engine: to_radix(&((&r52 * &r52 % m) * r64_inverse % m))?,
            out_of_engine: to_radix(&(r64 % m))?,
            one: to_radix(&(r52 % m))?,
            limbs64,
        })
    }

    /// Whether this CPU has AVX-512 IFMA (checked once): the engines on it cannot exist
    /// otherwise. Whether they are picked is `engine.rs`'s to say.
    pub(crate) fn available() -> bool {
        static HAS_IFMA: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS_IFMA.get_or_init(cpu_has_ifma)
    }

    /// 52-bit limbs per value.
    pub(crate) fn limbs(&self) -> usize {
        self.modulus.len()
    }

    /// One in this engine's form.
    pub(crate) fn one(&self) -> &[u64] {
        &self.one
    }

    /// `out = a·b·R52⁻¹ mod m`, below `2m`, for `a, b < 2m` (all `limbs()` long).
    pub(crate) fn mul(&self, a: &[u64], b: &[u64], out: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        {
            macro_rules! call {
                ($($v:literal)*) => {
                    match self.modulus.len() / 8 {
                        $($v => {
                            // SAFETY: `new` returns an engine only when the CPU has AVX-512F and
                            // IFMA, and every slice here has 8·$v limbs.
                            unsafe { amm::<$v>(a, b, &self.modulus, self.k0, out) }
                        })*
                        _ => {}
                    }
                };
            }
            call!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            // Never constructed off x86-64 (`available` is false there).
            let _ = (a, b, out);
        }
    }

    /// Two independent products at once, `out1 = a1·b1` here and `out2 = a2·b2` in `other`
    /// (another modulus of the same width, or this one): their dependency chains interleave, so
    /// the pair takes less than two [`mul`](Self::mul)s where one product waits on its own
    /// latency. Falls back to two products when the widths differ.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn mul_pair(
        &self,
        other: &Ifma52,
        (a1, b1, out1): (&[u64], &[u64], &mut [u64]),
        (a2, b2, out2): (&[u64], &[u64], &mut [u64]),
    ) {
        // Past 8 vectors the pair's accumulators spill out of the 32 vector registers and the
        // pair is slower than two products (measured: 1.54× at 5 vectors, 1.17× at 8, 1.01× at
        // 9, 0.87× at 10).
        if other.modulus.len() != self.modulus.len() || self.modulus.len() > MAX_PAIRED_VECTORS * 8
        {
            self.mul(a1, b1, out1);
            other.mul(a2, b2, out2);
            return;
        }
        #[cfg(target_arch = "x86_64")]
        {
            let (m1, k1, m2, k2) = (&self.modulus, self.k0, &other.modulus, other.k0);
            macro_rules! call {
                ($($v:literal)*) => {
                    match self.modulus.len() / 8 {
                        $($v => {
                            // SAFETY: as in `mul`; both engines have 8·$v limbs, checked above.
                            unsafe { amm_pair::<$v>(a1, b1, m1, k1, a2, b2, m2, k2, out1, out2) }
                        })*
                        _ => {}
                    }
                };
            }
            call!(1 2 3 4 5 6 7 8);
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (a1, b1, out1, a2, b2, out2);
        }
    }

    /// `x·R64` (radix 2^64, below m) into this engine's form `x·R52` (below 2m).
    pub(crate) fn enter(&self, x64: &[u64]) -> Vec<u64> {
        let mut x = vec![0u64; self.limbs()];
        to_radix52(x64, &mut x);
        let mut out = vec![0u64; self.limbs()];
        self.mul(&x, &self.into_engine, &mut out);
        x.zeroize();
        out
    }

    /// `out = x·b mod m`, fully reduced, for radix-2^64 `x < m` and `b52 = b·R52 mod m` (this
    /// engine's form of `b`): one AMM between two radix conversions.
    pub(crate) fn mul_plain(&self, x64: &[u64], b52: &[u64], out: &mut [u64]) {
        let mut x = vec![0u64; self.limbs()];
        to_radix52(x64, &mut x);
        let mut y = vec![0u64; self.limbs()];
        self.mul(&x, b52, &mut y);
        reduce_once(&mut y, &self.modulus);
        from_radix52(&y, out);
        x.zeroize();
        y.zeroize();
    }

    /// This engine's `x·R52` back to the fully reduced radix-2^64 `x·R64`.
    pub(crate) fn leave(&self, x: &[u64]) -> Vec<u64> {
        let mut y = vec![0u64; self.limbs()];
        self.mul(x, &self.out_of_engine, &mut y);
        reduce_once(&mut y, &self.modulus);
        let mut out = vec![0u64; self.limbs64];
        from_radix52(&y, &mut out);
        y.zeroize();
        out
    }
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_ifma() -> bool {
    super::avx512::available()
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_has_ifma() -> bool {
    false
}

/// Almost Montgomery multiplication on `V` vectors of eight 52-bit limbs.
///
/// Word-serial over `b`: each step adds `a·b[i]` and `m·y` (`y` making the low limb vanish),
/// low halves first, then shifts the accumulator down one limb and adds the high halves, which
/// belong one limb up. Lanes are never normalised inside the loop: each gains at most
/// `4·2^52` per step, so after `8V ≤ 160` steps they stay below 2^62.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
unsafe fn amm<const V: usize>(a: &[u64], b: &[u64], m: &[u64], k0: u64, out: &mut [u64]) {
    use crate::bigint::avx512::*;
    let limbs = 8 * V;
    let (a, b, m, out) = (&a[..limbs], &b[..limbs], &m[..limbs], &mut out[..limbs]);
    let zero = _mm512_setzero_si512();
    let mut av = [zero; V];
    let mut mv = [zero; V];
    let mut acc = [zero; V];
    for k in 0..V {
        av[k] = _mm512_loadu_si512(a[8 * k..].as_ptr().cast());
        mv[k] = _mm512_loadu_si512(m[8 * k..].as_ptr().cast());
    }
    for &bi in b {
        let bv = _mm512_set1_epi64(bi as i64);
        for k in 0..V {
            acc[k] = _mm512_madd52lo_epu64(acc[k], av[k], bv);
        }
        let low = _mm_cvtsi128_si64(_mm512_castsi512_si128(acc[0])) as u64;
        let y = _mm512_set1_epi64((low.wrapping_mul(k0) & MASK52) as i64);
        for k in 0..V {
            acc[k] = _mm512_madd52lo_epu64(acc[k], mv[k], y);
        }
        // The low limb is now a multiple of 2^52: keep its carry, drop the limb.
        drop_low_column(&mut acc);
        for k in 0..V {
            acc[k] = _mm512_madd52hi_epu64(acc[k], av[k], bv);
            acc[k] = _mm512_madd52hi_epu64(acc[k], mv[k], y);
        }
    }
    for k in 0..V {
        _mm512_storeu_si512(out[8 * k..].as_mut_ptr().cast(), acc[k]);
    }
    // Back to 52-bit limbs; the value is below 2m < R52, so no carry leaves the top.
    carry_through(out, 0);
}

/// Two independent [`amm`]s, step by step in one loop: each step of one fills the other's
/// latency (the low limb's round trip through a scalar register, the quotient's broadcast and
/// the accumulator's shift form a chain longer than the step's vector work at these widths).
///
/// The operands are separate arguments, not a struct or tuples: the constant-time disassembly
/// check (`tools/ct_disasm.py`) treats what is loaded through a pointer as secret, so slice
/// addresses and lengths must arrive in registers or stack arguments.
#[cfg(target_arch = "x86_64")]
#[cfg_attr(
    not(feature = "emulated-ifma"),
    target_feature(enable = "avx512f,avx512ifma")
)]
#[allow(clippy::too_many_arguments)]
unsafe fn amm_pair<const V: usize>(
    x_a: &[u64],
    x_b: &[u64],
    x_m: &[u64],
    x_k0: u64,
    y_a: &[u64],
    y_b: &[u64],
    y_m: &[u64],
    y_k0: u64,
    out_x: &mut [u64],
    out_y: &mut [u64],
) {
    use crate::bigint::avx512::*;
    let limbs = 8 * V;
    let (x_a, x_b, x_m) = (&x_a[..limbs], &x_b[..limbs], &x_m[..limbs]);
    let (y_a, y_b, y_m) = (&y_a[..limbs], &y_b[..limbs], &y_m[..limbs]);
    let (out_x, out_y) = (&mut out_x[..limbs], &mut out_y[..limbs]);
    let zero = _mm512_setzero_si512();
    let (mut ax, mut mx, mut accx) = ([zero; V], [zero; V], [zero; V]);
    let (mut ay, mut my, mut accy) = ([zero; V], [zero; V], [zero; V]);
    for k in 0..V {
        ax[k] = _mm512_loadu_si512(x_a[8 * k..].as_ptr().cast());
        mx[k] = _mm512_loadu_si512(x_m[8 * k..].as_ptr().cast());
        ay[k] = _mm512_loadu_si512(y_a[8 * k..].as_ptr().cast());
        my[k] = _mm512_loadu_si512(y_m[8 * k..].as_ptr().cast());
    }
    for (&bx, &by) in x_b.iter().zip(y_b) {
        let bvx = _mm512_set1_epi64(bx as i64);
        let bvy = _mm512_set1_epi64(by as i64);
        for k in 0..V {
            accx[k] = _mm512_madd52lo_epu64(accx[k], ax[k], bvx);
            accy[k] = _mm512_madd52lo_epu64(accy[k], ay[k], bvy);
        }
        let lowx = _mm_cvtsi128_si64(_mm512_castsi512_si128(accx[0])) as u64;
        let lowy = _mm_cvtsi128_si64(_mm512_castsi512_si128(accy[0])) as u64;
        let qx = _mm512_set1_epi64((lowx.wrapping_mul(x_k0) & MASK52) as i64);
        let qy = _mm512_set1_epi64((lowy.wrapping_mul(y_k0) & MASK52) as i64);
        for k in 0..V {
            accx[k] = _mm512_madd52lo_epu64(accx[k], mx[k], qx);
            accy[k] = _mm512_madd52lo_epu64(accy[k], my[k], qy);
        }
        let carryx = _mm512_maskz_srli_epi64(1, accx[0], 52);
        let carryy = _mm512_maskz_srli_epi64(1, accy[0], 52);
        for k in 0..V - 1 {
            accx[k] = _mm512_alignr_epi64(accx[k + 1], accx[k], 1);
            accy[k] = _mm512_alignr_epi64(accy[k + 1], accy[k], 1);
        }
        accx[V - 1] = _mm512_alignr_epi64(zero, accx[V - 1], 1);
        accy[V - 1] = _mm512_alignr_epi64(zero, accy[V - 1], 1);
        accx[0] = _mm512_add_epi64(accx[0], carryx);
        accy[0] = _mm512_add_epi64(accy[0], carryy);
        for k in 0..V {
            accx[k] = _mm512_madd52hi_epu64(accx[k], ax[k], bvx);
            accy[k] = _mm512_madd52hi_epu64(accy[k], ay[k], bvy);
            accx[k] = _mm512_madd52hi_epu64(accx[k], mx[k], qx);
            accy[k] = _mm512_madd52hi_epu64(accy[k], my[k], qy);
        }
    }
    for (acc, out) in [(&accx, out_x), (&accy, out_y)] {
        for k in 0..V {
            _mm512_storeu_si512(out[8 * k..].as_mut_ptr().cast(), acc[k]);
        }
        // Back to 52-bit limbs, as in `amm`.
        carry_through(out, 0);
    }
}

/// Radix 2^64 limbs into radix 2^52 limbs (`out` long enough for the value).
pub(crate) fn to_radix52(x: &[u64], out: &mut [u64]) {
    for (j, limb) in out.iter_mut().enumerate() {
        let bit = 52 * j;
        let (word, shift) = (bit / 64, bit % 64);
        let low = x.get(word).copied().unwrap_or(0) >> shift;
        let high = match shift {
            0..=12 => 0,
            _ => x.get(word + 1).copied().unwrap_or(0) << (64 - shift),
        };
        *limb = (low | high) & MASK52;
    }
}

/// Normalised radix 2^52 limbs back into radix 2^64 (`out` long enough for the value).
pub(crate) fn from_radix52(x: &[u64], out: &mut [u64]) {
    out.fill(0);
    for (j, &limb) in x.iter().enumerate() {
        let bit = 52 * j;
        let (word, shift) = (bit / 64, bit % 64);
        if let Some(w) = out.get_mut(word) {
            *w |= limb << shift;
        }
        if shift > 12 {
            if let Some(w) = out.get_mut(word + 1) {
                *w |= limb >> (64 - shift);
            }
        }
    }
}

/// `x + carry` back into normalised 52-bit limbs: each limb's bits past 52 carried into the
/// next, through every limb whatever the values. The caller knows no carry leaves the top.
#[inline(always)]
pub(crate) fn carry_through(x: &mut [u64], carry: u64) {
    let mut carry = carry;
    for limb in x.iter_mut() {
        let v = *limb + carry;
        *limb = v & MASK52;
        carry = v >> 52;
    }
}

/// `x − m` if `x ≥ m`, for normalised `x < 2m`, chosen with a mask rather than a branch;
/// returns how many times `m` was subtracted (0 or 1), for a caller that carries it on.
pub(crate) fn reduce_once(x: &mut [u64], m: &[u64]) -> u64 {
    let mut diff = vec![0u64; x.len()];
    let mut borrow = 0u64;
    for ((d, &xj), &mj) in diff.iter_mut().zip(x.iter()).zip(m) {
        // Limbs are below 2^52, so the sign bit of the difference is the borrow.
        let v = xj.wrapping_sub(mj).wrapping_sub(borrow);
        borrow = v >> 63;
        *d = v & MASK52;
    }
    // No borrow: x ≥ m, so take x − m.
    ct::conditional_assign(ct::bit_mask(borrow ^ 1), x, &diff);
    diff.zeroize();
    borrow ^ 1
}

#[cfg(test)]
mod tests;
