//! Pipelines: compiled once per kernel and shape, cached for the backend's life.

use std::sync::Arc;

use super::Runtime;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::shader::Shape;
use crate::backend::gpu::failure;
use crate::error::Result;

impl Runtime {
    /// The pipeline of `kernel` for `shape`, compiled on first use.
    pub(in crate::backend::gpu) fn pipeline(
        &self,
        kernel: Kernel,
        shape: Shape,
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        let mut cache = self
            .pipelines
            .lock()
            .map_err(|_| failure("pipeline cache poisoned"))?;
        if let Some(p) = cache.get(&(kernel, shape)) {
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
                        crate::backend::gpu::codegen::kernels::source(kernel, &shape).into(),
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
            return Err(failure(format!("{} ({shape:?}): {e}", kernel.label())));
        }
        let pipeline = Arc::new(pipeline);
        cache.insert((kernel, shape), pipeline.clone());
        Ok(pipeline)
    }
}
