//! The GPU runtime: the adapter and its options, buffers, pipelines, the dispatch of a batch in
//! chunks, submission, readback and time. [`Runtime`] is the handle every operation in `ops/`
//! runs through (lent with the kernel shapes as `ops::Gpu`): each operation describes its
//! passes and hands them to [`Runtime::run`] (or `run_into`). Calibration (`../calibrate.rs`)
//! sits above both: it times an operation to size the runtime's chunks.

pub(super) mod adapter;
pub(super) mod adapter_description;
pub(super) mod buffers;
pub(super) mod device_times;
pub(super) mod dispatch;
pub(super) mod options;
pub(super) mod pipelines;
pub(super) mod readback;
pub(super) mod report;
pub(super) mod submit;
pub(super) mod totals;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::codegen::kernels::PipelineKey;
use super::{failure, GpuTotals};
use crate::error::Result;

/// One opened device and what its calls share: the queue, compiled pipelines, pooled and kept
/// buffers, health, the calibrated chunk and the running totals. It knows nothing of the
/// operations: they build passes ([`dispatch::Pass`]) and run them here.
pub(in crate::backend::gpu) struct Runtime {
    pub(in crate::backend::gpu) device: wgpu::Device,
    pub(in crate::backend::gpu) queue: wgpu::Queue,
    pub(in crate::backend::gpu) info: wgpu::AdapterInfo,
    pub(in crate::backend::gpu) limits: wgpu::Limits,
    features: wgpu::Features,
    /// Items per dispatch at most (an option; the adapter's limits apply besides).
    max_items_per_dispatch: usize,
    /// Bytes one binding may hold: the smaller of the binding and buffer limits.
    pub(in crate::backend::gpu) max_binding_bytes: u64,
    pipelines: Mutex<HashMap<PipelineKey, Arc<wgpu::ComputePipeline>>>,
    /// Buffers reused by every call; the lock also serialises calls from several threads.
    pool: Mutex<buffers::BufferPool>,
    /// Uploaded constants (moduli, Montgomery constants) by the SHA-256 of their limbs, so that
    /// calls with the same modulus bind the same buffer (and reuse bind groups).
    constants: Mutex<Vec<([u8; 32], wgpu::Buffer)>>,
    lost: Arc<AtomicBool>,
    uncaptured: Arc<Mutex<Option<String>>>,
    /// Invocations per chunk found by calibration (0: not calibrated); a chunk holds this many
    /// divided by its kernels' lanes per number.
    calibrated_invocations: AtomicUsize,
    /// Whether every chunk's passes are timed on the device (`device_times.rs`).
    device_timing: bool,
    /// Injected faults: submissions / readbacks until each fires (0: none armed).
    lose_device_in: AtomicUsize,
    corrupt_result_in: AtomicUsize,
    /// What the calls so far have cost (see [`GpuTotals`]).
    totals: Mutex<GpuTotals>,
}

impl Runtime {
    /// Fails with the device's loss or its first uncaptured error, if any.
    pub(in crate::backend::gpu) fn check_health(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(failure("the GPU device was lost"));
        }
        if let Some(message) = self.uncaptured.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(failure(message));
        }
        Ok(())
    }

    /// Arms `fault` (replacing an armed fault of the same kind).
    #[cfg(feature = "fault-injection")]
    pub(in crate::backend::gpu) fn arm(&self, fault: options::Fault) {
        match fault {
            options::Fault::LoseDevice { after_submissions } => self
                .lose_device_in
                .store(after_submissions, Ordering::SeqCst),
            options::Fault::CorruptResult { after_readbacks } => self
                .corrupt_result_in
                .store(after_readbacks, Ordering::SeqCst),
        }
    }
}

/// Counts an armed countdown down; true when it reaches its event.
fn countdown_fires(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok_and(|before| before == 1)
}
