//! `g ^ exponents[i] mod m` on the CPU from a fixed-base table, a block of exponents per task.

use rayon::prelude::*;

use crate::backend::operation::FixedBasePow;
use crate::backend::{check_fixed_base_operands, LimbBatch};
use crate::bigint::POW_BLOCK;
use crate::error::Result;

/// `out[i] = g ^ exponents[i] mod m`, in constant time over `exponents.bits` bits.
pub(in crate::backend::cpu) fn fixed_base_pow(op: &FixedBasePow<'_>) -> Result<LimbBatch> {
    check_fixed_base_operands(op.modulus, op.table, op.exponents)?;
    let s = op.modulus.len();
    let exponent_limbs = op.exponents.values.limbs_per_item();
    let mut out = vec![0u64; op.exponents.values.len() * s];
    // Blocks of exponents, so that each row of the table is read from memory once a block.
    out.par_chunks_mut(POW_BLOCK * s)
        .zip(
            op.exponents
                .values
                .as_flat()
                .par_chunks(POW_BLOCK * exponent_limbs),
        )
        .for_each(|(out, block)| {
            op.table
                .pow_block_into(op.modulus, block, exponent_limbs, op.exponents.bits, out);
        });
    LimbBatch::from_flat(s, out)
}
