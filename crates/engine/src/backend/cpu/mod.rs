//! The CPU engine: every [`Operation`] on `bigint/` on every core through rayon, one file per
//! operation in `ops/`, mirroring the GPU engine's `gpu/ops/` (`modexp.rs`, `modmul.rs`,
//! `fixed_base.rs`, `crt.rs`, `multi_exp.rs`, `encrypt.rs`, `resident.rs`).

mod ops;

use std::sync::{Arc, OnceLock};

use rayon::prelude::*;

use super::operation::{RepeatedSquare, Square};
use super::{check_operands, Backend, Device, LimbBatch, Operation, Output};
use crate::error::Result;
use ops::{crt, encrypt, fixed_base, modexp, modmul, multi_exp, resident};

#[cfg(test)]
pub(crate) use crt::crt_decode_two_primes;
pub(crate) use encrypt::encrypt_with_primitives;
pub use encrypt::one_plus_mn_times;

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
        match operation {
            Operation::Modexp(op) => modexp::modexp(op).map(limbs),
            Operation::Modmul(op) => modmul::modmul(op).map(limbs),
            Operation::Square(op) => {
                let Square { modulus, a } = *op;
                check_operands(modulus, a, a)?;
                Ok(limbs(map_items(a, modulus.len(), |_, x, out| {
                    let square = modulus.square(&modulus.to_montgomery(x));
                    out.copy_from_slice(&modulus.from_montgomery(&square));
                })))
            }
            Operation::RepeatedSquare(op) => {
                let RepeatedSquare { modulus, a, .. } = *op;
                check_operands(modulus, a, a)?;
                op.check_squarings()?;
                Ok(limbs(map_items(a, modulus.len(), |_, x, out| {
                    let mut power = modulus.to_montgomery(x);
                    for _ in 0..op.squarings {
                        power = modulus.square(&power);
                    }
                    out.copy_from_slice(&modulus.from_montgomery(&power));
                })))
            }
            Operation::FixedBasePow(op) => fixed_base::fixed_base_pow(op).map(limbs),
            Operation::CrtDecode(op) => crt::crt_decode(op).map(Output::Counts),
            Operation::CrtDecrypt(op) => crt::crt_decrypt(op).map(limbs),
            Operation::MultiExp(op) => multi_exp::multi_exp(op).map(limbs),
            Operation::Encrypt(job) => encrypt_with_primitives(self, job).map(limbs),
            Operation::ModmulResident(op) => resident::modmul_resident(op).map(limbs),
        }
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        match operation {
            Operation::Modmul(op) => modmul::modmul_into(op, out),
            Operation::ModmulResident(op) => resident::modmul_resident_into(op, out),
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
