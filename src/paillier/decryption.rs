//! Decrypting a batch of ciphertexts to whole plaintexts (numbers): the residues modulo p² and
//! q² on the host, the exponentiations and the recombination on the backend
//! ([`Backend::crt_decrypt`]). On a device the batch runs in pieces, as decoding does: while the
//! device decrypts one piece, the host reduces the next one's ciphertexts.

use std::ops::Range;

use num_bigint::BigUint;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::decoding::{of_the_whole, Ciphertexts};
use super::SecretKey;
use crate::error::{Error, Result};
use crate::hazmat::backend::{pipeline, Backend, LimbBatch};
use crate::hazmat::bigint::biguint_from_limbs;

impl SecretKey {
    /// The plaintexts of `ciphertexts`, each already checked to lie in `[1, n²)`; one sharing a
    /// factor with n is refused by its index.
    pub(super) fn decrypt_reduced(
        &self,
        backend: &dyn Backend,
        ciphertexts: &Ciphertexts<'_>,
    ) -> Result<Vec<BigUint>> {
        let width = self.crt().plaintext_limbs();
        let plaintexts = self.decrypt_reduced_limbs(backend, ciphertexts, false)?;
        Ok(plaintexts
            .par_chunks(width.max(1))
            .map(biguint_from_limbs)
            .collect())
    }

    /// The whole plaintexts of a batch already checked to lie in `[1, n²)` (a
    /// [`CiphertextBatch`](crate::paillier::CiphertextBatch)'s), flat, n's width each
    /// ([`plaintext_limbs`](crate::hazmat::backend::CrtKey::plaintext_limbs)), wiped on drop:
    /// what decoding a verifiable record's fields above its slots reads.
    pub(crate) fn decrypt_batch_limbs(
        &self,
        backend: &dyn Backend,
        ciphertexts: &LimbBatch,
    ) -> Result<Zeroizing<Vec<u64>>> {
        self.decrypt_reduced_limbs(backend, &Ciphertexts::limbs(ciphertexts), false)
    }

    /// [`decrypt_batch_limbs`](Self::decrypt_batch_limbs) modulo the larger prime p alone: each
    /// plaintext modulo p, at n's width. Half the work, and the whole plaintext wherever it is
    /// below p (a verifiable record of the one-bit layout).
    pub(crate) fn decrypt_batch_limbs_mod_p(
        &self,
        backend: &dyn Backend,
        ciphertexts: &LimbBatch,
    ) -> Result<Zeroizing<Vec<u64>>> {
        self.decrypt_reduced_limbs(backend, &Ciphertexts::limbs(ciphertexts), true)
    }

    /// The larger prime p (the one [`decrypt_batch_limbs_mod_p`](Self::decrypt_batch_limbs_mod_p)
    /// decrypts modulo), as little-endian limbs. Secret.
    pub(crate) fn larger_prime_limbs(&self) -> &[u64] {
        self.crt().p().modulus_limbs()
    }

    fn decrypt_reduced_limbs(
        &self,
        backend: &dyn Backend,
        ciphertexts: &Ciphertexts<'_>,
        one_prime: bool,
    ) -> Result<Zeroizing<Vec<u64>>> {
        let count = ciphertexts.len();
        let width = self.crt().plaintext_limbs();
        // A piece's residues modulo p² and q² (p² alone with `one_prime`; secret: wiped on drop).
        let bases = |range: Range<usize>| {
            let start = range.start;
            self.crt_bases(&ciphertexts.slice(range), one_prime)
                .map_err(|e| of_the_whole(e, start))
        };
        type Bases = (Zeroizing<LimbBatch>, Zeroizing<LimbBatch>);
        let decrypt = |(bases_p, bases_q): Bases, out: &mut [u64]| {
            let piece = Zeroizing::new(match one_prime {
                true => backend.crt_decrypt_one_prime(self.crt(), &bases_p)?,
                false => backend.crt_decrypt(self.crt(), &bases_p, &bases_q)?,
            });
            let flat = piece.as_flat();
            if flat.len() != out.len() {
                return Err(Error::InvalidParameter(format!(
                    "{} plaintext limbs for a piece of {}",
                    flat.len(),
                    out.len()
                )));
            }
            out.copy_from_slice(flat);
            Ok(())
        };
        let mut plaintexts = Zeroizing::new(vec![0u64; count * width]);
        let pieces = pipeline::pieces(backend, count, 1);
        if pieces.len() <= 1 {
            decrypt(bases(0..count)?, &mut plaintexts)?;
        } else {
            pipeline::pipelined(&pieces, &mut plaintexts, width, bases, decrypt)?;
        }
        Ok(plaintexts)
    }
}
