//! Products of powers over shared bases on the device (the linear layer's work): one pass
//! builds every base's odd powers, one pass runs every row's program of terms
//! ([`TermPlan`]) over every sample, rows along the dispatch's second dimension. Per sample of
//! `k` bases and `r` rows of `b`-bit exponents that is `k·(2^(w−1) + 1)` products for the
//! tables and, per row, `b` squarings and about `k·b/(w+1)` products, where composing
//! [`Backend::modexp`](crate::backend::Backend::modexp) and a product tree costs
//! `r·k·(b + b/4)`, and 20 times as many GPU calls.
//!
//! Decoding runs its one exponentiation per response through the same passes (one base, one
//! row: `p − 1` by sliding windows, see `crt.rs`).

use super::multi_exp_plan::TermPlan;
use super::Gpu;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{phased_program, Params};
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source, SCRATCH_BUDGET_BYTES};
use crate::backend::multi_exp::{check_multi_exp_operands, product_of_groups};
use crate::backend::operation::MultiExp;
use crate::backend::{Backend, Exponents, LimbBatch};
use crate::bigint::{ExponentRows, MontgomeryModulus};
use crate::error::Result;

/// Scratch slots of the passes: every base's odd powers, the accumulators between dispatches
/// (decoding's two-digit passes use the same; a call runs one or the other).
pub(in crate::backend::gpu) const TABLE_SLOT: usize = 0;
pub(in crate::backend::gpu) const STATE_SLOT: usize = 1;

/// [`Backend::multi_exp`](crate::backend::Backend::multi_exp) on the device: both passes
/// over chunks of samples, or, where one sample does not fit a dispatch, the composition of
/// `primitives`' own powers and products (the backend that lent `gpu`).
pub(in crate::backend::gpu) fn multi_exp_on_device(
    gpu: &Gpu<'_>,
    op: &MultiExp<'_>,
    primitives: &dyn Backend,
) -> Result<LimbBatch> {
    let (samples, rows) = check_multi_exp_operands(op.modulus, op.bases, op.exponents, op.per_row)?;
    let width = op.modulus.len();
    if samples == 0 {
        return LimbBatch::from_flat(width, Vec::new());
    }
    let s = gpu.shapes.gpu_limbs(op.modulus);
    let plan = term_plan(gpu, s, &op.exponents.values, op.per_row);
    if !multi_exp_fits(gpu, s, &plan, op.per_row, rows) {
        // One sample's tables, its rows or the programs exceed what one dispatch can hold.
        return multi_exp_with_primitives(
            primitives,
            op.modulus,
            op.bases,
            op.exponents,
            op.per_row,
        );
    }
    let consts = gpu.consts_buffer(op.modulus)?;
    let terms = gpu
        .runtime
        .storage_buffer("paillier-gpu multi-exponentiation terms", &plan.words);
    let base_words = gpu.shapes.words_of(op.bases);
    let passes = multi_exp_passes(
        gpu,
        op.modulus,
        &consts,
        Source::PerItem {
            words: &base_words,
            item_words: op.per_row * s,
        },
        (&terms, &plan),
        op.per_row,
        rows,
        Source::Output {
            item_words: rows * s,
        },
    );
    let out = gpu.runtime.run(&passes, samples)?;
    gpu.shapes.batch_of(out, width)
}

/// The programs of `exponents` (rows of `per_row`), no term squaring more often than a
/// dispatch's loop budget allows for numbers of `s` GPU limbs.
pub(in crate::backend::gpu) fn term_plan(
    gpu: &Gpu<'_>,
    s: usize,
    exponents: &LimbBatch,
    per_row: usize,
) -> TermPlan {
    term_plan_by_edges(
        gpu,
        gpu.shapes.shape(s).product_back_edges(),
        exponents,
        per_row,
    )
}

/// [`term_plan`] for products of `product_edges` loop back-edges each.
pub(in crate::backend::gpu) fn term_plan_by_edges(
    gpu: &Gpu<'_>,
    product_edges: usize,
    exponents: &LimbBatch,
    per_row: usize,
) -> TermPlan {
    // A term squares at most as often as a dispatch's budget allows, with its product and
    // the finish.
    let max_squarings = (gpu.shapes.loop_budget / product_edges)
        .saturating_sub(3)
        .max(1);
    TermPlan::new(
        &ExponentRows {
            limbs: exponents.as_flat(),
            limbs_per_exponent: exponents.limbs_per_item(),
            per_row,
        },
        max_squarings,
    )
}

/// Whether one item's tables, its rows and the programs fit what one dispatch binds.
pub(in crate::backend::gpu) fn multi_exp_fits(
    gpu: &Gpu<'_>,
    s: usize,
    plan: &TermPlan,
    per_row: usize,
    rows: usize,
) -> bool {
    let table_bytes = ((per_row << (plan.window - 1)) * s * 4) as u64;
    let grid_limit = gpu.runtime.limits.max_compute_workgroups_per_dimension as usize;
    rows <= grid_limit
        && table_bytes <= gpu.runtime.max_binding_bytes.min(SCRATCH_BUDGET_BYTES)
        && (plan.words.len() * 4) as u64 <= gpu.runtime.max_binding_bytes
}

/// The two passes over `bases` (`per_row` numbers per item): every base's odd powers, then
/// every row's program (`terms`, the device copy of `plan`'s words) into `output` (`rows`
/// numbers per item).
#[allow(clippy::too_many_arguments)]
pub(in crate::backend::gpu) fn multi_exp_passes<'a>(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    consts: &'a wgpu::Buffer,
    bases: Source<'a>,
    (terms, plan): (&'a wgpu::Buffer, &TermPlan),
    per_row: usize,
    rows: usize,
    output: Source<'a>,
) -> [Pass<'a>; 2] {
    let s = gpu.shapes.gpu_limbs(modulus);
    let shape = gpu.shapes.shape(s);
    let product_edges = shape.product_back_edges();
    let table_entries = per_row << (plan.window - 1);
    let params = Params {
        m0_inv: gpu.shapes.m0_inv(modulus),
        window: plan.window as u32,
        per_row: per_row as u32,
        ..Params::default()
    };
    let tables = || Source::Scratch {
        slot: TABLE_SLOT,
        item_words: table_entries * s,
    };
    let build_tables = Pass {
        kernel: Kernel::MultiExpTable,
        shape,
        params,
        // The conversion, the square and 2^(w−1) − 1 products per base.
        program: phased_program(
            per_row,
            ((1 << (plan.window - 1)) + 1) * product_edges + 3,
            gpu.shapes.loop_budget,
        ),
        bindings: vec![(0, Source::Kept(consts)), (2, bases), (3, tables())],
        first: None,
        operand: Operand::PerChunk,
    };
    let run_rows = Pass {
        kernel: Kernel::MultiExp,
        shape,
        params: Params {
            rows: rows as u32,
            row_terms: plan.row_terms as u32,
            ..params
        },
        program: plan.steps(
            product_edges,
            gpu.shapes.loop_budget.saturating_sub(product_edges),
        ),
        bindings: vec![
            (0, Source::Kept(consts)),
            (2, Source::Whole(terms)),
            (3, tables()),
            (4, output),
            (
                5,
                Source::Scratch {
                    slot: STATE_SLOT,
                    item_words: rows * s,
                },
            ),
        ],
        first: None,
        operand: Operand::PerChunk,
    };
    [build_tables, run_rows]
}

/// Powers made at once by the composition: bounds the memory of one step (at 4096-bit n², 64k
/// powers are 32 MiB).
const MAX_POWERS_PER_STEP: usize = 1 << 16;

/// A multi-exponentiation from `backend`'s own `modexp` and `modmul`, for what one dispatch
/// cannot hold: every power, then a product tree over each row, samples in steps of bounded
/// memory.
fn multi_exp_with_primitives<B: Backend + ?Sized>(
    backend: &B,
    modulus: &MontgomeryModulus,
    bases: &LimbBatch,
    exponents: &Exponents,
    per_row: usize,
) -> Result<LimbBatch> {
    let (samples, rows) = check_multi_exp_operands(modulus, bases, exponents, per_row)?;
    let width = modulus.len();
    let mut out = LimbBatch::new(width);
    out.reserve(samples * rows);
    let powers_per_sample = rows * per_row;
    let samples_per_step = (MAX_POWERS_PER_STEP / powers_per_sample.max(1)).max(1);
    for first in (0..samples).step_by(samples_per_step) {
        let last = (first + samples_per_step).min(samples);
        // Item (s·rows + j)·k + i is base (s, i): exponents cycle with period rows·k, so
        // item j·k + i of the exponents is its own.
        let mut expanded = LimbBatch::new(width);
        expanded.reserve((last - first) * powers_per_sample);
        for sample in first..last {
            for _ in 0..rows {
                for i in 0..per_row {
                    expanded.push(bases.item(sample * per_row + i))?;
                }
            }
        }
        let powers = backend.modexp(modulus, &expanded, exponents)?;
        out.extend(&product_of_groups(backend, modulus, powers, per_row)?)?;
    }
    Ok(out)
}
