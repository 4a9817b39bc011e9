//! What a GPU backend's calls have cost so far, host side and device side, for benchmarks that
//! must say which side bounds an operation (`bench --json`'s breakdown).

use std::collections::BTreeMap;

use serde::Serialize;

use super::device_times::{busy_ticks, span_ticks};
use super::readback::CallTimes;
use super::Runtime;
use crate::backend::gpu::GpuBackend;

/// Running totals over every call a [`GpuBackend`] has made. Take one before and one after a
/// piece of work; [`since`](GpuTotals::since) gives what that work cost.
///
/// `waiting_s` is the time the host spent waiting for the device: the device's time that no host
/// work hid. When it is most of a call, the call is device-bound; when uploads, submissions and
/// copies out dominate, the host bounds it.
///
/// Where the adapter has timestamp queries, `device_busy_s` and `kernel_s` give the device's own
/// time (`device_times.rs`): waiting far above busy time means transfers or gaps, not kernels.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GpuTotals {
    /// GPU calls (one per backend operation that ran on the device).
    pub calls: u64,
    /// Chunks submitted.
    pub chunks: u64,
    /// Seconds inside those calls, end to end.
    pub call_s: f64,
    /// Seconds preparing and submitting chunks (uploads, parameters, bind groups, encoding).
    pub submit_s: f64,
    /// Seconds waiting for the device to finish chunks.
    pub waiting_s: f64,
    /// Seconds copying results out of mapped memory.
    pub copy_out_s: f64,
    /// Bytes written to the device per call (per-item inputs and parameters; tables and
    /// constants uploaded once are not counted).
    pub bytes_up: u64,
    /// Bytes read back from the device.
    pub bytes_down: u64,
    /// Chunks whose kernels the device timed (0 where the adapter keeps no timestamps, or
    /// [`GpuOptions::device_timing`](crate::backend::gpu::GpuOptions::device_timing) is off).
    pub timed_chunks: u64,
    /// Seconds during which at least one timed kernel ran on the device (overlapping chunks
    /// counted once).
    pub device_busy_s: f64,
    /// Seconds from each call's first timed kernel start to its last kernel end, summed over
    /// calls: beyond `device_busy_s`, the device sat idle inside calls, waiting for uploads or
    /// submissions (a host-fed gap the chunk pipeline did not hide).
    pub device_span_s: f64,
    /// Device seconds per kernel (summed over its passes, so overlapping chunks add up).
    pub kernel_s: BTreeMap<&'static str, f64>,
}

impl GpuTotals {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &GpuTotals) -> GpuTotals {
        GpuTotals {
            calls: self.calls - earlier.calls,
            chunks: self.chunks - earlier.chunks,
            call_s: self.call_s - earlier.call_s,
            submit_s: self.submit_s - earlier.submit_s,
            waiting_s: self.waiting_s - earlier.waiting_s,
            copy_out_s: self.copy_out_s - earlier.copy_out_s,
            bytes_up: self.bytes_up - earlier.bytes_up,
            bytes_down: self.bytes_down - earlier.bytes_down,
            timed_chunks: self.timed_chunks - earlier.timed_chunks,
            device_busy_s: self.device_busy_s - earlier.device_busy_s,
            device_span_s: self.device_span_s - earlier.device_span_s,
            kernel_s: self
                .kernel_s
                .iter()
                .map(|(&kernel, &s)| (kernel, s - earlier.kernel_s.get(kernel).unwrap_or(&0.0)))
                .filter(|&(_, s)| s > 0.0)
                .collect(),
        }
    }

    /// Adds one call; `ns_per_tick` converts its pass ticks into time.
    pub(in crate::backend::gpu) fn add_call(
        &mut self,
        times: &CallTimes,
        call_s: f64,
        ns_per_tick: f64,
    ) {
        self.calls += 1;
        self.chunks += times.chunks as u64;
        self.call_s += call_s;
        self.submit_s += times.submit.as_secs_f64();
        self.waiting_s += times.wait.as_secs_f64();
        self.copy_out_s += times.copy_out.as_secs_f64();
        self.bytes_up += times.bytes_up;
        self.bytes_down += times.bytes_down;
        self.timed_chunks += times.timed_chunks as u64;
        let seconds = |ticks: u64| ticks as f64 * ns_per_tick * 1e-9;
        self.device_busy_s += seconds(busy_ticks(&times.passes));
        self.device_span_s += seconds(span_ticks(&times.passes));
        for pass in &times.passes {
            *self.kernel_s.entry(pass.kernel.name()).or_default() += seconds(pass.end - pass.begin);
        }
    }
}

impl GpuBackend {
    /// The totals of every call so far (see [`GpuTotals`]).
    pub fn totals(&self) -> GpuTotals {
        self.runtime.totals()
    }
}

impl Runtime {
    /// The totals of every call so far.
    fn totals(&self) -> GpuTotals {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }
}
