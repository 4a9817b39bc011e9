//! # paillier-gpu-engine
//!
//! The engine under paillier-gpu: the batched modular arithmetic of the Paillier scheme and the
//! devices that run it. [`bigint`] is Montgomery arithmetic on fixed-width limbs (constant-time
//! unless a function's name ends in `_vartime`); [`backend`] is the batched operations (each an
//! [`Operation`](backend::Operation) value), the [`Backend`](backend::Backend) trait, the CPU
//! engine (rayon) and the GPU engine (WGSL kernels through wgpu), and the policies that run them
//! (routing, spot checks, fallback).
//!
//! The engine knows numbers, not vectors, files or services. Nothing here checks that a number
//! is a valid ciphertext or that an exponent stays secret: misuse gives wrong results or leaks
//! timing, not an error. The `paillier-gpu` crate above it (its contexts and indexes) does those
//! checks; it re-exports this crate as `paillier_gpu::hazmat`.
//!
//! ```
//! use paillier_gpu_engine::backend::{cpu::CpuBackend, Backend, LimbBatch};
//! use paillier_gpu_engine::bigint::MontgomeryModulus;
//! # fn main() -> paillier_gpu_engine::Result<()> {
//! let m = MontgomeryModulus::new(&num_bigint::BigUint::from(101u32))?;
//! let product = CpuBackend.modmul(&m, &LimbBatch::single(vec![7]), &LimbBatch::single(vec![9]))?;
//! assert_eq!(product.item(0), &[63]);
//! # Ok(()) }
//! ```

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod backend;
pub mod bigint;
pub mod error;

#[cfg(test)]
mod test_primes;

pub use error::{Error, Result};
