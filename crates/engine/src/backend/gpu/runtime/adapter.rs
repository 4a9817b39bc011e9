//! Choosing an adapter, opening a device, and choosing the kernel shapes it runs best.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::options::{Exchange, GpuOptions, LimbPath};
use crate::backend::gpu::codegen::shader::WORKGROUP_SIZE;
use crate::backend::gpu::codegen::shape_choice::ShapeChoice;
use crate::backend::gpu::{unavailable, GpuBackend, GpuTotals};
use crate::error::Result;

/// lavapipe (Mesa's gallivm) ends all loops of an invocation after about 65,535 iterations;
/// this leaves room for the loops around the products and for error in the count.
const LLVMPIPE_LOOP_BUDGET: usize = 50_000;

/// Elsewhere a budget only slices long kernels into dispatches of bounded duration (OS watchdogs
/// reset GPUs whose dispatches run for seconds).
const DEFAULT_LOOP_BUDGET: usize = 1 << 22;

fn rank(device_type: wgpu::DeviceType) -> u8 {
    match device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

fn backends() -> wgpu::Backends {
    // GL is never used: its compute support is too limited for these kernels.
    wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12
}

impl GpuBackend {
    pub(in crate::backend::gpu) async fn open(options: &GpuOptions) -> Result<Self> {
        let options = options.clone().or(GpuOptions::process_defaults());
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle();
        descriptor.backends = backends();
        let instance = wgpu::Instance::new(descriptor);
        let name_filter = options.adapter_name.clone();
        let mut adapters: Vec<wgpu::Adapter> = instance
            .enumerate_adapters(backends())
            .await
            .into_iter()
            .filter(|a| {
                name_filter
                    .as_ref()
                    .is_none_or(|f| a.get_info().name.to_lowercase().contains(&f.to_lowercase()))
            })
            .collect();
        // Stable: the driver's order is kept within a kind, so an index names one GPU of many
        // identical ones.
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let matching = adapters.len();
        let position = options.adapter_index.unwrap_or(0);
        let adapter = adapters.into_iter().nth(position).ok_or_else(|| {
            unavailable(match (&name_filter, options.adapter_index) {
                (_, Some(i)) if matching > 0 => {
                    format!("adapter index {i} asked for, but only {matching} adapter(s) match")
                }
                (Some(f), _) => format!("no Vulkan, Metal or DX12 adapter named like {f:?}"),
                (None, _) => {
                    "no Vulkan, Metal or DX12 adapter answered (is a driver installed?)".into()
                }
            })
        })?;
        let info = adapter.get_info();
        let features = adapter.features();
        let has_int64 = features.contains(wgpu::Features::SHADER_INT64);
        let has_subgroups = features.contains(wgpu::Features::SUBGROUP);
        let limb_path = match options.limb_path {
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
        let exchange = match options.exchange {
            Some(Exchange::Subgroup) if !has_subgroups => {
                return Err(unavailable(format!(
                    "adapter {} lacks subgroup operations, needed by the subgroup exchange",
                    info.name
                )))
            }
            Some(exchange) => exchange,
            None if has_subgroups => Exchange::Subgroup,
            None => Exchange::Workgroup,
        };
        let mut required_features = wgpu::Features::empty();
        if limb_path == LimbPath::Bits32 {
            required_features |= wgpu::Features::SHADER_INT64;
        }
        if exchange == Exchange::Subgroup {
            required_features |= wgpu::Features::SUBGROUP;
        }
        // Chunks sized by the device's time need its timestamps.
        let device_time_chunks = options.device_time_chunks.unwrap_or(false);
        let device_timing = (options.device_timing.unwrap_or(false) || device_time_chunks)
            && features.contains(wgpu::Features::TIMESTAMP_QUERY);
        if device_timing {
            required_features |= wgpu::Features::TIMESTAMP_QUERY;
        }
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
        let max_binding_bytes = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let loop_budget = if info.name.to_lowercase().contains("llvmpipe") {
            LLVMPIPE_LOOP_BUDGET
        } else {
            DEFAULT_LOOP_BUDGET
        };
        // With subgroups, a group must fit the smallest subgroup the adapter may launch.
        let lane_cap = match exchange {
            Exchange::Subgroup => (info.subgroup_min_size as usize).clamp(1, WORKGROUP_SIZE),
            Exchange::Workgroup => WORKGROUP_SIZE,
        };
        log::debug!(
            "opened {} ({:?}, {:?}), {:?} limbs, {} exchange",
            info.name,
            info.device_type,
            info.backend,
            limb_path,
            exchange.as_str()
        );
        let runtime = super::Runtime {
            device,
            queue,
            info,
            limits,
            features,
            max_items_per_dispatch: options.max_items_per_dispatch.unwrap_or(usize::MAX).max(1),
            max_binding_bytes,
            pipelines: Mutex::new(HashMap::new()),
            pool: Mutex::new(Default::default()),
            constants: Mutex::new(Vec::new()),
            lost,
            uncaptured,
            calibrated_invocations: AtomicUsize::new(0),
            device_timing,
            lose_device_in: AtomicUsize::new(0),
            corrupt_result_in: AtomicUsize::new(0),
            totals: Mutex::new(GpuTotals::default()),
        };
        let mut shapes =
            ShapeChoice::new(limb_path, exchange, lane_cap, options.lanes, loop_budget);
        shapes.two_digit = options.two_digit.unwrap_or(true);
        shapes.two_digit_lanes = options.two_digit_lanes;
        shapes.two_digit_fill = options.two_digit_fill.unwrap_or(0);
        Ok(Self {
            description: crate::backend::gpu::AdapterDescription::of(&runtime.info),
            runtime,
            shapes,
            resident_shard_items: options.resident_shard_items.unwrap_or(usize::MAX).max(1),
            min_batch: options.min_batch.unwrap_or(0),
            tables: Mutex::new(Vec::new()),
            calibration: Mutex::new(None),
            spot_checks: options.spot_check_samples.unwrap_or(1),
            device_time_chunks: device_time_chunks && device_timing,
        })
    }
}
