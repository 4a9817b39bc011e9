//! The [`Backend`] operations on the device: each checks its operands and runs its kernels
//! (`modexp.rs`, `modmul.rs`, `fixed_base.rs`, `crt.rs`, `multi_exp.rs`, `encrypt.rs`,
//! `resident.rs`).

use std::ops::Range;

use super::GpuBackend;
use crate::backend::{Backend, CrtKey, Device, EncryptionJob, Exponents, LimbBatch, ResidentBatch};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::Result;

/// The device itself, unchecked and unrouted: [`GpuBackend::checked`] adds the spot checks and
/// the small-batch routing, and
/// [`backend_for`](crate::backend::backend_for) composes them (and the CPU fallback of
/// [`Device::Auto`]).
impl Backend for GpuBackend {
    fn device(&self) -> Device {
        Device::Gpu
    }

    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.modexp_on_device(modulus, bases, exponents)
    }

    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.modmul_on_device(modulus, a, b)
    }

    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.fixed_base_pow_on_device(modulus, table, exponents)
    }

    fn multi_exp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
        per_row: usize,
    ) -> Result<LimbBatch> {
        self.multi_exp_on_device(modulus, bases, exponents, per_row)
    }

    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        self.crt_decode_on_device(key, bases_p, bases_q, masks)
    }

    fn crt_decrypt(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.crt_decrypt_on_device(key, bases_p, bases_q)
    }

    fn encrypt(&self, job: &EncryptionJob<'_>) -> Result<LimbBatch> {
        self.encrypt_on_device(job)
    }

    fn encrypt_into(&self, job: &EncryptionJob<'_>, out: &mut [u64]) -> Result<()> {
        self.encrypt_on_device_into(job, out)
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        self.append_resident_on_device(batch, items)
    }

    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.modmul_resident_on_device(modulus, batch, range, b)
    }

    fn modmul_resident_into(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
        out: &mut [u64],
    ) -> Result<()> {
        self.modmul_resident_into_on_device(modulus, batch, range, b, out)
    }
}
