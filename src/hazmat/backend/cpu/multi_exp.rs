//! Products of powers over shared bases on the CPU (Straus, `bigint/multi_pow.rs`).

use rayon::prelude::*;

use crate::error::Result;
use crate::hazmat::backend::multi_exp::check_multi_exp_operands;
use crate::hazmat::backend::{Exponents, LimbBatch};
use crate::hazmat::bigint::multi_pow::PublicMultiPow;
use crate::hazmat::bigint::{ExponentRows, MontgomeryModulus};

/// `out[s·rows + j] = Π_i bases[s·per_row + i] ^ exponents[j·per_row + i] mod m`.
pub(super) fn multi_exp(
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
    per_row: usize,
) -> Result<LimbBatch> {
    let (samples, rows) = check_multi_exp_operands(modulus, bases, exponents, per_row)?;
    let s = modulus.len();
    let row_exponents = ExponentRows {
        limbs: exponents.values.as_flat(),
        limbs_per_exponent: exponents.values.limbs_per_item(),
        per_row,
    };
    let mut out = vec![0u64; samples * rows * s];
    let engine = PublicMultiPow::new(modulus);
    // One sample a task: its bases' tables serve every row (Straus, `bigint/multi_pow.rs`).
    out.par_chunks_mut((rows * s).max(1))
        .zip(bases.as_flat().par_chunks(per_row * s))
        .for_each(|(out, sample)| engine.run(sample, &row_exponents, out));
    LimbBatch::from_flat(s, out)
}
