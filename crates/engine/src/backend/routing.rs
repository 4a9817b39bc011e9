//! Small batches to the CPU: a decorator that sends a batch below a size to one backend and the
//! rest to another.

use std::sync::Arc;

use super::{Backend, Device, LimbBatch, Operation, Output, ResidentBatch};
use crate::error::Result;

/// Runs batches of fewer than `min_batch` items on `small` (the CPU) and the others on `large`
/// (a GPU, whose submission and readback cost more than a few items take on the CPU).
///
/// ```
/// use paillier_gpu_engine::backend::{cpu::CpuBackend, Backend, RoutingBackend};
/// let routed = RoutingBackend::new(CpuBackend::shared(), CpuBackend::shared(), 64);
/// assert!(routed.runs_on_cpu(10));
/// ```
#[derive(Debug)]
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

impl Backend for RoutingBackend {
    fn device(&self) -> Device {
        self.large.device()
    }

    fn run(&self, operation: &Operation<'_>) -> Result<Output> {
        self.pick(operation.work()).run(operation)
    }

    fn run_into(&self, operation: &Operation<'_>, out: &mut [u64]) -> Result<()> {
        self.pick(operation.work()).run_into(operation, out)
    }

    fn append_resident(&self, batch: &mut ResidentBatch, items: &LimbBatch) -> Result<()> {
        // Appends go where the large products run, so the device copy stays complete.
        self.large.append_resident(batch, items)
    }

    fn runs_on_cpu(&self, items: usize) -> bool {
        self.pick(items).runs_on_cpu(items)
    }
}
