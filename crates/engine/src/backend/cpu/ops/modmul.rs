//! `a[i] · b[i] mod m` on the CPU, with each multiplier prepared once.

use rayon::prelude::*;

use crate::backend::cpu::MIN_ITEMS_PER_TASK;
use crate::backend::operation::Modmul;
use crate::backend::{check_operands, LimbBatch};
use crate::bigint::{below_public, product_lanes, MontgomeryModulus, LANES};
use crate::error::{Error, Result};

/// Fewest items that run in the lanes: building them costs a few products of `BigUint`s, and a
/// short last group costs a whole one.
const MIN_ITEMS_IN_LANES: usize = 64;

/// Groups of eight a task takes: few enough to share a batch among the cores, enough that a
/// task's scratch is made once for many groups.
const ITEMS_PER_LANE_TASK: usize = 8;

/// `out[i] = a[i] · b[i % k] mod m`.
pub(in crate::backend::cpu) fn modmul(op: &Modmul<'_>) -> Result<LimbBatch> {
    let mut out = vec![0u64; op.a.as_flat().len()];
    modmul_into(op, &mut out)?;
    LimbBatch::from_flat(op.modulus.len(), out)
}

/// `out[i] = a[i] · b[i % k] mod m`, straight into `out` (`a`'s length and width).
pub(in crate::backend::cpu) fn modmul_into(op: &Modmul<'_>, out: &mut [u64]) -> Result<()> {
    let Modmul { modulus, a, b } = *op;
    check_operands(modulus, a, b)?;
    if out.len() != a.as_flat().len() {
        return Err(Error::InvalidParameter(format!(
            "an output of {} limbs for {} products of {}",
            out.len(),
            a.len(),
            modulus.len()
        )));
    }
    if b.len() == 1
        && a.len() >= MIN_ITEMS_IN_LANES
        && every_item_below(modulus, a)
        && below_public(b.item(0), modulus.modulus_limbs())
    {
        if let Some(lanes) = product_lanes(modulus) {
            // One multiplier for every item (the aggregation's query): eight products at once.
            let prepared = lanes.prepare(b.item(0));
            let task = LANES * ITEMS_PER_LANE_TASK * modulus.len();
            out.par_chunks_mut(task)
                .zip(a.as_flat().par_chunks(task))
                .for_each(|(o, x)| lanes.mul_items(x, &prepared, o));
            return Ok(());
        }
    }
    // Preparing the operands once makes each item ONE multiplication. Preparing costs a
    // product too, so a batch of as many multipliers as items prepares them in parallel
    // (serially it was a step every core waited for in encryption's `(1 + m·n)·r^n`).
    let prepared: Vec<_> = b
        .as_flat()
        .par_chunks(b.limbs_per_item())
        .with_min_len(MIN_ITEMS_PER_TASK)
        .map(|x| modulus.prepare_multiplier(x))
        .collect();
    let k = prepared.len().max(1);
    out.par_chunks_mut(modulus.len().max(1))
        .with_min_len(MIN_ITEMS_PER_TASK)
        .zip(a.as_flat().par_chunks(a.limbs_per_item().max(1)))
        .enumerate()
        .for_each(|(i, (o, x))| modulus.mul_prepared(x, &prepared[i % k], o));
    Ok(())
}

/// Whether every item of `a` is below the modulus, as the lanes need (the one-number engines
/// take any item of the modulus's width).
fn every_item_below(modulus: &MontgomeryModulus, a: &LimbBatch) -> bool {
    let m = modulus.modulus_limbs();
    a.as_flat()
        .par_chunks(modulus.len().max(1))
        .map(|x| below_public(x, m))
        .reduce(|| true, |x, y| x & y)
}

#[cfg(test)]
mod tests {
    use num_bigint::{BigUint, RandBigInt};
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;
    use crate::bigint::{
        biguint_from_limbs, limbs_from_biguint, set_engine_preference, CpuEngine, EnginePreference,
    };

    /// One multiplier times many items (the aggregation) on every engine this CPU runs, in
    /// lanes or not, equals num-bigint's products: full and ragged groups, a modulus that
    /// fills its limbs and one that does not, and items at or above the modulus (which the
    /// lanes leave to the one-number engines).
    #[test]
    fn products_across_items_match_num_bigint_on_every_engine() {
        let _only_this_test = crate::bigint::preference_lock();
        let mut rng = StdRng::seed_from_u64(77);
        for bits in [4096u64, 3000, 2048] {
            let m =
                rng.gen_biguint(bits) | BigUint::from(1u32) | (BigUint::from(1u32) << (bits - 1));
            let width = (bits as usize).div_ceil(64);
            let b = rng.gen_biguint_below(&m);
            let items: Vec<BigUint> = (0..77).map(|_| rng.gen_biguint_below(&m)).collect();
            let mut wide = items.clone();
            wide[40] = (BigUint::from(1u32) << (64 * width)) - 1u32;
            wide[41] = m.clone();
            for engine in CpuEngine::ALL.into_iter().filter(|e| e.available()) {
                set_engine_preference(EnginePreference::Only(engine)).unwrap();
                let modulus = MontgomeryModulus::new(&m).unwrap();
                for (case, items) in [&items, &wide].into_iter().enumerate() {
                    let flat = items
                        .iter()
                        .flat_map(|x| limbs_from_biguint(x, width).unwrap())
                        .collect();
                    let a = LimbBatch::from_flat(width, flat).unwrap();
                    let bb = LimbBatch::from_flat(width, limbs_from_biguint(&b, width).unwrap())
                        .unwrap();
                    let out = modmul(&Modmul {
                        modulus: &modulus,
                        a: &a,
                        b: &bb,
                    })
                    .unwrap();
                    for (i, x) in items.iter().enumerate() {
                        let expected = x * &b % &m;
                        assert_eq!(
                            biguint_from_limbs(out.item(i)),
                            expected,
                            "{engine:?}, {bits} bits, case {case}, item {i}"
                        );
                    }
                }
            }
        }
        set_engine_preference(EnginePreference::Fastest).unwrap();
    }
}
