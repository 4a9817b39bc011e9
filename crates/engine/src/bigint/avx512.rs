//! The AVX-512 intrinsics that the IFMA engines (`ifma.rs`, `two_digit/ifma.rs`,
//! `multi_buffer/`) are written in: the CPU's own, or, with the `emulated-ifma` feature, the
//! same operations in plain Rust ([`emulated`]).
//!
//! The emulation exists so that a CPU without AVX-512 IFMA still checks what those engines
//! compute: `cargo test --release -p paillier-gpu-engine --lib --no-default-features --features
//! emulated-ifma` (what `tools/test-all` runs where the CPU lacks IFMA) runs their differential tests against
//! num-bigint on any x86-64 CPU. It says nothing of their speed or of their compiled
//! code's constant time (that is `tools/ct-check`'s, on the real instructions), and the
//! `paillier-gpu` binary refuses to build with it.
//!
//! The kernels put their `target_feature` behind `cfg_attr(not(feature = "emulated-ifma"), …)`:
//! code compiled for AVX-512 would use its instructions for the emulation's plain arrays too, and
//! the CPU that needs the emulation has none of them.

#[cfg(not(feature = "emulated-ifma"))]
pub(crate) use std::arch::x86_64::*;

// Compiled into every test build so that, where the CPU has IFMA, its tests check it against
// the instructions.
#[cfg(any(test, feature = "emulated-ifma"))]
mod emulated;
#[cfg(feature = "emulated-ifma")]
pub(crate) use emulated::*;

/// Whether the engines written in these intrinsics can run: the CPU has AVX-512F and IFMA, or
/// they are emulated.
pub(crate) fn available() -> bool {
    cfg!(feature = "emulated-ifma")
        || (std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512ifma"))
}

/// Shifts an accumulator of `V` vectors of 52-bit columns (column `j` at lane `j mod 8` of
/// vector `j / 8`) down one column, once its lowest column is a multiple of 2^52: that column's
/// carry joins the next, and zero enters at the top. The step between the two halves of an
/// IFMA Montgomery row.
///
/// # Safety
/// The CPU must have AVX-512F (inlined into a caller that enables it).
#[allow(unsafe_code)]
#[inline(always)]
pub(crate) unsafe fn drop_low_column<const V: usize>(acc: &mut [__m512i; V]) {
    let carry = _mm512_maskz_srli_epi64(1, acc[0], 52);
    for k in 0..V - 1 {
        acc[k] = _mm512_alignr_epi64(acc[k + 1], acc[k], 1);
    }
    acc[V - 1] = _mm512_alignr_epi64(_mm512_setzero_si512(), acc[V - 1], 1);
    acc[0] = _mm512_add_epi64(acc[0], carry);
}
