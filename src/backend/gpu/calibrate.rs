//! Chunk calibration at warm-up: how many numbers it takes to fill this adapter.
//!
//! wgpu does not say how many compute units an adapter has, so the backend measures it: it times
//! Montgomery products on batches that double in size and takes the smallest batch whose
//! throughput is within [`SATURATION`] of the best one seen. That batch fills the adapter's
//! waves; chunks are then whole multiples of it (see `dispatch.rs`), and callers such as the CLI
//! size their batches from [`Calibration::saturating_items`].

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::GpuBackend;
use crate::backend::LimbBatch;
use crate::bigint::MontgomeryModulus;
use crate::error::Result;

/// A batch counts as filling the adapter at this fraction of the best throughput.
const SATURATION: f64 = 0.9;

/// The probe stops at batches of this many bytes, or after [`PROBE_TIME`] in all.
const MAX_PROBE_BYTES: usize = 256 << 20;
const PROBE_TIME: Duration = Duration::from_secs(3);

/// What the warm-up measured.
#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    /// Bits of the modulus the probe used.
    pub bits: usize,
    /// The smallest batch of products that reached the plateau.
    pub saturating_items: usize,
    /// Lanes (invocations) per number at this width.
    pub lanes: usize,
    /// Items per chunk at this width from now on (a whole multiple of `saturating_items`);
    /// other widths get as many invocations.
    pub chunk_items: usize,
    /// (batch, Montgomery products per second) for every batch probed, in order.
    pub probes: Vec<(usize, f64)>,
    /// The same probes timed on the device itself (kernels only, no transfers), where the
    /// adapter keeps timestamps; empty otherwise. Reported beside the host's: the chunks are
    /// still sized from `probes`.
    pub device_probes: Vec<(usize, f64)>,
    /// The smallest probe within 90 % of the best rate by device time, where timed.
    pub device_saturating_items: Option<usize>,
}

/// The smallest batch of `probes` (batch, rate) within [`SATURATION`] of the best rate.
fn saturating(probes: &[(usize, f64)]) -> Option<usize> {
    let best = probes.iter().map(|p| p.1).fold(0.0, f64::max);
    probes
        .iter()
        .find(|p| p.1 >= SATURATION * best)
        .map(|p| p.0)
}

/// Chunks hold this many saturating batches, so that a chunk is whole waves and long enough to
/// hide its own submission and readback behind the other chunks in flight.
pub(super) const WAVES_PER_CHUNK: usize = 8;

impl GpuBackend {
    /// Measures how many numbers of `modulus`'s width fill the adapter and sizes chunks from it
    /// (see the module docs). Takes up to a few seconds; [`warm_up`](Self::warm_up) runs it.
    pub fn calibrate(&self, modulus: &MontgomeryModulus) -> Result<Calibration> {
        let shape = self.shape(self.gpu_limbs(modulus));
        let mut items = shape.numbers_per_workgroup();
        let one = modulus.one().to_vec();
        let max_items = MAX_PROBE_BYTES / (modulus.len() * 8).max(1);
        // Probe unchunked: a batch is one dispatch wherever the limits allow.
        self.calibrated_invocations.store(0, Ordering::SeqCst);
        let started = Instant::now();
        let mut probes = Vec::new();
        let mut device_probes = Vec::new();
        while items <= max_items {
            let a = LimbBatch::from_flat(modulus.len(), one.repeat(items))?;
            let b = LimbBatch::single(one.clone());
            // Once untimed (buffers grow), then timed.
            self.modmul_on_device(modulus, &a, &b)?;
            let before = self.totals();
            let start = Instant::now();
            self.modmul_on_device(modulus, &a, &b)?;
            let rate = items as f64 / start.elapsed().as_secs_f64().max(1e-9);
            probes.push((items, rate));
            let spent = self.totals().since(&before);
            if spent.timed_chunks > 0 {
                device_probes.push((items, items as f64 / spent.device_busy_s.max(1e-9)));
            }
            if started.elapsed() > PROBE_TIME {
                break;
            }
            items *= 2;
        }
        let saturating_items = saturating(&probes).unwrap_or(items);
        let chunk_items = saturating_items.saturating_mul(WAVES_PER_CHUNK);
        self.calibrated_invocations
            .store(chunk_items * shape.lanes, Ordering::SeqCst);
        let calibration = Calibration {
            bits: modulus.bits(),
            saturating_items,
            lanes: shape.lanes,
            chunk_items,
            probes,
            device_saturating_items: saturating(&device_probes),
            device_probes,
        };
        log::info!(
            "GPU calibration: {} {}-bit products fill the adapter; chunks of {} items",
            calibration.saturating_items,
            calibration.bits,
            calibration.chunk_items
        );
        if let Ok(mut kept) = self.calibration.lock() {
            *kept = Some(calibration.clone());
        }
        Ok(calibration)
    }

    /// The last calibration, if one ran.
    pub fn calibration(&self) -> Option<Calibration> {
        self.calibration.lock().ok().and_then(|c| c.clone())
    }
}
