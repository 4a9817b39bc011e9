//! Encryption on the CPU, composed from fixed-base powers and products: `base^x` (and `g^m`)
//! per share, Garner's recombination of the p² and q² shares, and the classic scheme's
//! `1 + m·n`.

use rayon::prelude::*;
use zeroize::Zeroizing;

use crate::backend::{Backend, EncryptionJob, LimbBatch, MessageForm, ResidueTables, Residues};
use crate::bigint::{limbs_from_biguint, mul_wide, MontgomeryModulus};
use crate::error::{Error, Result};

/// [`Backend::encrypt`] from `backend`'s fixed-base powers and products.
pub(crate) fn encrypt_with_primitives<B: Backend + ?Sized>(
    backend: &B,
    job: &EncryptionJob<'_>,
) -> Result<LimbBatch> {
    job.check()?;
    if job.messages.is_empty() {
        return Ok(LimbBatch::new(job.n_squared.len()));
    }
    if job.message_form != MessageForm::Value {
        return job.with_values(|job| encrypt_with_primitives(backend, job));
    }
    let combined = match job.residues {
        Residues::NSquared(share) => noise_times_g_m(backend, job, share)?,
        Residues::PrimeSquares { p, q, garner } => {
            let mut c_p = noise_times_g_m(backend, job, p)?;
            let mut c_q = noise_times_g_m(backend, job, q)?;
            let width = job.n_squared.len();
            let mut combined = vec![0u64; c_p.len() * width];
            combined
                .par_chunks_mut(width)
                .enumerate()
                .for_each(|(i, out)| garner.recombine(p.modulus, c_p.item(i), c_q.item(i), out));
            c_p.wipe();
            c_q.wipe();
            LimbBatch::from_flat(width, combined)?
        }
    };
    if job.classic() {
        one_plus_mn_times(backend, job.n_squared, job.n, job.messages, &combined)
    } else {
        Ok(combined)
    }
}

/// `base^x` for each noise exponent, times `g^m` from the table of `g` for the lookup scheme,
/// modulo the share's modulus. (The classic scheme's `1 + m·n` comes after.)
fn noise_times_g_m<B: Backend + ?Sized>(
    backend: &B,
    job: &EncryptionJob<'_>,
    share: ResidueTables<'_>,
) -> Result<LimbBatch> {
    let noise = backend.fixed_base_pow(share.modulus, share.noise, job.noise_exponents)?;
    let Some(g_table) = share.g else {
        return Ok(noise);
    };
    let mut exponents = job.message_exponents();
    let g_m = backend.fixed_base_pow(share.modulus, g_table, &exponents);
    exponents.values.wipe();
    backend.modmul(share.modulus, &g_m?, &noise)
}

/// `(1 + m·n) · factor mod n²` for each message `m < n` and its factor.
///
/// `1 + m·n` is made in limbs: a schoolbook product of n's width and a carried 1, the same
/// instructions whatever the message (the messages are plaintexts).
pub fn one_plus_mn_times<B: Backend + ?Sized>(
    backend: &B,
    n_squared: &MontgomeryModulus,
    n: &num_bigint::BigUint,
    messages: &LimbBatch,
    factors: &LimbBatch,
) -> Result<LimbBatch> {
    let width = n_squared.len();
    let half = (n.bits() as usize).div_ceil(64);
    let n_limbs = limbs_from_biguint(n, half)?;
    let message_width = messages.limbs_per_item();
    if message_width < half {
        return Err(Error::InvalidParameter(format!(
            "messages of {message_width} limbs for n of {half}"
        )));
    }
    // m < n: every limb above n's width is zero. Gathered without a branch, checked once.
    let above_n = messages
        .as_flat()
        .par_chunks(message_width)
        .map(|m| m[half..].iter().fold(0u64, |any, &limb| any | limb))
        .reduce(|| 0, |a, b| a | b);
    if above_n != 0 {
        return Err(Error::InvalidParameter(
            "a message of the classic scheme is not below n".into(),
        ));
    }
    // 1 + m·n < n²: no reduction, and nothing above n²'s width.
    let mut g_m = LimbBatch::from_flat(width, vec![0u64; messages.len() * width])?;
    g_m.data
        .par_chunks_mut(width)
        .zip(messages.as_flat().par_chunks(message_width))
        .for_each_init(
            || Zeroizing::new(vec![0u64; 2 * half]),
            |wide, (out, m)| {
                mul_wide(&m[..half], &n_limbs, wide);
                let mut carry = 1u64;
                for limb in wide.iter_mut() {
                    let (sum, overflow) = limb.overflowing_add(carry);
                    *limb = sum;
                    carry = u64::from(overflow);
                }
                let kept = width.min(2 * half);
                out[..kept].copy_from_slice(&wide[..kept]);
            },
        );
    let product = backend.modmul(n_squared, &g_m, factors);
    g_m.wipe();
    product
}
