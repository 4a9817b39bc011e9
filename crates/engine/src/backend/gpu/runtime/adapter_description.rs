//! The adapter a [`GpuBackend`](crate::backend::gpu::GpuBackend) runs on, in this crate's own terms: wgpu's types
//! are not part of the public API (they change between wgpu versions).

/// What kind of adapter it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AdapterKind {
    /// A discrete GPU.
    Discrete,
    /// A GPU integrated with the CPU.
    Integrated,
    /// A virtual GPU (a VM's).
    Virtual,
    /// A software renderer on the CPU (Mesa's lavapipe, WARP): never faster than the CPU backend.
    Software,
    /// Anything else the driver reports.
    Other,
}

/// The adapter's name, kind and driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterDescription {
    /// The adapter's name (`NVIDIA H100 80GB HBM3`, `llvmpipe (LLVM 15.0.6, 256 bits)` ...).
    pub name: String,
    /// Its kind.
    pub kind: AdapterKind,
    /// The driver's name.
    pub driver: String,
    /// The driver's version and details.
    pub driver_info: String,
    /// The graphics API it is driven through (`Vulkan`, `Metal`, `Dx12`).
    pub api: String,
}

impl AdapterDescription {
    pub(in crate::backend::gpu) fn of(info: &wgpu::AdapterInfo) -> Self {
        Self {
            name: info.name.clone(),
            kind: match info.device_type {
                wgpu::DeviceType::DiscreteGpu => AdapterKind::Discrete,
                wgpu::DeviceType::IntegratedGpu => AdapterKind::Integrated,
                wgpu::DeviceType::VirtualGpu => AdapterKind::Virtual,
                wgpu::DeviceType::Cpu => AdapterKind::Software,
                wgpu::DeviceType::Other => AdapterKind::Other,
            },
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            api: format!("{:?}", info.backend),
        }
    }

    /// True for a software renderer.
    pub fn is_software(&self) -> bool {
        self.kind == AdapterKind::Software
    }
}
