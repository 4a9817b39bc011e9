//! `bases[i] ^ exponents[i] mod m` on the CPU: public exponents one by one (sliding windows),
//! secret ones two at a time in constant time.

use super::{map_item_pairs, map_items};
use crate::error::{Error, Result};
use crate::hazmat::backend::{Exponents, LimbBatch, Secrecy};
use crate::hazmat::bigint::MontgomeryModulus;

/// `out[i] = bases[i] ^ exponents[i % k] mod m`.
pub(super) fn modexp(
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
) -> Result<LimbBatch> {
    if bases.limbs_per_item() != modulus.len() {
        return Err(Error::InvalidParameter(
            "base width differs from the modulus".into(),
        ));
    }
    if exponents.values.is_empty() && !bases.is_empty() {
        return Err(Error::InvalidParameter("empty exponent batch".into()));
    }
    let k = exponents.values.len().max(1);
    let s = modulus.len();
    let exponent = |i: usize| exponents.values.item(i % k);
    Ok(match exponents.secrecy {
        Secrecy::Public => map_items(bases, s, |i, base, out| {
            let r = modulus.pow_vartime(&modulus.to_montgomery(base), exponent(i));
            out.copy_from_slice(&modulus.from_montgomery(&r));
        }),
        // Secret exponents (decryption's p − 1, q − 1) in pairs: see `pow_secret_pair`.
        Secrecy::Secret => map_item_pairs(
            bases,
            s,
            |i, (x, out_x), (y, out_y)| {
                let (bx, by) = (modulus.to_montgomery(x), modulus.to_montgomery(y));
                let (rx, ry) = modulus.pow_secret_pair(
                    modulus,
                    (&bx, exponent(i)),
                    (&by, exponent(i + 1)),
                    exponents.bits,
                );
                out_x.copy_from_slice(&modulus.from_montgomery(&rx));
                out_y.copy_from_slice(&modulus.from_montgomery(&ry));
            },
            |i, base, out| {
                let b = modulus.to_montgomery(base);
                let r = modulus.pow_secret(&b, exponent(i), exponents.bits);
                out.copy_from_slice(&modulus.from_montgomery(&r));
            },
        ),
    })
}
