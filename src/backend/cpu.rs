//! The CPU backend: `bigint/` on every core through rayon.

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::crt_decryption::recombine_all;
use super::{
    check_crt_operands, check_decrypt_operands, check_fixed_base_operands, check_operands,
    response_check, Backend, CrtKey, Device, Exponents, LimbBatch, Secrecy,
};
use crate::bigint::multi_pow::PublicMultiPow;
use crate::bigint::{
    limbs_from_biguint, ExponentRows, FixedBaseTable, MontgomeryModulus, LANES, MIN_LANE_ITEMS,
    POW_BLOCK,
};
use crate::error::{Error, Result};

/// Runs every batched operation on the CPU, items in parallel.
#[derive(Debug, Default)]
pub struct CpuBackend;

impl CpuBackend {
    /// The process-wide instance.
    pub fn shared() -> Arc<dyn Backend> {
        static SHARED: OnceLock<Arc<CpuBackend>> = OnceLock::new();
        SHARED.get_or_init(|| Arc::new(CpuBackend)).clone()
    }
}

/// Items per rayon task: big enough to amortise scheduling, small enough to balance two cores.
const MIN_ITEMS_PER_TASK: usize = 4;

fn map_items<F>(input: &LimbBatch, limbs_out: usize, f: F) -> LimbBatch
where
    F: Fn(usize, &[u64], &mut [u64]) + Sync,
{
    let mut out = vec![0u64; input.len() * limbs_out];
    out.par_chunks_mut(limbs_out)
        .with_min_len(MIN_ITEMS_PER_TASK)
        .zip(input.as_flat().par_chunks(input.limbs_per_item()))
        .enumerate()
        .for_each(|(i, (o, x))| f(i, x, o));
    LimbBatch {
        limbs_per_item: limbs_out,
        data: out,
    }
}

/// `out[i] = a[i] · b[i % k] mod m`, straight into `out` (`a`'s length and width).
fn modmul_into(
    modulus: &MontgomeryModulus,
    a: &LimbBatch,
    b: &LimbBatch,
    out: &mut [u64],
) -> Result<()> {
    check_operands(modulus, a, b)?;
    if out.len() != a.as_flat().len() {
        return Err(Error::InvalidParameter(format!(
            "an output of {} limbs for {} products of {}",
            out.len(),
            a.len(),
            modulus.len()
        )));
    }
    // Preparing the operands once makes each item ONE multiplication. Preparing costs a
    // product too, so a batch of as many multipliers as items prepares them in parallel
    // (serially it was a step every core waited for in encryption's `(1 + m·n)·r^n`).
    let prepared: Vec<_> = b
        .as_flat()
        .par_chunks(b.limbs_per_item())
        .with_min_len(MIN_ITEMS_PER_TASK)
        .map(|x| modulus.prepare_multiplier(x))
        .collect();
    let k = prepared.len().max(1);
    out.par_chunks_mut(modulus.len().max(1))
        .with_min_len(MIN_ITEMS_PER_TASK)
        .zip(a.as_flat().par_chunks(a.limbs_per_item().max(1)))
        .enumerate()
        .for_each(|(i, (o, x))| modulus.mul_prepared(x, &prepared[i % k], o));
    Ok(())
}

/// [`map_items`] two items at a time, for work that runs faster in pairs:
/// `pair(i, (item i, out i), (item i + 1, out i + 1))` for even `i`, and `single` for an odd
/// last item.
fn map_item_pairs<P, F>(input: &LimbBatch, limbs_out: usize, pair: P, single: F) -> LimbBatch
where
    P: Fn(usize, (&[u64], &mut [u64]), (&[u64], &mut [u64])) + Sync,
    F: Fn(usize, &[u64], &mut [u64]) + Sync,
{
    let width = input.limbs_per_item();
    let mut out = vec![0u64; input.len() * limbs_out];
    out.par_chunks_mut(2 * limbs_out)
        .with_min_len(MIN_ITEMS_PER_TASK.div_ceil(2))
        .zip(input.as_flat().par_chunks(2 * width))
        .enumerate()
        .for_each(|(j, (o, x))| {
            if x.len() == 2 * width {
                let (out_x, out_y) = o.split_at_mut(limbs_out);
                let (x, y) = x.split_at(width);
                pair(2 * j, (x, out_x), (y, out_y));
            } else {
                single(2 * j, x, o);
            }
        });
    LimbBatch {
        limbs_per_item: limbs_out,
        data: out,
    }
}

impl Backend for CpuBackend {
    fn device(&self) -> Device {
        Device::Cpu
    }

    fn modexp(
        &self,
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

    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        let mut out = vec![0u64; a.as_flat().len()];
        modmul_into(modulus, a, b, &mut out)?;
        LimbBatch::from_flat(modulus.len(), out)
    }

    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        check_fixed_base_operands(modulus, table, exponents)?;
        let s = modulus.len();
        let exponent_limbs = exponents.values.limbs_per_item();
        let mut out = vec![0u64; exponents.values.len() * s];
        // Blocks of exponents, so that each row of the table is read from memory once a block.
        out.par_chunks_mut(POW_BLOCK * s)
            .zip(
                exponents
                    .values
                    .as_flat()
                    .par_chunks(POW_BLOCK * exponent_limbs),
            )
            .for_each(|(out, block)| {
                table.pow_block_into(modulus, block, exponent_limbs, exponents.bits, out);
            });
        LimbBatch::from_flat(s, out)
    }

    fn multi_exp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
        per_row: usize,
    ) -> Result<LimbBatch> {
        let (samples, rows) =
            super::multi_exp::check_multi_exp_operands(modulus, bases, exponents, per_row)?;
        let s = modulus.len();
        let row_exponents = ExponentRows {
            limbs: exponents.values.as_flat(),
            limbs_per_exponent: exponents.values.limbs_per_item(),
            per_row,
        };
        let mut out = vec![0u64; samples * rows * s];
        let engine = PublicMultiPow::new(modulus);
        // One sample a task: its bases' tables serve every row (Straus, `bigint/multi_pow.rs`).
        out.par_chunks_mut((rows * s).max(1))
            .zip(bases.as_flat().par_chunks(per_row * s))
            .for_each(|(out, sample)| engine.run(sample, &row_exponents, out));
        LimbBatch::from_flat(s, out)
    }

    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        check_crt_operands(key, bases_p, bases_q, masks)?;
        if key.one_prime_covers(masks) {
            // Every honest plaintext is below p: c^e_p mod p² alone gives it (one_prime.rs).
            let x_p = secret_powers(key, false, bases_p);
            let k = masks.len().max(1);
            return Ok((0..x_p.len())
                .into_par_iter()
                .map(|i| key.decode_one_prime(x_p.item(i), masks.item(i % k)))
                .collect());
        }
        self.crt_decode_two_primes(key, bases_p, bases_q, masks)
    }

    fn crt_decrypt(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        check_decrypt_operands(key, bases_p, bases_q)?;
        // The key's own engines, as decoding's: two digits modulo the prime where they pay.
        let (x_p, x_q) = (
            secret_powers(key, false, bases_p),
            secret_powers(key, true, bases_q),
        );
        recombine_all(key, &x_p, &x_q)
    }

    fn modmul_resident_into(
        &self,
        modulus: &MontgomeryModulus,
        batch: &super::ResidentBatch,
        range: std::ops::Range<usize>,
        b: &LimbBatch,
        out: &mut [u64],
    ) -> Result<()> {
        modmul_into(modulus, batch.host_items(range)?.as_ref(), b, out)
    }
}

/// `bases[i]^e mod p²` (`prime_q` false) or `mod q²`, on every core; wiped when dropped.
/// Eight at a time in the lanes of the multi-buffer engine where the CPU has one, else in pairs.
fn secret_powers(key: &CrtKey, prime_q: bool, bases: &LimbBatch) -> zeroize::Zeroizing<LimbBatch> {
    let width = bases.limbs_per_item();
    let mut out = zeroize::Zeroizing::new(vec![0u64; bases.as_flat().len()]);
    out.par_chunks_mut(LANES * width)
        .zip(bases.as_flat().par_chunks(LANES * width))
        .for_each(|(out, group)| {
            let items = group.len() / width.max(1);
            if items >= MIN_LANE_ITEMS && key.pow_secret_mod_square_lanes(prime_q, group, out) {
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

impl CpuBackend {
    /// [`Backend::crt_decode`] with both primes, whatever the masks: what decoding does where
    /// one prime does not cover the plaintexts, and the reference one prime is tested against.
    pub(crate) fn crt_decode_two_primes(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        check_crt_operands(key, bases_p, bases_q, masks)?;
        // c^e mod p² and mod q², and the plaintexts: wiped when dropped.
        let (x_p, x_q) = (
            secret_powers(key, false, bases_p),
            secret_powers(key, true, bases_q),
        );
        let k = masks.len().max(1);
        let width = masks.limbs_per_item();
        (0..x_p.len())
            .into_par_iter()
            .map(|i| {
                let (m, in_subgroup) = key.recombine_checked(x_p.item(i), x_q.item(i));
                // A plaintext wider than the masks has bits above every slot.
                let limbs = zeroize::Zeroizing::new(
                    limbs_from_biguint(&m, width).unwrap_or_else(|_| vec![u64::MAX; width]),
                );
                Ok(response_check::count_or_defect(
                    &limbs,
                    masks.item(i % k),
                    in_subgroup,
                ))
            })
            .collect()
    }
}
