//! Batched modular multiplication (the search backend's aggregation).

use super::Gpu;
use crate::backend::encryption::copy_ciphertexts;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{one_dispatch, Params};
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source};
use crate::backend::gpu::runtime::options::LimbPath;
use crate::backend::operation::Modmul;
use crate::backend::LimbBatch;
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// Each operand item in Montgomery form (b·R), so the kernel's one product gives a·b.
fn montgomery_operand(modulus: &MontgomeryModulus, b: &LimbBatch) -> LimbBatch {
    let mut out = LimbBatch::new(modulus.len());
    for item in b.iter() {
        // Widths were checked by the caller.
        let _ = out.push(modulus.to_montgomery(item).as_limbs());
    }
    out
}

/// Where a multiplication's first factors come from.
pub(in crate::backend::gpu) enum Factors<'a> {
    /// Host items.
    Host(&'a [u32]),
    /// Items `first..` of a resident buffer.
    Resident {
        buffer: &'a wgpu::Buffer,
        first: usize,
    },
}

pub(in crate::backend::gpu) fn modmul_on_device(
    gpu: &Gpu<'_>,
    op: &Modmul<'_>,
) -> Result<LimbBatch> {
    let Modmul { modulus, a, b } = *op;
    crate::backend::check_operands(modulus, a, b)?;
    let a_words = gpu.shapes.words_of(a);
    multiply(gpu, modulus, Factors::Host(&a_words), a.len(), b, 0)
}

/// `count` products of `factors` by `b` (one item per product, or cyclic from
/// `operand_offset`), widths checked by the caller.
pub(in crate::backend::gpu) fn multiply(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    factors: Factors<'_>,
    count: usize,
    b: &LimbBatch,
    operand_offset: usize,
) -> Result<LimbBatch> {
    let out = with_multiply_pass(gpu, modulus, factors, count, b, operand_offset, |pass| {
        gpu.runtime.run(std::slice::from_ref(pass), count)
    })?;
    gpu.shapes.batch_of(out, modulus.len())
}

/// [`multiply`] into `out` (`count` items of the modulus's width): with
/// 32-bit GPU limbs on a little-endian host the result words are the u64 limbs' bytes, read
/// back in place.
pub(in crate::backend::gpu) fn multiply_into(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    factors: Factors<'_>,
    count: usize,
    b: &LimbBatch,
    operand_offset: usize,
    out: &mut [u64],
) -> Result<()> {
    if gpu.shapes.limb_path != LimbPath::Bits32 || cfg!(target_endian = "big") {
        let products = multiply(gpu, modulus, factors, count, b, operand_offset)?;
        return copy_ciphertexts(&products, out);
    }
    if out.len() != count * modulus.len() {
        return Err(Error::InvalidParameter(format!(
            "an output of {} limbs for {count} products of {}",
            out.len(),
            modulus.len()
        )));
    }
    with_multiply_pass(gpu, modulus, factors, count, b, operand_offset, |pass| {
        gpu.runtime.run_into(
            std::slice::from_ref(pass),
            count,
            bytemuck::cast_slice_mut(out),
        )
    })
}

/// Builds the product pass (and the buffers it binds) and hands it to `run`.
fn with_multiply_pass<R>(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    factors: Factors<'_>,
    count: usize,
    b: &LimbBatch,
    operand_offset: usize,
    run: impl FnOnce(&Pass<'_>) -> Result<R>,
) -> Result<R> {
    let s = gpu.shapes.gpu_limbs(modulus);
    let b_montgomery = montgomery_operand(modulus, b);
    let b_words = gpu.shapes.words_of(&b_montgomery);
    let per_item = b.len() == count && count > 1 && operand_offset == 0;

    let consts = gpu.consts_buffer(modulus)?;
    let (a_source, first) = match factors {
        Factors::Host(words) => (
            Source::PerItem {
                words,
                item_words: s,
            },
            None,
        ),
        Factors::Resident { buffer, first } => (Source::Whole(buffer), Some(first)),
    };
    // A cyclic operand (a query) goes into a pooled buffer, so its bind groups are reused by
    // the next call.
    let (b_source, operand) = if per_item {
        (
            Source::PerItem {
                words: &b_words,
                item_words: s,
            },
            Operand::PerChunk,
        )
    } else {
        (
            Source::Small(&b_words),
            Operand::Cyclic {
                items: b.len(),
                offset: operand_offset,
            },
        )
    };
    let pass = Pass {
        kernel: Kernel::ModMul,
        shape: gpu.shapes.shape(s),
        params: Params {
            m0_inv: gpu.shapes.m0_inv(modulus),
            ..Params::default()
        },
        program: one_dispatch(),
        bindings: vec![
            (0, Source::Kept(&consts)),
            (2, a_source),
            (3, b_source),
            (4, Source::Output { item_words: s }),
        ],
        first,
        operand,
    };
    run(&pass)
}
