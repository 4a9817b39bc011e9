//! The GPU engine: each [`Operation`] to its function in `ops/` (`modexp.rs`, `modmul.rs`,
//! `fixed_base.rs`, `crt.rs`, `multi_exp.rs`, `encrypt.rs`, `resident.rs`), run on the
//! backend's device handle; each checks its operands.

use super::ops::{crt, encrypt, fixed_base, modexp, modmul, multi_exp, resident};
use super::GpuBackend;
use crate::backend::operation::{Modexp, Modmul};
use crate::backend::Secrecy;
use crate::backend::{Backend, Device, Exponents, LimbBatch, Operation, Output, ResidentBatch};
use crate::error::Result;

/// The device itself, unchecked and unrouted: [`GpuBackend::checked`] adds the spot checks and
/// the small-batch routing, and
/// [`backend_for`](crate::backend::backend_for) composes them (and the CPU fallback of
/// [`Device::Auto`]).
impl Backend for GpuBackend {
    fn device(&self) -> Device {
        Device::Gpu
    }

    fn run(&self, operation: &Operation<'_>) -> Result<Output> {
        let limbs = Output::Limbs;
        let gpu = &self.gpu();
        match operation {
            Operation::Modexp(op) => modexp::modexp_on_device(gpu, op).map(limbs),
            Operation::Modmul(op) => modmul::modmul_on_device(gpu, op).map(limbs),
            // The product kernel with each item as its own factor.
            Operation::Square(op) => {
                let (modulus, a) = (op.modulus, op.a);
                modmul::modmul_on_device(gpu, &Modmul { modulus, a, b: a }).map(limbs)
            }
            // The exponentiation kernel with the one public exponent 2^squarings.
            Operation::RepeatedSquare(op) => {
                op.check_squarings()?;
                let mut power = vec![0u64; op.squarings / 64 + 1];
                power[op.squarings / 64] = 1 << (op.squarings % 64);
                let exponents = Exponents {
                    values: LimbBatch::single(power),
                    bits: op.squarings + 1,
                    secrecy: Secrecy::Public,
                };
                let (modulus, bases) = (op.modulus, op.a);
                let exponents = &exponents;
                modexp::modexp_on_device(
                    gpu,
                    &Modexp {
                        modulus,
                        bases,
                        exponents,
                    },
                )
                .map(limbs)
            }
            Operation::FixedBasePow(op) => fixed_base::fixed_base_pow_on_device(gpu, op).map(limbs),
            Operation::CrtDecode(op) => crt::crt_decode_on_device(gpu, op).map(Output::Counts),
            Operation::CrtDecrypt(op) => crt::crt_decrypt_on_device(gpu, op).map(limbs),
            // Where one sample does not fit a dispatch, this backend's own products and powers.
            Operation::MultiExp(op) => multi_exp::multi_exp_on_device(gpu, op, self).map(limbs),
            Operation::Encrypt(job) => encrypt::encrypt_on_device(gpu, job).map(limbs),
            Operation::ModmulResident(op) => {
                resident::modmul_resident_on_device(gpu, op).map(limbs)
            }
        }
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        match operation {
            Operation::Encrypt(job) => encrypt::encrypt_on_device_into(&self.gpu(), job, out),
            Operation::ModmulResident(op) => {
                resident::modmul_resident_into_on_device(&self.gpu(), op, out)
            }
            _ => Backend::run(self, operation)?.copy_into(out),
        }
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        resident::append_resident_on_device(&self.gpu(), self.resident_shard_items, batch, items)
    }
}
