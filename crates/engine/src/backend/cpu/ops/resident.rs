//! Products over a resident batch on the CPU: its host copy is the operand.

use super::modmul::{modmul, modmul_into};
use crate::backend::operation::{Modmul, ModmulResident};
use crate::backend::LimbBatch;
use crate::error::Result;

/// `out[i] = item[range.start + i] · b[i % k] mod m` from the host copy.
pub(in crate::backend::cpu) fn modmul_resident(op: &ModmulResident<'_>) -> Result<LimbBatch> {
    let items = op.batch.host_items(op.range.clone())?;
    modmul(&Modmul {
        modulus: op.modulus,
        a: items.as_ref(),
        b: op.b,
    })
}

/// [`modmul_resident`] into `out`, `range.len()` items of the modulus's width.
pub(in crate::backend::cpu) fn modmul_resident_into(
    op: &ModmulResident<'_>,
    out: &mut [u64],
) -> Result<()> {
    let items = op.batch.host_items(op.range.clone())?;
    let product = Modmul {
        modulus: op.modulus,
        a: items.as_ref(),
        b: op.b,
    };
    modmul_into(&product, out)
}
