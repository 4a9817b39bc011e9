//! Products across items in the lanes: `x_i·b mod m` for up to eight `x_i` at once and one
//! multiplier `b` prepared once (the aggregation's query times every stored record). Public
//! operands: nothing here needs to hide them, though nothing here branches on them either.

use super::aligned::Lanes;
use super::windows::{self, LaneArithmetic};
use super::{MultiBuffer, NarrowLanes, LANES};

/// What a lane engine adds to its arithmetic for products of items: moving items (normal form,
/// radix 2^64) into its digits lane by lane and back.
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
/// into `out`, for SECRET exponents of at most `exponent_bits` bits ([`windows::pow_secret`]:
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
    let acc = windows::pow_secret(
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

/// `b·R mod m` (normal-form `b` below m) in every lane, in the engine's form: the operand of
/// [`mul_group`].
pub(super) fn prepare<E: LaneItems>(engine: &E, b: &[u64]) -> Lanes {
    let mut plain = Lanes::zeroed(engine.vectors());
    engine.spread(&b.repeat(LANES), &mut plain);
    let mut prepared = Lanes::zeroed(engine.vectors());
    engine.mul(
        &plain,
        engine.to_engine(),
        &mut engine.workspace(),
        &mut prepared,
    );
    prepared
}

/// `out_i = items_i·b mod m` for the `k ≤ 8` items of `items` (normal form, each below m) with
/// `prepared` from [`prepare`]: one product in the lanes (`x·(b·R)·R⁻¹`), fully reduced.
pub(super) fn mul_group<E: LaneItems>(
    engine: &E,
    items: &[u64],
    prepared: &Lanes,
    work: &mut E::Work,
    out: &mut [u64],
) {
    let mut plain = Lanes::zeroed(engine.vectors());
    engine.spread(items, &mut plain);
    let mut product = Lanes::zeroed(engine.vectors());
    engine.mul(&plain, prepared, work, &mut product);
    engine.gather(&product, out);
}

/// Products across items in the lanes of either engine: [`MultiBuffer`] on IFMA,
/// [`NarrowLanes`] on AVX-512F or AVX2 (`engine.rs` picks).
pub(crate) enum ProductLanes {
    Ifma(MultiBuffer),
    Narrow(NarrowLanes),
}

/// A multiplier in every lane of a [`ProductLanes`], in its form. Wiped on drop.
pub(crate) struct PreparedLanes(Lanes);

impl ProductLanes {
    /// Prepares `b` (normal form, below m, the modulus's width) once for many
    /// [`mul_items`](Self::mul_items).
    pub(crate) fn prepare(&self, b: &[u64]) -> PreparedLanes {
        PreparedLanes(match self {
            Self::Ifma(engine) => prepare(engine, b),
            Self::Narrow(engine) => prepare(engine, b),
        })
    }

    /// `out_i = items_i·b mod m` for every item of `items` (normal form, each below m), eight
    /// at a time, fully reduced.
    pub(crate) fn mul_items(&self, items: &[u64], b: &PreparedLanes, out: &mut [u64]) {
        fn run<E: LaneItems>(engine: &E, items: &[u64], b: &Lanes, out: &mut [u64]) {
            let mut work = engine.workspace();
            let group = LANES * engine.limbs64();
            for (items, out) in items.chunks(group).zip(out.chunks_mut(group)) {
                mul_group(engine, items, b, &mut work, out);
            }
        }
        match self {
            Self::Ifma(engine) => run(engine, items, &b.0, out),
            Self::Narrow(engine) => run(engine, items, &b.0, out),
        }
    }
}
