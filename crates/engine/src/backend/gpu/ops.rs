//! The operations on the GPU, one file each as in the CPU engine: each is a function of the
//! device handle ([`Gpu`]) and its operands that turns the operands into GPU words, describes
//! its passes (kernel, parameters, bindings) and reads its result back through the runtime's
//! dispatch.

pub(super) mod crt;
pub(super) mod encrypt;
pub(super) mod fixed_base;
pub(super) mod modexp;
pub(super) mod modmul;
pub(super) mod multi_exp;
pub(super) mod multi_exp_plan;
pub(super) mod resident;
pub(super) mod two_digit;
pub(super) mod two_digit_fixed_base;

use super::codegen::shape_choice::ShapeChoice;
use super::runtime::Runtime;
use crate::bigint::MontgomeryModulus;
use crate::error::Result;

/// What every operation runs on, lent by [`GpuBackend`](super::GpuBackend): the runtime
/// (device, queue, pipelines, buffers, totals), the kernel shapes this adapter runs, and the
/// fixed-base tables kept on the device.
pub(super) struct Gpu<'a> {
    pub(super) runtime: &'a Runtime,
    pub(super) shapes: &'a ShapeChoice,
    pub(super) tables: &'a fixed_base::ResidentTables,
}

impl Gpu<'_> {
    /// modulus | R² | R as a storage buffer (the same R as the CPU engine).
    pub(super) fn consts_buffer(&self, modulus: &MontgomeryModulus) -> Result<wgpu::Buffer> {
        let mut limbs = modulus.modulus_limbs().to_vec();
        limbs.extend_from_slice(modulus.r_squared());
        limbs.extend_from_slice(modulus.one());
        let buffer = self.constants_buffer(&limbs);
        zeroize::Zeroize::zeroize(&mut limbs);
        buffer
    }

    /// A kept storage buffer of constants `limbs` ([`Runtime::constants_buffer`]).
    pub(super) fn constants_buffer(&self, limbs: &[u64]) -> Result<wgpu::Buffer> {
        self.runtime.constants_buffer(limbs, self.shapes.limb_path)
    }
}
