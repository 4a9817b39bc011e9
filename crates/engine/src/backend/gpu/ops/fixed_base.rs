//! Fixed-base exponentiation from a resident table of powers (the encryption noise, the lookup
//! scheme's g^m): one product per table row, and a finishing product that can fold in a factor
//! (how encryption is fused, see `encrypt.rs`).

use std::sync::{Arc, Mutex};

use super::modexp::STATE_SLOT;
use super::Gpu;
use crate::backend::gpu::codegen::kernels::Kernel;
use crate::backend::gpu::codegen::params::{
    phased_program, Params, PHASE_ONE_PLUS_MN, PHASE_SPREAD_SLOTS, PHASE_TIMES_FACTOR,
};
use crate::backend::gpu::codegen::words::{exponent_words, gpu_words};
use crate::backend::gpu::failure;
use crate::backend::gpu::runtime::dispatch::{Operand, Pass, Source};
use crate::backend::operation::FixedBasePow;
use crate::backend::LimbBatch;
use crate::bigint::{FixedBaseTable, MontgomeryModulus};
use crate::error::Result;

/// How a resident table's entries are held on the device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::backend::gpu) enum TableForm {
    /// Montgomery form modulo the table's modulus (the wide kernels).
    Montgomery,
    /// Two digits modulo the modulus's square root (`two_digit_fixed_base.rs`).
    Digits,
}

/// What identifies a resident table: the table's id and the form of its entries.
pub(in crate::backend::gpu) type TableKey = (u64, TableForm);

/// The fixed-base tables kept on the device, by key (a few at most: one context uses two).
pub(in crate::backend::gpu) type ResidentTables = Mutex<Vec<(TableKey, Arc<wgpu::Buffer>)>>;

/// What the last product of a fixed-base exponentiation multiplies `g^e` by.
pub(in crate::backend::gpu) enum Finish<'a> {
    /// Nothing: the result is `g^e`.
    Plain,
    /// A per-item factor `f` of `S` limbs or more (the low `S` are read): `g^e · f`.
    Times {
        factors: Source<'a>,
        item_limbs: usize,
    },
    /// `1 + m·n mod m` for a per-item message `m < n` (needs the encryption constants, which
    /// hold `n·R`): `g^e · (1 + m·n)`. With `slot_bits`, each item is `item_limbs` u32 words of
    /// slot bits ([`MessageForm::SlotBits`](crate::backend::MessageForm)) rather than `m`'s limbs.
    TimesOnePlusMN {
        messages: Source<'a>,
        item_limbs: usize,
        slot_bits: bool,
    },
}

/// The bindings both fixed-base kernels declare (`shaders/fixed_base.wgsl`,
/// `shaders/two_digit_fixed_base.wgsl`): constants, the table, the exponents, the output, the
/// state between dispatches (`state_words` an item) and the factors or messages.
pub(in crate::backend::gpu) fn fixed_base_bindings<'a>(
    consts: &'a wgpu::Buffer,
    powers: &'a wgpu::Buffer,
    exponents: &ExponentWords<'a>,
    output: Source<'a>,
    state_words: usize,
    factors: Source<'a>,
) -> Vec<(u32, Source<'a>)> {
    vec![
        (0, Source::Kept(consts)),
        (2, Source::Kept(powers)),
        (
            3,
            Source::PerItem {
                words: exponents.words,
                item_words: exponents.per_item,
            },
        ),
        (4, output),
        (
            5,
            Source::Scratch {
                slot: STATE_SLOT,
                item_words: state_words,
            },
        ),
        (6, factors),
    ]
}

/// The exponents of a fixed-base pass: u32 words, `words` per item, `bits` processed.
pub(in crate::backend::gpu) struct ExponentWords<'a> {
    pub words: &'a [u32],
    pub per_item: usize,
    pub bits: usize,
}

/// The device copy of `table`, uploaded on first use and kept (a few tables at most).
pub(in crate::backend::gpu) fn table_buffer(
    gpu: &Gpu<'_>,
    table: &FixedBaseTable,
) -> Result<Arc<wgpu::Buffer>> {
    resident_table(gpu, (table.id(), TableForm::Montgomery), || {
        upload_table(gpu, table.entries()).map(Some)
    })?
    .ok_or_else(|| failure("a fixed-base table was not uploaded"))
}

/// The resident table under `key`, or the one `upload` makes (None: it cannot be made,
/// and nothing is kept).
pub(in crate::backend::gpu) fn resident_table(
    gpu: &Gpu<'_>,
    key: TableKey,
    upload: impl FnOnce() -> Result<Option<wgpu::Buffer>>,
) -> Result<Option<Arc<wgpu::Buffer>>> {
    let mut tables = gpu
        .tables
        .lock()
        .map_err(|_| failure("table cache poisoned"))?;
    if let Some((_, buffer)) = tables.iter().find(|(kept, _)| *kept == key) {
        return Ok(Some(buffer.clone()));
    }
    let Some(buffer) = upload()? else {
        return Ok(None);
    };
    let buffer = Arc::new(buffer);
    // One context uses two tables, its owner four more; eight covers a few contexts.
    if tables.len() >= 8 {
        tables.remove(0);
    }
    tables.push((key, buffer.clone()));
    Ok(Some(buffer))
}

/// A storage buffer holding table entries `limbs`, if one binding can hold them.
pub(in crate::backend::gpu) fn upload_table(gpu: &Gpu<'_>, limbs: &[u64]) -> Result<wgpu::Buffer> {
    let bytes = (limbs.len() * 4 * gpu.shapes.limb_path.per_u64()) as u64;
    if bytes > gpu.runtime.max_binding_bytes {
        return Err(failure(format!(
            "a {bytes}-byte fixed-base table exceeds the adapter's {}-byte binding limit",
            gpu.runtime.max_binding_bytes
        )));
    }
    Ok(gpu.runtime.storage_buffer(
        "paillier-gpu fixed-base table",
        &gpu_words(limbs, gpu.shapes.limb_path),
    ))
}

/// One fixed-base pass: `g^e · finish` per item, from `powers` (the device copy of `table`)
/// under `consts`, into `output`.
#[allow(clippy::too_many_arguments)]
pub(in crate::backend::gpu) fn fixed_base_pass<'a>(
    gpu: &Gpu<'_>,
    modulus: &MontgomeryModulus,
    table: &FixedBaseTable,
    consts: &'a wgpu::Buffer,
    powers: &'a wgpu::Buffer,
    exponents: ExponentWords<'a>,
    finish: Finish<'a>,
    output: Source<'a>,
) -> Pass<'a> {
    let s = gpu.shapes.gpu_limbs(modulus);
    let shape = gpu.shapes.shape(s);
    let rows = exponents.bits.div_ceil(table.window_bits());
    let per_row = shape.product_back_edges() + 3;
    let (finish_bits, factors, x_limbs) = match finish {
        // Binding 6 is unread without a factor; any read-only buffer fills it.
        Finish::Plain => (0, Source::Kept(consts), 0),
        Finish::Times {
            factors,
            item_limbs,
        } => (PHASE_TIMES_FACTOR, factors, item_limbs),
        Finish::TimesOnePlusMN {
            messages,
            item_limbs,
            slot_bits,
        } => {
            let spread = if slot_bits { PHASE_SPREAD_SLOTS } else { 0 };
            (PHASE_ONE_PLUS_MN | spread, messages, item_limbs)
        }
    };
    let mut program = phased_program(
        rows,
        per_row,
        // The finish costs up to three products of its own.
        gpu.shapes.loop_budget.saturating_sub(3 * per_row),
    );
    if let Some(last) = program.last_mut() {
        last.phase |= finish_bits;
    }
    Pass {
        kernel: Kernel::FixedBase,
        shape,
        params: Params {
            exp_words: exponents.per_item as u32,
            exp_bits: exponents.bits as u32,
            window: table.window_bits() as u32,
            m0_inv: gpu.shapes.m0_inv(modulus),
            x_limbs: x_limbs as u32,
            ..Params::default()
        },
        program,
        bindings: fixed_base_bindings(consts, powers, &exponents, output, s, factors),
        first: None,
        operand: Operand::PerChunk,
    }
}

pub(in crate::backend::gpu) fn fixed_base_pow_on_device(
    gpu: &Gpu<'_>,
    op: &FixedBasePow<'_>,
) -> Result<LimbBatch> {
    crate::backend::check_fixed_base_operands(op.modulus, op.table, op.exponents)?;
    let s = gpu.shapes.gpu_limbs(op.modulus);
    let mut words = exponent_words(op.exponents.values.as_flat());
    let powers = table_buffer(gpu, op.table)?;
    let consts = gpu.consts_buffer(op.modulus)?;
    let pass = fixed_base_pass(
        gpu,
        op.modulus,
        op.table,
        &consts,
        &powers,
        ExponentWords {
            words: &words,
            per_item: op.exponents.values.limbs_per_item() * 2,
            bits: op.exponents.bits,
        },
        Finish::Plain,
        Source::Output { item_words: s },
    );
    let out = gpu.runtime.run(&[pass], op.exponents.values.len());
    zeroize::Zeroize::zeroize(&mut words);
    gpu.shapes.batch_of(out?, op.modulus.len())
}
