//! Chunk calibration at warm-up: how many numbers it takes to fill this adapter.
//!
//! wgpu does not say how many compute units an adapter has, so the backend measures it: it times
//! Montgomery products on batches that double in size and takes the smallest batch whose
//! throughput is within [`SATURATION`] of the best one seen. That batch fills the adapter's
//! waves; chunks are then whole multiples of it (see `runtime/dispatch.rs`), and callers such as
//! the CLI size their batches from [`Calibration::saturating_items`].
//!
//! Where the adapter keeps timestamps, the probes are also timed on the device. With
//! [`GpuOptions::device_time_chunks`](crate::backend::gpu::GpuOptions::device_time_chunks),
//! chunks are sized from those ([`device_chunk`]); otherwise from the host's clock.

use std::time::{Duration, Instant};

use serde::Serialize;

use super::ops::modmul::modmul_on_device;
use super::runtime::dispatch::WAVES_PER_CHUNK;
use crate::backend::gpu::GpuBackend;
use crate::backend::operation::Modmul;
use crate::backend::LimbBatch;
use crate::bigint::MontgomeryModulus;
use crate::error::Result;

/// A batch counts as filling the adapter at this fraction of the best throughput.
const SATURATION: f64 = 0.9;

/// The probe stops at batches of this many bytes, or after [`PROBE_TIME`] in all.
const MAX_PROBE_BYTES: usize = 256 << 20;
const PROBE_TIME: Duration = Duration::from_secs(3);

/// Which clock sized the chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkSizing {
    /// The host's: a probe's time includes its submission and readback.
    HostTime,
    /// The device's own, from timestamp queries
    /// ([`GpuOptions::device_time_chunks`](crate::backend::gpu::GpuOptions::device_time_chunks)).
    DeviceTime,
}

/// What the warm-up measured.
#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    /// Bits of the modulus the probe used.
    pub bits: usize,
    /// The smallest batch of products that reached the plateau.
    pub saturating_items: usize,
    /// Lanes (invocations) per number at this width.
    pub lanes: usize,
    /// Items per chunk at this width from now on (whole waves of what fills the adapter by the
    /// clock in `chunks_sized_by`); other widths get as many invocations.
    pub chunk_items: usize,
    /// Which probes sized `chunk_items`.
    pub chunks_sized_by: ChunkSizing,
    /// (batch, Montgomery products per second) for every batch probed, in order.
    pub probes: Vec<(usize, f64)>,
    /// The same probes timed on the device itself (kernels only, no transfers), where the
    /// adapter keeps timestamps and timing is on; empty otherwise.
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

/// A chunk sized by the device's time keeps the device busy for at least this many times a
/// call's fixed host cost, so that the chunks in flight (two or three) hide each other's.
const HOST_COST_COVER: f64 = 2.0;

/// Items per chunk from the probes timed on the device: [`WAVES_PER_CHUNK`] batches of the
/// smallest that fills the device, or more where that is too short on the device to cover
/// [`HOST_COST_COVER`] times a call's fixed host cost (what the host's clock adds to the
/// device's on the smallest probe), a whole multiple of the filling batch either way, and never
/// above `host_chunk`, the host clock's sizing. None without device probes.
fn device_chunk(
    host: &[(usize, f64)],
    device: &[(usize, f64)],
    host_chunk: usize,
) -> Option<usize> {
    let filling = saturating(device)?.max(1);
    let best = device.iter().map(|p| p.1).fold(0.0, f64::max);
    let (items, host_rate) = *host.first()?;
    let device_rate = device.iter().find(|p| p.0 == items)?.1;
    let seconds = |rate: f64| items as f64 / rate.max(f64::MIN_POSITIVE);
    let host_cost_s = (seconds(host_rate) - seconds(device_rate)).max(0.0);
    // Float to count: saturates at usize::MAX, and the cap below bounds it.
    let covering = (HOST_COST_COVER * host_cost_s * best).ceil() as usize;
    let waves = filling
        .saturating_mul(WAVES_PER_CHUNK)
        .max(covering.div_ceil(filling).saturating_mul(filling));
    Some(waves.min(host_chunk).max(1))
}

impl GpuBackend {
    /// Measures how many numbers of `modulus`'s width fill the adapter and sizes chunks from it
    /// (see the module docs). Takes up to a few seconds; [`warm_up`](Self::warm_up) runs it.
    pub fn calibrate(&self, modulus: &MontgomeryModulus) -> Result<Calibration> {
        let shape = self.shapes.shape(self.shapes.gpu_limbs(modulus));
        let mut items = shape.numbers_per_workgroup();
        let one = modulus.one().to_vec();
        let max_items = MAX_PROBE_BYTES / (modulus.len() * 8).max(1);
        // Probe unchunked: a batch is one dispatch wherever the limits allow.
        self.runtime.set_chunk_invocations(0);
        let started = Instant::now();
        let mut probes = Vec::new();
        let mut device_probes = Vec::new();
        while items <= max_items {
            let a = LimbBatch::from_flat(modulus.len(), one.repeat(items))?;
            let b = LimbBatch::single(one.clone());
            let products = Modmul {
                modulus,
                a: &a,
                b: &b,
            };
            // Once untimed (buffers grow), then timed.
            modmul_on_device(&self.gpu(), &products)?;
            let before = self.totals();
            let start = Instant::now();
            modmul_on_device(&self.gpu(), &products)?;
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
        let host_chunk = saturating_items.saturating_mul(WAVES_PER_CHUNK);
        let by_device = self
            .device_time_chunks
            .then(|| device_chunk(&probes, &device_probes, host_chunk))
            .flatten();
        let (chunk_items, chunks_sized_by) = match by_device {
            Some(items) => (items, ChunkSizing::DeviceTime),
            None => (host_chunk, ChunkSizing::HostTime),
        };
        self.runtime
            .set_chunk_invocations(chunk_items * shape.lanes);
        let calibration = Calibration {
            bits: modulus.bits(),
            saturating_items,
            lanes: shape.lanes,
            chunk_items,
            chunks_sized_by,
            probes,
            device_saturating_items: saturating(&device_probes),
            device_probes,
        };
        log::info!(
            "GPU calibration: {} {}-bit products fill the adapter; chunks of {} items ({:?})",
            calibration.saturating_items,
            calibration.bits,
            calibration.chunk_items,
            calibration.chunks_sized_by
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

#[cfg(test)]
mod tests {
    use super::*;

    type Probes = Vec<(usize, f64)>;

    /// Probes of a device that runs 1e6 items/s once 4,096 fill it, seen through a host that
    /// adds `host_cost_s` per call.
    fn probes(host_cost_s: f64) -> (Probes, Probes) {
        let device_rate = |items: usize| 1e6 * (items as f64 / 4096.0).min(1.0);
        let sizes: Vec<usize> = (6..=20).map(|k| 1 << k).collect();
        let device = sizes.iter().map(|&b| (b, device_rate(b))).collect();
        let host = sizes
            .iter()
            .map(|&b| (b, b as f64 / (host_cost_s + b as f64 / device_rate(b))))
            .collect();
        (host, device)
    }

    #[test]
    fn device_time_sizes_smaller_chunks_of_whole_device_waves() {
        let (host, device) = probes(1e-3);
        assert_eq!(saturating(&device), Some(4096));
        let host_chunk = saturating(&host).unwrap() * WAVES_PER_CHUNK;
        assert!(
            host_chunk > 4096 * WAVES_PER_CHUNK,
            "the host's fixed cost hides the plateau"
        );
        // 8 waves of 4,096 keep the device 33 ms busy, well over twice the 1 ms host cost.
        assert_eq!(device_chunk(&host, &device, host_chunk), Some(4096 * 8));
    }

    #[test]
    fn a_large_host_cost_makes_device_chunks_long_enough_to_cover_it() {
        // 40 ms a call: 80 ms of device work = 80,000 items, rounded up to whole waves.
        let (host, device) = probes(40e-3);
        let chunk = device_chunk(&host, &device, usize::MAX).unwrap();
        assert_eq!(chunk, 80_000usize.div_ceil(4096) * 4096);
        // Never above the host clock's own sizing.
        assert_eq!(device_chunk(&host, &device, 10_000), Some(10_000));
    }

    #[test]
    fn without_device_probes_the_host_sizes_the_chunks() {
        let (host, _) = probes(1e-3);
        assert_eq!(device_chunk(&host, &[], 1 << 20), None);
        // Probes of other sizes than the host's smallest: nothing to compare.
        assert_eq!(device_chunk(&host, &[(3, 1.0)], 1 << 20), None);
    }
}
