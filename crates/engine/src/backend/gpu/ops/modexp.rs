//! Batched modular exponentiation by fixed 4-bit windows (public exponents such as r^n, and the
//! secret CRT exponents of decoding, where the GPU path documents that it is not constant-time).

use super::Gpu;
use crate::backend::gpu::codegen::kernels::{Kernel, MODEXP_TABLE, MODEXP_WINDOW};
use crate::backend::gpu::codegen::params::{phased_program, Params, Step};
use crate::backend::gpu::codegen::words::exponent_words;
use crate::backend::gpu::failure;
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source};
use crate::backend::operation::Modexp;
use crate::backend::LimbBatch;
use crate::bigint::MontgomeryModulus;
use crate::error::{Error, Result};

/// Scratch slots of an exponentiation pass: the accumulator between dispatches, the window table.
pub(in crate::backend::gpu) const STATE_SLOT: usize = 0;
pub(in crate::backend::gpu) const TABLE_SLOT: usize = 1;

/// The dispatches of an exponentiation over `bits` exponent bits at `limbs` limbs.
pub(in crate::backend::gpu) fn modexp_program(
    gpu: &Gpu<'_>,
    limbs: usize,
    bits: usize,
) -> Result<Vec<Step>> {
    let product = gpu.shapes.shape(limbs).product_back_edges();
    // The first dispatch also builds the table (15 products).
    let setup = (MODEXP_TABLE + 1) * product;
    let per_window = (MODEXP_WINDOW + 1) * product + 3;
    let budget = gpu
        .shapes
        .loop_budget
        .checked_sub(setup)
        .filter(|b| *b >= per_window);
    let budget = budget.ok_or_else(|| {
        failure(format!(
            "one window of a {limbs}-limb exponentiation exceeds the {}-iteration loop budget of adapter {}",
            gpu.shapes.loop_budget, gpu.runtime.info.name
        ))
    })?;
    Ok(phased_program(
        bits.div_ceil(MODEXP_WINDOW),
        per_window,
        budget,
    ))
}

/// The pass that raises `bases` (bound at 2) to the exponents (bound at 3) into `result`.
#[allow(clippy::too_many_arguments)]
pub(in crate::backend::gpu) fn modexp_pass<'a>(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    consts: &'a wgpu::Buffer,
    bases: Source<'a>,
    exponents: Source<'a>,
    operand: Operand,
    exponent_words: usize,
    bits: usize,
    result: Source<'a>,
) -> Result<Pass<'a>> {
    let s = gpu.shapes.gpu_limbs(modulus);
    Ok(Pass {
        kernel: Kernel::ModExp,
        shape: gpu.shapes.shape(s),
        params: Params {
            exp_words: exponent_words as u32,
            exp_bits: bits as u32,
            m0_inv: gpu.shapes.m0_inv(modulus),
            ..Params::default()
        },
        program: modexp_program(gpu, s, bits)?,
        bindings: vec![
            (0, Source::Kept(consts)),
            (2, bases),
            (3, exponents),
            (4, result),
            (
                5,
                Source::Scratch {
                    slot: STATE_SLOT,
                    item_words: s,
                },
            ),
            (
                6,
                Source::Scratch {
                    slot: TABLE_SLOT,
                    item_words: MODEXP_TABLE * s,
                },
            ),
        ],
        first: None,
        operand,
    })
}

pub(in crate::backend::gpu) fn modexp_on_device(
    gpu: &Gpu<'_>,
    op: &Modexp<'_>,
) -> Result<LimbBatch> {
    if op.bases.limbs_per_item() != op.modulus.len() {
        return Err(Error::InvalidParameter(format!(
            "bases of {} limbs for a {}-limb modulus",
            op.bases.limbs_per_item(),
            op.modulus.len()
        )));
    }
    if op.exponents.values.is_empty() && !op.bases.is_empty() {
        return Err(Error::InvalidParameter("empty exponent batch".into()));
    }
    let exp_words = op.exponents.values.limbs_per_item() * 2;
    if op.exponents.bits > exp_words * 32 {
        return Err(Error::InvalidParameter(
            "exponent bit bound exceeds its limbs".into(),
        ));
    }
    let s = gpu.shapes.gpu_limbs(op.modulus);
    let base_words = gpu.shapes.words_of(op.bases);
    let exp = exponent_words(op.exponents.values.as_flat());
    let per_item = op.exponents.values.len() == op.bases.len() && op.bases.len() > 1;
    let shared = (!per_item).then(|| gpu.runtime.storage_buffer("paillier-gpu exponents", &exp));
    let (exp_source, operand) = match &shared {
        Some(buffer) => (
            Source::Whole(buffer),
            Operand::Cyclic {
                items: op.exponents.values.len(),
                offset: 0,
            },
        ),
        None => (
            Source::PerItem {
                words: &exp,
                item_words: exp_words,
            },
            Operand::PerChunk,
        ),
    };
    let consts = gpu.consts_buffer(op.modulus)?;
    let pass = modexp_pass(
        gpu,
        op.modulus,
        &consts,
        Source::PerItem {
            words: &base_words,
            item_words: s,
        },
        exp_source,
        operand,
        exp_words,
        op.exponents.bits,
        Source::Output { item_words: s },
    )?;
    let out = gpu.runtime.run(&[pass], op.bases.len())?;
    gpu.shapes.batch_of(out, op.modulus.len())
}
