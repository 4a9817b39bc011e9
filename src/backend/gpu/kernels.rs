//! The WGSL kernels: sources embedded at build time, specialised per limb count and limb path by a
//! small text prefix, compiled once per (kernel, width, path).

use super::LimbPath;

const PARAMS: &str = include_str!("../../../shaders/params.wgsl");
const LIMB32: &str = include_str!("../../../shaders/limb32.wgsl");
const LIMB16: &str = include_str!("../../../shaders/limb16.wgsl");
const MONTGOMERY: &str = include_str!("../../../shaders/montgomery.wgsl");
const MODEXP: &str = include_str!("../../../shaders/modexp.wgsl");
const MODMUL: &str = include_str!("../../../shaders/modmul.wgsl");
const FIXED_BASE: &str = include_str!("../../../shaders/fixed_base.wgsl");
const CRT: &str = include_str!("../../../shaders/crt.wgsl");

/// Invocations per workgroup in every kernel (`@workgroup_size(64)`).
pub(super) const WORKGROUP_SIZE: usize = 64;

/// One compute kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kernel {
    ModExp,
    ModMul,
    FixedBase,
    Crt,
}

impl Kernel {
    pub(super) fn label(self) -> &'static str {
        match self {
            Kernel::ModExp => "paillier-gpu modexp",
            Kernel::ModMul => "paillier-gpu modmul",
            Kernel::FixedBase => "paillier-gpu fixed-base",
            Kernel::Crt => "paillier-gpu crt decode",
        }
    }

    /// Numbers each invocation keeps in scratch memory, besides the CIOS accumulator.
    pub(super) fn scratch_slots(self) -> usize {
        match self {
            Kernel::ModExp => 18, // accumulator, base, 16 table entries
            Kernel::ModMul | Kernel::FixedBase => 2,
            Kernel::Crt => 7, // U, H, m_p, m_q, d, and the double-width plaintext
        }
    }

    /// Scratch words per invocation for numbers of `limbs` GPU limbs.
    pub(super) fn scratch_words(self, limbs: usize) -> usize {
        limbs + 2 + self.scratch_slots() * limbs
    }
}

/// The complete WGSL of `kernel` on `path`. Widths are run-time parameters, so one pipeline per
/// kernel serves every key size.
pub(super) fn source(kernel: Kernel, path: LimbPath) -> String {
    let (limb, bits, mask) = match path {
        LimbPath::Bits32 => (LIMB32, 32, "0xffffffffu"),
        LimbPath::Bits16 => (LIMB16, 16, "0xffffu"),
    };
    let body = match kernel {
        Kernel::ModExp => MODEXP,
        Kernel::ModMul => MODMUL,
        Kernel::FixedBase => FIXED_BASE,
        Kernel::Crt => CRT,
    };
    let montgomery = MONTGOMERY
        .replace("//UNROLL_PRODUCT", &unrolled(PRODUCT_STEP))
        .replace("//UNROLL_REDUCTION", &unrolled(REDUCTION_STEP));
    format!("{PARAMS}\nconst LIMB_BITS: u32 = {bits}u;\nconst LIMB_MASK: u32 = {mask};\n{limb}\n{montgomery}\n{body}")
}

/// How many times the CIOS inner loops are unrolled in the text.
pub(super) const UNROLL: usize = 16;

const PRODUCT_STEP: &str = "            {
                let r = mac(scratch[t_at(j + K)], scratch[slot_at(a, j + K)], bi, c);
                scratch[t_at(j + K)] = r.x;
                c = r.y;
            }
";

const REDUCTION_STEP: &str = "            {
                let r = mac(scratch[t_at(j + K)], q, consts[m_at + j + K], c);
                scratch[t_at(j + K - 1u)] = r.x;
                c = r.y;
            }
";

fn unrolled(step: &str) -> String {
    (0..UNROLL)
        .map(|k| step.replace('K', &format!("{k}u")))
        .collect()
}

/// Loop back-edges of one Montgomery multiplication of `s` limbs (what lavapipe's loop limiter
/// counts): zeroing, the two unrolled inner loops with their remainders per outer iteration, the
/// final subtraction and its possible copy.
///
/// Every loop execution is also counted once more (its exit test): measured on lavapipe, a model
/// without that let 80-multiplication dispatches at 32 limbs overrun the limit.
pub(super) fn mont_mul_back_edges(s: usize) -> usize {
    // Per outer iteration: the unrolled and remainder loops of the product and the reduction
    // (four loop executions), plus the outer back-edge.
    let inner = s / UNROLL + s % UNROLL + (s - 1) / UNROLL + (s - 1) % UNROLL + 4 + 1;
    // Zeroing, the final subtraction and its copy, with their exits.
    (s + 3) + s * inner + 2 * (s + 1) + 1
}
