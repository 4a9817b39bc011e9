//! Which compute device runs the work, and how a backend for it is made.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use super::*;
use crate::error::{Error, Result};

/// Which compute device an execution context or index uses.
///
/// It selects the backend and nothing else: it is not part of a context's id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Device {
    /// The CPU backend on every core (rayon). Always available.
    #[default]
    Cpu,
    /// A GPU through wgpu. Asking for it when no adapter answers is an error.
    Gpu,
    /// A GPU when one answers, otherwise the CPU.
    Auto,
}

impl Device {
    /// The lower-case name used by the CLI and the environment (`cpu`, `gpu`, `auto`).
    pub fn as_str(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
            Device::Auto => "auto",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Device {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "gpu" => Ok(Device::Gpu),
            "auto" => Ok(Device::Auto),
            other => Err(Error::InvalidParameter(format!(
                "unknown device {other:?} (expected cpu, gpu or auto)"
            ))),
        }
    }
}

/// Returns the backend for `device`.
///
/// `Gpu` is [`Error::GpuUnavailable`] when no adapter answers, and every GPU failure is an error.
/// `Auto` uses the CPU when no hardware adapter answers (saying so once at info level), and
/// otherwise a [`FallbackBackend`]: the GPU, with every call that fails on it rerun on the CPU.
pub fn backend_for(device: Device) -> Result<Arc<dyn Backend>> {
    match device {
        Device::Cpu => Ok(cpu::CpuBackend::shared()),
        Device::Gpu => gpu_backend(),
        Device::Auto => match auto_gpu_backend() {
            Ok(gpu) => Ok(Arc::new(FallbackBackend::new(
                gpu,
                cpu::CpuBackend::shared(),
            ))),
            Err(why) => {
                static SAID: std::sync::Once = std::sync::Once::new();
                SAID.call_once(|| log::info!("device auto: {why}; using the CPU"));
                Ok(cpu::CpuBackend::shared())
            }
        },
    }
}

/// The shared GPU with its spot checks.
#[cfg(feature = "gpu")]
fn gpu_backend() -> Result<Arc<dyn Backend>> {
    let backend = gpu::GpuBackend::shared()?;
    say_gpu_in_use(&backend);
    Ok(backend.checked())
}

/// `Auto` takes a hardware adapter only: a software one (lavapipe, WARP) is always slower than
/// the CPU backend on the same cores. `Gpu` asked for explicitly takes either. The error is why
/// the CPU runs instead, for the one info line that says so.
#[cfg(feature = "gpu")]
fn auto_gpu_backend() -> std::result::Result<Arc<dyn Backend>, String> {
    let backend = gpu::GpuBackend::shared().map_err(|e| e.to_string())?;
    let info = backend.adapter_info();
    if info.is_software() {
        return Err(format!(
            "the only adapter, {}, is a software renderer, slower than the CPU backend \
             (--device gpu runs on it anyway)",
            info.name
        ));
    }
    say_gpu_in_use(&backend);
    Ok(backend.checked())
}

/// One info line, the first time the GPU is chosen: which adapter runs the work. (Opening an
/// adapter says nothing at info level, so a run that opens one and then keeps to the CPU does
/// not claim both.)
#[cfg(feature = "gpu")]
fn say_gpu_in_use(backend: &gpu::GpuBackend) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| log::info!("running on the GPU: {}", backend.describe()));
}

#[cfg(not(feature = "gpu"))]
fn gpu_backend() -> Result<Arc<dyn Backend>> {
    Err(Error::GpuUnavailable(
        "this build of paillier-gpu was made without the gpu feature".into(),
    ))
}

#[cfg(not(feature = "gpu"))]
fn auto_gpu_backend() -> std::result::Result<Arc<dyn Backend>, String> {
    gpu_backend().map_err(|e| e.to_string())
}

/// Records per encryption step for a file job on `backend` when the caller gives none: `floor`
/// on the CPU; on a GPU, after its warm-up (which compiles the kernels and calibrates the chunk
/// size at `n_squared`'s width), enough records of `chunks` ciphertexts to fill two calibrated
/// chunks (one computing while the other moves), and at least `floor`.
pub fn encryption_batch(
    backend: &dyn Backend,
    n_squared: &crate::bigint::MontgomeryModulus,
    chunks: usize,
    floor: usize,
) -> Result<usize> {
    if backend.runs_on_cpu(usize::MAX) {
        return Ok(floor);
    }
    gpu_chunk_items(n_squared).map(|items| (2 * items).div_ceil(chunks.max(1)).max(floor))
}

#[cfg(feature = "gpu")]
fn gpu_chunk_items(n_squared: &crate::bigint::MontgomeryModulus) -> Result<usize> {
    let gpu = gpu::GpuBackend::shared()?;
    let calibration = gpu.warm_up(n_squared)?;
    log::info!(
        "GPU warm-up: {} numbers fill {}; chunks of {}",
        calibration.saturating_items,
        gpu.adapter_info().name,
        calibration.chunk_items
    );
    Ok(calibration.chunk_items)
}

#[cfg(not(feature = "gpu"))]
fn gpu_chunk_items(_: &crate::bigint::MontgomeryModulus) -> Result<usize> {
    Err(Error::GpuUnavailable(
        "this build has no GPU backend (the \"gpu\" feature)".into(),
    ))
}
