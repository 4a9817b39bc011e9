//! Products of powers over shared bases on the CPU (Straus, `bigint/multi_pow.rs`): samples
//! eight at a time in the two-digit lanes where the CPU has AVX-512 IFMA and the modulus is a
//! public square (n²), else one at a time.

use rayon::prelude::*;

use crate::backend::multi_exp::check_multi_exp_operands;
use crate::backend::operation::MultiExp;
use crate::backend::LimbBatch;
use crate::bigint::multi_pow::PublicMultiPow;
use crate::bigint::{lanes_for_public_square_vartime, lanes_pay, ExponentRows, LANES};
use crate::error::Result;

/// `out[s·rows + j] = Π_i bases[s·per_row + i] ^ exponents[j·per_row + i] mod m`.
pub(in crate::backend::cpu) fn multi_exp(op: &MultiExp<'_>) -> Result<LimbBatch> {
    let (samples, rows) = check_multi_exp_operands(op.modulus, op.bases, op.exponents, op.per_row)?;
    let s = op.modulus.len();
    let row_exponents = ExponentRows {
        limbs: op.exponents.values.as_flat(),
        limbs_per_exponent: op.exponents.values.limbs_per_item(),
        per_row: op.per_row,
    };
    let mut out = vec![0u64; samples * rows * s];
    if out.is_empty() {
        return LimbBatch::from_flat(s, out);
    }
    let engine = PublicMultiPow::new(op.modulus);
    let lanes = lanes_for_public_square_vartime(op.modulus, samples);
    // A task takes up to eight samples for the lanes, else one; a tail too short for the lanes
    // runs one sample after the other. Each sample's bases' tables serve every row.
    let per_task = if lanes.is_some() { LANES } else { 1 };
    out.par_chunks_mut(per_task * rows * s)
        .zip(op.bases.as_flat().par_chunks(per_task * op.per_row * s))
        .for_each(|(out, group)| match &lanes {
            Some(lanes) if lanes_pay(group.len() / (op.per_row * s).max(1)) => {
                lanes.multi_pow_public(group, &row_exponents, out)
            }
            _ => out
                .chunks_mut(rows * s)
                .zip(group.chunks(op.per_row * s))
                .for_each(|(out, sample)| engine.run(sample, &row_exponents, out)),
        });
    LimbBatch::from_flat(s, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Exponents, Secrecy};
    use crate::bigint::{biguint_from_limbs, limbs_from_biguint, MontgomeryModulus};
    use num_bigint::{BigUint, RandBigInt};
    use rand::SeedableRng;

    fn batch(values: &[BigUint], limbs: usize) -> LimbBatch {
        let flat = values
            .iter()
            .flat_map(|v| limbs_from_biguint(v, limbs).unwrap())
            .collect();
        LimbBatch::from_flat(limbs, flat).unwrap()
    }

    /// Every sample count from 1 to 19 modulo n² (groups of eight in the lanes where the CPU has
    /// IFMA, tails of one to seven, the shortest one at a time) and modulo an odd number that is
    /// no square (one at a time everywhere), against num-bigint, some bases past m.
    #[test]
    fn every_sample_count_equals_the_products_of_powers() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(47);
        let n = rng.gen_biguint(512) | BigUint::from(1u32) | (BigUint::from(1u32) << 511);
        let (per_row, rows) = (3, 2);
        for m in [&n * &n, &n * &n + 2u32] {
            let modulus = MontgomeryModulus::new(&m).unwrap();
            let weights: Vec<BigUint> = (0..rows * per_row)
                .map(|t| match t {
                    1 => BigUint::default(),
                    _ => rng.gen_biguint(64),
                })
                .collect();
            let exponents = Exponents {
                values: batch(&weights, 1),
                bits: 64,
                secrecy: Secrecy::Public,
            };
            for samples in 1..=19 {
                // Every seventh base near the top of the limb width, past m: unreduced bases
                // are reduced like the others.
                let top = BigUint::from(1u32) << (64 * modulus.len());
                let bases: Vec<BigUint> = (0..samples * per_row)
                    .map(|i| match i % 7 {
                        0 => &top - 1u32 - rng.gen_biguint(64),
                        _ => rng.gen_biguint_below(&m),
                    })
                    .collect();
                let op = MultiExp {
                    modulus: &modulus,
                    bases: &batch(&bases, modulus.len()),
                    exponents: &exponents,
                    per_row,
                };
                let out = multi_exp(&op).unwrap();
                assert_eq!(out.len(), samples * rows);
                for (at, value) in out.as_flat().chunks_exact(modulus.len()).enumerate() {
                    let (sample, row) = (at / rows, at % rows);
                    let expected = (0..per_row).fold(BigUint::from(1u32), |acc, i| {
                        let base = &bases[sample * per_row + i];
                        acc * (base % &m).modpow(&weights[row * per_row + i], &m) % &m
                    });
                    assert_eq!(
                        biguint_from_limbs(value),
                        expected,
                        "{samples} samples, {at}"
                    );
                }
            }
        }
    }
}
