//! Spot checks as a decorator: any backend's results, a few random items recomputed on the CPU.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use super::{
    spot_check, Backend, CrtKey, Device, EncryptionJob, Exponents, LimbBatch, ResidentBatch,
};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::Result;

/// Wraps a backend (a GPU) so that every call's result is checked against the CPU on `samples`
/// random items before it is returned (see the `spot_check` module: the CPU recomputes them
/// while the wrapped backend works). A mismatch is [`Error::GpuFailure`](crate::Error), which a
/// [`FallbackBackend`](super::FallbackBackend) around this one turns into a CPU rerun.
///
/// Batches the wrapped backend itself runs on the CPU ([`Backend::runs_on_cpu`]) are not
/// checked. Resident products ([`Backend::modmul_resident`]) are checked against the
/// [`ResidentBatch`](super::ResidentBatch)'s host copy.
///
/// ```
/// use paillier_gpu::hazmat::backend::{cpu::CpuBackend, Backend, LimbBatch, VerifyingBackend};
/// use paillier_gpu::hazmat::bigint::MontgomeryModulus;
/// # fn main() -> paillier_gpu::Result<()> {
/// let checked = VerifyingBackend::new(CpuBackend::shared(), 2);
/// let m = MontgomeryModulus::new(&num_bigint::BigUint::from(101u32))?;
/// let product = checked.modmul(&m, &LimbBatch::single(vec![7]), &LimbBatch::single(vec![9]))?;
/// assert_eq!(product.item(0), &[63]);
/// # Ok(()) }
/// ```
pub struct VerifyingBackend {
    inner: Arc<dyn Backend>,
    samples: usize,
}

impl VerifyingBackend {
    /// `inner`, with `samples` items of every call checked (0 checks nothing).
    pub fn new(inner: Arc<dyn Backend>, samples: usize) -> Self {
        Self { inner, samples }
    }

    fn samples_for(&self, items: usize) -> usize {
        if self.inner.runs_on_cpu(items) {
            0
        } else {
            self.samples
        }
    }
}

impl fmt::Debug for VerifyingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingBackend")
            .field("inner", &self.inner)
            .field("samples", &self.samples)
            .finish()
    }
}

impl Backend for VerifyingBackend {
    fn device(&self) -> Device {
        self.inner.device()
    }

    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        spot_check::run_checked(
            "modexp",
            self.samples_for(bases.len()),
            bases.len(),
            || self.inner.modexp(modulus, bases, exponents),
            |i| spot_check::modexp(modulus, bases, exponents, i),
        )
    }

    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        spot_check::run_checked(
            "modmul",
            self.samples_for(a.len()),
            a.len(),
            || self.inner.modmul(modulus, a, b),
            |i| spot_check::modmul_item(modulus, a, b, i),
        )
    }

    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        spot_check::run_checked(
            "fixed-base",
            self.samples_for(exponents.values.len()),
            exponents.values.len(),
            || self.inner.fixed_base_pow(modulus, table, exponents),
            |i| spot_check::fixed_base_pow(modulus, table, exponents, i),
        )
    }

    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        spot_check::run_checked(
            "CRT decoding",
            self.samples_for(bases_p.len()),
            bases_p.len(),
            || self.inner.crt_decode(key, bases_p, bases_q, masks),
            |i| spot_check::crt_decode(key, bases_p, bases_q, masks, i),
        )
    }

    fn crt_decrypt(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        spot_check::run_checked(
            "CRT decryption",
            self.samples_for(bases_p.len()),
            bases_p.len(),
            || self.inner.crt_decrypt(key, bases_p, bases_q),
            |i| spot_check::crt_decrypt(key, bases_p, bases_q, i),
        )
    }

    fn multi_exp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
        per_row: usize,
    ) -> Result<LimbBatch> {
        let items = bases.len() / per_row.max(1) * (exponents.values.len() / per_row.max(1));
        let powers = bases.len() / per_row.max(1) * exponents.values.len();
        spot_check::run_checked(
            "multi-exponentiation",
            self.samples_for(powers),
            items,
            || self.inner.multi_exp(modulus, bases, exponents, per_row),
            |i| spot_check::multi_exp(modulus, bases, exponents, per_row, i),
        )
    }

    fn encrypt(&self, job: &EncryptionJob<'_>) -> Result<LimbBatch> {
        spot_check::run_checked(
            "encryption",
            self.samples_for(job.messages.len()),
            job.messages.len(),
            || self.inner.encrypt(job),
            |i| spot_check::encrypt(job, i),
        )
    }

    fn encrypt_into(&self, job: &EncryptionJob<'_>, out: &mut [u64]) -> Result<()> {
        spot_check::run_checked_into(
            "encryption",
            self.samples_for(job.messages.len()),
            job.n_squared.len(),
            out,
            |out| self.inner.encrypt_into(job, out),
            |i| spot_check::encrypt(job, i),
        )
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        self.inner.append_resident(batch, items)
    }

    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        let first = range.start;
        spot_check::run_checked(
            "resident modmul",
            self.samples_for(range.len()),
            range.len(),
            || self.inner.modmul_resident(modulus, batch, range.clone(), b),
            |i| spot_check::modmul_item(modulus, &batch.gather([first + i])?, b, i),
        )
    }

    fn modmul_resident_into(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
        out: &mut [u64],
    ) -> Result<()> {
        let first = range.start;
        spot_check::run_checked_into(
            "resident modmul",
            self.samples_for(range.len()),
            modulus.len(),
            out,
            |out| {
                self.inner
                    .modmul_resident_into(modulus, batch, range.clone(), b, out)
            },
            |i| spot_check::modmul_item(modulus, &batch.gather([first + i])?, b, i),
        )
    }

    fn runs_on_cpu(&self, items: usize) -> bool {
        self.inner.runs_on_cpu(items)
    }
}
