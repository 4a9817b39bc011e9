//! Small batches to the CPU: a decorator that sends a batch below a size to one backend and the
//! rest to another.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use super::{Backend, CrtKey, Device, EncryptionJob, Exponents, LimbBatch, ResidentBatch};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::Result;

/// Runs batches of fewer than `min_batch` items on `small` (the CPU) and the others on `large`
/// (a GPU, whose submission and readback cost more than a few items take on the CPU).
///
/// ```
/// use paillier_gpu::hazmat::backend::{cpu::CpuBackend, Backend, RoutingBackend};
/// let routed = RoutingBackend::new(CpuBackend::shared(), CpuBackend::shared(), 64);
/// assert!(routed.runs_on_cpu(10));
/// ```
pub struct RoutingBackend {
    small: Arc<dyn Backend>,
    large: Arc<dyn Backend>,
    min_batch: usize,
}

impl RoutingBackend {
    /// Batches below `min_batch` items to `small`, the others to `large`.
    pub fn new(small: Arc<dyn Backend>, large: Arc<dyn Backend>, min_batch: usize) -> Self {
        Self {
            small,
            large,
            min_batch,
        }
    }

    fn pick(&self, items: usize) -> &dyn Backend {
        if items < self.min_batch {
            self.small.as_ref()
        } else {
            self.large.as_ref()
        }
    }
}

impl fmt::Debug for RoutingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoutingBackend")
            .field("small", &self.small)
            .field("large", &self.large)
            .field("min_batch", &self.min_batch)
            .finish()
    }
}

impl Backend for RoutingBackend {
    fn device(&self) -> Device {
        self.large.device()
    }

    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.pick(bases.len()).modexp(modulus, bases, exponents)
    }

    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.pick(a.len()).modmul(modulus, a, b)
    }

    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.pick(exponents.values.len())
            .fixed_base_pow(modulus, table, exponents)
    }

    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        self.pick(bases_p.len())
            .crt_decode(key, bases_p, bases_q, masks)
    }

    fn crt_decrypt(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.pick(bases_p.len()).crt_decrypt(key, bases_p, bases_q)
    }

    fn multi_exp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
        per_row: usize,
    ) -> Result<LimbBatch> {
        // Routed by the powers it makes, as a separate modexp would be.
        let powers = bases.len() / per_row.max(1) * exponents.values.len();
        self.pick(powers)
            .multi_exp(modulus, bases, exponents, per_row)
    }

    fn encrypt(&self, job: &EncryptionJob<'_>) -> Result<LimbBatch> {
        self.pick(job.messages.len()).encrypt(job)
    }

    fn encrypt_into(&self, job: &EncryptionJob<'_>, out: &mut [u64]) -> Result<()> {
        self.pick(job.messages.len()).encrypt_into(job, out)
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        // Appends go where the large products run, so the device copy stays complete.
        self.large.append_resident(batch, items)
    }

    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.pick(range.len())
            .modmul_resident(modulus, batch, range, b)
    }

    fn modmul_resident_into(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
        out: &mut [u64],
    ) -> Result<()> {
        self.pick(range.len())
            .modmul_resident_into(modulus, batch, range, b, out)
    }

    fn runs_on_cpu(&self, items: usize) -> bool {
        self.pick(items).runs_on_cpu(items)
    }
}
