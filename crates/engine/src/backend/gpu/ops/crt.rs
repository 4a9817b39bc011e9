//! Decoding on the device: the CRT exponentiations (one where every honest plaintext is below p,
//! see `backend/one_prime.rs`; else two), then the recombination and the masked popcount,
//! chained in one submission per chunk so that only distances come back. Decryption runs the
//! same passes (both primes for numbers, p alone where the caller's plaintexts lie below p) and
//! takes the plaintexts back instead.
//!
//! Each exponentiation `c^(p−1) mod p²` runs by sliding windows of 5 bits over `p − 1`: at
//! key_len 1024, 17 products build the odd powers and about 1,024 squarings and 171 window
//! products follow, about 1,213 products where the fixed 4-bit windows of `modexp.wgsl` take
//! 1,297 (6.5 % fewer). The products run on two digits modulo p (`two_digit.rs`: about 0.52×
//! the multiply-adds of products modulo p² at this mix of squares) where the shape allows, else
//! on the wide numbers (`multi_exp.rs` with one base and one row). Every response of a call runs
//! the same program, so no workgroup diverges; the program follows p − 1, like the table reads
//! of the fixed windows (the GPU path is not constant-time, see SECURITY.md).

use super::modexp::modexp_pass;
use super::multi_exp::{multi_exp_fits, multi_exp_passes, term_plan_by_edges};
use super::multi_exp_plan::TermPlan;
use super::two_digit::{
    digit_shape, two_digit_applies, two_digit_consts, two_digit_fits, two_digit_passes,
    two_digit_product_edges,
};
use super::Gpu;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{one_dispatch, Params};
use crate::backend::gpu::codegen::words::{exponent_words, ReadWords};
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source};
use crate::backend::operation::{CrtDecode, CrtDecrypt};
use crate::backend::ChunkCount;
use crate::backend::{CrtKey, LimbBatch};
use crate::error::Result;

/// What the recombination pass leaves per item.
enum CrtFinish<'a> {
    /// Decoding: `popcount(m & mask)` (or a defect report) against these masks, used cyclically.
    Distances(&'a LimbBatch),
    /// Decryption: the plaintext m itself, or `m mod p` with `one_prime`.
    Plaintexts { one_prime: bool },
}

/// Scratch slots of the x_p and x_q intermediates (after the exponentiation's own slots).
const X_P_SLOT: usize = 2;
const X_Q_SLOT: usize = 3;

/// The recombination constants: P | Q | P⁻¹ | Q⁻¹ (2-adic) | h_p·R | h_q·R | q⁻¹·R mod p.
fn crt_consts_buffer(gpu: &Gpu<'_>, key: &CrtKey) -> Result<wgpu::Buffer> {
    let mut limbs = key.p.modulus_limbs().to_vec();
    limbs.extend_from_slice(key.q.modulus_limbs());
    limbs.extend_from_slice(&key.p_inverse);
    limbs.extend_from_slice(&key.q_inverse);
    limbs.extend_from_slice(key.p.to_montgomery(&key.h_p).as_limbs());
    limbs.extend_from_slice(key.q.to_montgomery(&key.h_q).as_limbs());
    limbs.extend_from_slice(key.p.to_montgomery(&key.q_inv_mod_p).as_limbs());
    let buffer = gpu.constants_buffer(&limbs);
    zeroize::Zeroize::zeroize(&mut limbs);
    buffer
}

pub(in crate::backend::gpu) fn crt_decode_on_device(
    gpu: &Gpu<'_>,
    op: &CrtDecode<'_>,
) -> Result<Vec<ChunkCount>> {
    crate::backend::check_crt_operands(op.key, op.bases_p, op.bases_q, op.masks)?;
    gpu.runtime.check_health()?;
    if op.bases_p.is_empty() {
        return Ok(Vec::new());
    }
    let words = crt_on_device(
        gpu,
        op.key,
        op.bases_p,
        op.bases_q,
        CrtFinish::Distances(op.masks),
    )?;
    // The kernel writes the engines' words (`crt.wgsl`); one pass reads them as counts.
    Ok(words
        .words()
        .iter()
        .copied()
        .map(ChunkCount::from_word)
        .collect())
}

/// [`Backend::crt_decrypt`](crate::backend::Backend::crt_decrypt) on the device: both
/// exponentiations and the recombination in one submission a chunk; plaintexts come back.
pub(in crate::backend::gpu) fn crt_decrypt_on_device(
    gpu: &Gpu<'_>,
    op: &CrtDecrypt<'_>,
) -> Result<LimbBatch> {
    crate::backend::check_decrypt_operands(op.key, op.bases_p, op.bases_q, op.one_prime)?;
    gpu.runtime.check_health()?;
    let width = op.key.plaintext_limbs();
    if op.bases_p.is_empty() {
        return Ok(LimbBatch::new(width));
    }
    let finish = CrtFinish::Plaintexts {
        one_prime: op.one_prime,
    };
    let words = crt_on_device(gpu, op.key, op.bases_p, op.bases_q, finish)?;
    gpu.shapes.batch_of(words, width)
}

/// The exponentiations modulo p² (and q², unless one prime decodes) and the recombination,
/// finished as `finish` says.
fn crt_on_device(
    gpu: &Gpu<'_>,
    key: &CrtKey,
    bases_p: &LimbBatch,
    bases_q: &LimbBatch,
    finish: CrtFinish<'_>,
) -> Result<ReadWords> {
    let count = bases_p.len();
    // Decoding: every honest plaintext below p means x_p alone gives it
    // (backend/one_prime.rs), the same rule as the CPU's, so that spot checks compare like
    // with like. Decryption: both primes, unless the caller knows its plaintexts are below p.
    let (one_prime, masks) = match finish {
        CrtFinish::Distances(masks) => (key.one_prime_covers(masks), Some(masks)),
        CrtFinish::Plaintexts { one_prime } => (one_prime, None),
    };
    let s = gpu.shapes.gpu_limbs(&key.p); // limbs of p and q
    let w = gpu.shapes.gpu_limbs(&key.p_squared); // limbs of p² and q² (and of x_p, x_q)
    let consts_p = gpu.consts_buffer(&key.p_squared)?;
    let consts_q = gpu.consts_buffer(&key.q_squared)?;
    let consts_crt = crt_consts_buffer(gpu, key)?;
    // Decryption reads no mask: one word stands in for the binding.
    let mask_buffer = gpu.runtime.storage_buffer(
        "paillier-gpu masks",
        &masks.map_or_else(|| vec![0], |m| exponent_words(m.as_flat())),
    );
    // The residues c mod p² and c mod q² reveal the factors: the host copies are wiped.
    // Borrowed from the wiped residue batches, or a copy wiped on drop.
    let words_p = gpu.shapes.words_of(bases_p);
    let words_q = if one_prime {
        None
    } else {
        Some(gpu.shapes.words_of(bases_q))
    };
    // On two digits modulo each prime where the shape allows (p and q share their widths).
    let two_digit = two_digit_applies(gpu, &key.p, &key.p_squared);
    let digit_shape = digit_shape(gpu, &key.p, count);
    let product_edges = if two_digit {
        two_digit_product_edges(digit_shape)
    } else {
        gpu.shapes.shape(w).product_back_edges()
    };
    // Each prime's exponentiation by sliding windows: the programs of p − 1 and q − 1, made
    // once per call, secret like the exponents (their host copies are wiped on drop).
    let plans: Vec<TermPlan> = [&key.exponent_p, &key.exponent_q]
        .into_iter()
        .take(if one_prime { 1 } else { 2 })
        .map(|e| term_plan_by_edges(gpu, product_edges, &e.values, 1))
        .collect();
    let sliding = plans.iter().all(|plan| {
        if two_digit {
            two_digit_fits(gpu, &key.p, plan)
        } else {
            multi_exp_fits(gpu, w, plan, 1, 1)
        }
    });
    let two_digit = two_digit && sliding;
    log::debug!(
        "decoding {count} responses modulo {} on {}",
        if one_prime { "p²" } else { "p² and q²" },
        if two_digit {
            format!("two digits, {} lanes", digit_shape.lanes)
        } else {
            "the wide numbers".to_string()
        }
    );
    let digit_consts = if two_digit {
        vec![
            two_digit_consts(gpu, &key.p, &key.p_squared, &key.p_inverse)?,
            two_digit_consts(gpu, &key.q, &key.q_squared, &key.q_inverse)?,
        ]
    } else {
        Vec::new()
    };
    let exponent_buffers: Vec<wgpu::Buffer> = if sliding {
        plans
            .iter()
            .map(|plan| {
                gpu.runtime
                    .storage_buffer("paillier-gpu decoding terms", &plan.words)
            })
            .collect()
    } else {
        [&key.exponent_p, &key.exponent_q]
            .into_iter()
            .take(plans.len())
            .map(|e| {
                let mut words = exponent_words(e.values.as_flat());
                let buffer = gpu.runtime.storage_buffer("paillier-gpu exponent", &words);
                zeroize::Zeroize::zeroize(&mut words);
                buffer
            })
            .collect()
    };
    let shares = [
        (&key.p_squared, &consts_p, &key.exponent_p, X_P_SLOT),
        (&key.q_squared, &consts_q, &key.exponent_q, X_Q_SLOT),
    ];
    let mut passes: Vec<Pass<'_>> = Vec::new();
    for (k, words) in std::iter::once(&words_p)
        .chain(words_q.as_ref())
        .enumerate()
    {
        let (modulus, consts, exponent, slot) = shares[k];
        let bases = Source::PerItem {
            words,
            item_words: w,
        };
        let output = Source::Scratch {
            slot,
            item_words: w,
        };
        let program = (&exponent_buffers[k], &plans[k]);
        if two_digit {
            let prime = if k == 0 { &key.p } else { &key.q };
            passes.extend(two_digit_passes(
                gpu,
                (prime, digit_shape),
                &digit_consts[k],
                bases,
                program,
                output,
            ));
        } else if sliding {
            passes.extend(multi_exp_passes(
                gpu, modulus, consts, bases, program, 1, 1, output,
            ));
        } else {
            passes.push(modexp_pass(
                gpu,
                modulus,
                consts,
                bases,
                Source::Whole(&exponent_buffers[k]),
                Operand::Cyclic {
                    items: 1,
                    offset: 0,
                },
                exponent.values.limbs_per_item() * 2,
                exponent.bits,
                output,
            )?);
        }
    }
    // With one prime, binding 6 reads x_p again and the kernel never looks at it.
    let x_q_slot = if one_prime { X_P_SLOT } else { X_Q_SLOT };
    let recombine = Pass {
        kernel: Kernel::Crt,
        shape: gpu.shapes.shape(s),
        params: Params {
            m0_inv: gpu.shapes.m0_inv(&key.p),
            m0_inv_q: gpu.shapes.m0_inv(&key.q),
            x_limbs: w as u32,
            mask_words: masks.map_or(0, |m| m.limbs_per_item() * 2) as u32,
            // Decryption writes the plaintext's 2S limbs; decoding a distance's one word.
            out_limbs: if masks.is_some() { 0 } else { w as u32 },
            primes: if one_prime { 1 } else { 2 },
            ..Params::default()
        },
        program: one_dispatch(),
        bindings: vec![
            (0, Source::Kept(&consts_crt)),
            (
                2,
                Source::Scratch {
                    slot: X_P_SLOT,
                    item_words: w,
                },
            ),
            (3, Source::Whole(&mask_buffer)),
            (
                4,
                Source::Output {
                    item_words: if masks.is_some() { 1 } else { w },
                },
            ),
            (
                6,
                Source::Scratch {
                    slot: x_q_slot,
                    item_words: w,
                },
            ),
        ],
        first: None,
        operand: Operand::Cyclic {
            items: masks.map_or(1, LimbBatch::len),
            offset: 0,
        },
    };
    passes.push(recombine);
    gpu.runtime.run(&passes, count)
}
