//! Hazardous materials: the layers under the facade, for experts who build their own pipeline.
//!
//! [`bigint`] is Montgomery arithmetic on fixed-width limbs (constant-time unless a function's
//! name ends in `_vartime`); [`backend`] is the batched operations of the scheme and the devices
//! and decorators that run them. Nothing here checks that a number is a valid ciphertext or that
//! an exponent stays secret: misuse gives wrong results or leaks timing, not an error. The
//! facade ([`ExecutionContext`](crate::ExecutionContext), [`PublicContext`](crate::PublicContext),
//! [`EncryptedIndex`](crate::EncryptedIndex)) does those checks.
//!
//! ```
//! use paillier_gpu::hazmat::backend::{cpu::CpuBackend, Backend, LimbBatch};
//! use paillier_gpu::hazmat::bigint::MontgomeryModulus;
//! # fn main() -> paillier_gpu::Result<()> {
//! let m = MontgomeryModulus::new(&num_bigint::BigUint::from(101u32))?;
//! let product = CpuBackend.modmul(&m, &LimbBatch::single(vec![7]), &LimbBatch::single(vec![9]))?;
//! assert_eq!(product.item(0), &[63]);
//! # Ok(()) }
//! ```

pub mod backend;
pub mod bigint;
