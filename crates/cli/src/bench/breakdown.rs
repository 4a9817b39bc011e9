//! Which side bounds an operation on a GPU: per timed run, the host-visible time, the time inside
//! GPU calls split into preparing and submitting, waiting for the device and copying out, the
//! time outside GPU calls (packing, checks, conversions; of which a pipelined batch's exposed
//! preparation), and the bytes moved; where the adapter keeps timestamps, the device's own time
//! in kernels, in all and per kernel.

use std::collections::BTreeMap;

use paillier_gpu::Device;
use serde::Serialize;

#[cfg(feature = "gpu")]
use paillier_gpu::hazmat::backend::gpu::GpuTotals;
#[cfg(feature = "gpu")]
use paillier_gpu::hazmat::backend::{pipeline_totals, PipelineTotals};

/// What a breakdown is taken between: the GPU backend's totals and the pipelines' (what host
/// preparation the device's time did not hide).
#[cfg(feature = "gpu")]
#[derive(Clone, Debug)]
pub(super) struct Totals {
    gpu: GpuTotals,
    pipeline: PipelineTotals,
}

/// Stands in for the totals in a build without the GPU backend.
#[cfg(not(feature = "gpu"))]
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Totals;

/// One operation's breakdown, per timed run (totals over the runs divided by their number).
#[derive(Debug, Clone, Serialize)]
pub(super) struct Breakdown {
    /// Wall-clock seconds per run as the caller sees them (the mean of the runs).
    pub(super) host_visible_s: f64,
    /// Seconds inside GPU calls.
    pub(super) in_gpu_calls_s: f64,
    /// Of which: preparing and submitting chunks (uploads included).
    pub(super) submit_s: f64,
    /// Of which: waiting for the device (its time that no host work hid).
    pub(super) waiting_s: f64,
    /// Of which: copying results out of mapped memory.
    pub(super) copy_out_s: f64,
    /// Host work outside GPU calls: packing, conversions, checks, the CPU's share.
    pub(super) outside_gpu_calls_s: f64,
    /// Of which, in batches run in pieces: preparing the first piece (nothing hides it), and
    /// waiting for a later piece's preparation after the piece before it had run.
    pub(super) first_piece_prep_s: f64,
    pub(super) prep_stall_s: f64,
    /// Pieces per run (0 where the batch was not cut).
    pub(super) pieces: f64,
    /// GPU calls and chunks per run.
    pub(super) gpu_calls: f64,
    pub(super) chunks: f64,
    /// Bytes written to and read from the device per run.
    pub(super) bytes_up: f64,
    pub(super) bytes_down: f64,
    /// Seconds the device spent in this operation's kernels (timestamp queries; `None` where
    /// the adapter keeps no timestamps). Waiting well above it is transfers and queue gaps.
    pub(super) device_busy_s: Option<f64>,
    /// From each call's first kernel start to its last kernel end (`None` untimed): above
    /// `device_busy_s`, the device idled inside calls waiting for the host.
    pub(super) device_span_s: Option<f64>,
    /// Of `device_busy_s`, per kernel (overlapping chunks add up).
    pub(super) kernel_s: BTreeMap<&'static str, f64>,
    /// "device" when the device's time in kernels (or, where it was not measured, the host's
    /// wait for the device) is at least half the host-visible time, else "host".
    pub(super) bound: &'static str,
}

/// The totals now, when `device` may use the GPU; `None` on the CPU.
pub(super) fn gpu_totals(device: Device) -> Option<Totals> {
    if device == Device::Cpu {
        return None;
    }
    shared_totals()
}

#[cfg(feature = "gpu")]
fn shared_totals() -> Option<Totals> {
    paillier_gpu::hazmat::backend::gpu::GpuBackend::shared()
        .ok()
        .map(|gpu| Totals {
            gpu: gpu.totals(),
            pipeline: pipeline_totals(),
        })
}

#[cfg(not(feature = "gpu"))]
fn shared_totals() -> Option<Totals> {
    None
}

/// The breakdown of `runs` (seconds each) between two totals.
#[cfg(feature = "gpu")]
pub(super) fn breakdown(
    before: Option<Totals>,
    after: Option<Totals>,
    runs: &[f64],
) -> Option<Breakdown> {
    let (before, after) = (before?, after?);
    let spent = after.gpu.since(&before.gpu);
    let piped = after.pipeline.since(&before.pipeline);
    let n = runs.len().max(1) as f64;
    let host_visible_s = runs.iter().sum::<f64>() / n;
    let waiting_s = spent.waiting_s / n;
    Some(Breakdown {
        host_visible_s,
        in_gpu_calls_s: spent.call_s / n,
        submit_s: spent.submit_s / n,
        waiting_s,
        copy_out_s: spent.copy_out_s / n,
        outside_gpu_calls_s: (host_visible_s - spent.call_s / n).max(0.0),
        first_piece_prep_s: piped.first_prepare_s / n,
        prep_stall_s: piped.stall_s / n,
        pieces: piped.pieces as f64 / n,
        gpu_calls: spent.calls as f64 / n,
        chunks: spent.chunks as f64 / n,
        bytes_up: spent.bytes_up as f64 / n,
        bytes_down: spent.bytes_down as f64 / n,
        device_busy_s: (spent.timed_chunks > 0).then_some(spent.device_busy_s / n),
        device_span_s: (spent.timed_chunks > 0).then_some(spent.device_span_s / n),
        kernel_s: spent.kernel_s.iter().map(|(&k, &s)| (k, s / n)).collect(),
        // The device's own time where it was measured, else the host's wait for it.
        bound: if device_s(spent.timed_chunks, spent.device_busy_s / n, waiting_s) * 2.0
            >= host_visible_s
        {
            "device"
        } else {
            "host"
        },
    })
}

/// The device's time: in kernels where chunks were timed, else the host's wait for it.
#[cfg(feature = "gpu")]
fn device_s(timed_chunks: u64, busy_s: f64, waiting_s: f64) -> f64 {
    if timed_chunks > 0 {
        busy_s
    } else {
        waiting_s
    }
}

#[cfg(not(feature = "gpu"))]
pub(super) fn breakdown(_: Option<Totals>, _: Option<Totals>, _: &[f64]) -> Option<Breakdown> {
    None
}

impl Breakdown {
    /// The table's note: which side bounds it, the share of the time spent waiting for the
    /// device, and (where timed) the share the device spent in kernels.
    pub(super) fn summary(&self) -> String {
        let share = |seconds: f64| {
            if self.host_visible_s > 0.0 {
                100.0 * seconds / self.host_visible_s
            } else {
                0.0
            }
        };
        match self.device_busy_s {
            Some(busy) => format!(
                "{} ({:.0}% waiting, {:.0}% in kernels)",
                self.bound,
                share(self.waiting_s),
                share(busy)
            ),
            None => format!("{} ({:.0}% waiting)", self.bound, share(self.waiting_s)),
        }
    }
}
