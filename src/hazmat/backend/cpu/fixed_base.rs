//! `g ^ exponents[i] mod m` on the CPU from a fixed-base table, a block of exponents per task.

use rayon::prelude::*;

use crate::error::Result;
use crate::hazmat::backend::{check_fixed_base_operands, Exponents, LimbBatch};
use crate::hazmat::bigint::{FixedBaseTable, MontgomeryModulus, POW_BLOCK};

/// `out[i] = g ^ exponents[i] mod m`, in constant time over `exponents.bits` bits.
pub(super) fn fixed_base_pow(
    modulus: &MontgomeryModulus,
    table: &FixedBaseTable,
    exponents: &Exponents,
) -> Result<LimbBatch> {
    check_fixed_base_operands(modulus, table, exponents)?;
    let s = modulus.len();
    let exponent_limbs = exponents.values.limbs_per_item();
    let mut out = vec![0u64; exponents.values.len() * s];
    // Blocks of exponents, so that each row of the table is read from memory once a block.
    out.par_chunks_mut(POW_BLOCK * s)
        .zip(
            exponents
                .values
                .as_flat()
                .par_chunks(POW_BLOCK * exponent_limbs),
        )
        .for_each(|(out, block)| {
            table.pow_block_into(modulus, block, exponent_limbs, exponents.bits, out);
        });
    LimbBatch::from_flat(s, out)
}
