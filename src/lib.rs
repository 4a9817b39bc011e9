//! # paillier-gpu
//!
//! Paillier-encrypted Hamming-distance search over binary vectors, with a CPU backend (rayon)
//! and a GPU backend (WGSL kernels through wgpu), byte-compatible with the XTrace Python SDK.
//!
//! A data owner encrypts binary embeddings; a search backend holding only ciphertexts and the
//! public key multiplies every stored ciphertext with an encrypted query
//! ([`hamming::EncryptedIndex`]); the owner decrypts the results into Hamming distances and keeps
//! the top k.
//!
//! ```
//! use paillier_gpu::{ContextOptions, ExecutionContext, Scheme};
//! use paillier_gpu::hamming::{top_k, Selection};
//!
//! # fn main() -> paillier_gpu::Result<()> {
//! // Small INSECURE parameters keep the example fast; use ContextOptions::default() for real.
//! let options = ContextOptions { key_len: 256, embed_len: 8, allow_insecure: true, ..Default::default() };
//! let ctx = ExecutionContext::create_with_passphrase(&options, "passphrase")?;
//!
//! let database = vec![vec![0u8, 1, 1, 0, 1, 0, 0, 1], vec![1, 1, 1, 1, 0, 0, 0, 0]];
//! let mut index = ctx.new_index()?;              // the search backend's side
//! index.insert_batch(&ctx.encrypt_batch(&database)?)?;
//!
//! let query = ctx.encrypt_batch(&[[0u8, 1, 1, 0, 1, 0, 0, 0]])?;
//! let responses = index.aggregate_batch(&query, &Selection::All)?;
//! let distances = ctx.decode_batch(&responses)?;
//! assert_eq!(distances, vec![1, 3]);
//! assert_eq!(top_k(&distances, 1).ids, vec![0]);
//! # Ok(()) }
//! ```
//!
//! Layers, each a module, from the bottom: [`hazmat::bigint`] (Montgomery arithmetic) and
//! [`hazmat::backend`] (the batched operations and the devices that run them), both under
//! [`hazmat`] for experts; [`paillier`] (the cryptosystem: keys, ciphertext batches);
//! [`hamming`] (vector packing into pieces, the owner's decoding and the backend's index);
//! [`numbers`] (arrays of numbers and linear models, python-paillier's rules); [`context`]
//! (execution contexts, the owner's [`ExecutionContext`] and its [`PublicContext`] view, and
//! their files); [`verifiable`] (records a lying service cannot alter unseen, and
//! [`verifiable::RecordCodec`], what a client's records send and how their answers are read);
//! [`formats`] (vector, ciphertext, number and model files), [`io`] (outputs written safely,
//! each kind recognised by its caller) and [`jobs`] (resumable batch encryption);
//! [`meta_filter`] (the manual's metadata filters) and [`error`]. The library does no network
//! I/O and knows nothing of its callers' files: the client, the server and the program are
//! crates of their own.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod context;
pub mod error;
pub mod formats;
pub mod hamming;
pub mod io;
pub mod jobs;
pub mod meta_filter;
pub mod numbers;
pub mod owner;
pub mod paillier;
pub mod partitions;
pub mod projection;
pub mod verifiable;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

/// The engine (the crate `paillier-gpu-engine`): Montgomery arithmetic ([`hazmat::bigint`]) and
/// the batched operations with the devices that run them ([`hazmat::backend`]), for experts who
/// build their own pipeline. Nothing there checks that a number is a valid ciphertext or that an
/// exponent stays secret; the facade ([`ExecutionContext`], [`PublicContext`],
/// [`EncryptedIndex`]) does those checks.
pub use paillier_gpu_engine as hazmat;

pub use context::{
    ContextOptions, ExecutionContext, KeyProvider, PassphraseKeyProvider, PublicContext,
};
pub use error::{Error, Result};
pub use hamming::{top_k, EncryptedIndex, Selection};
pub use hazmat::backend::Device;
pub use paillier::Scheme;
