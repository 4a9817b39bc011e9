//! CRT decryption to whole plaintexts ([`Backend::crt_decrypt`]), for numbers, whose plaintexts
//! span all of n: the checks every implementation shares, and the default that composes the
//! backend's own [`modexp`](Backend::modexp) with the recombination on the CPU.

use rayon::prelude::*;
use zeroize::Zeroizing;

use super::{Backend, CrtKey, LimbBatch};
use crate::error::{Error, Result};

/// Checks the shapes of a [`Backend::crt_decrypt`] call: one base modulo p² and one modulo q²
/// per ciphertext, at the key's widths.
pub(crate) fn check_decrypt_operands(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
) -> Result<()> {
    if bases_p.len() != bases_q.len()
        || bases_p.limbs_per_item() != key.p_squared.len()
        || bases_q.limbs_per_item() != key.q_squared.len()
    {
        return Err(Error::InvalidParameter(
            "CRT bases do not match the key".into(),
        ));
    }
    Ok(())
}

/// [`Backend::crt_decrypt`] from `backend`'s exponentiations modulo p² and q², recombined on
/// every core in constant time (the exponentiation results are wiped).
pub(crate) fn decrypt_with_primitives(
    backend: &(impl Backend + ?Sized),
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
) -> Result<LimbBatch> {
    check_decrypt_operands(key, bases_p, bases_q)?;
    let x_p = Zeroizing::new(backend.modexp(&key.p_squared, bases_p, &key.exponent_p)?);
    let x_q = Zeroizing::new(backend.modexp(&key.q_squared, bases_q, &key.exponent_q)?);
    recombine_all(key, &x_p, &x_q)
}

/// The plaintexts of `c^e_p mod p²` and `c^e_q mod q²` (item by item), recombined on every core
/// in constant time.
pub(crate) fn recombine_all(key: &CrtKey, x_p: &LimbBatch, x_q: &LimbBatch) -> Result<LimbBatch> {
    let width = key.plaintext_limbs();
    let mut plaintexts = vec![0u64; x_p.len() * width];
    plaintexts
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(i, m)| {
            key.recombine_into(x_p.item(i), x_q.item(i), m);
        });
    LimbBatch::from_flat(width, plaintexts)
}
