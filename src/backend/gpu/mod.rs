//! The GPU backend: WGSL Montgomery kernels through wgpu (Vulkan, Metal or DX12).
//!
//! * Adapter: the first discrete, then integrated, virtual and CPU adapter (Mesa's lavapipe is a
//!   CPU adapter) among Vulkan, Metal and DX12 ones; `PAILLIER_GPU_ADAPTER=text` keeps only
//!   adapters whose name contains `text`. GL is not used.
//! * Limb path, per adapter: 32-bit limbs with 64-bit products when the adapter has
//!   `SHADER_INT64`, 16-bit limbs in u32 otherwise. `PAILLIER_GPU_LIMBS=16` (or
//!   [`GpuOptions::limb_path`]) forces the 16-bit path, so both can be tested on one adapter.
//! * Work: one invocation per big integer; batches are split into dispatches within the adapter's
//!   workgroup-count and storage-binding limits; pipelines are compiled once per (kernel, width,
//!   path); fixed-base tables and search databases stay resident in device buffers.
//! * Failures (validation errors, a lost device) become [`Error::GpuFailure`]: never a result.
//!
//! The GPU path is NOT hardened against timing side channels: its exponentiation skips zero
//! windows and its table reads depend on the exponent.

mod kernels;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::cpu::CpuBackend;
use super::{spot_check, Backend, CrtKey, Device, DeviceBatch, DeviceMemory, Exponents, LimbBatch};
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::{Error, Result};
use kernels::{Kernel, WORKGROUP_SIZE};

pub use wgpu::{AdapterInfo, DeviceType};

/// How a big integer is split into GPU limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LimbPath {
    /// 32-bit limbs, 64-bit products (`SHADER_INT64`).
    Bits32,
    /// 16-bit limbs in u32 words: works on every adapter.
    Bits16,
}

impl LimbPath {
    /// GPU limbs per 64-bit CPU limb.
    fn per_u64(self) -> usize {
        match self {
            LimbPath::Bits32 => 2,
            LimbPath::Bits16 => 4,
        }
    }
}

/// Settings of a [`GpuBackend`].
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Force a limb path; `None` picks per adapter (`PAILLIER_GPU_LIMBS=16|32` when unset here).
    pub limb_path: Option<LimbPath>,
    /// Keep only adapters whose name contains this text (`PAILLIER_GPU_ADAPTER` when unset).
    pub adapter_name: Option<String>,
    /// Split batches into dispatches of at most this many items (besides the adapter's limits).
    /// Tests set it low to exercise splitting.
    pub max_items_per_dispatch: Option<usize>,
    /// Batches smaller than this run on the CPU backend instead (`PAILLIER_GPU_MIN_BATCH` when
    /// unset). The default is 0, every batch on the GPU: the crossover has not been measured on
    /// real hardware yet (see BENCHMARKS.md).
    pub min_batch: Option<usize>,
    /// Random items of every call's result recomputed on the CPU before it is returned
    /// (`PAILLIER_GPU_SPOT_CHECK` when unset, else 1; 0 turns the check off). See
    /// [`Backend::spot_checks`].
    pub spot_check_samples: Option<usize>,
}

/// A fault to inject into a [`GpuBackend`], for testing that no fault yields a wrong result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Destroy the device (as a driver reset or a removed GPU would) right after the k-th queue
    /// submission from now (1 = the next one), in the middle of its batch.
    LoseDevice {
        /// Submissions until the loss.
        after_submissions: usize,
    },
    /// Flip one bit of what the k-th readback from now returns (silent data corruption).
    CorruptResult {
        /// Readbacks until the corruption.
        after_readbacks: usize,
    },
}

impl GpuOptions {
    /// Options from the environment: `PAILLIER_GPU_LIMBS`, `PAILLIER_GPU_ADAPTER`,
    /// `PAILLIER_GPU_MIN_BATCH`, `PAILLIER_GPU_SPOT_CHECK`.
    pub fn from_env() -> Result<Self> {
        let limb_path = match std::env::var("PAILLIER_GPU_LIMBS").ok().as_deref() {
            None | Some("") => None,
            Some("32") => Some(LimbPath::Bits32),
            Some("16") => Some(LimbPath::Bits16),
            Some(other) => {
                return Err(Error::InvalidParameter(format!(
                    "PAILLIER_GPU_LIMBS={other:?} (expected 16 or 32)"
                )))
            }
        };
        let count_from_env =
            |name: &str| match std::env::var(name).ok().filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(text) => text.trim().parse::<usize>().map(Some).map_err(|_| {
                    Error::InvalidParameter(format!("{name}={text:?} is not a count"))
                }),
            };
        let min_batch = count_from_env("PAILLIER_GPU_MIN_BATCH")?;
        let spot_check_samples = count_from_env("PAILLIER_GPU_SPOT_CHECK")?;
        Ok(Self {
            limb_path,
            adapter_name: std::env::var("PAILLIER_GPU_ADAPTER")
                .ok()
                .filter(|s| !s.is_empty()),
            max_items_per_dispatch: None,
            min_batch,
            spot_check_samples,
        })
    }
}

/// Uniform parameters of every kernel; field order matches `Params` in the shaders.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct Params {
    count: u32,
    first: u32,
    operand_count: u32,
    operand_first: u32,
    exp_words: u32,
    exp_bits: u32,
    m0_inv: u32,
    window: u32,
    limbs: u32,
    phase: u32,
    step_from: u32,
    step_to: u32,
    x_limbs: u32,
    mask_words: u32,
    m0_inv_q: u32,
    pad: u32,
}

impl Params {
    fn with_limbs(mut self, limbs: u32) -> Self {
        self.limbs = limbs;
        self
    }
}

/// One dispatch of a phased kernel: (phase, first step, end step).
#[derive(Clone, Copy, Debug)]
struct Step(u32, u32, u32);

/// Splits steps `[from, to)` of `phase` into dispatches of at most `per_dispatch` steps.
fn push_ranges(program: &mut Vec<Step>, phase: u32, from: usize, to: usize, per_dispatch: usize) {
    let mut start = from;
    while start < to {
        let end = (start + per_dispatch).min(to);
        program.push(Step(phase, start as u32, end as u32));
        start = end;
    }
}

/// lavapipe (Mesa's gallivm) ends all loops of an invocation after about 65,535 iterations;
/// this leaves room for the copies around the multiplications and for error in the model.
const LLVMPIPE_LOOP_BUDGET: usize = 50_000;

/// Elsewhere a budget only slices long kernels into dispatches of bounded duration (OS watchdogs
/// reset GPUs whose dispatches run for seconds).
const DEFAULT_LOOP_BUDGET: usize = 1 << 22;

/// What a dispatch binds at binding 2 (the per-item input).
enum Primary<'a> {
    /// Host words, one item of `item_words` per output item: sliced per dispatch.
    PerItem { words: &'a [u32], item_words: usize },
    /// A device buffer bound whole; item `i` of the batch is item `first + i` of the buffer.
    Resident {
        buffer: &'a wgpu::Buffer,
        first: usize,
    },
    /// A device buffer bound whole and not indexed by item (a fixed-base table).
    Whole { buffer: &'a wgpu::Buffer },
}

/// What a dispatch binds at binding 3 (the operand).
enum Operand<'a> {
    /// Host words, one item per output item: sliced per dispatch.
    PerItem { words: &'a [u32], item_words: usize },
    /// `items` items broadcast cyclically: uploaded once, bound whole.
    Cyclic { words: &'a [u32], items: usize },
}

/// A device-resident batch: the buffer and how many items it holds.
struct ResidentBuffer {
    buffer: wgpu::Buffer,
    items: usize,
    capacity: usize,
    item_words: usize,
}

/// Most scratch memory one dispatch may use (the adapter's binding limit may be lower).
const SCRATCH_BUDGET_BYTES: u64 = 512 << 20;

/// The wgpu backend. Create it once ([`GpuBackend::shared`] does) and share it.
pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    limb_path: LimbPath,
    max_items_per_dispatch: usize,
    max_binding_bytes: u64,
    /// Loop back-edges one invocation may run per dispatch.
    loop_budget: usize,
    /// Batches below this size go to the CPU backend.
    min_batch: usize,
    pipelines: Mutex<HashMap<Kernel, Arc<wgpu::ComputePipeline>>>,
    /// Scratch memory reused by every dispatch; the lock also serialises dispatches from
    /// several threads.
    scratch: Mutex<Option<wgpu::Buffer>>,
    /// Uploaded fixed-base tables by table id (a few at most: one context uses two).
    tables: Mutex<Vec<(u64, Arc<wgpu::Buffer>)>>,
    lost: Arc<AtomicBool>,
    uncaptured: Arc<Mutex<Option<String>>>,
    /// Items per call recomputed on the CPU.
    spot_checks: usize,
    /// Injected faults: submissions / readbacks until each fires (0: none armed).
    lose_device_in: AtomicUsize,
    corrupt_result_in: AtomicUsize,
}

/// Counts an armed countdown down; true when it reaches its event.
fn countdown_fires(counter: &AtomicUsize) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
        .is_ok_and(|before| before == 1)
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend")
            .field("adapter", &self.info.name)
            .field("backend", &self.info.backend)
            .field("limb_path", &self.limb_path)
            .finish_non_exhaustive()
    }
}

fn unavailable(why: impl Into<String>) -> Error {
    Error::GpuUnavailable(why.into())
}

fn failure(why: impl std::fmt::Display) -> Error {
    Error::GpuFailure(why.to_string())
}

fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

impl GpuBackend {
    /// The process-wide backend with options from the environment, created on first use. A failure
    /// is remembered: later calls return the same error without probing again.
    pub fn shared() -> Result<Arc<GpuBackend>> {
        static SHARED: OnceLock<std::result::Result<Arc<GpuBackend>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                GpuOptions::from_env()
                    .and_then(|options| GpuBackend::new(&options))
                    .map(Arc::new)
                    .map_err(|e| match e {
                        Error::GpuUnavailable(why) => why,
                        other => other.to_string(),
                    })
            })
            .clone()
            .map_err(Error::GpuUnavailable)
    }

    /// Opens an adapter and a device. [`Error::GpuUnavailable`] when none answers.
    pub fn new(options: &GpuOptions) -> Result<Self> {
        pollster::block_on(Self::open(options))
    }

    async fn open(options: &GpuOptions) -> Result<Self> {
        let env = GpuOptions::from_env()?;
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
        let instance = wgpu::Instance::new(descriptor);
        // GL is never used: its compute support is too limited for these kernels.
        let name_filter = options.adapter_name.clone().or(env.adapter_name);
        let mut adapters: Vec<wgpu::Adapter> = instance
            .enumerate_adapters(descriptor_backends())
            .await
            .into_iter()
            .filter(|a| {
                name_filter
                    .as_ref()
                    .is_none_or(|f| a.get_info().name.to_lowercase().contains(&f.to_lowercase()))
            })
            .collect();
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = adapters.into_iter().next().ok_or_else(|| {
            unavailable(match &name_filter {
                Some(f) => format!("no Vulkan, Metal or DX12 adapter named like {f:?}"),
                None => "no Vulkan, Metal or DX12 adapter answered (is a driver installed?)".into(),
            })
        })?;
        let info = adapter.get_info();
        let has_int64 = adapter.features().contains(wgpu::Features::SHADER_INT64);
        let limb_path = match options.limb_path.or(env.limb_path) {
            Some(LimbPath::Bits32) if !has_int64 => {
                return Err(unavailable(format!(
                    "adapter {} lacks SHADER_INT64, needed by 32-bit limbs",
                    info.name
                )))
            }
            Some(path) => path,
            None if has_int64 => LimbPath::Bits32,
            None => LimbPath::Bits16,
        };
        let required_features = match limb_path {
            LimbPath::Bits32 => wgpu::Features::SHADER_INT64,
            LimbPath::Bits16 => wgpu::Features::empty(),
        };
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("paillier-gpu"),
                required_features,
                required_limits: limits.clone(),
                memory_hints: wgpu::MemoryHints::Performance,
                ..Default::default()
            })
            .await
            .map_err(|e| unavailable(format!("adapter {}: {e}", info.name)))?;
        let lost = Arc::new(AtomicBool::new(false));
        let lost_flag = lost.clone();
        device.set_device_lost_callback(move |reason, message| {
            log::error!("GPU device lost ({reason:?}): {message}");
            lost_flag.store(true, Ordering::SeqCst);
        });
        // wgpu's default handler panics; record the error and fail the call instead.
        let uncaptured = Arc::new(Mutex::new(None));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));
        let max_items_per_dispatch = (limits.max_compute_workgroups_per_dimension as usize)
            .saturating_mul(WORKGROUP_SIZE)
            .min(options.max_items_per_dispatch.unwrap_or(usize::MAX))
            .max(1);
        let max_binding_bytes = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let loop_budget = if info.name.to_lowercase().contains("llvmpipe") {
            LLVMPIPE_LOOP_BUDGET
        } else {
            DEFAULT_LOOP_BUDGET
        };
        log::info!(
            "GPU backend on {} ({:?}, {:?}), {:?} limbs",
            info.name,
            info.device_type,
            info.backend,
            limb_path
        );
        Ok(Self {
            device,
            queue,
            info,
            limb_path,
            max_items_per_dispatch,
            max_binding_bytes,
            loop_budget,
            min_batch: options.min_batch.or(env.min_batch).unwrap_or(0),
            pipelines: Mutex::new(HashMap::new()),
            scratch: Mutex::new(None),
            tables: Mutex::new(Vec::new()),
            lost,
            uncaptured,
            spot_checks: options
                .spot_check_samples
                .or(env.spot_check_samples)
                .unwrap_or(1),
            lose_device_in: AtomicUsize::new(0),
            corrupt_result_in: AtomicUsize::new(0),
        })
    }

    /// Items to spot-check for a batch of `items`: none when the batch ran on the CPU anyway
    /// (below `min_batch`), where a check would only repeat the same computation.
    fn samples_for(&self, items: usize) -> usize {
        if items < self.min_batch {
            0
        } else {
            self.spot_checks
        }
    }

    /// Arms `fault` (replacing an armed fault of the same kind). For fault-injection tests: a
    /// lost device makes every later call a [`Error::GpuFailure`], for good.
    pub fn inject_fault(&self, fault: Fault) {
        match fault {
            Fault::LoseDevice { after_submissions } => self
                .lose_device_in
                .store(after_submissions, Ordering::SeqCst),
            Fault::CorruptResult { after_readbacks } => self
                .corrupt_result_in
                .store(after_readbacks, Ordering::SeqCst),
        }
    }

    /// The adapter in use.
    pub fn adapter_info(&self) -> &AdapterInfo {
        &self.info
    }

    /// The limb path in use.
    pub fn limb_path(&self) -> LimbPath {
        self.limb_path
    }

    /// Compiles every kernel for moduli of `limbs` 64-bit limbs and runs one tiny dispatch, so
    /// that the first real batch does not pay for shader compilation.
    pub fn warm_up(&self, modulus: &MontgomeryModulus) -> Result<()> {
        let one = LimbBatch::single(modulus.one().to_vec());
        self.modmul(modulus, &one, &one)?;
        for kernel in [Kernel::ModExp, Kernel::FixedBase, Kernel::Crt] {
            self.pipeline(kernel)?;
        }
        Ok(())
    }

    fn check_health(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(failure("the GPU device was lost"));
        }
        if let Some(message) = self.uncaptured.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(failure(message));
        }
        Ok(())
    }

    fn pipeline(&self, kernel: Kernel) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| failure("pipeline cache poisoned"))?;
        if let Some(p) = cache.get(&kernel) {
            return Ok(p.clone());
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        // A shader-compiler bug must surface as an error, not abort the caller.
        let compiled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let module = self
                .device
                .create_shader_module(wgpu::ShaderModuleDescriptor {
                    label: Some(kernel.label()),
                    source: wgpu::ShaderSource::Wgsl(
                        kernels::source(kernel, self.limb_path).into(),
                    ),
                });
            self.device
                .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(kernel.label()),
                    layout: None,
                    module: &module,
                    entry_point: Some("main"),
                    compilation_options: Default::default(),
                    cache: None,
                })
        }));
        let scope_error = pollster::block_on(scope.pop());
        let pipeline = compiled
            .map_err(|_| failure(format!("{}: the shader compiler panicked", kernel.label())))?;
        if let Some(e) = scope_error {
            return Err(failure(format!("{}: {e}", kernel.label())));
        }
        let pipeline = Arc::new(pipeline);
        cache.insert(kernel, pipeline.clone());
        Ok(pipeline)
    }

    fn words_of(&self, batch: &LimbBatch) -> Vec<u32> {
        to_gpu_words(batch.as_flat(), self.limb_path)
    }

    fn consts_buffer(&self, modulus: &MontgomeryModulus) -> wgpu::Buffer {
        // modulus | R² | R, the same R as the CPU engine.
        let mut limbs = modulus.modulus_limbs().to_vec();
        limbs.extend_from_slice(modulus.r_squared());
        limbs.extend_from_slice(modulus.one());
        let words = to_gpu_words(&limbs, self.limb_path);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("paillier-gpu modulus"),
                contents: bytemuck::cast_slice(&words),
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    fn m0_inv(&self, modulus: &MontgomeryModulus) -> u32 {
        match self.limb_path {
            LimbPath::Bits32 => modulus.m0_inv() as u32,
            LimbPath::Bits16 => (modulus.m0_inv() & 0xffff) as u32,
        }
    }

    fn storage_buffer(&self, label: &str, words: &[u32]) -> wgpu::Buffer {
        // Zero-length bindings are invalid: give empty inputs one word.
        let contents: &[u32] = if words.is_empty() { &[0] } else { words };
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(contents),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// Items per dispatch: within the workgroup-count limit, the binding size of every buffer
    /// sliced per item (`per_item_bytes`), and the scratch budget.
    fn chunk_items(
        &self,
        per_item_bytes: u64,
        scratch_bytes_per_item: u64,
        what: &str,
    ) -> Result<usize> {
        let mut chunk = ((self.max_binding_bytes / per_item_bytes.max(1)) as usize)
            .min(self.max_items_per_dispatch);
        if scratch_bytes_per_item > 0 {
            // The scratch interleave covers whole workgroups.
            let scratch_limit = self.max_binding_bytes.min(SCRATCH_BUDGET_BYTES);
            let groups =
                (scratch_limit / (scratch_bytes_per_item * WORKGROUP_SIZE as u64)) as usize;
            if groups == 0 {
                return Err(failure(format!(
                    "{what} needs {scratch_bytes_per_item} bytes of scratch per item; the adapter binds at most {scratch_limit}"
                )));
            }
            chunk = chunk.min(groups * WORKGROUP_SIZE);
        }
        Ok(chunk.max(1))
    }

    /// Grows the shared scratch buffer to hold `bytes_per_item` for `n` items (whole workgroups).
    fn ensure_scratch<'s>(
        &self,
        slot: &'s mut Option<wgpu::Buffer>,
        bytes_per_item: u64,
        n: usize,
    ) -> Result<&'s wgpu::Buffer> {
        let needed = (bytes_per_item * (n.div_ceil(WORKGROUP_SIZE) * WORKGROUP_SIZE) as u64).max(4);
        if slot.as_ref().is_none_or(|b| b.size() < needed) {
            *slot = Some(self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("paillier-gpu scratch"),
                size: needed,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            }));
        }
        slot.as_ref()
            .ok_or_else(|| failure("scratch buffer missing"))
    }

    fn output_buffer(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        })
    }

    /// Records one compute pass per step of `program` over `n` items. Passes are ordered, so each
    /// sees the scratch state the previous one left.
    fn encode_program(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: Kernel,
        n: usize,
        params: Params,
        program: &[Step],
        bindings: &[(u32, &wgpu::Buffer)],
    ) -> Result<()> {
        let pipeline = self.pipeline(kernel)?;
        let layout = pipeline.get_bind_group_layout(0);
        for step in program {
            let mut step_params = params;
            step_params.count = n as u32;
            step_params.phase = step.0;
            step_params.step_from = step.1;
            step_params.step_to = step.2;
            let uniform = self
                .device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("paillier-gpu params"),
                    contents: bytemuck::bytes_of(&step_params),
                    usage: wgpu::BufferUsages::UNIFORM,
                });
            let mut entries = vec![wgpu::BindGroupEntry {
                binding: 1,
                resource: uniform.as_entire_binding(),
            }];
            entries.extend(
                bindings
                    .iter()
                    .map(|(binding, buffer)| wgpu::BindGroupEntry {
                        binding: *binding,
                        resource: buffer.as_entire_binding(),
                    }),
            );
            let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(kernel.label()),
                layout: &layout,
                entries: &entries,
            });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(kernel.label()),
                timestamp_writes: None,
            });
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(n.div_ceil(WORKGROUP_SIZE) as u32, 1, 1);
        }
        Ok(())
    }

    /// Copies `output` (`bytes`) into a staging buffer, submits, checks the error scope opened by
    /// the caller, and reads the words back.
    fn submit_and_read(
        &self,
        mut encoder: wgpu::CommandEncoder,
        scope: wgpu::ErrorScopeGuard,
        output: &wgpu::Buffer,
        bytes: u64,
        what: &str,
    ) -> Result<Vec<u32>> {
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("paillier-gpu readback"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        encoder.copy_buffer_to_buffer(output, 0, &staging, 0, bytes.max(4));
        self.queue.submit([encoder.finish()]);
        if countdown_fires(&self.lose_device_in) {
            log::warn!("fault injection: destroying the GPU device");
            self.device.destroy();
        }
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(failure(format!("{what}: {e}")));
        }
        let mut words = self.read_back(&staging)?;
        words.truncate((bytes / 4) as usize);
        if countdown_fires(&self.corrupt_result_in) {
            log::warn!("fault injection: corrupting a GPU result");
            if let Some(word) = words.first_mut() {
                *word ^= 1;
            }
        }
        Ok(words)
    }

    /// Runs `kernel` over `count` items, split into dispatches within the adapter's limits, and
    /// returns `out_words` u32 words per item.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        kernel: Kernel,
        words: usize,
        modulus: &MontgomeryModulus,
        count: usize,
        out_words: usize,
        primary: Primary<'_>,
        operand: Operand<'_>,
        base_params: Params,
        program: &[Step],
    ) -> Result<Vec<u32>> {
        self.check_health()?;
        let mut results = Vec::with_capacity(count * out_words);
        if count == 0 {
            return Ok(results);
        }
        let consts = self.consts_buffer(modulus);
        let cyclic = match &operand {
            Operand::Cyclic { words: w, .. } => {
                Some(self.storage_buffer("paillier-gpu operand", w))
            }
            Operand::PerItem { .. } => None,
        };
        let mut per_item_bytes = (out_words * 4) as u64;
        if let Primary::PerItem { item_words, .. } = primary {
            per_item_bytes = per_item_bytes.max((item_words * 4) as u64);
        }
        if let Operand::PerItem { item_words, .. } = operand {
            per_item_bytes = per_item_bytes.max((item_words * 4) as u64);
        }
        let scratch_bytes_per_item = (kernel.scratch_words(words) * 4) as u64;
        let chunk = self.chunk_items(per_item_bytes, scratch_bytes_per_item, kernel.label())?;
        // Held for the whole call: one scratch buffer, one dispatch at a time.
        let mut scratch_slot = self
            .scratch
            .lock()
            .map_err(|_| failure("scratch buffer poisoned"))?;
        let mut start = 0;
        while start < count {
            let end = (start + chunk).min(count);
            let n = end - start;
            let mut params = base_params;
            let primary_buffer;
            let primary_ref = match &primary {
                Primary::PerItem {
                    words: w,
                    item_words,
                } => {
                    primary_buffer = self.storage_buffer(
                        "paillier-gpu input",
                        &w[start * item_words..end * item_words],
                    );
                    params.first = 0;
                    &primary_buffer
                }
                Primary::Resident { buffer, first } => {
                    params.first = (first + start) as u32;
                    *buffer
                }
                Primary::Whole { buffer } => {
                    params.first = 0;
                    *buffer
                }
            };
            let operand_buffer;
            let operand_ref = match (&operand, &cyclic) {
                (Operand::Cyclic { items, .. }, Some(buffer)) => {
                    params.operand_count = *items as u32;
                    params.operand_first = (start % items) as u32;
                    buffer
                }
                (
                    Operand::PerItem {
                        words: w,
                        item_words,
                    },
                    _,
                ) => {
                    operand_buffer = self.storage_buffer(
                        "paillier-gpu operand",
                        &w[start * item_words..end * item_words],
                    );
                    params.operand_count = n as u32;
                    params.operand_first = 0;
                    &operand_buffer
                }
                (Operand::Cyclic { .. }, None) => return Err(failure("operand buffer missing")),
            };
            let out_bytes = (n * out_words * 4) as u64;
            let output = self.output_buffer("paillier-gpu output", out_bytes);
            let scratch = self.ensure_scratch(&mut scratch_slot, scratch_bytes_per_item, n)?;
            let bindings = [
                (0, &consts),
                (2, primary_ref),
                (3, operand_ref),
                (4, &output),
                (5, scratch),
            ];
            let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some(kernel.label()),
                });
            self.encode_program(&mut encoder, kernel, n, params, program, &bindings)?;
            results.extend_from_slice(&self.submit_and_read(
                encoder,
                scope,
                &output,
                out_bytes,
                kernel.label(),
            )?);
            start = end;
        }
        self.check_health()?;
        Ok(results)
    }

    /// The CRT kernel's constants: P | Q | P⁻¹ | Q⁻¹ (2-adic) | h_p·R | h_q·R | q⁻¹·R mod p.
    fn crt_consts_buffer(&self, key: &CrtKey) -> wgpu::Buffer {
        let mut limbs = key.p.modulus_limbs().to_vec();
        limbs.extend_from_slice(key.q.modulus_limbs());
        limbs.extend_from_slice(&key.p_inverse);
        limbs.extend_from_slice(&key.q_inverse);
        limbs.extend_from_slice(&key.p.to_montgomery(&key.h_p));
        limbs.extend_from_slice(&key.q.to_montgomery(&key.h_q));
        limbs.extend_from_slice(&key.p.to_montgomery(&key.q_inv_mod_p));
        let words = to_gpu_words(&limbs, self.limb_path);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("paillier-gpu crt constants"),
                contents: bytemuck::cast_slice(&words),
                usage: wgpu::BufferUsages::STORAGE,
            })
    }

    fn read_back(&self, staging: &wgpu::Buffer) -> Result<Vec<u32>> {
        let slice = staging.slice(..);
        let (sender, receiver) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = sender.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| failure(format!("waiting for the GPU: {e}")))?;
        receiver
            .recv()
            .map_err(|_| failure("the GPU never answered the readback"))?
            .map_err(|e| failure(format!("reading results back: {e}")))?;
        self.check_health()?;
        let words = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| failure(format!("mapping results: {e}")))?;
            bytemuck::cast_slice::<u8, u32>(&view).to_vec()
        };
        staging.unmap();
        Ok(words)
    }

    fn table_buffer(&self, table: &FixedBaseTable) -> Result<Arc<wgpu::Buffer>> {
        let mut tables = self
            .tables
            .lock()
            .map_err(|_| failure("table cache poisoned"))?;
        if let Some((_, buffer)) = tables.iter().find(|(id, _)| *id == table.id()) {
            return Ok(buffer.clone());
        }
        let bytes = (table.entries().len() * 8 / 2 * self.limb_path.per_u64()) as u64;
        if bytes > self.max_binding_bytes {
            return Err(failure(format!(
                "a {bytes}-byte fixed-base table exceeds the adapter's {}-byte binding limit",
                self.max_binding_bytes
            )));
        }
        let buffer = Arc::new(self.storage_buffer(
            "paillier-gpu fixed-base table",
            &to_gpu_words(table.entries(), self.limb_path),
        ));
        if tables.len() >= 8 {
            tables.remove(0);
        }
        tables.push((table.id(), buffer.clone()));
        Ok(buffer)
    }

    /// Multiplications of `s`-limb numbers one dispatch may run within the loop budget.
    fn muls_per_dispatch(&self, s: usize) -> Result<usize> {
        let cost = kernels::mont_mul_back_edges(s);
        // Loading, copying and storing numbers around the multiplications.
        let overhead = 8 * (s + 1) + 64;
        if cost + overhead > self.loop_budget {
            return Err(failure(format!(
                "one multiplication of {s}-limb numbers exceeds the {}-iteration loop budget of adapter {}",
                self.loop_budget, self.info.name
            )));
        }
        Ok((self.loop_budget - overhead) / cost)
    }

    /// The dispatches of one modexp chunk.
    fn modexp_program(&self, s: usize, exp_bits: usize) -> Result<Vec<Step>> {
        let per = self.muls_per_dispatch(s)?;
        let mut program = vec![Step(0, 0, 0)];
        push_ranges(&mut program, 1, 2, 16, per);
        push_ranges(&mut program, 2, 0, exp_bits.div_ceil(4) * 5, per);
        program.push(Step(3, 0, 0));
        Ok(program)
    }

    /// The dispatches of one fixed-base chunk.
    fn fixed_base_program(&self, s: usize, rows: usize) -> Result<Vec<Step>> {
        let per = self.muls_per_dispatch(s)?;
        let mut program = vec![Step(0, 0, 0)];
        push_ranges(&mut program, 2, 0, rows, per);
        program.push(Step(3, 0, 0));
        Ok(program)
    }

    fn batch_of(&self, words: Vec<u32>, limbs_per_item: usize) -> Result<LimbBatch> {
        LimbBatch::from_flat(limbs_per_item, from_gpu_words(&words, self.limb_path))
    }

    fn modulus_params(&self, modulus: &MontgomeryModulus) -> Params {
        Params {
            m0_inv: self.m0_inv(modulus),
            limbs: (modulus.len() * self.limb_path.per_u64()) as u32,
            ..Params::default()
        }
    }

    fn check_width(
        &self,
        modulus: &MontgomeryModulus,
        batch: &LimbBatch,
        what: &str,
    ) -> Result<()> {
        if batch.limbs_per_item() != modulus.len() {
            return Err(Error::InvalidParameter(format!(
                "{what} of {} limbs for a {}-limb modulus",
                batch.limbs_per_item(),
                modulus.len()
            )));
        }
        Ok(())
    }
}

fn descriptor_backends() -> wgpu::Backends {
    wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12
}

/// Little-endian u64 limbs as GPU limbs (32- or 16-bit, each in a u32).
fn to_gpu_words(limbs: &[u64], path: LimbPath) -> Vec<u32> {
    match path {
        LimbPath::Bits32 => limbs
            .iter()
            .flat_map(|&l| [l as u32, (l >> 32) as u32])
            .collect(),
        LimbPath::Bits16 => limbs
            .iter()
            .flat_map(|&l| [l & 0xffff, (l >> 16) & 0xffff, (l >> 32) & 0xffff, l >> 48])
            .map(|w| w as u32)
            .collect(),
    }
}

/// GPU limbs back to u64 limbs.
fn from_gpu_words(words: &[u32], path: LimbPath) -> Vec<u64> {
    match path {
        LimbPath::Bits32 => words
            .chunks(2)
            .map(|w| w[0] as u64 | (w.get(1).copied().unwrap_or(0) as u64) << 32)
            .collect(),
        LimbPath::Bits16 => words
            .chunks(4)
            .map(|w| {
                w.iter()
                    .enumerate()
                    .fold(0u64, |acc, (k, &x)| acc | ((x as u64 & 0xffff) << (16 * k)))
            })
            .collect(),
    }
}

/// Exponent limbs as u32 words, whatever the limb path.
fn exponent_words(limbs: &[u64]) -> Vec<u32> {
    to_gpu_words(limbs, LimbPath::Bits32)
}

/// The kernels behind the [`Backend`] calls, before the spot check.
impl GpuBackend {
    fn modexp_on_device(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        if bases.len() < self.min_batch {
            return CpuBackend.modexp(modulus, bases, exponents);
        }
        self.check_width(modulus, bases, "bases")?;
        if exponents.values.is_empty() && !bases.is_empty() {
            return Err(Error::InvalidParameter("empty exponent batch".into()));
        }
        let exp_words = exponents.values.limbs_per_item() * 2;
        if exponents.bits > exp_words * 32 {
            return Err(Error::InvalidParameter(
                "exponent bit bound exceeds its limbs".into(),
            ));
        }
        let words = modulus.len() * self.limb_path.per_u64();
        let base_words = self.words_of(bases);
        let exp = exponent_words(exponents.values.as_flat());
        let operand = if exponents.values.len() == bases.len() && bases.len() > 1 {
            Operand::PerItem {
                words: &exp,
                item_words: exp_words,
            }
        } else {
            Operand::Cyclic {
                words: &exp,
                items: exponents.values.len(),
            }
        };
        let params = Params {
            exp_words: exp_words as u32,
            exp_bits: exponents.bits as u32,
            ..self.modulus_params(modulus)
        };
        let program = self.modexp_program(words, exponents.bits)?;
        let out = self.run(
            Kernel::ModExp,
            words,
            modulus,
            bases.len(),
            words,
            Primary::PerItem {
                words: &base_words,
                item_words: words,
            },
            operand,
            params,
            &program,
        )?;
        self.batch_of(out, modulus.len())
    }

    fn modmul_on_device(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        if a.len() < self.min_batch {
            return CpuBackend.modmul(modulus, a, b);
        }
        super::check_operands(modulus, a, b)?;
        let words = modulus.len() * self.limb_path.per_u64();
        let a_words = self.words_of(a);
        let b_mont = montgomery_operand(modulus, b);
        let b_words = to_gpu_words(b_mont.as_flat(), self.limb_path);
        let operand = if b.len() == a.len() && a.len() > 1 {
            Operand::PerItem {
                words: &b_words,
                item_words: words,
            }
        } else {
            Operand::Cyclic {
                words: &b_words,
                items: b.len(),
            }
        };
        let out = self.run(
            Kernel::ModMul,
            words,
            modulus,
            a.len(),
            words,
            Primary::PerItem {
                words: &a_words,
                item_words: words,
            },
            operand,
            self.modulus_params(modulus),
            &[Step(0, 0, 0)],
        )?;
        self.batch_of(out, modulus.len())
    }

    fn fixed_base_pow_on_device(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        if exponents.values.len() < self.min_batch {
            return CpuBackend.fixed_base_pow(modulus, table, exponents);
        }
        super::check_fixed_base_operands(modulus, table, exponents)?;
        let words = modulus.len() * self.limb_path.per_u64();
        let exp_words = exponents.values.limbs_per_item() * 2;
        let exp = exponent_words(exponents.values.as_flat());
        let powers = self.table_buffer(table)?;
        let params = Params {
            exp_words: exp_words as u32,
            exp_bits: exponents.bits as u32,
            window: table.window_bits() as u32,
            ..self.modulus_params(modulus)
        };
        let program =
            self.fixed_base_program(words, exponents.bits.div_ceil(table.window_bits()))?;
        let out = self.run(
            Kernel::FixedBase,
            words,
            modulus,
            exponents.values.len(),
            words,
            Primary::Whole { buffer: &powers },
            Operand::PerItem {
                words: &exp,
                item_words: exp_words,
            },
            params,
            &program,
        )?;
        self.batch_of(out, modulus.len())
    }

    fn crt_decode_on_device(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        if bases_p.len() < self.min_batch {
            return CpuBackend.crt_decode(key, bases_p, bases_q, masks);
        }
        super::check_crt_operands(key, bases_p, bases_q, masks)?;
        self.check_health()?;
        let count = bases_p.len();
        if count == 0 {
            return Ok(Vec::new());
        }
        let per = self.limb_path.per_u64();
        let s = key.p.len() * per; // limbs of p and q
        let w = key.p_squared.len() * per; // limbs of p² and q² (and of x_p, x_q)
        let mask_words = masks.limbs_per_item() * 2;
        let crt_cost = 2 * s * s + 3 * kernels::mont_mul_back_edges(s) + 16 * (s + 1);
        if crt_cost > self.loop_budget {
            return Err(failure(format!(
                "CRT decoding of {s}-limb primes exceeds the {}-iteration loop budget of adapter {}",
                self.loop_budget, self.info.name
            )));
        }
        let program_p = self.modexp_program(w, key.exponent_p.bits)?;
        let program_q = self.modexp_program(w, key.exponent_q.bits)?;
        let crt_program = [Step(0, 0, 0), Step(1, 0, 0)];
        let scratch_bytes = (Kernel::ModExp
            .scratch_words(w)
            .max(Kernel::Crt.scratch_words(s))
            * 4) as u64;
        let chunk = self.chunk_items((2 * w * 4) as u64, scratch_bytes, "CRT decoding")?;

        let consts_p = self.consts_buffer(&key.p_squared);
        let consts_q = self.consts_buffer(&key.q_squared);
        let consts_crt = self.crt_consts_buffer(key);
        let exponent = |e: &Exponents| exponent_words(e.values.as_flat());
        let (exp_p, exp_q) = (exponent(&key.exponent_p), exponent(&key.exponent_q));
        let exp_p_buffer = self.storage_buffer("paillier-gpu exponent", &exp_p);
        let exp_q_buffer = self.storage_buffer("paillier-gpu exponent", &exp_q);
        let mask_buffer =
            self.storage_buffer("paillier-gpu masks", &exponent_words(masks.as_flat()));
        let words_p = self.words_of(bases_p);
        let words_q = self.words_of(bases_q);
        let modexp_params = |modulus: &MontgomeryModulus, e: &Exponents, words: usize| Params {
            exp_words: (e.values.limbs_per_item() * 2) as u32,
            exp_bits: e.bits as u32,
            operand_count: 1,
            ..self.modulus_params(modulus).with_limbs(words as u32)
        };
        let params_p = modexp_params(&key.p_squared, &key.exponent_p, w);
        let params_q = modexp_params(&key.q_squared, &key.exponent_q, w);

        let mut scratch_slot = self
            .scratch
            .lock()
            .map_err(|_| failure("scratch buffer poisoned"))?;
        let mut distances = Vec::with_capacity(count);
        let mut start = 0;
        while start < count {
            let end = (start + chunk).min(count);
            let n = end - start;
            let input_p = self.storage_buffer("paillier-gpu bases", &words_p[start * w..end * w]);
            let input_q = self.storage_buffer("paillier-gpu bases", &words_q[start * w..end * w]);
            let x_p = self.output_buffer("paillier-gpu x_p", (n * w * 4) as u64);
            let x_q = self.output_buffer("paillier-gpu x_q", (n * w * 4) as u64);
            let counts = self.output_buffer("paillier-gpu distances", (n * 4) as u64);
            let scratch = self.ensure_scratch(&mut scratch_slot, scratch_bytes, n)?;
            let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("paillier-gpu crt decode"),
                });
            // x_p and x_q stay on the device: only the counts are read back.
            self.encode_program(
                &mut encoder,
                Kernel::ModExp,
                n,
                params_p,
                &program_p,
                &[
                    (0, &consts_p),
                    (2, &input_p),
                    (3, &exp_p_buffer),
                    (4, &x_p),
                    (5, scratch),
                ],
            )?;
            self.encode_program(
                &mut encoder,
                Kernel::ModExp,
                n,
                params_q,
                &program_q,
                &[
                    (0, &consts_q),
                    (2, &input_q),
                    (3, &exp_q_buffer),
                    (4, &x_q),
                    (5, scratch),
                ],
            )?;
            let crt_params = Params {
                limbs: s as u32,
                m0_inv: self.m0_inv(&key.p),
                m0_inv_q: self.m0_inv(&key.q),
                x_limbs: w as u32,
                mask_words: mask_words as u32,
                operand_count: masks.len() as u32,
                operand_first: (start % masks.len()) as u32,
                ..Params::default()
            };
            self.encode_program(
                &mut encoder,
                Kernel::Crt,
                n,
                crt_params,
                &crt_program,
                &[
                    (0, &consts_crt),
                    (2, &x_p),
                    (3, &mask_buffer),
                    (4, &counts),
                    (5, scratch),
                    (6, &x_q),
                ],
            )?;
            distances.extend(self.submit_and_read(
                encoder,
                scope,
                &counts,
                (n * 4) as u64,
                "CRT decoding",
            )?);
            start = end;
        }
        self.check_health()?;
        Ok(distances)
    }
}

/// Every call's result is spot-checked against the CPU on [`GpuOptions::spot_check_samples`]
/// random items before it is returned.
impl Backend for GpuBackend {
    fn device(&self) -> Device {
        Device::Gpu
    }

    fn modexp(
        &self,
        modulus: &MontgomeryModulus,
        bases: &LimbBatch,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        let out = self.modexp_on_device(modulus, bases, exponents)?;
        spot_check::modexp(
            self.samples_for(bases.len()),
            modulus,
            bases,
            exponents,
            &out,
        )?;
        Ok(out)
    }

    fn modmul(
        &self,
        modulus: &MontgomeryModulus,
        a: &LimbBatch,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        let out = self.modmul_on_device(modulus, a, b)?;
        spot_check::modmul(self.samples_for(a.len()), modulus, a.as_flat(), b, &out)?;
        Ok(out)
    }

    fn fixed_base_pow(
        &self,
        modulus: &MontgomeryModulus,
        table: &FixedBaseTable,
        exponents: &Exponents,
    ) -> Result<LimbBatch> {
        let out = self.fixed_base_pow_on_device(modulus, table, exponents)?;
        spot_check::fixed_base_pow(
            self.samples_for(exponents.values.len()),
            modulus,
            table,
            exponents,
            &out,
        )?;
        Ok(out)
    }

    fn crt_decode(
        &self,
        key: &CrtKey,
        bases_p: &LimbBatch,
        bases_q: &LimbBatch,
        masks: &LimbBatch,
    ) -> Result<Vec<u32>> {
        let out = self.crt_decode_on_device(key, bases_p, bases_q, masks)?;
        spot_check::crt_decode(
            self.samples_for(bases_p.len()),
            key,
            bases_p,
            bases_q,
            masks,
            &out,
        )?;
        Ok(out)
    }

    fn device_memory(&self) -> Option<&dyn DeviceMemory> {
        Some(self)
    }

    fn spot_checks(&self) -> usize {
        self.spot_checks
    }
}

/// Each operand item in Montgomery form (b·R), so the kernel's one multiplication gives a·b.
fn montgomery_operand(modulus: &MontgomeryModulus, b: &LimbBatch) -> LimbBatch {
    let mut out = LimbBatch::new(modulus.len());
    for item in b.iter() {
        // Widths were checked by the caller.
        let _ = out.push(&modulus.to_montgomery(item));
    }
    out
}

impl DeviceMemory for GpuBackend {
    fn upload(&self, batch: &LimbBatch) -> Result<DeviceBatch> {
        let mut target = DeviceBatch::new(
            batch.limbs_per_item(),
            Box::new(ResidentBuffer {
                buffer: self.storage_buffer("paillier-gpu resident", &[]),
                items: 0,
                capacity: 0,
                item_words: batch.limbs_per_item() * self.limb_path.per_u64(),
            }),
        );
        self.append(&mut target, batch)?;
        Ok(target)
    }

    fn append(&self, target: &mut DeviceBatch, batch: &LimbBatch) -> Result<()> {
        if batch.limbs_per_item() != target.limbs_per_item() {
            return Err(Error::InvalidParameter(
                "appending items of another width".into(),
            ));
        }
        let resident = target
            .storage_mut()
            .downcast_mut::<ResidentBuffer>()
            .ok_or_else(|| failure("a device batch of another backend"))?;
        let needed = resident.items + batch.len();
        let item_bytes = (resident.item_words * 4) as u64;
        if needed as u64 * item_bytes > self.max_binding_bytes {
            return Err(failure(format!(
                "{needed} records exceed the adapter's {}-byte storage binding limit",
                self.max_binding_bytes
            )));
        }
        if needed > resident.capacity {
            // Grow geometrically and copy what is there on the device.
            let capacity = needed.max(resident.capacity * 2).max(64);
            let capacity = capacity
                .min((self.max_binding_bytes / item_bytes) as usize)
                .max(needed);
            let buffer = self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("paillier-gpu resident"),
                size: capacity as u64 * item_bytes,
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            if resident.items > 0 {
                let mut encoder =
                    self.device
                        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                            label: Some("paillier-gpu grow"),
                        });
                encoder.copy_buffer_to_buffer(
                    &resident.buffer,
                    0,
                    &buffer,
                    0,
                    resident.items as u64 * item_bytes,
                );
                self.queue.submit([encoder.finish()]);
            }
            resident.buffer = buffer;
            resident.capacity = capacity;
        }
        let words = self.words_of(batch);
        if !words.is_empty() {
            self.queue.write_buffer(
                &resident.buffer,
                resident.items as u64 * item_bytes,
                bytemuck::cast_slice(&words),
            );
        }
        resident.items = needed;
        target.set_len(needed);
        self.check_health()
    }

    fn modmul_resident(
        &self,
        modulus: &MontgomeryModulus,
        a: &DeviceBatch,
        range: Range<usize>,
        b: &LimbBatch,
    ) -> Result<LimbBatch> {
        let resident = a
            .storage()
            .downcast_ref::<ResidentBuffer>()
            .ok_or_else(|| failure("a device batch of another backend"))?;
        if a.limbs_per_item() != modulus.len() || b.limbs_per_item() != modulus.len() {
            return Err(Error::InvalidParameter(
                "operand width differs from the modulus".into(),
            ));
        }
        if range.start > range.end || range.end > resident.items {
            return Err(Error::InvalidSelection(format!(
                "range {}..{} outside {} resident records",
                range.start, range.end, resident.items
            )));
        }
        if b.is_empty() {
            return Err(Error::InvalidParameter("empty operand batch".into()));
        }
        let words = modulus.len() * self.limb_path.per_u64();
        let b_mont = montgomery_operand(modulus, b);
        let b_words = to_gpu_words(b_mont.as_flat(), self.limb_path);
        let out = self.run(
            Kernel::ModMul,
            words,
            modulus,
            range.len(),
            words,
            Primary::Resident {
                buffer: &resident.buffer,
                first: range.start,
            },
            Operand::Cyclic {
                words: &b_words,
                items: b.len(),
            },
            self.modulus_params(modulus),
            &[Step(0, 0, 0)],
        )?;
        self.batch_of(out, modulus.len())
    }
}
