//! The kernels: each is a hand-written entry file in `shaders/` on top of the generated
//! cooperative library ([`super::shader`]), specialised per [`Shape`].

use super::shader::{library, Shape};
use super::two_digit_shader;

const PARAMS: &str = include_str!("../../../../../../shaders/params.wgsl");
const MODEXP: &str = include_str!("../../../../../../shaders/modexp.wgsl");
const MODMUL: &str = include_str!("../../../../../../shaders/modmul.wgsl");
const FIXED_BASE: &str = include_str!("../../../../../../shaders/fixed_base.wgsl");
const FIXED_BASE_COMMON: &str = include_str!("../../../../../../shaders/fixed_base_common.wgsl");
const CRT: &str = include_str!("../../../../../../shaders/crt.wgsl");
const RECOMBINE: &str = include_str!("../../../../../../shaders/recombine.wgsl");
const MULTI_EXP_TABLE: &str = include_str!("../../../../../../shaders/multi_exp_table.wgsl");
const MULTI_EXP: &str = include_str!("../../../../../../shaders/multi_exp.wgsl");
const TWO_DIGIT_TABLE: &str = include_str!("../../../../../../shaders/two_digit_table.wgsl");
const TWO_DIGIT_EXP: &str = include_str!("../../../../../../shaders/two_digit_exp.wgsl");
const TWO_DIGIT_FIXED_BASE: &str =
    include_str!("../../../../../../shaders/two_digit_fixed_base.wgsl");

/// One compute kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(in crate::backend::gpu) enum Kernel {
    ModExp,
    ModMul,
    FixedBase,
    Crt,
    Recombine,
    MultiExpTable,
    MultiExp,
    TwoDigitTable,
    TwoDigitExp,
    TwoDigitFixedBase,
}

/// What identifies a compiled pipeline: the kernel and the shape it is specialised for.
pub(in crate::backend::gpu) type PipelineKey = (Kernel, Shape);

impl Kernel {
    pub(in crate::backend::gpu) fn label(self) -> &'static str {
        match self {
            Kernel::ModExp => "paillier-gpu modexp",
            Kernel::ModMul => "paillier-gpu modmul",
            Kernel::FixedBase => "paillier-gpu fixed-base",
            Kernel::Crt => "paillier-gpu crt decode",
            Kernel::Recombine => "paillier-gpu crt recombine",
            Kernel::MultiExpTable => "paillier-gpu multi-exponentiation tables",
            Kernel::MultiExp => "paillier-gpu multi-exponentiation",
            Kernel::TwoDigitTable => "paillier-gpu two-digit tables",
            Kernel::TwoDigitExp => "paillier-gpu two-digit exponentiation",
            Kernel::TwoDigitFixedBase => "paillier-gpu two-digit fixed-base",
        }
    }

    /// The label without the crate's prefix, for reports.
    pub(in crate::backend::gpu) fn name(self) -> &'static str {
        let label = self.label();
        label.strip_prefix("paillier-gpu ").unwrap_or(label)
    }

    /// Whether the kernel's lanes size a chunk (`dispatch.rs`). The recombinations run a few
    /// products an item after passes of hundreds: a chunk that fills the device for the long
    /// passes fills it more than enough for them, whatever their lanes (the owner's encryption
    /// recombines at p²'s width after passes at p's).
    pub(in crate::backend::gpu) fn sizes_chunks(self) -> bool {
        !matches!(self, Kernel::Recombine | Kernel::Crt)
    }

    /// The storage arrays the kernel reads as numbers, and those it writes.
    fn numbers(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Kernel::ModMul => (&["consts", "a_items", "b_items"], &["results"]),
            Kernel::ModExp => (
                &["consts", "bases", "state", "powers"],
                &["results", "state", "powers"],
            ),
            Kernel::FixedBase => (
                &["consts", "state", "powers", "factors"],
                &["results", "state"],
            ),
            Kernel::Crt => (&["consts", "x_p", "x_q"], &[]),
            Kernel::Recombine => (&["consts", "c_p", "c_q"], &[]),
            Kernel::MultiExpTable => (&["consts", "bases"], &["tables"]),
            Kernel::MultiExp => (&["consts", "tables", "state"], &["results", "state"]),
            Kernel::TwoDigitTable => (&["consts", "bases"], &["tables"]),
            Kernel::TwoDigitExp => (&["consts", "tables", "state"], &["results", "state"]),
            Kernel::TwoDigitFixedBase => (
                &["consts", "state", "powers", "factors"],
                &["results", "state"],
            ),
        }
    }

    fn entry(self) -> &'static str {
        match self {
            Kernel::ModExp => MODEXP,
            Kernel::ModMul => MODMUL,
            Kernel::FixedBase => FIXED_BASE,
            Kernel::Crt => CRT,
            Kernel::Recombine => RECOMBINE,
            Kernel::MultiExpTable => MULTI_EXP_TABLE,
            Kernel::MultiExp => MULTI_EXP,
            Kernel::TwoDigitTable => TWO_DIGIT_TABLE,
            Kernel::TwoDigitExp => TWO_DIGIT_EXP,
            Kernel::TwoDigitFixedBase => TWO_DIGIT_FIXED_BASE,
        }
    }
}

/// The complete WGSL of `kernel` for `shape`.
pub(in crate::backend::gpu) fn source(kernel: Kernel, shape: &Shape) -> String {
    let (loads, stores) = kernel.numbers();
    let digits = match kernel {
        Kernel::TwoDigitTable => two_digit_shader::table_library(shape),
        Kernel::TwoDigitExp => two_digit_shader::exp_library(shape),
        Kernel::TwoDigitFixedBase => two_digit_shader::fixed_base_library(shape),
        _ => String::new(),
    };
    let shared = match kernel {
        Kernel::FixedBase | Kernel::TwoDigitFixedBase => FIXED_BASE_COMMON,
        _ => "",
    };
    format!(
        "{}\n{digits}\n{PARAMS}\n{shared}\n{}",
        library(shape, loads, stores),
        kernel.entry()
    )
}

/// Window bits of the modexp kernel (its table holds 2^4 powers per item).
pub(in crate::backend::gpu) const MODEXP_WINDOW: usize = 4;

/// Numbers of the modexp table per item.
pub(in crate::backend::gpu) const MODEXP_TABLE: usize = 1 << MODEXP_WINDOW;
