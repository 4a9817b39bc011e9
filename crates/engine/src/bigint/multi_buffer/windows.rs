//! The secret-exponent power every lane engine runs ([`MultiBuffer`](super::MultiBuffer) and
//! [`NarrowLanes`](super::NarrowLanes) modulo one modulus, [`TwoDigitLanes`](super::TwoDigitLanes)
//! on two digits): fixed windows over a table of the base's first powers, each lane's entry
//! chosen by a full scan; and for the engines modulo one modulus, the whole power on items in
//! normal form ([`pow_items`]).

use zeroize::Zeroizing;

use super::aligned::Lanes;
use super::{LANES, WINDOW};
use crate::bigint::exponent::bits_at;

/// What the power needs from an engine of eight lanes. Values are `vectors()` vectors of eight
/// words in the engine's form.
pub(super) trait LaneArithmetic {
    /// The kernels' scratch.
    type Work;
    /// Vectors per value.
    fn vectors(&self) -> usize;
    /// One in the engine's form.
    fn one(&self) -> &Lanes;
    /// The constant whose product takes a prepared base into the engine's form.
    fn to_engine(&self) -> &Lanes;
    /// `a·b` in the engine's form.
    fn mul(&self, a: &[u64], b: &[u64], work: &mut Self::Work, out: &mut [u64]);
    /// `a²` in the engine's form.
    fn square(&self, a: &[u64], work: &mut Self::Work, out: &mut [u64]);
    /// Lane `i` of `out` from entry `digits[i]` of a table of `entries` values, every entry
    /// read whatever the digits (the IFMA engines' AVX-512 scan unless an engine has its own).
    fn select(&self, table: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
        select(table, entries, digits, out)
    }
}

/// `base^exponents[i]` in lane `i`, in the engine's form, for SECRET exponents of at most
/// `exponent_bits` bits; `base` holds the prepared bases (a product by
/// [`to_engine`](LaneArithmetic::to_engine) takes them into the engine's form) and is used as
/// scratch. Lanes from `items` on take the first exponent. The instructions and addresses
/// depend on nothing but `items`, the width and `exponent_bits`.
pub(super) fn pow_secret<E: LaneArithmetic>(
    engine: &E,
    base: &mut Lanes,
    exponents: &[&[u64]],
    items: usize,
    exponent_bits: usize,
    work: &mut E::Work,
) -> Lanes {
    let vectors = engine.vectors();
    let value = LANES * vectors;
    let mut table = Lanes::zeroed((1 << WINDOW) * vectors);
    table[..value].copy_from_slice(engine.one());
    {
        let (_, rest) = table.split_at_mut(value);
        engine.mul(base, engine.to_engine(), work, &mut rest[..value]);
    }
    for e in 2..1 << WINDOW {
        let (done, rest) = table.split_at_mut(e * value);
        let previous = &done[(e - 1) * value..];
        let first = &done[value..2 * value];
        engine.mul(previous, first, work, &mut rest[..value]);
    }
    let lane_exponent = |lane: usize| exponents[if lane < items { lane } else { 0 }];
    let mut acc = engine.one().clone();
    let mut tmp = Lanes::zeroed(vectors);
    let mut digits = Zeroizing::new([0u64; LANES]);
    for w in (0..exponent_bits.div_ceil(WINDOW)).rev() {
        for _ in 0..WINDOW {
            engine.square(&acc, work, &mut tmp);
            std::mem::swap(&mut acc, &mut tmp);
        }
        for (lane, digit) in digits.iter_mut().enumerate() {
            *digit = bits_at(lane_exponent(lane), w * WINDOW, WINDOW, exponent_bits) as u64;
        }
        engine.select(&table, 1 << WINDOW, &digits, base);
        engine.mul(&acc, base, work, &mut tmp);
        std::mem::swap(&mut acc, &mut tmp);
    }
    acc
}

/// What a lane engine modulo one modulus adds to its arithmetic for whole items: moving them
/// (normal form, radix 2^64) into its digits lane by lane and back.
pub(super) trait LaneItems: LaneArithmetic {
    /// 64-bit limbs of an item in normal form.
    fn limbs64(&self) -> usize;
    /// Scratch for [`mul`](LaneArithmetic::mul).
    fn workspace(&self) -> Self::Work;
    /// One, plain, in every lane: a product by it takes the engine's form back to normal form.
    fn unit(&self) -> &Lanes;
    /// Writes the `k ≤ 8` items of `items` (normal form, below m) into lanes `0..k` of `lanes`
    /// as plain digits, leaving the other lanes as they are.
    fn spread(&self, items: &[u64], lanes: &mut Lanes);
    /// Lanes `0..k` of `lanes` (plain digits below `2m`), fully reduced, into the `k` items of
    /// `out`.
    fn gather(&self, lanes: &[u64], out: &mut [u64]);
}

/// `bases[i]^exponents[i] mod m` for the `k ≤ 8` items of `bases` (normal form, each below m)
/// into `out`, for SECRET exponents of at most `exponent_bits` bits ([`pow_secret`]:
/// fixed windows, each lane's entry chosen by a full scan), fully reduced. Lanes past `k`
/// compute one to the first exponent's power; the instructions and addresses depend on nothing
/// but `k`, the width and `exponent_bits`.
///
/// # Panics
/// Where `bases` holds no item or more than eight, or `exponents` or `out` fewer.
pub(super) fn pow_items<E: LaneItems>(
    engine: &E,
    bases: &[u64],
    exponents: &[&[u64]],
    exponent_bits: usize,
    out: &mut [u64],
) {
    let width = engine.limbs64();
    let items = bases.len() / width;
    assert!(items <= LANES && items > 0 && exponents.len() >= items);
    assert!(out.len() >= items * width);
    let mut work = engine.workspace();
    // The bases, lane by lane (one in the unused lanes).
    let mut plain = engine.unit().clone();
    engine.spread(bases, &mut plain);
    let acc = pow_secret(
        engine,
        &mut plain,
        exponents,
        items,
        exponent_bits,
        &mut work,
    );
    // acc·R⁻¹: the powers in normal form, at most m; then fully reduced, lane by lane.
    let mut tmp = Lanes::zeroed(engine.vectors());
    engine.mul(&acc, engine.unit(), &mut work, &mut tmp);
    engine.gather(&tmp, &mut out[..items * width]);
}

/// Lane `i` of `out` from entry `digits[i]` of a table of `entries` values in lane layout, on
/// AVX-512 (the IFMA engines' scan).
#[allow(unsafe_code)]
fn select(table: &[u64], entries: usize, digits: &[u64; LANES], out: &mut [u64]) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the lane engines exist only where the CPU has AVX-512F and IFMA; the kernel checks
    // the lengths.
    unsafe {
        super::kernels::select(table, entries, digits, out)
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (table, entries, digits, out);
}
