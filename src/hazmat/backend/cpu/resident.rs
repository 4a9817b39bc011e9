//! Products over a resident batch on the CPU: its host copy is the operand.

use std::ops::Range;

use super::modmul::{modmul, modmul_into};
use crate::error::Result;
use crate::hazmat::backend::{LimbBatch, ResidentBatch};
use crate::hazmat::bigint::MontgomeryModulus;

/// `out[i] = item[range.start + i] · b[i % k] mod m` from the host copy.
pub(super) fn modmul_resident(
    modulus: &MontgomeryModulus,
    batch: &ResidentBatch,
    range: Range<usize>,
    b: &LimbBatch,
) -> Result<LimbBatch> {
    modmul(modulus, batch.host_items(range)?.as_ref(), b)
}

/// [`modmul_resident`] into `out`, `range.len()` items of the modulus's width.
pub(super) fn modmul_resident_into(
    modulus: &MontgomeryModulus,
    batch: &ResidentBatch,
    range: Range<usize>,
    b: &LimbBatch,
    out: &mut [u64],
) -> Result<()> {
    modmul_into(modulus, batch.host_items(range)?.as_ref(), b, out)
}
