//! What machine a bench ran on: the CPU's model, threads and engine, and the GPU's report.

use std::sync::Arc;

use paillier_gpu::hazmat::backend::gpu::ChunkSizing;
use paillier_gpu::hazmat::backend::Backend;
use paillier_gpu::Device;
use serde::Serialize;

/// The machine's CPU as the report and the plot name it.
#[derive(Clone, Debug, Serialize)]
pub(super) struct CpuDescription {
    pub(super) model: String,
    pub(super) threads: usize,
    /// The CPU engine the CPU backend runs on (`CpuEngine::describe`).
    pub(super) engine: String,
}

impl CpuDescription {
    pub(super) fn this_machine() -> Self {
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split(':').nth(1))
                    .map(|m| m.trim().to_owned())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_owned());
        let engine = paillier_gpu::hazmat::bigint::picked_engine()
            .describe()
            .to_owned();
        Self {
            model,
            threads: rayon::current_num_threads(),
            engine,
        }
    }

    pub(super) fn line(&self) -> String {
        format!(
            "{}, {} threads, CPU engine {}",
            self.model, self.threads, self.engine
        )
    }
}

#[cfg(feature = "gpu")]
pub(super) type GpuDescription = paillier_gpu::hazmat::backend::gpu::GpuReport;
#[cfg(not(feature = "gpu"))]
pub(super) type GpuDescription = ();

/// The GPU backend's report when a GPU device is among those measured: the kernel shapes for n²,
/// p² and p of every key length.
#[cfg(feature = "gpu")]
pub(super) fn gpu_description(
    backends: &[(Device, Arc<dyn Backend>)],
    key_lens: &[usize],
) -> Option<GpuDescription> {
    if !backends.iter().any(|(_, b)| b.device() != Device::Cpu) {
        return None;
    }
    let gpu = paillier_gpu::hazmat::backend::gpu::GpuBackend::shared().ok()?;
    // Said before the warm-up and calibration, which take minutes on a software adapter.
    if gpu.adapter_info().is_software() {
        eprintln!(
            "paillier-gpu: warning: the \"gpu\" is a software adapter running on the CPU ({}); \
             it is measured as the gpu, and its timings say nothing about GPUs",
            gpu.adapter_info().name
        );
    }
    // Compile and calibrate at the widest n² measured (the report records what it found).
    if let Some(&key_len) = key_lens.iter().max() {
        let all_ones = (num_bigint::BigUint::from(1u32) << (4 * key_len)) - 1u32;
        let warmed = paillier_gpu::hazmat::bigint::MontgomeryModulus::new(&all_ones)
            .and_then(|modulus| gpu.warm_up(&modulus));
        if let Err(e) = warmed {
            eprintln!("paillier-gpu: bench: GPU warm-up failed: {e}");
        }
    }
    let mut widths: Vec<usize> = key_lens.iter().flat_map(|&k| [4 * k, 2 * k, k]).collect();
    widths.sort_unstable();
    widths.dedup();
    Some(gpu.report(&widths))
}

#[cfg(not(feature = "gpu"))]
pub(super) fn gpu_description(
    _: &[(Device, Arc<dyn Backend>)],
    _: &[usize],
) -> Option<GpuDescription> {
    None
}

/// One line naming the GPU (the warning for a software renderer goes to stderr, apart).
#[cfg(feature = "gpu")]
pub(super) fn gpu_banner(gpu: &GpuDescription) -> String {
    let shapes: Vec<String> = gpu
        .shapes
        .iter()
        .map(|s| format!("{}b: T={} L={}", s.bits, s.lanes, s.limbs_per_lane))
        .collect();
    let mut line = format!(
        "gpu: {} ({}, {} {}), {}-bit limbs, {} exchange, {}",
        gpu.adapter,
        gpu.device_type,
        gpu.driver,
        gpu.driver_info,
        gpu.limb_bits,
        gpu.exchange,
        shapes.join(", ")
    );
    if let Some(c) = &gpu.calibration {
        line.push_str(&format!(
            "\ncalibration: {} {}-bit products fill the adapter by the host's clock",
            c.saturating_items, c.bits
        ));
        if let Some(items) = c.device_saturating_items {
            line.push_str(&format!(", {items} by the device's own"));
        }
        let clock = match c.chunks_sized_by {
            ChunkSizing::HostTime => "the host's clock",
            ChunkSizing::DeviceTime => "the device's time",
        };
        line.push_str(&format!("; chunks of {} items, by {clock}", c.chunk_items));
    }
    line
}

#[cfg(not(feature = "gpu"))]
pub(super) fn gpu_banner(_: &GpuDescription) -> String {
    String::new()
}

/// The adapter's name for the plot's caption (a software adapter gets its own warning line).
#[cfg(feature = "gpu")]
pub(super) fn gpu_caption(gpu: &GpuDescription) -> String {
    gpu.adapter.clone()
}

#[cfg(feature = "gpu")]
pub(super) fn is_software(gpu: &GpuDescription) -> bool {
    gpu.software
}

#[cfg(not(feature = "gpu"))]
pub(super) fn gpu_caption(_: &GpuDescription) -> String {
    String::new()
}

#[cfg(not(feature = "gpu"))]
pub(super) fn is_software(_: &GpuDescription) -> bool {
    false
}

pub(super) fn backend_name(backend: &dyn Backend) -> String {
    match backend.device() {
        Device::Cpu => format!("cpu ({} threads)", rayon::current_num_threads()),
        other => match gpu_adapter_name() {
            Some(name) => format!("{other}: {name}"),
            None => other.to_string(),
        },
    }
}

#[cfg(feature = "gpu")]
pub(super) fn gpu_adapter_name() -> Option<String> {
    let gpu = paillier_gpu::hazmat::backend::gpu::GpuBackend::shared().ok()?;
    Some(gpu.adapter_info().name.clone())
}

#[cfg(not(feature = "gpu"))]
pub(super) fn gpu_adapter_name() -> Option<String> {
    None
}
