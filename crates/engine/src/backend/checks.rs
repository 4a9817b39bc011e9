//! The operand checks every backend runs before it computes.

use super::*;
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// Checks the shapes every backend operation requires; shared by the implementations.
pub(crate) fn check_operands(
    modulus: &MontgomeryModulus,
    a: &LimbBatch,
    b: &LimbBatch,
) -> Result<()> {
    if a.limbs_per_item() != modulus.len() || b.limbs_per_item() != modulus.len() {
        return Err(Error::InvalidParameter(format!(
            "operands of {} and {} limbs for a {}-limb modulus",
            a.limbs_per_item(),
            b.limbs_per_item(),
            modulus.len()
        )));
    }
    if b.is_empty() && !a.is_empty() {
        return Err(Error::InvalidParameter("empty operand batch".into()));
    }
    Ok(())
}

/// Checks a [`Backend::fixed_base_pow`] call: the table matches the modulus and covers the
/// exponents. Shared by the implementations.
pub(crate) fn check_fixed_base_operands(
    modulus: &MontgomeryModulus,
    table: &crate::bigint::FixedBaseTable,
    exponents: &Exponents,
) -> Result<()> {
    if table.limbs() != modulus.len() {
        return Err(Error::InvalidParameter(
            "table width differs from the modulus".into(),
        ));
    }
    if exponents.bits > table.exponent_bits() {
        return Err(Error::InvalidParameter(format!(
            "{}-bit exponents for a table covering {} bits",
            exponents.bits,
            table.exponent_bits()
        )));
    }
    Ok(())
}

/// Checks the shapes of a [`Backend::crt_decode`] call; shared by the implementations.
pub(crate) fn check_crt_operands(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    masks: &LimbBatch,
) -> Result<()> {
    // Decoding with one prime leaves the bases modulo q² out (backend/one_prime.rs).
    let q_left_out = bases_q.is_empty() && key.one_prime_covers(masks);
    if (bases_p.len() != bases_q.len() && !q_left_out)
        || bases_p.limbs_per_item() != key.p_squared.len()
        || bases_q.limbs_per_item() != key.q_squared.len()
    {
        return Err(Error::InvalidParameter(
            "CRT bases do not match the key".into(),
        ));
    }
    if masks.is_empty() && !bases_p.is_empty() {
        return Err(Error::InvalidParameter("empty mask batch".into()));
    }
    if masks.limbs_per_item() > 2 * key.p.len() {
        return Err(Error::InvalidParameter(
            "masks wider than the plaintexts".into(),
        ));
    }
    Ok(())
}
