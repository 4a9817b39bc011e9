//! The CPU engine: every [`Operation`] on `bigint/` on every core through rayon, one file per
//! operation, mirroring the GPU engine's (`modexp.rs`, `modmul.rs`, `fixed_base.rs`, `crt.rs`,
//! `multi_exp.rs`, `encrypt.rs`, `resident.rs`).

mod crt;
mod encrypt;
mod fixed_base;
mod modexp;
mod modmul;
mod multi_exp;
mod resident;

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::{check_operands, Backend, Device, LimbBatch, Operation, Output};
use crate::error::Result;

#[cfg(test)]
pub(crate) use crt::crt_decode_two_primes;
pub(crate) use encrypt::{encrypt_with_primitives, one_plus_mn_times};

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

impl Backend for CpuBackend {
    fn device(&self) -> Device {
        Device::Cpu
    }

    fn run(&self, operation: &Operation<'_>) -> Result<Output> {
        let limbs = Output::Limbs;
        match *operation {
            Operation::Modexp {
                modulus,
                bases,
                exponents,
            } => modexp::modexp(modulus, bases, exponents).map(limbs),
            Operation::Modmul { modulus, a, b } => modmul::modmul(modulus, a, b).map(limbs),
            Operation::Square { modulus, a } => {
                check_operands(modulus, a, a)?;
                Ok(limbs(map_items(a, modulus.len(), |_, x, out| {
                    let square = modulus.square(&modulus.to_montgomery(x));
                    out.copy_from_slice(&modulus.from_montgomery(&square));
                })))
            }
            Operation::FixedBasePow {
                modulus,
                table,
                exponents,
            } => fixed_base::fixed_base_pow(modulus, table, exponents).map(limbs),
            Operation::CrtDecode {
                key,
                bases_p,
                bases_q,
                masks,
            } => crt::crt_decode(key, bases_p, bases_q, masks).map(Output::Counts),
            Operation::CrtDecrypt {
                key,
                bases_p,
                bases_q,
            } => crt::crt_decrypt(key, bases_p, bases_q).map(limbs),
            Operation::MultiExp {
                modulus,
                bases,
                exponents,
                per_row,
            } => multi_exp::multi_exp(modulus, bases, exponents, per_row).map(limbs),
            Operation::Encrypt { job } => encrypt_with_primitives(self, job).map(limbs),
            Operation::ModmulResident {
                modulus,
                batch,
                ref range,
                b,
            } => resident::modmul_resident(modulus, batch, range.clone(), b).map(limbs),
        }
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        match *operation {
            Operation::Modmul { modulus, a, b } => modmul::modmul_into(modulus, a, b, out),
            Operation::ModmulResident {
                modulus,
                batch,
                ref range,
                b,
            } => resident::modmul_resident_into(modulus, batch, range.clone(), b, out),
            _ => self.run(operation)?.copy_into(out),
        }
    }
}

/// Items per rayon task: big enough to amortise scheduling, small enough to balance two cores.
pub(super) const MIN_ITEMS_PER_TASK: usize = 4;

pub(super) fn map_items<F>(input: &LimbBatch, limbs_out: usize, f: F) -> LimbBatch
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

/// [`map_items`] two items at a time, for work that runs faster in pairs:
/// `pair(i, (item i, out i), (item i + 1, out i + 1))` for even `i`, and `single` for an odd
/// last item.
pub(super) fn map_item_pairs<P, F>(
    input: &LimbBatch,
    limbs_out: usize,
    pair: P,
    single: F,
) -> LimbBatch
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
