//! Encryption's fixed-base passes on two digits modulo the square root of their modulus (p or q
//! for the key's owner, n for the public key): `shaders/two_digit_fixed_base.wgsl`, one digit
//! product a table row where `fixed_base.rs` takes a Montgomery product modulo the square:
//! `5·S²` multiply-adds a row against `8·S²` for a root of S limbs, on half the lanes, with the
//! multiplier's limbs read from the table by every lane rather than passed between lanes.
//!
//! The tables go up once in digits ([`FixedBaseTable::digit_entries`]). The accumulator starts
//! at the digits of R⁻¹, so the digits it ends with add up to the power itself: a pass's result
//! is a residue modulo the square, as the wide pass's is, with no product to leave the digits,
//! and the recombination of the owner's shares is unchanged. The classic scheme's `1 + msg·n`
//! needs no arithmetic modulo the square: modulo N² for N = n/k it is `1 + N·w` with
//! `w = msg·k mod N`, which changes only the high digit (`d1 + d0·w`): three products modulo N.

use std::sync::Arc;

use num_bigint::BigUint;
use zeroize::Zeroize;

use super::fixed_base::{
    fixed_base_bindings, resident_table, upload_table, ExponentWords, TableForm,
};
use super::two_digit::{
    digit_shape, two_digit_applies, two_digit_const_limbs, two_digit_product_edges,
};
use super::Gpu;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{
    phased_program, Params, PHASE_FROM_FACTOR, PHASE_KEEP_DIGITS, PHASE_ONE_PLUS_MN,
    PHASE_SPREAD_SLOTS,
};
use crate::backend::gpu::codegen::shader::Shape;
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source};
use crate::backend::ResidueTables;
use crate::bigint::{inverse_mod_radix, FixedBaseTable, MontgomeryModulus, WipedBigUint};
use crate::error::Result;

/// Where a digit pass's accumulator starts.
pub(in crate::backend::gpu) enum DigitStart<'a> {
    /// At the digits (1, 0) of R⁻¹: the pass computes `g^e` alone.
    One,
    /// At each item's digits in `Source` (a previous pass's [`DigitFinish::Digits`]).
    Digits(Source<'a>),
}

/// What a digit pass stores.
pub(in crate::backend::gpu) enum DigitFinish<'a> {
    /// The residue `g^e mod N²`.
    Residue,
    /// The residue `g^e·(1 + msg·n) mod N²` for a per-item message `msg < n`, given as limbs of
    /// `item_limbs` u32 words or (`slot_bits`) as slot bits.
    TimesOnePlusMN {
        messages: Source<'a>,
        item_limbs: usize,
        slot_bits: bool,
    },
    /// The digits, for a later pass to start from (they add up to `g^e` times whatever the
    /// pass started from).
    Digits,
}

/// The device buffers of one share on digits.
pub(in crate::backend::gpu) struct DigitShare<'k> {
    pub root: &'k MontgomeryModulus,
    /// The digit kernels' shape for this call ([`digit_shape`]).
    pub shape: Shape,
    pub consts: wgpu::Buffer,
    pub noise: Arc<wgpu::Buffer>,
    pub g: Option<Arc<wgpu::Buffer>>,
}

/// The digit tables and constants of `share` for a call of `items` items, or None where it
/// runs on the wide numbers:
/// no root given, the option off, a shape the digit kernels do not take, or tables the
/// digit arithmetic does not apply to.
pub(in crate::backend::gpu) fn digit_share<'k>(
    gpu: &Gpu<'_>,
    share: &ResidueTables<'k>,
    n: &BigUint,
    items: usize,
) -> Result<Option<DigitShare<'k>>> {
    let Some(root) = share.root else {
        return Ok(None);
    };
    if !two_digit_applies(gpu, root, share.modulus) {
        return Ok(None);
    }
    let Some(noise) = digit_table(gpu, share.noise, share.modulus, root)? else {
        return Ok(None);
    };
    let g = match share.g {
        Some(table) => match digit_table(gpu, table, share.modulus, root)? {
            Some(buffer) => Some(buffer),
            None => return Ok(None),
        },
        None => None,
    };
    Ok(Some(DigitShare {
        root,
        shape: digit_shape(gpu, root, items),
        consts: digit_encryption_consts(gpu, root, share.modulus, n)?,
        noise,
        g,
    }))
}

/// The device copy of `table` in digits modulo `root`, made and uploaded on first use.
fn digit_table(
    gpu: &Gpu<'_>,
    table: &FixedBaseTable,
    modulus: &MontgomeryModulus,
    root: &MontgomeryModulus,
) -> Result<Option<Arc<wgpu::Buffer>>> {
    resident_table(gpu, (table.id(), TableForm::Digits), || {
        table
            .digit_entries(modulus, root)
            .map(|digits| upload_table(gpu, &digits))
            .transpose()
    })
}

/// The digit kernels' constants ([`two_digit_const_limbs`]) then `k·R² mod root` and
/// `k·R³ mod root` for `k = n / root`, wiped on the host once uploaded.
fn digit_encryption_consts(
    gpu: &Gpu<'_>,
    root: &MontgomeryModulus,
    square: &MontgomeryModulus,
    n: &BigUint,
) -> Result<wgpu::Buffer> {
    let mut inverse = inverse_mod_radix(root);
    let mut limbs = two_digit_const_limbs(root, square, &inverse, 2 * root.len())?;
    inverse.zeroize();
    // k = q for the root p: secret, so the big-integer copies are wiped too.
    let root_value = WipedBigUint(root.modulus());
    let quotient = WipedBigUint(n / &*root_value);
    let mut k = root.limbs_of(&WipedBigUint(&*quotient % &*root_value))?;
    let mut k_r = root.to_montgomery(&k).as_limbs().to_vec();
    for _ in 0..2 {
        let next = root.to_montgomery(&k_r);
        k_r.zeroize();
        k_r = next.as_limbs().to_vec();
        limbs.extend_from_slice(&k_r);
    }
    k_r.zeroize();
    k.zeroize();
    let buffer = gpu.constants_buffer(&limbs);
    limbs.zeroize();
    buffer
}

/// One fixed-base pass on digits: `g^e` from `powers` (the digit copy of `table`) under
/// `share`'s constants, started at `start`, finished by `finish` into `output` (2S words an
/// item for a root of S limbs).
#[allow(clippy::too_many_arguments)]
pub(in crate::backend::gpu) fn two_digit_fixed_base_pass<'a>(
    gpu: &Gpu<'_>,
    share: &'a DigitShare<'_>,
    table: &FixedBaseTable,
    powers: &'a wgpu::Buffer,
    exponents: ExponentWords<'a>,
    start: DigitStart<'a>,
    finish: DigitFinish<'a>,
    output: Source<'a>,
) -> Pass<'a> {
    let rows = exponents.bits.div_ceil(table.window_bits());
    let per_row = two_digit_product_edges(share.shape) + 3;
    let (start_bits, start_digits) = match start {
        DigitStart::One => (0, None),
        DigitStart::Digits(digits) => (PHASE_FROM_FACTOR, Some(digits)),
    };
    let (finish_bits, messages, x_limbs) = match finish {
        DigitFinish::Residue => (0, None, 0),
        DigitFinish::Digits => (PHASE_KEEP_DIGITS, None, 0),
        DigitFinish::TimesOnePlusMN {
            messages,
            item_limbs,
            slot_bits,
        } => {
            let spread = if slot_bits { PHASE_SPREAD_SLOTS } else { 0 };
            (PHASE_ONE_PLUS_MN | spread, Some(messages), item_limbs)
        }
    };
    // Binding 6 holds the digits to start from or the messages (never both), else any
    // read-only buffer.
    let factors = start_digits
        .or(messages)
        .unwrap_or(Source::Kept(&share.consts));
    // The finish costs about three products of its own (one more row, the message's two).
    let mut program = phased_program(
        rows,
        per_row,
        gpu.shapes.loop_budget.saturating_sub(3 * per_row),
    );
    if let Some(first) = program.first_mut() {
        first.phase |= start_bits;
    }
    if let Some(last) = program.last_mut() {
        last.phase |= finish_bits;
    }
    Pass {
        kernel: Kernel::TwoDigitFixedBase,
        shape: share.shape,
        params: Params {
            exp_words: exponents.per_item as u32,
            exp_bits: exponents.bits as u32,
            window: table.window_bits() as u32,
            m0_inv: gpu.shapes.m0_inv(share.root),
            x_limbs: x_limbs as u32,
            ..Params::default()
        },
        program,
        bindings: fixed_base_bindings(
            &share.consts,
            powers,
            &exponents,
            output,
            2 * gpu.shapes.gpu_limbs(share.root),
            factors,
        ),
        first: None,
        operand: Operand::PerChunk,
    }
}
