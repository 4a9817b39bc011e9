//! Paillier for numbers: signed integers and floats encoded as python-paillier encodes them,
//! arrays of them encrypted in batches on any backend, their homomorphic arithmetic, and the
//! linear layer of a model run on encrypted features.
//!
//! * [`encoding`] — `phe.EncodedNumber`'s rules: base 16, an exponent per number, negative
//!   values as `n − |mantissa|`, `max_int = n/3 − 1`; overflow is an error, never a wrong number.
//! * [`EncryptedArray`] — ciphertexts (flat limbs), exponents (one shared, or one per element),
//!   the key and a shape: `encrypt`, `decrypt`, `add`, `add_plain`, `mul_plain`, `neg`, `sum`,
//!   `dot`, `linear`.
//! * [`LinearModel`] — `y = W·x + b` over encrypted samples, from the inference service's JSON
//!   (one row of weights per output; [`WeightRows`] for the other layout).
//! * [`PackedArray`] — many samples per ciphertext ([`PackedLayout`]'s signed slots), exact at
//!   one precision: the linear layer for all of a ciphertext's samples at the cost of one
//!   (`LinearModel::infer_packed`). Not python-paillier's ciphertexts.
//!
//! Numbers need a classic key (`g = n + 1`), the same keys as python-paillier's: a ciphertext
//! made here decrypts with `phe` and the other way round.
//!
//! ```
//! use std::sync::Arc;
//! use paillier_gpu::hazmat::backend::cpu::CpuBackend;
//! use paillier_gpu::numbers::{Decrypted, EncryptedArray, LinearModel, Numbers};
//! use paillier_gpu::paillier::{generate_keypair, KeyGenOptions, Scheme};
//!
//! let backend = CpuBackend::shared();
//! let (pk, sk) = generate_keypair(Scheme::Paillier, 256, &KeyGenOptions::insecure_for_tests()).unwrap();
//! let pk = Arc::new(pk);
//! let x = EncryptedArray::encrypt(&pk, backend.as_ref(), Numbers::Floats(&[1.0, 2.0, 3.0, 4.0]), vec![2, 2], None).unwrap();
//! let model = LinearModel::new(vec![vec![0.5, 2.0], vec![-1.0, 0.0]], vec![1.0, -0.5]).unwrap();
//! let y = model.infer(backend.as_ref(), &x).unwrap();
//! assert_eq!(y.decrypt(&sk, backend.as_ref()).unwrap(), Decrypted::Floats(vec![5.5, -1.5, 10.5, -3.5]));
//! ```

mod arithmetic;
mod array;
mod decryption;
pub mod encoding;
mod float;
mod inverse;
mod linear;
mod model;
mod packed;
mod packing;
mod values;

pub(crate) use array::element_count;
pub use array::EncryptedArray;
pub use decryption::Decrypted;
pub use linear::PlainMatrix;
pub use model::{LinearModel, WeightRows};
pub use packed::PackedArray;
pub use packing::{PackOptions, PackedLayout, DEFAULT_HEADROOM_BITS};
pub use values::{ElementExponents, NumberKind, Numbers};
