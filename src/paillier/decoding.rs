//! Decoding's host side: ciphertexts reduced modulo p² and q² (the bases of the CRT
//! exponentiations; modulo p² alone where one prime decodes), and decoding pipelined so that a
//! GPU decodes one piece while the host reduces the next.

use std::ops::Range;

use num_bigint::BigUint;
use num_traits::Zero;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::SecretKey;
use crate::error::{Error, Result};
use crate::hazmat::backend::ChunkCount;
use crate::hazmat::backend::{pipeline, Backend, LimbBatch};
use crate::hazmat::bigint::{biguint_from_limbs, limbs_from_biguint, WipedBigUint};

impl SecretKey {
    /// Reduces ciphertexts (already checked to lie in `[1, n²)`) modulo p² and q², refusing any
    /// that shares a factor with n (it is not a unit, and would reveal the factor). The residues
    /// reveal p and q together with the ciphertexts, so they live in wiped batches. Constant
    /// time where the key's widths allow it ([`CrtKey::residues`]: every key this crate
    /// generates at a key_len that is a multiple of 64).
    ///
    /// With `one_prime` (a decoding that [`CrtKey::one_prime_covers`]), only the residues
    /// modulo p² are made and only p is looked for ([`CrtKey::residue_p`]): half the host's
    /// work; the batch modulo q² comes back empty.
    ///
    /// [`CrtKey::one_prime_covers`]: crate::hazmat::backend::CrtKey::one_prime_covers
    pub(super) fn crt_bases(
        &self,
        ciphertexts: &Ciphertexts<'_>,
        one_prime: bool,
    ) -> Result<(Zeroizing<LimbBatch>, Zeroizing<LimbBatch>)> {
        let crt = self.crt();
        let (width_p, width_q) = (crt.p_squared().len(), crt.q_squared().len());
        let q_items = if one_prime { 0 } else { ciphertexts.len() };
        let mut bases_p = Zeroizing::new(vec![0u64; ciphertexts.len() * width_p]);
        let mut bases_q = Zeroizing::new(vec![0u64; q_items * width_q]);
        let limbs = crt.ciphertext_limbs();
        // Where the limb reduction does not apply: the moduli as integers, secret, so wiped
        // when dropped (errors included), as are the residues.
        let secret = WipedBigUint;
        let moduli = limbs.is_none().then(|| {
            [crt.p(), crt.q(), crt.p_squared(), crt.q_squared()].map(|m| secret(m.modulus()))
        });
        // Ciphertext i's residues (modulo q² where `out_q` is given), and whether it shares a
        // factor with n (with p alone without `out_q`).
        let reduce = |i: usize, out_p: &mut [u64], out_q: Option<&mut [u64]>| -> Result<bool> {
            let Some([p, q, p_sq, q_sq]) = &moduli else {
                // Constant time in p and q: limb arithmetic, no division. A batch's limbs are
                // used as they are (no big integer per ciphertext).
                let width = limbs.unwrap_or_default();
                let converted;
                let c: &[u64] = match ciphertexts {
                    Ciphertexts::Limbs { flat, width: w } if *w == width => {
                        &flat[i * width..(i + 1) * width]
                    }
                    _ => {
                        converted = limbs_from_biguint(&ciphertexts.get(i), width)?;
                        &converted
                    }
                };
                let shares = match out_q {
                    Some(out_q) => crt.residues(c, out_p, out_q),
                    None => crt.residue_p(c, out_p),
                };
                return shares.ok_or_else(|| {
                    Error::InvalidParameter(
                        "the limb reduction refused widths it had accepted (a bug)".into(),
                    )
                });
            };
            let c = &*ciphertexts.get(i);
            // num-bigint's division: not constant-time.
            let c_p = secret(c % &**p_sq);
            if secret(&*c_p % &**p).is_zero() {
                return Ok(true);
            }
            out_p.copy_from_slice(&Zeroizing::new(limbs_from_biguint(&c_p, width_p)?));
            if let Some(out_q) = out_q {
                let c_q = secret(c % &**q_sq);
                if secret(&*c_q % &**q).is_zero() {
                    return Ok(true);
                }
                out_q.copy_from_slice(&Zeroizing::new(limbs_from_biguint(&c_q, width_q)?));
            }
            Ok(false)
        };
        // Per ciphertext, on every core.
        let shares_factor = if one_prime {
            bases_p
                .par_chunks_mut(width_p)
                .enumerate()
                .map(|(i, out_p)| reduce(i, out_p, None))
                .collect::<Result<Vec<bool>>>()?
        } else {
            bases_p
                .par_chunks_mut(width_p)
                .zip(bases_q.par_chunks_mut(width_q))
                .enumerate()
                .map(|(i, (out_p, out_q))| reduce(i, out_p, Some(out_q)))
                .collect::<Result<Vec<bool>>>()?
        };
        if let Some(index) = shares_factor.iter().position(|&shares| shares) {
            return Err(Error::InvalidCiphertext {
                index,
                reason: "ciphertext shares a factor with n".into(),
            });
        }
        let take = |flat: &mut Zeroizing<Vec<u64>>, width| {
            LimbBatch::from_flat(width, std::mem::take(&mut **flat)).map(Zeroizing::new)
        };
        Ok((take(&mut bases_p, width_p)?, take(&mut bases_q, width_q)?))
    }

    /// Decrypts ciphertexts (checked to lie in `[1, n²)`) and returns `popcount(m & mask)` for
    /// each (or the response checks it failed), with `masks` applied cyclically: everything on the backend, only counts come back.
    /// Where a GPU decodes, in pieces of whole cycles of `masks`: the next piece's residues are
    /// computed on the host while the device decodes the current one, and no host copy of the
    /// whole batch is made.
    pub(crate) fn decode_values(
        &self,
        backend: &dyn Backend,
        ciphertexts: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<ChunkCount>> {
        let count = ciphertexts.len();
        let all = Ciphertexts::limbs(ciphertexts);
        let pieces = pipeline::pieces(backend, count, masks.len());
        let one_prime = self.crt().one_prime_covers(masks);
        // A piece's residues; the errors of the reduction name ciphertexts of the whole.
        let bases = |range: Range<usize>| {
            let start = range.start;
            self.crt_bases(&all.slice(range), one_prime)
                .map_err(|e| of_the_whole(e, start))
        };
        if pieces.len() <= 1 {
            let (bases_p, bases_q) = bases(0..count)?;
            return Ok(backend.crt_decode(self.crt(), &bases_p, &bases_q, masks)?);
        }
        let mut counts = vec![ChunkCount::default(); count];
        pipeline::pipelined(&pieces, &mut counts, 1, bases, |(bases_p, bases_q), out| {
            let piece = backend.crt_decode(self.crt(), &bases_p, &bases_q, masks)?;
            if piece.len() != out.len() {
                return Err(Error::InvalidParameter(format!(
                    "{} counts for a piece of {}",
                    piece.len(),
                    out.len()
                )));
            }
            out.copy_from_slice(&piece);
            Ok(())
        })?;
        Ok(counts)
    }
}

/// `error` of a piece that starts at item `start`, naming its ciphertext's place in the whole.
pub(super) fn of_the_whole(error: Error, start: usize) -> Error {
    match error {
        Error::InvalidCiphertext { index, reason } => Error::InvalidCiphertext {
            index: start + index,
            reason,
        },
        other => other,
    }
}

/// Ciphertexts to reduce: as integers (the SDK's boundary) or as flat limbs.
pub(super) enum Ciphertexts<'a> {
    Integers(Vec<&'a BigUint>),
    Limbs { flat: &'a [u64], width: usize },
}

impl<'a> Ciphertexts<'a> {
    /// The ciphertexts of a limb batch.
    pub(super) fn limbs(batch: &'a LimbBatch) -> Self {
        Ciphertexts::Limbs {
            flat: batch.as_flat(),
            width: batch.limbs_per_item(),
        }
    }

    /// The ciphertexts `range` of these.
    pub(super) fn slice(&self, range: Range<usize>) -> Ciphertexts<'a> {
        match self {
            Ciphertexts::Integers(values) => Ciphertexts::Integers(values[range].to_vec()),
            Ciphertexts::Limbs { flat, width } => Ciphertexts::Limbs {
                flat: &flat[range.start * width..range.end * width],
                width: *width,
            },
        }
    }

    pub(super) fn len(&self) -> usize {
        match self {
            Ciphertexts::Integers(values) => values.len(),
            Ciphertexts::Limbs { flat, width } => flat.len() / (*width).max(1),
        }
    }

    /// Ciphertext `i` as an integer (public: no wiping needed).
    pub(super) fn get(&self, i: usize) -> std::borrow::Cow<'_, BigUint> {
        match self {
            Ciphertexts::Integers(values) => std::borrow::Cow::Borrowed(values[i]),
            Ciphertexts::Limbs { flat, width } => {
                std::borrow::Cow::Owned(biguint_from_limbs(&flat[i * width..(i + 1) * width]))
            }
        }
    }
}

#[cfg(test)]
mod probe {
    use super::*;
    use crate::paillier::{generate_keypair, KeyGenOptions, Scheme};
    use num_bigint::RandBigInt;

    #[test]
    #[ignore = "timing, run by hand"]
    fn crt_bases_timing() {
        let (pk, sk) = generate_keypair(Scheme::Paillier, 1024, &KeyGenOptions::default()).unwrap();
        let n2 = pk.n() * pk.n();
        let mut rng = rand::thread_rng();
        let width = sk.crt().ciphertext_limbs().unwrap();
        let count = 32768;
        let mut flat = vec![0u64; count * width];
        for item in flat.chunks_mut(width) {
            item.copy_from_slice(&limbs_from_biguint(&rng.gen_biguint_below(&n2), width).unwrap());
        }
        for _ in 0..3 {
            let start = std::time::Instant::now();
            let bases = sk
                .crt_bases(&Ciphertexts::Limbs { flat: &flat, width }, true)
                .unwrap();
            eprintln!(
                "crt_bases {count}: {:?} ({} threads)",
                start.elapsed(),
                rayon::current_num_threads()
            );
            drop(bases);
        }
    }
}
