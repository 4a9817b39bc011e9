//! The GPU backend: cooperative WGSL Montgomery kernels through wgpu (Vulkan, Metal or DX12).
//!
//! Sorted by what it does: `runtime` (adapter, buffers, dispatch, submission, readback, time),
//! `codegen` (the kernels generated per shape and what they read), `ops` (each operation's
//! passes, one file an operation as in the CPU engine) and `calibrate.rs` (which times an
//! operation to size the runtime's chunks). The runtime is one handle, `runtime::Runtime` (the
//! device, its queue, pipelines, buffers, health, totals); [`GpuBackend`] holds it beside the
//! kernel shapes the adapter runs (`codegen::shape_choice::ShapeChoice`) and the fixed-base
//! tables kept on the device, and lends the three to the operations as `ops::Gpu`. Every
//! operation is a function of that handle and its operands, and `backend_impl.rs` maps each
//! [`Operation`](super::Operation) to its function.
//!
//! * Adapter (`runtime/adapter.rs`): the first discrete, then integrated, virtual and CPU adapter (Mesa's
//!   lavapipe is a CPU adapter) among Vulkan, Metal and DX12 ones; [`GpuOptions::adapter_name`]
//!   keeps only adapters whose name contains a text.
//! * Arithmetic (`codegen/shader.rs`): each number is held by a group of T invocations, each with S/T of
//!   its limbs in registers (the approach of NVIDIA's CGBN); values cross lanes by subgroup
//!   shuffles where the adapter has them, through workgroup memory otherwise ([`Exchange`]).
//!   32-bit limbs with 64-bit products where the adapter has `SHADER_INT64`, 16-bit limbs in u32
//!   otherwise ([`LimbPath`]). Pipelines are specialised per kernel × width × lanes × exchange ×
//!   limb path.
//! * Work (`runtime/dispatch.rs`): batches are split into chunks within the adapter's limits (at least
//!   four for a batch that fills the adapter several times), up to three chunks in flight,
//!   buffers pooled across calls, each host input uploaded once per chunk however many passes
//!   bind it (`runtime/submit.rs`); fixed-base tables and search databases stay resident.
//! * Time (`runtime/totals.rs`, `runtime/device_times.rs`): every call's host-side times and bytes, and, where
//!   the adapter has timestamp queries, each kernel's time on the device itself.
//! * Products of powers (`ops/multi_exp.rs`, the linear layer's work): the host recodes each row of
//!   public exponents into a program of terms (`ops/multi_exp_plan.rs`), one pass builds every
//!   base's odd powers, one runs the programs, rows along the dispatch's second dimension.
//! * Failures (validation errors, a lost device) become [`Error::GpuFailure`]: never a result, and
//!   every call's result is spot-checked on the CPU ([`GpuOptions::spot_check_samples`]).
//!
//! The GPU path is NOT hardened against timing side channels: its table reads depend on exponent
//! digits (fixed 4-bit windows for modexp, the table's windows for fixed-base), and it keeps
//! secret exponents in device memory. Use the CPU backend where that matters.

mod backend_impl;
mod calibrate;
mod codegen;
mod ops;
mod runtime;

use std::sync::{Arc, Mutex, OnceLock};

use super::{Backend, LimbBatch, RoutingBackend, VerifyingBackend};
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

pub use calibrate::{Calibration, ChunkSizing};
pub use runtime::adapter_description::{AdapterDescription, AdapterKind};
#[cfg(feature = "fault-injection")]
pub use runtime::options::Fault;
pub use runtime::options::{Exchange, GpuOptions, LimbPath};
pub use runtime::report::{GpuReport, ShapeReport};
pub use runtime::totals::GpuTotals;

/// The wgpu backend. Create it once ([`GpuBackend::shared`] does) and share it.
pub struct GpuBackend {
    /// The device and what its calls share; every operation runs its passes through it.
    runtime: runtime::Runtime,
    /// The adapter in this crate's terms, for callers.
    description: AdapterDescription,
    /// The kernel shapes this adapter runs.
    shapes: codegen::shape_choice::ShapeChoice,
    /// Records per resident buffer at most (besides the binding limit).
    resident_shard_items: usize,
    /// Batches below this size go to the CPU backend.
    min_batch: usize,
    /// Uploaded fixed-base tables by table id and form (a few at most: one context uses two).
    tables: ops::fixed_base::ResidentTables,
    calibration: Mutex<Option<Calibration>>,
    /// Items per call recomputed on the CPU.
    spot_checks: usize,
    /// Whether the calibration sizes chunks from the device's time (`calibrate.rs`).
    device_time_chunks: bool,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("adapter", &self.runtime.info.name)
            .field("backend", &self.runtime.info.backend)
            .field("limb_path", &self.shapes.limb_path)
            .field("exchange", &self.shapes.exchange)
            .finish_non_exhaustive()
    }
}

fn unavailable(why: impl Into<String>) -> Error {
    Error::GpuUnavailable(why.into())
}

fn failure(why: impl std::fmt::Display) -> Error {
    Error::GpuFailure(why.to_string())
}

impl GpuBackend {
    /// The process-wide backend with the process-wide options
    /// ([`GpuOptions::set_process_defaults`]), created on first use. A failure
    /// is remembered: later calls return the same error without probing again.
    pub fn shared() -> Result<Arc<GpuBackend>> {
        static SHARED: OnceLock<std::result::Result<Arc<GpuBackend>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                GpuBackend::new(&GpuOptions::default())
                    .map(Arc::new)
                    .map_err(|e| match e {
                        Error::GpuUnavailable(why) => why,
                        other => other.to_string(),
                    })
            })
            .clone()
            .map_err(Error::GpuUnavailable)
    }

    /// Opens an adapter and a device; unset options come from the process-wide ones
    /// ([`GpuOptions::set_process_defaults`]). [`Error::GpuUnavailable`] when none answers.
    pub fn new(options: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::open(options))
    }

    /// This backend with its policies, what [`backend_for`](crate::backend::backend_for) hands
    /// out: spot checks ([`GpuOptions::spot_check_samples`] items of every call recomputed on
    /// the CPU) and batches below [`GpuOptions::min_batch`] sent to the CPU.
    pub fn checked(self: &Arc<Self>) -> Arc<dyn Backend> {
        let verified: Arc<dyn Backend> =
            Arc::new(VerifyingBackend::new(self.clone(), self.spot_checks));
        if self.min_batch == 0 {
            return verified;
        }
        Arc::new(RoutingBackend::new(
            crate::backend::cpu::CpuBackend::shared(),
            verified,
            self.min_batch,
        ))
    }

    /// Arms `fault` (replacing an armed fault of the same kind). For fault-injection tests: a
    /// lost device makes every later call a [`Error::GpuFailure`], for good. Only with the
    /// `fault-injection` feature.
    #[cfg(feature = "fault-injection")]
    pub fn inject_fault(&self, fault: Fault) {
        self.runtime.arm(fault);
    }

    /// The adapter in use.
    pub fn adapter_info(&self) -> &AdapterDescription {
        &self.description
    }

    /// One line for logs: `NVIDIA H100 80GB HBM3 (Vulkan), Bits32 limbs, subgroup exchange`.
    pub fn describe(&self) -> String {
        format!(
            "{} ({}), {:?} limbs, {} exchange",
            self.description.name,
            self.description.api,
            self.shapes.limb_path,
            self.shapes.exchange.as_str()
        )
    }

    /// The limb path in use.
    pub fn limb_path(&self) -> LimbPath {
        self.shapes.limb_path
    }

    /// The exchange variant in use.
    pub fn exchange(&self) -> Exchange {
        self.shapes.exchange
    }

    /// Compiles every kernel for `modulus` and calibrates the chunk size on it
    /// ([`calibrate`](Self::calibrate)), so that the first real batch pays for neither and
    /// fills the adapter.
    pub fn warm_up(&self, modulus: &MontgomeryModulus) -> Result<Calibration> {
        let one = LimbBatch::single(modulus.one().to_vec());
        ops::modmul::modmul_on_device(
            &self.gpu(),
            &super::operation::Modmul {
                modulus,
                a: &one,
                b: &one,
            },
        )?;
        let shape = self.shapes.shape(self.shapes.gpu_limbs(modulus));
        for kernel in [
            codegen::kernels::Kernel::ModExp,
            codegen::kernels::Kernel::FixedBase,
            codegen::kernels::Kernel::Recombine,
        ] {
            self.runtime.pipeline(kernel, shape)?;
        }
        self.calibrate(modulus)
    }

    /// The handle the operations in `ops/` run on.
    fn gpu(&self) -> ops::Gpu<'_> {
        ops::Gpu {
            runtime: &self.runtime,
            shapes: &self.shapes,
            tables: &self.tables,
        }
    }
}
