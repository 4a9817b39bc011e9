//! CRT decoding and decryption on the CPU: the secret powers modulo p² and q² (eight at a time in
//! the multi-buffer lanes where the CPU has them), then the checks and the recombination.

use rayon::prelude::*;

use crate::backend::crt_decryption::{modulo_p_all, recombine_all};
use crate::backend::operation::{CrtDecode, CrtDecrypt};
use crate::backend::{check_crt_operands, check_decrypt_operands, CrtKey, LimbBatch};
use crate::backend::{chunk_count, ChunkCount};
use crate::bigint::LANES;
use crate::error::Result;

/// Distances (or defect tags) for each response: see [`Backend::crt_decode`](crate::backend::Backend::crt_decode).
pub(in crate::backend::cpu) fn crt_decode(op: &CrtDecode<'_>) -> Result<Vec<ChunkCount>> {
    check_crt_operands(op.key, op.bases_p, op.bases_q, op.masks)?;
    if op.key.one_prime_covers(op.masks) {
        // Every honest plaintext is below p: c^e_p mod p² alone gives it (one_prime.rs).
        let x_p = secret_powers(op.key, false, op.bases_p);
        let k = op.masks.len().max(1);
        return Ok((0..x_p.len())
            .into_par_iter()
            .map(|i| op.key.decode_one_prime(x_p.item(i), op.masks.item(i % k)))
            .collect());
    }
    crt_decode_two_primes(op.key, op.bases_p, op.bases_q, op.masks)
}

/// Whole plaintexts: see [`Backend::crt_decrypt`](crate::backend::Backend::crt_decrypt).
pub(in crate::backend::cpu) fn crt_decrypt(op: &CrtDecrypt<'_>) -> Result<LimbBatch> {
    check_decrypt_operands(op.key, op.bases_p, op.bases_q, op.one_prime)?;
    if op.one_prime {
        return modulo_p_all(op.key, &secret_powers(op.key, false, op.bases_p));
    }
    // The key's own engines, as decoding's: two digits modulo the prime where they pay.
    let (x_p, x_q) = (
        secret_powers(op.key, false, op.bases_p),
        secret_powers(op.key, true, op.bases_q),
    );
    recombine_all(op.key, &x_p, &x_q)
}

/// `bases[i]^e mod p²` (`prime_q` false) or `mod q²`, on every core; wiped when dropped.
/// Eight at a time in the lanes of the multi-buffer engine where the CPU has one, else in pairs.
fn secret_powers(key: &CrtKey, prime_q: bool, bases: &LimbBatch) -> zeroize::Zeroizing<LimbBatch> {
    let width = bases.limbs_per_item();
    let mut out = zeroize::Zeroizing::new(vec![0u64; bases.as_flat().len()]);
    out.par_chunks_mut(LANES * width)
        .zip(bases.as_flat().par_chunks(LANES * width))
        .for_each(|(out, group)| {
            if key.pow_secret_mod_square_lanes(prime_q, group, out) {
                return;
            }
            for (pair, out) in group.chunks(2 * width).zip(out.chunks_mut(2 * width)) {
                if pair.len() == 2 * width {
                    let (x, y) = pair.split_at(width);
                    let (out_x, out_y) = out.split_at_mut(width);
                    key.pow_secret_mod_square_pair(prime_q, (x, out_x), (y, out_y));
                } else {
                    key.pow_secret_mod_square(prime_q, pair, out);
                }
            }
        });
    zeroize::Zeroizing::new(LimbBatch {
        limbs_per_item: width,
        data: std::mem::take(&mut *out),
    })
}

/// [`Backend::crt_decode`] with both primes, whatever the masks: what decoding does where
/// one prime does not cover the plaintexts, and the reference one prime is tested against.
pub(crate) fn crt_decode_two_primes(
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    masks: &LimbBatch,
) -> Result<Vec<ChunkCount>> {
    check_crt_operands(key, bases_p, bases_q, masks)?;
    // c^e mod p² and mod q², and the plaintexts: wiped when dropped.
    let (x_p, x_q) = (
        secret_powers(key, false, bases_p),
        secret_powers(key, true, bases_q),
    );
    let k = masks.len().max(1);
    (0..x_p.len())
        .into_par_iter()
        .map(|i| {
            // In limbs throughout; limbs above the masks' width count as bits above every slot.
            let mut m = zeroize::Zeroizing::new(vec![0u64; key.plaintext_limbs()]);
            let in_subgroup = key.recombine_into(x_p.item(i), x_q.item(i), &mut m);
            Ok(chunk_count::count_or_defect(
                &m,
                masks.item(i % k),
                in_subgroup,
            ))
        })
        .collect()
}
