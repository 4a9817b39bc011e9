//! Products across items in the lanes: `x_i·b mod m` for up to eight `x_i` at once and one
//! multiplier `b` prepared once (the aggregation's query times every stored record). Public
//! operands: nothing here needs to hide them, though nothing here branches on them either.

use super::aligned::Lanes;
use super::windows::LaneItems;
use super::{MultiBuffer, NarrowLanes, LANES};

/// `b·R mod m` (normal-form `b` below m) in every lane, in the engine's form: the operand of
/// [`mul_group`].
fn prepare<E: LaneItems>(engine: &E, b: &[u64]) -> Lanes {
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
/// `plain` and `product` are scratch of the engine's width, reused from group to group (lanes
/// past `k` keep an earlier group's items, whose products nobody reads).
fn mul_group<E: LaneItems>(
    engine: &E,
    (items, prepared): (&[u64], &Lanes),
    (work, plain, product): (&mut E::Work, &mut Lanes, &mut Lanes),
    out: &mut [u64],
) {
    engine.spread(items, plain);
    engine.mul(plain, prepared, work, product);
    engine.gather(product, out);
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
            let (mut plain, mut product) = (
                Lanes::zeroed(engine.vectors()),
                Lanes::zeroed(engine.vectors()),
            );
            let group = LANES * engine.limbs64();
            for (items, out) in items.chunks(group).zip(out.chunks_mut(group)) {
                let scratch = (&mut work, &mut plain, &mut product);
                mul_group(engine, (items, b), scratch, out);
            }
        }
        match self {
            Self::Ifma(engine) => run(engine, items, &b.0, out),
            Self::Narrow(engine) => run(engine, items, &b.0, out),
        }
    }
}
