//! Decoding's exponentiations modulo a prime square on two digits modulo the prime
//! (`two_digit_shader.rs` has the arithmetic): the same sliding-window program as the wide
//! passes of `multi_exp.rs`, at about half their multiply-adds. A residue modulo p² goes in and
//! comes out (2S limbs, where S is p's width), so the recombination (`crt.wgsl`) is unchanged.

use num_bigint::BigUint;
use zeroize::Zeroize;

use super::multi_exp::{STATE_SLOT, TABLE_SLOT};
use super::multi_exp_plan::TermPlan;
use super::Gpu;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{phased_program, Params};
use crate::backend::gpu::codegen::shader::Shape;
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source, SCRATCH_BUDGET_BYTES};
use crate::bigint::{limbs_from_biguint, MontgomeryModulus};
use crate::error::Result;

/// Most limbs per lane of the digit kernels. Their rows are unrolled, and a product holds four
/// numbers per lane: wider lanes make shaders that software adapters compile for minutes.
const MAX_LIMBS_PER_LANE: usize = 8;

/// Fewest limbs per lane the fill rule widens to ([`GpuOptions::two_digit_fill`](crate::backend::gpu::GpuOptions)):
/// below it, a product's exchanges outweigh its multiply-adds.
const MIN_FILL_LIMBS_PER_LANE: usize = 4;

/// The table pass's products besides its odd powers, each counted as a digit product (more
/// than they cost): the split into digits (three Montgomery products and a full product) and
/// the square.
const ENTRY_PRODUCTS: usize = 5;

/// Whether exponentiations modulo `square` = `prime`² run on two digits here: the option is
/// on, `square` has twice `prime`'s limbs (then its radix is the square of `prime`'s), and
/// the digit shape unrolls its rows (the generated digit functions need that) with at most
/// [`MAX_LIMBS_PER_LANE`] limbs per lane.
pub(in crate::backend::gpu) fn two_digit_applies(
    gpu: &Gpu<'_>,
    prime: &MontgomeryModulus,
    square: &MontgomeryModulus,
) -> bool {
    let shape = digit_shape(gpu, prime, usize::MAX);
    gpu.shapes.two_digit
        && square.len() == 2 * prime.len()
        && shape.unrolled()
        && shape.per_lane() <= MAX_LIMBS_PER_LANE
}

/// The shape of the digit kernels for `prime` in a call of `items` items: the option's
/// lanes, else every kernel's rule (about 8 limbs per lane: half the lanes of the wide
/// numbers modulo prime², each with about as much work per product as a wide lane had),
/// doubled where the call would launch fewer invocations than the fill option asks for.
pub(in crate::backend::gpu) fn digit_shape(
    gpu: &Gpu<'_>,
    prime: &MontgomeryModulus,
    items: usize,
) -> Shape {
    let s = gpu.shapes.gpu_limbs(prime);
    match gpu.shapes.two_digit_lanes {
        Some(lanes) => gpu.shapes.shape_with_lanes(s, lanes),
        None => {
            let usual = gpu.shapes.shape(s);
            let wanted = lanes_to_fill(usual.lanes, s, items, gpu.shapes.two_digit_fill);
            gpu.shapes.shape_with_lanes(s, wanted)
        }
    }
}

/// Loop back-edges of one digit product at `shape` (two rows functions and their
/// reductions), what the term programs and the dispatch steps are cut by.
pub(in crate::backend::gpu) fn two_digit_product_edges(shape: Shape) -> usize {
    2 * shape.product_back_edges() + 1
}

/// The constants of the digit kernels for `prime` (with `inverse` = prime⁻¹ mod R), S limbs
/// each: prime | R² mod prime | R³ mod prime | inverse | the digits of R² mod prime² | the
/// digits of R mod prime² (one). Secret like the prime: the host copies are wiped.
pub(in crate::backend::gpu) fn two_digit_consts(
    gpu: &Gpu<'_>,
    prime: &MontgomeryModulus,
    square: &MontgomeryModulus,
    inverse: &[u64],
) -> Result<wgpu::Buffer> {
    let mut limbs = two_digit_const_limbs(prime, square, inverse, 0)?;
    let buffer = gpu.constants_buffer(&limbs);
    limbs.zeroize();
    buffer
}

/// The two passes of `c^e mod prime²` over `bases` (residues modulo prime², 2S limbs per
/// item) at `shape` ([`digit_shape`]): every base's odd powers, then the
/// program `terms` (the device copy of `plan`) into `output` (2S limbs per item).
pub(in crate::backend::gpu) fn two_digit_passes<'a>(
    gpu: &Gpu<'_>,
    (prime, shape): (&MontgomeryModulus, Shape),
    consts: &'a wgpu::Buffer,
    bases: Source<'a>,
    (terms, plan): (&'a wgpu::Buffer, &TermPlan),
    output: Source<'a>,
) -> [Pass<'a>; 2] {
    let s = gpu.shapes.gpu_limbs(prime);
    let product_edges = two_digit_product_edges(shape);
    let odd = 1usize << (plan.window - 1);
    let params = Params {
        m0_inv: gpu.shapes.m0_inv(prime),
        window: plan.window as u32,
        per_row: 1,
        ..Params::default()
    };
    // The odd powers, then the digits (1, 0) that leave the digits (two_digit_table.wgsl).
    let tables = || Source::Scratch {
        slot: TABLE_SLOT,
        item_words: (odd + 1) * 2 * s,
    };
    let build_tables = Pass {
        kernel: Kernel::TwoDigitTable,
        shape,
        params,
        // The split, the 2^(w−1) odd powers (the first is the entry into c·R) and the square.
        program: phased_program(
            1,
            (ENTRY_PRODUCTS + odd) * product_edges + 3,
            gpu.shapes.loop_budget,
        ),
        bindings: vec![(0, Source::Kept(consts)), (2, bases), (3, tables())],
        first: None,
        operand: Operand::PerChunk,
    };
    let run = Pass {
        kernel: Kernel::TwoDigitExp,
        shape,
        params: Params {
            rows: 1,
            row_terms: plan.row_terms as u32,
            ..params
        },
        // The finish leaves the digits: about two products.
        program: plan.steps(
            product_edges,
            gpu.shapes.loop_budget.saturating_sub(2 * product_edges),
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
                    item_words: 2 * s,
                },
            ),
        ],
        first: None,
        operand: Operand::PerChunk,
    };
    [build_tables, run]
}

/// Whether one item's odd powers (and the entry that leaves the digits) fit what one
/// dispatch binds.
pub(in crate::backend::gpu) fn two_digit_fits(
    gpu: &Gpu<'_>,
    prime: &MontgomeryModulus,
    plan: &TermPlan,
) -> bool {
    let entries = (1usize << (plan.window - 1)) + 1;
    let table_bytes = (2 * gpu.shapes.gpu_limbs(prime) * entries) as u64 * 4;
    table_bytes <= gpu.runtime.max_binding_bytes.min(SCRATCH_BUDGET_BYTES)
        && (plan.words.len() * 4) as u64 <= gpu.runtime.max_binding_bytes
}

/// Lanes a digit kernel of `usual` lanes over `limbs` limbs wants for `items` items: twice as
/// many where `items` at the usual lanes launch fewer than `fill` invocations and each lane keeps
/// at least [`MIN_FILL_LIMBS_PER_LANE`] limbs; else the usual (the caller's shape still caps it).
fn lanes_to_fill(usual: usize, limbs: usize, items: usize, fill: usize) -> usize {
    let wider = 2 * usual;
    if items.saturating_mul(usual) < fill && limbs / wider >= MIN_FILL_LIMBS_PER_LANE {
        wider
    } else {
        usual
    }
}

/// The limbs of [`two_digit_consts`], which the caller wipes, with room for
/// `spare` more (other kernels append constants of their own): allocated once, so that no
/// reallocation leaves a copy behind.
pub(in crate::backend::gpu) fn two_digit_const_limbs(
    prime: &MontgomeryModulus,
    square: &MontgomeryModulus,
    inverse: &[u64],
    spare: usize,
) -> Result<Vec<u64>> {
    let len = prime.len();
    let modulus = prime.modulus();
    // Digits of a value below prime², as CrtKey::new's constants are made: once per call.
    let digits = |value: &BigUint| -> Result<[Vec<u64>; 2]> {
        Ok([
            limbs_from_biguint(&(value % &modulus), len)?,
            limbs_from_biguint(&(value / &modulus), len)?,
        ])
    };
    // The square's radix is R², so its one is R² mod prime².
    let [r2_low, r2_high] = digits(&square.biguint_of(square.one()))?;
    let [one_low, one_high] = digits(&(BigUint::from(1u32) << (64 * len)))?;
    let mut limbs = Vec::with_capacity(8 * len + spare);
    limbs.extend_from_slice(prime.modulus_limbs());
    limbs.extend_from_slice(prime.r_squared());
    limbs.extend_from_slice(prime.to_montgomery(prime.r_squared()).as_limbs());
    limbs.extend_from_slice(inverse);
    for mut part in [r2_low, r2_high, one_low, one_high] {
        limbs.extend_from_slice(&part);
        part.zeroize();
    }
    Ok(limbs)
}

#[cfg(test)]
mod tests {
    use super::lanes_to_fill;

    #[test]
    fn small_calls_take_twice_the_lanes_down_to_four_limbs_a_lane() {
        // p of 32 limbs on 4 lanes (key_len 1024): 8,192 items launch 32,768 invocations.
        assert_eq!(lanes_to_fill(4, 32, 8_192, 65_536), 8);
        assert_eq!(
            lanes_to_fill(4, 32, 16_384, 65_536),
            4,
            "fills at the usual lanes"
        );
        assert_eq!(lanes_to_fill(4, 32, 1, 0), 4, "the rule off");
        assert_eq!(
            lanes_to_fill(8, 32, 1, usize::MAX),
            8,
            "4 limbs a lane at most widened"
        );
        assert_eq!(lanes_to_fill(2, 16, 1, usize::MAX), 4);
        assert_eq!(
            lanes_to_fill(1, 8, usize::MAX, usize::MAX),
            1,
            "no overflow"
        );
    }
}
