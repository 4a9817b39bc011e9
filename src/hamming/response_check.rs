//! What decoding checks before it believes a response.
//!
//! An honest aggregate `Enc(x) · Enc(q)` decrypts to a plaintext whose two-bit slots hold 0, 1 or
//! 2 and which has no bit above its `2·dims` slot bits; and (lookup scheme) `c^a` lies in the
//! subgroup of order n, so that `x_p = c^e_p mod p²` is `≡ 1 (mod p)` and `x_q` likewise. A
//! backend that shifts plaintexts, or a response made under another key, fails one of these with
//! overwhelming probability instead of decoding to plausible distances.
//!
//! The engine's decode operation
//! ([`Backend::crt_decode`](crate::hazmat::backend::Backend::crt_decode)) makes these checks and
//! returns one [`ChunkCount`] a chunk: its count, or the [`Defects`] it failed.
//!
//! ```
//! use paillier_gpu::hamming::response_check::{ChunkCount, Defects};
//! assert_eq!(ChunkCount::counted(7).count(), Ok(7));
//! let forged = ChunkCount::failed(Defects::ABOVE_SLOTS);
//! assert_eq!(forged.count(), Err(Defects::ABOVE_SLOTS));
//! ```

pub use crate::hazmat::backend::{count_or_defect, ChunkCount, Defects, DEFECT_TAG};
