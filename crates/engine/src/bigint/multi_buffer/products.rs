//! Products across items in the lanes: `x_i·b mod m` for up to eight `x_i` at once and one
//! multiplier `b` prepared once (the aggregation's query times every stored record). Public
//! operands: nothing here needs to hide them, though nothing here branches on them either.

use super::aligned::Lanes;
use super::windows::LaneArithmetic;
use super::{MultiBuffer, NarrowLanes, LANES};

/// What a lane engine adds to its arithmetic for products of items: moving items (normal form,
/// radix 2^64) into its digits lane by lane and back.
pub(super) trait LaneItems: LaneArithmetic {
    /// 64-bit limbs of an item in normal form.
    fn limbs64(&self) -> usize;
    /// Scratch for [`mul`](LaneArithmetic::mul).
    fn workspace(&self) -> Self::Work;
    /// Writes the `k ≤ 8` items of `items` (normal form, below m) into lanes `0..k` of `lanes`
    /// as plain digits, leaving the other lanes as they are.
    fn spread(&self, items: &[u64], lanes: &mut Lanes);
    /// Lanes `0..k` of `lanes` (plain digits below `2m`), fully reduced, into the `k` items of
    /// `out`.
    fn gather(&self, lanes: &[u64], out: &mut [u64]);
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
