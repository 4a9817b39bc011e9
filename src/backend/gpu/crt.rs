//! Decoding on the device: the CRT exponentiations (one where every honest plaintext is below p,
//! see `backend/one_prime.rs`; else two), then the recombination and the masked popcount,
//! chained in one submission per chunk so that only distances come back.

use super::dispatch::{Operand, Pass, Source};
use super::kernels::Kernel;
use super::params::{one_dispatch, Params};
use super::words::exponent_words;
use super::GpuBackend;
use crate::backend::{CrtKey, Exponents, LimbBatch};
use crate::error::Result;

/// Scratch slots of the x_p and x_q intermediates (after the exponentiation's own slots).
const X_P_SLOT: usize = 2;
const X_Q_SLOT: usize = 3;

impl GpuBackend {
    /// The recombination constants: P | Q | P⁻¹ | Q⁻¹ (2-adic) | h_p·R | h_q·R | q⁻¹·R mod p.
    fn crt_consts_buffer(&self, key: &CrtKey) -> Result<wgpu::Buffer> {
        let mut limbs = key.p.modulus_limbs().to_vec();
        limbs.extend_from_slice(key.q.modulus_limbs());
        limbs.extend_from_slice(&key.p_inverse);
        limbs.extend_from_slice(&key.q_inverse);
        limbs.extend_from_slice(key.p.to_montgomery(&key.h_p).as_limbs());
        limbs.extend_from_slice(key.q.to_montgomery(&key.h_q).as_limbs());
        limbs.extend_from_slice(key.p.to_montgomery(&key.q_inv_mod_p).as_limbs());
        let buffer = self.constants_buffer(&limbs);
        zeroize::Zeroize::zeroize(&mut limbs);
        buffer
    }

    pub(super) fn crt_decode_on_device(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        crate::backend::check_crt_operands(key, bases_p, bases_q, masks)?;
        self.check_health()?;
        let count = bases_p.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        // Every honest plaintext below p: x_p alone gives it (backend/one_prime.rs), the same
        // rule as the CPU's, so that spot checks compare like with like.
        let one_prime = key.one_prime_covers(masks);
        let s = self.gpu_limbs(&key.p); // limbs of p and q
        let w = self.gpu_limbs(&key.p_squared); // limbs of p² and q² (and of x_p, x_q)
        let consts_p = self.consts_buffer(&key.p_squared)?;
        let consts_q = self.consts_buffer(&key.q_squared)?;
        let consts_crt = self.crt_consts_buffer(key)?;
        let exponent_buffer = |e: &Exponents| {
            let mut words = exponent_words(e.values.as_flat());
            let buffer = self.storage_buffer("paillier-gpu exponent", &words);
            zeroize::Zeroize::zeroize(&mut words);
            buffer
        };
        let exp_p = exponent_buffer(&key.exponent_p);
        let mask_buffer =
            self.storage_buffer("paillier-gpu masks", &exponent_words(masks.as_flat()));
        // The residues c mod p² and c mod q² reveal the factors: the host copies are wiped.
        // Borrowed from the wiped residue batches, or a copy wiped on drop.
        let words_p = self.words_of(bases_p);
        let shared = Operand::Cyclic {
            items: 1,
            offset: 0,
        };
        let pass_p = self.modexp_pass(
            &key.p_squared,
            &consts_p,
            Source::PerItem {
                words: &words_p,
                item_words: w,
            },
            Source::Whole(&exp_p),
            shared,
            key.exponent_p.values.limbs_per_item() * 2,
            key.exponent_p.bits,
            Source::Scratch {
                slot: X_P_SLOT,
                item_words: w,
            },
        )?;
        // With one prime, binding 6 reads x_p again and the kernel never looks at it.
        let x_q_slot = if one_prime { X_P_SLOT } else { X_Q_SLOT };
        let (exp_q, words_q);
        let pass_q = if one_prime {
            None
        } else {
            exp_q = exponent_buffer(&key.exponent_q);
            words_q = self.words_of(bases_q);
            Some(self.modexp_pass(
                &key.q_squared,
                &consts_q,
                Source::PerItem {
                    words: &words_q,
                    item_words: w,
                },
                Source::Whole(&exp_q),
                shared,
                key.exponent_q.values.limbs_per_item() * 2,
                key.exponent_q.bits,
                Source::Scratch {
                    slot: X_Q_SLOT,
                    item_words: w,
                },
            )?)
        };
        let recombine = Pass {
            kernel: Kernel::Crt,
            shape: self.shape(s),
            params: Params {
                m0_inv: self.m0_inv(&key.p),
                m0_inv_q: self.m0_inv(&key.q),
                x_limbs: w as u32,
                mask_words: (masks.limbs_per_item() * 2) as u32,
                primes: if one_prime { 1 } else { 2 },
                ..Params::default()
            },
            program: one_dispatch(),
            bindings: vec![
                (0, Source::Kept(&consts_crt)),
                (
                    2,
                    Source::Scratch {
                        slot: X_P_SLOT,
                        item_words: w,
                    },
                ),
                (3, Source::Whole(&mask_buffer)),
                (4, Source::Output { item_words: 1 }),
                (
                    6,
                    Source::Scratch {
                        slot: x_q_slot,
                        item_words: w,
                    },
                ),
            ],
            first: None,
            operand: Operand::Cyclic {
                items: masks.len(),
                offset: 0,
            },
        };
        let passes: Vec<Pass<'_>> = std::iter::once(pass_p)
            .chain(pass_q)
            .chain(std::iter::once(recombine))
            .collect();
        Ok(self.run(&passes, count)?.words().to_vec())
    }
}
