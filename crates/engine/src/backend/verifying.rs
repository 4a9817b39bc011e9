//! Spot checks as a decorator: any backend's results, a few random items recomputed on the CPU.

use std::sync::Arc;

use super::{spot_check, Backend, Device, LimbBatch, Operation, Output, ResidentBatch};
use crate::error::Result;

/// Wraps a backend (a GPU) so that every call's result is checked against the CPU on `samples`
/// random items before it is returned (see the `spot_check` module: the CPU recomputes them
/// while the wrapped backend works). A mismatch is [`Error::GpuFailure`](crate::Error), which a
/// [`FallbackBackend`](super::FallbackBackend) around this one turns into a CPU rerun.
///
/// Batches the wrapped backend itself runs on the CPU ([`Backend::runs_on_cpu`]) are not
/// checked. Resident products ([`Operation::ModmulResident`]) are checked against the
/// [`ResidentBatch`](super::ResidentBatch)'s host copy.
///
/// ```
/// use paillier_gpu_engine::backend::{cpu::CpuBackend, Backend, LimbBatch, VerifyingBackend};
/// use paillier_gpu_engine::bigint::MontgomeryModulus;
/// # fn main() -> paillier_gpu_engine::Result<()> {
/// let checked = VerifyingBackend::new(CpuBackend::shared(), 2);
/// let m = MontgomeryModulus::new(&num_bigint::BigUint::from(101u32))?;
/// let product = checked.modmul(&m, &LimbBatch::single(vec![7]), &LimbBatch::single(vec![9]))?;
/// assert_eq!(product.item(0), &[63]);
/// # Ok(()) }
/// ```
#[derive(Debug)]
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

impl Backend for VerifyingBackend {
    fn device(&self) -> Device {
        self.inner.device()
    }

    fn run(&self, operation: &Operation<'_>) -> Result<Output> {
        spot_check::run_checked(
            operation.name(),
            self.samples_for(operation.work()),
            operation.items(),
            || self.inner.run(operation),
            |i| operation.recompute_item(i),
        )
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        spot_check::run_checked_into(
            operation.name(),
            self.samples_for(operation.work()),
            operation.result_width().unwrap_or(1),
            out,
            |out| self.inner.run_into(operation, out),
            |i| operation.recompute_item(i)?.into_limbs(),
        )
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        self.inner.append_resident(batch, items)
    }

    fn runs_on_cpu(&self, items: usize) -> bool {
        self.inner.runs_on_cpu(items)
    }
}
