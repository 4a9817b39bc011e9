//! Fixed-width multi-limb integers for the CPU: Montgomery arithmetic over `u64` limbs.
//!
//! Everything here works on plain little-endian limb slices whose length follows the modulus at
//! run time (n² from 2048 to 8192 bits is 32 to 128 limbs). `num-bigint` is used only to convert
//! formats and as the test oracle; it is not on the hot path.
//!
//! * `engine.rs` — which of the engines below runs what: the one place the CPU engine is chosen.
//! * [`MontgomeryModulus`] — an odd modulus with its Montgomery constants; multiplication and squaring,
//!   conversion in and out of Montgomery form ([`Montgomery`], a type of its own: plain limb
//!   slices are normal form).
//! * [`MontgomeryModulus::pow_vartime`] — sliding-window exponentiation for public exponents.
//! * [`MontgomeryModulus::pow_secret`] — fixed-window exponentiation whose control flow and memory
//!   accesses do not depend on the exponent (for secret exponents such as `p - 1`).
//! * [`MontgomeryModulus::multi_pow_vartime`] — products of powers sharing squarings (Straus).
//! * [`FixedBaseTable`] — precomputed powers of one base, for exponentiation with a fixed base.
//! * [`TwoDigit`] — arithmetic modulo N² on two digits modulo N for whoever knows N; on the IFMA
//!   engine, the same for a public N (`two_digit/ifma.rs`: public-key encryption, the linear
//!   layer).
//! * [`MultiBuffer`] — eight exponentiations modulo one modulus at once, one in each lane of the
//!   AVX-512 IFMA registers; [`TwoDigitLanes`], the same modulo N² on two digits modulo N (the
//!   CPU backend's batched decryption and decoding); [`NarrowLanes`], eight modulo one modulus in
//!   28-bit digits on AVX-512F or AVX2, for CPUs without IFMA, and [`NarrowTwoDigitLanes`], the
//!   same modulo N² on two digits modulo N (batched decryption and decoding there).
//! * `PublicProducts` — chains of products of public values in the fastest engine's own form
//!   (Montgomery's inversion trick over ciphertexts).

mod adx;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod convert;
mod cpu_engine;
mod ct;
mod engine;
pub(crate) mod exponent;
mod final_steps;
mod fixed_base;
mod form;
mod ifma;
mod limbs;
pub mod memcheck;
mod montgomery;
mod multi_buffer;
pub(crate) mod multi_pow;
mod pow;
mod prepared;
mod public_products;
mod two_digit;
mod wide_reduce;

pub use convert::wipe_biguint;
pub use convert::WipedBigUint;
pub use convert::{biguint_from_limbs, limbs_from_biguint, limbs_from_le_bytes, limbs_to_le_bytes};
#[cfg(test)]
pub(crate) use cpu_engine::preference_lock;
pub use cpu_engine::{picked_engine, set_engine_preference, CpuEngine, EnginePreference};
pub(crate) use ct::{below_public, conditional_assign};
pub use engine::SquareRoot;
pub(crate) use engine::{
    for_public_square_vartime, for_secret_square, lanes_for_public_square_vartime, lanes_pay,
    product_lanes, SecretSquareEngines,
};
pub use fixed_base::FixedBaseTable;
pub(crate) use fixed_base::POW_BLOCK;
pub use form::Montgomery;
pub(crate) use limbs::mul_wide;
pub use montgomery::{Engine, MontgomeryModulus};
pub use multi_buffer::{
    MultiBuffer, NarrowIsa, NarrowLanes, NarrowTwoDigitLanes, TwoDigitLanes, LANES,
};
pub use multi_pow::ExponentRows;
pub use prepared::PreparedMultiplier;
pub use public_products::PublicProducts;
#[cfg(feature = "gpu")]
pub(crate) use two_digit::inverse_mod_radix;
pub use two_digit::TwoDigit;

/// Whether the AVX-512 IFMA engines run on emulated intrinsics (the `emulated-ifma` feature):
/// results only, neither speed nor constant time. A program that handles secrets refuses to
/// build with it.
pub const EMULATED_IFMA: bool = cfg!(feature = "emulated-ifma");

/// Number of 64-bit limbs needed to hold `bits` bits.
pub const fn limbs_for_bits(bits: usize) -> usize {
    bits.div_ceil(64)
}
