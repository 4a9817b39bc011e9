//! The GPU engine: each [`Operation`] to its kernels (`modexp.rs`, `modmul.rs`, `fixed_base.rs`,
//! `crt.rs`, `multi_exp.rs`, `encrypt.rs`, `resident.rs`), each of which checks its operands.

use super::GpuBackend;
use crate::error::Result;
use crate::hazmat::backend::{Backend, Device, LimbBatch, Operation, Output, ResidentBatch};

/// The device itself, unchecked and unrouted: [`GpuBackend::checked`] adds the spot checks and
/// the small-batch routing, and
/// [`backend_for`](crate::hazmat::backend::backend_for) composes them (and the CPU fallback of
/// [`Device::Auto`]).
impl Backend for GpuBackend {
    fn device(&self) -> Device {
        Device::Gpu
    }

    fn run(&self, operation: &Operation<'_>) -> Result<Output> {
        let limbs = Output::Limbs;
        match *operation {
            Operation::Modexp {
                modulus,
                bases,
                exponents,
            } => self.modexp_on_device(modulus, bases, exponents).map(limbs),
            Operation::Modmul { modulus, a, b } => self.modmul_on_device(modulus, a, b).map(limbs),
            // The product kernel with each item as its own factor.
            Operation::Square { modulus, a } => self.modmul_on_device(modulus, a, a).map(limbs),
            Operation::FixedBasePow {
                modulus,
                table,
                exponents,
            } => self
                .fixed_base_pow_on_device(modulus, table, exponents)
                .map(limbs),
            Operation::CrtDecode {
                key,
                bases_p,
                bases_q,
                masks,
            } => self
                .crt_decode_on_device(key, bases_p, bases_q, masks)
                .map(Output::Counts),
            Operation::CrtDecrypt {
                key,
                bases_p,
                bases_q,
            } => self.crt_decrypt_on_device(key, bases_p, bases_q).map(limbs),
            Operation::MultiExp {
                modulus,
                bases,
                exponents,
                per_row,
            } => self
                .multi_exp_on_device(modulus, bases, exponents, per_row)
                .map(limbs),
            Operation::Encrypt { job } => self.encrypt_on_device(job).map(limbs),
            Operation::ModmulResident {
                modulus,
                batch,
                ref range,
                b,
            } => self
                .modmul_resident_on_device(modulus, batch, range.clone(), b)
                .map(limbs),
        }
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        match *operation {
            Operation::Encrypt { job } => self.encrypt_on_device_into(job, out),
            Operation::ModmulResident {
                modulus,
                batch,
                ref range,
                b,
            } => self.modmul_resident_into_on_device(modulus, batch, range.clone(), b, out),
            _ => Backend::run(self, operation)?.copy_into(out),
        }
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        self.append_resident_on_device(batch, items)
    }
}
