//! `bases[i] ^ exponents[i] mod m` on the CPU: public exponents one by one (sliding windows),
//! secret ones two at a time in constant time.

use crate::backend::cpu::{map_item_pairs, map_items};
use crate::backend::operation::Modexp;
use crate::backend::{LimbBatch, Secrecy};
use crate::error::{Error, Result};

/// `out[i] = bases[i] ^ exponents[i % k] mod m`.
pub(in crate::backend::cpu) fn modexp(op: &Modexp<'_>) -> Result<LimbBatch> {
    if op.bases.limbs_per_item() != op.modulus.len() {
        return Err(Error::InvalidParameter(
            "base width differs from the modulus".into(),
        ));
    }
    if op.exponents.values.is_empty() && !op.bases.is_empty() {
        return Err(Error::InvalidParameter("empty exponent batch".into()));
    }
    let k = op.exponents.values.len().max(1);
    let s = op.modulus.len();
    let exponent = |i: usize| op.exponents.values.item(i % k);
    Ok(match op.exponents.secrecy {
        Secrecy::Public => map_items(op.bases, s, |i, base, out| {
            let r = op
                .modulus
                .pow_vartime(&op.modulus.to_montgomery(base), exponent(i));
            out.copy_from_slice(&op.modulus.from_montgomery(&r));
        }),
        // Secret exponents (decryption's p − 1, q − 1) in pairs: see `pow_secret_pair`.
        Secrecy::Secret => map_item_pairs(
            op.bases,
            s,
            |i, (x, out_x), (y, out_y)| {
                let (bx, by) = (op.modulus.to_montgomery(x), op.modulus.to_montgomery(y));
                let (rx, ry) = op.modulus.pow_secret_pair(
                    op.modulus,
                    (&bx, exponent(i)),
                    (&by, exponent(i + 1)),
                    op.exponents.bits,
                );
                out_x.copy_from_slice(&op.modulus.from_montgomery(&rx));
                out_y.copy_from_slice(&op.modulus.from_montgomery(&ry));
            },
            |i, base, out| {
                let b = op.modulus.to_montgomery(base);
                let r = op.modulus.pow_secret(&b, exponent(i), op.exponents.bits);
                out.copy_from_slice(&op.modulus.from_montgomery(&r));
            },
        ),
    })
}
