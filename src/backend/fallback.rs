//! `Device::Auto`: the GPU first, the CPU whenever the GPU fails.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Backend, CrtKey, Device, EncryptionJob, Exponents, LimbBatch, ResidentBatch};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};

/// Runs every call on `primary` (a GPU) and, when that fails with [`Error::GpuFailure`] or
/// [`Error::GpuUnavailable`], runs the same call again on `fallback` (the CPU), so a lost device
/// or a failed spot check costs time, never a result.
///
/// After the first failure the primary is not tried again: a lost device stays lost, and a GPU
/// that computed wrongly once is not trusted with the next batch. Other errors (bad input) are
/// returned as they are, since the CPU would reject the same input.
///
/// ```
/// use std::sync::Arc;
/// use paillier_gpu::hazmat::backend::{cpu::CpuBackend, Backend, FallbackBackend};
/// use paillier_gpu::Device;
/// // Any two backends; in practice the GPU and the CPU.
/// let auto = FallbackBackend::new(CpuBackend::shared(), CpuBackend::shared());
/// assert_eq!(auto.device(), Device::Auto);
/// assert!(!auto.degraded());
/// ```
pub struct FallbackBackend {
    primary: Arc<dyn Backend>,
    fallback: Arc<dyn Backend>,
    degraded: AtomicBool,
}

impl FallbackBackend {
    /// `primary` first, `fallback` after it fails.
    pub fn new(primary: Arc<dyn Backend>, fallback: Arc<dyn Backend>) -> Self {
        Self {
            primary,
            fallback,
            degraded: AtomicBool::new(false),
        }
    }

    /// True once the primary has failed and every call goes to the fallback.
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::SeqCst)
    }

    /// `call` on the primary, then on the fallback if the primary failed as a device.
    fn attempt<T>(&self, what: &str, mut call: impl FnMut(&dyn Backend) -> Result<T>) -> Result<T> {
        if !self.degraded() {
            match call(self.primary.as_ref()) {
                Err(e @ (Error::GpuFailure(_) | Error::GpuUnavailable(_))) => {
                    log::warn!(
                        "device auto: {what} failed on the {} ({e}); running it and every later call on the {}",
                        self.primary.device().as_str(),
                        self.fallback.device().as_str()
                    );
                    self.degraded.store(true, Ordering::SeqCst);
                }
                other => return other,
            }
        }
        call(self.fallback.as_ref())
    }
}

impl fmt::Debug for FallbackBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FallbackBackend")
            .field("primary", &self.primary)
            .field("fallback", &self.fallback)
            .field("degraded", &self.degraded())
            .finish()
    }
}

impl Backend for FallbackBackend {
    fn device(&self) -> Device {
        Device::Auto
    }

    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.attempt("modexp", |b| b.modexp(modulus, bases, exponents))
    }

    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.attempt("modmul", |backend| backend.modmul(modulus, a, b))
    }

    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        self.attempt("fixed-base exponentiation", |b| {
            b.fixed_base_pow(modulus, table, exponents)
        })
    }

    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        self.attempt("CRT decoding", |b| {
            b.crt_decode(key, bases_p, bases_q, masks)
        })
    }

    fn crt_decrypt(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.attempt("CRT decryption", |b| b.crt_decrypt(key, bases_p, bases_q))
    }

    fn multi_exp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
        per_row: usize,
    ) -> Result<LimbBatch> {
        self.attempt("multi-exponentiation", |b| {
            b.multi_exp(modulus, bases, exponents, per_row)
        })
    }

    fn encrypt(&self, job: &EncryptionJob<'_>) -> Result<LimbBatch> {
        self.attempt("encryption", |b| b.encrypt(job))
    }

    fn encrypt_into(&self, job: &EncryptionJob<'_>, out: &mut [u64]) -> Result<()> {
        self.attempt("encryption", |b| b.encrypt_into(job, out))
    }

    /// The primary's memory until it fails; callers fall back to their host copy on a
    /// [`Error::GpuFailure`] from it when [`device`](Backend::device) is `Auto`.
    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        // The primary appends to the host copy only after its device copy took the items, so a
        // failure there leaves the host copy whole for the fallback.
        self.attempt("keeping items on the device", |b| {
            b.append_resident(batch, items)
        })
    }

    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        self.attempt("a resident product", |backend| {
            backend.modmul_resident(modulus, batch, range.clone(), b)
        })
    }

    fn modmul_resident_into(
        &self,
        modulus: &MontgomeryModulus,
        batch: &ResidentBatch,
        range: Range<usize>,
        b: &LimbBatch,
        out: &mut [u64],
    ) -> Result<()> {
        self.attempt("a resident product", |backend| {
            backend.modmul_resident_into(modulus, batch, range.clone(), b, out)
        })
    }

    fn runs_on_cpu(&self, items: usize) -> bool {
        if self.degraded() {
            self.fallback.runs_on_cpu(items)
        } else {
            self.primary.runs_on_cpu(items)
        }
    }
}
