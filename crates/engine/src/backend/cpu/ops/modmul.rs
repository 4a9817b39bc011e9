//! `a[i] · b[i] mod m` on the CPU, with each multiplier prepared once.

use rayon::prelude::*;

use crate::backend::cpu::MIN_ITEMS_PER_TASK;
use crate::backend::operation::Modmul;
use crate::backend::{check_operands, LimbBatch};
use crate::error::{Error, Result};

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
