//! Products of powers over shared bases, `out[s·r + j] = Π_i bases[s·k + i] ^ rows[j·k + i]`:
//! the operand checks both engines run, and the product tree over groups of items.

use super::{Backend, Exponents, LimbBatch, Secrecy};
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// Checks the operands of [`Backend::multi_exp`]; returns `(samples, rows)`.
pub(crate) fn check_multi_exp_operands(
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
    per_row: usize,
) -> Result<(usize, usize)> {
    let invalid = |what: String| Err(Error::InvalidParameter(what));
    if per_row == 0 {
        return invalid("a multi-exponentiation needs at least one base per row".into());
    }
    if bases.limbs_per_item() != modulus.len() {
        return invalid("base width differs from the modulus".into());
    }
    if exponents.secrecy != Secrecy::Public {
        return invalid("multi-exponentiation branches on its exponents: public ones only".into());
    }
    if !bases.len().is_multiple_of(per_row) || !exponents.values.len().is_multiple_of(per_row) {
        return invalid(format!(
            "{} bases and {} exponents do not split into rows of {per_row}",
            bases.len(),
            exponents.values.len()
        ));
    }
    let rows = exponents.values.len() / per_row;
    if rows == 0 && !bases.is_empty() {
        return invalid("no exponent rows".into());
    }
    Ok((bases.len() / per_row, rows))
}

/// The product of each group of `group` consecutive items, as a tree of batched products.
pub fn product_of_groups<B: Backend + ?Sized>(
    backend: &B,
    modulus: &MontgomeryModulus,
    mut items: LimbBatch,
    mut group: usize,
) -> Result<LimbBatch> {
    let width = modulus.len();
    while group > 1 {
        let groups = items.len() / group;
        let pairs = group / 2;
        let (mut left, mut right) = (LimbBatch::new(width), LimbBatch::new(width));
        for g in 0..groups {
            for t in 0..pairs {
                left.push(items.item(g * group + t))?;
                right.push(items.item(g * group + t + group.div_ceil(2)))?;
            }
        }
        let products = backend.modmul(modulus, &left, &right)?;
        // Each group keeps its products, and its middle item when the group is odd.
        let next_group = group.div_ceil(2);
        let mut next = LimbBatch::new(width);
        next.reserve(groups * next_group);
        for g in 0..groups {
            for t in 0..pairs {
                next.push(products.item(g * pairs + t))?;
            }
            if group % 2 == 1 {
                next.push(items.item(g * group + pairs))?;
            }
        }
        items = next;
        group = next_group;
    }
    Ok(items)
}
