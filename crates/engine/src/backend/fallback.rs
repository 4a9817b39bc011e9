//! `Device::Auto`: the GPU first, the CPU whenever the GPU fails.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::{Backend, Device, LimbBatch, Operation, Output, ResidentBatch};
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
/// use paillier_gpu_engine::backend::{cpu::CpuBackend, Backend, FallbackBackend};
/// use paillier_gpu_engine::backend::Device;
/// // Any two backends; in practice the GPU and the CPU.
/// let auto = FallbackBackend::new(CpuBackend::shared(), CpuBackend::shared());
/// assert_eq!(auto.device(), Device::Auto);
/// assert!(!auto.degraded());
/// ```
#[derive(Debug)]
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

impl Backend for FallbackBackend {
    fn device(&self) -> Device {
        Device::Auto
    }

    fn run(&self, operation: &Operation<'_>) -> Result<Output> {
        self.attempt(operation.name(), |b| b.run(operation))
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        self.attempt(operation.name(), |b| b.run_into(operation, out))
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

    fn runs_on_cpu(&self, items: usize) -> bool {
        if self.degraded() {
            self.fallback.runs_on_cpu(items)
        } else {
            self.primary.runs_on_cpu(items)
        }
    }
}
