//! The multi-buffer engine: eight exponentiations modulo one modulus at once, item `i` in lane
//! `i` of every AVX-512 register, in radix 2^52 with almost Montgomery multiplication and a
//! dedicated squaring (the layout of Intel's ipp-crypto `mbx` code, behind IPCL).
//!
//! [`Ifma52`](super::ifma::Ifma52) vectorises inside one number, and each step of its product
//! waits on a round trip through a scalar register; here the eight lanes are eight numbers, so
//! every step is pure vector work and the squaring computes each cross product once. It serves
//! batches: the CPU backend hands it items eight at a time, and pads a short last group with
//! the value one in the unused lanes (the same instructions and addresses as a full group; only
//! the batch's size, which is public, decides how many groups run).
//!
//! Values enter in normal form (radix 2^64, below m) and leave the same way, fully reduced; in
//! between they stay in this engine's form `x·2^(52·L) mod m`, below `2m`.

use num_bigint::BigUint;
use num_traits::One;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::convert::limbs_from_biguint;
use super::ifma::{from_radix52, reduce_once, to_radix52, Ifma52};

mod aligned;
#[cfg(target_arch = "x86_64")]
mod digit_kernels;
#[cfg(target_arch = "x86_64")]
mod kernels;
mod narrow;
mod products;
#[cfg(target_arch = "x86_64")]
mod resident_kernels;
#[cfg(target_arch = "x86_64")]
mod row_select;
mod two_digit;
mod windows;
use aligned::Lanes;
#[cfg(target_arch = "x86_64")]
use kernels::ROWS;
pub use narrow::{NarrowIsa, NarrowLanes, NarrowTwoDigitLanes};

pub(crate) use products::ProductLanes;
pub(crate) use row_select::lay_out_rows;
pub use two_digit::TwoDigitLanes;
use windows::{LaneArithmetic, LaneItems};
#[cfg(not(target_arch = "x86_64"))]
const ROWS: usize = 1;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod two_digit_tests;

/// Items per group: the 64-bit lanes of one AVX-512 register.
pub const LANES: usize = 8;

/// Fewest items of a group that run in the lanes on two digits: a group costs the same whatever
/// it holds, and there an item takes about 2.5 times less than on the one-number engine in pairs
/// (p² of 2048 bits; BENCHMARKS.md), so eight lanes cost about as much as three items.
pub(crate) const MIN_LANE_ITEMS: usize = 4;

/// Most 52-bit limbs per value: moduli up to 8318 bits (n² at key_len 4096).
const MAX_LIMBS: usize = 160;

/// Bits per window of the secret-exponent power: 16 table entries, a product every four
/// squarings, and a table of `16·L` vectors (40 KiB at p² of key_len 2048) that stays in L1.
const WINDOW: usize = 4;

/// The radix-2^52 constants of one odd modulus, for eight lanes at once. Wiped on drop (the
/// modulus may be p² or q²).
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::{MontgomeryModulus, MultiBuffer};
///
/// let m = (BigUint::from(1u32) << 2047u32) + 1u32 + (BigUint::from(12345u32) << 1000u32);
/// let modulus = MontgomeryModulus::new(&m).unwrap();
/// // `None` on a CPU without AVX-512 IFMA.
/// if let Some(lanes) = MultiBuffer::new(&m, modulus.len(), modulus.m0_inv()) {
///     let bases: Vec<u64> = (1..=3u64)
///         .flat_map(|b| modulus.limbs_of(&BigUint::from(b)).unwrap())
///         .collect();
///     let mut out = vec![0u64; bases.len()];
///     lanes.pow_secret(&bases, &[&[1000u64][..]; 3], 10, &mut out);
///     let third = modulus.biguint_of(&out[2 * modulus.len()..]);
///     assert_eq!(third, BigUint::from(3u32).modpow(&BigUint::from(1000u32), &m));
/// }
/// ```
#[derive(Clone, ZeroizeOnDrop)]
pub struct MultiBuffer {
    /// The modulus's 52-bit limbs, once (the kernels broadcast them).
    modulus: Vec<u64>,
    /// `-m⁻¹ mod 2^52`.
    k0: u64,
    /// `2^(104·L) mod m` in every lane: a product by it takes normal form into this engine's.
    to_engine: Lanes,
    /// `2^(52·L) mod m` in every lane: one in this engine's form.
    one: Lanes,
    /// One, plain, in every lane: a product by it takes this engine's form back to normal form.
    unit: Lanes,
    /// 64-bit limbs of a value in normal form.
    limbs64: usize,
}

impl std::fmt::Debug for MultiBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MultiBuffer(<redacted>)")
    }
}

impl MultiBuffer {
    /// The engine for odd `m` whose normal form has `limbs64` limbs and `m0_inv = -m⁻¹ mod
    /// 2^64`, or `None` where the CPU lacks AVX-512 IFMA or `m` is too wide.
    pub fn new(m: &BigUint, limbs64: usize, m0_inv: u64) -> Option<Self> {
        if !Ifma52::available() {
            return None;
        }
        // 4m < 2^(52·L): two spare bits; and whole blocks of rows.
        let limbs = (m.bits() as usize + 2).div_ceil(52).div_ceil(ROWS) * ROWS;
        if limbs > MAX_LIMBS || limbs64 * 64 < m.bits() as usize {
            return None;
        }
        let radix = BigUint::one() << (52 * limbs);
        let in_lanes = |x: &BigUint| -> Option<Lanes> {
            let wide = Zeroizing::new(limbs_from_biguint(x, limbs64).ok()?);
            let mut one_lane = Zeroizing::new(vec![0u64; limbs]);
            to_radix52(&wide, &mut one_lane);
            let mut lanes = Lanes::zeroed(limbs);
            for (vector, &limb) in lanes.chunks_exact_mut(LANES).zip(one_lane.iter()) {
                vector.fill(limb);
            }
            Some(lanes)
        };
        let mut modulus = vec![0u64; limbs];
        to_radix52(
            &Zeroizing::new(limbs_from_biguint(m, limbs64).ok()?),
            &mut modulus,
        );
        Some(Self {
            modulus,
            k0: m0_inv & super::ifma::MASK52,
            to_engine: in_lanes(&(&radix * &radix % m))?,
            one: in_lanes(&(&radix % m))?,
            unit: in_lanes(&BigUint::one())?,
            limbs64,
        })
    }

    /// 52-bit limbs per value.
    fn limbs(&self) -> usize {
        self.modulus.len()
    }

    /// `bases[i]^exponents[i] mod m` for the `k ≤ 8` items of `bases` (`k·limbs64` limbs, normal
    /// form, each below m) into `out` (as long), for SECRET exponents of at most
    /// `exponent_bits` bits: fixed 4-bit windows, each lane's table entry chosen by a full scan
    /// (a vector compare and masked moves over every entry). Lanes past `k` compute one to the
    /// first exponent's power. The instructions and addresses depend on nothing but `k`, the
    /// width and `exponent_bits`.
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
        windows::pow_items(self, bases, exponents, exponent_bits, out);
    }
}

impl LaneItems for MultiBuffer {
    fn limbs64(&self) -> usize {
        self.limbs64
    }

    fn unit(&self) -> &Lanes {
        &self.unit
    }

    fn workspace(&self) -> Workspace {
        Workspace::new(self.limbs())
    }

    fn spread(&self, items: &[u64], lanes: &mut Lanes) {
        let mut limbs = Zeroizing::new(vec![0u64; self.limbs()]);
        for (lane, item) in items.chunks_exact(self.limbs64).enumerate() {
            to_radix52(item, &mut limbs);
            for (j, &limb) in limbs.iter().enumerate() {
                lanes[LANES * j + lane] = limb;
            }
        }
    }

    fn gather(&self, lanes: &[u64], out: &mut [u64]) {
        let mut lane_limbs = Zeroizing::new(vec![0u64; self.limbs()]);
        for (lane, result) in out.chunks_exact_mut(self.limbs64).enumerate() {
            for (j, limb) in lane_limbs.iter_mut().enumerate() {
                *limb = lanes[LANES * j + lane];
            }
            reduce_once(&mut lane_limbs, &self.modulus);
            from_radix52(&lane_limbs, result);
        }
    }
}

impl LaneArithmetic for MultiBuffer {
    type Work = Workspace;

    fn vectors(&self) -> usize {
        self.limbs()
    }

    fn one(&self) -> &Lanes {
        &self.one
    }

    fn to_engine(&self) -> &Lanes {
        &self.to_engine
    }

    #[allow(unsafe_code)]
    fn mul(&self, a: &[u64], b: &[u64], work: &mut Workspace, out: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `new` returns an engine only where the CPU has AVX-512F and IFMA; the kernel
        // checks the lengths.
        unsafe {
            kernels::mul(a, b, &self.modulus, self.k0, &mut work.columns, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (a, b, work, out);
    }

    #[allow(unsafe_code)]
    fn square(&self, a: &[u64], work: &mut Workspace, out: &mut [u64]) {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as in `mul`.
        unsafe {
            kernels::square(a, &self.modulus, self.k0, &mut work.columns, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = (a, work, out);
    }
}

/// The kernels' column accumulators, wiped when dropped.
struct Workspace {
    columns: Lanes,
}

impl Workspace {
    fn new(limbs: usize) -> Self {
        Self {
            columns: Lanes::zeroed(2 * limbs),
        }
    }
}
