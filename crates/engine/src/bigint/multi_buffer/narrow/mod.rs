//! The narrow multi-buffer engine: eight exponentiations modulo one modulus at once, item `i`
//! in lane `i`, on CPUs without AVX-512 IFMA. Digits of 28 bits (27 for moduli past 3,582 bits)
//! are multiplied 32 by 32 into 64 bits (`vpmuludq`), eight lanes a register on AVX-512F and
//! four on AVX2 (a vector's eight lanes in two passes), with a dedicated squaring.
//!
//! It shares the IFMA engine's layout ([`Lanes`], eight words a digit) and its windowed power
//! ([`windows::pow_secret`]), so the two serve the same callers; `engine.rs` picks one. Values
//! enter in normal form (radix 2^64, below m) and leave fully reduced; in between they stay in
//! this engine's form `x·2^(bits·L) mod m`, below `2m`.

use num_bigint::BigUint;
use num_integer::Integer;
use num_traits::One;
use zeroize::{ZeroizeOnDrop, Zeroizing};

use super::aligned::Lanes;
use super::windows::{self, LaneArithmetic, LaneItems};
use super::LANES;
use crate::bigint::convert::{limbs_from_biguint, WipedBigUint};

#[macro_use]
mod digit_kernels;
mod fixed_base;
mod kernels;
mod radix;
#[cfg(test)]
mod tests;
mod vectors;

/// The instruction set a [`NarrowLanes`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NarrowIsa {
    /// 512-bit registers, eight lanes each.
    Avx512f,
    /// 256-bit registers, four lanes each.
    Avx2,
    /// Plain Rust (tests only).
    #[cfg(test)]
    Emulated,
}

impl NarrowIsa {
    /// Whether this CPU runs it.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Self::Avx512f => std::arch::is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Self::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Self::Avx512f | Self::Avx2 => false,
            #[cfg(test)]
            Self::Emulated => true,
        }
    }
}

/// The radix-2^bits constants of one odd modulus, for eight lanes at once. Wiped on drop (the
/// modulus may be p² or q²).
///
/// ```
/// use num_bigint::BigUint;
/// use paillier_gpu_engine::bigint::{NarrowIsa, NarrowLanes};
///
/// let m = (BigUint::from(1u32) << 2047u32) + 1u32 + (BigUint::from(12345u32) << 1000u32);
/// // `None` on a CPU without AVX2.
/// if let Some(lanes) = NarrowLanes::new(&m, 32, NarrowIsa::Avx2) {
///     let bases: Vec<u64> = (1..=3u64)
///         .flat_map(|b| std::iter::once(b).chain(std::iter::repeat(0).take(31)))
///         .collect();
///     let mut out = vec![0u64; bases.len()];
///     lanes.pow_secret(&bases, &[&[1000u64][..]; 3], 10, &mut out);
///     let third = BigUint::from_slice(
///         &out[64..].iter().flat_map(|&w| [w as u32, (w >> 32) as u32]).collect::<Vec<_>>(),
///     );
///     assert_eq!(third, BigUint::from(3u32).modpow(&BigUint::from(1000u32), &m));
/// }
/// ```
#[derive(Clone, ZeroizeOnDrop)]
pub struct NarrowLanes {
    /// The modulus's digits, once (the kernels broadcast them).
    modulus: Vec<u64>,
    /// `-m⁻¹ mod 2^bits`.
    k0: u64,
    /// Bits per digit: 28, or 27 for moduli past 3,582 bits.
    #[zeroize(skip)]
    bits: u32,
    /// `2^(2·bits·L) mod m` in every lane: a product by it takes normal form into this
    /// engine's.
    to_engine: Lanes,
    /// `2^(bits·L) mod m` in every lane: one in this engine's form.
    one: Lanes,
    /// One, plain, in every lane: a product by it takes this engine's form back to normal form.
    unit: Lanes,
    /// 64-bit limbs of a value in normal form.
    limbs64: usize,
    #[zeroize(skip)]
    isa: NarrowIsa,
}

impl std::fmt::Debug for NarrowLanes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NarrowLanes({:?}, <redacted>)", self.isa)
    }
}

impl NarrowLanes {
    /// The engine for odd `m > 1` whose normal form has `limbs64` limbs, on `isa`, or `None`
    /// where the CPU lacks `isa`, `m` is even, one, or wider than 13,822 bits, or `limbs64` too
    /// few.
    pub fn new(m: &BigUint, limbs64: usize, isa: NarrowIsa) -> Option<Self> {
        if !isa.available() || m.is_even() || *m <= BigUint::one() {
            return None;
        }
        let (bits, digits) = radix::radix_for(m.bits() as usize)?;
        if limbs64 * 64 < m.bits() as usize {
            return None;
        }
        let radix = BigUint::one() << (bits as usize * digits);
        let to_digits = |x: &BigUint| -> Option<Zeroizing<Vec<u64>>> {
            let wide = Zeroizing::new(
                limbs_from_biguint(x, limbs64.max(x.bits().div_ceil(64) as usize)).ok()?,
            );
            let mut out = Zeroizing::new(vec![0u64; digits]);
            radix::to_radix(&wide, bits, &mut out);
            Some(out)
        };
        let in_lanes = |x: &BigUint| -> Option<Lanes> {
            let one_lane = to_digits(x)?;
            let mut lanes = Lanes::zeroed(digits);
            for (vector, &digit) in lanes.chunks_exact_mut(LANES).zip(one_lane.iter()) {
                vector.fill(digit);
            }
            Some(lanes)
        };
        let m0 = m.iter_u64_digits().next().unwrap_or(1);
        Some(Self {
            modulus: to_digits(m)?.to_vec(),
            k0: super::two_digit::inverse_mod_word(m0).wrapping_neg() & ((1 << bits) - 1),
            bits,
            // Both depend on the modulus (p² for a key's owner): wiped once in the lanes.
            to_engine: in_lanes(&WipedBigUint(&radix * &radix % m).0)?,
            one: in_lanes(&WipedBigUint(&radix % m).0)?,
            unit: in_lanes(&BigUint::one())?,
            limbs64,
            isa,
        })
    }

    /// The instruction set it runs on.
    pub fn isa(&self) -> NarrowIsa {
        self.isa
    }

    /// Fewest items of a group worth running here rather than on the portable engine one or two
    /// at a time (a group costs the same whatever it holds). Timed modulo a 2048-bit p² (key_len
    /// 1024) with a 1024-bit exponent on a Zen 5 class core: a group of eight 2.3 ms on AVX-512F
    /// and 4.6 ms on AVX2, against 0.73 ms an item for the portable two-digit power.
    pub(crate) fn min_items(&self) -> usize {
        match self.isa {
            NarrowIsa::Avx512f => 4,
            NarrowIsa::Avx2 => 7,
            #[cfg(test)]
            NarrowIsa::Emulated => 1,
        }
    }

    /// Digits per value.
    fn digits(&self) -> usize {
        self.modulus.len()
    }

    /// `bases[i]^exponents[i] mod m` for the `k ≤ 8` items of `bases`, in constant time in the
    /// SECRET exponents: as [`MultiBuffer::pow_secret`](super::MultiBuffer::pow_secret).
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

impl LaneItems for NarrowLanes {
    fn limbs64(&self) -> usize {
        self.limbs64
    }

    fn unit(&self) -> &Lanes {
        &self.unit
    }

    fn workspace(&self) -> Lanes {
        Lanes::zeroed(self.digits())
    }

    fn spread(&self, items: &[u64], lanes: &mut Lanes) {
        let mut digits = Zeroizing::new(vec![0u64; self.digits()]);
        for (lane, item) in items.chunks_exact(self.limbs64).enumerate() {
            radix::to_radix(item, self.bits, &mut digits);
            for (j, &digit) in digits.iter().enumerate() {
                lanes[LANES * j + lane] = digit;
            }
        }
    }

    fn gather(&self, lanes: &[u64], out: &mut [u64]) {
        let mut digits = Zeroizing::new(vec![0u64; self.digits()]);
        for (lane, result) in out.chunks_exact_mut(self.limbs64).enumerate() {
            for (j, digit) in digits.iter_mut().enumerate() {
                *digit = lanes[LANES * j + lane];
            }
            radix::reduce_once(&mut digits, &self.modulus, self.bits);
            radix::from_radix(&digits, self.bits, result);
        }
    }
}

/// Runs a kernel of `kernels::$isa` over a vector's eight lanes: once on AVX-512F, twice (lanes
/// 0–3, then 4–7) on AVX2.
macro_rules! on_lanes {
    ($self:expr, |$k:ident, $half:ident| $call:expr) => {{
        #[allow(unsafe_code)]
        match $self.isa {
            #[cfg(target_arch = "x86_64")]
            NarrowIsa::Avx512f => {
                use kernels::avx512 as $k;
                let $half = 0;
                // SAFETY: `new` built this engine only where the CPU has AVX-512F; the caller
                // checked the lengths.
                unsafe { $call }
            }
            #[cfg(target_arch = "x86_64")]
            NarrowIsa::Avx2 => {
                use kernels::avx2 as $k;
                for $half in [0, 4] {
                    // SAFETY: as above, for AVX2; lanes 4–7 start four words in.
                    unsafe { $call }
                }
            }
            #[cfg(not(target_arch = "x86_64"))]
            NarrowIsa::Avx512f | NarrowIsa::Avx2 => unreachable!("refused by `new`"),
            #[cfg(test)]
            NarrowIsa::Emulated => {
                use kernels::emulated as $k;
                let $half = 0;
                // SAFETY: the emulation reads and writes the same words as the instructions.
                unsafe { $call }
            }
        }
    }};
}

impl NarrowLanes {
    /// Lane by lane, entry `digits[i]` of a row of `entries` plain values shared by every lane
    /// (stored word by word, `entries` a multiple of sixteen, at most 256) into lane `i` of
    /// `out`, reading every entry whatever the digits: on AVX-512F by the permutes of the IFMA
    /// engines' row scan, elsewhere by a broadcast and a masked move per entry.
    fn select_shared(&self, row: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
        let vectors = out.len() / LANES;
        assert!(entries.is_multiple_of(16) && entries <= 256 && row.len() >= entries * vectors);
        #[cfg(target_arch = "x86_64")]
        if self.isa == NarrowIsa::Avx512f {
            #[allow(unsafe_code)]
            // SAFETY: `new` built this engine only where the CPU has AVX-512F; the kernel checks
            // the lengths.
            unsafe {
                super::row_select::select_words(row, entries, digits, out)
            };
            return;
        }
        let (r, d, o) = (row.as_ptr(), digits.as_ptr(), out.as_mut_ptr());
        on_lanes!(self, |k, half| k::select_shared(
            r,
            entries,
            vectors,
            d.add(half),
            o.add(half)
        ));
    }
}

impl LaneArithmetic for NarrowLanes {
    type Work = Lanes;

    fn vectors(&self) -> usize {
        self.digits()
    }

    fn one(&self) -> &Lanes {
        &self.one
    }

    fn to_engine(&self) -> &Lanes {
        &self.to_engine
    }

    fn mul(&self, a: &[u64], b: &[u64], work: &mut Lanes, out: &mut [u64]) {
        let size = LANES * self.digits();
        assert!(a.len() >= size && b.len() >= size && out.len() >= size && work.len() >= size);
        let constants = (self.k0, self.bits);
        let (a, b, q, o) = (a.as_ptr(), b.as_ptr(), work.as_mut_ptr(), out.as_mut_ptr());
        on_lanes!(self, |k, half| k::mul(
            a.add(half),
            b.add(half),
            &self.modulus,
            constants,
            q.add(half),
            o.add(half)
        ));
    }

    fn square(&self, a: &[u64], work: &mut Lanes, out: &mut [u64]) {
        let size = LANES * self.digits();
        assert!(a.len() >= size && out.len() >= size && work.len() >= size);
        let constants = (self.k0, self.bits);
        let (a, q, o) = (a.as_ptr(), work.as_mut_ptr(), out.as_mut_ptr());
        on_lanes!(self, |k, half| k::square(
            a.add(half),
            &self.modulus,
            constants,
            q.add(half),
            o.add(half)
        ));
    }

    fn select(&self, table: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
        let vectors = out.len() / LANES;
        assert!(table.len() >= entries * LANES * vectors);
        let (t, d, o) = (table.as_ptr(), digits.as_ptr(), out.as_mut_ptr());
        on_lanes!(self, |k, half| k::select(
            t.add(half),
            entries,
            vectors,
            d.add(half),
            o.add(half)
        ));
    }
}

// Declared after `on_lanes!`, which its kernels' calls go through.
mod two_digit;
pub use two_digit::NarrowTwoDigitLanes;
