//! What a benchmark records about the GPU it ran on.

use serde::Serialize;

use super::Runtime;
use crate::backend::gpu::GpuBackend;

/// The adapter, its relevant features and limits, and the kernel shapes chosen on it.
#[derive(Clone, Debug, Serialize)]
pub struct GpuReport {
    /// Adapter name (e.g. "NVIDIA H100 80GB HBM3", "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub adapter: String,
    /// Driver name and version.
    pub driver: String,
    /// Driver details.
    pub driver_info: String,
    /// Vulkan, Metal or DX12.
    pub backend: String,
    /// DiscreteGpu, IntegratedGpu, VirtualGpu, Cpu or Other.
    pub device_type: String,
    /// True for a software renderer (lavapipe, WARP): its timings say nothing about GPUs.
    pub software: bool,
    /// 32 or 16.
    pub limb_bits: usize,
    /// "subgroup" or "workgroup".
    pub exchange: String,
    /// Whether the adapter offers 64-bit integers and subgroup operations.
    pub shader_int64: bool,
    /// Whether the adapter offers subgroup operations.
    pub subgroups: bool,
    /// Whether the adapter offers timestamp queries, and whether kernels are timed with them
    /// ([`GpuBackend::device_timing`]).
    pub timestamps: bool,
    /// See `timestamps`.
    pub device_timing: bool,
    /// The adapter's subgroup sizes.
    pub subgroup_min_size: u32,
    /// The adapter's subgroup sizes.
    pub subgroup_max_size: u32,
    /// Largest storage binding, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, in bytes.
    pub max_buffer_size: u64,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Bytes of workgroup memory.
    pub max_compute_workgroup_storage_size: u32,
    /// The kernel shape per width asked about.
    pub shapes: Vec<ShapeReport>,
    /// What the warm-up's calibration measured, if it ran.
    pub calibration: Option<crate::backend::gpu::Calibration>,
}

/// The kernel shape chosen for one width.
#[derive(Clone, Debug, Serialize)]
pub struct ShapeReport {
    /// Bits of the modulus.
    pub bits: usize,
    /// Limbs per number (S).
    pub limbs: usize,
    /// Invocations per number (T).
    pub lanes: usize,
    /// Limbs each invocation holds (L = S / T).
    pub limbs_per_lane: usize,
}

impl GpuBackend {
    /// The report for this backend, with the shapes it uses for moduli of `widths` bits.
    pub fn report(&self, widths: &[usize]) -> GpuReport {
        let Runtime {
            info,
            limits,
            features,
            ..
        } = &self.runtime;
        let limb_bits = self.shapes.limb_path.bits();
        GpuReport {
            adapter: info.name.clone(),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            software: info.device_type == wgpu::DeviceType::Cpu,
            limb_bits,
            exchange: self.shapes.exchange.as_str().to_string(),
            shader_int64: features.contains(wgpu::Features::SHADER_INT64),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            timestamps: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            device_timing: self.runtime.device_timing(),
            subgroup_min_size: info.subgroup_min_size,
            subgroup_max_size: info.subgroup_max_size,
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            shapes: widths
                .iter()
                .map(|&bits| {
                    let shape = self
                        .shapes
                        .shape(bits.div_ceil(64) * self.shapes.limb_path.per_u64());
                    ShapeReport {
                        bits,
                        limbs: shape.limbs,
                        lanes: shape.lanes,
                        limbs_per_lane: shape.per_lane(),
                    }
                })
                .collect(),
            calibration: self.calibration(),
        }
    }
}
