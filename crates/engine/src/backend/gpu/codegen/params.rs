//! The uniform parameters of every kernel, and the phases and steps a long exponentiation is
//! split into (software adapters limit how long one dispatch may loop).

use bytemuck::{Pod, Zeroable};

/// Uniform parameters of every kernel; field order matches `Params` in `shaders/params.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
pub(in crate::backend::gpu) struct Params {
    pub count: u32,
    pub first: u32,
    pub operand_count: u32,
    pub operand_first: u32,
    pub exp_words: u32,
    pub exp_bits: u32,
    pub m0_inv: u32,
    pub window: u32,
    pub limbs: u32,
    pub phase: u32,
    pub step_from: u32,
    pub step_to: u32,
    pub x_limbs: u32,
    pub mask_words: u32,
    pub m0_inv_q: u32,
    pub out_limbs: u32,
    /// CRT decoding: 1 to decode from x_p alone (see `backend/one_prime.rs`), else 2.
    pub primes: u32,
    /// Multi-exponentiation: exponent rows, which is also the dispatch's second dimension (each
    /// item runs once per row; 0 counts as 1 for other kernels), bases per item, and term slots
    /// per row (`multi_exp_plan.rs`).
    pub rows: u32,
    pub per_row: u32,
    pub row_terms: u32,
}

/// Phase bits of the exponentiation kernels: start the accumulator at one, finish (convert out of
/// Montgomery form and store the result).
pub(in crate::backend::gpu) const PHASE_START: u32 = 1;
pub(in crate::backend::gpu) const PHASE_FINISH: u32 = 2;
/// Fixed-base finish: multiply by the binding-6 item instead of converting.
pub(in crate::backend::gpu) const PHASE_TIMES_FACTOR: u32 = 4;
/// Fixed-base finish: multiply by `1 + m·n` for the binding-6 item `m` (implies the factor).
pub(in crate::backend::gpu) const PHASE_ONE_PLUS_MN: u32 = 8;
/// With [`PHASE_ONE_PLUS_MN`]: the binding-6 items are slot bits (u32 words), spread into `m`'s
/// 2-bit slots as they are read.
pub(in crate::backend::gpu) const PHASE_SPREAD_SLOTS: u32 = 16;
/// Two-digit fixed base: start the accumulator at the binding-6 item's digits.
pub(in crate::backend::gpu) const PHASE_FROM_FACTOR: u32 = 32;
/// Two-digit fixed base: the finish stores the digits rather than the residue.
pub(in crate::backend::gpu) const PHASE_KEEP_DIGITS: u32 = 64;

/// One dispatch of a kernel: phase bits and a step range.
#[derive(Clone, Copy, Debug)]
pub(in crate::backend::gpu) struct Step {
    pub phase: u32,
    pub from: u32,
    pub to: u32,
}

/// The program of a kernel without steps: one dispatch that starts and finishes.
pub(in crate::backend::gpu) fn one_dispatch() -> Vec<Step> {
    vec![Step {
        phase: PHASE_START | PHASE_FINISH,
        from: 0,
        to: 0,
    }]
}

/// The dispatches of an exponentiation of `steps` steps costing `edges_per_step` loop back-edges
/// each, within `budget` back-edges per dispatch: the first starts, the last finishes.
pub(in crate::backend::gpu) fn phased_program(
    steps: usize,
    edges_per_step: usize,
    budget: usize,
) -> Vec<Step> {
    let per = (budget / edges_per_step.max(1)).max(1);
    let mut program = Vec::new();
    let mut from = 0;
    loop {
        let to = (from + per).min(steps);
        let mut phase = 0;
        if from == 0 {
            phase |= PHASE_START;
        }
        if to == steps {
            phase |= PHASE_FINISH;
        }
        program.push(Step {
            phase,
            from: from as u32,
            to: to as u32,
        });
        if to == steps {
            return program;
        }
        from = to;
    }
}
